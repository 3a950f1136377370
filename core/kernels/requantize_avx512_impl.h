// The fixed-point requantization of 16 int32 accumulators on AVX-512F, for the translation units
// compiled with it (integer_code_kernel_avx512.cpp, integer_conv_pool_kernel_vnni.cpp): two halves
// of 8 int64 lanes: sign-extend, 32 x 32 -> 64-bit signed product (vpmuldq), add the offset,
// arithmetic shift per lane (vpsravq), clamp, narrow. Exactly the scalar formula
// (kernels::RequantizeTable), so the codes are the same bit for bit.
#pragma once

#include "kernels/integer_code_kernel.h"

#include <immintrin.h>

namespace tyq::kernels::detail::avx512 {

/// One half (8 channels) of a 16-channel block's table.
struct RequantizeHalf {
    __m512i multiplier, offset, shift;
};

inline RequantizeHalf loadRequantizeHalf(const RequantizeTable& t, int64_t k)
{
    return {_mm512_loadu_si512(t.multiplier + k), _mm512_loadu_si512(t.offset + k), _mm512_loadu_si512(t.shift + k)};
}

inline __m512i requantizeHalf(__m256i acc, const RequantizeHalf& h, __m512i qmin, __m512i qmax)
{
    const __m512i wide = _mm512_cvtepi32_epi64(acc);
    __m512i v = _mm512_add_epi64(_mm512_mul_epi32(wide, h.multiplier), h.offset);
    v = _mm512_srav_epi64(v, h.shift);
    return _mm512_min_epi64(_mm512_max_epi64(v, qmin), qmax);
}

/// The 16 lanes of channels [k, k + 16) whose multiplier is negative (requantization decreasing).
inline __mmask16 negativeMultipliers(const RequantizeTable& t, int64_t k)
{
    const __m512i m0 = _mm512_loadu_si512(t.multiplier + k), m1 = _mm512_loadu_si512(t.multiplier + k + 8);
    return static_cast<__mmask16>(_mm512_cmplt_epi64_mask(m0, _mm512_setzero_si512()) |
                                  (_mm512_cmplt_epi64_mask(m1, _mm512_setzero_si512()) << 8));
}

inline void store8(uint8_t* q, __m512i v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm512_cvtepi64_epi8(v)); }
inline void store8(int8_t* q, __m512i v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm512_cvtepi64_epi8(v)); }
inline void store8(int16_t* q, __m512i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi64_epi16(v)); }

/// Requantizes 16 accumulators (channels [k, k + 16)) and stores their codes at `q`.
template <typename Code>
inline void requantizeStore16(__m512i acc, const RequantizeTable& t, int64_t k, __m512i qmin, __m512i qmax, Code* q)
{
    store8(q, requantizeHalf(_mm512_castsi512_si256(acc), loadRequantizeHalf(t, k), qmin, qmax));
    store8(q + 8, requantizeHalf(_mm512_extracti64x4_epi64(acc, 1), loadRequantizeHalf(t, k + 8), qmin, qmax));
}

} // namespace tyq::kernels::detail::avx512
