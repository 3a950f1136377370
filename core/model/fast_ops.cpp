#include "model/fast_ops.h"

#include "kernels/batch_norm_kernel.h"
#include "kernels/batch_norm_pool_kernel.h"
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

// Training batch norm's per-channel arithmetic around the kernels: the batch statistics (and
// the running statistics updated as BatchNorm2d updates them), the affine y = x scale + shift.
struct BatchNormForward {
    std::vector<double> mean, invStd;
    std::vector<float> scale, shift;
};

BatchNormForward batchNormForward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                  at::Tensor& runningMean, at::Tensor& runningVar, double momentum, double eps)
{
    const int64_t c = x.size(1), rows = x.numel() / c;
    const auto channels = static_cast<size_t>(c);
    BatchNormForward f{std::vector<double>(channels), std::vector<double>(channels), std::vector<float>(channels),
                       std::vector<float>(channels)};
    std::vector<double> variance(channels);
    kernels::channelMeanVariance(x.data_ptr(), mapType(x), rows, c, f.mean.data(), variance.data());
    const at::Tensor gamma = weight.to(at::kDouble).contiguous(), beta = bias.to(at::kDouble).contiguous();
    for (size_t i = 0; i < channels; ++i) {
        f.invStd[i] = 1.0 / std::sqrt(variance[i] + eps);
        f.scale[i] = static_cast<float>(gamma.data_ptr<double>()[i] * f.invStd[i]);
        f.shift[i] = static_cast<float>(beta.data_ptr<double>()[i] - f.mean[i] * gamma.data_ptr<double>()[i] * f.invStd[i]);
    }
    at::NoGradGuard noGrad;
    const double unbiased = rows > 1 ? static_cast<double>(rows) / static_cast<double>(rows - 1) : 1.0;
    const at::Tensor m = at::tensor(f.mean, at::kDouble), v = at::tensor(variance, at::kDouble) * unbiased;
    runningMean.mul_(1.0 - momentum).add_(m.to(runningMean.scalar_type()), momentum);
    runningVar.mul_(1.0 - momentum).add_(v.to(runningVar.scalar_type()), momentum);
    return f;
}

void saveBatchNormStatistics(torch::autograd::AutogradContext* ctx, const BatchNormForward& f)
{
    ctx->saved_data["mean"] = at::tensor(f.mean, at::kDouble);
    ctx->saved_data["invStd"] = at::tensor(f.invStd, at::kDouble);
}

// The backward's per-channel arithmetic, from the gradient sums sum(dy) and sum(dy (x - mean)):
// dx = g invStd (dy - sum(dy) / M - (x - mean) invStd^2 sum(dy (x - mean)) / M) = dy a + x b + d,
// and the gradients of weight and bias (in the parameters' type) at their outputs.
struct BatchNormBackward {
    std::vector<float> a, b, d;
    at::Tensor dWeight, dBias;
};

BatchNormBackward batchNormBackward(torch::autograd::AutogradContext* ctx, const at::Tensor& weight, int64_t rows,
                                    const std::vector<double>& sumDy, const std::vector<double>& sumDyCentered)
{
    const at::Tensor gamma = weight.to(at::kDouble).contiguous();
    const at::Tensor meanTensor = ctx->saved_data["mean"].toTensor(), invStdTensor = ctx->saved_data["invStd"].toTensor();
    const double* mean = meanTensor.data_ptr<double>();
    const double* invStd = invStdTensor.data_ptr<double>();
    const size_t c = sumDy.size();
    BatchNormBackward g{std::vector<float>(c), std::vector<float>(c), std::vector<float>(c), {}, {}};
    std::vector<double> dGamma(c);
    const double m = static_cast<double>(rows);
    for (size_t i = 0; i < c; ++i) {
        const double gi = gamma.data_ptr<double>()[i] * invStd[i];
        const double bi = -gi * invStd[i] * invStd[i] * sumDyCentered[i] / m;
        g.a[i] = static_cast<float>(gi);
        g.b[i] = static_cast<float>(bi);
        g.d[i] = static_cast<float>(-gi * sumDy[i] / m - bi * mean[i]);
        dGamma[i] = sumDyCentered[i] * invStd[i];
    }
    g.dWeight = at::tensor(dGamma, at::kDouble).to(weight.scalar_type());
    g.dBias = at::tensor(sumDy, at::kDouble).to(weight.scalar_type());
    return g;
}

