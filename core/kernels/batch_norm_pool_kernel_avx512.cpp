// AVX-512 (F, BW, VL) bodies of the fused batch norm + 2x2 max-pool (batch_norm_pool_kernel.h),
// 16 channels at a time. The window walk is the max-pool's (max_pool_kernel_impl.h), and so are
// the picks: values compared as f32 in ATen's order, the first maximum, the last NaN.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" // GCC 12, inside its own intrinsics
#include "kernels/batch_norm_pool_kernel.h"
#include "kernels/map_avx512_impl.h"
#include "kernels/max_pool_kernel_impl.h"

#include <immintrin.h>

#include <type_traits>

namespace tyq::kernels::detail {
namespace {

inline __mmask16 picked(__m128i window, int j) { return _mm_cmpeq_epi8_mask(window, _mm_set1_epi8(static_cast<char>(j))); }

template <typename Bits>
void affinePoolRows(const Bits* x, int64_t h, int64_t w, int64_t c, int64_t begin, int64_t end, const float* scale,
                    const float* shift, Bits* out, uint8_t* window)
{
    forEachWindow(x, h, w, c, h / 2, begin, end, out, window, [&](const Bits* const* p, Bits* o, uint8_t* pick) {
        for (int64_t k = 0; k < c; k += 16) {
            const __m512 s = _mm512_loadu_ps(scale + k), t = _mm512_loadu_ps(shift + k);
            __m512 v[4];
            __m256i bits[4]{}; // bf16 maps only
            for (int j = 0; j < 4; ++j) {
                v[j] = _mm512_fmadd_ps(load16(p[j] + k), s, t);
                if constexpr (std::is_same_v<Bits, uint16_t>) {
                    bits[j] = roundToBf16(v[j]); // pooled as the stored bf16 map would be
                    v[j] = widen(bits[j]);
                }
            }
            __m512 m = v[0];
            __m256i mBits = bits[0];
            __m128i at = _mm_setzero_si128();
            for (int j = 1; j < 4; ++j) {
                const __mmask16 take = takes(v[j], m);
                m = _mm512_mask_mov_ps(m, take, v[j]);
                if constexpr (std::is_same_v<Bits, uint16_t>)
                    mBits = _mm256_mask_mov_epi16(mBits, take, bits[j]);
                at = _mm_mask_mov_epi8(at, take, _mm_set1_epi8(static_cast<char>(j)));
            }
            if constexpr (std::is_same_v<Bits, uint16_t>)
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + k), mBits);
            else
                _mm512_storeu_ps(o + k, m);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(pick + k), at);
        }
    });
}

// The sums stay in registers over a row of windows, 16 channels at a time (a sum carried through
// memory window after window ran at half the unfused pass's bandwidth on conv 0's 16 channels).
template <typename Bits>
void gradientSumsRows(const Bits* dy, const uint8_t* window, const Bits* x, int64_t h, int64_t w, int64_t c,
                      int64_t begin, int64_t end, const float* mean, float* sums)
{
    const int64_t oh = h / 2, ow = w / 2;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t image = row / oh, y = row % oh;
        const Bits* top = x + ((image * h + 2 * y) * w) * c;
        const Bits* bottom = top + w * c;
        const Bits* g = dy + row * ow * c;
        const uint8_t* picks = window + row * ow * c;
        for (int64_t k = 0; k < c; k += 16) {
            const __m512 m = _mm512_loadu_ps(mean + k);
            __m512 sum = _mm512_setzero_ps(), centered = _mm512_setzero_ps();
            for (int64_t i = 0; i < ow; ++i) {
                const int64_t o = i * c + k;
                const __m128i at = _mm_loadu_si128(reinterpret_cast<const __m128i*>(picks + o));
                __m512 xp = load16(top + 2 * i * c + k);
                xp = _mm512_mask_mov_ps(xp, picked(at, 1), load16(top + (2 * i + 1) * c + k));
                xp = _mm512_mask_mov_ps(xp, picked(at, 2), load16(bottom + 2 * i * c + k));
                xp = _mm512_mask_mov_ps(xp, picked(at, 3), load16(bottom + (2 * i + 1) * c + k));
                const __m512 gi = load16(g + o);
                sum = _mm512_add_ps(sum, gi);
                centered = _mm512_fmadd_ps(gi, _mm512_sub_ps(xp, m), centered);
            }
            _mm512_storeu_ps(sums + k, _mm512_add_ps(_mm512_loadu_ps(sums + k), sum));
            _mm512_storeu_ps(sums + c + k, _mm512_add_ps(_mm512_loadu_ps(sums + c + k), centered));
        }
    }
}

