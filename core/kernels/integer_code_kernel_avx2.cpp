// AVX2 bodies of the passes over codes (compiled with -mavx2), for CPUs without AVX-512: the
// fixed-point requantization 8 channels at a time (kernels/requantize_avx2_impl.h), fused with
// the 2x2 max-pool where one follows, and the image's pixels as u8 codes. The same loops as the
// AVX-512 bodies (integer_code_kernel_avx512.cpp), half as wide.
#include "kernels/integer_code_kernel.h"
#include "kernels/pixel_codes_impl.h"
#include "kernels/requantize_avx2_impl.h"

#include <immintrin.h>

namespace tyq::kernels::detail {
namespace {

using namespace avx2;

inline __m256i load8(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

template <typename Code>
int64_t requantizeRowsImpl(const int32_t* acc, int64_t pixels, const RequantizeTable& t, Code* out)
{
    const int64_t c = t.channels, blocks = c / 8;
    if (blocks == 0)
        return 0;
    const Bounds b = bounds(t);
    for (int64_t p = 0; p < pixels; ++p) {
        const int32_t* a = acc + p * c;
        Code* q = out + p * c;
        for (int64_t k = 0; k < blocks * 8; k += 8)
            requantizeStore8(load8(a + k), t, k, b, q + k);
    }
    return blocks * 8;
}

// Output rows [begin, end) of the 2x2 / stride-2 pool of the requantized codes: per 8-channel
// block, the window's max and min accumulators, the max where the multiplier is >= 0, else the min.
template <typename Code>
void requantizeMaxPool2x2Impl(const int32_t* acc, const MapShape& s, const RequantizeTable& t, int64_t begin,
                              int64_t end, Code* out)
{
    const int64_t oh = s.h / 2, ow = s.w / 2, c = s.c;
    const Bounds bound = bounds(t);
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / oh, oy = row % oh;
        const int32_t* top = acc + (image * s.h + 2 * oy) * s.w * c;
        const int32_t* bottom = top + s.w * c;
        Code* q = out + row * ow * c;
        for (int64_t ox = 0; ox < ow; ++ox)
            for (int64_t k = 0; k < c; k += 8) {
                const int64_t at = 2 * ox * c + k;
                const __m256i a = load8(top + at), b = load8(top + at + c);
                const __m256i d = load8(bottom + at), e = load8(bottom + at + c);
                const __m256i high = _mm256_max_epi32(_mm256_max_epi32(a, b), _mm256_max_epi32(d, e));
                const __m256i low = _mm256_min_epi32(_mm256_min_epi32(a, b), _mm256_min_epi32(d, e));
                // Where the multiplier is negative the requantization decreases: take the min.
                const __m256i picked = _mm256_blendv_epi8(high, low, negativeMultipliers(t, k));
                requantizeStore8(picked, t, k, bound, q + ox * c + k);
            }
    }
}

// 8 floats: all integers in 0..255 (NaN fails the range test; a fraction differs from its floor)?
inline __m256 validPixels(__m256 v)
{
    const __m256 inRange = _mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ),
                                         _mm256_cmp_ps(v, _mm256_set1_ps(255.0f), _CMP_LE_OQ));
    return _mm256_and_ps(inRange, _mm256_cmp_ps(v, _mm256_floor_ps(v), _CMP_EQ_OQ));
}

} // namespace

bool pixelCodes3ChannelsAvx2(const float* nchw, const MapShape& s, int64_t begin, int64_t end, uint8_t* nhwc)
{
    const int64_t plane = s.h * s.w;
    __m256 valid = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / s.h, y = row % s.h;
        const float* p = nchw + image * 3 * plane + y * s.w;
        uint8_t* q = nhwc + row * s.w * 3;
        int64_t x = 0;
        for (; x + 16 <= s.w; x += 16) {
            __m128i bytes[3];
            for (int k = 0; k < 3; ++k) {
                const __m256 v0 = _mm256_loadu_ps(p + k * plane + x), v1 = _mm256_loadu_ps(p + k * plane + x + 8);
                valid = _mm256_and_ps(valid, _mm256_and_ps(validPixels(v0), validPixels(v1)));
                // int32 -> int16 (in-lane order: 0-3, 8-11, 4-7, 12-15; the permute restores it) -> u8.
                const __m256i words = _mm256_permute4x64_epi64(
                    _mm256_packs_epi32(_mm256_cvttps_epi32(v0), _mm256_cvttps_epi32(v1)), 0xD8);
                bytes[k] = _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
            }
            storeInterleaved(bytes, q + 3 * x);
        }
        if (!pixelCodesTail(p, plane, x, s.w, q))
            return false;
    }
    return _mm256_movemask_ps(valid) == 0xFF;
}

void requantizeMaxPool2x2Avx2(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                              int64_t end, uint8_t* out)
{
    requantizeMaxPool2x2Impl(acc, shape, table, begin, end, out);
}

void requantizeMaxPool2x2Avx2(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                              int64_t end, int8_t* out)
{
    requantizeMaxPool2x2Impl(acc, shape, table, begin, end, out);
}

void requantizeMaxPool2x2Avx2(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                              int64_t end, int16_t* out)
{
    requantizeMaxPool2x2Impl(acc, shape, table, begin, end, out);
}

int64_t requantizeRowsAvx2(const int32_t* acc, int64_t pixels, const RequantizeTable& table, uint8_t* out)
{
    return requantizeRowsImpl(acc, pixels, table, out);
}

int64_t requantizeRowsAvx2(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int8_t* out)
{
    return requantizeRowsImpl(acc, pixels, table, out);
}

int64_t requantizeRowsAvx2(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int16_t* out)
{
    return requantizeRowsImpl(acc, pixels, table, out);
}

} // namespace tyq::kernels::detail
