#include "hw/bit_packing.h"

#include "common/error.h"

#include <string>

namespace tyq {
namespace {

void checkBits(int bits)
{
    if (bits < 1 || bits > 16)
        throw Error("bit packing: " + std::to_string(bits) + " bits per code (must be 1..16)");
}

} // namespace

size_t packedByteCount(size_t count, int bits)
{
    checkBits(bits);
    return (count * static_cast<size_t>(bits) + 7) / 8;
}

std::vector<uint8_t> packCodes(const int32_t* codes, size_t count, int bits, bool isSigned)
{
    checkBits(bits);
    const int32_t lo = isSigned ? -(int32_t(1) << (bits - 1)) : 0;
    const int32_t hi = isSigned ? (int32_t(1) << (bits - 1)) - 1 : (int32_t(1) << bits) - 1;
    const uint32_t mask = (uint32_t(1) << bits) - 1;
    std::vector<uint8_t> out(packedByteCount(count, bits), 0);
    size_t bit = 0;
    for (size_t k = 0; k < count; ++k) {
        const int32_t code = codes[k];
        if (code < lo || code > hi)
            throw Error("bit packing: code " + std::to_string(code) + " at position " + std::to_string(k) +
                        " does not fit " + std::to_string(bits) + (isSigned ? " signed" : " unsigned") + " bits");
        const uint32_t field = static_cast<uint32_t>(code) & mask; // two's complement for negatives
        for (int b = 0; b < bits; ++b, ++bit)
            if (field >> b & 1u)
                out[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
    }
    return out;
}

std::vector<int32_t> unpackCodes(const uint8_t* bytes, size_t byteCount, size_t count, int bits, bool isSigned)
{
    const size_t needed = packedByteCount(count, bits);
    if (byteCount < needed)
        throw Error("bit packing: " + std::to_string(count) + " codes of " + std::to_string(bits) + " bits need " +
                    std::to_string(needed) + " bytes, got " + std::to_string(byteCount));
    std::vector<int32_t> out(count);
    size_t bit = 0;
    for (size_t k = 0; k < count; ++k) {
        uint32_t field = 0;
        for (int b = 0; b < bits; ++b, ++bit)
            field |= static_cast<uint32_t>(bytes[bit / 8] >> (bit % 8) & 1u) << b;
        int32_t value = static_cast<int32_t>(field);
        if (isSigned && (field >> (bits - 1) & 1u))
            value -= int32_t(1) << bits;
        out[k] = value;
    }
    return out;
}

} // namespace tyq
