#include "infer/inference_engine.h"

#include "common/error.h"
#include "kernels/conv_pool_kernel.h"
#include "kernels/lsq_kernel.h"
#include "model/code_convolution.h"
#include "model/fast_ops.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"
#include "quant/lsq_quantizer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

namespace tyq {
namespace {

at::Tensor activate(at::Tensor x, Activation activation)
{
    switch (activation) {
    case Activation::relu: return at::relu_(x);
    case Activation::leaky: return at::leaky_relu_(x, 0.1);
    case Activation::linear: break;
    }
    return x;
}

kernels::KernelActivation kernelActivation(Activation a)
{
    switch (a) {
    case Activation::relu: return kernels::KernelActivation::relu;
    case Activation::leaky: return kernels::KernelActivation::leaky;
    case Activation::linear: break;
    }
    return kernels::KernelActivation::linear;
}

const MaxpoolSpec* maxpoolAt(const NetworkSpec& spec, size_t index)
{
    return index < spec.layers.size() ? std::get_if<MaxpoolSpec>(&spec.layers[index].params) : nullptr;
}

} // namespace

InferenceEngine::InferenceEngine(const YoloNetworkImpl& network, InferenceOptions options)
    : spec_(network.spec()), options_(options)
{
    at::NoGradGuard noGrad;
    const size_t n = spec_.layers.size();
    plans_.resize(n);
    outputNeeded_.assign(n, false);
    for (const LayerSpec& layer : spec_.layers) {
        if (const auto* route = std::get_if<RouteSpec>(&layer.params))
            for (int from : route->layers)
                outputNeeded_[static_cast<size_t>(from)] = true;
        else if (const auto* shortcut = std::get_if<ShortcutSpec>(&layer.params))
            outputNeeded_[static_cast<size_t>(shortcut->from)] = true;
    }

    // Folding rounds differently by an ulp; downstream of an LSQ activation quantizer an ulp can
    // flip a rounding decision and move the outputs by a whole step (measured: 97.9% of the
    // reference's baboon outputs within 1e-3 folded, 100% unfolded). So quantized networks keep
    // batch norm as its own affine, computed exactly as ATen's eval batch norm.
    bool hasActivationQuantizers = false;
    for (const YoloNetworkImpl::ConvLayer& c : network.convLayers())
        hasActivationQuantizers |= c.conv->quanA && c.conv->quanA->spec().enabled();
    const bool bf16 = options_.precision == Precision::bf16;
    if (bf16) {
        requirePrecision(options_.precision, "bf16 inference");
        if (network.quantized())
            throw Error("bf16 inference is for full-precision networks: a quantized network runs exactly, and faster, "
                        "as its integer form (--engine int)");
    }
    const bool fold = (options_.foldBatchNorm || bf16) && !hasActivationQuantizers;

    for (const YoloNetworkImpl::ConvLayer& c : network.convLayers()) {
        ConvPlan& plan = plans_[static_cast<size_t>(c.index)];
        const ConvSpec& conv = spec_.layers[static_cast<size_t>(c.index)].conv();
        plan.stride = conv.stride;
        plan.padding = conv.padding;
        plan.size = conv.size;
        plan.outChannels = conv.filters;
        plan.activation = c.activation;

        // Weights as the conv sees them: fake-quantized once, here.
        at::Tensor weight = c.conv->weight.detach();
        if (c.conv->quanW && c.conv->quanW->spec().enabled())
            weight = lsqFakeQuantizeReference(weight, c.conv->quanW->s.detach(), c.conv->quanW->spec().qmin(),
                                              c.conv->quanW->spec().qmax());
        at::Tensor bias = c.conv->bias.defined() ? c.conv->bias.detach() : at::Tensor();
        at::Tensor alpha, shift;
        if (c.batchNorm) {
            // ATen's eval batch norm: y = x * alpha + (b - mean * alpha), alpha = w * (1 / sqrt(var + eps)),
            // with the same float operations.
            const auto& bn = *c.batchNorm;
            const double eps = bn.options.eps();
            alpha = at::reciprocal(at::sqrt(bn.running_var + eps)) * bn.weight.detach();
            shift = bn.bias.detach() - bn.running_mean * alpha;
            plan.bnWeight = bn.weight.detach().clone();
            plan.bnBias = bn.bias.detach().clone();
            plan.bnMean = bn.running_mean.clone();
            plan.bnVar = bn.running_var.clone();
            plan.bnEps = eps;
        }
        if (c.batchNorm && fold) {
            if (bias.defined())
                shift = shift + bias * alpha;
            weight = weight * alpha.view({-1, 1, 1, 1});
            bias = shift;
            plan.bnWeight = plan.bnBias = plan.bnMean = plan.bnVar = at::Tensor();
        }
        plan.weight = options_.channelsLast ? weight.contiguous(at::MemoryFormat::ChannelsLast) : weight.contiguous();
        plan.bias = bias.defined() ? bias.contiguous() : bias;
        if (bf16) { // rounded once here rather than on every call
            plan.weight = plan.weight.to(at::kBFloat16);
            plan.bias = plan.bias.defined() ? plan.bias.to(at::kBFloat16) : plan.bias;
        }

        if (c.conv->quanA && c.conv->quanA->spec().enabled()) {
            plan.inputQuantizer.enabled = true;
            plan.inputQuantizer.step = c.conv->quanA->s.detach().clone();
            plan.inputQuantizer.qmin = c.conv->quanA->spec().qmin();
            plan.inputQuantizer.qmax = c.conv->quanA->spec().qmax();
        }
        if (c.conv->convolvesCodes()) { // never in bf16: quantized networks were refused above
            plan.convolvesCodes = true;
            const CodeBounds bounds = c.conv->codeBounds();
            const at::MemoryFormat layout =
                options_.channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
            plan.codeWeights = codeWeightsOf(plan.weight, c.conv->quanW->s.detach().clone(), bounds,
                                             codeSumsFor(layout, bounds));
        }

        const size_t i = static_cast<size_t>(c.index);
        const MaxpoolSpec* pool = maxpoolAt(spec_, i + 1);
        const bool kernelAffine = !c.batchNorm || fold || !bias.defined(); // the kernel has one bias term
        plan.fusedWithPool = options_.fuseStages && !bf16 && kernelAffine && conv.size == 3 && conv.stride == 1 &&
                             conv.padding == 1 && pool && pool->size == 2 && pool->stride == 2 && !outputNeeded_[i] &&
                             c.conv->weight.size(1) <= options_.fuseMaxInputChannels &&
                             kernels::convPoolKernelAvailable(conv.filters);
        if (plan.fusedWithPool) {
            plan.packedWeight = weight.permute({2, 3, 1, 0}).contiguous();
            if (c.batchNorm && !fold) {
                plan.kernelScale = alpha.contiguous();
                plan.kernelShift = shift.contiguous();
            } else {
                plan.kernelShift = plan.bias.defined() ? plan.bias : at::zeros({conv.filters}, weight.options());
            }
        }
    }

    // A fused stage whose pooled output only feeds the next conv also applies that conv's input
    // quantizer (the conv then skips it).
    for (size_t i = 0; i + 2 < plans_.size(); ++i) {
        ConvPlan& plan = plans_[i];
        if (!plan.fusedWithPool || outputNeeded_[i + 1] || !spec_.layers[i + 2].isConv())
            continue;
        ConvPlan& consumer = plans_[i + 2];
        if (consumer.inputQuantizer.enabled) {
            plan.epilogueQuantizer = consumer.inputQuantizer;
            consumer.inputQuantizedByProducer = true;
        }
    }
}

std::vector<int> InferenceEngine::fusedConvs() const
{
    std::vector<int> out;
    for (size_t i = 0; i < plans_.size(); ++i)
        if (plans_[i].fusedWithPool)
            out.push_back(static_cast<int>(i));
    return out;
}

namespace {

at::Tensor quantizeActivation(const at::Tensor& x, const at::Tensor& step, int qmin, int qmax)
{
    RECORD_FUNCTION("tyq::lsq_quantize", std::vector<c10::IValue>());
    const float s = lsqEffectiveStep(step, qmax, x.numel());
    const at::Tensor input = x.is_non_overlapping_and_dense() ? x : x.contiguous();
    at::Tensor out = at::empty_like(input);
    const float* src = input.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, input.numel(), 32768, [&](int64_t begin, int64_t end) {
        kernels::lsqForward(src + begin, dst + begin, end - begin, s, static_cast<float>(qmin), static_cast<float>(qmax));
    });
    return out;
}

} // namespace

