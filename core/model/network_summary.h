// What a network costs at given bit-widths, without building it: per-layer shapes, parameters,
// MACs and bits, and totals (model size against fp32, bit-operations). Shared by `tyq info`
// and the studio's quantization editor, so both show the same numbers.
#pragma once

#include "model/darknet_cfg.h"
#include "quant/quant_config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tyq {

/// Bits of an image pixel, the input width a quantized network's first conv is costed at.
inline constexpr int kImagePixelBits = 8;

struct TensorShape {
    int64_t channels = 0, height = 0, width = 0;
    std::string str() const; ///< "CxHxW"
};

struct LayerSummary {
    int index = 0;
    std::string type;       ///< "convolutional", "maxpool", ...
    std::string moduleName; ///< module_list.<i>.conv_<i> for convs, else empty
    std::string detail;     ///< "3x3/1 relu bn", "2x2/2", "layers 18,9", ...
    TensorShape input, output;
    int64_t kernel = 0;        ///< convs: kernel size
    int64_t parameters = 0;    ///< weights + bias + BN affine (not running stats)
    int64_t weightCount = 0;   ///< conv weights only
    int64_t macs = 0;          ///< multiply-accumulates for one image
    int weightBits = 32;       ///< 32 = not quantized
    int activationBits = 32;   ///< bits of this conv's input activation (the image's: imageBits)
    bool inputIsImage = false; ///< the conv reads the image, not another layer
    bool quantOverridden = false; ///< an `excepts` entry applies
    int64_t sizeBits = 0;      ///< storage of this layer's parameters at its bit-width
    int64_t bitOps = 0;        ///< macs x weightBits x activationBits
};

struct NetworkSummary {
    std::vector<LayerSummary> layers;
    int inputWidth = 0, inputHeight = 0;
    int64_t parameters = 0;
    int64_t macs = 0;
    int64_t sizeBitsFp32 = 0;      ///< every parameter at 32 bits
    int64_t sizeBitsQuantized = 0; ///< conv weights at their bit-width, step sizes, rest at 32
    /// The cost model's width of the image input: a quantized network reads the image as 8-bit
    /// pixel codes (as the integer export does) unless the first conv quantizes it itself. The
    /// fp network reads it as fp32.
    int imageBits = 32;
    int64_t bitOps = 0;            ///< sum over convs of macs x wbits x abits
    int64_t bitOpsFp32 = 0;        ///< the same at 32 x 32
    double compression() const { return sizeBitsQuantized > 0 ? double(sizeBitsFp32) / double(sizeBitsQuantized) : 1.0; }
    /// Bits per conv weight, averaged over all conv weights (fp weights count 32).
    double averageWeightBits() const;
};

/// Shapes and costs at the given input size (0 = the cfg's). Without `quant`, the fp network.
/// Throws tyq::Error when the input size is not a multiple of the network's downsampling.
NetworkSummary summarizeNetwork(const NetworkSpec& spec, const QuantConfig* quant = nullptr, int width = 0,
                                int height = 0);

/// A terminal table with the totals below it (what `tyq info` prints).
std::string formatNetworkSummary(const NetworkSummary& summary);

} // namespace tyq
