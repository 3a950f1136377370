#include "model/onednn_convolution.h"

#include "common/error.h"
#include "common/onednn.h"
#include "hw/onednn_integer_conv.h"
#include "kernels/cpu_isa.h"

#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

namespace tyq {
namespace {

using Tag = dnnl::memory::format_tag;
using DataType = dnnl::memory::data_type;

struct SumsPrimitive {
    dnnl::convolution_forward conv;
    dnnl::memory::desc src, weights, dst;
    dnnl::reorder weightReorder; ///< oihw codes -> the layout the kernel wants
    dnnl::memory::desc plainWeights;
    std::string implementation; ///< the kernel oneDNN chose, e.g. "brgconv:avx512_core_bf16"
};

// n, i, h, w, o, k, stride, padding, scaled, bf16 output, int8 codes (u8 x s8; else bf16 x bf16)
using ShapeKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, bool>;

std::shared_ptr<const SumsPrimitive> makePrimitive(const ShapeKey& key)
{
    const auto [n, i, h, w, o, k, stride, padding, scaled, bf16Output, int8Codes] = key;
    const int64_t oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1;
    const dnnl::memory::desc src({n, i, h, w}, int8Codes ? DataType::u8 : DataType::bf16, Tag::nhwc);
    const DataType weightType = int8Codes ? DataType::s8 : DataType::bf16;
    const dnnl::memory::desc weightsAny({o, i, k, k}, weightType, Tag::any);
    const dnnl::memory::desc dst({n, o, oh, ow}, bf16Output ? DataType::bf16 : DataType::f32, Tag::nhwc);
    // forward_inference: training keeps no workspace for a convolution, and the backward is
    // ATen's (code_convolution.cpp).
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src, weightsAny, dst, {stride, stride}, {padding, padding},
                                               {padding, padding});
    // Each sum times its channel's scale, one f32 product before the output's rounding: what
    // multiplying the f32 sums and then casting gives. oneDNN 2.6 has no output scales for bf16
    // convolutions; a binary post-op multiplies the same way (and the int8 sums, converted to
    // f32 first, take the same one).
    dnnl::primitive_attr attr;
    if (scaled) {
        dnnl::post_ops ops;
        ops.append_binary(dnnl::algorithm::binary_mul, dnnl::memory::desc({1, o, 1, 1}, DataType::f32, Tag::nchw));
        attr.set_post_ops(ops);
    }
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, oneDnnCpuEngine());
    const std::string implementation = pd.impl_info_str();
    // An int8 reference kernel would take seconds a layer: the bf16 or f32 sums are the way there.
    if (int8Codes && implementation.find("ref") != std::string::npos)
        return nullptr;
    auto p = std::make_shared<SumsPrimitive>();
    p->implementation = implementation;
    p->conv = dnnl::convolution_forward(pd);
    p->src = pd.src_desc();
    p->weights = pd.weights_desc();
    p->dst = pd.dst_desc();
    p->plainWeights = dnnl::memory::desc({o, i, k, k}, weightType, Tag::oihw);
    p->weightReorder = dnnl::reorder(dnnl::reorder::primitive_desc(oneDnnCpuEngine(), p->plainWeights,
                                                                   oneDnnCpuEngine(), p->weights));
    return p;
}

std::shared_ptr<const SumsPrimitive> primitive(const ShapeKey& key)
{
    return cachedByShape(key, &makePrimitive);
}

// A small unscaled bf16 convolution: what oneDNN answers for it tells what it has here.
std::shared_ptr<const SumsPrimitive> bf16Probe()
{
    return primitive({1, 16, 8, 8, 16, 3, 1, 1, false, false, false});
}

struct WeightGradientPrimitive {
    dnnl::convolution_backward_weights conv;
    dnnl::memory::desc src, diffDst, diffWeights;
    dnnl::reorder toPlain; ///< the kernel's layout -> f32 ohwi (a channels-last weight tensor)
    dnnl::memory::desc plain;
    bool planarInput = false; ///< src is NCHW: the caller transposes its channels-last input
};

// n, i, h, w, o, k, stride, padding, width padding
using GradientKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

