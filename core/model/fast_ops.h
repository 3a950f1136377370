// Ops as the fast paths compute them. Convolution: channels-last activations straight into
// oneDNN (LibTorch's own choice sends 1x1 convs on one thread to its slow reference kernel,
// ~2 GFLOP/s here, and the BLAS it links is the netlib reference, so a GEMM is no way out).
// Max-pool: ATen 1.13's NCHW 2x2 kernel is slow enough to cost a quarter of an LSQ training
// step, and its channels-last one keeps int64 indices; kernels/max_pool_kernel.h computes the
// same values and picks.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/batchnorm.h>

namespace tyq {

/// conv2d(x, weight, bias, stride, padding) with dilation 1 and one group; a channels-last
/// float x goes to oneDNN whatever the kernel size and thread count (output channels-last).
at::Tensor convolve(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                    int64_t padding);

/// max_pool2d(x, 2, 2) of a contiguous NCHW float x, or a channels-last one that
/// kernels::maxPool2x2ChannelsLastFits (float on AVX2, float or bf16 on AVX-512), with autograd:
/// the same values and argmax (so the same gradients) as ATen's, from faster kernels. Other
/// inputs go to ATen.
at::Tensor maxPool2x2(const at::Tensor& x);

/// Whether batchNormChannelsLast takes x: a 4-d channels-last float or bf16 CPU tensor.
bool batchNormChannelsLastFits(const at::Tensor& x);

/// `bn` in training mode on such an x, with autograd (x, weight, bias), from the vectorized
/// kernels/batch_norm_kernel.h: batch statistics, the running statistics updated as
/// BatchNorm2d updates them (its momentum; the unbiased variance), output in x's type.
at::Tensor batchNormChannelsLast(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x);

/// Whether batchNormMaxPool2x2 takes x: batchNormChannelsLastFits, and the fused kernels'
/// conditions (kernels/batch_norm_pool_kernel.h: AVX-512, channels a multiple of 16).
bool batchNormMaxPool2x2Fits(const at::Tensor& x);

/// maxPool2x2(batchNormChannelsLast(bn, x)) in fused passes, with autograd: the same outputs and
/// running statistics, gradients equal up to the order of the sums' terms.
at::Tensor batchNormMaxPool2x2(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x);

} // namespace tyq
