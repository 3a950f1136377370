#include "quant/lsq_quantizer.h"

#include "common/error.h"
#include "kernels/lsq_kernel.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

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

// Work per parallel chunk: the kernels stream memory, so small chunks only add overhead.
constexpr int64_t kGrain = 32768;

// f32 values, or bf16 ones (bf16 precision) in the kernels' bf16 forms.
bool isBf16(const torch::Tensor& t)
{
    return t.scalar_type() == torch::kBFloat16;
}

template <typename T>
T* elements(const torch::Tensor& t)
{
    if constexpr (std::is_same_v<T, uint16_t>)
        return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>());
    else
        return t.data_ptr<float>();
}

// Whether the fused kernels take x with these step sizes: one step, or one per slice of dim 0
// (per-channel weights) where each slice's elements are contiguous in memory (OIHW or OHWI).
bool fusedKernelFits(const torch::Tensor& x, const torch::Tensor& s)
{
    if (x.scalar_type() != torch::kFloat && !isBf16(x))
        return false;
    if (s.numel() == 1)
        return true;
    return x.dim() >= 1 && s.numel() == x.size(0) && x.numel() > 0 && x.is_non_overlapping_and_dense() &&
           x.stride(0) == x.numel() / x.size(0);
}

// x's elements in chunks that each lie within one step's elements: the kernels' unit of work,
// and the step gradient's partial sums (added in chunk order, so the totals do not depend on the
// thread count). One step: chunks of kGrain; per channel: one chunk per channel's slice.
struct Chunks {
    std::vector<float> steps;
    int64_t sliceLength = 0;    ///< elements per step
    int64_t chunkLength = 0;    ///< elements per chunk (the last of a slice may have fewer)
    int64_t chunksPerSlice = 0; ///< ceil(sliceLength / chunkLength)

    int64_t count() const { return static_cast<int64_t>(steps.size()) * chunksPerSlice; }
    /// Chunks per parallel task: about kGrain elements.
    int64_t perTask() const { return std::max<int64_t>(1, kGrain / std::max<int64_t>(chunkLength, 1)); }
    /// Calls f(first element, element count, step) for chunk c.
    template <typename F>
    void visit(int64_t c, const F& f) const
    {
        const int64_t slice = c / chunksPerSlice, within = (c % chunksPerSlice) * chunkLength;
        f(slice * sliceLength + within, std::min(chunkLength, sliceLength - within), steps[static_cast<size_t>(slice)]);
    }
};

Chunks chunksOf(const torch::Tensor& x, const torch::Tensor& sScaled)
{
    Chunks c;
    const torch::Tensor steps = sScaled.detach().to(torch::kFloat).contiguous();
    c.steps.assign(steps.data_ptr<float>(), steps.data_ptr<float>() + steps.numel());
    c.sliceLength = x.numel() / static_cast<int64_t>(c.steps.size());
    c.chunkLength = c.steps.size() == 1 ? kGrain : c.sliceLength;
    c.chunksPerSlice = c.sliceLength == 0 ? 0 : (c.sliceLength + c.chunkLength - 1) / c.chunkLength;
    return c;
}

