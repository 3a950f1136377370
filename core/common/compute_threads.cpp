#include "common/compute_threads.h"

#include "common/cpu_allocator.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

namespace tyq {

int configureComputeThreads(int requested)
{
    installCachingCpuAllocator();
    const int threads = requested > 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
    at::set_num_threads(threads);
    return at::get_num_threads();
}

} // namespace tyq
