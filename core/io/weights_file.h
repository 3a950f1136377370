// The weights in any file tyq reads them from: a tyq checkpoint (with what else it records) or a
// plain state dict (the reference's .pth, a tyq export, any torch.save of a dict of tensors,
// possibly under "model" or "state_dict"). The one reader behind loadModel and the trainer's --from.
#pragma once

#include "io/checkpoint.h"
#include "io/state_dict.h"

#include <filesystem>
#include <optional>
#include <string>

namespace tyq {

/// True if a state dict holds LSQ step sizes ("....quan_w_fn.s", "....quan_a_fn.s").
bool hasStepSizes(const StateDict& state);

struct WeightsFile {
    StateDict state;
    std::optional<TrainingCheckpoint> checkpoint; ///< set when the file is a tyq checkpoint
    std::string description; ///< "state dict" or "tyq checkpoint (lsq, epoch 12)"

    /// True if the weights carry LSQ step sizes (an LSQ-trained model).
    bool quantized() const { return hasStepSizes(state); }
};

/// Reads the weights of `path`. Throws tyq::Error naming the file when it is neither a tyq
/// checkpoint nor holds a state dict, or is damaged.
WeightsFile readWeightsFile(const std::filesystem::path& path);

} // namespace tyq