std::shared_ptr<const WeightGradientPrimitive> makeWeightGradient(const GradientKey& key)
{
    const auto [n, i, h, w, o, k, stride, padding, widthPadding] = key;
    const int64_t oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * widthPadding - k) / stride + 1;
    const dnnl::memory::dims strides{stride, stride}, paddings{padding, widthPadding};
    auto describe = [&](Tag srcTag, Tag diffDstTag) {
        const dnnl::memory::desc src({n, i, h, w}, DataType::bf16, srcTag);
        const dnnl::memory::desc diffDst({n, o, oh, ow}, DataType::bf16, diffDstTag);
        // oneDNN builds a backward primitive from the forward one it answers.
        const dnnl::convolution_forward::primitive_desc hint(
            {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src,
             dnnl::memory::desc({o, i, k, k}, DataType::bf16, Tag::any), diffDst, strides, paddings, paddings},
            oneDnnCpuEngine());
        return dnnl::convolution_backward_weights::primitive_desc(
            {dnnl::algorithm::convolution_direct, src, dnnl::memory::desc({o, i, k, k}, DataType::f32, Tag::any),
             diffDst, strides, paddings, paddings},
            oneDnnCpuEngine(), hint);
    };
    // With 16 output channels a channels-last dy has the bytes of oneDNN's 16-channel blocks
    // (aBcd16b); so declared, with a planar input, a few input channels get a faster kernel: conv
    // 0, 3 -> 16 at 288x512, 2.6 ms against 4.0 with the input's transpose (Zen 4). Only where that
    // kernel is oneDNN's native bf16 one (its reference kernel would take seconds), and not on AMX,
    // whose weight-gradient kernel needs the bands (bf16_convolution.h).
    bool planarInput = o == 16 && i < 16 && !kernels::cpuHasAmxBf16();
    std::optional<dnnl::convolution_backward_weights::primitive_desc> planar;
    if (planarInput) {
        planar = describe(Tag::nchw, Tag::aBcd16b);
        planarInput = std::string(planar->impl_info_str()).find("avx512_core_bf16") != std::string::npos;
    }
    const dnnl::convolution_backward_weights::primitive_desc pd =
        planarInput ? *planar : describe(Tag::nhwc, Tag::nhwc);
    auto p = std::make_shared<WeightGradientPrimitive>();
    p->conv = dnnl::convolution_backward_weights(pd);
    p->src = pd.src_desc();
    p->diffDst = pd.diff_dst_desc();
    p->diffWeights = pd.diff_weights_desc();
    p->plain = dnnl::memory::desc({o, i, k, k}, DataType::f32, Tag::ohwi);
    p->toPlain = dnnl::reorder(
        dnnl::reorder::primitive_desc(oneDnnCpuEngine(), p->diffWeights, oneDnnCpuEngine(), p->plain));
    p->planarInput = planarInput;
    return p;
}

struct InputGradientPrimitive {
    dnnl::convolution_backward_data conv;
    dnnl::memory::desc diffSrc, weights, diffDst;
    dnnl::reorder weightReorder; ///< oihw bf16 -> the layout the kernel wants
    dnnl::memory::desc plainWeights;
};

// n, i, h, w, o, k, stride, padding
using InputGradientKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

std::shared_ptr<const InputGradientPrimitive> makeInputGradient(const InputGradientKey& key)
{
    const auto [n, i, h, w, o, k, stride, padding] = key;
    const int64_t oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1;
    const dnnl::memory::desc diffSrc({n, i, h, w}, DataType::bf16, Tag::nhwc);
    const dnnl::memory::desc weightsAny({o, i, k, k}, DataType::bf16, Tag::any);
    const dnnl::memory::desc diffDst({n, o, oh, ow}, DataType::bf16, Tag::nhwc);
    const dnnl::memory::dims strides{stride, stride}, paddings{padding, padding};
    const dnnl::convolution_forward::primitive_desc hint({dnnl::prop_kind::forward_training,
                                                          dnnl::algorithm::convolution_direct, diffSrc, weightsAny,
                                                          diffDst, strides, paddings, paddings},
                                                         oneDnnCpuEngine());
    const dnnl::convolution_backward_data::primitive_desc pd(
        {dnnl::algorithm::convolution_direct, diffSrc, weightsAny, diffDst, strides, paddings, paddings},
        oneDnnCpuEngine(), hint);
    // Where oneDNN has only its reference kernel (seconds a layer), LibTorch's call is the way.
    if (std::string(pd.impl_info_str()).find("ref") != std::string::npos)
        return nullptr;
    auto p = std::make_shared<InputGradientPrimitive>();
    p->conv = dnnl::convolution_backward_data(pd);
    p->diffSrc = pd.diff_src_desc();
    p->weights = pd.weights_desc();
    p->diffDst = pd.diff_dst_desc();
    p->plainWeights = dnnl::memory::desc({o, i, k, k}, DataType::bf16, Tag::oihw);
    p->weightReorder = dnnl::reorder(
        dnnl::reorder::primitive_desc(oneDnnCpuEngine(), p->plainWeights, oneDnnCpuEngine(), p->weights));
    return p;
}

