#include "kernels/lsq_kernel.h"

#include "kernels/cpu_isa.h"

namespace tyq::kernels {
namespace {

// Round half to even for |v| < 2^22: adding 1.5 * 2^23 pushes the fraction out of the mantissa
// under the default rounding mode (round to nearest even); subtracting it back is exact. Needs
// strict float semantics (no -ffast-math), which the build has.
inline float roundHalfEven(float v)
{
    constexpr float magic = 12582912.0f; // 1.5 * 2^23
    return (v + magic) - magic;
}

inline float clampKeepNaN(float v, float lo, float hi)
{
    v = v < lo ? lo : v; // NaN compares false and stays
    return v > hi ? hi : v;
}

} // namespace

void lsqForward(const float* x, float* y, int64_t n, float step, float lo, float hi)
{
    int64_t i = 0;
    switch (cpuIsa()) {
    case Isa::avx512: i = detail::lsqForwardAvx512(x, y, n, step, lo, hi); break;
    case Isa::avx2: i = detail::lsqForwardAvx2(x, y, n, step, lo, hi); break;
    case Isa::baseline: break;
    }
    for (; i < n; ++i)
        y[i] = roundHalfEven(clampKeepNaN(x[i] / step, lo, hi)) * step;
}

double lsqBackward(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi)
{
    int64_t i = 0;
    double sum = 0;
    switch (cpuIsa()) {
    case Isa::avx512: i = detail::lsqBackwardAvx512(x, g, gx, n, step, lo, hi, &sum); break;
    case Isa::avx2: i = detail::lsqBackwardAvx2(x, g, gx, n, step, lo, hi, &sum); break;
    case Isa::baseline: break;
    }
    for (; i < n; ++i) {
        const float v = x[i] / step;
        const float gs = g[i] * step; // the gradient reaching q through y = q * step
        const bool inside = v >= lo && v <= hi;
        gx[i] = inside ? gs / step : 0.0f;
        // inside: d(q step)/d step = q - (x / step) / step (ATen's div backward); outside: the bound
        const float term = inside ? g[i] * roundHalfEven(v) - gs * (v / step) : g[i] * (v < lo ? lo : hi);
        sum += static_cast<double>(term);
    }
    return sum;
}

} // namespace tyq::kernels
