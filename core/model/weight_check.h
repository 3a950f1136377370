// Values a network must never be run with: NaN or Inf in any parameter or buffer, a batch-norm
// running variance below zero (its sqrt is NaN), an LSQ step size that is not positive (codes
// divide by it). A network loaded with any of these silently computes nothing useful (no
// detections, an export of garbage), so every weight source is checked when it is loaded.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace tyq {

class YoloNetworkImpl;

/// "" when every value of `t` is finite (or `t` is not floating point), else a summary such as
/// "1 non-finite value (nan at [0, 2, 1, 1])" or "12 non-finite values of 432 (first: inf at [3])".
std::string nonFiniteSummary(const at::Tensor& t);

/// One line per tensor that is unfit, named as in the state dict:
/// "module_list.2.conv_2.weight: 1 non-finite value (nan at [0, 2, 1, 1])". Empty when sound.
std::vector<std::string> invalidWeights(const YoloNetworkImpl& network);

/// Whether loading refuses invalid weights. `allow` is for forensic use (looking at a diverged
/// checkpoint): the problems become warnings.
enum class InvalidWeights { refuse, allow };

/// Throws tyq::Error (kind invalidWeights) naming `source` and every invalid tensor, unless `policy` is allow: then
/// each problem is appended to `warnings` (when given).
void checkWeights(const YoloNetworkImpl& network, const std::string& source, InvalidWeights policy,
                  std::vector<std::string>* warnings = nullptr);

} // namespace tyq
