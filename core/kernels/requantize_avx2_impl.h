// The fixed-point requantization of 8 int32 accumulators on AVX2, for the translation units
// compiled with it (integer_code_kernel_avx2.cpp): two quarters of 4 int64 lanes: sign-extend,
// 32 x 32 -> 64-bit signed product (vpmuldq), add the offset, arithmetic shift per lane (AVX2 has
// only the logical one, vpsrlvq: a negative value is shifted as its complement, ~(~v >> s) =
// floor(v / 2^s)), clamp, narrow. Exactly the scalar formula (kernels::RequantizeTable), so the
// codes are the same bit for bit. The AVX-512 counterpart is requantize_avx512_impl.h.
#pragma once

#include "kernels/integer_code_kernel.h"

#include <immintrin.h>

namespace tyq::kernels::detail::avx2 {

/// The clamp bounds as int64 lanes.
struct Bounds {
    __m256i qmin, qmax;
};

inline Bounds bounds(const RequantizeTable& t) { return {_mm256_set1_epi64x(t.qmin), _mm256_set1_epi64x(t.qmax)}; }

inline __m256i load4(const int64_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

/// Channels [k, k + 4): codes as int64 lanes.
inline __m256i requantizeQuarter(__m128i acc, const RequantizeTable& t, int64_t k, const Bounds& b)
{
    const __m256i wide = _mm256_cvtepi32_epi64(acc);
    __m256i v = _mm256_add_epi64(_mm256_mul_epi32(wide, load4(t.multiplier + k)), load4(t.offset + k));
    const __m256i negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
    v = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, negative), load4(t.shift + k)), negative);
    v = _mm256_blendv_epi8(v, b.qmin, _mm256_cmpgt_epi64(b.qmin, v));
    return _mm256_blendv_epi8(v, b.qmax, _mm256_cmpgt_epi64(v, b.qmax));
}

/// The low 32 bits of v's 4 int64 lanes, as 4 int32 lanes.
inline __m128i narrowQuarter(__m256i v)
{
    return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
}

/// Channels [k, k + 8): their codes as 8 int16 lanes (every code range fits int16).
inline __m128i requantize8(__m256i acc, const RequantizeTable& t, int64_t k, const Bounds& b)
{
    const __m128i lo = narrowQuarter(requantizeQuarter(_mm256_castsi256_si128(acc), t, k, b));
    const __m128i hi = narrowQuarter(requantizeQuarter(_mm256_extracti128_si256(acc, 1), t, k + 4, b));
    return _mm_packs_epi32(lo, hi);
}

inline void store8(uint8_t* q, __m128i codes) { _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packus_epi16(codes, codes)); }
inline void store8(int8_t* q, __m128i codes) { _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packs_epi16(codes, codes)); }
inline void store8(int16_t* q, __m128i codes) { _mm_storeu_si128(reinterpret_cast<__m128i*>(q), codes); }

/// Requantizes 8 accumulators (channels [k, k + 8)) and stores their codes at `q`.
template <typename Code>
inline void requantizeStore8(__m256i acc, const RequantizeTable& t, int64_t k, const Bounds& b, Code* q)
{
    store8(q, requantize8(acc, t, k, b));
}

/// All-ones int32 lanes for the channels of [k, k + 8) whose multiplier is negative (requantization decreasing).
inline __m256i negativeMultipliers(const RequantizeTable& t, int64_t k)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i lo = _mm256_cmpgt_epi64(zero, load4(t.multiplier + k));
    const __m256i hi = _mm256_cmpgt_epi64(zero, load4(t.multiplier + k + 4));
    return _mm256_setr_m128i(narrowQuarter(lo), narrowQuarter(hi));
}

} // namespace tyq::kernels::detail::avx2
