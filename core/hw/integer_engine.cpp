#include "hw/integer_engine.h"

#include "common/error.h"
#include "hw/onednn_integer_conv.h"
#include "kernels/integer_code_kernel.h"
#include "kernels/integer_conv_pool_kernel.h"
#include "model/yolo_head.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

namespace tyq {
namespace {

int64_t outputSize(int64_t in, int64_t size, int64_t stride, int64_t padding)
{
    return (in + 2 * padding - size) / stride + 1;
}

// Max-pool of int32 codes; padded positions are skipped (as -infinity in the float network).
at::Tensor maxPoolCodes(const at::Tensor& x, int64_t size, int64_t stride, int64_t padding)
{
    const at::Tensor in = x.contiguous();
    const int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
    const int64_t oh = outputSize(h, size, stride, padding), ow = outputSize(w, size, stride, padding);
    at::Tensor out = at::empty({n, c, oh, ow}, at::kInt);
    const int32_t* src = in.data_ptr<int32_t>();
    int32_t* dst = out.data_ptr<int32_t>();
    at::parallel_for(0, n * c, 1, [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) {
            const int32_t* p = src + plane * h * w;
            int32_t* q = dst + plane * oh * ow;
            for (int64_t oy = 0; oy < oh; ++oy)
                for (int64_t ox = 0; ox < ow; ++ox) {
                    int32_t best = std::numeric_limits<int32_t>::min();
                    for (int64_t ky = 0; ky < size; ++ky) {
                        const int64_t iy = oy * stride - padding + ky;
                        if (iy < 0 || iy >= h)
                            continue;
                        for (int64_t kx = 0; kx < size; ++kx) {
                            const int64_t ix = ox * stride - padding + kx;
                            if (ix >= 0 && ix < w)
                                best = std::max(best, p[iy * w + ix]);
                        }
                    }
                    q[oy * ow + ox] = best;
                }
        }
    });
    return out;
}

at::Tensor upsampleNearest(const at::Tensor& x, int64_t factor)
{
    return x.repeat_interleave(factor, 2).repeat_interleave(factor, 3).contiguous();
}

at::Tensor activateFloat(const at::Tensor& x, Activation activation)
{
    switch (activation) {
    case Activation::relu: return at::relu(x);
    case Activation::leaky: return at::leaky_relu(x, 0.1);
    case Activation::linear: break;
    }
    return x;
}

at::Tensor requantizeAccumulators(const at::Tensor& acc, const Requantization& r, bool checkExact, RequantStats& stats)
{
    const int64_t n = acc.size(0), channels = acc.size(1), plane = acc.size(2) * acc.size(3);
    at::Tensor out = at::empty(acc.sizes(), at::kInt);
    const int32_t* src = acc.data_ptr<int32_t>();
    int32_t* dst = out.data_ptr<int32_t>();
    std::atomic<int64_t> ties{0}, differ{0};
    at::parallel_for(0, n * channels, 1, [&](int64_t begin, int64_t end) {
        int64_t localTies = 0, localDiffer = 0;
        for (int64_t k = begin; k < end; ++k) {
            const size_t c = static_cast<size_t>(k % channels);
            const int32_t m = r.multiplier[c], b = r.bias[c], s = r.shift[c];
            const double realM = r.realMultiplier[c], realC = r.realBias[c];
            const int32_t* a = src + k * plane;
            int32_t* q = dst + k * plane;
            for (int64_t i = 0; i < plane; ++i) {
                bool tie = false;
                q[i] = requantize(a[i], m, b, s, r.qmin, r.qmax, &tie);
                localTies += tie;
                if (checkExact) {
                    const double exact = std::nearbyint(realM * a[i] + realC); // half to even
                    const double clamped = std::min<double>(std::max<double>(exact, r.qmin), r.qmax);
                    localDiffer += clamped != q[i];
                }
            }
        }
        ties += localTies;
        differ += localDiffer;
    });
    stats.values += acc.numel();
    stats.ties += ties;
    stats.differFromExact += differ;
    return out;
}

at::Tensor floatOutput(const at::Tensor& acc, const IntegerConvLayer& layer)
{
    const int64_t n = acc.size(0), channels = acc.size(1), plane = acc.size(2) * acc.size(3);
    at::Tensor out = at::empty(acc.sizes(), at::kFloat);
    const int32_t* src = acc.data_ptr<int32_t>();
    float* dst = out.data_ptr<float>();
    for (int64_t k = 0; k < n * channels; ++k) {
        const float scale = layer.floatScale[static_cast<size_t>(k % channels)];
        const float bias = layer.floatBias[static_cast<size_t>(k % channels)];
        for (int64_t i = 0; i < plane; ++i) {
            const float product = static_cast<float>(src[k * plane + i]) * scale;
            dst[k * plane + i] = product + bias;
        }
    }
    return activateFloat(out, layer.activation);
}

const char* const kPixelError = "integer engine: the input must hold integer pixel values 0..255 (the network's preprocessing)";

// The image as codes: integer pixels 0..255, int32.
at::Tensor pixelCodes(const at::Tensor& image)
{
    const at::Tensor d = image.to(at::kDouble);
    if (d.numel() > 0 && (!at::equal(d, d.round()) || d.min().item<double>() < 0 || d.max().item<double>() > 255))
        throw Error(kPixelError);
    return d.to(at::kInt).contiguous();
}


// --- Codes channels-last ([N, C, H, W] sizes, NHWC memory) in the dtype oneDNN reads ---------

at::Tensor emptyChannelsLast(int64_t n, int64_t c, int64_t h, int64_t w, at::ScalarType type)
{
    return at::empty({n, c, h, w}, at::TensorOptions(type).memory_format(at::MemoryFormat::ChannelsLast));
}

kernels::MapShape mapShape(const at::Tensor& t)
{
    return {t.size(0), t.size(2), t.size(3), t.size(1)};
}

bool isCodes(const at::Tensor& t)
{
    return t.scalar_type() != at::kFloat;
}

// What a trace records: codes as int32 NCHW (as the reference engine holds them), floats as they are.
at::Tensor referenceForm(const at::Tensor& t)
{
    return isCodes(t) ? t.to(at::kInt).contiguous() : t.contiguous();
}

at::Tensor pixelCodesChannelsLast(const at::Tensor& image)
{
    const at::Tensor pixels = image.to(at::kFloat).contiguous();
    at::Tensor codes = emptyChannelsLast(pixels.size(0), pixels.size(1), pixels.size(2), pixels.size(3), at::kByte);
    if (!kernels::pixelCodesChannelsLast(pixels.data_ptr<float>(), mapShape(pixels), codes.data_ptr<uint8_t>()))
        throw Error(kPixelError);
    return codes;
}

template <typename F>
void withCodeType(at::ScalarType type, F&& f)
{
    switch (type) {
    case at::kByte: f(uint8_t{}); return;
    case at::kChar: f(int8_t{}); return;
    case at::kShort: f(int16_t{}); return;
    default: throw Error("integer engine: no channels-last kernel for codes of type " + std::string(c10::toString(type)));
    }
}

at::Tensor maxPoolChannelsLast(const at::Tensor& x, int64_t size, int64_t stride, int64_t padding)
{
    const int64_t oh = outputSize(x.size(2), size, stride, padding), ow = outputSize(x.size(3), size, stride, padding);
    at::Tensor out = emptyChannelsLast(x.size(0), x.size(1), oh, ow, x.scalar_type());
    withCodeType(x.scalar_type(), [&](auto code) {
        using Code = decltype(code);
        kernels::maxPoolCodes(x.data_ptr<Code>(), mapShape(x), size, stride, padding, out.data_ptr<Code>());
    });
    return out;
}

at::Tensor upsampleChannelsLast(const at::Tensor& x, int64_t factor)
{
    at::Tensor out = emptyChannelsLast(x.size(0), x.size(1), x.size(2) * factor, x.size(3) * factor, x.scalar_type());
    kernels::upsampleNearestRows(x.data_ptr(), mapShape(x), factor, x.element_size(), out.data_ptr());
    return out;
}

at::Tensor concatChannelsLast(const std::vector<at::Tensor>& parts)
{
    int64_t channels = 0;
    for (const at::Tensor& p : parts)
        channels += p.size(1);
    const at::Tensor& first = parts.front();
    at::Tensor out = emptyChannelsLast(first.size(0), channels, first.size(2), first.size(3), first.scalar_type());
    const int64_t pixels = first.size(0) * first.size(2) * first.size(3);
    int64_t offset = 0;
    for (const at::Tensor& p : parts) {
        kernels::copyChannelColumns(p.data_ptr(), pixels, p.size(1), channels, offset, p.element_size(), out.data_ptr());
        offset += p.size(1);
    }
    return out;
}

} // namespace