// Runs a forward sums primitive: the weight reordered to its layout, the scale (when it has one)
// as its post-op's operand.
at::Tensor runSums(const SumsPrimitive& p, const at::Tensor& input, const at::Tensor& weight, const at::Tensor& scale,
                   at::ScalarType outputType)
{
    const dnnl::memory::dims dims = p.dst.dims();
    at::Tensor out = at::empty({dims[0], dims[1], dims[2], dims[3]},
                               at::TensorOptions(outputType).memory_format(at::MemoryFormat::ChannelsLast));
    const at::Tensor plain = weight.contiguous();
    const at::Tensor scales = scale.defined() ? scale.contiguous() : at::Tensor();
    dnnl::engine& engine = oneDnnCpuEngine();
    dnnl::memory plainWeights(p.plainWeights, engine, plain.data_ptr());
    dnnl::memory weights(p.weights, engine);
    dnnl::memory src(p.src, engine, input.data_ptr());
    dnnl::memory dst(p.dst, engine, out.data_ptr());
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
    if (scales.defined())
        args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                     dnnl::memory({{1, weight.size(0), 1, 1}, DataType::f32, Tag::nchw}, engine, scales.data_ptr()));
    dnnl::stream stream(engine);
    p.weightReorder.execute(stream, plainWeights, weights);
    p.conv.execute(stream, args);
    stream.wait();
    return out;
}

} // namespace

at::Tensor bf16ConvolutionSums(const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
                               const at::Tensor& scale, at::ScalarType outputType)
{
    if (input.dim() != 4 || weight.dim() != 4 || input.scalar_type() != at::kBFloat16 ||
        weight.scalar_type() != at::kBFloat16 || !input.is_contiguous(at::MemoryFormat::ChannelsLast) ||
        input.size(1) != weight.size(1) || weight.size(2) != weight.size(3) ||
        (outputType != at::kFloat && outputType != at::kBFloat16) ||
        (scale.defined() && (scale.numel() != weight.size(0) || scale.scalar_type() != at::kFloat)))
        throw Error("bf16 convolution sums: want a channels-last bf16 input [N, I, H, W], a bf16 weight [O, I, k, k], "
                    "f32 scales [O] or none, and an f32 or bf16 output; got " +
                    c10::str(input.sizes(), " ", input.scalar_type(), ", ", weight.sizes(), " ", weight.scalar_type(),
                             ", ", outputType));
    const bool scaled = scale.defined();
    const auto p = primitive({input.size(0), input.size(1), input.size(2), input.size(3), weight.size(0),
                              weight.size(2), stride, padding, scaled, outputType == at::kBFloat16, false});
    if (!p && scaled) { // the same values in separate passes
        at::Tensor sums = bf16ConvolutionSums(input, weight, stride, padding);
        sums.mul_(scale.reshape({1, -1, 1, 1}));
        return sums.to(outputType);
    }
    if (!p)
        throw Error("bf16 convolution sums: oneDNN has no bf16 convolution on this CPU (or under ONEDNN_MAX_CPU_ISA)");
    return runSums(*p, input, weight, scale, outputType);
}

bool int8SumsExact(int64_t largestInputCode, int64_t largestWeightCode)
{
    return largestInputCode <= 255 && largestWeightCode <= 127 &&
           oneDnnSumsUnsignedExactly(largestInputCode, largestWeightCode);
}

at::Tensor int8ConvolutionSums(const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
                               const at::Tensor& scale, at::ScalarType outputType)
{
    if (input.dim() != 4 || weight.dim() != 4 || input.scalar_type() != at::kByte ||
        weight.scalar_type() != at::kChar || !input.is_contiguous(at::MemoryFormat::ChannelsLast) ||
        input.size(1) != weight.size(1) || weight.size(2) != weight.size(3) ||
        (outputType != at::kFloat && outputType != at::kBFloat16) || !scale.defined() ||
        scale.numel() != weight.size(0) || scale.scalar_type() != at::kFloat)
        throw Error("int8 convolution sums: want channels-last u8 codes [N, I, H, W], int8 weight codes [O, I, k, k], "
                    "f32 scales [O] and an f32 or bf16 output; got " +
                    c10::str(input.sizes(), " ", input.scalar_type(), ", ", weight.sizes(), " ", weight.scalar_type(),
                             ", ", scale.sizes(), ", ", outputType));
    const auto p = primitive({input.size(0), input.size(1), input.size(2), input.size(3), weight.size(0),
                              weight.size(2), stride, padding, true, outputType == at::kBFloat16, true});
    return p ? runSums(*p, input, weight, scale, outputType) : at::Tensor();
}

