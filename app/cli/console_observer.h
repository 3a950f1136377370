// Training progress on a terminal: one live line (batch, epoch, loss, speed, ETA) on a TTY,
// periodic log lines otherwise, and every evaluation and checkpoint as it happens.
#pragma once

#include "train/training_observer.h"

#include <chrono>

namespace tyq::cli {

class ConsoleObserver : public TrainingObserver {
public:
    explicit ConsoleObserver(bool quiet);

    void runStarted(const RunStart& start) override;
    void batchDone(const BatchReport& report) override;
    void evaluationProgress(int64_t done, int64_t total) override;
    void evaluationDone(const EvalReport& report) override;
    void checkpointWritten(const std::filesystem::path& path, const std::string& kind) override;
    void log(LogLevel level, const std::string& message) override;
    void runFinished(const RunSummary& summary) override;
    void runFailed(const RunSummary& summary) override;

private:
    void endLiveLine();

    bool quiet_;
    bool tty_;
    bool liveLine_ = false;
    std::chrono::steady_clock::time_point lastPrint_;
};

/// "1:02:03" / "4:05".
std::string formatDuration(double seconds);

} // namespace tyq::cli
