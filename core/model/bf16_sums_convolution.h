// oneDNN's bf16 convolution with its f32 sums written out as they are. ATen's bf16 convolutions
// round their outputs to bf16; the code convolution (model/code_convolution.h) needs the sums
// themselves. Integers up to 256 are exact in bf16 and their products exact in f32, and oneDNN
// sums in f32 (VDPBF16PS with AVX512_BF16, AMX tiles, or f32 FMAs where it emulates bf16), so
// codes whose partial sums stay within 2^24 give the exact sum: the bits of an f32 convolution of
// the same codes, at about twice its speed where the CPU has AVX512_BF16 (README "Performance").
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace tyq {

/// Whether oneDNN runs these natively here (AVX512_BF16 or AMX, found by asking it once): where
/// they pay over f32 convolutions.
bool bf16SumsRunNatively();

/// conv2d(input, weight) (zero padding, dilation 1, one group) of a channels-last bf16 `input`
/// [N, I, H, W] and a bf16 `weight` [O, I, k, k]: the f32 sums, channels-last [N, O, OH, OW]. With
/// `scale` (f32 [O]), each sum times its channel's scale, rounded to f32 (as sums * scale would
/// be); with a bf16 `outputType`, that rounded to bf16 (as a cast would).
at::Tensor bf16ConvolutionSums(const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
                               const at::Tensor& scale = {}, at::ScalarType outputType = at::kFloat);

} // namespace tyq