template <typename Bits>
void gradientAffineRows(const Bits* dy, const uint8_t* window, const Bits* x, int64_t h, int64_t w, int64_t c,
                        int64_t begin, int64_t end, const float* a, const float* b, const float* d, Bits* dx)
{
    const int64_t oh = h / 2, ow = w / 2, rowPairs = (h + 1) / 2;
    // Where no window reaches (an odd last row or column) the pool's gradient is zero.
    auto outsideWindows = [&](const Bits* in, Bits* out, int64_t positions) {
        for (int64_t q = 0; q < positions; ++q)
            for (int64_t k = 0; k < c; k += 16)
                store16(out + q * c + k, _mm512_fmadd_ps(load16(in + q * c + k), _mm512_loadu_ps(b + k),
                                                         _mm512_loadu_ps(d + k)));
    };
    for (int64_t pair = begin; pair < end; ++pair) {
        const int64_t image = pair / rowPairs, y = pair % rowPairs;
        const int64_t offset = ((image * h + 2 * y) * w) * c;
        if (y == oh) {
            outsideWindows(x + offset, dx + offset, w);
            continue;
        }
        const Bits* xTop = x + offset;
        Bits* dxTop = dx + offset;
        const int64_t first = (image * oh + y) * ow;
        for (int64_t i = 0; i < ow; ++i) {
            const int64_t at[4] = {2 * i * c, (2 * i + 1) * c, (w + 2 * i) * c, (w + 2 * i + 1) * c};
            const int64_t o = (first + i) * c;
            for (int64_t k = 0; k < c; k += 16) {
                const __m512 g = load16(dy + o + k);
                const __m128i pick = _mm_loadu_si128(reinterpret_cast<const __m128i*>(window + o + k));
                const __m512 ak = _mm512_loadu_ps(a + k), bk = _mm512_loadu_ps(b + k), dk = _mm512_loadu_ps(d + k);
                for (int j = 0; j < 4; ++j) {
                    const __m512 gj = _mm512_maskz_mov_ps(picked(pick, j), g);
                    store16(dxTop + at[j] + k, _mm512_fmadd_ps(gj, ak, _mm512_fmadd_ps(load16(xTop + at[j] + k), bk, dk)));
                }
            }
        }
        if (w % 2) {
            outsideWindows(xTop + (w - 1) * c, dxTop + (w - 1) * c, 1);
            outsideWindows(xTop + (2 * w - 1) * c, dxTop + (2 * w - 1) * c, 1);
        }
    }
}

} // namespace

void affineMaxPool2x2RowsAvx512(const void* x, bool bf16, int64_t h, int64_t w, int64_t c, int64_t outRowBegin,
                                int64_t outRowEnd, const float* scale, const float* shift, void* out, uint8_t* window)
{
    if (bf16)
        affinePoolRows(static_cast<const uint16_t*>(x), h, w, c, outRowBegin, outRowEnd, scale, shift,
                       static_cast<uint16_t*>(out), window);
    else
        affinePoolRows(static_cast<const float*>(x), h, w, c, outRowBegin, outRowEnd, scale, shift,
                       static_cast<float*>(out), window);
}

void pooledGradientSumsRowsAvx512(const void* dy, const uint8_t* window, const void* x, bool bf16, int64_t h, int64_t w,
                                  int64_t c, int64_t outRowBegin, int64_t outRowEnd, const float* mean, float* sums)
{
    if (bf16)
        gradientSumsRows(static_cast<const uint16_t*>(dy), window, static_cast<const uint16_t*>(x), h, w, c,
                         outRowBegin, outRowEnd, mean, sums);
    else
        gradientSumsRows(static_cast<const float*>(dy), window, static_cast<const float*>(x), h, w, c, outRowBegin,
                         outRowEnd, mean, sums);
}

void pooledGradientAffineRowsAvx512(const void* dy, const uint8_t* window, const void* x, bool bf16, int64_t h,
                                    int64_t w, int64_t c, int64_t rowPairBegin, int64_t rowPairEnd, const float* a,
                                    const float* b, const float* d, void* dx)
{
    if (bf16)
        gradientAffineRows(static_cast<const uint16_t*>(dy), window, static_cast<const uint16_t*>(x), h, w, c,
                           rowPairBegin, rowPairEnd, a, b, d, static_cast<uint16_t*>(dx));
    else
        gradientAffineRows(static_cast<const float*>(dy), window, static_cast<const float*>(x), h, w, c, rowPairBegin,
                           rowPairEnd, a, b, d, static_cast<float*>(dx));
}

} // namespace tyq::kernels::detail
