#include "model/bf16_convolution.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace tyq {
namespace {

struct Bf16ConvolutionFunction : public torch::autograd::Function<Bf16ConvolutionFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              int64_t stride, int64_t padding)
    {
        const at::Tensor wb = weight.to(at::kBFloat16);
        ctx->save_for_backward({x, wb});
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["padding"] = padding;
        // LibTorch sends bf16 to oneDNN (channels-last stays channels-last).
        return at::conv2d(x.to(at::kBFloat16), wb, {}, {stride, stride}, {padding, padding});
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor& x = saved[0];
        const at::Tensor& wb = saved[1];
        const std::vector<int64_t> stride(2, ctx->saved_data["stride"].toInt());
        const std::vector<int64_t> padding(2, ctx->saved_data["padding"].toInt());
        const at::MemoryFormat layout = x.suggest_memory_format();
        const at::Tensor dy = grads[0].contiguous(layout);
        at::Tensor dx, dw;
        if (ctx->needs_input_grad(0)) {
            // The input only gives the shape and type of its gradient: no need to keep its bf16 copy.
            const at::Tensor shape = at::empty(x.sizes(), x.options().dtype(at::kBFloat16).memory_format(layout));
            // bf16; autograd casts it to x's type.
            dx = std::get<0>(at::convolution_backward(dy.to(at::kBFloat16), shape, wb, c10::nullopt, stride, padding,
                                                      {1, 1}, false, {0, 0}, 1, {true, false, false}));
        }
        if (ctx->needs_input_grad(1)) {
            const at::Tensor shape = at::empty(wb.sizes(), x.options());
            dw = std::get<1>(at::convolution_backward(dy.to(at::kFloat), x.to(at::kFloat).contiguous(layout), shape,
                                                      c10::nullopt, stride, padding, {1, 1}, false, {0, 0}, 1,
                                                      {false, true, false}));
        }
        return {dx, dw, at::Tensor(), at::Tensor()};
    }
};

} // namespace

at::Tensor convolveBf16(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                        int64_t padding)
{
    // The bias (only the heads have one) is added in bf16; autograd's own sum gives its gradient.
    const at::Tensor y = Bf16ConvolutionFunction::apply(x, weight, stride, padding);
    return bias.defined() ? y + bias.to(at::kBFloat16).view({1, -1, 1, 1}) : y;
}

} // namespace tyq
