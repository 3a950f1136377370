// The detector as a LibTorch module built from a NetworkSpec. Parameters and buffers are named
// exactly like the reference's state dict (module_list.<i>.conv_<i>.weight,
// module_list.<i>.batch_norm_<i>.running_var, module_list.<i>.conv_<i>.quan_w_fn.s, ...), so
// its checkpoints load as they are. `quantize` swaps every conv to LSQ fake quantization.
#pragma once

#include "model/darknet_cfg.h"
#include "model/code_convolution.h"
#include "model/precision.h"
#include "quant/lsq_quantizer.h"
#include "quant/quant_config.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tyq {

/// How forward() computes. Every choice gives the same function up to float rounding (tests
/// compare the paths). `reference()` is the straightforward one (NCHW, op by op, the reference
/// quantizer chain). `exact()` keeps the reference's layout and float operations, so forward
/// values are bit-identical, with faster kernels (fused quantizer, 2x2 max-pool). `fast()` adds
/// channels-last (oneDNN's layout) and tyq's batch-norm kernels, which change float summation
/// orders. Training uses fast() for fp and LSQ alike. LSQ once used exact(): with 3-bit inputs
/// exact max-pool ties are common, and where conv outputs of equal code sums came out an ulp
/// apart in an order that changed with the layout, the pool's gradient went to the other input.
/// Quantized convs now sum their codes exactly (model/code_convolution.h), so equal sums give
/// equal outputs in any layout, and batch norm maps equal values to equal values. Inference has
/// its own engine (infer/inference_engine.h), since it can fold batch norm and precompute weights.
struct NetworkExecution {
    bool channelsLast = false;   ///< NHWC activations end to end (oneDNN's fast layout)
    bool fusedQuantizer = false; ///< one-pass LSQ quantizer with a hand-written backward
    bool fastMaxPool = false;    ///< 2x2 max-pools through kernels/max_pool_kernel.h (NCHW or channels-last)
    Precision precision = Precision::fp32; ///< of the convolutions (model/precision.h)
    bool fastBatchNorm = false; ///< channels-last training batch norm through kernels/batch_norm_kernel.h

    static NetworkExecution reference() { return {}; }
    static NetworkExecution exact() { return {false, true, true, Precision::fp32, false}; }
    static NetworkExecution fast() { return {true, true, true, Precision::fp32, true}; }
    /// What training uses: fast(), in `precision`.
    static NetworkExecution forTraining(Precision precision = Precision::fp32)
    {
        NetworkExecution e = fast();
        e.precision = precision;
        return e;
    }
    bool operator==(const NetworkExecution& o) const
    {
        return channelsLast == o.channelsLast && fusedQuantizer == o.fusedQuantizer && fastMaxPool == o.fastMaxPool &&
               precision == o.precision && fastBatchNorm == o.fastBatchNorm;
    }
};

/// A convolution with optional LSQ quantizers on its input activation and its weight:
/// conv(quan_a(x), quan_w(W)) + bias, the reference's QuanConv2d (with both quantizers, computed
/// from the codes, exactly: model/code_convolution.h).
class QuantConv2dImpl : public torch::nn::Module {
public:
    QuantConv2dImpl(int64_t inChannels, const ConvSpec& spec);

    torch::Tensor forward(const torch::Tensor& x);

    /// Adds the quantizers (weight step size initialized from the current weight).
    void quantize(const LayerQuantSpec& spec);
    bool quantized() const { return !quanW.is_empty(); }
    /// The weight as the conv sees it (fake-quantized when quantized).
    torch::Tensor effectiveWeight();
    /// Whether forward convolves integer codes (model/code_convolution.h): input and weight both
    /// quantized, and f32 sums their codes exactly. In either precision (bf16 rounds the exact
    /// value once, at the output).
    bool convolvesCodes() const;
    /// The bounds of input and weight codes (when convolvesCodes()).
    CodeBounds codeBounds() const;

    torch::Tensor weight;
    torch::Tensor bias; ///< undefined when the layer has batch norm
    LsqQuantizer quanW{nullptr};
    LsqQuantizer quanA{nullptr};
    int64_t stride = 1;
    int64_t padding = 0;
    bool channelsLast = false; ///< convolve() (oneDNN) for channels-last inputs; see NetworkExecution
    Precision precision = Precision::fp32; ///< bf16: mixed precision (convolveBf16, or convolveCodes')
    /// When set, the next forward first sets the activation step size from its input (LSQ's
    /// data-driven init), then clears the flag.
    bool calibrateActivationStep = false;
    StepCalibration activationCalibration = StepCalibration::lsqInit; ///< how that flag sets it
};
TORCH_MODULE(QuantConv2d);