struct FusedLsqFunction : public torch::autograd::Function<FusedLsqFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& sScaled, int64_t qmin, int64_t qmax)
    {
        // Elementwise, so any dense layout works as it is (channels-last stays channels-last).
        const torch::Tensor input = x.is_non_overlapping_and_dense() ? x : x.contiguous();
        torch::Tensor out = torch::empty_like(input);
        const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
        const Chunks chunks = chunksOf(input, sScaled);
        at::parallel_for(0, chunks.count(), chunks.perTask(), [&](int64_t begin, int64_t end) {
            for (int64_t c = begin; c < end; ++c)
                chunks.visit(c, [&](int64_t first, int64_t count, float step) {
                    if (isBf16(input))
                        kernels::lsqForwardBf16(elements<uint16_t>(input) + first, elements<uint16_t>(out) + first,
                                                count, step, lo, hi);
                    else
                        kernels::lsqForward(elements<float>(input) + first, elements<float>(out) + first, count,
                                            step, lo, hi);
                });
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
        // The gradient must walk the elements in the input's order, in the input's type.
        torch::Tensor grad = gradOutputs[0];
        if (grad.strides() != input.strides() || grad.scalar_type() != input.scalar_type())
            grad = torch::empty_like(input).copy_(grad);
        torch::Tensor gradX = torch::empty_like(input);

        // Partial sums of the step-size gradient, in double, per chunk (see Chunks).
        const Chunks chunks = chunksOf(input, sScaled);
        std::vector<double> partial(static_cast<size_t>(chunks.count()), 0.0);
        at::parallel_for(0, chunks.count(), chunks.perTask(), [&](int64_t begin, int64_t end) {
            for (int64_t c = begin; c < end; ++c)
                chunks.visit(c, [&](int64_t first, int64_t count, float step) {
                    partial[static_cast<size_t>(c)] =
                        isBf16(input)
                            ? kernels::lsqBackwardBf16(elements<uint16_t>(input) + first,
                                                       elements<uint16_t>(grad) + first,
                                                       elements<uint16_t>(gradX) + first, count, step, lo, hi)
                            : kernels::lsqBackward(elements<float>(input) + first, elements<float>(grad) + first,
                                                   elements<float>(gradX) + first, count, step, lo, hi);
                });
        });
        std::vector<float> totals(chunks.steps.size());
        for (size_t i = 0; i < totals.size(); ++i) {
            double total = 0;
            for (int64_t c = 0; c < chunks.chunksPerSlice; ++c)
                total += partial[i * static_cast<size_t>(chunks.chunksPerSlice) + static_cast<size_t>(c)];
            totals[i] = static_cast<float>(total);
        }
        const torch::Tensor gradS = torch::tensor(totals, sScaled.options()).view(sScaled.sizes());
        return {gradX, gradS, torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

float lsqEffectiveStep(const torch::Tensor& s, int qmax, int64_t numel)
{
    torch::NoGradGuard noGrad;
    return scaledStep(s.detach(), stepGradScale(qmax, numel)).item<float>();
}

torch::Tensor lsqFakeQuantizeReference(const torch::Tensor& x, const torch::Tensor& s, int qmin, int qmax,
                                       double batchFactor)
{
    const torch::Tensor sScaled = scaledStep(s, stepGradScale(qmax, x.numel()) / std::sqrt(batchFactor));
    torch::Tensor y = x / sScaled;
    y = torch::clamp(y, qmin, qmax);
    y = (y.round() - y).detach() + y; // straight-through rounding
    return y * sScaled;
}

torch::Tensor lsqFakeQuantizeFused(const torch::Tensor& x, const torch::Tensor& s, int qmin, int qmax,
                                   double batchFactor)
{
    if (!fusedKernelFits(x, s))
        return lsqFakeQuantizeReference(x, s, qmin, qmax, batchFactor);
    const torch::Tensor sScaled = scaledStep(s, stepGradScale(qmax, x.numel()) / std::sqrt(batchFactor));
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
    // A quantizer at bit 0 is the identity: its step size gets no gradient, and data
    // parallelism must not hand it zeros (Adam would then keep state for it, and weight decay
    // would move it, on N processes but not on one).
    s = register_parameter("s", init, /*requires_grad=*/spec.enabled());
}

torch::Tensor LsqQuantizerImpl::forward(const torch::Tensor& x)
{
    if (!spec_.enabled())
        return x;
    if (kernel_ == QuantKernel::fused)
        return lsqFakeQuantizeFused(x, s, spec_.qmin(), spec_.qmax(), batchFactor_);
    return lsqFakeQuantizeReference(x, s, spec_.qmin(), spec_.qmax(), batchFactor_);
}

void LsqQuantizerImpl::initStepFromWeight(const torch::Tensor& weight)
{
    if (!spec_.enabled())
        return;
    torch::NoGradGuard noGrad;
    const double sqrtQp = std::sqrt(static_cast<double>(spec_.qmax()));
    // Means in double: a float mean's last bit depends on how many threads summed it, and one
    // ulp of a step moves the weights that sit on a code boundary, so runs on other thread
    // counts (or data-parallel ranks) would start from other codes.
    const torch::Tensor magnitude = weight.detach().abs().to(torch::kDouble);
    torch::Tensor value;
    if (spec_.perChannel) {
        std::vector<int64_t> dims;
        for (int64_t d = 1; d < weight.dim(); ++d)
            dims.push_back(d);
        value = magnitude.mean(dims, /*keepdim=*/true) * 2 / sqrtQp;
    } else {
        value = magnitude.mean() * 2 / sqrtQp;
    }
    s.set_data(value.to(s.dtype()).reshape(s.sizes()).clone());
}

void LsqQuantizerImpl::initStepFromActivation(const torch::Tensor& x)
{
    if (!spec_.enabled())
        return;
    torch::NoGradGuard noGrad;
    const double sqrtQp = std::sqrt(static_cast<double>(spec_.qmax()));
    const torch::Tensor value = x.detach().abs().to(torch::kDouble).mean() * 2 / sqrtQp; // double: see above
    // A dead input (all zeros) would give s = 0 and divide by zero: keep the constant then.
    if (value.item<double>() > 0)
        s.set_data(value.to(s.dtype()).reshape(s.sizes()).clone());
}

void LsqQuantizerImpl::initStepMinimizingError(const torch::Tensor& x)
{
    if (!spec_.enabled())
        return;
    torch::NoGradGuard noGrad;
    // At most ~256 K evenly strided values: the error curve over s is smooth, and a layer's
    // input (millions of values per batch) costs this little to search.
    torch::Tensor values = x.detach().reshape({-1}).to(torch::kFloat);
    constexpr int64_t kMaxValues = 1 << 18;
    if (values.numel() > kMaxValues)
        values = values.slice(0, 0, values.numel(), values.numel() / kMaxValues);
    const double qmin = spec_.qmin(), qmax = spec_.qmax();
    const double top = (spec_.allPositive ? values.max() : values.abs().max()).item<double>();
    if (!(top > 0))
        return; // a dead input: keep the step it has
    auto error = [&](double step) {
        return (torch::clamp(torch::round(values / step), qmin, qmax) * step - values).square().mean().item<double>();
    };
    // Steps from top/qmax (no clipping) down to 1/100 of it: a coarse scan, then a finer one
    // around the best, which finds the minimum of this nearly convex curve within 0.1 %.
    const double full = top / qmax;
    double best = full, bestError = error(full);
    for (int i = 1; i < 100; ++i)
        if (const double e = error(full * i / 100.0); e < bestError)
            bestError = e, best = full * i / 100.0;
    const double width = full / 100.0;
    for (int i = -10; i <= 10; ++i) {
        const double step = best + width * i / 10.0;
        if (step > 0)
            if (const double e = error(step); e < bestError)
                bestError = e, best = step;
    }
    s.set_data(torch::full(s.sizes(), best, s.options()));
}

void LsqQuantizerImpl::calibrate(const torch::Tensor& x, StepCalibration calibration)
{
    if (calibration == StepCalibration::minimumError)
        initStepMinimizingError(x);
    else
        initStepFromActivation(x);
}

const char* stepCalibrationName(StepCalibration c)
{
    return c == StepCalibration::minimumError ? "mse" : "lsq";
}

StepCalibration parseStepCalibration(const std::string& name)
{
    if (name == "mse")
        return StepCalibration::minimumError;
    if (name == "lsq")
        return StepCalibration::lsqInit;
    throw Error("unknown step calibration '" + name + "' (lsq: LSQ's data-driven init, mse: minimum squared error)");
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
