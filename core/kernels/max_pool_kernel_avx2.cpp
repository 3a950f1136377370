// AVX2 body of the channels-last 2x2 max-pool and its backward for f32 maps, 8 channels at a
// time: the four window values compared in ATen's order (greater than the pick so far, or NaN),
// the pick and its window position blended in; the backward stores each output's gradient,
// masked by that position, at the four window positions. bf16 maps (AVX-512 only) stay on the
// AVX-512 body.
#include "kernels/max_pool_kernel.h"
#include "kernels/max_pool_kernel_impl.h"

#include <ATen/Parallel.h>

#include <immintrin.h>

namespace tyq::kernels::detail {
namespace {

void poolRows(const float* in, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t begin, int64_t end, float* out,
              uint8_t* window)
{
    forEachWindow(in, h, w, c, oh, begin, end, out, window, [c](const float* const* p, float* o, uint8_t* pick) {
        for (int64_t k = 0; k < c; k += 8) {
            __m256 m = _mm256_loadu_ps(p[0] + k);
            __m256 at = _mm256_setzero_ps(); // window positions as floats, blended like the values
            for (int j = 1; j < 4; ++j) {
                const __m256 v = _mm256_loadu_ps(p[j] + k);
                const __m256 takes = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                m = _mm256_blendv_ps(m, v, takes);
                at = _mm256_blendv_ps(at, _mm256_set1_ps(static_cast<float>(j)), takes);
            }
            _mm256_storeu_ps(o + k, m);
            // 8 positions (0..3) to 8 bytes.
            const __m256i positions = _mm256_cvtps_epi32(at);
            const __m128i halves = _mm_packs_epi32(_mm256_castsi256_si128(positions), _mm256_extracti128_si256(positions, 1));
            _mm_storel_epi64(reinterpret_cast<__m128i*>(pick + k), _mm_packus_epi16(halves, halves));
        }
    });
}

void unpoolRows(const float* dy, const uint8_t* window, int64_t h, int64_t w, int64_t c, int64_t rowPairs, int64_t begin,
                int64_t end, float* dx)
{
    forEachWindowGradient(dy, window, h, w, c, rowPairs, begin, end, dx, [c](float* const* q, const float* g, const uint8_t* pick) {
        for (int64_t k = 0; k < c; k += 8) {
            const __m256i at = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(pick + k)));
            const __m256 v = _mm256_loadu_ps(g + k);
            for (int j = 0; j < 4; ++j)
                _mm256_storeu_ps(q[j] + k, _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpeq_epi32(at, _mm256_set1_epi32(j)))));
        }
    });
}

} // namespace

void maxPool2x2ChannelsLastAvx2(const float* in, int64_t n, int64_t h, int64_t w, int64_t c, float* out,
                                uint8_t* window)
{
    const int64_t oh = h / 2;
    at::parallel_for(0, n * oh, 1, [&](int64_t begin, int64_t end) { poolRows(in, h, w, c, oh, begin, end, out, window); });
}

void maxPool2x2ChannelsLastBackwardAvx2(const float* dy, const uint8_t* window, int64_t n, int64_t h, int64_t w,
                                        int64_t c, float* dx)
{
    const int64_t rowPairs = (h + 1) / 2;
    at::parallel_for(0, n * rowPairs, 1,
                     [&](int64_t begin, int64_t end) { unpoolRows(dy, window, h, w, c, rowPairs, begin, end, dx); });
}

} // namespace tyq::kernels::detail
