// The body of the fused conv + bias + activation + max-pool kernel, compiled once per
// instruction set (see simd.h). Internal linkage except the one entry point.
#include "kernels/conv_pool_kernel.h"
#include "kernels/simd.h"

#include <cstring>

namespace tyq::kernels {
namespace {

#if defined(TYQ_KERNEL_AVX512)
#define TYQ_KERNEL_NAME convPoolRowsAvx512
constexpr int kAccumulatorBudget = 16;
#else
#define TYQ_KERNEL_NAME convPoolRowsAvx2
constexpr int kAccumulatorBudget = 12;
#endif

constexpr int W = Vec::width;

// The epilogue after the max over the 2x2 window and the bias: activation, quantizer.
struct Epilogue {
    KernelActivation activation;
    bool quantize;
    Vec step, lo, hi;

    Vec apply(Vec v) const
    {
        if (activation == KernelActivation::relu)
            v = leaky(v, 0.0f);
        else if (activation == KernelActivation::leaky)
            v = leaky(v, 0.1f);
        if (quantize) {
            // clamp keeps NaN (max/min return the second operand when one is NaN)
            Vec q = div(v, step);
            q = vmin(hi, vmax(lo, q));
            v = mul(roundEven(q), step);
        }
        return v;
    }
};

// P pooled pixels x CB output-channel vectors: 4 P CB accumulators (the 2x2 conv outputs under
// each pooled pixel). `rows` are the 4 padded input rows (channels innermost, one zero pixel on
// each side) that cover pooled row y; `x0` is the first pooled column.
template <int CB, int P>
inline void block(const float* const* rows, int64_t cin, const float* weight, int64_t cout, const float* bias,
                  const float* scale, int64_t x0, float* out, int64_t outStrideW, const Epilogue& e)
{
    Vec acc[P][4][CB];
    for (int p = 0; p < P; ++p)
        for (int k = 0; k < 4; ++k)
            for (int c = 0; c < CB; ++c)
                acc[p][k][c] = Vec::zero();
    for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) {
            const float* wk = weight + (ky * 3 + kx) * cin * cout;
            // input pixel (padded column) of output column 2 (x0 + p) + dx at tap kx
            const float* r0 = rows[ky] + (2 * x0 + kx) * cin;
            const float* r1 = rows[ky + 1] + (2 * x0 + kx) * cin;
            for (int64_t ci = 0; ci < cin; ++ci) {
                Vec w[CB];
                for (int c = 0; c < CB; ++c)
                    w[c] = Vec::load(wk + ci * cout + c * W);
                for (int p = 0; p < P; ++p) {
                    const Vec a00 = Vec::broadcast(r0 + (2 * p) * cin + ci);
                    const Vec a01 = Vec::broadcast(r0 + (2 * p + 1) * cin + ci);
                    const Vec a10 = Vec::broadcast(r1 + (2 * p) * cin + ci);
                    const Vec a11 = Vec::broadcast(r1 + (2 * p + 1) * cin + ci);
                    for (int c = 0; c < CB; ++c) {
                        acc[p][0][c] = fma(a00, w[c], acc[p][0][c]);
                        acc[p][1][c] = fma(a01, w[c], acc[p][1][c]);
                        acc[p][2][c] = fma(a10, w[c], acc[p][2][c]);
                        acc[p][3][c] = fma(a11, w[c], acc[p][3][c]);
                    }
                }
            }
        }
    }
    for (int c = 0; c < CB; ++c) {
        const Vec b = Vec::load(bias + c * W);
        if (scale) {
            const Vec a = Vec::load(scale + c * W);
            for (int p = 0; p < P; ++p) {
                for (int k = 0; k < 4; ++k)
                    acc[p][k][c] = add(mul(acc[p][k][c], a), b);
                const Vec m = vmax(vmax(acc[p][0][c], acc[p][1][c]), vmax(acc[p][2][c], acc[p][3][c]));
                e.apply(m).store(out + p * outStrideW + c * W);
            }
        } else {
            for (int p = 0; p < P; ++p) {
                const Vec m = vmax(vmax(acc[p][0][c], acc[p][1][c]), vmax(acc[p][2][c], acc[p][3][c]));
                e.apply(add(m, b)).store(out + p * outStrideW + c * W);
            }
        }
    }
}

