// A training run on disk (exps/<run>/): what it was started with (network.cfg, quant.yaml,
// options.yaml), what it produced (batches.csv, epochs.csv, checkpoints/, train.log) and its
// state (run.json). Files are replaced atomically or appended and flushed; a run cut short at
// any moment is repaired on resume. A lock file keeps two trainings out of one folder.
#pragma once

#include "train/training_observer.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tyq {

/// run.json: what the runs browser lists.
struct RunStatus {
    std::string phase;          ///< fp | lsq
    std::string state;          ///< running | finished | stopped | failed
    int64_t epochsDone = 0;
    int64_t epochs = 0;
    double bestMap = -1;        ///< -1: not evaluated yet
    double bestIoU = -1;
    double bestContestIoU = -1;
    int64_t bestEpoch = 0;
    double lastMap = -1;
    std::string started;        ///< ISO 8601 local time
    std::string updated;
    std::string message;        ///< why it stopped or failed
};

class RunFolder {
public:
    /// Creates (or, with `resume`, reopens) the folder and takes its lock. Throws tyq::Error if
    /// another training holds it, if a new run would overwrite an existing one, or on I/O errors.
    RunFolder(const std::filesystem::path& dir, bool resume);
    ~RunFolder();
    RunFolder(const RunFolder&) = delete;
    RunFolder& operator=(const RunFolder&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path checkpointDir() const { return dir_ / "checkpoints"; }
    std::filesystem::path lastCheckpoint() const { return checkpointDir() / "last.ckpt"; }
    std::filesystem::path bestCheckpoint() const { return checkpointDir() / "best.ckpt"; }
    std::filesystem::path periodicCheckpoint(int64_t epoch) const;

    /// Records the inputs of the run (network.cfg, quant.yaml if any, options.yaml).
    void writeSetup(const std::string& cfgText, const std::string& quantYaml, const std::string& optionsYaml);

    /// Sets the columns of batches.csv and epochs.csv (on a new run); on resume drops the rows
    /// the last checkpoint does not cover (batch >= batchesDone, epoch > epochsDone) and any
    /// torn line.
    void prepareTables(const std::vector<std::string>& quantizers, const std::vector<std::string>& classNames,
                       int64_t batchesDone, int64_t epochsDone);

    void appendBatch(const BatchReport& report);
    void appendEpoch(const EvalReport& report, double trainLoss, double seconds);
    void writeStatus(const RunStatus& status);
    void appendLog(const std::string& line);

private:
    std::filesystem::path dir_;
    int lockFd_ = -1;
    std::vector<std::string> quantizers_;
    std::vector<std::string> classNames_;
    std::vector<std::string> pendingBatchRows_;
};

/// What a run folder recorded in batches.csv and epochs.csv, as the observer calls of the live
/// run: replaying `start`, then every batch and evaluation, redraws the run as it was seen.
struct RunHistory {
    RunStart start; ///< runDir, batchesPerEpoch (the largest batch_in_epoch + 1) and quantizers
    std::vector<BatchReport> batches;   ///< loss, components, lr, step sizes; no ETA or speed
    std::vector<EvalReport> evaluations; ///< mAP, IoUs, precision, recall, F1, per-class AP
};

/// Reads a run's history (the CSVs RunFolder writes; a missing epochs.csv means no evaluation
/// yet). Throws tyq::Error naming the file if batches.csv cannot be read.
RunHistory readRunHistory(const std::filesystem::path& runDir);

/// Reads run.json. Throws tyq::Error naming the file if it is missing or malformed.
RunStatus readRunStatus(const std::filesystem::path& runDir);

/// The run folders directly under `root` (those with a run.json), newest first.
std::vector<std::filesystem::path> listRuns(const std::filesystem::path& root);

/// Local time as "2026-11-25T18:30:00".
std::string nowIso8601();

} // namespace tyq
