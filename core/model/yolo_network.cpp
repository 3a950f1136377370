#include "model/yolo_network.h"

#include "common/error.h"
#include "model/bf16_convolution.h"
#include "model/code_convolution.h"
#include "model/fast_ops.h"
#include "model/yolo_head.h"

#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>

namespace tyq {

QuantConv2dImpl::QuantConv2dImpl(int64_t inChannels, const ConvSpec& spec) : stride(spec.stride), padding(spec.padding)
{
    weight = register_parameter("weight", torch::empty({spec.filters, inChannels, spec.size, spec.size}));
    // PyTorch's default Conv2d initialization: uniform(+-1/sqrt(fan_in)) for weight and bias.
    const double bound = 1.0 / std::sqrt(static_cast<double>(inChannels * spec.size * spec.size));
    torch::NoGradGuard noGrad;
    weight.uniform_(-bound, bound);
    if (!spec.batchNormalize)
        bias = register_parameter("bias", torch::empty({spec.filters}).uniform_(-bound, bound));
}

namespace {

int64_t largestCodeOf(const QuantizerSpec& q)
{
    return std::max(std::abs(q.qmin()), std::abs(q.qmax()));
}

} // namespace

torch::Tensor QuantConv2dImpl::forward(const torch::Tensor& x)
{
    if (calibrateActivationStep) {
        if (quanA)
            quanA->calibrate(x, activationCalibration);
        calibrateActivationStep = false;
    }
    // Codes from f32, whatever the precision. The fused quantizer computes in f32 from bf16
    // inputs as they are; its bf16 values keep their codes where the code convolution recovers them.
    const bool codes = convolvesCodes();
    const bool quantizesBf16 = codes && x.scalar_type() == torch::kBFloat16 && quanA->kernel() == QuantKernel::fused &&
                               largestCodeOf(quanA->spec()) <= kLargestCodeOfBf16Values;
    const torch::Tensor input = quanA ? quanA(quantizesBf16 ? x : x.to(torch::kFloat)) : x;
    if (codes)
        return convolveCodes(input, effectiveWeight(), quanA->s, quanW->s, bias, stride, padding, codeBounds(),
                             precision);
    if (precision == Precision::bf16)
        return convolveBf16(input, effectiveWeight(), bias, stride, padding);
    if (channelsLast)
        return convolve(input, effectiveWeight(), bias, stride, padding);
    return at::conv2d(input, effectiveWeight(), bias, {stride, stride}, {padding, padding});
}

bool QuantConv2dImpl::convolvesCodes() const
{
    if (!quanA || !quanW || !quanA->spec().enabled() || !quanW->spec().enabled())
        return false;
    return codeConvolutionIsExact(largestCodeOf(quanA->spec()), largestCodeOf(quanW->spec()),
                                  weight.size(1) * weight.size(2) * weight.size(3));
}

CodeBounds QuantConv2dImpl::codeBounds() const
{
    return {std::max(largestCodeOf(quanA->spec()), largestCodeOf(quanW->spec())), quanA->spec().qmin() >= 0};
}

torch::Tensor QuantConv2dImpl::effectiveWeight()
{
    return quanW ? quanW(weight) : weight;
}

void QuantConv2dImpl::quantize(const LayerQuantSpec& spec)
{
    // Registration order (weight quantizer, then activation) matches the reference's state dict.
    quanW = register_module("quan_w_fn", LsqQuantizer(spec.weight, QuantizerRole::weight, weight.size(0)));
    quanW->initStepFromWeight(weight);
    quanA = register_module("quan_a_fn", LsqQuantizer(spec.act, QuantizerRole::activation, 1));
}

YoloNetworkImpl::YoloNetworkImpl(NetworkSpec spec) : spec_(std::move(spec))
{
    // "module_list.<i>" holders exist only for layers with parameters; that is enough for the
    // names to match, since children are addressed by name, not position.
    auto moduleList = register_module("module_list", std::make_shared<torch::nn::Module>());
    const size_t n = spec_.layers.size();
    convSlot_.assign(n, -1);
    outputNeeded_.assign(n, false);
    std::vector<int64_t> channels(n, 0);
    for (const LayerSpec& layer : spec_.layers) {
        const int i = layer.index;
        const int64_t prevChannels = i > 0 ? channels[i - 1] : spec_.channels;
        channels[i] = prevChannels;
        if (const auto* conv = std::get_if<ConvSpec>(&layer.params)) {
            ConvLayer entry;
            entry.index = i;
            entry.moduleName = convModuleName(i);
            entry.activation = conv->activation;
            auto holder = moduleList->register_module(std::to_string(i), std::make_shared<torch::nn::Module>());
            entry.conv = holder->register_module("conv_" + std::to_string(i), QuantConv2d(prevChannels, *conv));
            if (conv->batchNormalize)
                entry.batchNorm = holder->register_module(
                    "batch_norm_" + std::to_string(i),
                    torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(conv->filters).eps(1e-5).momentum(0.9)));
            convSlot_[i] = static_cast<int>(convLayers_.size());
            convLayers_.push_back(entry);
            channels[i] = conv->filters;
        } else if (const auto* route = std::get_if<RouteSpec>(&layer.params)) {
            channels[i] = 0;
            for (int from : route->layers) {
                channels[i] += channels[from];
                outputNeeded_[from] = true;
            }
        } else if (const auto* shortcut = std::get_if<ShortcutSpec>(&layer.params)) {
            outputNeeded_[shortcut->from] = true;
        }
    }
}

