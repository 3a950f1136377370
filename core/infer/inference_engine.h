// Inference-only execution of a trained network: built once from its weights, it folds batch
// norm into the convs, quantizes LSQ weights once, runs channels-last end to end and computes
// the first stages (3x3 conv + BN + max-pool, and the next conv's activation quantizer) in one
// fused kernel, so the full-resolution maps are never stored. Convs of quantized inputs by
// quantized weights sum their codes exactly, as training does (model/code_convolution.h: in bf16
// where oneDNN runs it natively). The network's own forward() stays
// the straightforward reference (NCHW, op by op, reference quantizer); tests compare the two.
//
// Why a separate object rather than a mode of the module: everything it precomputes is a
// snapshot of the weights, valid only while they do not change, and none of it has a gradient.
// Keeping it out of the module means training can never see stale folded weights; callers
// build an engine when they start inferring (cheap: one pass over the weights).
#pragma once

#include "model/code_convolution.h"
#include "model/darknet_cfg.h"
#include "model/precision.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace tyq {

class YoloNetworkImpl;

/// What the engine may do. The defaults are the fast path; all false computes like the reference.
struct InferenceOptions {
    bool channelsLast = true;  ///< NHWC activations through the whole net (oneDNN's fast layout)
    /// Conv weight x BN scale, BN shift as the conv bias; full-precision networks only (with LSQ
    /// activation quantizers an ulp can flip a rounding, so BN stays ATen's exact affine there).
    bool foldBatchNorm = true;
    bool fuseStages = true;    ///< conv + BN + max-pool (+ next quantizer) kernels
    /// Fuse only convs with at most this many input channels: beyond it oneDNN + a separate
    /// pool is as fast (measured on the 32 -> 64 stage) and the kernel has no edge.
    int fuseMaxInputChannels = 16;
    /// bf16 (full-precision networks only): every conv in oneDNN's bf16 kernel with f32
    /// accumulation, weights rounded once, batch norm folded, the fused f32 stages off. A
    /// quantized network's fast path is its integer form (hw/integer_engine.h), which is exact.
    Precision precision = Precision::fp32;

    InferenceOptions& setPrecision(Precision v) { precision = v; return *this; }
    InferenceOptions& setChannelsLast(bool v) { channelsLast = v; return *this; }
    InferenceOptions& setFoldBatchNorm(bool v) { foldBatchNorm = v; return *this; }
    InferenceOptions& setFuseStages(bool v) { fuseStages = v; return *this; }
};

class InferenceEngine {
public:
    /// Snapshots the network's weights (BN running statistics, step sizes). Later changes to the
    /// network are not seen: build a new engine.
    explicit InferenceEngine(const YoloNetworkImpl& network, InferenceOptions options = {});

    /// Raw outputs of the yolo layers, each [N, A*(5+C), H, W] contiguous (as the network's).
    std::vector<at::Tensor> forward(const at::Tensor& input) const;

    /// Decoded rows [N, rows, 5+C], as YoloNetworkImpl::detect.
    at::Tensor detect(const at::Tensor& input) const;

    const NetworkSpec& spec() const { return spec_; }
    const InferenceOptions& options() const { return options_; }
    /// Indices of the convs computed together with their max-pool by the fused kernel.
    std::vector<int> fusedConvs() const;

private:
    struct ActivationQuantizer {
        bool enabled = false;
        at::Tensor step; ///< the learned s (one value); the effective step depends on numel
        int qmin = 0, qmax = 0;
    };
    struct ConvPlan {
        at::Tensor weight; ///< quantized, BN-folded when folding, in the engine's layout
        at::Tensor bias;   ///< folded bias, the conv's bias, or undefined
        at::Tensor bnWeight, bnBias, bnMean, bnVar; ///< when BN is not folded
        double bnEps = 1e-5;
        int64_t stride = 1, padding = 0, size = 1, outChannels = 0;
        Activation activation = Activation::linear;
        ActivationQuantizer inputQuantizer;
        bool inputQuantizedByProducer = false; ///< the fused kernel before it already quantized
        bool fusedWithPool = false;            ///< computes this conv and the next max-pool
        at::Tensor packedWeight;               ///< [3][3][in][out] for the fused kernel
        at::Tensor kernelScale, kernelShift;   ///< the kernel's per-channel affine (see ConvPoolParams)
        ActivationQuantizer epilogueQuantizer; ///< the consumer's input quantizer, in the kernel
        /// Quantized input and weight: the conv sums their codes (model/code_convolution.h), as
        /// training does, from the weight's codes taken once here (`weight` is the fake-quantized
        /// weight).
        bool convolvesCodes = false;
        CodeWeights codeWeights;
    };

    at::Tensor runConv(const ConvPlan& plan, const at::Tensor& x) const;
    at::Tensor runFusedStage(const ConvPlan& plan, const at::Tensor& x) const;

    NetworkSpec spec_;
    InferenceOptions options_;
    std::vector<ConvPlan> plans_;     ///< one per layer (only conv layers' entries are used)
    std::vector<bool> outputNeeded_;  ///< layer outputs read again by a route or shortcut
};

} // namespace tyq
