// The caching CPU allocator: large blocks come back for the next tensor of that size, nothing is
// kept when caching is off, and the cache gives memory back on request. And the compute threads
// reach tyq's own kernels, not only LibTorch's.
#include "common/compute_threads.h"
#include "common/cpu_allocator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace tyq {
namespace {

TEST(CpuAllocator, LargeTensorsReuseTheBlockOfTheLastOne)
{
    configureComputeThreads(0); // installs the allocator
    setCpuAllocatorCaching(true);
    releaseCachedCpuMemory(); // earlier tests' blocks of the same size would serve as well
    const void* first = nullptr;
    {
        at::Tensor a = at::empty({4, 1024, 1024}); // 16 MB
        a.fill_(1);
        first = a.data_ptr();
    }
    const CpuAllocatorStats before = cpuAllocatorStats();
    EXPECT_GE(before.cachedBytes, 16 << 20);
    at::Tensor b = at::empty({4, 1024, 1024});
    EXPECT_EQ(b.data_ptr(), first);
    EXPECT_EQ(cpuAllocatorStats().reused, before.reused + 1);
    // Small tensors are malloc's business.
    const int64_t cached = cpuAllocatorStats().cachedBytes;
    { at::Tensor small = at::ones({1000}); }
    EXPECT_EQ(cpuAllocatorStats().cachedBytes, cached);
}

// glibc gives blocks of a few hundred KiB back to the system too, and they fault in again on
// the next step (the yolo loss's head-sized gradients: 0.94 MB at batch 8).
TEST(CpuAllocator, MidSizedTensorsAreReusedToo)
{
    configureComputeThreads(0);
    setCpuAllocatorCaching(true);
    releaseCachedCpuMemory(); // earlier tests' blocks of the same size would serve as well
    const void* first = nullptr;
    {
        at::Tensor a = at::zeros({8, 3, 18, 32, 17});
        first = a.data_ptr();
    }
    const CpuAllocatorStats before = cpuAllocatorStats();
    at::Tensor b = at::zeros({8, 3, 18, 32, 17});
    EXPECT_EQ(b.data_ptr(), first);
    EXPECT_EQ(cpuAllocatorStats().reused, before.reused + 1);
    { at::Tensor c = at::empty({64 * 1024 / 4}); } // 64 KiB: the smallest cached size
    EXPECT_EQ(cpuAllocatorStats().reused, before.reused + 1);
    at::Tensor d = at::empty({64 * 1024 / 4});
    EXPECT_EQ(cpuAllocatorStats().reused, before.reused + 2);
}

TEST(CpuAllocator, NothingIsKeptWithCachingOffAndTheCacheCanBeReleased)
{
    configureComputeThreads(0);
    setCpuAllocatorCaching(true);
    { at::Tensor a = at::ones({3, 1024, 1024}); }
    EXPECT_GT(cpuAllocatorStats().cachedBytes, 0);
    releaseCachedCpuMemory();
    EXPECT_EQ(cpuAllocatorStats().cachedBytes, 0);

    setCpuAllocatorCaching(false);
    const int64_t fresh = cpuAllocatorStats().fresh;
    { at::Tensor a = at::ones({3, 1024, 1024}); }
    EXPECT_EQ(cpuAllocatorStats().cachedBytes, 0);
    EXPECT_EQ(cpuAllocatorStats().fresh, fresh); // the plain allocator's path
    setCpuAllocatorCaching(true);

    // A tensor from the cache outlives a switch to no caching and is then freed, not kept.
    at::Tensor kept = at::ones({3, 1024, 1024});
    setCpuAllocatorCaching(false);
    kept = at::Tensor();
    EXPECT_EQ(cpuAllocatorStats().cachedBytes, 0);
    EXPECT_EQ(cpuAllocatorStats().liveBytes, 0);
    setCpuAllocatorCaching(true);
}

TEST(CpuAllocator, TheCacheStaysUnderItsLimit)
{
    configureComputeThreads(0);
    setCpuAllocatorCaching(true);
    releaseCachedCpuMemory();
    setCpuAllocatorCacheLimit(8 << 20);
    {
        at::Tensor a = at::empty({2, 1024, 1024}); // 8 MB each
        at::Tensor b = at::empty({3, 1024, 1024});
        at::Tensor c = at::empty({1, 1024, 1024});
    }
    EXPECT_LE(cpuAllocatorStats().cachedBytes, 8 << 20);
    setCpuAllocatorCacheLimit(int64_t(8) << 30);
}

// at::parallel_for in tyq's code is serial unless tyq is compiled with OpenMP (CMakeLists.txt):
// every hand-written kernel would then run on one core whatever --threads says.
TEST(ComputeThreads, TyqsOwnKernelsRunOnEveryComputeThread)
{
#if defined(__clang__)
    GTEST_SKIP() << "a clang build (sanitizers) has no OpenMP: tyq's own kernels run serially there";
#endif
    const int before = at::get_num_threads();
    configureComputeThreads(2);
    EXPECT_EQ(ownKernelThreads(), 2);
    configureComputeThreads(1);
    EXPECT_EQ(ownKernelThreads(), 1);
    configureComputeThreads(before);
}

} // namespace
} // namespace tyq
