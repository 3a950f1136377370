// The process group of a data-parallel training job: PyTorch's c10d ProcessGroupGloo over TCP,
// rendezvous through a c10d TCPStore on rank 0's host (the `torchrun` model: every rank is told
// the world size, its rank and the master's address). Only the collectives the trainer needs,
// all blocking, each bounded by the job's timeout: a dead rank, a cut link or a missing peer
// ends in a tyq::Error that names this rank, the operation and, where a rank recorded one,
// the failing rank's own message.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tyq {

struct CollectiveOptions {
    int worldSize = 1;
    int rank = 0;
    std::string masterHost = "127.0.0.1"; ///< rank 0's address; rank 0 listens there
    int masterPort = 29500;
    /// Bounds the rendezvous and every collective; a peer silent this long ends the job.
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

/// "HOST:PORT" (IPv4, a host name, or [IPv6]:PORT) into host and port. Throws tyq::Error.
void parseMasterAddress(const std::string& text, std::string* host, int* port);

/// Traffic and time of the collectives so far (for the scaling bench and the run log).
struct CollectiveStats {
    int64_t allreduceCalls = 0;
    int64_t allreduceBytes = 0;    ///< payload bytes reduced (each rank's share)
    double allreduceSeconds = 0;   ///< wall time inside allreduce, waits included
};

class Collective {
public:
    /// Joins the job: rank 0 starts the store, every rank connects and builds the Gloo group.
    /// Throws tyq::Error naming the address if the port is taken, the master is unreachable,
    /// or the other ranks do not arrive within the timeout.
    static std::shared_ptr<Collective> connect(const CollectiveOptions& options);
    ~Collective();

    int rank() const { return options_.rank; }
    int worldSize() const { return options_.worldSize; }
    const CollectiveOptions& options() const { return options_; }

    /// Sums every tensor (contiguous, CPU) across ranks, in place, one bucketed collective.
    void allreduceSum(std::vector<at::Tensor>& tensors);
    /// Overwrites the tensors with rank `root`'s.
    void broadcast(std::vector<at::Tensor>& tensors, int root = 0);
    /// Every rank's `text`, by rank.
    std::vector<std::string> allgather(const std::string& text);
    void barrier();

    /// Tells the others why this rank is about to end (they quote it in their own error).
    void recordFailure(const std::string& message) noexcept;

    const CollectiveStats& stats() const { return stats_; }

private:
    struct Group;
    Collective(CollectiveOptions options, std::unique_ptr<Group> group);
    [[noreturn]] void failed(const std::string& operation, const std::exception& e);

    CollectiveOptions options_;
    std::unique_ptr<Group> group_;
    CollectiveStats stats_;
};

} // namespace tyq
