// The LSQ quantizer's loops vectorized by hand, compiled once per instruction set (see simd.h).
// The float operations are the scalar ones in lsq_kernel.cpp, lane by lane.
#include "kernels/lsq_kernel.h"
#include "kernels/simd.h"

namespace tyq::kernels {

#if defined(TYQ_KERNEL_AVX512)
#define TYQ_LSQ_FORWARD lsqForwardAvx512
#define TYQ_LSQ_BACKWARD lsqBackwardAvx512
#else
#define TYQ_LSQ_FORWARD lsqForwardAvx2
#define TYQ_LSQ_BACKWARD lsqBackwardAvx2
#endif

namespace detail {

int64_t TYQ_LSQ_FORWARD(const float* x, float* y, int64_t n, float step, float lo, float hi)
{
    constexpr int W = Vec::width;
    const Vec s = Vec::set(step), l = Vec::set(lo), h = Vec::set(hi);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        Vec v = div(Vec::load(x + i), s);
        v = vmin(h, vmax(l, v)); // the second operand wins for NaN: NaN stays
        mul(roundEven(v), s).store(y + i);
    }
    return i;
}

int64_t TYQ_LSQ_BACKWARD(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi,
                         double* sum)
{
    constexpr int W = Vec::width;
    const Vec s = Vec::set(step), l = Vec::set(lo), h = Vec::set(hi), zero = Vec::zero();
    DoubleSum total;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const Vec gv = Vec::load(g + i);
        const Vec v = div(Vec::load(x + i), s);
        const Vec gs = mul(gv, s);
        const Mask inside = within(v, l, h);
        const Vec termInside = sub(mul(gv, roundEven(v)), mul(gs, div(v, s)));
        const Vec termOutside = mul(gv, select(lessThan(v, l), l, h));
        select(inside, div(gs, s), zero).store(gx + i);
        total.add(select(inside, termInside, termOutside));
    }
    double lanes[16] = {};
    total.store(lanes);
    double acc = 0;
    for (int k = 0; k < W; ++k)
        acc += lanes[k];
    *sum = acc;
    return i;
}

} // namespace detail
} // namespace tyq::kernels

#undef TYQ_LSQ_FORWARD
#undef TYQ_LSQ_BACKWARD
