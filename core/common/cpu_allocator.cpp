#include "common/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

namespace tyq {
namespace {

// Blocks from 64 KiB up are cached: glibc hands memory of that size back to the system (it trims
// the heap, or maps the block), and a 0.94 MB tensor faulted in again costs ~1.4 ms here (the
// yolo loss's head-sized gradients, many of bf16 training's maps: 135 -> 110 ms a bf16 step).
// They are rounded to 64 KiB, and those of 1 MiB or more to 2 MiB huge pages.
constexpr size_t kCachedBlock = size_t(64) << 10;
constexpr size_t kHugeBlock = size_t(1) << 20;
constexpr size_t kHugePage = size_t(2) << 20;

size_t blockSizeFor(size_t nbytes)
{
    const size_t unit = nbytes >= kHugeBlock ? kHugePage : kCachedBlock;
    return (nbytes + unit - 1) / unit * unit;
}

int64_t defaultCacheLimit()
{
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    const int64_t half = pages > 0 && pageSize > 0 ? int64_t(pages) * pageSize / 2 : int64_t(8) << 30;
    return std::min<int64_t>(int64_t(8) << 30, half);
}

class CachingCpuAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(size_t nbytes) const override
    {
        void* p = allocateBlock(nbytes);
        return {p, p, &CachingCpuAllocator::deleteBlock, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::deleteBlock; }

    static CachingCpuAllocator& instance()
    {
        // Never destroyed: tensors may be freed during static destruction.
        static CachingCpuAllocator* allocator = new CachingCpuAllocator();
        return *allocator;
    }

    void setCaching(bool enabled)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        caching_ = enabled;
        if (!enabled)
            releaseCachedLocked(0);
    }
    bool caching() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return caching_;
    }
    void release()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        releaseCachedLocked(0);
    }
    void setLimit(int64_t bytes)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        limit_ = std::max<int64_t>(0, bytes);
        releaseCachedLocked(limit_);
    }
    CpuAllocatorStats stats() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return stats_;
    }

private:
    void* allocateBlock(size_t nbytes) const
    {
        if (nbytes >= kCachedBlock) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (caching_)
                return allocateCachedLocked(nbytes);
        }
        return c10::alloc_cpu(nbytes);
    }

    void* allocateCachedLocked(size_t nbytes) const
    {
        const size_t size = blockSizeFor(nbytes);
        // The same size, or a slightly larger block rather than faulting in new memory.
        auto it = free_.lower_bound(size);
        if (it != free_.end() && it->first <= size + size / 4) {
            void* p = it->second;
            const size_t blockSize = it->first;
            free_.erase(it);
            live_[p] = blockSize;
            stats_.cachedBytes -= static_cast<int64_t>(blockSize);
            stats_.liveBytes += static_cast<int64_t>(blockSize);
            ++stats_.reused;
            return p;
        }
        void* p = nullptr;
        const bool huge = size >= kHugePage;
        if (::posix_memalign(&p, huge ? kHugePage : kCachedBlock, size) != 0 || !p)
            throw std::bad_alloc();
        // Huge pages: one fault per 2 MiB instead of 512 (the kernel may decline; harmless).
        if (huge)
            ::madvise(p, size, MADV_HUGEPAGE);
        live_[p] = size;
        stats_.liveBytes += static_cast<int64_t>(size);
        stats_.peakBytes = std::max(stats_.peakBytes, stats_.liveBytes + stats_.cachedBytes);
        ++stats_.fresh;
        return p;
    }

    static void deleteBlock(void* p)
    {
        if (!p)
            return;
        instance().releaseBlock(p);
    }

    void releaseBlock(void* p) const
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = live_.find(p);
            if (it != live_.end()) {
                const size_t size = it->second;
                live_.erase(it);
                stats_.liveBytes -= static_cast<int64_t>(size);
                if (!caching_) {
                    std::free(p);
                    return;
                }
                free_.emplace(size, p);
                stats_.cachedBytes += static_cast<int64_t>(size);
                if (stats_.cachedBytes > limit_)
                    releaseCachedLocked(limit_);
                return;
            }
        }
        c10::free_cpu(p);
    }

    // Frees cached blocks, largest first, until at most `keep` bytes stay cached.
    void releaseCachedLocked(int64_t keep) const
    {
        while (stats_.cachedBytes > keep && !free_.empty()) {
            auto last = std::prev(free_.end());
            std::free(last->second);
            stats_.cachedBytes -= static_cast<int64_t>(last->first);
            free_.erase(last);
        }
    }

    mutable std::mutex mutex_;
    mutable std::multimap<size_t, void*> free_;
    mutable std::unordered_map<void*, size_t> live_;
    mutable CpuAllocatorStats stats_;
    bool caching_ = true;
    int64_t limit_ = defaultCacheLimit();
};

} // namespace

void installCachingCpuAllocator()
{
    static const bool installed = [] {
        c10::SetCPUAllocator(&CachingCpuAllocator::instance(), /*priority=*/1);
        return true;
    }();
    (void)installed;
}

void setCpuAllocatorCaching(bool enabled)
{
    CachingCpuAllocator::instance().setCaching(enabled);
}

bool cpuAllocatorCaching()
{
    return CachingCpuAllocator::instance().caching();
}

void releaseCachedCpuMemory()
{
    CachingCpuAllocator::instance().release();
}

void setCpuAllocatorCacheLimit(int64_t bytes)
{
    CachingCpuAllocator::instance().setLimit(bytes);
}

CpuAllocatorStats cpuAllocatorStats()
{
    return CachingCpuAllocator::instance().stats();
}

} // namespace tyq
