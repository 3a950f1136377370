#include "dist/collective.h"

#include "common/elapsed.h"
#include "common/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace tyq {
namespace {

std::string firstLine(const std::string& text)
{
    const size_t end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

std::string messageOf(const std::exception& e)
{
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&e))
        return firstLine(c10->what_without_backtrace());
    return firstLine(e.what());
}

// The address of this host's interface on the route to `host`, which Gloo binds so that peers
// on other hosts can reach it (the host name could resolve to 127.0.1.1). A UDP "connect" sends
// nothing: it only asks the kernel for the route.
std::string localAddressTowards(const std::string& host, int port)
{
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
        throw Error(fmt::format("master address {}: cannot resolve the host name", host));
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    std::string address;
    if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
        sockaddr_in local{};
        socklen_t length = sizeof local;
        char text[INET_ADDRSTRLEN] = {};
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
            ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text))
            address = text;
    }
    if (fd >= 0)
        ::close(fd);
    ::freeaddrinfo(found);
    if (address.empty())
        throw Error(fmt::format("master address {}: no route to it from this host", host));
    return address;
}

std::string failureKey(int rank)
{
    return "tyq/failure/" + std::to_string(rank);
}

} // namespace

struct Collective::Group {
    c10::intrusive_ptr<c10d::TCPStore> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

void parseMasterAddress(const std::string& text, std::string* host, int* port)
{
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
        throw Error("--master '" + text + "': expected HOST:PORT, for example 10.0.0.1:29500");
    std::string h = text.substr(0, colon);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']')
        h = h.substr(1, h.size() - 2);
    int p = 0;
    try {
        size_t used = 0;
        p = std::stoi(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1)
            p = -1;
    } catch (const std::exception&) {
        p = -1;
    }
    if (p < 1 || p > 65535)
        throw Error("--master '" + text + "': the port must be a number from 1 to 65535");
    *host = h;
    *port = p;
}

std::shared_ptr<Collective> Collective::connect(const CollectiveOptions& options)
{
    if (options.worldSize < 1 || options.rank < 0 || options.rank >= options.worldSize)
        throw Error(fmt::format("rank {} is not in a world of size {}", options.rank, options.worldSize));
    const std::string where = fmt::format("{}:{}", options.masterHost, options.masterPort);
    auto group = std::make_unique<Group>();
    try {
        c10d::TCPStoreOptions storeOptions;
        storeOptions.port = static_cast<uint16_t>(options.masterPort);
        storeOptions.isServer = options.rank == 0;
        storeOptions.numWorkers = static_cast<size_t>(options.worldSize);
        storeOptions.waitWorkers = true;
        storeOptions.timeout = options.timeout;
        group->store = c10::make_intrusive<c10d::TCPStore>(options.masterHost, storeOptions);
    } catch (const std::exception& e) {
        const std::string why = messageOf(e);
        if (options.rank == 0 && why.find("ddress already in use") != std::string::npos)
            throw Error(fmt::format("rank 0: cannot listen on {}: the port is already in use (choose another "
                                    "--master port)",
                                    where));
        throw Error(fmt::format("rank {}: rendezvous at {} failed within {} s: {}", options.rank, where,
                                options.timeout.count() / 1000.0, why));
    }
    try {
        auto glooOptions = c10d::ProcessGroupGloo::Options::create(options.timeout);
        glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(
            localAddressTowards(options.masterHost, options.masterPort)));
        group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, options.rank, options.worldSize,
                                                                   glooOptions);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(fmt::format("rank {}: joining the process group at {} failed: {}", options.rank, where,
                                messageOf(e)));
    }
    return std::shared_ptr<Collective>(new Collective(options, std::move(group)));
}

Collective::Collective(CollectiveOptions options, std::unique_ptr<Group> group)
    : options_(std::move(options)), group_(std::move(group))
{
}

Collective::~Collective() = default;

