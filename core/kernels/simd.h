// A minimal SIMD vector for the hand-vectorized kernels, compiled once per instruction set:
// the including translation unit defines TYQ_KERNEL_AVX512 or TYQ_KERNEL_AVX2 and is built with
// the matching -m flags. Internal linkage only, so no AVX code leaks into the baseline build.
#pragma once

#include <immintrin.h>

namespace tyq::kernels {
namespace {

#if defined(TYQ_KERNEL_AVX512)
struct Vec {
    static constexpr int width = 16;
    __m512 v;
    static Vec zero() { return {_mm512_setzero_ps()}; }
    static Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
    static Vec broadcast(const float* p) { return {_mm512_set1_ps(*p)}; }
    static Vec set(float x) { return {_mm512_set1_ps(x)}; }
    void store(float* p) const { _mm512_storeu_ps(p, v); }
};
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec vmax(Vec a, Vec b) { return {_mm512_max_ps(a.v, b.v)}; }
inline Vec vmin(Vec a, Vec b) { return {_mm512_min_ps(a.v, b.v)}; }
inline Vec add(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Vec mul(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Vec div(Vec a, Vec b) { return {_mm512_div_ps(a.v, b.v)}; }
inline Vec roundEven(Vec a) { return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
inline Vec sub(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
// x < 0 ? x * slope : x (leaky; relu with slope 0), NaN kept
inline Vec leaky(Vec a, float slope)
{
    const __mmask16 negative = _mm512_cmp_ps_mask(a.v, _mm512_setzero_ps(), _CMP_LT_OQ);
    return {_mm512_mask_mul_ps(a.v, negative, a.v, _mm512_set1_ps(slope))};
}
using Mask = __mmask16;
inline Mask lessThan(Vec a, Vec b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ); }
/// lo <= a <= hi (false for NaN)
inline Mask within(Vec a, Vec lo, Vec hi)
{
    return _mm512_cmp_ps_mask(a.v, lo.v, _CMP_GE_OQ) & _mm512_cmp_ps_mask(a.v, hi.v, _CMP_LE_OQ);
}
inline Vec select(Mask m, Vec ifTrue, Vec ifFalse) { return {_mm512_mask_blend_ps(m, ifFalse.v, ifTrue.v)}; }
/// Running sums in double, one per float lane.
struct DoubleSum {
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    void add(Vec a)
    {
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(a.v)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1))));
    }
    void store(double* out) const // 16 values
    {
        _mm512_storeu_pd(out, lo);
        _mm512_storeu_pd(out + 8, hi);
    }
};
#elif defined(TYQ_KERNEL_AVX2)
struct Vec {
    static constexpr int width = 8;
    __m256 v;
    static Vec zero() { return {_mm256_setzero_ps()}; }
    static Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
    static Vec broadcast(const float* p) { return {_mm256_broadcast_ss(p)}; }
    static Vec set(float x) { return {_mm256_set1_ps(x)}; }
    void store(float* p) const { _mm256_storeu_ps(p, v); }
};
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec vmax(Vec a, Vec b) { return {_mm256_max_ps(a.v, b.v)}; }
inline Vec vmin(Vec a, Vec b) { return {_mm256_min_ps(a.v, b.v)}; }
inline Vec add(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec mul(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec div(Vec a, Vec b) { return {_mm256_div_ps(a.v, b.v)}; }
inline Vec sub(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec roundEven(Vec a) { return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
inline Vec leaky(Vec a, float slope)
{
    const __m256 negative = _mm256_cmp_ps(a.v, _mm256_setzero_ps(), _CMP_LT_OQ);
    return {_mm256_blendv_ps(a.v, _mm256_mul_ps(a.v, _mm256_set1_ps(slope)), negative)};
}
using Mask = __m256;
inline Mask lessThan(Vec a, Vec b) { return _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ); }
inline Mask within(Vec a, Vec lo, Vec hi)
{
    return _mm256_and_ps(_mm256_cmp_ps(a.v, lo.v, _CMP_GE_OQ), _mm256_cmp_ps(a.v, hi.v, _CMP_LE_OQ));
}
inline Vec select(Mask m, Vec ifTrue, Vec ifFalse) { return {_mm256_blendv_ps(ifFalse.v, ifTrue.v, m)}; }
struct DoubleSum {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    void add(Vec a)
    {
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(a.v)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(a.v, 1)));
    }
    void store(double* out) const // 8 values
    {
        _mm256_storeu_pd(out, lo);
        _mm256_storeu_pd(out + 4, hi);
    }
};
#else
#error "define TYQ_KERNEL_AVX512 or TYQ_KERNEL_AVX2"
#endif

} // namespace
} // namespace tyq::kernels
