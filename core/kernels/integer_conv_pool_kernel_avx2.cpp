// AVX2 body of the fused first stage (compiled with -mavx2), for CPUs without AVX512_VNNI.
// Output channels are the 16 int16 lanes of a register; each vpmaddubsw multiplies, in every
// lane, two u8 input bytes (broadcast) by that lane's two s8 weights and adds the pair, and
// vpaddsw sums the pairs: exact for the weights packFusedConvWeights admits (255 x sum |w| per
// channel fits int16). A kernel row of an NHWC image is 3 x c consecutive bytes, so a 3x3
// window takes 3 x groups pairs. The four sums of a 2x2 pool window are independent chains,
// then max / min in int16, pick by the multiplier's sign, widen to int32, requantize, store.
#include "kernels/integer_conv_pool_kernel.h"
#include "kernels/requantize_avx2_impl.h"

#include <immintrin.h>

#include <cstring>

namespace tyq::kernels::detail {
namespace {

using namespace avx2;

inline __m256i broadcast2(const uint8_t* p)
{
    int16_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm256_set1_epi16(v);
}

template <int Groups, typename Code>
void rowImpl(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& w, const RequantizeTable& t, Code* out)
{
    const int64_t c = w.inChannels, oc = w.outChannels;
    const Bounds bound = bounds(t);
    for (int64_t b = 0; b < oc / 16; ++b) {
        const int8_t* weights = w.packed.data() + b * 3 * Groups * 32;
        // All-ones int16 lanes where the channel's multiplier is negative (requantization decreasing).
        alignas(32) int16_t negativeLanes[16];
        for (int lane = 0; lane < 16; ++lane)
            negativeLanes[lane] = t.multiplier[16 * b + lane] < 0 ? -1 : 0;
        const __m256i negative = _mm256_load_si256(reinterpret_cast<const __m256i*>(negativeLanes));
        const uint8_t* const r0 = rows[0];
        const uint8_t* const r1 = rows[1];
        const uint8_t* const r2 = rows[2];
        const uint8_t* const r3 = rows[3];
        for (int64_t ox = 0; ox < ow; ++ox) {
            // Conv outputs (2 oy + dy, 2 ox + dx) in sum<dy><dx>: conv row 2 oy + dy reads padded rows
            // dy .. dy + 2, conv column x reads padded bytes from x * c. Four named accumulators
            // and one weight register at a time: an array of them spilled to the stack. Saturating
            // adds (never saturated, by the weight bound) keep GCC from reassociating the sums into
            // a tree of products that spill too.
            __m256i sum00 = _mm256_setzero_si256(), sum01 = sum00, sum10 = sum00, sum11 = sum00;
            const int64_t at = 2 * ox * c;
            const uint8_t* const kernelRows[4] = {r0 + at, r1 + at, r2 + at, r3 + at};
            for (int ky = 0; ky < 3; ++ky) {
                const uint8_t* top = kernelRows[ky];
                const uint8_t* bottom = kernelRows[ky + 1];
                for (int g = 0; g < Groups; ++g) {
                    const __m256i weight =
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(weights + (ky * Groups + g) * 32));
                    sum00 = _mm256_adds_epi16(sum00, _mm256_maddubs_epi16(broadcast2(top + 2 * g), weight));
                    sum01 = _mm256_adds_epi16(sum01, _mm256_maddubs_epi16(broadcast2(top + c + 2 * g), weight));
                    sum10 = _mm256_adds_epi16(sum10, _mm256_maddubs_epi16(broadcast2(bottom + 2 * g), weight));
                    sum11 = _mm256_adds_epi16(sum11, _mm256_maddubs_epi16(broadcast2(bottom + c + 2 * g), weight));
                }
            }
            const __m256i high = _mm256_max_epi16(_mm256_max_epi16(sum00, sum01), _mm256_max_epi16(sum10, sum11));
            const __m256i low = _mm256_min_epi16(_mm256_min_epi16(sum00, sum01), _mm256_min_epi16(sum10, sum11));
            // Where the multiplier is negative the requantization decreases: its max is the min's code.
            const __m256i picked = _mm256_blendv_epi8(high, low, negative);
            Code* q = out + ox * oc + 16 * b;
            requantizeStore8(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(picked)), t, 16 * b, bound, q);
            requantizeStore8(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(picked, 1)), t, 16 * b + 8, bound, q + 8);
        }
    }
}

template <typename Code>
void rowDispatch(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& w, const RequantizeTable& t, Code* out)
{
    static_assert(kMaxFusedInputChannels * 3 <= 16, "at most 8 pairs of bytes per kernel row");
    switch (w.groups) { // ceil(3 c / 2) for c = 1 .. 5
    case 2: rowImpl<2>(rows, ow, w, t, out); return;
    case 3: rowImpl<3>(rows, ow, w, t, out); return;
    case 5: rowImpl<5>(rows, ow, w, t, out); return;
    case 6: rowImpl<6>(rows, ow, w, t, out); return;
    default: rowImpl<8>(rows, ow, w, t, out); return;
    }
}

} // namespace

void convRequantizeMaxPoolRowAvx2(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, uint8_t* out)
{
    rowDispatch(rows, ow, weights, table, out);
}

void convRequantizeMaxPoolRowAvx2(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int8_t* out)
{
    rowDispatch(rows, ow, weights, table, out);
}

void convRequantizeMaxPoolRowAvx2(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int16_t* out)
{
    rowDispatch(rows, ow, weights, table, out);
}

} // namespace tyq::kernels::detail
