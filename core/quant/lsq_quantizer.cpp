#include "quant/lsq_quantizer.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>

namespace tyq {
namespace {

// The reference's gradient scale for s: 1 / sqrt(Qp * numel(x)), computed in double.
double stepGradScale(int qmax, int64_t numel)
{
    return 1.0 / std::sqrt(static_cast<double>(qmax) * static_cast<double>(numel));
}

// s' = (s - s*g).detach() + s*g: equal to s in value (up to float rounding, which the reference
// also has), with the gradient reaching s multiplied by g.
torch::Tensor scaledStep(const torch::Tensor& s, double g)
{
    torch::Tensor sg = s * g;
    return (s - sg).detach() + sg;
}

struct FusedLsqFunction : public torch::autograd::Function<FusedLsqFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& sScaled, int64_t qmin, int64_t qmax)
    {
        const torch::Tensor input = x.contiguous();
        torch::Tensor out = torch::empty_like(input);
        const float ss = sScaled.item<float>();
        const float lo = static_cast<float>(qmin);
        const float hi = static_cast<float>(qmax);
        const float* src = input.data_ptr<float>();
        float* dst = out.data_ptr<float>();
        at::parallel_for(0, input.numel(), 16384, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                float v = src[i] / ss;
                v = std::min(std::max(v, lo), hi);
                dst[i] = std::nearbyint(v) * ss;
            }
        });
        ctx->save_for_backward({input, sScaled});
        ctx->saved_data["qmin"] = qmin;
        ctx->saved_data["qmax"] = qmax;
        return out;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list gradOutputs)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& input = saved[0];
        const torch::Tensor& sScaled = saved[1];
        const float lo = static_cast<float>(ctx->saved_data["qmin"].toInt());
        const float hi = static_cast<float>(ctx->saved_data["qmax"].toInt());
        const torch::Tensor grad = gradOutputs[0].contiguous();
        const float ss = sScaled.item<float>();
        torch::Tensor gradX = torch::empty_like(input);
        const float* x = input.data_ptr<float>();
        const float* g = grad.data_ptr<float>();
        float* gx = gradX.data_ptr<float>();

        // Per-thread partial sums of the step-size gradient, in double for a stable total.
        const int64_t n = input.numel();
        const int threads = at::get_num_threads();
        std::vector<double> partial(static_cast<size_t>(threads) * 8, 0.0);
        at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
            double sum = 0;
            for (int64_t i = begin; i < end; ++i) {
                const float v = x[i] / ss;
                const float gv = g[i] * ss; // gradient through y = q * s'
                if (v >= lo && v <= hi) {
                    gx[i] = gv / ss;
                    // d(q s')/ds' = q + s' dq/ds' with dq/ds' = -x / s'^2 inside the range
                    sum += static_cast<double>(g[i]) * std::nearbyint(v) - static_cast<double>(gv) * x[i] / (ss * ss);
                } else {
                    gx[i] = 0.0f;
                    sum += static_cast<double>(g[i]) * (v < lo ? lo : hi);
                }
            }
            partial[static_cast<size_t>(at::get_thread_num()) * 8] += sum;
        });
        double total = 0;
        for (size_t t = 0; t < partial.size(); t += 8)
            total += partial[t];
        torch::Tensor gradS = torch::full_like(sScaled, static_cast<float>(total));
        return {gradX, gradS, torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

torch::Tensor lsqFakeQuantizeReference(const torch::Tensor& x, const torch::Tensor& s, int qmin, int qmax)
{
    const torch::Tensor sScaled = scaledStep(s, stepGradScale(qmax, x.numel()));
    torch::Tensor y = x / sScaled;
    y = torch::clamp(y, qmin, qmax);
    y = (y.round() - y).detach() + y; // straight-through rounding
    return y * sScaled;
}

torch::Tensor lsqFakeQuantizeFused(const torch::Tensor& x, const torch::Tensor& s, int qmin, int qmax)
{
    if (s.numel() != 1 || x.scalar_type() != torch::kFloat)
        return lsqFakeQuantizeReference(x, s, qmin, qmax);
    const torch::Tensor sScaled = scaledStep(s, stepGradScale(qmax, x.numel()));
    torch::Tensor y = FusedLsqFunction::apply(x, sScaled, qmin, qmax);
    return y;
}

LsqQuantizerImpl::LsqQuantizerImpl(const QuantizerSpec& spec, QuantizerRole role, int64_t channels)
    : spec_(spec), role_(role)
{
    validateQuantizerSpec(spec, "quantizer");
    torch::Tensor init;
    if (role == QuantizerRole::activation)
        init = torch::full({1}, kReferenceActivationStep);
    else if (spec.perChannel)
        init = torch::ones({channels, 1, 1, 1});
    else
        init = torch::ones({});
    s = register_parameter("s", init);
}

torch::Tensor LsqQuantizerImpl::forward(const torch::Tensor& x)
{
    if (!spec_.enabled())
        return x;
    if (kernel_ == QuantKernel::fused)
        return lsqFakeQuantizeFused(x, s, spec_.qmin(), spec_.qmax());
    return lsqFakeQuantizeReference(x, s, spec_.qmin(), spec_.qmax());
}

void LsqQuantizerImpl::initStepFromWeight(const torch::Tensor& weight)
{
    if (!spec_.enabled())
        return;
    torch::NoGradGuard noGrad;
    const double sqrtQp = std::sqrt(static_cast<double>(spec_.qmax()));
    torch::Tensor value;
    if (spec_.perChannel) {
        std::vector<int64_t> dims;
        for (int64_t d = 1; d < weight.dim(); ++d)
            dims.push_back(d);
        value = weight.detach().abs().mean(dims, /*keepdim=*/true) * 2 / sqrtQp;
    } else {
        value = weight.detach().abs().mean() * 2 / sqrtQp;
    }
    s.set_data(value.to(s.dtype()).reshape(s.sizes()).clone());
}

void LsqQuantizerImpl::initStepFromActivation(const torch::Tensor& x)
{
    if (!spec_.enabled())
        return;
    torch::NoGradGuard noGrad;
    const double sqrtQp = std::sqrt(static_cast<double>(spec_.qmax()));
    const torch::Tensor value = x.detach().abs().mean() * 2 / sqrtQp;
    // A dead input (all zeros) would give s = 0 and divide by zero: keep the constant then.
    if (value.item<double>() > 0)
        s.set_data(value.to(s.dtype()).reshape(s.sizes()).clone());
}

torch::Tensor LsqQuantizerImpl::codes(const torch::Tensor& x) const
{
    torch::NoGradGuard noGrad;
    if (!spec_.enabled())
        return x;
    const torch::Tensor sScaled = scaledStep(s, stepGradScale(spec_.qmax(), x.numel()));
    return torch::clamp(x / sScaled, spec_.qmin(), spec_.qmax()).round();
}

} // namespace tyq
