// AVX-512 (F, BW, VL) body of the channels-last 2x2 max-pool and its backward, 16 channels at a
// time: the four window values compared as f32 in ATen's order, the pick's bits and its window
// position (one byte) selected by mask; the backward stores each output's gradient, masked, at
// the four window positions.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" // GCC 12, inside its own intrinsics
#include "kernels/max_pool_kernel.h"
#include "kernels/map_avx512_impl.h"
#include "kernels/max_pool_kernel_impl.h"

#include <ATen/Parallel.h>

#include <immintrin.h>

#include <type_traits>

namespace tyq::kernels::detail {
namespace {

template <bool Bf16>
void poolRows(const void* inVoid, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t begin, int64_t end, void* outVoid,
              uint8_t* window)
{
    using Bits = std::conditional_t<Bf16, uint16_t, float>;
    forEachWindow(static_cast<const Bits*>(inVoid), h, w, c, oh, begin, end, static_cast<Bits*>(outVoid), window,
                  [c](const Bits* const* p, Bits* o, uint8_t* pick) {
                      for (int64_t k = 0; k < c; k += 16) {
                          __m128i at = _mm_setzero_si128();
                          if constexpr (Bf16) {
                              __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[0] + k));
                              __m512 m = widen(bits);
                              for (int j = 1; j < 4; ++j) {
                                  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[j] + k));
                                  const __m512 v = widen(b);
                                  const __mmask16 t = takes(v, m);
                                  m = _mm512_mask_mov_ps(m, t, v);
                                  bits = _mm256_mask_mov_epi16(bits, t, b);
                                  at = _mm_mask_mov_epi8(at, t, _mm_set1_epi8(static_cast<char>(j)));
                              }
                              _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + k), bits);
                          } else {
                              __m512 m = _mm512_loadu_ps(p[0] + k);
                              for (int j = 1; j < 4; ++j) {
                                  const __m512 v = _mm512_loadu_ps(p[j] + k);
                                  const __mmask16 t = takes(v, m);
                                  m = _mm512_mask_mov_ps(m, t, v);
                                  at = _mm_mask_mov_epi8(at, t, _mm_set1_epi8(static_cast<char>(j)));
                              }
                              _mm512_storeu_ps(o + k, m);
                          }
                          _mm_storeu_si128(reinterpret_cast<__m128i*>(pick + k), at);
                      }
                  });
}

template <bool Bf16>
void unpoolRows(const void* dyVoid, const uint8_t* window, int64_t h, int64_t w, int64_t c, int64_t rowPairs,
                int64_t begin, int64_t end, void* dxVoid)
{
    using Bits = std::conditional_t<Bf16, uint16_t, float>;
    forEachWindowGradient(
        static_cast<const Bits*>(dyVoid), window, h, w, c, rowPairs, begin, end, static_cast<Bits*>(dxVoid),
        [c](Bits* const* q, const Bits* g, const uint8_t* pick) {
            for (int64_t k = 0; k < c; k += 16) {
                const __m128i at = _mm_loadu_si128(reinterpret_cast<const __m128i*>(pick + k));
                if constexpr (Bf16) {
                    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + k));
                    for (int j = 0; j < 4; ++j)
                        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q[j] + k),
                                            _mm256_maskz_mov_epi16(_mm_cmpeq_epi8_mask(at, _mm_set1_epi8(static_cast<char>(j))), v));
                } else {
                    const __m512 v = _mm512_loadu_ps(g + k);
                    for (int j = 0; j < 4; ++j)
                        _mm512_storeu_ps(q[j] + k,
                                         _mm512_maskz_mov_ps(_mm_cmpeq_epi8_mask(at, _mm_set1_epi8(static_cast<char>(j))), v));
                }
            }
        });
}

} // namespace

void maxPool2x2ChannelsLastAvx512(const void* in, bool bf16, int64_t n, int64_t h, int64_t w, int64_t c, void* out,
                                  uint8_t* window)
{
    const int64_t oh = h / 2;
    at::parallel_for(0, n * oh, 1, [&](int64_t begin, int64_t end) {
        if (bf16)
            poolRows<true>(in, h, w, c, oh, begin, end, out, window);
        else
            poolRows<false>(in, h, w, c, oh, begin, end, out, window);
    });
}

void maxPool2x2ChannelsLastBackwardAvx512(const void* dy, const uint8_t* window, bool bf16, int64_t n, int64_t h,
                                          int64_t w, int64_t c, void* dx)
{
    const int64_t rowPairs = (h + 1) / 2;
    at::parallel_for(0, n * rowPairs, 1, [&](int64_t begin, int64_t end) {
        if (bf16)
            unpoolRows<true>(dy, window, h, w, c, rowPairs, begin, end, dx);
        else
            unpoolRows<false>(dy, window, h, w, c, rowPairs, begin, end, dx);
    });
}

} // namespace tyq::kernels::detail
