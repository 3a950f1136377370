// Shared helpers of the core tests that train or evaluate: a small synthetic dataset and a
// recorder of the loss curve.
#pragma once

#include "data/synthetic_dataset.h"
#include "train/training_observer.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace tyq::test {

/// A synthetic dataset of `trainCount` / `valCount` images written to `dir`; its .data file.
inline std::filesystem::path syntheticDataFile(const std::filesystem::path& dir, int trainCount, int valCount,
                                               uint64_t seed)
{
    SyntheticDatasetOptions o;
    o.outDir = dir;
    o.trainCount = trainCount;
    o.valCount = valCount;
    o.seed = seed;
    return generateSyntheticDataset(o).dataFile;
}

/// The loss of every batch a training run reports.
class LossRecorder : public TrainingObserver {
public:
    std::vector<double> losses;
    void batchDone(const BatchReport& r) override { losses.push_back(r.loss); }
};

} // namespace tyq::test