struct ChannelsLastRequantization {
    std::vector<int64_t> multiplier, offset, shift;
    kernels::RequantizeTable table; ///< points into the vectors above
    at::ScalarType codeType = at::kByte;

    ChannelsLastRequantization(const Requantization& r, at::ScalarType type) : codeType(type)
    {
        for (int64_t c = 0; c < r.channels(); ++c) {
            const auto k = static_cast<size_t>(c);
            multiplier.push_back(r.multiplier[k]);
            offset.push_back(int64_t{r.bias[k]} + (int64_t{1} << (r.shift[k] - 1)));
            shift.push_back(r.shift[k]);
        }
        table = {multiplier.data(), offset.data(), shift.data(), r.channels(), r.qmin, r.qmax};
    }

    at::Tensor operator()(const at::Tensor& acc) const
    {
        at::Tensor out = emptyChannelsLast(acc.size(0), acc.size(1), acc.size(2), acc.size(3), codeType);
        const int64_t pixels = acc.size(0) * acc.size(2) * acc.size(3);
        withCodeType(codeType, [&](auto code) {
            using Code = decltype(code);
            kernels::requantizeRows(acc.data_ptr<int32_t>(), pixels, table, out.data_ptr<Code>());
        });
        return out;
    }

    /// The 2x2 max-pool of the codes of the convolution of u8 `codes`, in one pass
    /// (kernels::convRequantizeMaxPool): its accumulators are never stored.
    at::Tensor convPooled(const at::Tensor& codes, const kernels::FusedConvWeights& weights) const
    {
        at::Tensor out = emptyChannelsLast(codes.size(0), weights.outChannels, codes.size(2) / 2, codes.size(3) / 2, codeType);
        withCodeType(codeType, [&](auto code) {
            using Code = decltype(code);
            kernels::convRequantizeMaxPool(codes.data_ptr<uint8_t>(), mapShape(codes), weights, table, out.data_ptr<Code>());
        });
        return out;
    }