void Collective::failed(const std::string& operation, const std::exception& e)
{
    // Which rank gave up first, and why, if it said so before it went (the store lives on rank 0).
    std::string reported;
    try {
        group_->store->setTimeout(std::chrono::seconds(2));
        for (int r = 0; r < options_.worldSize; ++r) {
            if (r != options_.rank && group_->store->check({failureKey(r)})) {
                const std::vector<uint8_t> bytes = group_->store->get(failureKey(r));
                reported = fmt::format("; rank {} reported: {}", r, std::string(bytes.begin(), bytes.end()));
                break;
            }
        }
    } catch (const std::exception&) {
        reported = "; rank 0's store is unreachable too (rank 0 ended, or its host is cut off)";
    }
    std::string why = messageOf(e);
    if (why.find("imed out") != std::string::npos)
        why += fmt::format(" (no answer from the other ranks within {} s: one died or hung, or its host is unreachable)",
                           options_.timeout.count() / 1000.0);
    throw Error(fmt::format("rank {} of {}: {} failed: {}{}", options_.rank, options_.worldSize, operation, why,
                            reported));
}

void Collective::recordFailure(const std::string& message) noexcept
{
    try {
        group_->store->setTimeout(std::chrono::seconds(2));
        group_->store->set(failureKey(options_.rank), std::vector<uint8_t>(message.begin(), message.end()));
    } catch (const std::exception&) {
        // The store may be gone with rank 0: the others then see the lost connection.
    }
}

void Collective::allreduceSum(std::vector<at::Tensor>& tensors)
{
    if (tensors.empty())
        return;
    const auto t0 = Clock::now();
    int64_t bytes = 0;
    for (const at::Tensor& t : tensors)
        bytes += t.numel() * static_cast<int64_t>(t.element_size());
    try {
        // One flat buffer per call: a single Gloo ring over all of them.
        const bool inPlace = tensors.size() == 1 && tensors.front().is_contiguous();
        at::Tensor flat = inPlace ? tensors.front() : at::cat(
            [&] {
                std::vector<at::Tensor> views;
                for (const at::Tensor& t : tensors)
                    views.push_back(t.reshape({-1}));
                return views;
            }());
        std::vector<at::Tensor> buffer{flat};
        group_->gloo->allreduce(buffer)->wait(options_.timeout);
        if (!inPlace) {
            int64_t offset = 0;
            for (at::Tensor& t : tensors) {
                t.copy_(flat.slice(0, offset, offset + t.numel()).view(t.sizes()));
                offset += t.numel();
            }
        }
    } catch (const std::exception& e) {
        failed("allreduce", e);
    }
    ++stats_.allreduceCalls;
    stats_.allreduceBytes += bytes;
    stats_.allreduceSeconds += secondsSince(t0);
}

void Collective::broadcast(std::vector<at::Tensor>& tensors, int root)
{
    try {
        for (at::Tensor& t : tensors) {
            std::vector<at::Tensor> one{t};
            c10d::BroadcastOptions o;
            o.rootRank = root;
            group_->gloo->broadcast(one, o)->wait(options_.timeout);
        }
    } catch (const std::exception& e) {
        failed("broadcast", e);
    }
}

std::vector<std::string> Collective::allgather(const std::string& text)
{
    try {
        std::vector<at::Tensor> size{at::full({1}, static_cast<int64_t>(text.size()), at::kLong)};
        std::vector<std::vector<at::Tensor>> sizes(1);
        for (int r = 0; r < options_.worldSize; ++r)
            sizes[0].push_back(at::empty({1}, at::kLong));
        group_->gloo->allgather(sizes, size)->wait(options_.timeout);
        int64_t longest = 0;
        for (const at::Tensor& s : sizes[0])
            longest = std::max(longest, s.item<int64_t>());
        std::vector<at::Tensor> mine{at::zeros({std::max<int64_t>(longest, 1)}, at::kByte)};
        std::memcpy(mine[0].data_ptr<uint8_t>(), text.data(), text.size());
        std::vector<std::vector<at::Tensor>> all(1);
        for (int r = 0; r < options_.worldSize; ++r)
            all[0].push_back(at::empty_like(mine[0]));
        group_->gloo->allgather(all, mine)->wait(options_.timeout);
        std::vector<std::string> out;
        for (int r = 0; r < options_.worldSize; ++r)
            out.emplace_back(reinterpret_cast<const char*>(all[0][static_cast<size_t>(r)].data_ptr<uint8_t>()),
                             static_cast<size_t>(sizes[0][static_cast<size_t>(r)].item<int64_t>()));
        return out;
    } catch (const std::exception& e) {
        failed("allgather", e);
    }
}

void Collective::barrier()
{
    try {
        group_->gloo->barrier()->wait(options_.timeout);
    } catch (const std::exception& e) {
        failed("barrier", e);
    }
}

} // namespace tyq
