#include "cli/console_observer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace tyq::cli {

std::string formatDuration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return "?";
    const long s = std::lround(seconds);
    return s >= 3600 ? fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60)
                     : fmt::format("{}:{:02d}", s / 60, s % 60);
}

ConsoleObserver::ConsoleObserver(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0) {}

void ConsoleObserver::endLiveLine()
{
    if (liveLine_) {
        std::fprintf(stderr, "\n");
        liveLine_ = false;
    }
}

void ConsoleObserver::runStarted(const RunStart& start)
{
    if (!start.quantizers.empty())
        spdlog::info("{} quantizers; step sizes go to batches.csv", start.quantizers.size());
}

void ConsoleObserver::batchDone(const BatchReport& r)
{
    if (quiet_)
        return;
    const auto now = std::chrono::steady_clock::now();
    const bool lastOfEpoch = r.batchInEpoch + 1 == r.batchesPerEpoch;
    const std::string line =
        fmt::format("epoch {}/{} batch {}/{}  loss {:.4f} (xy {:.3f} wh {:.3f} obj {:.3f} noobj {:.4f} cls {:.3f})  "
                    "{:.1f} img/s  ETA {}",
                    r.epoch + 1, r.epochs, r.batchInEpoch + 1, r.batchesPerEpoch, r.loss, r.x + r.y, r.w + r.h,
                    r.confObj, r.confNoobj, r.cls, r.imagesPerSecond, formatDuration(r.etaSeconds));
    if (tty_) {
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
        liveLine_ = true;
    } else if (lastOfEpoch || now - lastPrint_ > std::chrono::seconds(30)) {
        spdlog::info("{}", line);
        lastPrint_ = now;
    }
}

void ConsoleObserver::evaluationProgress(int64_t done, int64_t total)
{
    if (quiet_ || !tty_)
        return;
    std::fprintf(stderr, "\r\033[Kevaluating: %lld/%lld", static_cast<long long>(done), static_cast<long long>(total));
    std::fflush(stderr);
    liveLine_ = true;
}

void ConsoleObserver::evaluationDone(const EvalReport&)
{
    endLiveLine(); // the trainer logs the metrics line itself
}

void ConsoleObserver::checkpointWritten(const std::filesystem::path& path, const std::string& kind)
{
    if (kind == "best" && !quiet_) {
        endLiveLine();
        spdlog::info("new best checkpoint: {}", path.string());
    }
}

void ConsoleObserver::log(LogLevel level, const std::string& message)
{
    endLiveLine();
    switch (level) {
    case LogLevel::info:
        if (!quiet_)
            spdlog::info("{}", message);
        break;
    case LogLevel::warning: spdlog::warn("{}", message); break;
    case LogLevel::error: spdlog::error("{}", message); break;
    }
}

void ConsoleObserver::runFinished(const RunSummary&)
{
    endLiveLine();
}

void ConsoleObserver::runFailed(const RunSummary&)
{
    endLiveLine();
}

} // namespace tyq::cli
