#include "cli/rank_launcher.h"

#include "common/error.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace tyq::cli {
namespace {

std::vector<std::string> g_commandLine;

// A port nobody listens on now (the kernel's choice); rank 0 binds it a moment later.
int freeLocalPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        if (fd >= 0)
            ::close(fd);
        throw Error(std::string("--nproc: cannot find a free local port: ") + std::strerror(errno));
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

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

std::string describeStatus(int status)
{
    if (WIFEXITED(status))
        return fmt::format("exit code {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return fmt::format("signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return "unknown status";
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
    std::vector<std::string> base = rankArguments();
    base.insert(base.end(), job.extraArguments.begin(), job.extraArguments.end());
    spdlog::info("starting {} processes (ranks 0..{}, rendezvous on 127.0.0.1:{})", job.processes, job.processes - 1,
                 port);

    // Ctrl-C reaches every rank through the terminal's process group; each stops cleanly.
    // The launcher itself only waits.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previousInt {}, previousTerm {};
    ::sigaction(SIGINT, &ignore, &previousInt);
    ::sigaction(SIGTERM, &ignore, &previousTerm);

    std::vector<pid_t> pids(static_cast<size_t>(job.processes), -1);
    for (int rank = 0; rank < job.processes; ++rank) {
        std::vector<std::string> args = base;
        for (const std::string& a : {std::string("--world-size"), std::to_string(job.processes), std::string("--rank"),
                                     std::to_string(rank), std::string("--master"), fmt::format("127.0.0.1:{}", port)})
            args.push_back(a);
        if (rank > 0)
            args.insert(args.begin(), "--quiet"); // global flag: the rank's log file has everything
        std::vector<char*> argv;
        std::string self = "/proc/self/exe";
        argv.push_back(self.data());
        for (std::string& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0)
            throw Error(std::string("--nproc: cannot start a process: ") + std::strerror(errno));
        if (pid == 0) {
            ::sigaction(SIGINT, &previousInt, nullptr);
            ::sigaction(SIGTERM, &previousTerm, nullptr);
            if (rank > 0) {
                const int null = ::open("/dev/null", O_WRONLY);
                if (null >= 0)
                    ::dup2(null, STDOUT_FILENO);
            }
            ::execv("/proc/self/exe", argv.data());
            std::_Exit(127);
        }
        pids[static_cast<size_t>(rank)] = pid;
    }

    int running = job.processes;
    int result = 0;
    std::string firstFailure;
    auto rankOf = [&](pid_t pid) {
        for (size_t r = 0; r < pids.size(); ++r)
            if (pids[r] == pid)
                return static_cast<int>(r);
        return -1;
    };
    auto stopOthers = [&] {
        for (const pid_t pid : pids)
            if (pid > 0)
                ::kill(pid, SIGTERM);
    };
    std::chrono::steady_clock::time_point killAt = std::chrono::steady_clock::time_point::max();
    while (running > 0) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid == 0) {
            if (std::chrono::steady_clock::now() >= killAt) {
                for (const pid_t p : pids)
                    if (p > 0)
                        ::kill(p, SIGKILL);
                killAt = std::chrono::steady_clock::time_point::max();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        const int rank = rankOf(pid);
        if (rank < 0)
            continue;
        pids[static_cast<size_t>(rank)] = -1;
        --running;
        const bool ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
        if (rank == 0 && firstFailure.empty())
            result = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        if (!ok && firstFailure.empty()) {
            firstFailure = fmt::format("rank {} ended with {}", rank, describeStatus(status));
            result = rank == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
            if (running > 0) {
                spdlog::error("{}; stopping the other ranks{}", firstFailure,
                              rank > 0 ? fmt::format(" (its log: {})",
                                                     (job.runDir / fmt::format("train.rank{}.log", rank)).string())
                                       : "");
                stopOthers();
                killAt = std::chrono::steady_clock::now() + job.grace;
            }
        }
    }
    ::sigaction(SIGINT, &previousInt, nullptr);
    ::sigaction(SIGTERM, &previousTerm, nullptr);
    if (!firstFailure.empty())
        spdlog::error("tyq train --nproc {}: the job failed: {}", job.processes, firstFailure);
    return result;
}

} // namespace tyq::cli
