#include "kernels/lsq_kernel.h"

#include "kernels/cpu_isa.h"

#include <c10/util/BFloat16.h>

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

float widen(uint16_t bits)
{
    return static_cast<float>(c10::BFloat16(bits, c10::BFloat16::from_bits()));
}

uint16_t toBf16(float v)
{
    return c10::BFloat16(v).x; // round to nearest even, as the AVX-512 bodies
}

float forwardValue(float x, float step, float lo, float hi)
{
    return roundHalfEven(clampKeepNaN(x / step, lo, hi)) * step;
}

// One element of the backward: stores the x gradient, returns the step-size term.
template <typename Store>
double backwardValue(float x, float g, float step, float lo, float hi, Store store)
{
    const float v = x / step;
    const float gs = g * step; // the gradient reaching q through y = q * step
    const bool inside = v >= lo && v <= hi;
    store(inside ? gs / step : 0.0f);
    // inside: d(q step)/d step = q - (x / step) / step (ATen's div backward); outside: the bound
    const float term = inside ? g * roundHalfEven(v) - gs * (v / step) : g * (v < lo ? lo : hi);
    return static_cast<double>(term);
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
        y[i] = forwardValue(x[i], step, lo, hi);
}

void lsqForwardBf16(const uint16_t* x, uint16_t* y, int64_t n, float step, float lo, float hi)
{
    int64_t i = cpuIsa() == Isa::avx512 ? detail::lsqForwardBf16Avx512(x, y, n, step, lo, hi) : 0;
    for (; i < n; ++i)
        y[i] = toBf16(forwardValue(widen(x[i]), step, lo, hi));
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
    for (; i < n; ++i)
        sum += backwardValue(x[i], g[i], step, lo, hi, [&](float v) { gx[i] = v; });
    return sum;
}

double lsqBackwardBf16(const uint16_t* x, const uint16_t* g, uint16_t* gx, int64_t n, float step, float lo, float hi)
{
    double sum = 0;
    int64_t i = cpuIsa() == Isa::avx512 ? detail::lsqBackwardBf16Avx512(x, g, gx, n, step, lo, hi, &sum) : 0;
    for (; i < n; ++i)
        sum += backwardValue(widen(x[i]), widen(g[i]), step, lo, hi, [&](float v) { gx[i] = toBf16(v); });
    return sum;
}

void lsqCodesToBf16(const float* values, uint16_t* codes, int64_t n, float reciprocal)
{
    int64_t i = cpuIsa() == Isa::avx512 ? detail::lsqCodesToBf16Avx512(values, codes, n, reciprocal) : 0;
    for (; i < n; ++i)
        codes[i] = toBf16(roundHalfEven(values[i] * reciprocal));
}

void lsqCodesToBf16(const uint16_t* values, uint16_t* codes, int64_t n, float reciprocal)
{
    int64_t i = cpuIsa() == Isa::avx512 ? detail::lsqCodesToBf16Avx512(values, codes, n, reciprocal) : 0;
    for (; i < n; ++i)
        codes[i] = toBf16(roundHalfEven(widen(values[i]) * reciprocal));
}

namespace {

template <typename T, typename Widen>
bool u8Codes(const T* values, uint8_t* codes, int64_t n, float reciprocal, Widen widenValue)
{
    bool inRange = true;
    int64_t i = cpuIsa() == Isa::avx512 ? detail::lsqCodesToU8Avx512(values, codes, n, reciprocal, &inRange) : 0;
    for (; i < n; ++i) {
        const float code = roundHalfEven(widenValue(values[i]) * reciprocal);
        inRange = inRange && code >= 0.0f && code <= 255.0f; // false for NaN
        codes[i] = inRange ? static_cast<uint8_t>(code) : 0;
    }
    return inRange;
}

} // namespace

bool lsqCodesToU8(const float* values, uint8_t* codes, int64_t n, float reciprocal)
{
    return u8Codes(values, codes, n, reciprocal, [](float v) { return v; });
}

bool lsqCodesToU8(const uint16_t* values, uint8_t* codes, int64_t n, float reciprocal)
{
    return u8Codes(values, codes, n, reciprocal, [](uint16_t v) { return widen(v); });
}

} // namespace tyq::kernels
