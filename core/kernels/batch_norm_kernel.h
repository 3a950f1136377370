// Training-mode batch norm of channels-last float or bf16 maps, forward and backward, in passes
// the compiler vectorizes over channels: per-channel sums (f32 within a block of rows, double
// across blocks, around a per-channel shift against cancellation), then one affine pass. ATen
// 1.13's channels-last kernels took 45 ms of a 265 ms bf16 training step on a Zen 4, as many as
// in f32: they do not profit from bf16's half-size maps; these do.
#pragma once

#include <cstdint>

namespace tyq::kernels {

/// The element type of a map: f32, or bf16 (the high half of an f32, rounded to nearest even).
enum class MapType { f32, bf16 };

/// Per-channel statistics of `rows` rows of `channels` values (channels-last): mean and the
/// biased variance, `channels` doubles each. (Outputs are plain arrays so that the AVX-512 build
/// instantiates no std::vector member out of line: the linker could pick that copy for all.)
void channelMeanVariance(const void* x, MapType type, int64_t rows, int64_t channels, double* mean, double* variance);

/// y = x * scale[c] + shift[c] per channel, in `type` (x and y may not overlap).
void channelAffine(const void* x, MapType type, int64_t rows, int64_t channels, const float* scale, const float* shift,
                   void* y);

/// Per-channel sum(dy) and sum(dy * (x - mean)) for the backward, `channels` doubles each.
void channelGradientSums(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels,
                         const double* mean, double* sumDy, double* sumDyCentered);

/// dx = dy * a[c] + x * b[c] + d[c] per channel, in `type`.
void channelGradientAffine(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels, const float* a,
                           const float* b, const float* d, void* dx);

namespace detail {
/// The loops of one instruction-set build (batch_norm_kernel_impl.h), which the functions above
/// pick from by cpuIsa().
struct BatchNormLoops {
    decltype(&channelMeanVariance) meanVariance;
    decltype(&channelAffine) affine;
    decltype(&channelGradientSums) gradientSums;
    decltype(&channelGradientAffine) gradientAffine;
};
const BatchNormLoops& batchNormLoopsBaseline();
const BatchNormLoops& batchNormLoopsAvx512();
} // namespace detail

} // namespace tyq::kernels
