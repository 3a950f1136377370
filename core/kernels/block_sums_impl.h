// Per-channel sums over the rows of a map, on the compute threads: each block of rows summed in
// f32 (fast, and its error stays small over a block), the blocks added in double. Shared by the
// batch norm's statistics and gradient sums and by the fused batch norm + pool's. Internal
// linkage: included by each instruction-set build, so no instantiation is shared between them.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

namespace tyq::kernels::detail {
namespace {

/// Calls f(begin, end, float* block) for each block of `rowsPerBlock` rows of [0, rows) (`block`:
/// `width` zeroed f32 sums), adds the blocks in double, and returns the `width` totals.
template <typename F>
std::vector<double> sumOverRowBlocks(int64_t rows, int64_t rowsPerBlock, size_t width, const F& f)
{
    std::vector<double> total(width, 0.0);
    std::mutex mutex;
    at::parallel_for(0, (rows + rowsPerBlock - 1) / rowsPerBlock, 1, [&](int64_t begin, int64_t end) {
        std::vector<double> local(width, 0.0);
        std::vector<float> block(width);
        for (int64_t b = begin; b < end; ++b) {
            std::fill(block.begin(), block.end(), 0.0f);
            f(b * rowsPerBlock, std::min(rows, (b + 1) * rowsPerBlock), block.data());
            for (size_t i = 0; i < width; ++i)
                local[i] += block[i];
        }
        std::lock_guard<std::mutex> lock(mutex);
        for (size_t i = 0; i < width; ++i)
            total[i] += local[i];
    });
    return total;
}

} // namespace
} // namespace tyq::kernels::detail
