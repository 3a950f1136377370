// One way to get a ready network from files, shared by every command and the studio: the cfg
// (given, recorded in a tyq checkpoint, or built in), the bit-widths (given or recorded) and
// weights from any supported file (the reference's .pth, a tyq export, a tyq checkpoint).
#pragma once

#include "model/weight_check.h"
#include "model/yolo_network.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tyq {

struct ModelSource {
    std::filesystem::path cfg;     ///< empty: the checkpoint's cfg, else the built-in one
    std::filesystem::path quant;   ///< empty: the checkpoint's bit-widths, else full precision
    std::filesystem::path weights; ///< empty: freshly initialized weights
    /// refuse: NaN/Inf, negative variances or step sizes <= 0 are an error naming the tensor.
    InvalidWeights invalidWeights = InvalidWeights::refuse;
};

struct LoadedModel {
    YoloNetwork network{nullptr};
    std::vector<std::string> warnings;
    std::string weightsDescription; ///< "reference state dict", "tyq checkpoint (lsq, epoch 12)", ...
};

/// Builds the network in eval mode and loads the weights. Throws tyq::Error naming the file
/// and what does not fit (missing or unexpected parameters, shapes, fp vs quantized) or what is
/// invalid (see checkWeights).
LoadedModel loadModel(const ModelSource& source);

} // namespace tyq
