// Integer codes stored at their true bit-width: b-bit fields packed back to back, least
// significant bit first (the bit order of numpy.packbits(..., bitorder="little")). Signed codes
// are stored as b-bit two's complement, unsigned codes as plain b-bit numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tyq {

/// Bytes taken by `count` fields of `bits` bits: ceil(count * bits / 8) (the last byte is padded
/// with zero bits).
size_t packedByteCount(size_t count, int bits);

/// Packs codes into `bits`-bit fields (1..16): field k occupies stream bits k*bits ..
/// k*bits + bits - 1, its least significant bit first, and stream bit j is bit (j mod 8) of byte
/// j / 8. Throws tyq::Error if a code does not fit the field ([-2^(bits-1), 2^(bits-1) - 1] when
/// `isSigned`, else [0, 2^bits - 1]).
std::vector<uint8_t> packCodes(const int32_t* codes, size_t count, int bits, bool isSigned);

/// The inverse of packCodes: reads `count` fields (sign-extended when `isSigned`). Throws
/// tyq::Error if `byteCount` is smaller than packedByteCount(count, bits).
std::vector<int32_t> unpackCodes(const uint8_t* bytes, size_t byteCount, size_t count, int bits, bool isSigned);

} // namespace tyq