at::Tensor bf16WeightGradientSums(const at::Tensor& input, const at::Tensor& dy, int64_t kernel, int64_t stride,
                                  int64_t padding, int64_t widthPadding)
{
    const bool shapes = input.dim() == 4 && dy.dim() == 4 && input.size(0) == dy.size(0) &&
                        dy.size(2) == (input.size(2) + 2 * padding - kernel) / stride + 1 &&
                        dy.size(3) == (input.size(3) + 2 * widthPadding - kernel) / stride + 1;
    if (!shapes || input.scalar_type() != at::kBFloat16 || dy.scalar_type() != at::kBFloat16 ||
        !input.is_contiguous(at::MemoryFormat::ChannelsLast) || !dy.is_contiguous(at::MemoryFormat::ChannelsLast))
        throw Error("bf16 weight gradient sums: want channels-last bf16 input [N, I, H, W] and gradient [N, O, OH, OW] "
                    "of a " + std::to_string(kernel) + "x" + std::to_string(kernel) + " stride " +
                    std::to_string(stride) + " convolution; got " +
                    c10::str(input.sizes(), " ", input.scalar_type(), ", ", dy.sizes(), " ", dy.scalar_type()));
    const auto p = cachedByShape(GradientKey{input.size(0), input.size(1), input.size(2), input.size(3), dy.size(1),
                                             kernel, stride, padding, widthPadding},
                                 &makeWeightGradient);
    if (!p)
        return {};
    at::Tensor out = at::empty({dy.size(1), input.size(1), kernel, kernel},
                               input.options().dtype(at::kFloat).memory_format(at::MemoryFormat::ChannelsLast));
    const at::Tensor src = p->planarInput ? input.contiguous() : input;
    dnnl::engine& engine = oneDnnCpuEngine();
    dnnl::memory plain(p->plain, engine, out.data_ptr());
    const bool blocked = p->diffWeights != p->plain;
    dnnl::memory diffWeights = blocked ? dnnl::memory(p->diffWeights, engine) : plain;
    dnnl::stream stream(engine);
    p->conv.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(p->src, engine, src.data_ptr())},
                             {DNNL_ARG_DIFF_DST, dnnl::memory(p->diffDst, engine, dy.data_ptr())},
                             {DNNL_ARG_DIFF_WEIGHTS, diffWeights}});
    if (blocked)
        p->toPlain.execute(stream, diffWeights, plain);
    stream.wait();
    return out;
}

at::Tensor bf16InputGradient(const at::Tensor& dy, const at::Tensor& weight, int64_t height, int64_t width,
                             int64_t stride, int64_t padding)
{
    const bool shapes = dy.dim() == 4 && weight.dim() == 4 && dy.size(1) == weight.size(0) &&
                        weight.size(2) == weight.size(3) &&
                        dy.size(2) == (height + 2 * padding - weight.size(2)) / stride + 1 &&
                        dy.size(3) == (width + 2 * padding - weight.size(3)) / stride + 1;
    if (!shapes || dy.scalar_type() != at::kBFloat16 || weight.scalar_type() != at::kBFloat16 ||
        !dy.is_contiguous(at::MemoryFormat::ChannelsLast))
        throw Error("bf16 input gradient: want a channels-last bf16 gradient [N, O, OH, OW] and a bf16 weight [O, I, k, "
                    "k] of a stride " + std::to_string(stride) + " convolution of a " + std::to_string(height) + "x" +
                    std::to_string(width) + " input; got " +
                    c10::str(dy.sizes(), " ", dy.scalar_type(), ", ", weight.sizes(), " ", weight.scalar_type()));
    const auto p = cachedByShape(
        InputGradientKey{dy.size(0), weight.size(1), height, width, weight.size(0), weight.size(2), stride, padding},
        &makeInputGradient);
    if (!p)
        return {};
    at::Tensor out = at::empty({dy.size(0), weight.size(1), height, width},
                               dy.options().memory_format(at::MemoryFormat::ChannelsLast));
    const at::Tensor plain = weight.contiguous();
    dnnl::engine& engine = oneDnnCpuEngine();
    dnnl::memory plainWeights(p->plainWeights, engine, plain.data_ptr());
    dnnl::memory weights(p->weights, engine);
    dnnl::stream stream(engine);
    p->weightReorder.execute(stream, plainWeights, weights);
    p->conv.execute(stream, {{DNNL_ARG_DIFF_SRC, dnnl::memory(p->diffSrc, engine, out.data_ptr())},
                             {DNNL_ARG_DIFF_DST, dnnl::memory(p->diffDst, engine, dy.data_ptr())},
                             {DNNL_ARG_WEIGHTS, weights}});
    stream.wait();
    return out;
}

bool oneDnnHasBf16Convolutions()
{
    static const bool has = bf16Probe() != nullptr;
    return has;
}

bool bf16SumsRunNatively()
{
    // Asking oneDNN, not CPUID, also covers ONEDNN_MAX_CPU_ISA: under a cap below AVX512_BF16 it
    // has no bf16 kernel at all, or one that emulates bf16 with f32 instructions (slower than f32).
    static const bool native = [] {
        const auto p = bf16Probe();
        return p && (p->implementation.find("avx512_core_bf16") != std::string::npos ||
                     p->implementation.find("amx") != std::string::npos);
    }();
    return native;
}

} // namespace tyq
