// 2x2 / stride-2 max-pool of NCHW float maps with the argmax indices, exactly as ATen's CPU
// kernel computes them (same values, same index for ties: the first maximum in window order,
// the last NaN if any), but fast: ATen 1.13's NCHW kernel takes ~280 ms per training batch
// here, a quarter of an LSQ step. Used by the exact (NCHW) training path; the backward is
// ATen's own max_pool2d_with_indices_backward. And the same pool of channels-last maps (the
// fast and bf16 training paths) with its backward: f32 and bf16 on AVX-512, f32 on AVX2.
// ATen's channels-last kernels keep int64 indices (four times a bf16 map's own bytes); here each
// output keeps its window position in one byte.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace tyq::kernels {

/// (output, indices) of max_pool2d_with_indices(x, 2, 2) for a contiguous NCHW float x
/// (H, W >= 2; odd sizes drop the last row or column, as ATen does). Indices are int64 offsets
/// within each H x W plane.
std::tuple<at::Tensor, at::Tensor> maxPool2x2WithIndices(const at::Tensor& x);

/// Whether maxPool2x2ChannelsLast takes x: 4-d, channels-last, H and W >= 2, and float or bf16
/// with channels a multiple of 16 on a CPU with AVX-512 (F, BW, VL), or float with channels a
/// multiple of 8 on AVX2 (cpuIsa()).
bool maxPool2x2ChannelsLastFits(const at::Tensor& x);

/// (output, window) of max_pool2d(x, 2, 2) for such an x: the output channels-last in x's type,
/// and per output value its pick's position in the window (uint8 0..3: (0,0) (0,1) (1,0)
/// (1,1)), chosen as ATen chooses: the first maximum, the last NaN. `window` is [N, OH, OW, C].
std::tuple<at::Tensor, at::Tensor> maxPool2x2ChannelsLast(const at::Tensor& x);

/// The gradient for x of that pool: each output's gradient at its pick, zero elsewhere
/// (channels-last, the sizes `inputSizes` of x, the type of `gradOutput`).
at::Tensor maxPool2x2ChannelsLastBackward(const at::Tensor& gradOutput, const at::Tensor& window,
                                          at::IntArrayRef inputSizes);

namespace detail {
void maxPool2x2ChannelsLastAvx512(const void* in, bool bf16, int64_t n, int64_t h, int64_t w, int64_t c, void* out,
                                  uint8_t* window);
void maxPool2x2ChannelsLastBackwardAvx512(const void* dy, const uint8_t* window, bool bf16, int64_t n, int64_t h,
                                          int64_t w, int64_t c, void* dx);
void maxPool2x2ChannelsLastAvx2(const float* in, int64_t n, int64_t h, int64_t w, int64_t c, float* out,
                                uint8_t* window);
void maxPool2x2ChannelsLastBackwardAvx2(const float* dy, const uint8_t* window, int64_t n, int64_t h, int64_t w,
                                        int64_t c, float* dx);
} // namespace detail

} // namespace tyq::kernels
