// The integer-only inference of an exported network: int codes in, int32 accumulation (exact),
// the documented fixed-point requantization to each consumer's codes, max-pool / upsample /
// route on codes, and float only for the last conv's scale and bias and the yolo decode. Its
// outputs are what a hardware implementation must reproduce. The convolutions run on oneDNN's
// int8 kernels (hw/onednn_integer_conv.h) or, as the readable reference, plain int32 loops;
// both give the same accumulators bit for bit.
#pragma once

#include "hw/integer_model.h"

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tyq {

/// How the requantizations into one consumer's codes went.
struct RequantStats {
    int64_t values = 0;          ///< codes computed
    int64_t ties = 0;            ///< exactly halfway between two codes (rounded up)
    int64_t differFromExact = 0; ///< differ from rounding the exact real value half to even (with checkExact)
};

/// The tensors of one run, for dumps and layer-by-layer comparisons (batch dimension kept).
struct IntegerTrace {
    std::map<int, at::Tensor> convInputs;   ///< conv index -> int32 input codes [N, C, H, W]
    std::map<int, at::Tensor> accumulators; ///< conv index -> int32 accumulators [N, O, H, W]
    /// (layer, consumer conv or kFloatDomain) -> int32 codes (float32 for kFloatDomain)
    std::map<std::pair<int, int>, at::Tensor> outputs;
    std::map<int, RequantStats> requantStats; ///< consumer conv index -> stats of its input codes
};

struct IntegerRunOptions {
    IntegerTrace* trace = nullptr;
    /// Also round the exact real value M acc + C (double, half to even) and count where the
    /// fixed-point result differs (RequantStats::differFromExact).
    bool checkExact = false;
    /// conv index -> int32 input codes to use instead of the computed ones (to check one layer
    /// at a time against another implementation).
    const std::map<int, at::Tensor>* forcedInputs = nullptr;
};

class OneDnnIntegerConv;
namespace kernels {
struct FusedConvWeights;
}
struct ChannelsLastRequantization; // a Requantization in the channels-last kernel's form (integer_engine.cpp)

/// How the engine's convolutions run. Both give identical accumulators (unit.IntegerEngineKernels).
enum class IntegerConvKernel {
    reference, ///< plain int32 loops: exact and readable, about a second per 512x288 image
    onednn,    ///< oneDNN u8/s8 x s8 -> s32; a layer it cannot compute exactly here uses the loops
};

class IntegerEngine {
public:
    explicit IntegerEngine(IntegerModel model, IntegerConvKernel kernel = IntegerConvKernel::onednn);

    /// Raw outputs of the yolo layers, float32 [N, A*(5+C), H, W]. `image` is [N, 3, H, W] with
    /// integer pixel values 0..255 (any dtype); throws tyq::Error otherwise.
    std::vector<at::Tensor> forward(const at::Tensor& image, const IntegerRunOptions& options = {}) const;

    /// Decoded rows [N, rows, 5+C], as YoloNetworkImpl::detect.
    at::Tensor detect(const at::Tensor& image, const IntegerRunOptions& options = {}) const;

    const IntegerModel& model() const { return model_; }
    IntegerConvKernel kernel() const { return kernel_; }
    /// Which path the convolutions take here: "oneDNN int8 (AVX-512 with VNNI): 10 of 10 convs",
    /// with the reason for any layer on the loops, the convs fused with their pool, and, once an
    /// image has run, the kernels oneDNN chose; or "int32 loops (reference)".
    std::string kernelDescription() const;
    const NetworkSpec& spec() const { return model_.spec; }

private:
    IntegerModel model_;
    std::map<int, at::Tensor> weights_; ///< conv index -> int32 weight codes, contiguous
    IntegerConvKernel kernel_;
    std::map<int, std::shared_ptr<OneDnnIntegerConv>> fastConvs_; ///< conv index -> its oneDNN form
    /// With oneDNN, codes stay channels-last in the dtype oneDNN reads them in (uint8, int8,
    /// int16) from pixels to the last conv, and the passes between convolutions run on them
    /// (kernels/integer_code_kernel.h). Off for the reference loops (int32 NCHW throughout) and
    /// for codes wider than 16 bits.
    bool channelsLast_ = false;
    /// (conv index, consumer conv index) -> its requantization in the kernel's form
    std::map<std::pair<int, int>, std::shared_ptr<const ChannelsLastRequantization>> channelsLastRequantizations_;
    /// conv index -> its weights for the fused conv + requantization + 2x2 max-pool
    /// (kernels/integer_conv_pool_kernel.h): the first conv, on a CPU with AVX512_VNNI.
    std::map<int, std::shared_ptr<const kernels::FusedConvWeights>> fusedConvPools_;
};

/// The int32 accumulators of a convolution of int32 codes [N, C, H, W] with int32 weights
/// [O, C, k, k] (zero padding): plain loops with int32 sums. Callers keep |sums| < 2^31.
at::Tensor integerConvolution(const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding);

/// The named tensors of image `n` of a trace, as a hardware simulation compares them, in the
/// documented dtypes (codes: int8, uint8 or int16 by range; accumulators int32; float32):
/// layer_<i>_in, layer_<i>_acc, layer_<i>_out_to_<j>, layer_<i>_out (float).
std::vector<std::pair<std::string, at::Tensor>> traceTensors(const IntegerModel& model, const IntegerTrace& trace,
                                                             int64_t n = 0);

} // namespace tyq
