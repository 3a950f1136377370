// The batch-norm loops (kernels/batch_norm_kernel.h), compiled once per instruction set: in
// batch_norm_kernel.cpp for any x86-64 CPU, in batch_norm_kernel_avx512.cpp with -mavx512f (the
// compiler vectorizes the channel loops 16 floats wide there). Included only by those two.
#include "kernels/batch_norm_kernel.h"
#include "kernels/block_sums_impl.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#if defined(TYQ_KERNEL_AVX512)
#include "kernels/map_avx512_impl.h"
#endif

namespace tyq::kernels::detail {
namespace {

// Rows summed in f32 before the running double sums: the f32 error stays near 1e-5 relative.
constexpr int64_t kBlockRows = 128;

inline float load(const float* p, int64_t i) { return p[i]; }
inline float load(const uint16_t* p, int64_t i)
{
    const uint32_t bits = uint32_t{p[i]} << 16;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}
inline void store(float* p, int64_t i, float v) { p[i] = v; }
inline void store(uint16_t* p, int64_t i, float v)
{
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    // Round to nearest even, as c10::BFloat16 converts, in plain integer operations that the
    // channel loops vectorize; a NaN stays a (quiet) NaN.
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    p[i] = v != v ? uint16_t(0x7FC0) : static_cast<uint16_t>(rounded);
}

#if defined(TYQ_KERNEL_AVX512)
// The statistics' sums of rows [begin, end) for channels a multiple of 16: in registers, 16
// channels and two rows at a time (the vectorized loop below carries its sums through memory
// from row to row: conv 0's 16-channel bf16 map ran at 16 GB/s, compute-bound).
template <typename T>
void centeredSumsAvx512(const T* x, int64_t begin, int64_t end, int64_t c, const float* shift, float* sum, float* square)
{
    for (int64_t k = 0; k < c; k += 16) {
        const __m512 s = _mm512_loadu_ps(shift + k);
        __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
        __m512 square0 = _mm512_setzero_ps(), square1 = _mm512_setzero_ps();
        int64_t r = begin;
        for (; r + 1 < end; r += 2) {
            const __m512 d0 = _mm512_sub_ps(load16(x + r * c + k), s);
            const __m512 d1 = _mm512_sub_ps(load16(x + (r + 1) * c + k), s);
            sum0 = _mm512_add_ps(sum0, d0);
            sum1 = _mm512_add_ps(sum1, d1);
            square0 = _mm512_fmadd_ps(d0, d0, square0);
            square1 = _mm512_fmadd_ps(d1, d1, square1);
        }
        if (r < end) {
            const __m512 d = _mm512_sub_ps(load16(x + r * c + k), s);
            sum0 = _mm512_add_ps(sum0, d);
            square0 = _mm512_fmadd_ps(d, d, square0);
        }
        _mm512_storeu_ps(sum + k, _mm512_add_ps(sum0, sum1));
        _mm512_storeu_ps(square + k, _mm512_add_ps(square0, square1));
    }
}
#endif

template <typename T>
void meanVariance(const T* x, int64_t rows, int64_t c, double* mean, double* variance)
{
    // Around the first row's values: sums of (x - shift) and its square cancel far less.
    std::vector<float> shift(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k)
        shift[static_cast<size_t>(k)] = rows > 0 ? load(x, k) : 0.0f;
    const float* s = shift.data();
    const std::vector<double> sums = sumOverRowBlocks(rows, kBlockRows, static_cast<size_t>(2 * c), [&](int64_t begin, int64_t end, float* out) {
        float* sum = out;
        float* square = out + c;
#if defined(TYQ_KERNEL_AVX512)
        if (c % 16 == 0) {
            centeredSumsAvx512(x, begin, end, c, s, sum, square);
            return;
        }
#endif
        for (int64_t r = begin; r < end; ++r) {
            const T* row = x + r * c;
#pragma omp simd
            for (int64_t k = 0; k < c; ++k) {
                const float d = load(row, k) - s[k];
                sum[k] += d;
                square[k] += d * d;
            }
        }
    });
    const double n = static_cast<double>(rows);
    for (int64_t k = 0; k < c; ++k) {
        const auto i = static_cast<size_t>(k);
        const double m = sums[i] / n;
        mean[i] = shift[i] + m;
        variance[i] = std::max(0.0, sums[static_cast<size_t>(c + k)] / n - m * m);
    }
}

template <typename T>
void affine(const T* x, int64_t rows, int64_t c, const float* scale, const float* shift, T* y)
{
    at::parallel_for(0, rows, kBlockRows, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const T* in = x + r * c;
            T* out = y + r * c;
#pragma omp simd
            for (int64_t k = 0; k < c; ++k)
                store(out, k, load(in, k) * scale[k] + shift[k]);
        }
    });
}

