#include "train/divergence.h"

#include "model/darknet_cfg.h"
#include "model/yolo_network.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace tyq {
namespace {

// The first layer whose output holds NaN/Inf ("layer 5 (convolutional, ...)"), or empty.
std::string firstNonFiniteLayer(YoloNetworkImpl& network, const at::Tensor& images)
{
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> outputs;
    try {
        network.forward(images, &outputs);
    } catch (const c10::Error&) {
        return {};
    }
    const NetworkSpec& spec = network.spec();
    for (size_t i = 0; i < outputs.size() && i < spec.layers.size(); ++i) {
        if (!outputs[i].defined() || !outputs[i].is_floating_point() || at::isfinite(outputs[i]).all().item<bool>())
            continue;
        const LayerSpec& layer = spec.layers[i];
        return fmt::format("layer {} ({}{}, cfg line {})", i, layer.typeName(),
                           layer.isConv() ? ", " + convModuleName(layer.index) : std::string(), layer.line);
    }
    return {};
}

} // namespace

std::string firstNonFiniteParameter(const torch::nn::Module& module)
{
    for (const auto& p : module.named_parameters())
        if (!at::isfinite(p.value()).all().item<bool>())
            return p.key();
    return {};
}

std::string divergenceCulprit(YoloNetworkImpl& network, const at::Tensor& images)
{
    if (const std::string parameter = firstNonFiniteParameter(network); !parameter.empty())
        return "first non-finite parameter: " + parameter;
    const std::string layer = firstNonFiniteLayer(network, images);
    return layer.empty() ? "every layer's output is finite; the loss computation overflowed"
                         : "first non-finite output: " + layer;
}

} // namespace tyq
