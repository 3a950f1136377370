#include "kernels/max_pool_kernel.h"

#include "kernels/cpu_isa.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

namespace tyq::kernels {

std::tuple<at::Tensor, at::Tensor> maxPool2x2WithIndices(const at::Tensor& x)
{
    TORCH_CHECK(x.dim() == 4 && x.scalar_type() == at::kFloat && x.is_contiguous(),
                "maxPool2x2WithIndices: a contiguous NCHW float tensor is needed");
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    TORCH_CHECK(h >= 2 && w >= 2, "maxPool2x2WithIndices: the input is smaller than the window");
    const int64_t oh = h / 2, ow = w / 2;
    at::Tensor out = at::empty({n, c, oh, ow}, x.options());
    at::Tensor indices = at::empty({n, c, oh, ow}, x.options().dtype(at::kLong));
    const float* in = x.data_ptr<float>();
    float* o = out.data_ptr<float>();
    int64_t* idx = indices.data_ptr<int64_t>();
    at::parallel_for(0, n * c * oh, 16, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const int64_t plane = r / oh, y = r % oh;
            const float* row0 = in + plane * h * w + 2 * y * w;
            const float* row1 = row0 + w;
            float* orow = o + r * ow;
            int64_t* irow = idx + r * ow;
            const int64_t base = 2 * y * w;
            for (int64_t j = 0; j < ow; ++j) {
                // ATen's loop: start at -inf with the first index; take a value that is greater,
                // or NaN; window order (0,0) (0,1) (1,0) (1,1).
                const float v[4] = {row0[2 * j], row0[2 * j + 1], row1[2 * j], row1[2 * j + 1]};
                const int64_t at[4] = {base + 2 * j, base + 2 * j + 1, base + w + 2 * j, base + w + 2 * j + 1};
                float m = -std::numeric_limits<float>::infinity();
                int64_t best = at[0];
                for (int k = 0; k < 4; ++k) {
                    const bool take = v[k] > m || std::isnan(v[k]);
                    m = take ? v[k] : m;
                    best = take ? at[k] : best;
                }
                orow[j] = m;
                irow[j] = best;
            }
        }
    });
    return {out, indices};
}

namespace {

// Which body takes a channels-last map of this type and channel count on this CPU.
enum class ChannelsLastBody { none, avx2, avx512 };

ChannelsLastBody channelsLastBody(at::ScalarType type, int64_t channels)
{
    const Isa isa = cpuIsa();
    if (isa == Isa::avx512 && cpuHasAvx512BwVl() && (type == at::kFloat || type == at::kBFloat16) && channels % 16 == 0)
        return ChannelsLastBody::avx512;
    if (isa >= Isa::avx2 && type == at::kFloat && channels % 8 == 0)
        return ChannelsLastBody::avx2;
    return ChannelsLastBody::none;
}

} // namespace

bool maxPool2x2ChannelsLastFits(const at::Tensor& x)
{
    return x.dim() == 4 && x.device().is_cpu() && x.size(2) >= 2 && x.size(3) >= 2 &&
           x.is_contiguous(at::MemoryFormat::ChannelsLast) &&
           channelsLastBody(x.scalar_type(), x.size(1)) != ChannelsLastBody::none;
}

std::tuple<at::Tensor, at::Tensor> maxPool2x2ChannelsLast(const at::Tensor& x)
{
    TORCH_CHECK(maxPool2x2ChannelsLastFits(x), "maxPool2x2ChannelsLast: this input or CPU has no kernel");
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor out = at::empty({n, c, h / 2, w / 2}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    at::Tensor window = at::empty({n, h / 2, w / 2, c}, x.options().dtype(at::kByte));
    if (channelsLastBody(x.scalar_type(), c) == ChannelsLastBody::avx2)
        detail::maxPool2x2ChannelsLastAvx2(x.data_ptr<float>(), n, h, w, c, out.data_ptr<float>(), window.data_ptr<uint8_t>());
    else
        detail::maxPool2x2ChannelsLastAvx512(x.data_ptr(), x.scalar_type() == at::kBFloat16, n, h, w, c, out.data_ptr(),
                                             window.data_ptr<uint8_t>());
    return {out, window};
}

at::Tensor maxPool2x2ChannelsLastBackward(const at::Tensor& gradOutput, const at::Tensor& window,
                                          at::IntArrayRef inputSizes)
{
    const at::Tensor dy = gradOutput.contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t n = inputSizes[0], c = inputSizes[1], h = inputSizes[2], w = inputSizes[3];
    const ChannelsLastBody body = channelsLastBody(dy.scalar_type(), c);
    TORCH_CHECK(window.is_contiguous() && window.scalar_type() == at::kByte && dy.size(1) == c && dy.size(2) == h / 2 &&
                    dy.size(3) == w / 2 && body != ChannelsLastBody::none,
                "maxPool2x2ChannelsLastBackward: gradient and window do not fit the input");
    at::Tensor dx = at::empty(inputSizes, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
    if (body == ChannelsLastBody::avx2)
        detail::maxPool2x2ChannelsLastBackwardAvx2(dy.data_ptr<float>(), window.data_ptr<uint8_t>(), n, h, w, c,
                                                   dx.data_ptr<float>());
    else
        detail::maxPool2x2ChannelsLastBackwardAvx512(dy.data_ptr(), window.data_ptr<uint8_t>(),
                                                     dy.scalar_type() == at::kBFloat16, n, h, w, c, dx.data_ptr());
    return dx;
}

} // namespace tyq::kernels