// One pooled row: all columns, all output channels, in chunks of CB vectors.
template <int CB, int P>
void pooledRow(const float* const* rows, const ConvPoolParams& p, float* out, const Epilogue& e)
{
    const int64_t pooledWidth = p.width / 2;
    for (int64_t c0 = 0; c0 < p.outChannels; c0 += CB * W) {
        const float* w = p.weight + c0;
        const float* b = p.bias + c0;
        const float* a = p.scale ? p.scale + c0 : nullptr;
        int64_t x = 0;
        for (; x + P <= pooledWidth; x += P)
            block<CB, P>(rows, p.inChannels, w, p.outChannels, b, a, x, out + x * p.outStrideW + c0, p.outStrideW, e);
        for (; x < pooledWidth; ++x)
            block<CB, 1>(rows, p.inChannels, w, p.outChannels, b, a, x, out + x * p.outStrideW + c0, p.outStrideW, e);
    }
}

// Copies input row y of image n into a padded channels-last row (zero pixel at each end), or
// zeros for a row outside the image.
void fillRow(const ConvPoolParams& p, int64_t n, int64_t y, float* dst)
{
    const int64_t cin = p.inChannels;
    const int64_t paddedWidth = p.width + 2;
    if (y < 0 || y >= p.height) {
        std::memset(dst, 0, sizeof(float) * static_cast<size_t>(paddedWidth * cin));
        return;
    }
    std::memset(dst, 0, sizeof(float) * static_cast<size_t>(cin));
    std::memset(dst + (paddedWidth - 1) * cin, 0, sizeof(float) * static_cast<size_t>(cin));
    const float* src = p.input + n * p.inStrideN + y * p.inStrideH;
    float* d = dst + cin;
    if (p.inStrideC == 1 && p.inStrideW == cin) {
        std::memcpy(d, src, sizeof(float) * static_cast<size_t>(p.width * cin));
    } else {
        for (int64_t c = 0; c < cin; ++c) {
            const float* s = src + c * p.inStrideC;
            for (int64_t x = 0; x < p.width; ++x)
                d[x * cin + c] = s[x * p.inStrideW];
        }
    }
}

} // namespace

namespace detail {

void TYQ_KERNEL_NAME(const ConvPoolParams& p, int64_t rowBegin, int64_t rowEnd, float* scratch)
{
    Epilogue e;
    e.activation = p.activation;
    e.quantize = p.quantStep > 0;
    e.step = Vec::set(p.quantStep);
    e.lo = Vec::set(p.quantMin);
    e.hi = Vec::set(p.quantMax);
    const int64_t pooledHeight = p.height / 2;
    const int64_t rowFloats = (p.width + 2) * p.inChannels;
    // scratch holds 4 padded rows; consecutive pooled rows of one image share two of them.
    float* rows[4] = {scratch, scratch + rowFloats, scratch + 2 * rowFloats, scratch + 3 * rowFloats};
    int64_t loadedN = -1, loadedY = -10;
    for (int64_t r = rowBegin; r < rowEnd; ++r) {
        const int64_t n = r / pooledHeight;
        const int64_t py = r % pooledHeight;
        const int64_t y0 = 2 * py - 1; // first input row of the 4
        if (n == loadedN && y0 == loadedY + 2) {
            float* t0 = rows[0];
            float* t1 = rows[1];
            rows[0] = rows[2];
            rows[1] = rows[3];
            rows[2] = t0;
            rows[3] = t1;
            fillRow(p, n, y0 + 2, rows[2]);
            fillRow(p, n, y0 + 3, rows[3]);
        } else {
            for (int k = 0; k < 4; ++k)
                fillRow(p, n, y0 + k, rows[k]);
        }
        loadedN = n;
        loadedY = y0;
        float* out = p.output + n * p.outStrideN + py * p.outStrideH;
        const float* const* rp = rows;
        // 4 x P x CB accumulators within the register budget, CB x W dividing the channels.
        const int64_t vectors = p.outChannels / W;
        if (kAccumulatorBudget >= 16 && vectors % 2 == 0)
            pooledRow<2, 2>(rp, p, out, e);
        else if (kAccumulatorBudget >= 16)
            pooledRow<1, 4>(rp, p, out, e);
        else
            pooledRow<1, 3>(rp, p, out, e);
    }
}

} // namespace detail
} // namespace tyq::kernels

#undef TYQ_KERNEL_NAME
