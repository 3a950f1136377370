// tyq's training checkpoint: everything needed to resume a run exactly (weights, optimizer
// state, gradients accumulated but not yet applied, position in the run, RNG state) and to
// know what produced it (cfg, bit-widths, options, metrics). Stored as a torch.save-compatible
// archive, so Python can torch.load it too ('model' is a plain state dict); written atomically.
#pragma once

#include "io/state_dict.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace tyq {

struct PickleValue;

/// The version tyq records in what it writes.
inline constexpr const char* kTyqVersion = "0.1.0";

struct TrainingCheckpoint {
    StateDict model;
    std::string phase;       ///< "fp" or "lsq"
    std::string cfgText;     ///< the network cfg used
    std::string quantYaml;   ///< bit-widths used (empty for fp)
    std::string optionsYaml; ///< training options used
    std::string metricsJson; ///< last evaluation and best-so-far, as JSON
    StateDict optimizer;     ///< "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step"
    StateDict pendingGradients; ///< gradient accumulated over a partial accumulation cycle
    int64_t epoch = 0;          ///< epochs completed
    int64_t batchInEpoch = 0;   ///< batches of the current epoch already trained
    int64_t globalBatch = 0;    ///< batches trained since the start of the run
    int64_t worldSize = 1;      ///< processes of the data-parallel job that wrote it (batches are global)
    at::Tensor rngState;        ///< LibTorch's CPU generator state
    std::string tyqVersion;
};

/// Writes atomically (temporary file + rename). Throws tyq::Error naming the file.
void saveCheckpoint(const TrainingCheckpoint& checkpoint, const std::filesystem::path& path);

/// Reads a tyq checkpoint. Throws tyq::Error naming the file if it is not one or is damaged.
TrainingCheckpoint loadCheckpoint(const std::filesystem::path& path);

/// True if an archive's top-level object is a tyq checkpoint.
bool isTyqCheckpoint(const PickleValue& root);

/// Converts an archive's top-level object (see isTyqCheckpoint); `source` names it in errors.
TrainingCheckpoint checkpointFromPickle(const PickleValue& root, const std::string& source);

} // namespace tyq
