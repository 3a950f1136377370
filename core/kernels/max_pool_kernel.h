// 2x2 / stride-2 max-pool of NCHW float maps with the argmax indices, exactly as ATen's CPU
// kernel computes them (same values, same index for ties: the first maximum in window order,
// the last NaN if any), but fast: ATen 1.13's NCHW kernel takes ~280 ms per training batch
// here, a quarter of an LSQ step. Used by the exact (NCHW) training path; the backward is
// ATen's own max_pool2d_with_indices_backward.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace tyq::kernels {

/// (output, indices) of max_pool2d_with_indices(x, 2, 2) for a contiguous NCHW float x
/// (H, W >= 2; odd sizes drop the last row or column, as ATen does). Indices are int64 offsets
/// within each H x W plane.
std::tuple<at::Tensor, at::Tensor> maxPool2x2WithIndices(const at::Tensor& x);

} // namespace tyq::kernels
