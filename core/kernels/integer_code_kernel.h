// The integer engine's passes over channels-last (NHWC) codes between its oneDNN convolutions:
// the fixed-point requantization of int32 accumulators into a consumer's codes (README,
// "Hardware export"), max-pool, nearest upsample and channel concatenation on codes, and the
// image's pixels as u8 codes. Codes are uint8, int8 or int16 by their range. Every pass is exact
// integer work, so each computes what the engine's int32 NCHW reference loops compute. The
// requantization (with the 2x2 pool after it) and the pixels have AVX-512 and AVX2 bodies (picked
// at run time); the rest is plain C++ the compiler vectorizes for any CPU.
#pragma once

#include <cstdint>

namespace tyq::kernels {

/// One consumer's requantization, per output channel, prepared for the kernel:
/// q = clamp((acc * multiplier + offset) >> shift, qmin, qmax), offset = bias + 2^(shift-1),
/// the shift arithmetic (flooring); all int64 so the vector body loads them directly.
struct RequantizeTable {
    const int64_t* multiplier = nullptr; ///< int32 values, sign-extended
    const int64_t* offset = nullptr;
    const int64_t* shift = nullptr; ///< 1..62
    int64_t channels = 0;
    int32_t qmin = 0, qmax = 0;
};

/// `pixels` rows of `table.channels` int32 accumulators each -> codes (the same layout).
void requantizeRows(const int32_t* acc, int64_t pixels, const RequantizeTable& table, uint8_t* out);
void requantizeRows(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int8_t* out);
void requantizeRows(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int16_t* out);

/// Shape of an NHWC map.
struct MapShape {
    int64_t n = 0, h = 0, w = 0, c = 0;
};

/// Max-pool of NHWC codes; padded positions are skipped (as -infinity in the float network).
/// `out` holds n x oh x ow x c with oh = (h + 2 padding - size) / stride + 1 (likewise ow).
void maxPoolCodes(const uint8_t* in, const MapShape& shape, int64_t size, int64_t stride, int64_t padding, uint8_t* out);
void maxPoolCodes(const int8_t* in, const MapShape& shape, int64_t size, int64_t stride, int64_t padding, int8_t* out);
void maxPoolCodes(const int16_t* in, const MapShape& shape, int64_t size, int64_t stride, int64_t padding, int16_t* out);

/// The max-pool of the codes `acc` requantizes to, in one pass and exactly: the requantization
/// is monotone in the accumulator (non-decreasing where the multiplier is >= 0, non-increasing
/// where it is negative), so a window's largest code is that of its largest (or smallest)
/// accumulator. Every window must hold at least one position (padding < size).
void requantizeMaxPool(const int32_t* acc, const MapShape& shape, int64_t size, int64_t stride, int64_t padding,
                       const RequantizeTable& table, uint8_t* out);
void requantizeMaxPool(const int32_t* acc, const MapShape& shape, int64_t size, int64_t stride, int64_t padding,
                       const RequantizeTable& table, int8_t* out);
void requantizeMaxPool(const int32_t* acc, const MapShape& shape, int64_t size, int64_t stride, int64_t padding,
                       const RequantizeTable& table, int16_t* out);

/// Nearest upsample of an NHWC map by an integer factor; `elementBytes` per value.
void upsampleNearestRows(const void* in, const MapShape& shape, int64_t factor, int64_t elementBytes, void* out);

/// Copies the `c` channels of each of `pixels` rows into columns [offset, offset + c) of rows
/// `outChannels` wide (one part of a channel concatenation).
void copyChannelColumns(const void* in, int64_t pixels, int64_t c, int64_t outChannels, int64_t offset,
                        int64_t elementBytes, void* out);

/// Float NCHW pixels -> u8 NHWC codes. Returns false (leaving `out` partly written) when a value
/// is not an integer in 0..255.
bool pixelCodesChannelsLast(const float* nchw, const MapShape& shape, uint8_t* nhwc);

namespace detail {
// The AVX-512 body: processes whole 16-channel blocks of every row, and returns how many
// channels per row it did (the caller finishes the rest).
int64_t requantizeRowsAvx512(const int32_t* acc, int64_t pixels, const RequantizeTable& table, uint8_t* out);
int64_t requantizeRowsAvx512(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int8_t* out);
int64_t requantizeRowsAvx512(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int16_t* out);
// The 2x2 / stride-2 pool of requantized codes for output rows [begin, end) (n x oh of them),
// channels a multiple of 16.
void requantizeMaxPool2x2Avx512(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                                int64_t end, uint8_t* out);
void requantizeMaxPool2x2Avx512(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                                int64_t end, int8_t* out);
void requantizeMaxPool2x2Avx512(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                                int64_t end, int16_t* out);
// Image rows [begin, end) (n x h of them) of a 3-channel image as u8 codes; false if a value is
// not an integer in 0..255.
bool pixelCodes3ChannelsAvx512(const float* nchw, const MapShape& shape, int64_t begin, int64_t end, uint8_t* nhwc);
// The AVX2 bodies of the same three, 8 channels at a time (blocks of 8; the pool: channels a
// multiple of 8).
int64_t requantizeRowsAvx2(const int32_t* acc, int64_t pixels, const RequantizeTable& table, uint8_t* out);
int64_t requantizeRowsAvx2(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int8_t* out);
int64_t requantizeRowsAvx2(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int16_t* out);
void requantizeMaxPool2x2Avx2(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                              int64_t end, uint8_t* out);
void requantizeMaxPool2x2Avx2(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                              int64_t end, int8_t* out);
void requantizeMaxPool2x2Avx2(const int32_t* acc, const MapShape& shape, const RequantizeTable& table, int64_t begin,
                              int64_t end, int16_t* out);
bool pixelCodes3ChannelsAvx2(const float* nchw, const MapShape& shape, int64_t begin, int64_t end, uint8_t* nhwc);
} // namespace detail

} // namespace tyq::kernels