    /// The max-pool of the codes operator() gives, in one pass (kernels::requantizeMaxPool).
    at::Tensor pooled(const at::Tensor& acc, int64_t size, int64_t stride, int64_t padding) const
    {
        const int64_t oh = outputSize(acc.size(2), size, stride, padding), ow = outputSize(acc.size(3), size, stride, padding);
        at::Tensor out = emptyChannelsLast(acc.size(0), acc.size(1), oh, ow, codeType);
        withCodeType(codeType, [&](auto code) {
            using Code = decltype(code);
            kernels::requantizeMaxPool(acc.data_ptr<int32_t>(), mapShape(acc), size, stride, padding, table,
                                       out.data_ptr<Code>());
        });
        return out;
    }
};

at::Tensor integerConvolution(const at::Tensor& inputTensor, const at::Tensor& weightTensor, int64_t stride, int64_t padding)
{
    const at::Tensor input = inputTensor.to(at::kInt).contiguous();
    const at::Tensor weight = weightTensor.to(at::kInt).contiguous();
    const int64_t n = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
    const int64_t o = weight.size(0), k = weight.size(2);
    if (weight.size(1) != c || weight.size(3) != k)
        throw Error("integer convolution: weight " + c10::str(weight.sizes()) + " does not fit input " + c10::str(input.sizes()));
    const int64_t oh = outputSize(h, k, stride, padding), ow = outputSize(w, k, stride, padding);
    at::Tensor out = at::zeros({n, o, oh, ow}, at::kInt);
    const int32_t* in = input.data_ptr<int32_t>();
    const int32_t* wt = weight.data_ptr<int32_t>();
    int32_t* acc = out.data_ptr<int32_t>();
    at::parallel_for(0, n * o, 1, [&](int64_t begin, int64_t end) {
        for (int64_t job = begin; job < end; ++job) {
            const int64_t image = job / o, oc = job % o;
            int32_t* dst = acc + job * oh * ow;
            for (int64_t ic = 0; ic < c; ++ic) {
                const int32_t* plane = in + (image * c + ic) * h * w;
                for (int64_t ky = 0; ky < k; ++ky)
                    for (int64_t kx = 0; kx < k; ++kx) {
                        const int32_t wv = wt[((oc * c + ic) * k + ky) * k + kx];
                        if (wv == 0)
                            continue;
                        // Output columns whose input column ox*stride - padding + kx is inside the image.
                        const int64_t lead = padding - kx;
                        const int64_t first = lead > 0 ? (lead + stride - 1) / stride : 0;
                        const int64_t lastNum = w - 1 + padding - kx;
                        const int64_t last = lastNum < 0 ? -1 : std::min(ow - 1, lastNum / stride);
                        for (int64_t oy = 0; oy < oh; ++oy) {
                            const int64_t iy = oy * stride - padding + ky;
                            if (iy < 0 || iy >= h)
                                continue;
                            const int32_t* row = plane + iy * w - padding + kx;
                            int32_t* out = dst + oy * ow;
                            if (stride == 1) {
                                for (int64_t ox = first; ox <= last; ++ox)
                                    out[ox] += wv * row[ox];
                            } else {
                                for (int64_t ox = first; ox <= last; ++ox)
                                    out[ox] += wv * row[ox * stride];
                            }
                        }
                    }
            }
        }
    });
    return out;
}

