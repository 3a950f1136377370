// The LSQ fake quantizer's elementwise work in single passes: forward y = round(clamp(x / s,
// lo, hi)) * s with the exact float operations of the reference chain (so the values are equal
// bit for bit), and its backward (straight-through x gradient, step-size gradient terms summed
// in double). Hand-vectorized for AVX-512 and AVX2 (picked at run time), scalar otherwise.
#pragma once

#include <cstdint>

namespace tyq::kernels {

/// y[i] = round_half_even(clamp(x[i] / step, lo, hi)) * step, for i in [0, n). |lo|, |hi| < 2^22.
void lsqForward(const float* x, float* y, int64_t n, float step, float lo, float hi);

/// gx[i] = g[i] * step / step inside the range (lo <= x / step <= hi), else 0. Returns the sum
/// over i of d(y_i)/d(step) * g[i]: g q - g step (x / step) / step inside, g lo or g hi outside.
double lsqBackward(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi);

namespace detail {
// Per-ISA bodies: process a prefix of whole vectors and return its length (and its sum).
int64_t lsqForwardAvx512(const float* x, float* y, int64_t n, float step, float lo, float hi);
int64_t lsqForwardAvx2(const float* x, float* y, int64_t n, float step, float lo, float hi);
int64_t lsqBackwardAvx512(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi,
                          double* sum);
int64_t lsqBackwardAvx2(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi,
                        double* sum);
} // namespace detail

} // namespace tyq::kernels
