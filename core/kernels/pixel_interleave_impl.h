// The pshufb masks that interleave three 16-byte channel vectors (R, G, B of 16 pixels) into 48
// bytes of RGB pixels, for the instruction-set builds of pixelCodesChannelsLast. Internal to each
// such translation unit (an anonymous namespace), so none shares code compiled for another ISA.
#pragma once

#include <cstdint>

namespace tyq::kernels::detail {
namespace {

/// Byte g of the output is channel g % 3 of pixel g / 3.
struct InterleaveMasks {
    alignas(16) int8_t mask[3][3][16]; ///< [output chunk][source channel][byte]
    InterleaveMasks()
    {
        for (int chunk = 0; chunk < 3; ++chunk)
            for (int k = 0; k < 3; ++k)
                for (int i = 0; i < 16; ++i) {
                    const int g = 16 * chunk + i;
                    mask[chunk][k][i] = static_cast<int8_t>(g % 3 == k ? g / 3 : -128);
                }
    }
};

} // namespace
} // namespace tyq::kernels::detail
