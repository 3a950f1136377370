// tyq's direct oneDNN convolutions for training and fake-quant inference, where LibTorch's calls
// round too early or cost too much:
// - the sums of the code convolution (model/code_convolution.h), bf16 or int8. Integers up to 256
//   are exact in bf16 and their products exact in f32, and oneDNN sums in f32 (VDPBF16PS with
//   AVX512_BF16, AMX tiles, or f32 FMAs where it emulates bf16), so codes whose partial sums stay
//   within 2^24 give the exact sum: the bits of an f32 convolution of the same codes, at about
//   twice its speed where the CPU has AVX512_BF16. u8 activation codes times s8 weight codes sum
//   in s32 (exact), each sum then converted to f32 (exact below 2^24): the same bits from a
//   quarter of the bytes, in about half the bf16 sums' time with VNNI (README "Performance");
// - bf16 training's gradients: the weight gradient's f32 sums as they are (f32 master weights take
//   them unrounded, as Adam sees them in fp32 training), and the input gradient, rounded to bf16
//   as ATen's is, from a primitive built once per shape instead of on each call.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace tyq {

/// Whether oneDNN has bf16 convolutions here at all (none under ONEDNN_MAX_CPU_ISA=AVX2, say).
bool oneDnnHasBf16Convolutions();

/// Whether oneDNN runs these natively here (AVX512_BF16 or AMX, found by asking it once): where
/// they pay over f32 convolutions.
bool bf16SumsRunNatively();

/// conv2d(input, weight) (zero padding, dilation 1, one group) of a channels-last bf16 `input`
/// [N, I, H, W] and a bf16 `weight` [O, I, k, k]: the f32 sums, channels-last [N, O, OH, OW]. With
/// `scale` (f32 [O]), each sum times its channel's scale, rounded to f32 (as sums * scale would
/// be); with a bf16 `outputType`, that rounded to bf16 (as a cast would).
at::Tensor bf16ConvolutionSums(const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
                               const at::Tensor& scale = {}, at::ScalarType outputType = at::kFloat);

/// Whether oneDNN's int8 convolutions sum u8 input codes up to `largestInputCode` times s8 weight
/// codes up to |`largestWeightCode`| exactly on this CPU (hw/onednn_integer_conv.h), and the
/// codes fit those types.
bool int8SumsExact(int64_t largestInputCode, int64_t largestWeightCode);

/// The same for channels-last u8 `input` codes and int8 `weight` codes [O, I, k, k] (any layout),
/// scaled (`scale` is required): each s32 sum as f32, times its channel's scale, rounded to
/// `outputType`. Undefined where oneDNN has only its reference kernel for it here.
at::Tensor int8ConvolutionSums(const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
                               const at::Tensor& scale, at::ScalarType outputType);

/// The weight gradient of conv2d(input, weight) (as above, with `padding` rows above and below
/// and `widthPadding` columns each side) for the upstream gradient `dy`, both channels-last bf16:
/// the f32 sums of their products, [O, I, k, k] channels-last, not rounded to bf16 as ATen's is.
/// Undefined where oneDNN has no such kernel here (under ONEDNN_MAX_CPU_ISA).
at::Tensor bf16WeightGradientSums(const at::Tensor& input, const at::Tensor& dy, int64_t kernel, int64_t stride,
                                  int64_t padding, int64_t widthPadding);

/// The input gradient of conv2d(input, weight) (as above, `padding` on every side) for the
/// upstream gradient `dy` (channels-last bf16 [N, O, OH, OW]), the bf16 `weight` [O, I, k, k] and
/// the input's `height` and `width`: channels-last bf16 [N, I, height, width], each f32 sum
/// rounded to bf16 (ATen's bf16 call gave the same bits on a Zen 4, 10 % slower over the
/// network's shapes). Undefined where oneDNN has no such kernel here.
at::Tensor bf16InputGradient(const at::Tensor& dy, const at::Tensor& weight, int64_t height, int64_t width,
                             int64_t stride, int64_t padding);

} // namespace tyq
