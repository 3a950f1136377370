// The LSQ fake quantizer's elementwise work in single passes: forward y = round(clamp(x / s,
// lo, hi)) * s with the exact float operations of the reference chain (so the values are equal
// bit for bit), and its backward (straight-through x gradient, step-size gradient terms summed
// in double). Hand-vectorized for AVX-512 and AVX2 (picked at run time), scalar otherwise. The
// bf16 forms (bf16 precision; uint16_t holds c10::BFloat16's bits) compute in f32 from the
// exactly widened values and round each result to bf16 once; AVX-512 or scalar.
#pragma once

#include <cstdint>

namespace tyq::kernels {

/// y[i] = round_half_even(clamp(x[i] / step, lo, hi)) * step, for i in [0, n). |lo|, |hi| < 2^22.
void lsqForward(const float* x, float* y, int64_t n, float step, float lo, float hi);

/// gx[i] = g[i] * step / step inside the range (lo <= x / step <= hi), else 0. Returns the sum
/// over i of d(y_i)/d(step) * g[i]: g q - g step (x / step) / step inside, g lo or g hi outside.
double lsqBackward(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi);

/// The same for bf16 x and y: y[i] = bf16(round_half_even(clamp(x[i] / step, lo, hi)) * step).
void lsqForwardBf16(const uint16_t* x, uint16_t* y, int64_t n, float step, float lo, float hi);
/// The same for bf16 x, g and gx (gx[i] is g[i] or 0: exact).
double lsqBackwardBf16(const uint16_t* x, const uint16_t* g, uint16_t* gx, int64_t n, float step, float lo, float hi);

/// codes[i] = round_half_even(values[i] * reciprocal) as bf16: the codes of fake-quantized values
/// (code * step, given 1 / step). Exact for |code| <= 256 from f32 values. From bf16 values, each
/// a code times the step rounded to bf16 (relative error up to 2^-8), for |code| <= 127.
void lsqCodesToBf16(const float* values, uint16_t* codes, int64_t n, float reciprocal);
void lsqCodesToBf16(const uint16_t* values, uint16_t* codes, int64_t n, float reciprocal);

/// The same codes as u8, for oneDNN's int8 convolutions (exact for the same bounds). Returns false
/// where a code is outside [0, 255] or NaN (a value no all-positive quantizer gives; `codes` then
/// holds no meaning), so that the caller can take another path.
bool lsqCodesToU8(const float* values, uint8_t* codes, int64_t n, float reciprocal);
bool lsqCodesToU8(const uint16_t* values, uint8_t* codes, int64_t n, float reciprocal);

namespace detail {
// Per-ISA bodies: process a prefix of whole vectors and return its length (and its sum).
int64_t lsqForwardAvx512(const float* x, float* y, int64_t n, float step, float lo, float hi);
int64_t lsqForwardAvx2(const float* x, float* y, int64_t n, float step, float lo, float hi);
int64_t lsqBackwardAvx512(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi,
                          double* sum);
int64_t lsqBackwardAvx2(const float* x, const float* g, float* gx, int64_t n, float step, float lo, float hi,
                        double* sum);
int64_t lsqForwardBf16Avx512(const uint16_t* x, uint16_t* y, int64_t n, float step, float lo, float hi);
int64_t lsqBackwardBf16Avx512(const uint16_t* x, const uint16_t* g, uint16_t* gx, int64_t n, float step, float lo,
                              float hi, double* sum);
int64_t lsqCodesToBf16Avx512(const float* values, uint16_t* codes, int64_t n, float reciprocal);
int64_t lsqCodesToBf16Avx512(const uint16_t* values, uint16_t* codes, int64_t n, float reciprocal);
int64_t lsqCodesToU8Avx512(const float* values, uint8_t* codes, int64_t n, float reciprocal, bool* inRange);
int64_t lsqCodesToU8Avx512(const uint16_t* values, uint8_t* codes, int64_t n, float reciprocal, bool* inRange);
} // namespace detail

} // namespace tyq::kernels