template <typename T>
void gradientSums(const T* dy, const T* x, int64_t rows, int64_t c, const double* mean, double* sumDy,
                  double* sumDyCentered)
{
    std::vector<float> center(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k)
        center[static_cast<size_t>(k)] = static_cast<float>(mean[k]);
    const float* m = center.data();
    const std::vector<double> sums = sumOverRowBlocks(rows, kBlockRows, static_cast<size_t>(2 * c), [&](int64_t begin, int64_t end, float* out) {
        float* g = out;
        float* gx = out + c;
        for (int64_t r = begin; r < end; ++r) {
            const T* dyRow = dy + r * c;
            const T* xRow = x + r * c;
#pragma omp simd
            for (int64_t k = 0; k < c; ++k) {
                const float d = load(dyRow, k);
                g[k] += d;
                gx[k] += d * (load(xRow, k) - m[k]);
            }
        }
    });
    for (int64_t k = 0; k < c; ++k) {
        sumDy[k] = sums[static_cast<size_t>(k)];
        sumDyCentered[k] = sums[static_cast<size_t>(c + k)];
    }
}

template <typename T>
void gradientAffine(const T* dy, const T* x, int64_t rows, int64_t c, const float* a, const float* b, const float* d,
                    T* dx)
{
    at::parallel_for(0, rows, kBlockRows, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const T* g = dy + r * c;
            const T* in = x + r * c;
            T* out = dx + r * c;
#pragma omp simd
            for (int64_t k = 0; k < c; ++k)
                store(out, k, load(g, k) * a[k] + load(in, k) * b[k] + d[k]);
        }
    });
}

void channelMeanVarianceLoop(const void* x, MapType type, int64_t rows, int64_t channels, double* mean, double* variance)
{
    if (type == MapType::f32)
        meanVariance(static_cast<const float*>(x), rows, channels, mean, variance);
    else
        meanVariance(static_cast<const uint16_t*>(x), rows, channels, mean, variance);
}

void channelAffineLoop(const void* x, MapType type, int64_t rows, int64_t channels, const float* scale, const float* shift,
                   void* y)
{
    if (type == MapType::f32)
        affine(static_cast<const float*>(x), rows, channels, scale, shift, static_cast<float*>(y));
    else
        affine(static_cast<const uint16_t*>(x), rows, channels, scale, shift, static_cast<uint16_t*>(y));
}

void channelGradientSumsLoop(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels,
                         const double* mean, double* sumDy, double* sumDyCentered)
{
    if (type == MapType::f32)
        gradientSums(static_cast<const float*>(dy), static_cast<const float*>(x), rows, channels, mean, sumDy,
                     sumDyCentered);
    else
        gradientSums(static_cast<const uint16_t*>(dy), static_cast<const uint16_t*>(x), rows, channels, mean, sumDy,
                     sumDyCentered);
}

void channelGradientAffineLoop(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels, const float* a,
                           const float* b, const float* d, void* dx)
{
    if (type == MapType::f32)
        gradientAffine(static_cast<const float*>(dy), static_cast<const float*>(x), rows, channels, a, b, d,
                       static_cast<float*>(dx));
    else
        gradientAffine(static_cast<const uint16_t*>(dy), static_cast<const uint16_t*>(x), rows, channels, a, b, d,
                       static_cast<uint16_t*>(dx));
}

} // namespace

#if defined(TYQ_KERNEL_AVX512)
const BatchNormLoops& batchNormLoopsAvx512()
#else
const BatchNormLoops& batchNormLoopsBaseline()
#endif
{
    static const BatchNormLoops loops{channelMeanVarianceLoop, channelAffineLoop, channelGradientSumsLoop,
                                      channelGradientAffineLoop};
    return loops;
}

} // namespace tyq::kernels::detail
