// Convolution in bf16 mixed precision (model/precision.h), with autograd.
//
// The forward runs LibTorch's bf16 convolution (oneDNN; AMX where the CPU has it), accumulating in
// f32; the gradients call oneDNN directly (model/onednn_convolution.h): the weight's for its f32
// sums, which LibTorch would round to bf16, the input's from a primitive built once per shape.
// oneDNN 2.6.3 (Debian's, which LibTorch links) has an AMX bf16 backward-weights kernel that
// computes wrong gradients and writes out of bounds on wide feature maps (measured on a Sapphire
// Rapids: 3 -> 16 channels at 288x512 gives NaN or heap corruption, 16 -> 32 at 144x256 and at
// 8x512 a relative error of 0.7, while 144x192, 576x128 and 1x4096 are right), so the weight
// gradient is summed over bands of at most 128 output columns, where it matched f32 at every shape
// measured. unit.Bf16 checks the network's own shapes on the CPU it runs on. Its AVX512_BF16
// backward-data kernel (CPUs without AMX) is wrong for some 1x1 convs with output channels no
// multiple of 16 (the heads), so their input gradient runs in f32 (bf16_convolution.cpp). Banded,
// it is 2.5x faster than the f32 weight gradient (ONEDNN_VERBOSE=1 tyq bench gives the per-
// primitive times; README "Performance").
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

namespace tyq {

/// conv2d(x, weight, bias, stride, padding) with x and weight rounded to bf16 and f32
/// accumulation, then the bias added in bf16, every layer the first included (its 3 input
/// channels fill few of the bf16 pairs, yet on a Zen 4 it ran faster than in f32 plus the casts
/// of its 38 MB output each way: README "Performance"); the result is bf16 in x's layout, as
/// under PyTorch's CPU autocast, so batch
/// norm (f32 parameters and statistics), activations and pooling read half the bytes. Gradients
/// reach x, weight and bias in their own types.
at::Tensor convolveBf16(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                        int64_t padding);

/// The gradients of that convolution (the bias aside) for the upstream gradient `dy`, the input
/// `x` (any float type) and the bf16 weight `wb`: {input's (bf16, or f32 for the heads), weight's
/// (f32)}, each undefined where not asked for.
std::pair<at::Tensor, at::Tensor> bf16ConvolutionBackward(const at::Tensor& dy, const at::Tensor& x,
                                                          const at::Tensor& wb, int64_t stride, int64_t padding,
                                                          bool inputGradient, bool weightGradient);

} // namespace tyq
