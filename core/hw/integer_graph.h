// How an integer model's graph follows from its convs: which consumer quantizers each layer's
// output reaches (code domains), the checks that make the graph integer-only, the accumulator
// bounds, and each conv's requantization tables or float output. Shared by the export, which
// derives them from a network, and the reader, which derives them again from the folder and
// checks the folder against them.
#pragma once

#include "hw/integer_model.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace tyq {

struct CodeDomains {
    std::vector<std::vector<int>> codesFor; ///< per layer, sorted (kFloatDomain first)
    std::set<int> imageDomains;             ///< domains that read the image itself
};

/// Walks back from every conv input and every yolo input through the layers that only move
/// values (max-pool, upsample, route, a yolo layer) to the convs (or the image) producing them.
CodeDomains traceCodeDomains(const NetworkSpec& spec);

/// Every conv input must be quantized except where it is the image itself; throws tyq::Error
/// naming the layer otherwise (also for a leaky activation before a quantizer).
void checkInputQuantizers(const NetworkSpec& spec, const CodeDomains& domains,
                          const std::function<const QuantizerSpec&(int)>& inputQuantizer);

/// Per output channel, the largest |sum q_a * q_w| reachable with inputs in [inputQmin, inputQmax].
std::vector<int64_t> accumulatorBounds(const at::Tensor& weightCodes, int inputQmin, int inputQmax);

/// Throws tyq::Error (naming `where`) when an accumulator can leave int32.
void checkAccumulator(const IntegerConvLayer& layer, const std::string& where);

/// Sets a conv's input code range and step: its quantizer's, or the image's 8-bit pixels.
void setInputCodes(IntegerConvLayer& layer, double learnedStep);

/// Fills every conv's requantization tables (one per consumer) or its float output.
void deriveOutputs(IntegerModel& model, const CodeDomains& domains);

} // namespace tyq
