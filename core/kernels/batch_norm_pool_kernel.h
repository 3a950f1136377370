// Training batch norm followed by a 2x2 / stride-2 max-pool, of channels-last f32 or bf16 maps,
// in fused passes: the batch norm's output map is never stored. Forward, the affine pass pools
// as it goes (each value rounded to the map's type first, so the values and picks are those of
// maxPool2x2ChannelsLast over channelAffine's map); backward, the pool's gradient (each output's
// gradient at its pick, zero elsewhere) is formed in registers inside the batch norm's gradient
// sums and affine pass. Per layer, the unfused passes move a map's bytes ~10.5 times and these
// ~5.75 times. AVX-512 (F, BW, VL) with channels a multiple of 16; elsewhere fast_ops composes
// batch_norm_kernel.h and max_pool_kernel.h as before.
#pragma once

#include "kernels/batch_norm_kernel.h"

#include <ATen/core/Tensor.h>

#include <tuple>

namespace tyq::kernels {

/// Whether the fused passes take x: 4-d, channels-last, f32 or bf16, H and W >= 2, channels a
/// multiple of 16, on a CPU with AVX-512 F, BW and VL (cpuIsa() avx512).
bool batchNormMaxPool2x2Fits(const at::Tensor& x);

/// (output, window) of maxPool2x2ChannelsLast(y) for y = x * scale[c] + shift[c] in x's type
/// (channelAffine's map, computed with one fused multiply-add as its AVX-512 build does): the same
/// values and window picks, without storing y.
std::tuple<at::Tensor, at::Tensor> affineMaxPool2x2(const at::Tensor& x, const float* scale, const float* shift);

/// channelGradientSums(dy, x, mean) for dy = the pool's input gradient from gradOutput (the
/// pooled map's gradient) and window: per channel sum(dy) and sum(dy * (x - mean)), as doubles.
void pooledGradientSums(const at::Tensor& gradOutput, const at::Tensor& window, const at::Tensor& x,
                        const double* mean, double* sumDy, double* sumDyCentered);

/// dx = dy * a[c] + x * b[c] + d[c] at every position of x, with dy as above (zero outside the
/// picks, and on an odd last row or column, which no window covers); channels-last, x's type.
at::Tensor pooledGradientAffine(const at::Tensor& gradOutput, const at::Tensor& window, const at::Tensor& x,
                                const float* a, const float* b, const float* d);

namespace detail {
// The AVX-512 bodies over a range of rows (batch_norm_pool_kernel_avx512.cpp); the dispatcher
// splits the rows over the compute threads and adds the sums up.
void affineMaxPool2x2RowsAvx512(const void* x, bool bf16, int64_t h, int64_t w, int64_t c, int64_t outRowBegin,
                                int64_t outRowEnd, const float* scale, const float* shift, void* out, uint8_t* window);
/// Adds output rows [outRowBegin, outRowEnd)'s sum(dy) to sums[0, c) and sum(dy (x - mean)) to sums[c, 2c).
void pooledGradientSumsRowsAvx512(const void* dy, const uint8_t* window, const void* x, bool bf16, int64_t h, int64_t w,
                                  int64_t c, int64_t outRowBegin, int64_t outRowEnd, const float* mean, float* sums);
/// Input row pairs [begin, end) (image * ceil(h / 2) + y) of dx.
void pooledGradientAffineRowsAvx512(const void* dy, const uint8_t* window, const void* x, bool bf16, int64_t h,
                                    int64_t w, int64_t c, int64_t rowPairBegin, int64_t rowPairEnd, const float* a,
                                    const float* b, const float* d, void* dx);
} // namespace detail

} // namespace tyq::kernels
