#include "model/network_summary.h"

#include "common/error.h"

#include <fmt/format.h>

#include <algorithm>

namespace tyq {

std::string TensorShape::str() const
{
    return fmt::format("{}x{}x{}", channels, height, width);
}

double NetworkSummary::averageWeightBits() const
{
    double bits = 0, weights = 0;
    for (const LayerSummary& l : layers) {
        bits += static_cast<double>(l.weightCount) * l.weightBits;
        weights += static_cast<double>(l.weightCount);
    }
    return weights > 0 ? bits / weights : 0.0;
}

NetworkSummary summarizeNetwork(const NetworkSpec& spec, const QuantConfig* quant, int width, int height)
{
    NetworkSummary summary;
    summary.inputWidth = width > 0 ? width : spec.width;
    summary.inputHeight = height > 0 ? height : spec.height;
    summary.imageBits = quant ? kImagePixelBits : 32;
    const int multiple = spec.requiredInputMultiple();
    if (summary.inputWidth % multiple != 0 || summary.inputHeight % multiple != 0)
        throw Error(fmt::format("{}: input size {}x{} is not a multiple of {} (the network's downsampling)",
                                spec.source, summary.inputWidth, summary.inputHeight, multiple));

    std::vector<TensorShape> outputs;
    for (const LayerSpec& layer : spec.layers) {
        LayerSummary s;
        s.index = layer.index;
        s.type = layer.typeName();
        s.input = layer.index > 0 ? outputs.back() : TensorShape{spec.channels, summary.inputHeight, summary.inputWidth};
        s.output = s.input;
        if (const auto* conv = std::get_if<ConvSpec>(&layer.params)) {
            s.moduleName = convModuleName(layer.index);
            s.kernel = conv->size;
            s.output.channels = conv->filters;
            s.output.height = (s.input.height + 2 * conv->padding - conv->size) / conv->stride + 1;
            s.output.width = (s.input.width + 2 * conv->padding - conv->size) / conv->stride + 1;
            s.weightCount = int64_t(conv->filters) * s.input.channels * conv->size * conv->size;
            const int64_t extra = conv->batchNormalize ? 2 * conv->filters : conv->filters; // BN affine or bias
            s.parameters = s.weightCount + extra;
            s.macs = s.weightCount * s.output.height * s.output.width;
            s.detail = fmt::format("{}x{}/{}{}{}", conv->size, conv->size, conv->stride,
                                   conv->activation == Activation::linear ? "" : std::string(" ") + activationName(conv->activation),
                                   conv->batchNormalize ? " bn" : "");
            s.inputIsImage = layer.index == 0;
            int64_t stepSizes = 0;
            if (quant) {
                const LayerQuantSpec q = quant->forModule(s.moduleName);
                s.weightBits = q.weight.enabled() ? q.weight.bit : 32;
                s.activationBits = q.act.enabled() ? q.act.bit : s.inputIsImage ? summary.imageBits : 32;
                s.quantOverridden = quant->overrideFor(s.moduleName) != nullptr;
                stepSizes = (q.weight.perChannel ? conv->filters : 1) + 1;
            }
            s.sizeBits = s.weightCount * s.weightBits + (extra + stepSizes) * 32;
            s.bitOps = s.macs * s.weightBits * s.activationBits;
            summary.parameters += s.parameters;
            summary.macs += s.macs;
            summary.sizeBitsFp32 += s.parameters * 32;
            summary.sizeBitsQuantized += s.sizeBits;
            summary.bitOps += s.bitOps;
            summary.bitOpsFp32 += s.macs * 32 * 32;
        } else if (const auto* pool = std::get_if<MaxpoolSpec>(&layer.params)) {
            const int64_t pad = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
            s.output.height = (s.input.height + 2 * pad - pool->size) / pool->stride + 1;
            s.output.width = (s.input.width + 2 * pad - pool->size) / pool->stride + 1;
            s.detail = fmt::format("{}x{}/{}", pool->size, pool->size, pool->stride);
        } else if (const auto* route = std::get_if<RouteSpec>(&layer.params)) {
            s.output = outputs[route->layers.front()];
            s.output.channels = 0;
            std::string list;
            for (int from : route->layers) {
                s.output.channels += outputs[from].channels;
                list += (list.empty() ? "" : ",") + std::to_string(from);
            }
            s.detail = "layers " + list;
        } else if (const auto* up = std::get_if<UpsampleSpec>(&layer.params)) {
            s.output.height *= up->stride;
            s.output.width *= up->stride;
            s.detail = fmt::format("x{} nearest", up->stride);
        } else if (const auto* sc = std::get_if<ShortcutSpec>(&layer.params)) {
            s.detail = fmt::format("+ layer {}", sc->from);
        } else if (layer.isYolo()) {
            const YoloSpec& y = layer.yolo();
            s.detail = fmt::format("{} anchors, {} classes", y.anchors.size(), y.classes);
        }
        outputs.push_back(s.output);
        summary.layers.push_back(std::move(s));
    }
    return summary;
}

std::string formatNetworkSummary(const NetworkSummary& summary)
{
    auto bits = [](int b) { return b >= 32 ? std::string("fp32") : std::to_string(b); };
    // "8px": the first conv reads the image's pixel codes, not a quantizer's.
    auto inputBits = [&](const LayerSummary& s) {
        return s.inputIsImage && s.activationBits < 32 && s.activationBits == summary.imageBits
                   ? std::to_string(s.activationBits) + "px"
                   : bits(s.activationBits);
    };
    std::string out = fmt::format("{:>3}  {:<22} {:<14} {:<18} {:>12} {:>12} {:>10} {:>12} {:>5} {:>5}\n", "#",
                                  "module", "type", "detail", "input", "output", "params", "MACs", "W", "A");
    for (const LayerSummary& s : summary.layers) {
        const bool conv = !s.moduleName.empty();
        out += fmt::format("{:>3}  {:<22} {:<14} {:<18} {:>12} {:>12} {:>10} {:>12} {:>5} {:>5}{}\n", s.index,
                           conv ? s.moduleName : "", s.type, s.detail, s.input.str(), s.output.str(),
                           conv ? std::to_string(s.parameters) : "", conv ? std::to_string(s.macs) : "",
                           conv ? bits(s.weightBits) : "", conv ? inputBits(s) : "",
                           s.quantOverridden ? "  *" : "");
    }
    const double mib = 8.0 * 1024 * 1024;
    out += fmt::format("\ninput {}x{}   parameters {}   MACs {} ({:.3f} GMAC per image)\n", summary.inputWidth,
                       summary.inputHeight, summary.parameters, summary.macs, summary.macs / 1e9);
    out += fmt::format("model size: fp32 {:.3f} MiB, at these bit-widths {:.3f} MiB ({:.2f}x smaller)\n",
                       summary.sizeBitsFp32 / mib, summary.sizeBitsQuantized / mib, summary.compression());
    out += fmt::format("bit-operations: {:.3f} G (fp32 x fp32: {:.1f} G, {:.1f}x fewer; image input at {} bits)\n",
                       summary.bitOps / 1e9, summary.bitOpsFp32 / 1e9,
                       summary.bitOps > 0 ? double(summary.bitOpsFp32) / double(summary.bitOps) : 1.0,
                       summary.imageBits);
    if (std::any_of(summary.layers.begin(), summary.layers.end(), [](const LayerSummary& s) { return s.quantOverridden; }))
        out += "* per-layer override (excepts)\n";
    return out;
}

} // namespace tyq
