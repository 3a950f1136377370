// The integer engine's first stage in one pass: a 3x3 / stride 1 / pad 1 convolution of a
// few-channel u8 image (the network's pixels) with s8 weight codes, the fixed-point
// requantization of its int32 sums, and the 2x2 / stride 2 max-pool after it. oneDNN computes
// such a layer well below its peak (3 input channels fill little of a VNNI lane) and then
// writes the full-resolution int32 map (16 channels x 288 x 512 = 9.4 MB per image) that the
// pool reads back; here the sums stay in registers and only the pooled codes reach memory.
// The sums are exact (u8 x s8 products summed in int32, AVX-512 VNNI vpdpbusd), and the pool
// picks each window's code by the requantization's monotonicity, as kernels::requantizeMaxPool
// does, so the codes equal the reference loops' bit for bit. CPUs without AVX512_VNNI take the
// engine's general path (oneDNN, then requantizeMaxPool).
#pragma once

#include "kernels/integer_code_kernel.h"

#include <cstdint>
#include <vector>

namespace tyq::kernels {

/// Whether this CPU runs the fused kernel (AVX512_VNNI).
bool fusedConvPoolAvailable();

/// Whether a layer has the shape the fused kernel takes: 3x3 / stride 1 / pad 1, at most
/// kMaxFusedInputChannels input channels, output channels a multiple of 16.
constexpr int64_t kMaxFusedInputChannels = 5;
bool fusedConvPoolFits(int64_t inChannels, int64_t outChannels, int64_t kernelSize, int64_t stride, int64_t padding);

/// Weight codes laid out for the kernel: per 16-channel output block, per kernel row, per group
/// of 4 consecutive input bytes (kernel column x channel, as NHWC rows hold them), 16 lanes of 4
/// s8 weights, zero past the row's 3 x inChannels bytes.
struct FusedConvWeights {
    std::vector<int8_t> packed;
    int64_t inChannels = 0, outChannels = 0;
    int64_t groups = 0; ///< 4-byte groups per kernel row: ceil(3 inChannels / 4)
};

/// `oihw`: [outChannels, inChannels, 3, 3] weight codes (each within int8).
FusedConvWeights packFusedConvWeights(const int32_t* oihw, int64_t outChannels, int64_t inChannels);

/// u8 NHWC codes `in` ([n, h, w, inChannels]) -> the 2x2 max-pool of the requantized
/// convolution, [n, h/2, w/2, outChannels] NHWC (an odd last row or column is dropped, as the
/// pool does). `table` is the requantization per output channel. Requires fusedConvPoolAvailable().
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
} // namespace detail

} // namespace tyq::kernels