class YoloNetworkImpl : public torch::nn::Module {
public:
    /// Builds the network with PyTorch's default initialization (see initializeLikeReference).
    explicit YoloNetworkImpl(NetworkSpec spec);

    /// Raw outputs of the yolo layers, each [N, A*(5+C), H, W]. With `layerOutputs`, also
    /// every layer's output (index = layer index), for dumps.
    std::vector<torch::Tensor> forward(const torch::Tensor& input, std::vector<torch::Tensor>* layerOutputs = nullptr);

    /// Decoded predictions of all yolo layers, [N, rows, 5+C]: cx, cy, w, h in input pixels,
    /// sigmoid objectness, sigmoid class scores (the reference's inference output).
    torch::Tensor detect(const torch::Tensor& input);

    /// The reference's training initialization: conv weights ~ N(0, 0.02), BN weight ~ N(1, 0.02),
    /// BN bias 0 (conv biases keep PyTorch's default).
    void initializeLikeReference();

    /// Turns every conv into an LSQ conv with the config's bit-widths, initializing weight step
    /// sizes from the current weights and activation steps to the reference constant.
    /// Returns warnings (e.g. `excepts` entries that match no conv).
    std::vector<std::string> quantize(const QuantConfig& config);
    bool quantized() const { return quantConfig_.has_value(); }
    const std::optional<QuantConfig>& quantConfig() const { return quantConfig_; }

    /// Sets every enabled activation step from one forward of `images` in eval mode, layer by
    /// layer (each conv measured on the output of the quantized layers before it).
    void calibrateActivationSteps(const at::Tensor& images, StepCalibration calibration);

    /// Selects the quantizer kernel of every quantizer (see QuantKernel).
    void setQuantKernel(QuantKernel kernel);

    /// Replaces every batch norm's training-mode forward (a data-parallel job's synchronized
    /// batch norm, dist/sync_batch_norm.h); an empty function restores the module's own.
    using BatchNormOverride = std::function<torch::Tensor(torch::nn::BatchNorm2dImpl&, const torch::Tensor&)>;
    void setBatchNormOverride(BatchNormOverride override) { batchNormOverride_ = std::move(override); }

    /// Data parallelism: every activation quantizer's input is this rank's share of a batch
    /// `factor` times larger (LsqQuantizerImpl::setBatchFactor).
    void setActivationBatchFactor(double factor);

    /// Selects how forward() computes (the quantizer kernel included). Default: reference().
    void setExecution(const NetworkExecution& execution);
    const NetworkExecution& execution() const { return execution_; }

    const NetworkSpec& spec() const { return spec_; }

    struct ConvLayer {
        int index = 0;
        std::string moduleName; ///< module_list.<i>.conv_<i>
        QuantConv2d conv{nullptr};
        torch::nn::BatchNorm2d batchNorm{nullptr};
        Activation activation = Activation::linear;
    };
    const std::vector<ConvLayer>& convLayers() const { return convLayers_; }
    std::vector<ConvLayer>& convLayers() { return convLayers_; }

    /// Every quantizer with a display name ("module_list.0.conv_0.quan_w_fn"), in layer order.
    std::vector<std::pair<std::string, LsqQuantizer>> quantizers() const;

private:
    // Whether conv layer `layerIndex` (batch-normalized, its output `convOutput`) computes its
    // batch norm and the 2x2 max-pool layer after it in fused passes: in training on the fast
    // paths, where nothing else reads the normalized map (fast_ops.h, batchNormMaxPool2x2).
    bool poolsAfterBatchNorm(int layerIndex, const torch::Tensor& convOutput, bool keepsLayerOutputs) const;

    NetworkSpec spec_;
    std::vector<ConvLayer> convLayers_;
    std::vector<int> convSlot_;       // layer index -> index into convLayers_, or -1
    std::vector<bool> outputNeeded_;  // layer outputs read again by a route or shortcut
    std::optional<QuantConfig> quantConfig_;
    BatchNormOverride batchNormOverride_;
    NetworkExecution execution_;
};
TORCH_MODULE(YoloNetwork);

} // namespace tyq
