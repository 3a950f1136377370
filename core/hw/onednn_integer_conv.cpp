#include "hw/onednn_integer_conv.h"

#include "common/error.h"
#include "common/onednn.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace tyq {
namespace {

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

struct OneDnnConvPrimitive {
    dnnl::convolution_forward conv;
    dnnl::memory weights; ///< in the layout (and with the compensation) the primitive wants
    dnnl::memory::desc src, dst;
    std::string implementation; ///< the kernel oneDNN chose, e.g. "brgconv:avx512_core_amx_int8"
};

namespace {

/// oneDNN's convolution of int8 weight codes [O, I, k, k] over channels-last u8 or s8 inputs of
/// n x h x w pixels into s32 accumulators.
std::shared_ptr<OneDnnConvPrimitive> makePrimitive(const at::Tensor& weight, int64_t n, int64_t h, int64_t w,
                                                   bool signedInput, int64_t stride, int64_t padding)
{
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const int64_t o = weight.size(0), i = weight.size(1), k = weight.size(2);
    const int64_t oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1;
    const dnnl::memory::desc src({n, i, h, w}, signedInput ? dt::s8 : dt::u8, tag::nhwc);
    const dnnl::memory::desc weightsAny({o, i, k, k}, dt::s8, tag::any);
    const dnnl::memory::desc dst({n, o, oh, ow}, dt::s32, tag::nhwc);
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src, weightsAny, dst, {stride, stride}, {padding, padding},
                                               {padding, padding});
    const dnnl::convolution_forward::primitive_desc pd(desc, oneDnnCpuEngine());

    auto p = std::make_shared<OneDnnConvPrimitive>();
    p->conv = dnnl::convolution_forward(pd);
    p->src = pd.src_desc();
    p->dst = pd.dst_desc();
    p->implementation = pd.impl_info_str();
    dnnl::memory plain({{o, i, k, k}, dt::s8, tag::oihw}, oneDnnCpuEngine(), weight.data_ptr());
    p->weights = dnnl::memory(pd.weights_desc(), oneDnnCpuEngine());
    dnnl::stream stream(oneDnnCpuEngine());
    dnnl::reorder(plain, p->weights).execute(stream, plain, p->weights);
    stream.wait();
    return p;
}

/// Channels-last u8 or s8 `src` -> channels-last s32 accumulators.
at::Tensor execute(const OneDnnConvPrimitive& p, const at::Tensor& src)
{
    const dnnl::memory::dims dims = p.dst.dims();
    const at::Tensor dst = at::empty({dims[0], dims[1], dims[2], dims[3]},
                                     at::TensorOptions(at::kInt).memory_format(at::MemoryFormat::ChannelsLast));
    dnnl::memory srcMemory(p.src, oneDnnCpuEngine(), src.data_ptr());
    dnnl::memory dstMemory(p.dst, oneDnnCpuEngine(), dst.data_ptr());
    dnnl::stream stream(oneDnnCpuEngine());
    p.conv.execute(stream, {{DNNL_ARG_SRC, srcMemory}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, dstMemory}});
    stream.wait();
    return dst;
}

/// Whether oneDNN sums `inputMax`-sized inputs times `weightMax`-sized weights exactly, on a 3x3
/// and a 1x1 convolution whose single output is a known dot product: unsigned inputs all at
/// `inputMax`, or signed ones at -inputMax-1 and inputMax, a channel pair alike; odd weights, one
/// sign per output channel, so that a pair's products add up.
bool sumsExactly(bool signedInput, int inputMax, int weightMax)
{
    constexpr int64_t kIn = 32, kOut = 16;
    for (const int64_t k : {3, 1}) {
        at::Tensor x = at::empty({1, k, k, kIn}, at::kInt);
        at::Tensor w = at::empty({kOut, kIn, k, k}, at::kInt);
        auto xs = x.accessor<int32_t, 4>();
        auto ws = w.accessor<int32_t, 4>();
        for (int64_t y = 0; y < k; ++y)
            for (int64_t col = 0; col < k; ++col)
                for (int64_t c = 0; c < kIn; ++c)
                    xs[0][y][col][c] = signedInput && (c / 2 + y + col) % 2 ? -inputMax - 1 : inputMax;
        for (int64_t o = 0; o < kOut; ++o)
            for (int64_t c = 0; c < kIn; ++c)
                for (int64_t y = 0; y < k; ++y)
                    for (int64_t col = 0; col < k; ++col)
                        ws[o][c][y][col] = (o % 2 ? -1 : 1) * (weightMax - 2 * ((c / 2 + y + col + o) % 2));
        // [1, 1, k, k, I] . [O, 1, k, k, I]: the one output of each channel, exactly.
        const at::Tensor expected = (x.unsqueeze(0).to(at::kLong) * w.permute({0, 2, 3, 1}).unsqueeze(1).to(at::kLong))
                                        .sum({1, 2, 3, 4});
        const at::Tensor src = x.permute({0, 3, 1, 2}).to(signedInput ? at::kChar : at::kByte);
        const at::Tensor codes = src.contiguous(at::MemoryFormat::ChannelsLast);
        const auto p = makePrimitive(w.to(at::kChar).contiguous(), 1, k, k, signedInput, 1, 0);
        if (!at::equal(execute(*p, codes).reshape({kOut}).to(at::kLong), expected))
            return false;
    }
    return true;
}