namespace {

torch::Tensor activate(const torch::Tensor& x, Activation activation)
{
    switch (activation) {
    case Activation::relu: return torch::relu(x);
    case Activation::leaky: return torch::leaky_relu(x, 0.1);
    case Activation::linear: break;
    }
    return x;
}

} // namespace

std::vector<torch::Tensor> YoloNetworkImpl::forward(const torch::Tensor& input, std::vector<torch::Tensor>* layerOutputs)
{
    const int multiple = spec_.requiredInputMultiple();
    if (input.dim() != 4 || input.size(1) != spec_.channels || input.size(2) % multiple != 0 ||
        input.size(3) % multiple != 0)
        throw Error("network input must be [N, " + std::to_string(spec_.channels) + ", H, W] with H and W multiples of " +
                    std::to_string(multiple) + ", got " + c10::str(input.sizes()));

    std::vector<torch::Tensor> outputs(spec_.layers.size());
    std::vector<torch::Tensor> heads;
    torch::Tensor x = execution_.channelsLast ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
    bool pooledAlready = false; // the conv before this 2x2 max-pool layer pooled its output
    for (const LayerSpec& layer : spec_.layers) {
        torch::Tensor y;
        if (pooledAlready) {
            y = x;
            pooledAlready = false;
        } else if (layer.isConv()) {
            ConvLayer& c = convLayers_[static_cast<size_t>(convSlot_[layer.index])];
            y = c.conv(x);
            if (c.batchNorm && poolsAfterBatchNorm(layer.index, y, layerOutputs != nullptr)) {
                y = batchNormMaxPool2x2(*c.batchNorm, y); // this layer's output is the next one's
                pooledAlready = true;
            } else if (c.batchNorm) {
                if (batchNormOverride_ && is_training())
                    y = batchNormOverride_(*c.batchNorm, y);
                else if (execution_.fastBatchNorm && is_training() && batchNormChannelsLastFits(y))
                    y = batchNormChannelsLast(*c.batchNorm, y);
                else
                    y = c.batchNorm(y);
            }
            y = activate(y, c.activation);
        } else if (const auto* pool = std::get_if<MaxpoolSpec>(&layer.params)) {
            const int64_t pad = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
            if (execution_.fastMaxPool && pool->size == 2 && pool->stride == 2)
                y = maxPool2x2(x);
            else
                y = torch::max_pool2d(x, {pool->size, pool->size}, {pool->stride, pool->stride}, {pad, pad});
        } else if (const auto* route = std::get_if<RouteSpec>(&layer.params)) {
            if (route->layers.size() == 1) {
                y = outputs[route->layers.front()];
            } else {
                std::vector<torch::Tensor> parts;
                for (int from : route->layers)
                    parts.push_back(outputs[from]);
                y = torch::cat(parts, 1);
            }
        } else if (const auto* up = std::get_if<UpsampleSpec>(&layer.params)) {
            y = torch::upsample_nearest2d(x, {x.size(2) * up->stride, x.size(3) * up->stride});
        } else if (const auto* shortcut = std::get_if<ShortcutSpec>(&layer.params)) {
            y = activate(outputs[shortcut->from] + x, shortcut->activation);
        } else if (layer.isYolo()) {
            if (execution_.channelsLast)
                x = x.contiguous(); // the head's consumers view it as [N, A, 5+C, H, W]
            x = x.to(torch::kFloat); // the loss and decoding in f32 (bf16 precision ends here)
            heads.push_back(x);
            y = x;
            if (layerOutputs) {
                layerOutputs->resize(spec_.layers.size());
                (*layerOutputs)[layer.index] = decodeYoloOutput(x, layer.yolo(), input.size(2));
            }
        }
        if (outputNeeded_[layer.index])
            outputs[layer.index] = y;
        if (layerOutputs && !layer.isYolo()) {
            layerOutputs->resize(spec_.layers.size());
            (*layerOutputs)[layer.index] = y;
        }
        x = y;
    }
    return heads;
}

