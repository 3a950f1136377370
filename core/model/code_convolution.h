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

#include "model/precision.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace tyq {

/// Whether f32 sums the codes exactly: largest |input code| x largest |weight code| x the
/// number of terms of one output (input channels x kernel area) at most 2^24.
bool codeConvolutionIsExact(int64_t maxInputCode, int64_t maxWeightCode, int64_t termsPerOutput);

/// The largest |code| whose fake-quantized value, code x step rounded to bf16 (relative error up
/// to 2^-8), still gives the code back as round(value / step): 127 x 2^-8 < 1/2.
constexpr int64_t kLargestCodeOfBf16Values = 127;

/// What a code convolution's codes can be: |code| of input and weight at most `largest`, and no
/// input code below 0 where `unsignedInput` (an all-positive activation quantizer's).
struct CodeBounds {
    int64_t largest = 0;
    bool unsignedInput = false;
};

/// How convolveCodes sums the codes of a convolution. All three give the same bits:
/// - int8: u8 input codes times s8 weight codes summed in s32 (model/onednn_convolution.h),
///   where the input codes are unsigned, every code fits those types (and the bf16 values'
///   bound), the input is channels-last and oneDNN sums them exactly (VNNI; int8SumsExact);
/// - bf16: bf16 products summed in f32 (model/onednn_convolution.h), where every code is exact
///   in bf16 (|code| <= 256), the input is channels-last and oneDNN runs bf16 natively
///   (AVX512_BF16 or AMX; bf16SumsRunNatively);
/// - f32: oneDNN for a channels-last input, conv2d for an NCHW one.
enum class CodeSums { f32, bf16, int8 };
CodeSums codeSumsFor(const at::Tensor& input, CodeBounds bounds);
CodeSums codeSumsFor(at::MemoryFormat inputLayout, CodeBounds bounds);
const char* codeSumsName(CodeSums sums);

/// conv2d(input, weight, bias, stride, padding) (dilation 1, one group) of an input and a weight
/// that are codes times a step: `inputStep` (one value) and `weightStep` (one value, or one per
/// output channel, [C, 1, 1, 1]). The value is conv(codes) * (inputStep * weightStep) + bias,
/// the codes recovered as round(x / step), summed as codeSumsFor(input, bounds) says (the int8
/// sums give way to f32 ones for an input with a code outside u8, a NaN say, so that it still
/// reaches the outputs as in f32). `input` is f32, or bf16 with codes up to
/// kLargestCodeOfBf16Values. In bf16 `precision` the value comes out rounded to bf16. Gradients
/// reach input, weight and bias as conv2d's at those values (in bf16 precision as
/// convolveBf16's); the steps get none here (they reach them through the quantizers that made
/// input and weight).
at::Tensor convolveCodes(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& inputStep,
                         const at::Tensor& weightStep, const at::Tensor& bias, int64_t stride, int64_t padding,
                         CodeBounds bounds, Precision precision = Precision::fp32);

/// A fake-quantized weight's side of the code convolution: its codes, round(weight / step), in
/// the weight's layout and as `sums` takes them (f32, bf16 or int8), its step(s), flat, and the
/// bounds on both operands' codes. Training takes it from the weight of each
/// step; the inference engine once, for the input layout it runs.
struct CodeWeights {
    at::Tensor codes;
    at::Tensor step;
    CodeBounds bounds;
    CodeSums sums = CodeSums::f32;
};
CodeWeights codeWeightsOf(const at::Tensor& weight, const at::Tensor& weightStep, CodeBounds bounds, CodeSums sums);

/// Its value alone, without autograd (inference), from the same arguments; `bias` may be
/// undefined or empty.
at::Tensor codeConvolutionValue(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                                const at::Tensor& inputStep, const at::Tensor& weightStep, int64_t stride,
                                int64_t padding, CodeBounds bounds, bool bf16Precision = false);

/// The same from prepared weight codes (cast, where `input` takes other sums than they were
/// prepared for).
at::Tensor codeConvolutionValue(const at::Tensor& input, const CodeWeights& weight, const at::Tensor& bias,
                                const at::Tensor& inputStep, int64_t stride, int64_t padding,
                                bool bf16Precision = false);

} // namespace tyq
