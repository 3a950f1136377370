#include "kernels/integer_code_kernel.h"

#include "kernels/cpu_isa.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace tyq::kernels {
namespace {

// Rows per parallel task: enough work to pay for a task, few enough to spread a small map.
constexpr int64_t kRowGrain = 256;

// floor(v / 2^shift) for any sign, without relying on how >> treats negative values.
inline int64_t floorShiftRight(int64_t v, int64_t shift)
{
    return v >= 0 ? v >> shift : -((-v - 1) >> shift) - 1;
}

// One thread's rows: the vector body's whole blocks, then the scalar formula for the rest.
template <typename Code>
void requantizeSerial(const int32_t* acc, int64_t pixels, const RequantizeTable& t, Code* out)
{
    const int64_t c = t.channels;
    const Isa isa = cpuIsa();
    const int64_t done = isa == Isa::avx512 ? detail::requantizeRowsAvx512(acc, pixels, t, out)
                         : isa == Isa::avx2 ? detail::requantizeRowsAvx2(acc, pixels, t, out)
                                            : 0;
    if (done == c)
        return;
    for (int64_t p = 0; p < pixels; ++p) {
        const int32_t* a = acc + p * c;
        Code* q = out + p * c;
        for (int64_t k = done; k < c; ++k) {
            const int64_t v = floorShiftRight(int64_t{a[k]} * t.multiplier[k] + t.offset[k], t.shift[k]);
            q[k] = static_cast<Code>(std::clamp<int64_t>(v, t.qmin, t.qmax));
        }
    }
}

template <typename Code>
void requantizeRowsImpl(const int32_t* acc, int64_t pixels, const RequantizeTable& t, Code* out)
{
    at::parallel_for(0, pixels, kRowGrain, [&](int64_t begin, int64_t end) {
        requantizeSerial(acc + begin * t.channels, end - begin, t, out + begin * t.channels);
    });
}

// Per output row: each window's largest accumulator (smallest where the multiplier is
// negative) into a row buffer, then that row requantized.
template <typename Code>
void requantizeMaxPoolImpl(const int32_t* acc, const MapShape& s, int64_t size, int64_t stride, int64_t padding,
                           const RequantizeTable& t, Code* out)
{
    const int64_t oh = (s.h + 2 * padding - size) / stride + 1, ow = (s.w + 2 * padding - size) / stride + 1;
    if (size == 2 && stride == 2 && padding == 0 && s.c % 16 == 0 && cpuIsa() == Isa::avx512) {
        at::parallel_for(0, s.n * oh, 1, [&](int64_t begin, int64_t end) {
            detail::requantizeMaxPool2x2Avx512(acc, s, t, begin, end, out);
        });
        return;
    }
    if (size == 2 && stride == 2 && padding == 0 && s.c % 8 == 0 && cpuIsa() == Isa::avx2) {
        at::parallel_for(0, s.n * oh, 1, [&](int64_t begin, int64_t end) {
            detail::requantizeMaxPool2x2Avx2(acc, s, t, begin, end, out);
        });
        return;
    }
    std::vector<uint8_t> increasing(static_cast<size_t>(s.c));
    for (int64_t k = 0; k < s.c; ++k)
        increasing[static_cast<size_t>(k)] = t.multiplier[k] >= 0;
    at::parallel_for(0, s.n * oh, 1, [&](int64_t begin, int64_t end) {
        std::vector<int32_t> picked(static_cast<size_t>(ow * s.c)), low(static_cast<size_t>(s.c));
        for (int64_t row = begin; row < end; ++row) {
            const int64_t image = row / oh, oy = row % oh;
            for (int64_t ox = 0; ox < ow; ++ox) {
                int32_t* high = picked.data() + ox * s.c;
                std::fill(high, high + s.c, std::numeric_limits<int32_t>::min());
                std::fill(low.begin(), low.end(), std::numeric_limits<int32_t>::max());
                for (int64_t ky = 0; ky < size; ++ky) {
                    const int64_t iy = oy * stride - padding + ky;
                    if (iy < 0 || iy >= s.h)
                        continue;
                    for (int64_t kx = 0; kx < size; ++kx) {
                        const int64_t ix = ox * stride - padding + kx;
                        if (ix < 0 || ix >= s.w)
                            continue;
                        const int32_t* p = acc + ((image * s.h + iy) * s.w + ix) * s.c;
                        for (int64_t k = 0; k < s.c; ++k) {
                            high[k] = std::max(high[k], p[k]);
                            low[static_cast<size_t>(k)] = std::min(low[static_cast<size_t>(k)], p[k]);
                        }
                    }
                }
                for (int64_t k = 0; k < s.c; ++k)
                    high[k] = increasing[static_cast<size_t>(k)] ? high[k] : low[static_cast<size_t>(k)];
            }
            requantizeSerial(picked.data(), ow, t, out + row * ow * s.c);
        }
    });
}

template <typename Code>
void maxPoolImpl(const Code* in, const MapShape& s, int64_t size, int64_t stride, int64_t padding, Code* out)
{
    const int64_t oh = (s.h + 2 * padding - size) / stride + 1, ow = (s.w + 2 * padding - size) / stride + 1;
    at::parallel_for(0, s.n * oh, 1, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t image = row / oh, oy = row % oh;
            for (int64_t ox = 0; ox < ow; ++ox) {
                Code* q = out + ((image * oh + oy) * ow + ox) * s.c;
                std::fill(q, q + s.c, std::numeric_limits<Code>::min());
                for (int64_t ky = 0; ky < size; ++ky) {
                    const int64_t iy = oy * stride - padding + ky;
                    if (iy < 0 || iy >= s.h)
                        continue;
                    for (int64_t kx = 0; kx < size; ++kx) {
                        const int64_t ix = ox * stride - padding + kx;
                        if (ix < 0 || ix >= s.w)
                            continue;
                        const Code* p = in + ((image * s.h + iy) * s.w + ix) * s.c;
                        for (int64_t k = 0; k < s.c; ++k)
                            q[k] = std::max(q[k], p[k]);
                    }
                }
            }
        }
    });
}

} // namespace

