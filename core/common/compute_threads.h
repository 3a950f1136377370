// LibTorch uses one thread here by default; tyq uses every core unless told otherwise.
#pragma once

namespace tyq {

/// Sets LibTorch's intra-op threads: `requested` > 0 exactly, 0 = all hardware threads.
/// Returns the number in effect. Also installs tyq's caching CPU allocator (common/cpu_allocator.h),
/// since every entry point comes through here before computing.
int configureComputeThreads(int requested);

} // namespace tyq
