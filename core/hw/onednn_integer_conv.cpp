#include "hw/onednn_integer_conv.h"

#include "common/error.h"

#include <ATen/ATen.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>

namespace tyq {
namespace {

dnnl::engine& cpuEngine()
{
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// How the input codes go into oneDNN: one u8 or s8 tensor, or (wider codes) split in two.
enum class InputForm { u8, s8, split };

InputForm inputForm(int qmin, int qmax)
{
    if (qmin >= 0 && qmax <= 255)
        return InputForm::u8;
    if (qmin >= -128 && qmax <= 127)
        return InputForm::s8;
    return InputForm::split;
}

} // namespace

// From CPUID, not dnnl::get_effective_cpu_isa(): that reports the ISA cap oneDNN may dispatch
// to (avx512_core_amx on a Zen 4 without AMX), not what this CPU has.
std::string oneDnnIsaName()
{
    if (__builtin_cpu_supports("avx512vnni"))
        return "AVX-512 with VNNI";
    if (__builtin_cpu_supports("avxvnni"))
        return "AVX2 with AVX-VNNI";
    if (__builtin_cpu_supports("avx512bw"))
        return "AVX-512 without VNNI";
    if (__builtin_cpu_supports("avx2"))
        return "AVX2 without VNNI";
    return "no AVX2";
}

bool oneDnnHasVnni()
{
    return __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
}

struct OneDnnIntegerConv::Primitive {
    dnnl::convolution_forward conv;
    dnnl::memory weights; ///< in the layout (and with the compensation) the primitive wants
    dnnl::memory::desc src, dst;
};

OneDnnIntegerConv::OneDnnIntegerConv(const at::Tensor& weightCodes, int64_t stride, int64_t padding, int inputQmin,
                                     int inputQmax)
    : stride_(stride), padding_(padding), inputQmin_(inputQmin), inputQmax_(inputQmax)
{
    const at::Tensor w = weightCodes.to(at::kInt);
    const int64_t wMax = w.numel() ? w.abs().max().item<int64_t>() : 0;
    if (w.numel() && (w.min().item<int64_t>() < -128 || w.max().item<int64_t>() > 127)) {
        usable_ = false;
        reason_ = "weight codes wider than 8 bits";
        return;
    }
    weight_ = w.to(at::kChar).contiguous();
    // Without VNNI, oneDNN adds pairs of u8 x s8 products in saturating int16 (s8 inputs are
    // shifted to u8 first); exact only while two products fit.
    const int64_t srcMax = inputForm(inputQmin, inputQmax) == InputForm::u8 ? inputQmax : 255;
    if (!oneDnnHasVnni() && 2 * srcMax * wMax > 32767) {
        usable_ = false;
        reason_ = "this CPU has no VNNI and pairs of products could saturate oneDNN's 16-bit sums";
    }
}

OneDnnIntegerConv::~OneDnnIntegerConv() = default;

std::shared_ptr<OneDnnIntegerConv::Primitive> OneDnnIntegerConv::primitive(int64_t n, int64_t h, int64_t w,
                                                                           bool signedInput) const
{
    const auto key = std::make_tuple(n, h, w, signedInput);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = cache_.find(key); it != cache_.end())
        return it->second;

    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const int64_t o = weight_.size(0), i = weight_.size(1), k = weight_.size(2);
    const int64_t oh = (h + 2 * padding_ - k) / stride_ + 1, ow = (w + 2 * padding_ - k) / stride_ + 1;
    const dnnl::memory::desc src({n, i, h, w}, signedInput ? dt::s8 : dt::u8, tag::nhwc);
    const dnnl::memory::desc weightsAny({o, i, k, k}, dt::s8, tag::any);
    const dnnl::memory::desc dst({n, o, oh, ow}, dt::s32, tag::nhwc);
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src, weightsAny, dst, {stride_, stride_}, {padding_, padding_},
                                               {padding_, padding_});
    const dnnl::convolution_forward::primitive_desc pd(desc, cpuEngine());

    auto p = std::make_shared<Primitive>();
    p->conv = dnnl::convolution_forward(pd);
    p->src = pd.src_desc();
    p->dst = pd.dst_desc();
    dnnl::memory plain({{o, i, k, k}, dt::s8, tag::oihw}, cpuEngine(), weight_.data_ptr());
    p->weights = dnnl::memory(pd.weights_desc(), cpuEngine());
    dnnl::stream stream(cpuEngine());
    dnnl::reorder(plain, p->weights).execute(stream, plain, p->weights);
    stream.wait();
    cache_.emplace(key, p);
    return p;
}

at::Tensor OneDnnIntegerConv::run(const at::Tensor& inputCodes) const
{
    if (!usable_)
        throw Error("oneDNN integer convolution: " + reason_);
    const at::Tensor input = inputCodes.to(at::kInt);
    const int64_t n = input.size(0), h = input.size(2), w = input.size(3);
    const auto convolve = [&](const at::Tensor& nchwCodes, bool signedInput) {
        const at::Tensor src = nchwCodes.permute({0, 2, 3, 1}).to(signedInput ? at::kChar : at::kByte).contiguous();
        const std::shared_ptr<Primitive> p = primitive(n, h, w, signedInput);
        const dnnl::memory::dims dims = p->dst.dims();
        at::Tensor dst = at::empty({dims[0], dims[2], dims[3], dims[1]}, at::kInt); // NHWC
        dnnl::memory srcMemory(p->src, cpuEngine(), src.data_ptr());
        dnnl::memory dstMemory(p->dst, cpuEngine(), dst.data_ptr());
        dnnl::stream stream(cpuEngine());
        p->conv.execute(stream, {{DNNL_ARG_SRC, srcMemory}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, dstMemory}});
        stream.wait();
        return dst;
    };
    at::Tensor acc;
    switch (inputForm(inputQmin_, inputQmax_)) {
    case InputForm::u8: acc = convolve(input, false); break;
    case InputForm::s8: acc = convolve(input, true); break;
    case InputForm::split: {
        // x = 256 hi + lo with lo in 0..255, so conv(x) = 256 conv(hi) + conv(lo), each exact.
        const at::Tensor lo = at::bitwise_and(input, 255);
        const at::Tensor hi = at::__rshift__(input, 8);
        const bool hiSigned = inputQmin_ < 0;
        if (inputQmax_ >> 8 > (hiSigned ? 127 : 255) || inputQmin_ >> 8 < -128)
            throw Error("oneDNN integer convolution: input codes beyond 16 bits");
        acc = convolve(lo, false).add_(convolve(hi, hiSigned).mul_(256));
        break;
    }
    }
    return acc.permute({0, 3, 1, 2}).contiguous();
}

} // namespace tyq