at::Tensor InferenceEngine::runConv(const ConvPlan& plan, const at::Tensor& x) const
{
    at::Tensor input = x;
    if (plan.inputQuantizer.enabled && !plan.inputQuantizedByProducer)
        input = quantizeActivation(input, plan.inputQuantizer.step, plan.inputQuantizer.qmin, plan.inputQuantizer.qmax);
    // bf16: activations stay bf16 from the first conv to the heads (the bias goes into oneDNN's
    // f32 accumulator); no autograd here, so no need for convolveBf16's backward.
    at::Tensor y = plan.convolvesCodes
                       ? codeConvolutionValue(input, plan.codeWeights, plan.bias, plan.inputQuantizer.step,
                                              plan.stride, plan.padding)
                   : options_.precision == Precision::bf16
                       ? at::conv2d(input.to(at::kBFloat16), plan.weight, plan.bias, {plan.stride, plan.stride},
                                    {plan.padding, plan.padding})
                   : options_.channelsLast ? convolve(input, plan.weight, plan.bias, plan.stride, plan.padding)
                                           : at::conv2d(input, plan.weight, plan.bias, {plan.stride, plan.stride},
                                                      {plan.padding, plan.padding});
    if (plan.bnWeight.defined())
        y = at::batch_norm(y, plan.bnWeight, plan.bnBias, plan.bnMean, plan.bnVar, false, 0.0, plan.bnEps, false);
    return activate(y, plan.activation);
}

