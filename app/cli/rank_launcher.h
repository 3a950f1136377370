// `tyq train --nproc N`: starts the N ranks of a data-parallel job on this machine as child
// processes of this tyq (each with the same command line plus --world-size N --rank r --master
// 127.0.0.1:<free port>), and waits. Rank 0 keeps the terminal; the others are quiet (their
// log is in the run folder). When a rank ends in failure or is killed, the others are stopped
// (SIGTERM, then SIGKILL after a grace period) and the job ends with a message naming it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace tyq::cli {

/// The command line tyq was started with (main() records it for the launcher).
void recordCommandLine(int argc, char** argv);

struct LocalJob {
    int processes = 2;
    std::filesystem::path runDir; ///< for the message pointing at a failed rank's log
    /// Extra arguments every rank gets (e.g. --out for a run folder the launcher named).
    std::vector<std::string> extraArguments;
    std::chrono::seconds grace{30};
};

/// Runs the job; returns the exit status of the job as a whole (rank 0's, or 1 if another rank
/// failed first). Throws tyq::Error if the ranks cannot be started.
int runLocalJob(const LocalJob& job);

} // namespace tyq::cli