// What oneDNN's int8 convolutions compute exactly on this CPU, found once by running them. With
// VNNI (vpdpbusd) every u8 x s8 sum is exact. Without it oneDNN adds pairs of products in
// saturating 16-bit arithmetic first, and for s8 inputs it halves the weights ("scale
// adjust", to keep those pairs in range), which rounds odd weights: inexact at any size. Asking
// oneDNN itself, not CPUID, also covers ONEDNN_MAX_CPU_ISA and ISAs this code has not met.
struct Exactness {
    bool unsignedFull = false, unsignedPairs = false; ///< u8: any sums; sums whose pairs fit 16 bits
    bool signedFull = false, signedPairs = false;     ///< s8 likewise
};

const Exactness& exactness()
{
    // A oneDNN that cannot run the probe (no int8 kernel for this CPU) computes nothing exactly:
    // the loops run every layer.
    const auto exact = [](bool signedInput, int inputMax, int weightMax) {
        try {
            return sumsExactly(signedInput, inputMax, weightMax);
        } catch (const dnnl::error&) {
            return false;
        }
    };
    // 2 x 255 x 63 = 32130 fits a 16-bit pair sum; 2 x 255 x 127 does not.
    static const Exactness e{exact(false, 255, 127), exact(false, 255, 63), exact(true, 127, 127), exact(true, 127, 63)};
    return e;
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

bool oneDnnSumsExactly()
{
    const Exactness& e = exactness();
    return e.unsignedFull && e.signedFull;
}

bool oneDnnSumsUnsignedExactly(int64_t inputMax, int64_t weightMax)
{
    const Exactness& e = exactness();
    return e.unsignedFull || (e.unsignedPairs && 2 * inputMax * weightMax <= 32767);
}

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
    if (oneDnnCodeType(inputQmin, inputQmax) == at::kInt) {
        usable_ = false;
        reason_ = "input codes wider than 16 bits";
        return;
    }
    // Each oneDNN convolution of this layer: u8 codes (or the split's low byte), s8 codes (or its
    // signed high byte). Where oneDNN's s8 sums are not exact on this CPU, s8 codes go in as u8
    // (x + 128, corrected after: shiftSigned_); where its u8 sums are not either, the loops run
    // the layer.
    const InputForm form = inputForm(inputQmin, inputQmax);
    const bool signedInput = form == InputForm::s8 || (form == InputForm::split && inputQmin < 0);
    const Exactness& e = exactness();
    shiftSigned_ = signedInput && !e.signedFull && !e.signedPairs;
    const bool unsignedInput = form != InputForm::s8 || shiftSigned_;
    // Without VNNI s8 inputs are shifted to u8 (0..255) for oneDNN's pair sums, by it or by us.
    const int64_t srcMax = form == InputForm::u8 ? inputQmax : 255;
    const bool pairsFit = 2 * srcMax * wMax <= 32767;
    const bool signedViaOneDnn = signedInput && !shiftSigned_;
    if (unsignedInput && !e.unsignedFull && !e.unsignedPairs) {
        usable_ = false;
        reason_ = "oneDNN's int8 convolution is not exact on this CPU";
    } else if (((signedViaOneDnn && !e.signedFull) || (unsignedInput && !e.unsignedFull)) && !pairsFit) {
        usable_ = false;
        reason_ = "this CPU has no VNNI and pairs of products could saturate oneDNN's 16-bit sums";
    }
}