at::Tensor InferenceEngine::runFusedStage(const ConvPlan& plan, const at::Tensor& x) const
{
    RECORD_FUNCTION("tyq::conv_pool", std::vector<c10::IValue>());
    // The kernel convolves what it is given: a conv's own input quantizer (the image's, when
    // the first conv quantizes it) applies first, unless the producer's epilogue applied it.
    if (plan.inputQuantizer.enabled && !plan.inputQuantizedByProducer) {
        ConvPlan unquantized = plan;
        unquantized.inputQuantizer.enabled = false;
        return runFusedStage(
            unquantized, quantizeActivation(x, plan.inputQuantizer.step, plan.inputQuantizer.qmin, plan.inputQuantizer.qmax));
    }
    const int64_t n = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const bool kernelFits = height % 2 == 0 && width % 2 == 0 && x.scalar_type() == at::kFloat;
    const ActivationQuantizer& q = plan.epilogueQuantizer;
    if (!kernelFits) {
        // The same computation op by op (an odd size the kernel does not handle).
        at::Tensor y = at::max_pool2d(runConv(plan, x), {2, 2}, {2, 2});
        return q.enabled ? quantizeActivation(y, q.step, q.qmin, q.qmax) : y;
    }
    at::Tensor out = at::empty({n, plan.outChannels, height / 2, width / 2},
                               x.options().memory_format(at::MemoryFormat::ChannelsLast));
    kernels::ConvPoolParams p;
    p.input = x.data_ptr<float>();
    p.batch = n;
    p.inChannels = channels;
    p.height = height;
    p.width = width;
    p.inStrideN = x.stride(0);
    p.inStrideC = x.stride(1);
    p.inStrideH = x.stride(2);
    p.inStrideW = x.stride(3);
    p.weight = plan.packedWeight.data_ptr<float>();
    p.bias = plan.kernelShift.data_ptr<float>();
    p.scale = plan.kernelScale.defined() ? plan.kernelScale.data_ptr<float>() : nullptr;
    p.outChannels = plan.outChannels;
    p.output = out.data_ptr<float>();
    p.outStrideN = out.stride(0);
    p.outStrideH = out.stride(2);
    p.outStrideW = out.stride(3);
    p.activation = kernelActivation(plan.activation);
    if (q.enabled) {
        p.quantStep = lsqEffectiveStep(q.step, q.qmax, out.numel());
        p.quantMin = static_cast<float>(q.qmin);
        p.quantMax = static_cast<float>(q.qmax);
    }
    kernels::convPoolForward(p);
    return out;
}

