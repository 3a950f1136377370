// LibTorch's CPU tensors come from malloc: every large tensor is a fresh mmap whose pages fault
// in one by one on first touch. In this VM a 4 KiB fault costs ~25 us, so a 75 MB activation
// costs ~0.5 s before any arithmetic (measured: bench/, BM_FreshTensor), and glibc gives blocks
// of a few hundred KiB back to the system too (trimming its heap). tyq's allocator keeps blocks
// of 64 KiB and up after use and hands them out again (and backs those of 1 MiB and up with
// transparent huge pages), so a training or inference loop stops faulting after its first step.
#pragma once

#include <cstdint>

namespace tyq {

struct CpuAllocatorStats {
    int64_t liveBytes = 0;    ///< cached-size blocks in use by tensors
    int64_t cachedBytes = 0;  ///< cached-size blocks kept for reuse
    int64_t peakBytes = 0;    ///< high-water mark of live + cached
    int64_t reused = 0;       ///< allocations served from the cache
    int64_t fresh = 0;        ///< cached-size allocations that took new memory
};

/// Installs the caching allocator as LibTorch's CPU allocator (once; later calls do nothing).
/// Called by configureComputeThreads, so every tyq entry point has it.
void installCachingCpuAllocator();

/// Turns reuse (and huge pages) on or off; off behaves like the plain allocator (for baselines).
/// Turning it off releases the cache.
void setCpuAllocatorCaching(bool enabled);
bool cpuAllocatorCaching();

/// Returns every cached block to the system.
void releaseCachedCpuMemory();

/// Most bytes the cache keeps while idle; beyond it the largest free blocks are released
/// (default 8 GiB, or half the physical memory if less).
void setCpuAllocatorCacheLimit(int64_t bytes);

CpuAllocatorStats cpuAllocatorStats();

} // namespace tyq