OneDnnIntegerConv::~OneDnnIntegerConv() = default;

std::shared_ptr<OneDnnConvPrimitive> OneDnnIntegerConv::primitive(int64_t n, int64_t h, int64_t w, bool signedInput) const
{
    const auto key = std::make_tuple(n, h, w, signedInput);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = cache_.find(key); it != cache_.end())
        return it->second;
    auto p = makePrimitive(weight_, n, h, w, signedInput, stride_, padding_);
    cache_.emplace(key, p);
    return p;
}

at::Tensor OneDnnIntegerConv::offsetOfShift(int64_t h, int64_t w) const
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto it = shiftOffsets_.find({h, w}); it != shiftOffsets_.end())
            return it->second;
    }
    const at::Tensor ones =
        at::ones({1, weight_.size(1), h, w}, at::kByte).contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor offset = execute(*primitive(1, h, w, false), ones).mul_(128);
    std::lock_guard<std::mutex> lock(mutex_);
    shiftOffsets_.emplace(std::make_pair(h, w), offset);
    return offset;
}

std::set<std::string> OneDnnIntegerConv::implementations() const
{
    std::lock_guard lock(mutex_);
    std::set<std::string> names;
    for (const auto& [key, p] : cache_)
        names.insert(p->implementation);
    return names;
}

at::ScalarType oneDnnCodeType(int qmin, int qmax)
{
    switch (inputForm(qmin, qmax)) {
    case InputForm::u8: return at::kByte;
    case InputForm::s8: return at::kChar;
    case InputForm::split: break;
    }
    return qmin >= -32768 && qmax <= 32767 ? at::kShort : at::kInt;
}

at::ScalarType OneDnnIntegerConv::codeType() const
{
    return oneDnnCodeType(inputQmin_, inputQmax_);
}

at::Tensor OneDnnIntegerConv::run(const at::Tensor& inputCodes) const
{
    const at::Tensor codes = inputCodes.to(at::kInt).to(codeType()).contiguous(at::MemoryFormat::ChannelsLast);
    return runChannelsLast(codes).contiguous();
}

at::Tensor OneDnnIntegerConv::runChannelsLast(const at::Tensor& codes) const
{
    if (!usable_)
        throw Error("oneDNN integer convolution: " + reason_);
    if (codes.scalar_type() != codeType() || !codes.is_contiguous(at::MemoryFormat::ChannelsLast))
        throw Error("oneDNN integer convolution: codes must be channels-last " + std::string(c10::toString(codeType())));
    const int64_t n = codes.size(0), h = codes.size(2), w = codes.size(3);
    // `src` is channels-last u8 or s8; the result is channels-last s32.
    const auto convolve = [&](const at::Tensor& src, bool signedInput) {
        if (!signedInput || !shiftSigned_)
            return execute(*primitive(n, h, w, signedInput), src);
        // conv(x) = conv(x + 128) - 128 conv(1), where 1 is the input's own support (zero
        // padding), so border outputs sum fewer weights. x + 128 of an int8 is its bytes ^ 0x80.
        const at::Tensor shifted = src.view(at::kByte).bitwise_xor(128).contiguous(at::MemoryFormat::ChannelsLast);
        return execute(*primitive(n, h, w, false), shifted).sub_(offsetOfShift(h, w));
    };
    switch (inputForm(inputQmin_, inputQmax_)) {
    case InputForm::u8: return convolve(codes, false);
    case InputForm::s8: return convolve(codes, true);
    case InputForm::split: break;
    }
    // x = 256 hi + lo with lo in 0..255, so conv(x) = 256 conv(hi) + conv(lo), each exact.
    const bool hiSigned = inputQmin_ < 0;
    if (inputQmax_ >> 8 > (hiSigned ? 127 : 255) || inputQmin_ >> 8 < -128)
        throw Error("oneDNN integer convolution: input codes beyond 16 bits");
    const auto channelsLast = at::MemoryFormat::ChannelsLast;
    const at::Tensor lo = at::bitwise_and(codes, 255).to(at::kByte).contiguous(channelsLast);
    const at::Tensor hi = at::__rshift__(codes, 8).to(hiSigned ? at::kChar : at::kByte).contiguous(channelsLast);
    return convolve(lo, false).add_(convolve(hi, hiSigned).mul_(256));
}

} // namespace tyq
