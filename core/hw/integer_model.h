// The integer network a hardware engineer implements: per conv, weight codes and the
// per-channel fixed-point requantization to every consumer's input codes; the graph with the
// layers that only move codes (max-pool, route, upsample); float only where the model itself is
// float (the last conv's bias, the yolo decode). Built from a quantized network, written to and
// read back from a folder (hw/integer_model_files.h: manifest.json, .npy files, a bit-packed
// weight file); the README's "Hardware export" section documents the arithmetic and the formats.
#pragma once

#include "hw/requantization.h"
#include "model/darknet_cfg.h"
#include "model/yolo_network.h"
#include "quant/quant_config.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tyq {

/// The code domain of values a yolo layer reads: float, not codes.
constexpr int kFloatDomain = -1;

struct IntegerConvLayer {
    int index = 0;
    int inChannels = 0, outChannels = 0, size = 1, stride = 1, padding = 0;
    bool batchNormalize = false;
    Activation activation = Activation::linear;

    /// The conv's input quantizer as configured; bit 0 only for the image (8-bit pixel codes).
    QuantizerSpec inputQuantizer;
    int inputBits = 0, inputQmin = 0, inputQmax = 0;
    double inputStep = 1; ///< s_a (1 for pixels)

    QuantizerSpec weightQuantizer;
    std::vector<double> weightStep; ///< s_w: one value, or one per output channel
    at::Tensor weightCodes;         ///< [O, I, k, k], int8 (bits <= 8) or int16

    /// Float parameters the requantization is derived from (for rebuilding and checking).
    at::Tensor batchNorm; ///< float32 [4, O]: gamma, beta, running mean, running var; or undefined
    double batchNormEps = 1e-5;
    at::Tensor bias; ///< float32 [O]: the conv's own bias (layers without BN), or undefined

    /// Largest |accumulator| any input codes can produce, per output channel (< 2^31).
    std::vector<int64_t> accumulatorBound;
    /// Output codes for each consumer quantizer the output reaches, in consumer order.
    std::vector<Requantization> requantizations;
    /// Set when a yolo layer reads the output: z_c = floatScale_c * acc + floatBias_c in float32.
    bool floatOutput = false;
    std::vector<float> floatScale, floatBias;

    /// Position of this layer's codes in the packed weight file (filled when written or read).
    int64_t packedOffset = 0, packedBytes = 0;

    const Requantization* requantizationFor(int consumer) const;
};

struct IntegerModel {
    NetworkSpec spec;                      ///< the graph: layer types, sizes, routes, anchors
    std::vector<IntegerConvLayer> convs;   ///< in layer order
    std::vector<std::vector<int>> codesFor; ///< per layer: consumer convs (or kFloatDomain) its output feeds
    std::string source;                    ///< what the model was exported from

    /// The conv at a layer index, or nullptr.
    const IntegerConvLayer* conv(int layerIndex) const;
};

/// Builds the integer model of a quantized network from its current (eval-mode) parameters.
/// Throws tyq::Error, naming the layer, for what has no integer form: a full-precision network
/// or layer (bit 0 weights, an unquantized input that is not the image), a quantized image
/// input, shortcut layers, leaky activations before a quantizer, accumulators beyond int32.
IntegerModel exportIntegerModel(const YoloNetworkImpl& network, const std::string& source = "");

/// The fake-quantized network the integer model was exported from (weights = codes x step,
/// the same step sizes, batch norm and biases), in eval mode.
YoloNetwork networkFromIntegerModel(const IntegerModel& model);

/// Smallest .npy integer dtype holding [qmin, qmax]: int8, uint8, int16, else int32.
at::ScalarType codeDtype(int qmin, int qmax);

} // namespace tyq