IntegerEngine::IntegerEngine(IntegerModel model, IntegerConvKernel kernel) : model_(std::move(model)), kernel_(kernel)
{
    channelsLast_ = kernel_ == IntegerConvKernel::onednn;
    for (const IntegerConvLayer& c : model_.convs) {
        weights_[c.index] = c.weightCodes.to(at::kInt).contiguous();
        if (kernel_ == IntegerConvKernel::onednn)
            fastConvs_[c.index] =
                std::make_shared<OneDnnIntegerConv>(c.weightCodes, c.stride, c.padding, c.inputQmin, c.inputQmax);
        if (oneDnnCodeType(c.inputQmin, c.inputQmax) == at::kInt)
            channelsLast_ = false;
    }
    if (!channelsLast_)
        return;
    for (const IntegerConvLayer& c : model_.convs)
        for (const Requantization& r : c.requantizations) {
            const IntegerConvLayer& consumer = *model_.conv(r.consumer);
            channelsLastRequantizations_[{c.index, r.consumer}] = std::make_shared<const ChannelsLastRequantization>(
                r, oneDnnCodeType(consumer.inputQmin, consumer.inputQmax));
        }
    if (!kernels::fusedConvPoolAvailable())
        return;
    // The fused first stage: a few-channel u8 conv whose next layer is a 2x2 / stride-2 pool.
    for (const IntegerConvLayer& c : model_.convs) {
        const auto next = static_cast<size_t>(c.index + 1);
        const auto* pool = next < model_.spec.layers.size() ? std::get_if<MaxpoolSpec>(&model_.spec.layers[next].params) : nullptr;
        const at::Tensor& w = weights_.at(c.index);
        if (pool && pool->size == 2 && pool->stride == 2 && oneDnnCodeType(c.inputQmin, c.inputQmax) == at::kByte &&
            kernels::fusedConvPoolFits(w.size(1), w.size(0), w.size(2), c.stride, c.padding) && w.size(2) == w.size(3))
            if (auto packed = kernels::packFusedConvWeights(w.data_ptr<int32_t>(), w.size(0), w.size(1)))
                fusedConvPools_[c.index] = std::make_shared<const kernels::FusedConvWeights>(std::move(*packed));
    }
}

std::string IntegerEngine::kernelDescription() const
{
    if (kernel_ == IntegerConvKernel::reference)
        return "int32 loops (reference)";
    int fast = 0;
    std::string slow;
    for (const auto& [index, conv] : fastConvs_) {
        if (conv->usable())
            ++fast;
        else
            slow += "; conv " + std::to_string(index) + " on the int32 loops: " + conv->reason();
    }
    // What oneDNN actually dispatched to (once a shape has run): the proof of the path taken.
    std::map<std::string, int> chosen;
    for (const auto& [index, conv] : fastConvs_)
        for (const std::string& name : conv->implementations())
            ++chosen[name];
    std::string kernels;
    for (const auto& [name, count] : chosen)
        kernels += (kernels.empty() ? "; oneDNN kernels: " : ", ") + name + " x" + std::to_string(count);
    std::string fused;
    for (const auto& [index, weights] : fusedConvPools_)
        fused += (fused.empty() ? std::string("; fused with its requantization and max-pool in tyq's ") +
                                      kernels::fusedConvBodyName(weights->body) + " kernel (on oneDNN under a trace): conv "
                                : ", conv ") +
                 std::to_string(index);
    return "oneDNN int8 (" + oneDnnIsaName() + "): " + std::to_string(fast) + " of " +
           std::to_string(fastConvs_.size()) + " convs" + slow + fused + kernels;
}

