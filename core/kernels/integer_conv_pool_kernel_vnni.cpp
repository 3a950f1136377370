// AVX-512 VNNI body of the fused first stage (compiled with -mavx512f -mavx512vnni). Output
// channels are the 16 int32 lanes of a register; each vpdpbusd adds, in every lane, four u8
// input bytes (broadcast) times that lane's four s8 weights. A kernel row of an NHWC image is
// 3 x c consecutive bytes, so a 3x3 window takes 3 x groups instructions, the weights staying in
// registers. The four sums of a 2x2 pool window are independent chains, then max / min, pick by
// the multiplier's sign, requantize, store.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" // GCC 12, inside its own intrinsics
#include "kernels/integer_conv_pool_kernel.h"
#include "kernels/requantize_avx512_impl.h"

#include <immintrin.h>

#include <cstring>

namespace tyq::kernels::detail {
namespace {

using namespace avx512;

inline __m512i broadcast4(const uint8_t* p)
{
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

template <int Groups, typename Code>
void rowImpl(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& w, const RequantizeTable& t, Code* out)
{
    const int64_t c = w.inChannels, oc = w.outChannels;
    const __m512i qmin = _mm512_set1_epi64(t.qmin), qmax = _mm512_set1_epi64(t.qmax);
    for (int64_t b = 0; b < oc / 16; ++b) {
        __m512i weight[3][Groups];
        for (int ky = 0; ky < 3; ++ky)
            for (int g = 0; g < Groups; ++g)
                weight[ky][g] = _mm512_loadu_si512(w.packed.data() + ((b * 3 + ky) * Groups + g) * 64);
        const __mmask16 negative = negativeMultipliers(t, 16 * b);
        for (int64_t ox = 0; ox < ow; ++ox) {
            // Conv outputs (2 oy + dy, 2 ox + dx): acc[2 dy + dx]. Conv row 2 oy + dy reads padded
            // rows dy .. dy + 2; conv column x reads padded bytes from x * c.
            __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                              _mm512_setzero_si512()};
            for (int dy = 0; dy < 2; ++dy)
                for (int ky = 0; ky < 3; ++ky) {
                    const uint8_t* left = rows[dy + ky] + 2 * ox * c;
                    const uint8_t* right = left + c;
                    for (int g = 0; g < Groups; ++g) {
                        acc[2 * dy] = _mm512_dpbusd_epi32(acc[2 * dy], broadcast4(left + 4 * g), weight[ky][g]);
                        acc[2 * dy + 1] = _mm512_dpbusd_epi32(acc[2 * dy + 1], broadcast4(right + 4 * g), weight[ky][g]);
                    }
                }
            const __m512i high = _mm512_max_epi32(_mm512_max_epi32(acc[0], acc[1]), _mm512_max_epi32(acc[2], acc[3]));
            const __m512i low = _mm512_min_epi32(_mm512_min_epi32(acc[0], acc[1]), _mm512_min_epi32(acc[2], acc[3]));
            // Where the multiplier is negative the requantization decreases: its max is the min's code.
            requantizeStore16(_mm512_mask_blend_epi32(negative, high, low), t, 16 * b, qmin, qmax, out + ox * oc + 16 * b);
        }
    }
}

template <typename Code>
void rowDispatch(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& w, const RequantizeTable& t, Code* out)
{
    static_assert(kMaxFusedInputChannels * 3 <= 16, "at most 4 groups of 4 bytes per kernel row");
    switch (w.groups) {
    case 1: rowImpl<1>(rows, ow, w, t, out); return;
    case 2: rowImpl<2>(rows, ow, w, t, out); return;
    case 3: rowImpl<3>(rows, ow, w, t, out); return;
    default: rowImpl<4>(rows, ow, w, t, out); return;
    }
}

} // namespace

void convRequantizeMaxPoolRowVnni(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, uint8_t* out)
{
    rowDispatch(rows, ow, weights, table, out);
}

void convRequantizeMaxPoolRowVnni(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int8_t* out)
{
    rowDispatch(rows, ow, weights, table, out);
}

void convRequantizeMaxPoolRowVnni(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int16_t* out)
{
    rowDispatch(rows, ow, weights, table, out);
}

} // namespace tyq::kernels::detail
