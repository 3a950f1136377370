// The LSQ quantizer's loops vectorized by hand, compiled once per instruction set (see simd.h).
// The float operations are the scalar ones in lsq_kernel.cpp, lane by lane.
#include "kernels/lsq_kernel.h"
#include "kernels/simd.h"
#if defined(TYQ_KERNEL_AVX512)
#include "kernels/map_avx512_impl.h"
#endif

namespace tyq::kernels {

#if defined(TYQ_KERNEL_AVX512)
#define TYQ_LSQ_FORWARD lsqForwardAvx512
#define TYQ_LSQ_BACKWARD lsqBackwardAvx512
#else
#define TYQ_LSQ_FORWARD lsqForwardAvx2
#define TYQ_LSQ_BACKWARD lsqBackwardAvx2
#endif

namespace detail {
namespace {

inline Vec loadAs(const float* p) { return Vec::load(p); }
inline void storeAs(float* p, Vec v) { v.store(p); }
#if defined(TYQ_KERNEL_AVX512)
inline Vec loadAs(const uint16_t* p) { return {load16(p)}; } // bf16, widened exactly
inline void storeAs(uint16_t* p, Vec v) { store16(p, v.v); } // rounded to nearest even bf16
#endif

template <typename T>
int64_t forwardLoop(const T* x, T* y, int64_t n, float step, float lo, float hi)
{
    constexpr int W = Vec::width;
    const Vec s = Vec::set(step), l = Vec::set(lo), h = Vec::set(hi);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        Vec v = div(loadAs(x + i), s);
        v = vmin(h, vmax(l, v)); // the second operand wins for NaN: NaN stays
        storeAs(y + i, mul(roundEven(v), s));
    }
    return i;
}

template <typename T>
int64_t backwardLoop(const T* x, const T* g, T* gx, int64_t n, float step, float lo, float hi, double* sum)
{
    constexpr int W = Vec::width;
    const Vec s = Vec::set(step), l = Vec::set(lo), h = Vec::set(hi), zero = Vec::zero();
    DoubleSum total;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const Vec gv = loadAs(g + i);
        const Vec v = div(loadAs(x + i), s);
        const Vec gs = mul(gv, s);
        const Mask inside = within(v, l, h);
        const Vec termInside = sub(mul(gv, roundEven(v)), mul(gs, div(v, s)));
        const Vec termOutside = mul(gv, select(lessThan(v, l), l, h));
        storeAs(gx + i, select(inside, div(gs, s), zero));
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

#if defined(TYQ_KERNEL_AVX512)
template <typename T>
int64_t codesLoop(const T* values, uint16_t* codes, int64_t n, float reciprocal)
{
    constexpr int W = Vec::width;
    const Vec r = Vec::set(reciprocal);
    int64_t i = 0;
    for (; i + W <= n; i += W)
        storeAs(codes + i, roundEven(mul(loadAs(values + i), r)));
    return i;
}

template <typename T>
int64_t u8CodesLoop(const T* values, uint8_t* codes, int64_t n, float reciprocal, bool* inRange)
{
    constexpr int W = Vec::width;
    const Vec r = Vec::set(reciprocal), lo = Vec::zero(), hi = Vec::set(255.0f);
    Mask inside = static_cast<Mask>(~0);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const Vec code = roundEven(mul(loadAs(values + i), r));
        inside &= within(code, lo, hi);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i), _mm512_cvtusepi32_epi8(_mm512_cvtps_epu32(code.v)));
    }
    *inRange = inside == static_cast<Mask>(~0);
    return i;
}
#endif

} // namespace

int64_t TYQ_LSQ_FORWARD(const float* x, float* y, int64_t n, float step, float lo, float hi)
{
    return forwardLoop(x, y, n, step, lo, hi);
}

int64_t TYQ_LSQ_BACKWARD(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi,
                         double* sum)
{
    return backwardLoop(x, g, gx, n, step, lo, hi, sum);
}

#if defined(TYQ_KERNEL_AVX512)
int64_t lsqForwardBf16Avx512(const uint16_t* x, uint16_t* y, int64_t n, float step, float lo, float hi)
{
    return forwardLoop(x, y, n, step, lo, hi);
}

int64_t lsqBackwardBf16Avx512(const uint16_t* x, const uint16_t* g, uint16_t* gx, int64_t n, float step, float lo,
                              float hi, double* sum)
{
    return backwardLoop(x, g, gx, n, step, lo, hi, sum);
}

int64_t lsqCodesToBf16Avx512(const float* values, uint16_t* codes, int64_t n, float reciprocal)
{
    return codesLoop(values, codes, n, reciprocal);
}

int64_t lsqCodesToBf16Avx512(const uint16_t* values, uint16_t* codes, int64_t n, float reciprocal)
{
    return codesLoop(values, codes, n, reciprocal);
}

int64_t lsqCodesToU8Avx512(const float* values, uint8_t* codes, int64_t n, float reciprocal, bool* inRange)
{
    return u8CodesLoop(values, codes, n, reciprocal, inRange);
}

int64_t lsqCodesToU8Avx512(const uint16_t* values, uint8_t* codes, int64_t n, float reciprocal, bool* inRange)
{
    return u8CodesLoop(values, codes, n, reciprocal, inRange);
}
#endif

} // namespace detail
} // namespace tyq::kernels

#undef TYQ_LSQ_FORWARD
#undef TYQ_LSQ_BACKWARD
