// LibTorch uses one thread here by default; tyq uses every core unless told otherwise.
#pragma once

namespace tyq {

/// Sets LibTorch's intra-op threads: `requested` > 0 exactly, 0 = all hardware threads.
/// Returns the number in effect. Also installs tyq's caching CPU allocator (common/cpu_allocator.h),
/// since every entry point comes through here before computing.
int configureComputeThreads(int requested);

/// How many threads an at::parallel_for in tyq's own kernels runs on now: LibTorch's intra-op
/// threads, or 1 where tyq was built without OpenMP (clang builds), whatever the setting.
int ownKernelThreads();

} // namespace tyq
