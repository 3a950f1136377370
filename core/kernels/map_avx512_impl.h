// AVX-512 helpers of the channels-last map kernels (batch norm, max-pool, their fused passes):
// bf16 <-> f32 for 16 channels, and the max-pool's pick rule. AVX-512 F only. Internal linkage:
// included by each AVX-512 translation unit, so no instantiation is shared between builds.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tyq::kernels::detail {
namespace {

/// 16 bf16 values (the high halves of f32s) as f32.
inline __m512 widen(__m256i bf16) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bf16), 16)); }

inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

/// f32 to bf16 bits, rounded to nearest even as c10::BFloat16 and batch_norm_kernel's store()
/// round (a NaN becomes the quiet 0x7FC0); integer arithmetic, so denormals survive as there.
inline __m256i roundToBf16(__m512 v)
{
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    rounded = _mm512_mask_mov_epi32(rounded, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_set1_epi32(0x7FC0));
    return _mm512_cvtepi32_epi16(rounded);
}

inline void store16(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline void store16(uint16_t* p, __m512 v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), roundToBf16(v)); }

/// The max-pool's pick rule, ATen's loop: a value is taken when greater than the pick so far, or NaN.
inline __mmask16 takes(__m512 v, __m512 m)
{
    return _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

} // namespace
} // namespace tyq::kernels::detail
