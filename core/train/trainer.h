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
#include <memory>

namespace torch::nn {
class Module;
}

namespace tyq {

class Collective;

struct TrainingJob {
    std::filesystem::path runDir; ///< exps/<run>
    bool resume = false;          ///< continue the run in runDir from its last checkpoint
    TrainingSources sources;      ///< new runs: data, cfg, bit-widths, initial weights
    TrainOptions options;         ///< new runs; a resumed run uses its recorded options
    int resumeEpochs = 0;         ///< resume: > 0 sets a new total number of epochs
    /// Called on the training thread after each batch with the network and the batch's global
    /// index: for fault-injection tests and tools (it may read or change the weights).
    std::function<void(torch::nn::Module& network, int64_t globalBatch)> afterBatch;
    /// Set: this process is one rank of a data-parallel job (dist/collective.h). Rank 0 leads:
    /// it alone writes the run folder and checkpoints; the other ranks write only their log,
    /// runDir/train.rank<R>.log, and take rank 0's weights, options and position when resuming.
    /// --batch-size is per rank; batch k is the global batch of batch x world-size images.
    std::shared_ptr<Collective> collective;
    /// Instead of `collective`: called first on the training thread to start the job's other
    /// ranks and join them (the studio's local multi-process runs); its errors fail the run.
    std::function<std::shared_ptr<Collective>()> joinCollective;
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
