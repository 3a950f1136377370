#include "common/compute_threads.h"

#include "common/cpu_allocator.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TYQ_UNDER_TSAN 1
#endif
#endif

namespace tyq {

int configureComputeThreads(int requested)
{
    installCachingCpuAllocator();
    int threads = requested > 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
#ifdef TYQ_UNDER_TSAN
    // LibTorch's intra-op pool is libgomp, which is not instrumented: ThreadSanitizer cannot see
    // its barriers and would report every parallel kernel. One intra-op thread runs each
    // at::parallel_for inline; the threads tyq creates itself are all still checked.
    threads = 1;
#endif
    at::set_num_threads(threads);
    return at::get_num_threads();
}

int ownKernelThreads()
{
    std::mutex mutex;
    std::set<int> seen;
    at::parallel_for(0, at::get_num_threads(), 1, [&](int64_t, int64_t) {
        std::lock_guard<std::mutex> lock(mutex);
        seen.insert(at::get_thread_num());
    });
    return static_cast<int>(seen.size());
}

} // namespace tyq