// Batch statistics in the forward; the gradients of x, weight and bias in the backward.
struct BatchNormChannelsLastFunction : public torch::autograd::Function<BatchNormChannelsLastFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              const at::Tensor& bias, at::Tensor runningMean, at::Tensor runningVar, double momentum,
                              double eps)
    {
        const BatchNormForward f = batchNormForward(x, weight, bias, runningMean, runningVar, momentum, eps);
        const int64_t c = x.size(1), rows = x.numel() / c;
        at::Tensor y = at::empty_like(x, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        kernels::channelAffine(x.data_ptr(), mapType(x), rows, c, f.scale.data(), f.shift.data(), y.data_ptr());
        ctx->save_for_backward({x, weight});
        saveBatchNormStatistics(ctx, f);
        return y;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor& x = saved[0];
        const at::Tensor dy = grads[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
        const int64_t c = x.size(1), rows = x.numel() / c;
        std::vector<double> sumDy(static_cast<size_t>(c)), sumDyCentered(static_cast<size_t>(c));
        kernels::channelGradientSums(dy.data_ptr(), x.data_ptr(), mapType(x), rows, c,
                                     ctx->saved_data["mean"].toTensor().data_ptr<double>(), sumDy.data(),
                                     sumDyCentered.data());
        const BatchNormBackward g = batchNormBackward(ctx, saved[1], rows, sumDy, sumDyCentered);
        at::Tensor dx = at::empty_like(x, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        kernels::channelGradientAffine(dy.data_ptr(), x.data_ptr(), mapType(x), rows, c, g.a.data(), g.b.data(),
                                       g.d.data(), dx.data_ptr());
        return {dx, g.dWeight, g.dBias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

// The same batch norm with the 2x2 max-pool after it, in fused passes (batch_norm_pool_kernel.h):
// the normalized map is neither stored nor read back, nor is the pool's full-size gradient.
struct BatchNormMaxPool2x2Function : public torch::autograd::Function<BatchNormMaxPool2x2Function> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              const at::Tensor& bias, at::Tensor runningMean, at::Tensor runningVar, double momentum,
                              double eps)
    {
        const BatchNormForward f = batchNormForward(x, weight, bias, runningMean, runningVar, momentum, eps);
        auto [out, window] = kernels::affineMaxPool2x2(x, f.scale.data(), f.shift.data());
        ctx->save_for_backward({x, weight, window});
        saveBatchNormStatistics(ctx, f);
        return out;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor& x = saved[0];
        const at::Tensor& window = saved[2];
        const at::Tensor dy = grads[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
        const int64_t c = x.size(1), rows = x.numel() / c;
        std::vector<double> sumDy(static_cast<size_t>(c)), sumDyCentered(static_cast<size_t>(c));
        kernels::pooledGradientSums(dy, window, x, ctx->saved_data["mean"].toTensor().data_ptr<double>(), sumDy.data(),
                                    sumDyCentered.data());
        const BatchNormBackward g = batchNormBackward(ctx, saved[1], rows, sumDy, sumDyCentered);
        const at::Tensor dx = kernels::pooledGradientAffine(dy, window, x, g.a.data(), g.b.data(), g.d.data());
        return {dx, g.dWeight, g.dBias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

void checkBatchNorm(const torch::nn::BatchNorm2dImpl& bn, const char* caller)
{
    TORCH_CHECK(bn.options.affine() && bn.options.track_running_stats() && bn.options.momentum().has_value(), caller,
                ": an affine batch norm with running statistics is needed");
}

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
    TORCH_CHECK(batchNormChannelsLastFits(x), "batchNormChannelsLast: a channels-last float or bf16 map is needed");
    checkBatchNorm(bn, "batchNormChannelsLast");
    {
        at::NoGradGuard noGrad;
        bn.num_batches_tracked.add_(1);
    }
    return BatchNormChannelsLastFunction::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                                *bn.options.momentum(), bn.options.eps());
}

bool batchNormMaxPool2x2Fits(const at::Tensor& x)
{
    return batchNormChannelsLastFits(x) && kernels::batchNormMaxPool2x2Fits(x);
}

at::Tensor batchNormMaxPool2x2(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x)
{
    TORCH_CHECK(batchNormMaxPool2x2Fits(x), "batchNormMaxPool2x2: this map or CPU has no fused kernel");
    checkBatchNorm(bn, "batchNormMaxPool2x2");
    {
        at::NoGradGuard noGrad;
        bn.num_batches_tracked.add_(1);
    }
    return BatchNormMaxPool2x2Function::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                              *bn.options.momentum(), bn.options.eps());
}

} // namespace tyq
