#include "model/bf16_convolution.h"

#include "kernels/cpu_isa.h"
#include "model/onednn_convolution.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <torch/autograd.h>

namespace tyq {
namespace {

// oneDNN 2.6.3's AMX bf16 backward-weights kernel is wrong on wide maps (see the header); on
// maps at most kSafeBandWidth output columns wide it matched f32 at every shape we measured, so
// on a CPU with AMX the weight gradient is summed over column bands that narrow (elsewhere the
// kernel is right whole, and the bands' copies would only cost). Each band reads its receptive
// field's columns of x; the zero padding is added only where a band touches the image's edge.
constexpr int64_t kSafeBandWidth = 128;

at::Tensor weightGradientInBands(const at::Tensor& dy, const at::Tensor& x, at::IntArrayRef weightSizes,
                                 int64_t stride, int64_t padding)
{
    const at::MemoryFormat layout = x.suggest_memory_format();
    const int64_t kernel = weightSizes[3];
    const int64_t inWidth = x.size(3);
    const int64_t outWidth = dy.size(3);
    const at::Tensor shape = at::empty(weightSizes, x.options().memory_format(layout));
    auto bandGradient = [&](const at::Tensor& xBand, const at::Tensor& dyBand, int64_t widthPadding) {
        // oneDNN's f32 sums, called directly where the maps are channels-last; ATen's call would
        // round them to bf16 (its weight gradient takes the bf16 weight's type).
        if (layout == at::MemoryFormat::ChannelsLast)
            if (at::Tensor sums = bf16WeightGradientSums(xBand, dyBand, kernel, stride, padding, widthPadding);
                sums.defined())
                return sums;
        return std::get<1>(at::convolution_backward(dyBand, xBand, shape, c10::nullopt, {stride, stride},
                                                    {padding, widthPadding}, {1, 1}, false, {0, 0}, 1,
                                                    {false, true, false}))
            .to(at::kFloat);
    };
    if (outWidth <= kSafeBandWidth || !kernels::cpuHasAmxBf16())
        return bandGradient(x, dy, padding);
    at::Tensor sum;
    for (int64_t first = 0; first < outWidth; first += kSafeBandWidth) {
        const int64_t end = std::min(outWidth, first + kSafeBandWidth);
        // Input columns [lo, hi) feed output columns [first, end), in padded coordinates.
        const int64_t lo = first * stride - padding;
        const int64_t hi = (end - 1) * stride - padding + kernel;
        at::Tensor xBand = x.slice(3, std::max<int64_t>(lo, 0), std::min(hi, inWidth));
        if (lo < 0 || hi > inWidth)
            xBand = at::constant_pad_nd(xBand, {std::max<int64_t>(-lo, 0), std::max<int64_t>(hi - inWidth, 0)});
        const at::Tensor g = bandGradient(xBand.contiguous(layout), dy.slice(3, first, end).contiguous(layout), 0);
        sum = sum.defined() ? sum.add_(g) : g;
    }
    return sum;
}

struct Bf16ConvolutionFunction : public torch::autograd::Function<Bf16ConvolutionFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              int64_t stride, int64_t padding)
    {
        const at::Tensor wb = weight.to(at::kBFloat16);
        // The bf16 input, not x: the weight gradient needs no more, and conv 0's f32 pixels
        // would be cast again there (autograd casts the input's gradient to x's type).
        const at::Tensor xb = x.to(at::kBFloat16);
        ctx->save_for_backward({xb, wb});
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["padding"] = padding;
        // LibTorch sends bf16 to oneDNN (channels-last stays channels-last).
        return at::conv2d(xb, wb, {}, {stride, stride}, {padding, padding});
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        auto [dx, dw] = bf16ConvolutionBackward(grads[0], saved[0], saved[1], ctx->saved_data["stride"].toInt(),
                                                ctx->saved_data["padding"].toInt(), ctx->needs_input_grad(0),
                                                ctx->needs_input_grad(1));
        return {dx, dw, at::Tensor(), at::Tensor()};
    }
};

} // namespace

std::pair<at::Tensor, at::Tensor> bf16ConvolutionBackward(const at::Tensor& dyAnyLayout, const at::Tensor& x,
                                                          const at::Tensor& wb, int64_t stride, int64_t padding,
                                                          bool inputGradient, bool weightGradient)
{
    const at::MemoryFormat layout = x.suggest_memory_format();
    const at::Tensor dy = dyAnyLayout.contiguous(layout);
    const std::vector<int64_t> strides(2, stride), paddings(2, padding);
    at::Tensor dx, dw;
    if (inputGradient) {
        // oneDNN 2.6.3's AVX512_BF16 (non-AMX) backward-data kernel is wrong for a 1x1 conv whose
        // output channels are no multiple of 16, at some map sizes (measured on an AMD EPYC Zen 4:
        // 192 -> 51 channels at 6x10, 3x10, 9x10 or 6x5 give relative errors of about 10; 48
        // channels, or 51 at 18x32, are right). Those layers (the heads) are small: their input
        // gradient is computed in f32.
        const bool f32 = wb.size(0) % 16 != 0;
        // Direct where the maps are channels-last (LibTorch's call gives the same bits, slower).
        if (!f32 && layout == at::MemoryFormat::ChannelsLast)
            dx = bf16InputGradient(dy.to(at::kBFloat16), wb, x.size(2), x.size(3), stride, padding);
        if (!dx.defined()) {
            const at::ScalarType type = f32 ? at::kFloat : at::kBFloat16;
            // The input only gives the shape and type of its gradient: no need to keep its bf16
            // copy.
            const at::Tensor shape = at::empty(x.sizes(), x.options().dtype(type).memory_format(layout));
            dx = std::get<0>(at::convolution_backward(dy.to(type), shape, wb.to(type), c10::nullopt, strides,
                                                      paddings, {1, 1}, false, {0, 0}, 1, {true, false, false}));
        }
        // autograd casts dx to x's type.
    }
    if (weightGradient)
        dw = weightGradientInBands(dy.to(at::kBFloat16), x.to(at::kBFloat16).contiguous(layout), wb.sizes(), stride,
                                   padding);
    return {dx, dw};
}

at::Tensor convolveBf16(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                        int64_t padding)
{
    // The bias (only the heads have one) is added in bf16; autograd's own sum gives its gradient.
    const at::Tensor y = Bf16ConvolutionFunction::apply(x, weight, stride, padding);
    return bias.defined() ? y + bias.to(at::kBFloat16).view({1, -1, 1, 1}) : y;
}

} // namespace tyq
