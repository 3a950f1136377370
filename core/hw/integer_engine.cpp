#include "hw/integer_engine.h"

#include "common/error.h"
#include "hw/onednn_integer_conv.h"
#include "model/yolo_head.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>

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

// The image as codes: integer pixels 0..255, int32.
at::Tensor pixelCodes(const at::Tensor& image)
{
    const at::Tensor d = image.to(at::kDouble);
    if (d.numel() > 0 && (!at::equal(d, d.round()) || d.min().item<double>() < 0 || d.max().item<double>() > 255))
        throw Error("integer engine: the input must hold integer pixel values 0..255 (the network's preprocessing)");
    return d.to(at::kInt).contiguous();
}

} // namespace

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
    for (const IntegerConvLayer& c : model_.convs) {
        weights_[c.index] = c.weightCodes.to(at::kInt).contiguous();
        if (kernel_ == IntegerConvKernel::onednn)
            fastConvs_[c.index] =
                std::make_shared<OneDnnIntegerConv>(c.weightCodes, c.stride, c.padding, c.inputQmin, c.inputQmax);
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
    return "oneDNN int8 (" + oneDnnIsaName() + "): " +
           std::to_string(fast) + " of " + std::to_string(fastConvs_.size()) + " convs" + slow;
}

std::vector<at::Tensor> IntegerEngine::forward(const at::Tensor& image, const IntegerRunOptions& options) const
{
    const NetworkSpec& spec = model_.spec;
    const int multiple = spec.requiredInputMultiple();
    if (image.dim() != 4 || image.size(1) != spec.channels || image.size(2) % multiple != 0 || image.size(3) % multiple != 0)
        throw Error("integer engine: input must be [N, " + std::to_string(spec.channels) + ", H, W] with H and W multiples of " +
                    std::to_string(multiple) + ", got " + c10::str(image.sizes()));
    at::NoGradGuard noGrad;
    const at::Tensor pixels = pixelCodes(image);
    std::map<std::pair<int, int>, at::Tensor> values;
    std::map<int, at::Tensor> accumulators;
    std::map<int, RequantStats> localStats;
    IntegerTrace* trace = options.trace;

    std::function<at::Tensor(int, int)> value;
    const auto accumulator = [&](const IntegerConvLayer& conv) -> const at::Tensor& {
        auto it = accumulators.find(conv.index);
        if (it != accumulators.end())
            return it->second;
        at::Tensor input;
        if (options.forcedInputs && options.forcedInputs->count(conv.index)) {
            input = options.forcedInputs->at(conv.index).to(at::kInt).contiguous();
            if (trace && conv.index > 0)
                value(conv.index - 1, conv.index); // what this engine would have fed it, for comparison
        } else {
            input = value(conv.index - 1, conv.index);
        }
        if (trace)
            trace->convInputs[conv.index] = input;
        const auto fast = fastConvs_.find(conv.index);
        at::Tensor acc = fast != fastConvs_.end() && fast->second->usable()
                             ? fast->second->run(input)
                             : integerConvolution(input, weights_.at(conv.index), conv.stride, conv.padding);
        if (trace)
            trace->accumulators[conv.index] = acc;
        return accumulators.emplace(conv.index, std::move(acc)).first->second;
    };
    value = [&](int layer, int domain) -> at::Tensor {
        const auto key = std::make_pair(layer, domain);
        if (auto it = values.find(key); it != values.end())
            return it->second;
        at::Tensor y;
        if (layer < 0) {
            y = domain == kFloatDomain ? pixels.to(at::kFloat) : pixels;
        } else {
            const LayerSpec& l = spec.layers[static_cast<size_t>(layer)];
            if (l.isConv()) {
                const IntegerConvLayer& conv = *model_.conv(layer);
                const at::Tensor& acc = accumulator(conv);
                if (domain == kFloatDomain) {
                    y = floatOutput(acc, conv);
                } else {
                    const Requantization* r = conv.requantizationFor(domain);
                    if (!r)
                        throw Error("integer engine: layer " + std::to_string(layer) + " has no requantization to layer " +
                                    std::to_string(domain));
                    y = requantizeAccumulators(acc, *r, options.checkExact, localStats[domain]);
                }
            } else if (const auto* pool = std::get_if<MaxpoolSpec>(&l.params)) {
                const int64_t pad = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
                const at::Tensor x = value(layer - 1, domain);
                y = domain == kFloatDomain ? at::max_pool2d(x, {pool->size, pool->size}, {pool->stride, pool->stride}, {pad, pad})
                                           : maxPoolCodes(x, pool->size, pool->stride, pad);
            } else if (const auto* route = std::get_if<RouteSpec>(&l.params)) {
                std::vector<at::Tensor> parts;
                for (int from : route->layers)
                    parts.push_back(value(from, domain));
                y = parts.size() == 1 ? parts.front() : at::cat(parts, 1);
            } else if (const auto* up = std::get_if<UpsampleSpec>(&l.params)) {
                y = upsampleNearest(value(layer - 1, domain), up->stride);
            } else if (l.isYolo()) {
                y = value(layer - 1, domain);
            } else {
                throw Error("integer engine: layer " + std::to_string(layer) + " (" + l.typeName() + ") is not supported");
            }
            if (trace)
                trace->outputs[key] = y;
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
