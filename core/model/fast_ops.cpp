#include "model/fast_ops.h"

#include "kernels/batch_norm_kernel.h"
#include "kernels/max_pool_kernel.h"

#include <ATen/ATen.h>
#include <cmath>
#include <vector>
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

// The channels-last pool (float or bf16) with its one-byte windows.
struct MaxPool2x2ChannelsLastFunction : public torch::autograd::Function<MaxPool2x2ChannelsLastFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x)
    {
        auto [out, window] = kernels::maxPool2x2ChannelsLast(x);
        ctx->save_for_backward({window});
        ctx->saved_data["sizes"] = x.sizes().vec();
        return out;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        return {kernels::maxPool2x2ChannelsLastBackward(grads[0], saved[0], ctx->saved_data["sizes"].toIntVector())};
    }
};

kernels::MapType mapType(const at::Tensor& t)
{
    return t.scalar_type() == at::kFloat ? kernels::MapType::f32 : kernels::MapType::bf16;
}

// Batch statistics in the forward; the gradients of x, weight and bias in the backward.
struct BatchNormChannelsLastFunction : public torch::autograd::Function<BatchNormChannelsLastFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              const at::Tensor& bias, at::Tensor runningMean, at::Tensor runningVar, double momentum,
                              double eps)
    {
        const int64_t c = x.size(1), rows = x.numel() / c;
        std::vector<double> mean(static_cast<size_t>(c)), variance(static_cast<size_t>(c));
        kernels::channelMeanVariance(x.data_ptr(), mapType(x), rows, c, mean.data(), variance.data());
        const at::Tensor gamma = weight.to(at::kDouble).contiguous(), beta = bias.to(at::kDouble).contiguous();
        std::vector<double> invStd(static_cast<size_t>(c));
        std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
        for (int64_t k = 0; k < c; ++k) {
            const auto i = static_cast<size_t>(k);
            invStd[i] = 1.0 / std::sqrt(variance[i] + eps);
            scale[i] = static_cast<float>(gamma.data_ptr<double>()[k] * invStd[i]);
            shift[i] = static_cast<float>(beta.data_ptr<double>()[k] - mean[i] * gamma.data_ptr<double>()[k] * invStd[i]);
        }
        {
            at::NoGradGuard noGrad;
            const double unbiased = rows > 1 ? static_cast<double>(rows) / static_cast<double>(rows - 1) : 1.0;
            const at::Tensor m = at::tensor(mean, at::kDouble), v = at::tensor(variance, at::kDouble) * unbiased;
            runningMean.mul_(1.0 - momentum).add_(m.to(runningMean.scalar_type()), momentum);
            runningVar.mul_(1.0 - momentum).add_(v.to(runningVar.scalar_type()), momentum);
        }
        at::Tensor y = at::empty_like(x, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        kernels::channelAffine(x.data_ptr(), mapType(x), rows, c, scale.data(), shift.data(), y.data_ptr());
        ctx->save_for_backward({x, weight});
        ctx->saved_data["mean"] = at::tensor(mean, at::kDouble);
        ctx->saved_data["invStd"] = at::tensor(invStd, at::kDouble);
        return y;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor& x = saved[0];
        const at::Tensor gamma = saved[1].to(at::kDouble).contiguous();
        const at::Tensor meanTensor = ctx->saved_data["mean"].toTensor(), invStdTensor = ctx->saved_data["invStd"].toTensor();
        const double* mean = meanTensor.data_ptr<double>();
        const double* invStd = invStdTensor.data_ptr<double>();
        const at::Tensor dy = grads[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
        const int64_t c = x.size(1), rows = x.numel() / c;
        std::vector<double> sumDy(static_cast<size_t>(c)), sumDyCentered(static_cast<size_t>(c));
        kernels::channelGradientSums(dy.data_ptr(), x.data_ptr(), mapType(x), rows, c, mean, sumDy.data(),
                                     sumDyCentered.data());
        // dx = g invStd (dy - sum(dy) / M - (x - mean) invStd^2 sum(dy (x - mean)) / M) = dy a + x b + d
        std::vector<float> a(static_cast<size_t>(c)), b(static_cast<size_t>(c)), d(static_cast<size_t>(c));
        std::vector<double> dGamma(static_cast<size_t>(c));
        const double m = static_cast<double>(rows);
        for (int64_t k = 0; k < c; ++k) {
            const auto i = static_cast<size_t>(k);
            const double gi = gamma.data_ptr<double>()[k] * invStd[i];
            const double bi = -gi * invStd[i] * invStd[i] * sumDyCentered[i] / m;
            a[i] = static_cast<float>(gi);
            b[i] = static_cast<float>(bi);
            d[i] = static_cast<float>(-gi * sumDy[i] / m - bi * mean[i]);
            dGamma[i] = sumDyCentered[i] * invStd[i];
        }
        at::Tensor dx = at::empty_like(x, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        kernels::channelGradientAffine(dy.data_ptr(), x.data_ptr(), mapType(x), rows, c, a.data(), b.data(), d.data(),
                                       dx.data_ptr());
        const at::ScalarType parameterType = saved[1].scalar_type();
        return {dx,
                at::tensor(dGamma, at::kDouble).to(parameterType),
                at::tensor(sumDy, at::kDouble).to(parameterType),
                at::Tensor(),
                at::Tensor(),
                at::Tensor(),
                at::Tensor()};
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
    if (kernels::maxPool2x2ChannelsLastFits(x)) {
        if (!x.requires_grad() || !at::GradMode::is_enabled())
            return std::get<0>(kernels::maxPool2x2ChannelsLast(x));
        return MaxPool2x2ChannelsLastFunction::apply(x);
    }
    const bool kernelFits = x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() && x.is_contiguous() &&
                            x.size(2) >= 2 && x.size(3) >= 2;
    if (!kernelFits)
        return at::max_pool2d(x, {2, 2}, {2, 2});
    if (!x.requires_grad() || !at::GradMode::is_enabled())
        return std::get<0>(kernels::maxPool2x2WithIndices(x));
    return MaxPool2x2Function::apply(x);
}

bool batchNormChannelsLastFits(const at::Tensor& x)
{
    return x.dim() == 4 && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && x.device().is_cpu() &&
           x.size(1) > 1 && x.numel() > x.size(1) && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor batchNormChannelsLast(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x)
{
    TORCH_CHECK(batchNormChannelsLastFits(x) && bn.options.affine() && bn.options.track_running_stats() &&
                    bn.options.momentum().has_value(),
                "batchNormChannelsLast: a channels-last float or bf16 map and an affine batch norm with running statistics are needed");
    {
        at::NoGradGuard noGrad;
        bn.num_batches_tracked.add_(1);
    }
    return BatchNormChannelsLastFunction::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                                *bn.options.momentum(), bn.options.eps());
}

} // namespace tyq