bool YoloNetworkImpl::poolsAfterBatchNorm(int layerIndex, const torch::Tensor& convOutput, bool keepsLayerOutputs) const
{
    const auto next = static_cast<size_t>(layerIndex) + 1;
    if (!is_training() || !execution_.fastBatchNorm || !execution_.fastMaxPool || batchNormOverride_ ||
        keepsLayerOutputs || outputNeeded_[static_cast<size_t>(layerIndex)] || next >= spec_.layers.size())
        return false;
    const ConvLayer& c = convLayers_[static_cast<size_t>(convSlot_[layerIndex])];
    const auto* pool = std::get_if<MaxpoolSpec>(&spec_.layers[next].params);
    return c.activation == Activation::linear && pool && pool->size == 2 && pool->stride == 2 &&
           batchNormMaxPool2x2Fits(convOutput);
}

void YoloNetworkImpl::setActivationBatchFactor(double factor)
{
    for (auto [name, q] : quantizers())
        if (q->role() == QuantizerRole::activation)
            q->setBatchFactor(factor);
}

torch::Tensor YoloNetworkImpl::detect(const torch::Tensor& input)
{
    const std::vector<torch::Tensor> heads = forward(input);
    const std::vector<int> yolo = spec_.yoloIndices();
    std::vector<torch::Tensor> decoded;
    for (size_t k = 0; k < heads.size(); ++k)
        decoded.push_back(decodeYoloOutput(heads[k], spec_.layers[yolo[k]].yolo(), input.size(2)));
    return decoded.size() == 1 ? decoded.front() : torch::cat(decoded, 1);
}

void YoloNetworkImpl::initializeLikeReference()
{
    torch::NoGradGuard noGrad;
    for (ConvLayer& c : convLayers_) {
        c.conv->weight.normal_(0.0, 0.02);
        if (c.batchNorm) {
            c.batchNorm->weight.normal_(1.0, 0.02);
            c.batchNorm->bias.zero_();
        }
    }
}

std::vector<std::string> YoloNetworkImpl::quantize(const QuantConfig& config)
{
    if (quantConfig_)
        throw Error("the network is already quantized");
    std::vector<std::string> names;
    for (const ConvLayer& c : convLayers_)
        names.push_back(c.moduleName);
    std::vector<std::string> warnings = checkQuantConfigAgainst(config, names, "bit-width config");
    for (ConvLayer& c : convLayers_)
        c.conv->quantize(config.forModule(c.moduleName));
    quantConfig_ = config;
    setExecution(execution_); // the new quantizers follow the execution's kernel
    return warnings;
}

void YoloNetworkImpl::calibrateActivationSteps(const at::Tensor& images, StepCalibration calibration)
{
    at::NoGradGuard noGrad;
    for (auto& c : convLayers_)
        if (c.conv->quanA && c.conv->quanA->spec().enabled()) {
            c.conv->calibrateActivationStep = true;
            c.conv->activationCalibration = calibration;
        }
    const bool wasTraining = is_training();
    eval();
    forward(images);
    if (wasTraining)
        train();
}

void YoloNetworkImpl::setQuantKernel(QuantKernel kernel)
{
    for (auto& [name, q] : quantizers())
        q->setKernel(kernel);
}

void YoloNetworkImpl::setExecution(const NetworkExecution& execution)
{
    execution_ = execution;
    setQuantKernel(execution.fusedQuantizer ? QuantKernel::fused : QuantKernel::reference);
    if (execution.precision != Precision::fp32)
        requirePrecision(execution.precision, "the network");
    for (ConvLayer& c : convLayers_) {
        c.conv->channelsLast = execution.channelsLast;
        c.conv->precision = execution.precision;
    }
}

std::vector<std::pair<std::string, LsqQuantizer>> YoloNetworkImpl::quantizers() const
{
    std::vector<std::pair<std::string, LsqQuantizer>> out;
    for (const ConvLayer& c : convLayers_) {
        if (c.conv->quanW)
            out.emplace_back(c.moduleName + ".quan_w_fn", c.conv->quanW);
        if (c.conv->quanA)
            out.emplace_back(c.moduleName + ".quan_a_fn", c.conv->quanA);
    }
    return out;
}

} // namespace tyq
