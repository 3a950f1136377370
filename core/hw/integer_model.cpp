#include "hw/integer_model.h"

#include "common/error.h"
#include "hw/bit_packing.h"
#include "hw/integer_graph.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace tyq {
namespace {

std::vector<double> tensorValues(const at::Tensor& t)
{
    const at::Tensor d = t.detach().to(at::kDouble).contiguous().flatten();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

} // namespace


const Requantization* IntegerConvLayer::requantizationFor(int consumer) const
{
    for (const Requantization& r : requantizations)
        if (r.consumer == consumer)
            return &r;
    return nullptr;
}

const IntegerConvLayer* IntegerModel::conv(int layerIndex) const
{
    for (const IntegerConvLayer& c : convs)
        if (c.index == layerIndex)
            return &c;
    return nullptr;
}

at::ScalarType codeDtype(int qmin, int qmax)
{
    if (qmin >= -128 && qmax <= 127)
        return at::kChar;
    if (qmin >= 0 && qmax <= 255)
        return at::kByte;
    if (qmin >= -32768 && qmax <= 32767)
        return at::kShort;
    return at::kInt;
}

IntegerModel exportIntegerModel(const YoloNetworkImpl& network, const std::string& source)
{
    const std::string what = source.empty() ? std::string("the model") : source;
    if (!network.quantized())
        throw Error(what + ": is a full-precision model; the integer export needs a quantized (LSQ) model "
                           "(give its bit-width YAML with --quant, or train one with tyq train --quant)");
    at::NoGradGuard noGrad;
    IntegerModel model;
    model.spec = network.spec();
    model.source = source;

    for (const YoloNetworkImpl::ConvLayer& c : network.convLayers()) {
        const QuantConv2dImpl& conv = *c.conv;
        const ConvSpec& spec = model.spec.layers[static_cast<size_t>(c.index)].conv();
        IntegerConvLayer layer;
        layer.index = c.index;
        layer.inChannels = static_cast<int>(conv.weight.size(1));
        layer.outChannels = static_cast<int>(conv.weight.size(0));
        layer.size = spec.size;
        layer.stride = spec.stride;
        layer.padding = spec.padding;
        layer.batchNormalize = static_cast<bool>(c.batchNorm);
        layer.activation = c.activation;
        if (!conv.quanW || !conv.quanW->spec().enabled())
            throw Error(what + ": " + c.moduleName +
                        ": weights are not quantized (bit 0): a full-precision layer has no integer form; give it a "
                        "weight bit-width and fine-tune");
        layer.weightQuantizer = conv.quanW->spec();
        layer.inputQuantizer = conv.quanA->spec();
        setInputCodes(layer, conv.quanA->s.item<double>());
        layer.weightStep = tensorValues(conv.quanW->s);
        // The codes exactly as the fake-quantized forward computes them.
        const at::Tensor codes = conv.quanW->codes(conv.weight.detach());
        layer.weightCodes = codes.to(codeDtype(layer.weightQuantizer.qmin(), layer.weightQuantizer.qmax())).contiguous();
        if (c.batchNorm) {
            const auto& bn = *c.batchNorm;
            layer.batchNorm = at::stack({bn.weight.detach(), bn.bias.detach(), bn.running_mean.detach(),
                                         bn.running_var.detach()})
                                  .to(at::kFloat)
                                  .contiguous();
            layer.batchNormEps = bn.options.eps();
        }
        if (conv.bias.defined())
            layer.bias = conv.bias.detach().to(at::kFloat).clone();
        layer.accumulatorBound = accumulatorBounds(layer.weightCodes, layer.inputQmin, layer.inputQmax);
        checkAccumulator(layer, what + ": " + c.moduleName);
        model.convs.push_back(std::move(layer));
    }

    const CodeDomains domains = traceCodeDomains(model.spec);
    checkInputQuantizers(model.spec, domains, [&](int j) -> const QuantizerSpec& { return model.conv(j)->inputQuantizer; });
    model.codesFor = domains.codesFor;
    deriveOutputs(model, domains);

    int64_t offset = 0;
    for (IntegerConvLayer& layer : model.convs) {
        layer.packedOffset = offset;
        layer.packedBytes = static_cast<int64_t>(
            packedByteCount(static_cast<size_t>(layer.weightCodes.numel()), layer.weightQuantizer.bit));
        offset += layer.packedBytes;
    }
    return model;
}

YoloNetwork networkFromIntegerModel(const IntegerModel& model)
{
    YoloNetwork network(model.spec);
    QuantConfig config;
    for (const IntegerConvLayer& c : model.convs) {
        LayerQuantOverride o;
        o.act = {c.inputQuantizer.mode, c.inputQuantizer.bit, c.inputQuantizer.perChannel, c.inputQuantizer.symmetric,
                 c.inputQuantizer.allPositive};
        o.weight = {c.weightQuantizer.mode, c.weightQuantizer.bit, c.weightQuantizer.perChannel,
                    c.weightQuantizer.symmetric, c.weightQuantizer.allPositive};
        config.excepts.emplace_back(convModuleName(c.index), o);
    }
    network->quantize(config);
    at::NoGradGuard noGrad;
    for (YoloNetworkImpl::ConvLayer& layer : network->convLayers()) {
        const IntegerConvLayer& c = *model.conv(layer.index);
        QuantConv2dImpl& conv = *layer.conv;
        const at::Tensor steps = at::tensor(c.weightStep, at::kDouble).to(at::kFloat);
        conv.quanW->s.copy_(steps.reshape(conv.quanW->s.sizes()));
        const at::Tensor stepPerChannel = steps.numel() == 1 ? steps.reshape({}) : steps.reshape({-1, 1, 1, 1});
        conv.weight.copy_(c.weightCodes.to(at::kFloat) * stepPerChannel);
        if (c.inputQuantizer.enabled())
            conv.quanA->s.fill_(c.inputStep);
        if (c.bias.defined())
            conv.bias.copy_(c.bias);
        if (layer.batchNorm) {
            layer.batchNorm->weight.copy_(c.batchNorm[0]);
            layer.batchNorm->bias.copy_(c.batchNorm[1]);
            layer.batchNorm->running_mean.copy_(c.batchNorm[2]);
            layer.batchNorm->running_var.copy_(c.batchNorm[3]);
        }
    }
    network->eval();
    return network;
}

} // namespace tyq
