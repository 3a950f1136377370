// The one oneDNN CPU engine tyq's direct oneDNN calls share (the integer engine's int8
// convolutions, the code convolution's bf16 one). LibTorch keeps its own for the convolutions it
// runs; both use the same OpenMP threads.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <mutex>

namespace tyq {

dnnl::engine& oneDnnCpuEngine();

/// Primitives by shape, one cache per kind (`make`): a training run meets a handful of shapes, and
/// building one costs far more than running a small layer. Null where oneDNN has none (throws
/// dnnl::error: a scaled one, or a weight gradient, under an ISA cap, say) or `make` declines.
template <typename Primitive, typename Key>
std::shared_ptr<const Primitive> cachedByShape(const Key& key, std::shared_ptr<const Primitive> (*make)(const Key&))
{
    static std::mutex mutex;
    static std::map<Key, std::shared_ptr<const Primitive>> cache;
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end())
        return it->second;
    std::shared_ptr<const Primitive> p;
    try {
        p = make(key);
    } catch (const dnnl::error&) {
    }
    cache.emplace(key, p);
    return p;
}

} // namespace tyq
