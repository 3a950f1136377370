// The parts the instruction-set builds of pixelCodesChannelsLast share (integer_code_kernel_avx2.cpp,
// _avx512.cpp): interleaving three 16-byte channel vectors (R, G, B of 16 pixels) into 48 bytes
// of RGB pixels, and the scalar tail of a row. Internal to each such translation unit (an
// anonymous namespace), so that none shares code compiled for another ISA.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tyq::kernels::detail {
namespace {

/// pshufb masks: byte g of the output is channel g % 3 of pixel g / 3.
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

/// bytes[k]: channel k of 16 pixels -> 48 bytes of RGB pixels at `q`.
inline void storeInterleaved(const __m128i bytes[3], uint8_t* q)
{
    static const InterleaveMasks masks;
    for (int chunk = 0; chunk < 3; ++chunk) {
        __m128i o = _mm_setzero_si128();
        for (int k = 0; k < 3; ++k)
            o = _mm_or_si128(o, _mm_shuffle_epi8(bytes[k], _mm_load_si128(reinterpret_cast<const __m128i*>(masks.mask[chunk][k]))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * chunk), o);
    }
}

/// Pixels [x, w) of one image row (planes `plane` floats apart) as RGB codes at `q`; false at the
/// first value that is not an integer in 0..255.
inline bool pixelCodesTail(const float* p, int64_t plane, int64_t x, int64_t w, uint8_t* q)
{
    for (; x < w; ++x)
        for (int k = 0; k < 3; ++k) {
            const float v = p[k * plane + x];
            if (!(v >= 0.0f && v <= 255.0f && static_cast<float>(static_cast<int>(v)) == v))
                return false;
            q[3 * x + k] = static_cast<uint8_t>(v);
        }
    return true;
}

} // namespace
} // namespace tyq::kernels::detail