std::vector<at::Tensor> InferenceEngine::forward(const at::Tensor& input) const
{
    const int multiple = spec_.requiredInputMultiple();
    if (input.dim() != 4 || input.size(1) != spec_.channels || input.size(2) % multiple != 0 ||
        input.size(3) % multiple != 0)
        throw Error("network input must be [N, " + std::to_string(spec_.channels) + ", H, W] with H and W multiples of " +
                    std::to_string(multiple) + ", got " + c10::str(input.sizes()));
    at::NoGradGuard noGrad;
    at::Tensor x = input.to(at::kFloat);
    // The fused kernel reads any layout; everything else gets the engine's layout up front.
    if (spec_.layers.empty() || !plans_.front().fusedWithPool)
        x = options_.channelsLast ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();

    std::vector<at::Tensor> outputs(spec_.layers.size());
    std::vector<at::Tensor> heads;
    bool poolDone = false; // the previous conv's fused kernel already pooled
    for (const LayerSpec& layer : spec_.layers) {
        const size_t i = static_cast<size_t>(layer.index);
        at::Tensor y;
        if (layer.isConv()) {
            const ConvPlan& plan = plans_[i];
            if (plan.fusedWithPool) {
                y = runFusedStage(plan, x);
                poolDone = true;
            } else {
                y = runConv(plan, x);
            }
        } else if (const auto* pool = std::get_if<MaxpoolSpec>(&layer.params)) {
            if (poolDone) {
                y = x;
                poolDone = false;
            } else {
                const int64_t pad = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
                y = at::max_pool2d(x, {pool->size, pool->size}, {pool->stride, pool->stride}, {pad, pad});
            }
        } else if (const auto* route = std::get_if<RouteSpec>(&layer.params)) {
            if (route->layers.size() == 1) {
                y = outputs[static_cast<size_t>(route->layers.front())];
            } else {
                std::vector<at::Tensor> parts;
                for (int from : route->layers)
                    parts.push_back(outputs[static_cast<size_t>(from)]);
                y = at::cat(parts, 1);
            }
        } else if (const auto* up = std::get_if<UpsampleSpec>(&layer.params)) {
            y = at::upsample_nearest2d(x, {x.size(2) * up->stride, x.size(3) * up->stride});
        } else if (const auto* shortcut = std::get_if<ShortcutSpec>(&layer.params)) {
            y = activate(outputs[static_cast<size_t>(shortcut->from)] + x, shortcut->activation);
        } else if (layer.isYolo()) {
            heads.push_back(x.contiguous().to(at::kFloat));
            y = x;
        }
        if (outputNeeded_[i])
            outputs[i] = y;
        x = y;
    }
    return heads;
}

at::Tensor InferenceEngine::detect(const at::Tensor& input) const
{
    at::NoGradGuard noGrad;
    const std::vector<at::Tensor> heads = forward(input);
    const std::vector<int> yolo = spec_.yoloIndices();
    std::vector<at::Tensor> decoded;
    for (size_t k = 0; k < heads.size(); ++k)
        decoded.push_back(decodeYoloOutput(heads[k], spec_.layers[static_cast<size_t>(yolo[k])].yolo(), input.size(2)));
    return decoded.size() == 1 ? decoded.front() : at::cat(decoded, 1);
}

} // namespace tyq
