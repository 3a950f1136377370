#include "hw/integer_graph.h"

#include "common/error.h"
#include "model/darknet_cfg.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace tyq {
namespace {

constexpr int64_t kInt32Max = 2147483647;

} // namespace

// ---------------------------------------------------------------------------------------------
// The graph: which consumer quantizers each layer's output reaches.

// Walks back from every conv input and every yolo input through the layers that only move
// values (max-pool, upsample, route, and a yolo layer, which passes its input on) to the convs
// (or the image) that produce them. Pool, upsample and concat commute with an elementwise
// monotone quantizer, so a producer can be requantized straight to each consumer's codes.
CodeDomains traceCodeDomains(const NetworkSpec& spec)
{
    const int n = static_cast<int>(spec.layers.size());
    std::vector<std::set<int>> sets(static_cast<size_t>(n));
    CodeDomains domains;
    std::function<void(int, int)> mark = [&](int layer, int domain) {
        if (layer < 0) {
            domains.imageDomains.insert(domain);
            return;
        }
        if (!sets[static_cast<size_t>(layer)].insert(domain).second)
            return;
        const LayerSpec& l = spec.layers[static_cast<size_t>(layer)];
        if (l.isConv())
            return;
        if (const auto* route = std::get_if<RouteSpec>(&l.params)) {
            for (int from : route->layers)
                mark(from, domain);
        } else if (std::holds_alternative<ShortcutSpec>(l.params)) {
            throw Error("layer " + std::to_string(layer) +
                        " (shortcut) adds two tensors with different step sizes: the integer export does not "
                        "support shortcut layers");
        } else {
            mark(layer - 1, domain); // maxpool, upsample, yolo
        }
    };
    for (const LayerSpec& l : spec.layers) {
        if (l.isConv())
            mark(l.index - 1, l.index);
        else if (l.isYolo())
            mark(l.index - 1, kFloatDomain);
    }
    for (const std::set<int>& s : sets)
        domains.codesFor.emplace_back(s.begin(), s.end());
    return domains;
}

// Input quantizers: every conv input must be quantized except where it is the image itself.
void checkInputQuantizers(const NetworkSpec& spec, const CodeDomains& domains,
                          const std::function<const QuantizerSpec&(int)>& inputQuantizer)
{
    for (int domain : domains.imageDomains) {
        if (domain == kFloatDomain)
            throw Error("a yolo layer reads the image itself: nothing to export");
        if (inputQuantizer(domain).enabled())
            throw Error(convModuleName(domain) +
                        ": quantizes the image itself (act bit > 0); the integer export takes pixels as 8-bit "
                        "codes with step 1: set this layer's act bit to 0");
    }
    for (const LayerSpec& l : spec.layers) {
        if (!l.isConv())
            continue;
        for (int domain : domains.codesFor[static_cast<size_t>(l.index)]) {
            if (domain == kFloatDomain)
                continue;
            if (!inputQuantizer(domain).enabled())
                throw Error(convModuleName(domain) + ": its input activation is not quantized (bit 0) but comes from layer " +
                            std::to_string(l.index) + ", so it is float: give it a bit-width to export integers");
            if (l.conv().activation == Activation::leaky)
                throw Error(convModuleName(l.index) +
                            ": a leaky activation before a quantizer has no exact integer form (use linear or relu)");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Folding: z_c = A_c acc + B_c for each output channel.

namespace {

struct Folded {
    std::vector<double> scale, offset;
};

Folded foldLayer(const IntegerConvLayer& layer)
{
    Folded f;
    const int64_t out = layer.outChannels;
    at::Tensor bn, bias;
    if (layer.batchNorm.defined())
        bn = layer.batchNorm.to(at::kDouble).contiguous();
    if (layer.bias.defined())
        bias = layer.bias.to(at::kDouble).contiguous();
    for (int64_t c = 0; c < out; ++c) {
        const double sw = layer.weightStep.size() == 1 ? layer.weightStep[0] : layer.weightStep[static_cast<size_t>(c)];
        double a = layer.inputStep * sw;
        double b = bias.defined() ? bias.data_ptr<double>()[c] : 0.0;
        if (bn.defined()) {
            const double* p = bn.data_ptr<double>();
            const double gamma = p[c], beta = p[out + c], mean = p[2 * out + c], var = p[3 * out + c];
            const double inv = 1.0 / std::sqrt(var + layer.batchNormEps);
            a = gamma * inv * a;
            b = beta + gamma * inv * (b - mean);
        }
        f.scale.push_back(a);
        f.offset.push_back(b);
    }
    return f;
}

} // namespace

std::vector<int64_t> accumulatorBounds(const at::Tensor& weightCodes, int inputQmin, int inputQmax)
{
    const int64_t maxInput = std::max(std::abs(inputQmin), std::abs(inputQmax));
    const at::Tensor perChannel = weightCodes.to(at::kLong).abs().flatten(1).sum(1).contiguous();
    std::vector<int64_t> bounds;
    for (int64_t c = 0; c < perChannel.size(0); ++c)
        bounds.push_back(perChannel.data_ptr<int64_t>()[c] * maxInput);
    return bounds;
}

namespace {

Requantization requantizationFor(const IntegerConvLayer& producer, const Folded& folded, const IntegerConvLayer& consumer)
{
    int qmin = consumer.inputQmin;
    if (producer.activation == Activation::relu)
        qmin = std::max(qmin, 0); // relu, then an elementwise monotone quantizer: clamp at code 0
    Requantization r = makeRequantization(folded.scale, folded.offset, consumer.inputStep, consumer.inputBits, qmin,
                                          consumer.inputQmax, producer.accumulatorBound);
    r.consumer = consumer.index;
    return r;
}

void setFloatOutput(IntegerConvLayer& layer, const Folded& folded)
{
    layer.floatOutput = true;
    layer.floatScale.assign(folded.scale.begin(), folded.scale.end());
    layer.floatBias.assign(folded.offset.begin(), folded.offset.end());
}

// Fills requantizations and float outputs of every conv from the graph and the float parameters.

} // namespace

void deriveOutputs(IntegerModel& model, const CodeDomains& domains)
{
    for (IntegerConvLayer& layer : model.convs) {
        const Folded folded = foldLayer(layer);
        layer.requantizations.clear();
        layer.floatOutput = false;
        for (int domain : domains.codesFor[static_cast<size_t>(layer.index)]) {
            if (domain == kFloatDomain)
                setFloatOutput(layer, folded);
            else
                layer.requantizations.push_back(requantizationFor(layer, folded, *model.conv(domain)));
        }
    }
}

void setInputCodes(IntegerConvLayer& layer, double learnedStep)
{
    if (layer.inputQuantizer.enabled()) {
        layer.inputBits = layer.inputQuantizer.bit;
        layer.inputQmin = layer.inputQuantizer.qmin();
        layer.inputQmax = layer.inputQuantizer.qmax();
        layer.inputStep = learnedStep;
    } else { // the image: 8-bit unsigned pixels, step 1
        layer.inputBits = 8;
        layer.inputQmin = 0;
        layer.inputQmax = 255;
        layer.inputStep = 1.0;
    }
}

void checkAccumulator(const IntegerConvLayer& layer, const std::string& where)
{
    for (int64_t bound : layer.accumulatorBound)
        if (bound > kInt32Max)
            throw Error(where + ": accumulators can reach " + std::to_string(bound) +
                        ", beyond int32 (fewer bits or a smaller layer)");
}

} // namespace tyq
