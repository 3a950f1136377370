// The convolution of a fake-quantized input by a fake-quantized weight, computed exactly.
//
// conv(a s_a, w s_w) = s_a s_w conv(a, w) for integer codes a and w. f32 holds conv(a, w) exactly
// while every product and partial sum stays below 2^24, whatever the kernel, layout, thread count
// or batch split sums in; conv(a s_a, w s_w) rounds each product and sum instead. That rounding
// decided max-pool near-ties: outputs of equal code sums came out one ulp apart, in an order that
// changed with the batch split, and the pool's gradient then went to the other input (between 1
// process x 8 images and 2 x 4, the gradients of layers 0 to 6 of the 3-bit model parted by 2 to
// 5 % in one step; tests/e2e/compare_runs.py). Computed from codes, equal sums give equal outputs.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace tyq {

/// Whether f32 sums the codes exactly: largest |input code| x largest |weight code| x the
/// number of terms of one output (input channels x kernel area) at most 2^24.
bool codeConvolutionIsExact(int64_t maxInputCode, int64_t maxWeightCode, int64_t termsPerOutput);

/// conv2d(input, weight, bias, stride, padding) (dilation 1, one group) of an input and a weight
/// that are codes times a step: `inputStep` (one value) and `weightStep` (one value, or one per
/// output channel, [C, 1, 1, 1]). The value is conv(codes) * (inputStep * weightStep) + bias,
/// the codes recovered as round(x / step); a channels-last input goes to oneDNN (fast_ops.h
/// convolve). Gradients reach input, weight and bias as conv2d's at those values;
/// the steps get none here (they reach them through the quantizers that made input and weight).
at::Tensor convolveCodes(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& inputStep,
                         const at::Tensor& weightStep, const at::Tensor& bias, int64_t stride, int64_t padding);

} // namespace tyq
