// The integer engine's first stage in one pass: a 3x3 / stride 1 / pad 1 convolution of a
// few-channel u8 image (the network's pixels) with s8 weight codes, the fixed-point
// requantization of its int32 sums, and the 2x2 / stride 2 max-pool after it. oneDNN computes
// such a layer well below its peak (3 input channels fill little of a VNNI lane) and then
// writes the full-resolution int32 map (16 channels x 288 x 512 = 9.4 MB per image) that the
// pool reads back; here the sums stay in registers and only the pooled codes reach memory.
// The sums are exact: with AVX-512 VNNI, u8 x s8 products summed in int32 (vpdpbusd); with AVX2,
// pairs of products summed in int16 (vpmaddubsw, vpaddsw), which holds where every partial sum
// fits, i.e. 255 x sum |w| <= 32767 per output channel (3-bit weight codes: 255 x 27 x 4); a
// layer with wider weights takes the engine's general path there (oneDNN, then
// requantizeMaxPool), as every layer does on a CPU without AVX2. The pool picks each window's
// code by the requantization's monotonicity, as kernels::requantizeMaxPool does, so the codes
// equal the reference loops' bit for bit.
#pragma once

#include "kernels/integer_code_kernel.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace tyq::kernels {

/// The body the fused kernel runs on this CPU (cpuIsa(), TYQ_MAX_ISA included).
enum class FusedConvBody { none, avx2, vnni };
FusedConvBody fusedConvPoolBody();
const char* fusedConvBodyName(FusedConvBody body); ///< "AVX-512 VNNI", "AVX2 (16-bit sums)"

/// Whether this CPU runs the fused kernel at all (AVX512_VNNI or AVX2).
bool fusedConvPoolAvailable();

/// Whether a layer has the shape the fused kernel takes: 3x3 / stride 1 / pad 1, at most
/// kMaxFusedInputChannels input channels, output channels a multiple of 16.
constexpr int64_t kMaxFusedInputChannels = 5;
bool fusedConvPoolFits(int64_t inChannels, int64_t outChannels, int64_t kernelSize, int64_t stride, int64_t padding);

/// Weight codes laid out for the kernel: per 16-channel output block, per kernel row, per group
/// of groupBytes consecutive input bytes (kernel column x channel, as NHWC rows hold them), 16
/// lanes of groupBytes s8 weights, zero past the row's 3 x inChannels bytes. groupBytes is what
/// one instruction sums per lane: 4 for vpdpbusd (VNNI), 2 for vpmaddubsw (AVX2).
struct FusedConvWeights {
    std::vector<int8_t> packed;
    int64_t inChannels = 0, outChannels = 0;
    FusedConvBody body = FusedConvBody::none;
    int64_t groupBytes = 0;
    int64_t groups = 0; ///< groups per kernel row: ceil(3 inChannels / groupBytes)
};

/// `oihw`: [outChannels, inChannels, 3, 3] weight codes (each within int8), packed for `body`
/// (this CPU's, by default). Empty where that body would not be exact (AVX2: a channel's sums
/// could leave int16) or there is none.
std::optional<FusedConvWeights> packFusedConvWeights(const int32_t* oihw, int64_t outChannels, int64_t inChannels,
                                                     FusedConvBody body = fusedConvPoolBody());

/// u8 NHWC codes `in` ([n, h, w, inChannels]) -> the 2x2 max-pool of the requantized
/// convolution, [n, h/2, w/2, outChannels] NHWC (an odd last row or column is dropped, as the
/// pool does). `table` is the requantization per output channel. Runs the body `weights` were
/// packed for (which this CPU must have).
void convRequantizeMaxPool(const uint8_t* in, const MapShape& shape, const FusedConvWeights& weights,
                           const RequantizeTable& table, uint8_t* out);
void convRequantizeMaxPool(const uint8_t* in, const MapShape& shape, const FusedConvWeights& weights,
                           const RequantizeTable& table, int8_t* out);
void convRequantizeMaxPool(const uint8_t* in, const MapShape& shape, const FusedConvWeights& weights,
                           const RequantizeTable& table, int16_t* out);

namespace detail {
/// Bytes past a padded row's (w + 2) pixels that a row's last 4-byte group may read (with zero weights).
constexpr int64_t kFusedRowSlack = 16;
/// One pooled row: `rows` are the zero-padded conv input rows 2 oy - 1 .. 2 oy + 2, each
/// (w + 2) x inChannels bytes plus the slack; `out` gets ow x outChannels codes.
void convRequantizeMaxPoolRowVnni(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, uint8_t* out);
void convRequantizeMaxPoolRowVnni(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int8_t* out);
void convRequantizeMaxPoolRowVnni(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int16_t* out);
void convRequantizeMaxPoolRowAvx2(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, uint8_t* out);
void convRequantizeMaxPoolRowAvx2(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int8_t* out);
void convRequantizeMaxPoolRowAvx2(const uint8_t* const rows[4], int64_t ow, const FusedConvWeights& weights,
                                  const RequantizeTable& table, int16_t* out);
} // namespace detail

} // namespace tyq::kernels
