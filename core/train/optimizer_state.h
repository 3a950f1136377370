// What a checkpoint keeps of the optimizer beyond the weights, so a resumed run continues
// exactly: Adam's moments and step counts per parameter, and the gradients accumulated since
// the last optimizer step. Restoring refuses values that would poison the run (NaN, Inf, a
// negative second moment), naming the tensor.
#pragma once

#include "io/state_dict.h"

#include <string>

namespace torch::optim {
class Adam;
}

namespace tyq {

class YoloNetworkImpl;

/// Adam's state by parameter name: <name>.exp_avg, <name>.exp_avg_sq, <name>.step.
StateDict optimizerState(torch::optim::Adam& optimizer, const YoloNetworkImpl& network);
/// Restores optimizerState's tensors; `source` names the checkpoint in errors.
void restoreOptimizerState(torch::optim::Adam& optimizer, const YoloNetworkImpl& network, const StateDict& saved,
                           const std::string& source);

/// The gradients accumulated since the last optimizer step, by parameter name.
StateDict pendingGradients(const YoloNetworkImpl& network);
/// Puts them back on the parameters; `source` names the checkpoint in errors.
void restorePendingGradients(YoloNetworkImpl& network, const StateDict& saved, const std::string& source);

} // namespace tyq
