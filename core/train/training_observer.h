// How a training run reports, without Qt or LibTorch: plain structs passed to an observer
// interface from the training thread. The CLI prints them; the studio's adapter turns them
// into queued signals. Nothing here may block for long: training waits for it.
#pragma once

#include "common/log_level.h"
#include "eval/detection_metrics.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tyq {

struct StepSize {
    std::string name; ///< "module_list.0.conv_0.quan_w_fn"
    double value = 0; ///< the step size (mean over channels when per-channel)
};

struct RunStart {
    std::filesystem::path runDir;
    std::string phase; ///< "fp" or "lsq"
    int64_t startEpoch = 0;
    int64_t startBatchInEpoch = 0;
    int64_t epochs = 0;
    int64_t batchesPerEpoch = 0;
    int64_t trainImages = 0;
    int64_t valImages = 0;
    int64_t skippedSamples = 0; ///< bad labels or missing images left out
    std::vector<std::string> quantizers; ///< names of the step sizes reported per batch
    bool resumed = false;
};

struct BatchReport {
    int64_t epoch = 0;           ///< 0-based
    int64_t epochs = 0;
    int64_t batchInEpoch = 0;    ///< 0-based
    int64_t batchesPerEpoch = 0;
    int64_t globalBatch = 0;     ///< 0-based, since the run began
    int images = 0;
    double loss = 0, x = 0, y = 0, w = 0, h = 0, confObj = 0, confNoobj = 0, cls = 0;
    double classAccuracy = 0, recall50 = 0, recall75 = 0, precision = 0, meanConfObj = 0, meanConfNoobj = 0;
    double learningRate = 0;
    double seconds = 0;          ///< wall time of this batch
    double imagesPerSecond = 0;  ///< smoothed
    double etaSeconds = 0;       ///< to the end of the run, evaluations included
    std::vector<StepSize> stepSizes;
};

struct EvalReport {
    int64_t epoch = 0; ///< epochs completed when evaluated
    EvaluationResult metrics;
    bool best = false; ///< best mAP of the run so far
    double seconds = 0;
};

enum class RunOutcome { finished, stopped, failed };

struct RunSummary {
    RunOutcome outcome = RunOutcome::finished;
    std::filesystem::path runDir;
    int64_t epochsDone = 0;
    double bestMap = -1;  ///< -1 when never evaluated
    int64_t bestEpoch = 0;
    std::string message;  ///< why it stopped or failed
};

class TrainingObserver {
public:
    virtual ~TrainingObserver() = default;
    virtual void runStarted(const RunStart&) {}
    virtual void batchDone(const BatchReport&) {}
    /// `done` of `total` evaluation images, during an evaluation.
    virtual void evaluationProgress(int64_t done, int64_t total) {}
    virtual void evaluationDone(const EvalReport&) {}
    virtual void checkpointWritten(const std::filesystem::path& path, const std::string& kind) {}
    virtual void log(LogLevel level, const std::string& message) {}
    /// The run ended: finished its epochs, or stopped on request (resumable).
    virtual void runFinished(const RunSummary&) {}
    /// The run failed (bad data, divergence, I/O); the last good checkpoint is kept.
    virtual void runFailed(const RunSummary&) {}
};

const char* runOutcomeName(RunOutcome outcome);

} // namespace tyq
