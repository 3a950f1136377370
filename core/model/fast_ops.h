// Convolution as the fast path computes it: channels-last activations straight into oneDNN.
// LibTorch's own choice sends 1x1 convs on one thread to its slow reference kernel (measured
// ~2 GFLOP/s here), and the BLAS it links is the netlib reference, so a GEMM is no way out.
#pragma once

#include <ATen/core/Tensor.h>

namespace tyq {

/// conv2d(x, weight, bias, stride, padding) with dilation 1 and one group; a channels-last
/// float x goes to oneDNN whatever the kernel size and thread count (output channels-last).
at::Tensor convolve(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                    int64_t padding);

} // namespace tyq
