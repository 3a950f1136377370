// The ranks of a data-parallel job on this machine, as child processes of a tyq binary: each
// gets the same arguments plus --world-size W --rank r --master 127.0.0.1:PORT. Used by
// `tyq train --nproc` (all ranks) and by the studio (ranks 1..W-1; rank 0 trains in-process).
// Ranks other than 0 run with --quiet and their standard output discarded: their log is
// runDir/train.rank<R>.log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tyq {

/// A TCP port on 127.0.0.1 that nobody listens on now. Throws tyq::Error.
int freeLocalPort();

class LocalRanks {
public:
    /// Starts ranks [firstRank, worldSize). `globalArguments` go before the subcommand
    /// (e.g. --threads 1), `arguments` after it ("train", ...). Throws tyq::Error.
    LocalRanks(const std::string& program, const std::vector<std::string>& globalArguments,
               const std::vector<std::string>& arguments, int firstRank, int worldSize, int port);
    /// Stops (SIGTERM, then SIGKILL after a grace period) and reaps the ranks still running.
    ~LocalRanks();
    LocalRanks(const LocalRanks&) = delete;
    LocalRanks& operator=(const LocalRanks&) = delete;

    struct Exit {
        int rank = -1;
        int status = 0;          ///< as waitpid gives it
        bool success = false;    ///< exit code 0, or 3 (stopped on request)
        std::string description; ///< "exit code 1", "signal 9 (Killed)"
    };
    /// The next rank that has ended, waiting at most `timeout`; rank -1 if none did.
    Exit waitNext(std::chrono::milliseconds timeout);
    int running() const;
    /// SIGTERM to the ranks still running; SIGKILL to any left after `grace`, then reaps them.
    void stop(std::chrono::seconds grace);

private:
    std::vector<pid_t> pids_; ///< by rank - firstRank; -1 once reaped
    int firstRank_;
};

} // namespace tyq
