// One way to get a ready network from files, shared by every command and the studio: the cfg
// (given, recorded in a tyq checkpoint, or built in), the bit-widths (given or recorded) and
// weights from any supported file (the reference's .pth, a tyq export, a tyq checkpoint).
#pragma once

#include "io/state_dict.h"
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

/// Copies `state` into the network (names and shapes must match exactly) and checks the values
/// (checkWeights): how every caller puts weights into a network. Throws tyq::Error naming `source`.
void applyWeights(YoloNetworkImpl& network, const StateDict& state, const std::string& source,
                  InvalidWeights policy = InvalidWeights::refuse, std::vector<std::string>* warnings = nullptr);

/// Builds the network in eval mode and loads the weights. Throws tyq::Error naming the file
/// and what does not fit (missing or unexpected parameters, shapes, fp vs quantized) or what is
/// invalid (see checkWeights).
LoadedModel loadModel(const ModelSource& source);

} // namespace tyq
