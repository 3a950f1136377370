#include "kernels/integer_conv_pool_kernel.h"

#include "kernels/cpu_isa.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <cstring>

namespace tyq::kernels {
namespace {

template <typename Code>
void convRequantizeMaxPoolImpl(const uint8_t* in, const MapShape& s, const FusedConvWeights& w,
                               const RequantizeTable& t, Code* out)
{
    const int64_t oh = s.h / 2, ow = s.w / 2, c = s.c;
    const int64_t rowBytes = (s.w + 2) * c + detail::kFusedRowSlack;
    at::parallel_for(0, s.n * oh, 1, [&](int64_t begin, int64_t end) {
        // The four input rows a pooled row reads, zero-padded (one pixel each side, rows -1 and h
        // all zeros): the kernel then reads every 3x3 window without a bounds test.
        std::vector<uint8_t> padded(static_cast<size_t>(4 * rowBytes), 0);
        const uint8_t* rows[4];
        for (int64_t row = begin; row < end; ++row) {
            const int64_t image = row / oh, oy = row % oh;
            for (int r = 0; r < 4; ++r) {
                uint8_t* dst = padded.data() + r * rowBytes;
                rows[r] = dst;
                const int64_t y = 2 * oy - 1 + r;
                if (y < 0 || y >= s.h)
                    std::memset(dst + c, 0, static_cast<size_t>(s.w * c));
                else
                    std::memcpy(dst + c, in + (image * s.h + y) * s.w * c, static_cast<size_t>(s.w * c));
            }
            if (w.body == FusedConvBody::vnni)
                detail::convRequantizeMaxPoolRowVnni(rows, ow, w, t, out + row * ow * w.outChannels);
            else
                detail::convRequantizeMaxPoolRowAvx2(rows, ow, w, t, out + row * ow * w.outChannels);
        }
    });
}

} // namespace

FusedConvBody fusedConvPoolBody()
{
    if (cpuHasAvx512Vnni())
        return FusedConvBody::vnni;
    return cpuIsa() != Isa::baseline ? FusedConvBody::avx2 : FusedConvBody::none;
}

const char* fusedConvBodyName(FusedConvBody body)
{
    switch (body) {
    case FusedConvBody::vnni: return "AVX-512 VNNI";
    case FusedConvBody::avx2: return "AVX2 (16-bit sums)";
    case FusedConvBody::none: break;
    }
    return "none";
}

bool fusedConvPoolAvailable()
{
    return fusedConvPoolBody() != FusedConvBody::none;
}

bool fusedConvPoolFits(int64_t inChannels, int64_t outChannels, int64_t kernelSize, int64_t stride, int64_t padding)
{
    return kernelSize == 3 && stride == 1 && padding == 1 && inChannels >= 1 && inChannels <= kMaxFusedInputChannels &&
           outChannels > 0 && outChannels % 16 == 0;
}

std::optional<FusedConvWeights> packFusedConvWeights(const int32_t* oihw, int64_t outChannels, int64_t inChannels,
                                                     FusedConvBody body)
{
    if (body == FusedConvBody::none)
        return std::nullopt;
    if (body == FusedConvBody::avx2) {
        // vpmaddubsw and vpaddsw saturate beyond int16: exact while 255 sum |w| fits.
        const int64_t taps = inChannels * 9;
        for (int64_t oc = 0; oc < outChannels; ++oc) {
            int64_t bound = 0;
            for (int64_t i = 0; i < taps; ++i)
                bound += 255 * std::abs(int64_t{oihw[oc * taps + i]});
            if (bound > 32767)
                return std::nullopt;
        }
    }
    FusedConvWeights w;
    w.inChannels = inChannels;
    w.outChannels = outChannels;
    w.body = body;
    w.groupBytes = body == FusedConvBody::vnni ? 4 : 2;
    const int64_t bytes = w.groupBytes;
    w.groups = (3 * inChannels + bytes - 1) / bytes;
    const int64_t blocks = outChannels / 16;
    w.packed.assign(static_cast<size_t>(blocks * 3 * w.groups * 16 * bytes), 0);
    for (int64_t b = 0; b < blocks; ++b)
        for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t g = 0; g < w.groups; ++g)
                for (int64_t lane = 0; lane < 16; ++lane)
                    for (int64_t i = 0; i < bytes; ++i) {
                        // Byte t of a padded NHWC row segment is kernel column t / c, channel t % c.
                        const int64_t tap = bytes * g + i;
                        if (tap >= 3 * inChannels)
                            continue;
                        const int64_t oc = 16 * b + lane, kx = tap / inChannels, ic = tap % inChannels;
                        w.packed[static_cast<size_t>((((b * 3 + ky) * w.groups + g) * 16 + lane) * bytes + i)] =
                            static_cast<int8_t>(oihw[((oc * inChannels + ic) * 3 + ky) * 3 + kx]);
                    }
    return w;
}

void convRequantizeMaxPool(const uint8_t* in, const MapShape& shape, const FusedConvWeights& weights,
                           const RequantizeTable& table, uint8_t* out)
{
    convRequantizeMaxPoolImpl(in, shape, weights, table, out);
}

void convRequantizeMaxPool(const uint8_t* in, const MapShape& shape, const FusedConvWeights& weights,
                           const RequantizeTable& table, int8_t* out)
{
    convRequantizeMaxPoolImpl(in, shape, weights, table, out);
}

void convRequantizeMaxPool(const uint8_t* in, const MapShape& shape, const FusedConvWeights& weights,
                           const RequantizeTable& table, int16_t* out)
{
    convRequantizeMaxPoolImpl(in, shape, weights, table, out);
}

} // namespace tyq::kernels
