#include "dist/local_ranks.h"

#include "common/error.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace tyq {

int freeLocalPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error = errno;
    if (fd >= 0)
        ::close(fd);
    if (!ok)
        throw Error(std::string("cannot find a free local port for the ranks' rendezvous: ") + std::strerror(error));
    return ntohs(address.sin_port);
}

LocalRanks::LocalRanks(const std::string& program, const std::vector<std::string>& globalArguments,
                       const std::vector<std::string>& arguments, int firstRank, int worldSize, int port)
    : firstRank_(firstRank)
{
    for (int rank = firstRank; rank < worldSize; ++rank) {
        std::vector<std::string> args{program};
        if (rank > 0)
            args.push_back("--quiet");
        args.insert(args.end(), globalArguments.begin(), globalArguments.end());
        args.insert(args.end(), arguments.begin(), arguments.end());
        for (const std::string& a : {std::string("--world-size"), std::to_string(worldSize), std::string("--rank"),
                                     std::to_string(rank), std::string("--master"), fmt::format("127.0.0.1:{}", port)})
            args.push_back(a);
        std::vector<char*> argv;
        for (std::string& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (rank > 0)
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        // A fresh signal state: the launcher may ignore SIGINT, its ranks must not.
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
        pid_t pid = -1;
        const int error = posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        if (error != 0) {
            stop(std::chrono::seconds(5));
            throw Error(fmt::format("cannot start rank {} ({}): {}", rank, program, std::strerror(error)));
        }
        pids_.push_back(pid);
    }
}

LocalRanks::~LocalRanks()
{
    stop(std::chrono::seconds(10));
}

int LocalRanks::running() const
{
    int n = 0;
    for (const pid_t pid : pids_)
        n += pid > 0;
    return n;
}

LocalRanks::Exit LocalRanks::waitNext(std::chrono::milliseconds timeout)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
        for (size_t i = 0; i < pids_.size(); ++i) {
            if (pids_[i] <= 0)
                continue;
            int status = 0;
            if (::waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
                pids_[i] = -1;
                Exit e;
                e.rank = firstRank_ + static_cast<int>(i);
                e.status = status;
                e.success = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
                e.description = WIFEXITED(status)     ? fmt::format("exit code {}", WEXITSTATUS(status))
                                : WIFSIGNALED(status) ? fmt::format("signal {} ({})", WTERMSIG(status),
                                                                    strsignal(WTERMSIG(status)))
                                                      : "an unknown status";
                return e;
            }
        }
        if (running() == 0 || std::chrono::steady_clock::now() >= until)
            return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void LocalRanks::stop(std::chrono::seconds grace)
{
    for (const pid_t pid : pids_)
        if (pid > 0)
            ::kill(pid, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + grace;
    while (running() > 0 && std::chrono::steady_clock::now() < until)
        waitNext(std::chrono::milliseconds(100));
    for (pid_t& pid : pids_) {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
}

} // namespace tyq
