// AVX-512 bodies of the passes over codes (compiled with -mavx512f): the fixed-point
// requantization 16 channels at a time (kernels/requantize_avx512_impl.h), fused with the 2x2
// max-pool where one follows, and the image's pixels as u8 codes.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" // GCC 12, inside its own intrinsics
#include "kernels/integer_code_kernel.h"
#include "kernels/pixel_codes_impl.h"
#include "kernels/requantize_avx512_impl.h"

#include <immintrin.h>

namespace tyq::kernels::detail {
namespace {

using namespace avx512;

template <typename Code>
int64_t requantizeRowsImpl(const int32_t* acc, int64_t pixels, const RequantizeTable& t, Code* out)
{
    const int64_t c = t.channels, blocks = c / 16;
    if (blocks == 0)
        return 0;
    const __m512i qmin = _mm512_set1_epi64(t.qmin), qmax = _mm512_set1_epi64(t.qmax);
    for (int64_t p = 0; p < pixels; ++p) {
        const int32_t* a = acc + p * c;
        Code* q = out + p * c;
        for (int64_t b = 0; b < blocks; ++b) {
            const int64_t k = b * 16;
            requantizeStore16(_mm512_loadu_si512(a + k), t, k, qmin, qmax, q + k);
        }
    }
    return blocks * 16;
}

// Output rows [begin, end) of the 2x2 / stride-2 pool of the requantized codes: per 16-channel
// block, the window's max and min accumulators, the max where the multiplier is >= 0, else the min.
template <typename Code>
void requantizeMaxPool2x2Impl(const int32_t* acc, const MapShape& s, const RequantizeTable& t, int64_t begin,
                              int64_t end, Code* out)
{
    const int64_t oh = s.h / 2, ow = s.w / 2, c = s.c;
    const __m512i qmin = _mm512_set1_epi64(t.qmin), qmax = _mm512_set1_epi64(t.qmax);
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / oh, oy = row % oh;
        const int32_t* top = acc + (image * s.h + 2 * oy) * s.w * c;
        const int32_t* bottom = top + s.w * c;
        Code* q = out + row * ow * c;
        for (int64_t ox = 0; ox < ow; ++ox)
            for (int64_t k = 0; k < c; k += 16) {
                const int64_t at = 2 * ox * c + k;
                const __m512i a = _mm512_loadu_si512(top + at), b = _mm512_loadu_si512(top + at + c);
                const __m512i d = _mm512_loadu_si512(bottom + at), e = _mm512_loadu_si512(bottom + at + c);
                const __m512i high = _mm512_max_epi32(_mm512_max_epi32(a, b), _mm512_max_epi32(d, e));
                const __m512i low = _mm512_min_epi32(_mm512_min_epi32(a, b), _mm512_min_epi32(d, e));
                // Where the multiplier is negative the requantization decreases: take the min.
                const __m512i picked = _mm512_mask_blend_epi32(negativeMultipliers(t, k), high, low);
                requantizeStore16(picked, t, k, qmin, qmax, q + ox * c + k);
            }
    }
}

} // namespace

bool pixelCodes3ChannelsAvx512(const float* nchw, const MapShape& s, int64_t begin, int64_t end, uint8_t* nhwc)
{
    const int64_t plane = s.h * s.w;
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f);
    __mmask16 valid = 0xFFFF;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / s.h, y = row % s.h;
        const float* p = nchw + image * 3 * plane + y * s.w;
        uint8_t* q = nhwc + row * s.w * 3;
        int64_t x = 0;
        for (; x + 16 <= s.w; x += 16) {
            __m128i bytes[3];
            for (int k = 0; k < 3; ++k) {
                const __m512 v = _mm512_loadu_ps(p + k * plane + x);
                // NaN fails the range test; a fraction differs from its floor.
                valid &= _mm512_cmp_ps_mask(v, zero, _CMP_GE_OQ) & _mm512_cmp_ps_mask(v, top, _CMP_LE_OQ) &
                         _mm512_cmp_ps_mask(v, _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC), _CMP_EQ_OQ);
                bytes[k] = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v));
            }
            storeInterleaved(bytes, q + 3 * x);
        }
        if (!pixelCodesTail(p, plane, x, s.w, q))
            return false;
    }
    return valid == 0xFFFF;
}

void requantizeMaxPool2x2Avx512(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                                int64_t end, uint8_t* out)
{
    requantizeMaxPool2x2Impl(acc, shape, table, begin, end, out);
}

void requantizeMaxPool2x2Avx512(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                                int64_t end, int8_t* out)
{
    requantizeMaxPool2x2Impl(acc, shape, table, begin, end, out);
}

void requantizeMaxPool2x2Avx512(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                                int64_t end, int16_t* out)
{
    requantizeMaxPool2x2Impl(acc, shape, table, begin, end, out);
}

int64_t requantizeRowsAvx512(const int32_t* acc, int64_t pixels, const RequantizeTable& table, uint8_t* out)
{
    return requantizeRowsImpl(acc, pixels, table, out);
}

int64_t requantizeRowsAvx512(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int8_t* out)
{
    return requantizeRowsImpl(acc, pixels, table, out);
}

int64_t requantizeRowsAvx512(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int16_t* out)
{
    return requantizeRowsImpl(acc, pixels, table, out);
}

} // namespace tyq::kernels::detail