void requantizeRows(const int32_t* acc, int64_t pixels, const RequantizeTable& table, uint8_t* out)
{
    requantizeRowsImpl(acc, pixels, table, out);
}

void requantizeRows(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int8_t* out)
{
    requantizeRowsImpl(acc, pixels, table, out);
}

void requantizeRows(const int32_t* acc, int64_t pixels, const RequantizeTable& table, int16_t* out)
{
    requantizeRowsImpl(acc, pixels, table, out);
}

void requantizeMaxPool(const int32_t* acc, const MapShape& shape, int64_t size, int64_t stride, int64_t padding,
                       const RequantizeTable& table, uint8_t* out)
{
    requantizeMaxPoolImpl(acc, shape, size, stride, padding, table, out);
}

void requantizeMaxPool(const int32_t* acc, const MapShape& shape, int64_t size, int64_t stride, int64_t padding,
                       const RequantizeTable& table, int8_t* out)
{
    requantizeMaxPoolImpl(acc, shape, size, stride, padding, table, out);
}

void requantizeMaxPool(const int32_t* acc, const MapShape& shape, int64_t size, int64_t stride, int64_t padding,
                       const RequantizeTable& table, int16_t* out)
{
    requantizeMaxPoolImpl(acc, shape, size, stride, padding, table, out);
}

void maxPoolCodes(const uint8_t* in, const MapShape& shape, int64_t size, int64_t stride, int64_t padding, uint8_t* out)
{
    maxPoolImpl(in, shape, size, stride, padding, out);
}

void maxPoolCodes(const int8_t* in, const MapShape& shape, int64_t size, int64_t stride, int64_t padding, int8_t* out)
{
    maxPoolImpl(in, shape, size, stride, padding, out);
}

void maxPoolCodes(const int16_t* in, const MapShape& shape, int64_t size, int64_t stride, int64_t padding, int16_t* out)
{
    maxPoolImpl(in, shape, size, stride, padding, out);
}

void upsampleNearestRows(const void* in, const MapShape& s, int64_t factor, int64_t elementBytes, void* out)
{
    const auto* src = static_cast<const uint8_t*>(in);
    auto* dst = static_cast<uint8_t*>(out);
    const int64_t pixelBytes = s.c * elementBytes, oh = s.h * factor, ow = s.w * factor;
    at::parallel_for(0, s.n * oh, 1, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t image = row / oh, iy = (row % oh) / factor;
            const uint8_t* p = src + (image * s.h + iy) * s.w * pixelBytes;
            uint8_t* q = dst + row * ow * pixelBytes;
            for (int64_t ox = 0; ox < ow; ++ox)
                std::memcpy(q + ox * pixelBytes, p + (ox / factor) * pixelBytes, static_cast<size_t>(pixelBytes));
        }
    });
}

void copyChannelColumns(const void* in, int64_t pixels, int64_t c, int64_t outChannels, int64_t offset,
                        int64_t elementBytes, void* out)
{
    const auto* src = static_cast<const uint8_t*>(in);
    auto* dst = static_cast<uint8_t*>(out);
    const auto bytes = static_cast<size_t>(c * elementBytes);
    at::parallel_for(0, pixels, kRowGrain, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p)
            std::memcpy(dst + (p * outChannels + offset) * elementBytes, src + p * c * elementBytes, bytes);
    });
}

bool pixelCodesChannelsLast(const float* nchw, const MapShape& s, uint8_t* nhwc)
{
    const int64_t plane = s.h * s.w;
    std::atomic<bool> ok{true};
    at::parallel_for(0, s.n * s.h, 1, [&](int64_t begin, int64_t end) {
        if (s.c == 3 && (cpuIsa() == Isa::avx512 || cpuIsa() == Isa::avx2)) {
            const bool valid = cpuIsa() == Isa::avx512 ? detail::pixelCodes3ChannelsAvx512(nchw, s, begin, end, nhwc)
                                                       : detail::pixelCodes3ChannelsAvx2(nchw, s, begin, end, nhwc);
            if (!valid)
                ok.store(false, std::memory_order_relaxed);
            return;
        }
        bool rowsOk = true;
        for (int64_t row = begin; row < end; ++row) {
            const int64_t image = row / s.h, y = row % s.h;
            const float* p = nchw + image * s.c * plane + y * s.w;
            uint8_t* q = nhwc + row * s.w * s.c;
            for (int64_t x = 0; x < s.w; ++x)
                for (int64_t k = 0; k < s.c; ++k) {
                    const float v = p[k * plane + x];
                    // NaN fails the range test; a fraction fails the round trip through int.
                    const bool valid = v >= 0.0f && v <= 255.0f && static_cast<float>(static_cast<int>(v)) == v;
                    rowsOk = rowsOk && valid;
                    q[x * s.c + k] = valid ? static_cast<uint8_t>(v) : 0;
                }
        }
        if (!rowsOk)
            ok.store(false, std::memory_order_relaxed);
    });
    return ok.load();
}

} // namespace tyq::kernels
