// The first stages of the net as one pass: 3x3 conv (padding 1, stride 1) + per-channel bias +
// activation + 2x2/2 max-pool (+ optionally the next conv's LSQ activation quantizer), so the
// full-resolution conv output is never stored. Hand-vectorized for AVX-512 and AVX2 (picked at
// run time); callers check convPoolKernelAvailable() and otherwise use ATen ops.
#pragma once

#include <cstdint>

namespace tyq::kernels {

/// Activation applied before the pool (all three are monotonic, so max(act(x)) = act(max(x))).
enum class KernelActivation : int { linear = 0, relu = 1, leaky = 2 };

struct ConvPoolParams {
    const float* input = nullptr; ///< [N, C, H, W] with any strides (NCHW or channels-last)
    int64_t batch = 0, inChannels = 0, height = 0, width = 0; ///< height, width even
    int64_t inStrideN = 0, inStrideC = 0, inStrideH = 0, inStrideW = 0;
    const float* weight = nullptr; ///< packed [3][3][inChannels][outChannels]
    const float* bias = nullptr;   ///< [outChannels]
    /// When set, batch norm is not folded: each conv output becomes acc * scale + bias (mul, then
    /// add, as ATen's eval batch norm computes it) before the pool; else the pool max gets + bias.
    const float* scale = nullptr;  ///< [outChannels] or null
    int64_t outChannels = 0;       ///< a multiple of 16 (AVX-512) or 8 (AVX2)
    float* output = nullptr;       ///< channels-last [N, outChannels, H/2, W/2] (channel stride 1)
    int64_t outStrideN = 0, outStrideH = 0, outStrideW = 0;
    KernelActivation activation = KernelActivation::linear;
    /// When quantStep > 0, the pooled value v becomes round(clamp(v / quantStep, quantMin,
    /// quantMax)) * quantStep (the next conv's activation quantizer, same float operations).
    float quantStep = 0, quantMin = 0, quantMax = 0;
};

/// Whether this CPU has a kernel for that many output channels.
bool convPoolKernelAvailable(int64_t outChannels);

/// Name of the instruction set the kernel uses here ("avx512", "avx2" or "baseline": none).
const char* convPoolKernelIsa();

/// Runs the fused stage over the whole batch, on LibTorch's intra-op threads.
void convPoolForward(const ConvPoolParams& params);

namespace detail {
// Per-ISA entry points: compute pooled rows [rowBegin, rowEnd) of the flattened (n, pooled y).
void convPoolRowsAvx512(const ConvPoolParams& p, int64_t rowBegin, int64_t rowEnd, float* scratch);
void convPoolRowsAvx2(const ConvPoolParams& p, int64_t rowBegin, int64_t rowEnd, float* scratch);
} // namespace detail

} // namespace tyq::kernels
