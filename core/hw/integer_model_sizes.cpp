#include "hw/integer_model_sizes.h"

#include "hw/bit_packing.h"

#include <fmt/format.h>

namespace tyq {

SizeReport integerModelSizes(const IntegerModel& model)
{
    SizeReport report;
    for (const IntegerConvLayer& c : model.convs) {
        LayerSize s;
        s.index = c.index;
        s.weights = c.weightCodes.numel();
        s.bits = c.weightQuantizer.bit;
        s.fp32Bytes = 4 * s.weights;
        s.packedBytes = static_cast<int64_t>(packedByteCount(static_cast<size_t>(s.weights), s.bits));
        s.paddingBits = static_cast<int>(8 * s.packedBytes - s.weights * s.bits);
        s.requantBytes = 12 * c.outChannels * static_cast<int64_t>(c.requantizations.size()) +
                         (c.floatOutput ? 8 * c.outChannels : 0);
        report.fp32WeightBytes += s.fp32Bytes;
        report.packedWeightBytes += s.packedBytes;
        report.requantBytes += s.requantBytes;
        report.fp32ModelBytes += s.fp32Bytes + 4 * c.outChannels * ((c.batchNorm.defined() ? 4 : 0) + (c.bias.defined() ? 1 : 0));
        report.layers.push_back(s);
    }
    return report;
}

std::string formatSizeReport(const SizeReport& report)
{
    std::string out = fmt::format("{:>5} {:>9} {:>4} {:>11} {:>12} {:>8} {:>13}\n", "layer", "weights", "bits",
                                  "fp32 bytes", "packed bytes", "pad bits", "requant bytes");
    for (const LayerSize& s : report.layers)
        out += fmt::format("{:>5} {:>9} {:>4} {:>11} {:>12} {:>8} {:>13}\n", s.index, s.weights, s.bits, s.fp32Bytes,
                           s.packedBytes, s.paddingBits, s.requantBytes);
    const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? double(a) / double(b) : 0.0; };
    out += fmt::format("weights: {} bytes fp32 -> {} bytes packed ({:.2f}x smaller)\n", report.fp32WeightBytes,
                       report.packedWeightBytes, ratio(report.fp32WeightBytes, report.packedWeightBytes));
    out += fmt::format("model: {} bytes fp32 (weights, biases, batch norm) -> {} bytes integer "
                       "(packed weights + {} bytes of requantization tables, {:.2f}x smaller)\n",
                       report.fp32ModelBytes, report.integerModelBytes(), report.requantBytes,
                       ratio(report.fp32ModelBytes, report.integerModelBytes()));
    return out;
}

} // namespace tyq