std::vector<at::Tensor> IntegerEngine::forward(const at::Tensor& image, const IntegerRunOptions& options) const
{
    const NetworkSpec& spec = model_.spec;
    const int multiple = spec.requiredInputMultiple();
    if (image.dim() != 4 || image.size(1) != spec.channels || image.size(2) % multiple != 0 || image.size(3) % multiple != 0)
        throw Error("integer engine: input must be [N, " + std::to_string(spec.channels) + ", H, W] with H and W multiples of " +
                    std::to_string(multiple) + ", got " + c10::str(image.sizes()));
    at::NoGradGuard noGrad;
    // Codes are int32 NCHW on the reference loops, channels-last in oneDNN's dtypes otherwise;
    // float values (the yolo layers' inputs) are float32 NCHW in both.
    const bool channelsLast = channelsLast_;
    const at::Tensor pixels = channelsLast ? pixelCodesChannelsLast(image) : pixelCodes(image);
    std::map<std::pair<int, int>, at::Tensor> values;
    std::map<int, at::Tensor> accumulators;
    std::map<int, RequantStats> localStats;
    IntegerTrace* trace = options.trace;
    const bool wantStats = trace || options.checkExact;

    std::function<at::Tensor(int, int)> value;
    const auto accumulator = [&](const IntegerConvLayer& conv) -> const at::Tensor& {
        auto it = accumulators.find(conv.index);
        if (it != accumulators.end())
            return it->second;
        at::Tensor input;
        if (options.forcedInputs && options.forcedInputs->count(conv.index)) {
            input = options.forcedInputs->at(conv.index).to(at::kInt);
            input = channelsLast ? input.to(oneDnnCodeType(conv.inputQmin, conv.inputQmax)).contiguous(at::MemoryFormat::ChannelsLast)
                                 : input.contiguous();
            if (trace && conv.index > 0)
                value(conv.index - 1, conv.index); // what this engine would have fed it, for comparison
        } else {
            input = value(conv.index - 1, conv.index);
        }
        if (trace)
            trace->convInputs[conv.index] = referenceForm(input);
        const auto fast = fastConvs_.find(conv.index);
        at::Tensor acc;
        if (fast != fastConvs_.end() && fast->second->usable())
            acc = channelsLast ? fast->second->runChannelsLast(input) : fast->second->run(input);
        else
            acc = integerConvolution(input, weights_.at(conv.index), conv.stride, conv.padding);
        if (channelsLast)
            acc = acc.contiguous(at::MemoryFormat::ChannelsLast);
        if (trace)
            trace->accumulators[conv.index] = acc.contiguous();
        return accumulators.emplace(conv.index, std::move(acc)).first->second;
    };
    value = [&](int layer, int domain) -> at::Tensor {
        const auto key = std::make_pair(layer, domain);
        if (auto it = values.find(key); it != values.end())
            return it->second;
        at::Tensor y;
        if (layer < 0) {
            y = domain == kFloatDomain ? image.to(at::kFloat).contiguous() : pixels;
        } else {
            const LayerSpec& l = spec.layers[static_cast<size_t>(layer)];
            if (l.isConv()) {
                const IntegerConvLayer& conv = *model_.conv(layer);
                const at::Tensor& acc = accumulator(conv);
                if (domain == kFloatDomain) {
                    y = floatOutput(acc.contiguous(), conv);
                } else {
                    const Requantization* r = conv.requantizationFor(domain);
                    if (!r)
                        throw Error("integer engine: layer " + std::to_string(layer) + " has no requantization to layer " +
                                    std::to_string(domain));
                    if (!channelsLast) {
                        y = requantizeAccumulators(acc, *r, options.checkExact, localStats[domain]);
                    } else {
                        y = (*channelsLastRequantizations_.at({conv.index, domain}))(acc);
                        if (wantStats) // the diagnostics (ties, exactness) from the reference pass; codes from the kernel
                            requantizeAccumulators(acc.contiguous(), *r, options.checkExact, localStats[domain]);
                    }
                }
            } else if (const auto* pool = std::get_if<MaxpoolSpec>(&l.params)) {
                const int64_t pad = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
                const LayerSpec& before = spec.layers[static_cast<size_t>(layer - 1)];
                if (channelsLast && !wantStats && domain != kFloatDomain && before.isConv() && pad < pool->size &&
                    model_.conv(before.index)->requantizationFor(domain)) {
                    // A conv's codes pooled: requantize only each window's pick (without a trace
                    // or statistics, which need every code), in the conv's own pass where it fuses.
                    const IntegerConvLayer& conv = *model_.conv(before.index);
                    const ChannelsLastRequantization& r = *channelsLastRequantizations_.at({conv.index, domain});
                    const auto fused = fusedConvPools_.find(conv.index);
                    const bool forced = options.forcedInputs && options.forcedInputs->count(conv.index);
                    if (fused != fusedConvPools_.end() && !forced && !accumulators.count(conv.index))
                        y = r.convPooled(value(conv.index - 1, conv.index), *fused->second);
                    else
                        y = r.pooled(accumulator(conv), pool->size, pool->stride, pad);
                    values.emplace(key, y);
                    return y;
                }
                const at::Tensor x = value(layer - 1, domain);
                if (!isCodes(x))
                    y = at::max_pool2d(x, {pool->size, pool->size}, {pool->stride, pool->stride}, {pad, pad});
                else if (channelsLast)
                    y = maxPoolChannelsLast(x, pool->size, pool->stride, pad);
                else
                    y = maxPoolCodes(x, pool->size, pool->stride, pad);
            } else if (const auto* route = std::get_if<RouteSpec>(&l.params)) {
                std::vector<at::Tensor> parts;
                for (int from : route->layers)
                    parts.push_back(value(from, domain));
                if (parts.size() == 1)
                    y = parts.front();
                else
                    y = channelsLast && isCodes(parts.front()) ? concatChannelsLast(parts) : at::cat(parts, 1);
            } else if (const auto* up = std::get_if<UpsampleSpec>(&l.params)) {
                const at::Tensor x = value(layer - 1, domain);
                y = channelsLast && isCodes(x) ? upsampleChannelsLast(x, up->stride) : upsampleNearest(x, up->stride);
            } else if (l.isYolo()) {
                y = value(layer - 1, domain);
            } else {
                throw Error("integer engine: layer " + std::to_string(layer) + " (" + l.typeName() + ") is not supported");
            }
            if (trace)
                trace->outputs[key] = referenceForm(y);
        }
        values.emplace(key, y);
        return y;
    };

    std::vector<at::Tensor> heads;
    for (const LayerSpec& l : spec.layers)
        if (l.isYolo())
            heads.push_back(value(l.index - 1, kFloatDomain).contiguous());
    if (trace)
        for (const auto& [consumer, s] : localStats) {
            RequantStats& total = trace->requantStats[consumer];
            total.values += s.values;
            total.ties += s.ties;
            total.differFromExact += s.differFromExact;
        }
    return heads;
}

