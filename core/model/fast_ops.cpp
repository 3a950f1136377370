#include "model/fast_ops.h"

#include "kernels/max_pool_kernel.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace tyq {
namespace {

struct MaxPool2x2Function : public torch::autograd::Function<MaxPool2x2Function> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x)
    {
        auto [out, indices] = kernels::maxPool2x2WithIndices(x);
        ctx->save_for_backward({x, indices});
        return out;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        return {at::max_pool2d_with_indices_backward(grads[0], saved[0], {2, 2}, {2, 2}, {0, 0}, {1, 1}, false,
                                                     saved[1])};
    }
};

} // namespace

at::Tensor convolve(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                    int64_t padding)
{
    const bool oneDnn = x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() &&
                        x.is_contiguous(at::MemoryFormat::ChannelsLast) && at::globalContext().userEnabledMkldnn();
    if (!oneDnn)
        return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
    return at::mkldnn_convolution(x, weight, bias, {padding, padding}, {stride, stride}, {1, 1}, 1);
}

at::Tensor maxPool2x2(const at::Tensor& x)
{
    const bool kernelFits = x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() && x.is_contiguous() &&
                            x.size(2) >= 2 && x.size(3) >= 2;
    if (!kernelFits)
        return at::max_pool2d(x, {2, 2}, {2, 2});
    if (!x.requires_grad() || !at::GradMode::is_enabled())
        return std::get<0>(kernels::maxPool2x2WithIndices(x));
    return MaxPool2x2Function::apply(x);
}

} // namespace tyq
