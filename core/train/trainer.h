// A training run, full precision or LSQ, from start or resumed: data pipeline, loss, Adam with
// gradient accumulation, evaluation, checkpoints and the run folder, reported to an observer.
// run() blocks; call it on a worker thread. requestStop() may be called from any thread and is
// honoured between batches, leaving a checkpoint that resumes exactly.
#pragma once

#include "train/train_options.h"
#include "train/training_observer.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>

namespace torch::nn {
class Module;
}

namespace tyq {

struct TrainingJob {
    std::filesystem::path runDir; ///< exps/<run>
    bool resume = false;          ///< continue the run in runDir from its last checkpoint
    TrainingSources sources;      ///< new runs: data, cfg, bit-widths, initial weights
    TrainOptions options;         ///< new runs; a resumed run uses its recorded options
    int resumeEpochs = 0;         ///< resume: > 0 sets a new total number of epochs
    /// Called on the training thread after each batch with the network and the batch's global
    /// index: for fault-injection tests and tools (it may read or change the weights).
    std::function<void(torch::nn::Module& network, int64_t globalBatch)> afterBatch;
};

class Trainer {
public:
    explicit Trainer(TrainingJob job, TrainingObserver* observer = nullptr);

    /// Runs to the end, a stop request, or a failure. Never throws for input or I/O problems:
    /// they end the run as failed, with the message in the summary (and runFailed).
    RunSummary run();

    /// Asks the run to stop after the current batch (with a resumable checkpoint).
    void requestStop() { stopRequested_.store(true); }
    bool stopRequested() const { return stopRequested_.load(); }

private:
    TrainingJob job_;
    TrainingObserver* observer_;
    std::atomic<bool> stopRequested_{false};
};

} // namespace tyq