at::Tensor IntegerEngine::detect(const at::Tensor& image, const IntegerRunOptions& options) const
{
    const std::vector<at::Tensor> heads = forward(image, options);
    const std::vector<int> yolo = model_.spec.yoloIndices();
    std::vector<at::Tensor> decoded;
    for (size_t k = 0; k < heads.size(); ++k)
        decoded.push_back(decodeYoloOutput(heads[k], model_.spec.layers[static_cast<size_t>(yolo[k])].yolo(), image.size(2)));
    return decoded.size() == 1 ? decoded.front() : at::cat(decoded, 1);
}

std::vector<std::pair<std::string, at::Tensor>> traceTensors(const IntegerModel& model, const IntegerTrace& trace, int64_t n)
{
    std::vector<std::pair<std::string, at::Tensor>> out;
    const auto codes = [](const at::Tensor& t, int qmin, int qmax) { return t.to(codeDtype(qmin, qmax)).contiguous(); };
    for (const LayerSpec& l : model.spec.layers) {
        const int i = l.index;
        if (const IntegerConvLayer* conv = model.conv(i)) {
            if (auto it = trace.convInputs.find(i); it != trace.convInputs.end())
                out.emplace_back("layer_" + std::to_string(i) + "_in", codes(it->second[n], conv->inputQmin, conv->inputQmax));
            if (auto it = trace.accumulators.find(i); it != trace.accumulators.end())
                out.emplace_back("layer_" + std::to_string(i) + "_acc", it->second[n].contiguous());
        }
        for (const auto& [key, tensor] : trace.outputs) {
            if (key.first != i)
                continue;
            if (key.second == kFloatDomain) {
                out.emplace_back("layer_" + std::to_string(i) + "_out", tensor[n].to(at::kFloat).contiguous());
            } else {
                const IntegerConvLayer& consumer = *model.conv(key.second);
                out.emplace_back("layer_" + std::to_string(i) + "_out_to_" + std::to_string(key.second),
                                 codes(tensor[n], consumer.inputQmin, consumer.inputQmax));
            }
        }
    }
    return out;
}

} // namespace tyq
