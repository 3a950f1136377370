// The walk over a channels-last map's 2x2 windows that each instruction-set body of the max-pool
// (max_pool_kernel_avx2.cpp, _avx512.cpp) fills with its own per-window channel loop. Internal
// linkage: included by each ISA's translation unit, so no instantiation is shared between builds.
#pragma once

#include <cstdint>
#include <cstring>

namespace tyq::kernels::detail {
namespace {

/// For output rows [begin, end) (image * oh + y) of an n x h x w x c map: pool(p, o, pick) with
/// the window's four inputs p[0..3] ((0,0) (0,1) (1,0) (1,1)), the output o and its window
/// positions pick, c values each.
template <typename Bits, typename Pool>
void forEachWindow(const Bits* in, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t begin, int64_t end, Bits* out,
                   uint8_t* window, Pool pool)
{
    const int64_t ow = w / 2;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / oh, y = row % oh;
        const Bits* top = in + ((image * h + 2 * y) * w) * c;
        const Bits* bottom = top + w * c;
        for (int64_t x = 0; x < ow; ++x) {
            const Bits* p[4] = {top + 2 * x * c, top + (2 * x + 1) * c, bottom + 2 * x * c, bottom + (2 * x + 1) * c};
            pool(p, out + (row * ow + x) * c, window + (row * ow + x) * c);
        }
    }
}

/// The backward's walk, over input row pairs [begin, end) (image * rowPairs + y, rowPairs =
/// ceil(h / 2)): unpool(q, g, pick) with the window's four gradient outputs q[0..3], the output
/// gradient g and the positions pick. An odd last row or column gets zeros (it was in no window).
template <typename Bits, typename Unpool>
void forEachWindowGradient(const Bits* dy, const uint8_t* window, int64_t h, int64_t w, int64_t c, int64_t rowPairs,
                           int64_t begin, int64_t end, Bits* dx, Unpool unpool)
{
    const int64_t oh = h / 2, ow = w / 2;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / rowPairs, y = row % rowPairs;
        Bits* top = dx + ((image * h + 2 * y) * w) * c;
        if (y == oh) {
            std::memset(top, 0, static_cast<size_t>(w * c) * sizeof(Bits));
            continue;
        }
        Bits* bottom = top + w * c;
        const int64_t first = (image * oh + y) * ow;
        for (int64_t x = 0; x < ow; ++x) {
            Bits* q[4] = {top + 2 * x * c, top + (2 * x + 1) * c, bottom + 2 * x * c, bottom + (2 * x + 1) * c};
            unpool(q, dy + (first + x) * c, window + (first + x) * c);
        }
        if (w % 2) {
            std::memset(top + (w - 1) * c, 0, static_cast<size_t>(c) * sizeof(Bits));
            std::memset(bottom + (w - 1) * c, 0, static_cast<size_t>(c) * sizeof(Bits));
        }
    }
}

} // namespace
} // namespace tyq::kernels::detail
