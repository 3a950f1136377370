#include "dist/sync_batch_norm.h"

#include "dist/collective.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/nn/modules/batchnorm.h>

namespace tyq {
namespace {

struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                              const at::Tensor& bias, torch::nn::BatchNorm2dImpl* bn, Collective* collective)
    {
        const at::MemoryFormat layout = x.suggest_memory_format();
        const at::Tensor xf = x.to(at::kFloat);
        const int64_t channels = x.size(1);
        // Two passes, each one allreduce: the mean from the sums, then the centred squares (as
        // exact as a single process's variance, unlike sum-of-squares minus squared mean).
        std::vector<at::Tensor> sums{at::cat({xf.sum({0, 2, 3}), at::full({1}, static_cast<double>(xf.numel() / channels),
                                                                           xf.options())})};
        collective->allreduceSum(sums);
        const double count = sums[0][channels].item<double>();
        const at::Tensor mean = sums[0].slice(0, 0, channels) / count;
        const at::Tensor centred = xf - mean.view({1, -1, 1, 1});
        std::vector<at::Tensor> squares{centred.pow(2).sum({0, 2, 3})};
        collective->allreduceSum(squares);
        const at::Tensor variance = squares[0] / count;
        const double eps = bn->options.eps();
        const at::Tensor invStd = (variance + eps).rsqrt();
        {
            at::NoGradGuard noGrad;
            const double momentum = bn->options.momentum().value_or(0.1);
            bn->running_mean.mul_(1 - momentum).add_(mean, momentum);
            bn->running_var.mul_(1 - momentum).add_(variance * (count / std::max(count - 1, 1.0)), momentum);
            bn->num_batches_tracked.add_(1);
        }
        const at::Tensor normalized = centred * invStd.view({1, -1, 1, 1});
        ctx->save_for_backward({normalized, weight, invStd});
        ctx->saved_data["count"] = count;
        ctx->saved_data["collective"] = reinterpret_cast<int64_t>(collective);
        return (normalized * weight.view({1, -1, 1, 1}) + bias.view({1, -1, 1, 1}))
            .to(x.scalar_type())
            .contiguous(layout);
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor& normalized = saved[0];
        const at::Tensor& weight = saved[1];
        const at::Tensor& invStd = saved[2];
        const double count = ctx->saved_data["count"].toDouble();
        auto* collective = reinterpret_cast<Collective*>(ctx->saved_data["collective"].toInt());
        const at::Tensor dy = grads[0].to(at::kFloat);
        const at::Tensor sumDy = dy.sum({0, 2, 3});
        const at::Tensor sumDyNormalized = (dy * normalized).sum({0, 2, 3});
        std::vector<at::Tensor> global{at::cat({sumDy, sumDyNormalized})};
        collective->allreduceSum(global);
        const int64_t channels = sumDy.size(0);
        const at::Tensor meanDy = global[0].slice(0, 0, channels) / count;
        const at::Tensor meanDyNormalized = global[0].slice(0, channels) / count;
        const at::Tensor dx = (dy - meanDy.view({1, -1, 1, 1}) - normalized * meanDyNormalized.view({1, -1, 1, 1})) *
                              (weight * invStd).view({1, -1, 1, 1});
        return {dx, sumDyNormalized, sumDy, at::Tensor(), at::Tensor()};
    }
};

} // namespace

at::Tensor syncBatchNorm(const at::Tensor& x, torch::nn::BatchNorm2dImpl& bn, Collective& collective)
{
    return SyncBatchNormFunction::apply(x, bn.weight, bn.bias, &bn, &collective);
}

} // namespace tyq
