#include "cli/rank_launcher.h"

#include "common/error.h"
#include "dist/local_ranks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/wait.h>

namespace tyq::cli {
namespace {

std::vector<std::string> g_commandLine;

// The recorded command line without --nproc (and its value), for the ranks.
std::vector<std::string> rankArguments()
{
    std::vector<std::string> out;
    for (size_t i = 1; i < g_commandLine.size(); ++i) {
        const std::string& a = g_commandLine[i];
        if (a == "--nproc") {
            ++i;
            continue;
        }
        if (a.rfind("--nproc=", 0) == 0)
            continue;
        out.push_back(a);
    }
    return out;
}

} // namespace

void recordCommandLine(int argc, char** argv)
{
    g_commandLine.assign(argv, argv + argc);
}

int runLocalJob(const LocalJob& job)
{
    if (g_commandLine.empty())
        throw Error("--nproc: the command line was not recorded");
    const int port = freeLocalPort();
    std::vector<std::string> arguments = rankArguments();
    arguments.insert(arguments.end(), job.extraArguments.begin(), job.extraArguments.end());
    spdlog::info("starting {} processes (ranks 0..{}, rendezvous on 127.0.0.1:{})", job.processes, job.processes - 1,
                 port);

    // Ctrl-C reaches every rank through the terminal's process group and each stops cleanly;
    // the launcher only waits.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previousInt {}, previousTerm {};
    ::sigaction(SIGINT, &ignore, &previousInt);
    ::sigaction(SIGTERM, &ignore, &previousTerm);
    int result = 0;
    std::string failure;
    {
        LocalRanks ranks("/proc/self/exe", {}, arguments, 0, job.processes, port);
        while (ranks.running() > 0) {
            const LocalRanks::Exit e = ranks.waitNext(std::chrono::seconds(1));
            if (e.rank < 0)
                continue;
            if (e.rank == 0 && failure.empty())
                result = WIFEXITED(e.status) ? WEXITSTATUS(e.status) : 1;
            if (!e.success && failure.empty()) {
                failure = fmt::format("rank {} ended with {}", e.rank, e.description);
                result = e.rank == 0 && WIFEXITED(e.status) ? WEXITSTATUS(e.status) : 1;
                if (ranks.running() > 0) {
                    spdlog::error("{}; stopping the other ranks{}", failure,
                                  e.rank > 0 ? fmt::format(" (its log: {})",
                                                           (job.runDir / fmt::format("train.rank{}.log", e.rank)).string())
                                             : "");
                    ranks.stop(job.grace);
                }
            }
        }
    }
    ::sigaction(SIGINT, &previousInt, nullptr);
    ::sigaction(SIGTERM, &previousTerm, nullptr);
    if (!failure.empty())
        spdlog::error("tyq train --nproc {}: the job failed: {}", job.processes, failure);
    return result;
}

} // namespace tyq::cli
