#include "hw/integer_model.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text.h"
#include "hw/bit_packing.h"
#include "io/npy.h"
#include "model/weight_check.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

namespace tyq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormatName = "tyq-integer-model";
constexpr int kFormatVersion = 1;
constexpr const char* kManifestName = "manifest.json";
constexpr const char* kPackedName = "weights.packed";
constexpr int64_t kInt32Max = 2147483647;

// ---------------------------------------------------------------------------------------------
// The graph: which consumer quantizers each layer's output reaches.

struct CodeDomains {
    std::vector<std::vector<int>> codesFor; ///< per layer, sorted (kFloatDomain first)
    std::set<int> imageDomains;             ///< domains that read the image itself
};

// Walks back from every conv input and every yolo input through the layers that only move
// values (max-pool, upsample, route, and a yolo layer, which passes its input on) to the convs
// (or the image) that produce them. Pool, upsample and concat commute with an elementwise
// monotone quantizer, so a producer can be requantized straight to each consumer's codes.
CodeDomains traceCodeDomains(const NetworkSpec& spec)
{
    const int n = static_cast<int>(spec.layers.size());
    std::vector<std::set<int>> sets(static_cast<size_t>(n));
    CodeDomains domains;
    std::function<void(int, int)> mark = [&](int layer, int domain) {
        if (layer < 0) {
            domains.imageDomains.insert(domain);
            return;
        }
        if (!sets[static_cast<size_t>(layer)].insert(domain).second)
            return;
        const LayerSpec& l = spec.layers[static_cast<size_t>(layer)];
        if (l.isConv())
            return;
        if (const auto* route = std::get_if<RouteSpec>(&l.params)) {
            for (int from : route->layers)
                mark(from, domain);
        } else if (std::holds_alternative<ShortcutSpec>(l.params)) {
            throw Error("layer " + std::to_string(layer) +
                        " (shortcut) adds two tensors with different step sizes: the integer export does not "
                        "support shortcut layers");
        } else {
            mark(layer - 1, domain); // maxpool, upsample, yolo
        }
    };
    for (const LayerSpec& l : spec.layers) {
        if (l.isConv())
            mark(l.index - 1, l.index);
        else if (l.isYolo())
            mark(l.index - 1, kFloatDomain);
    }
    for (const std::set<int>& s : sets)
        domains.codesFor.emplace_back(s.begin(), s.end());
    return domains;
}

// Input quantizers: every conv input must be quantized except where it is the image itself.
void checkInputQuantizers(const NetworkSpec& spec, const CodeDomains& domains,
                          const std::function<const QuantizerSpec&(int)>& inputQuantizer)
{
    for (int domain : domains.imageDomains) {
        if (domain == kFloatDomain)
            throw Error("a yolo layer reads the image itself: nothing to export");
        if (inputQuantizer(domain).enabled())
            throw Error(convModuleName(domain) +
                        ": quantizes the image itself (act bit > 0); the integer export takes pixels as 8-bit "
                        "codes with step 1: set this layer's act bit to 0");
    }
    for (const LayerSpec& l : spec.layers) {
        if (!l.isConv())
            continue;
        for (int domain : domains.codesFor[static_cast<size_t>(l.index)]) {
            if (domain == kFloatDomain)
                continue;
            if (!inputQuantizer(domain).enabled())
                throw Error(convModuleName(domain) + ": its input activation is not quantized (bit 0) but comes from layer " +
                            std::to_string(l.index) + ", so it is float: give it a bit-width to export integers");
            if (l.conv().activation == Activation::leaky)
                throw Error(convModuleName(l.index) +
                            ": a leaky activation before a quantizer has no exact integer form (use linear or relu)");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Folding: z_c = A_c acc + B_c for each output channel.

struct Folded {
    std::vector<double> scale, offset;
};

Folded foldLayer(const IntegerConvLayer& layer)
{
    Folded f;
    const int64_t out = layer.outChannels;
    at::Tensor bn, bias;
    if (layer.batchNorm.defined())
        bn = layer.batchNorm.to(at::kDouble).contiguous();
    if (layer.bias.defined())
        bias = layer.bias.to(at::kDouble).contiguous();
    for (int64_t c = 0; c < out; ++c) {
        const double sw = layer.weightStep.size() == 1 ? layer.weightStep[0] : layer.weightStep[static_cast<size_t>(c)];
        double a = layer.inputStep * sw;
        double b = bias.defined() ? bias.data_ptr<double>()[c] : 0.0;
        if (bn.defined()) {
            const double* p = bn.data_ptr<double>();
            const double gamma = p[c], beta = p[out + c], mean = p[2 * out + c], var = p[3 * out + c];
            const double inv = 1.0 / std::sqrt(var + layer.batchNormEps);
            a = gamma * inv * a;
            b = beta + gamma * inv * (b - mean);
        }
        f.scale.push_back(a);
        f.offset.push_back(b);
    }
    return f;
}

std::vector<int64_t> accumulatorBounds(const at::Tensor& weightCodes, int inputQmin, int inputQmax)
{
    const int64_t maxInput = std::max(std::abs(inputQmin), std::abs(inputQmax));
    const at::Tensor perChannel = weightCodes.to(at::kLong).abs().flatten(1).sum(1).contiguous();
    std::vector<int64_t> bounds;
    for (int64_t c = 0; c < perChannel.size(0); ++c)
        bounds.push_back(perChannel.data_ptr<int64_t>()[c] * maxInput);
    return bounds;
}

Requantization requantizationFor(const IntegerConvLayer& producer, const Folded& folded, const IntegerConvLayer& consumer)
{
    int qmin = consumer.inputQmin;
    if (producer.activation == Activation::relu)
        qmin = std::max(qmin, 0); // relu, then an elementwise monotone quantizer: clamp at code 0
    Requantization r = makeRequantization(folded.scale, folded.offset, consumer.inputStep, consumer.inputBits, qmin,
                                          consumer.inputQmax, producer.accumulatorBound);
    r.consumer = consumer.index;
    return r;
}

void setFloatOutput(IntegerConvLayer& layer, const Folded& folded)
{
    layer.floatOutput = true;
    layer.floatScale.assign(folded.scale.begin(), folded.scale.end());
    layer.floatBias.assign(folded.offset.begin(), folded.offset.end());
}

// Fills requantizations and float outputs of every conv from the graph and the float parameters.
void deriveOutputs(IntegerModel& model, const CodeDomains& domains)
{
    for (IntegerConvLayer& layer : model.convs) {
        const Folded folded = foldLayer(layer);
        layer.requantizations.clear();
        layer.floatOutput = false;
        for (int domain : domains.codesFor[static_cast<size_t>(layer.index)]) {
            if (domain == kFloatDomain)
                setFloatOutput(layer, folded);
            else
                layer.requantizations.push_back(requantizationFor(layer, folded, *model.conv(domain)));
        }
    }
}

std::vector<double> tensorValues(const at::Tensor& t)
{
    const at::Tensor d = t.detach().to(at::kDouble).contiguous().flatten();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// ---------------------------------------------------------------------------------------------
// Manifest helpers.

std::string fileOf(int index, const std::string& what)
{
    return fmt::format("layer_{}_{}.npy", index, what);
}

json quantizerJson(const QuantizerSpec& q)
{
    return {{"bit", q.bit}, {"per_channel", q.perChannel}, {"symmetric", q.symmetric}, {"all_positive", q.allPositive}};
}

std::string dtypeName(at::ScalarType t)
{
    switch (t) {
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kFloat: return "float32";
    default: return c10::toString(t);
    }
}

class ManifestReader {
public:
    ManifestReader(fs::path dir) : dir_(std::move(dir)), path_(dir_ / kManifestName) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const
    {
        throw Error(path_.string() + ": " + key + ": " + problem);
    }

    const json& at(const json& node, const std::string& name, const std::string& key) const
    {
        if (!node.is_object() || !node.contains(name))
            fail(key, "missing '" + name + "'");
        return node.at(name);
    }

    template <typename T>
    T get(const json& node, const std::string& name, const std::string& key) const
    {
        const json& v = at(node, name, key);
        try {
            return v.get<T>();
        } catch (const json::exception&) {
            fail(key + "." + name, "has the wrong type (" + std::string(v.type_name()) + ")");
        }
    }

    /// Reads a .npy the manifest names, checking its dtype and shape.
    at::Tensor npy(const json& node, const std::string& name, const std::string& key, std::vector<at::ScalarType> dtypes,
                   const std::vector<int64_t>& shape) const
    {
        const std::string file = get<std::string>(node, name, key);
        if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "..")
            fail(key + "." + name, "'" + file + "' is not a plain file name in the export folder");
        const at::Tensor t = readNpy(dir_ / file);
        if (std::find(dtypes.begin(), dtypes.end(), t.scalar_type()) == dtypes.end())
            throw Error((dir_ / file).string() + ": dtype " + dtypeName(t.scalar_type()) + " is not the expected " +
                        dtypeName(dtypes.front()));
        if (t.sizes() != at::IntArrayRef(shape))
            throw Error((dir_ / file).string() + ": shape " + c10::str(t.sizes()) + ", the manifest says " +
                        c10::str(at::IntArrayRef(shape)));
        if (const std::string summary = nonFiniteSummary(t); !summary.empty())
            throw Error((dir_ / file).string() + ": " + summary + ", refused");
        return t;
    }

    const fs::path& dir() const { return dir_; }
    const fs::path& path() const { return path_; }

private:
    fs::path dir_;
    fs::path path_;
};

QuantizerSpec readQuantizer(const ManifestReader& r, const json& node, const std::string& key)
{
    QuantizerSpec q;
    q.bit = r.get<int>(node, "bit", key);
    q.perChannel = r.get<bool>(node, "per_channel", key);
    q.symmetric = r.get<bool>(node, "symmetric", key);
    q.allPositive = r.get<bool>(node, "all_positive", key);
    validateQuantizerSpec(q, r.path().string() + ": " + key);
    return q;
}

Activation activationFromName(const ManifestReader& r, const std::string& name, const std::string& key)
{
    for (Activation a : {Activation::linear, Activation::relu, Activation::leaky})
        if (name == activationName(a))
            return a;
    r.fail(key, "unknown activation '" + name + "'");
}

void setInputCodes(IntegerConvLayer& layer, double learnedStep)
{
    if (layer.inputQuantizer.enabled()) {
        layer.inputBits = layer.inputQuantizer.bit;
        layer.inputQmin = layer.inputQuantizer.qmin();
        layer.inputQmax = layer.inputQuantizer.qmax();
        layer.inputStep = learnedStep;
    } else { // the image: 8-bit unsigned pixels, step 1
        layer.inputBits = 8;
        layer.inputQmin = 0;
        layer.inputQmax = 255;
        layer.inputStep = 1.0;
    }
}

void checkAccumulator(const IntegerConvLayer& layer, const std::string& where)
{
    for (int64_t bound : layer.accumulatorBound)
        if (bound > kInt32Max)
            throw Error(where + ": accumulators can reach " + std::to_string(bound) +
                        ", beyond int32 (fewer bits or a smaller layer)");
}

} // namespace

const Requantization* IntegerConvLayer::requantizationFor(int consumer) const
{
    for (const Requantization& r : requantizations)
        if (r.consumer == consumer)
            return &r;
    return nullptr;
}

const IntegerConvLayer* IntegerModel::conv(int layerIndex) const
{
    for (const IntegerConvLayer& c : convs)
        if (c.index == layerIndex)
            return &c;
    return nullptr;
}

at::ScalarType codeDtype(int qmin, int qmax)
{
    if (qmin >= -128 && qmax <= 127)
        return at::kChar;
    if (qmin >= 0 && qmax <= 255)
        return at::kByte;
    if (qmin >= -32768 && qmax <= 32767)
        return at::kShort;
    return at::kInt;
}

IntegerModel exportIntegerModel(const YoloNetworkImpl& network, const std::string& source)
{
    const std::string what = source.empty() ? std::string("the model") : source;
    if (!network.quantized())
        throw Error(what + ": is a full-precision model; the integer export needs a quantized (LSQ) model "
                           "(give its bit-width YAML with --quant, or train one with tyq train --quant)");
    at::NoGradGuard noGrad;
    IntegerModel model;
    model.spec = network.spec();
    model.source = source;

    for (const YoloNetworkImpl::ConvLayer& c : network.convLayers()) {
        const QuantConv2dImpl& conv = *c.conv;
        const ConvSpec& spec = model.spec.layers[static_cast<size_t>(c.index)].conv();
        IntegerConvLayer layer;
        layer.index = c.index;
        layer.inChannels = static_cast<int>(conv.weight.size(1));
        layer.outChannels = static_cast<int>(conv.weight.size(0));
        layer.size = spec.size;
        layer.stride = spec.stride;
        layer.padding = spec.padding;
        layer.batchNormalize = static_cast<bool>(c.batchNorm);
        layer.activation = c.activation;
        if (!conv.quanW || !conv.quanW->spec().enabled())
            throw Error(what + ": " + c.moduleName +
                        ": weights are not quantized (bit 0): a full-precision layer has no integer form; give it a "
                        "weight bit-width and fine-tune");
        layer.weightQuantizer = conv.quanW->spec();
        layer.inputQuantizer = conv.quanA->spec();
        setInputCodes(layer, conv.quanA->s.item<double>());
        layer.weightStep = tensorValues(conv.quanW->s);
        // The codes exactly as the fake-quantized forward computes them.
        const at::Tensor codes = conv.quanW->codes(conv.weight.detach());
        layer.weightCodes = codes.to(codeDtype(layer.weightQuantizer.qmin(), layer.weightQuantizer.qmax())).contiguous();
        if (c.batchNorm) {
            const auto& bn = *c.batchNorm;
            layer.batchNorm = at::stack({bn.weight.detach(), bn.bias.detach(), bn.running_mean.detach(),
                                         bn.running_var.detach()})
                                  .to(at::kFloat)
                                  .contiguous();
            layer.batchNormEps = bn.options.eps();
        }
        if (conv.bias.defined())
            layer.bias = conv.bias.detach().to(at::kFloat).clone();
        layer.accumulatorBound = accumulatorBounds(layer.weightCodes, layer.inputQmin, layer.inputQmax);
        checkAccumulator(layer, what + ": " + c.moduleName);
        model.convs.push_back(std::move(layer));
    }

    const CodeDomains domains = traceCodeDomains(model.spec);
    checkInputQuantizers(model.spec, domains, [&](int j) -> const QuantizerSpec& { return model.conv(j)->inputQuantizer; });
    model.codesFor = domains.codesFor;
    deriveOutputs(model, domains);

    int64_t offset = 0;
    for (IntegerConvLayer& layer : model.convs) {
        layer.packedOffset = offset;
        layer.packedBytes = static_cast<int64_t>(
            packedByteCount(static_cast<size_t>(layer.weightCodes.numel()), layer.weightQuantizer.bit));
        offset += layer.packedBytes;
    }
    return model;
}

bool isIntegerModelDir(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec) || !fs::is_regular_file(dir / kManifestName, ec))
        return false;
    try {
        const json j = json::parse(text::readTextFile((dir / kManifestName).string(), 64 << 20));
        return j.is_object() && j.value("format", "") == kFormatName;
    } catch (const std::exception&) {
        return false;
    }
}

void writeIntegerModel(const IntegerModel& model, const fs::path& dir)
{
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec))
            throw Error(dir.string() + ": exists and is not a folder");
        if (!fs::is_empty(dir, ec) && !isIntegerModelDir(dir))
            throw Error(dir.string() + ": is not empty and holds no tyq integer export; choose an empty or new folder");
    }
    fs::create_directories(dir, ec);
    if (ec)
        throw Error(dir.string() + ": cannot create the folder: " + ec.message());

    json layers = json::array();
    std::string packed;
    const SizeReport sizes = integerModelSizes(model);
    for (const LayerSpec& l : model.spec.layers) {
        json node = {{"index", l.index}, {"type", l.typeName()}};
        json codesFor = json::array();
        for (int d : model.codesFor[static_cast<size_t>(l.index)])
            codesFor.push_back(d == kFloatDomain ? json("float") : json(d));
        if (l.isConv()) {
            const IntegerConvLayer& c = *model.conv(l.index);
            node["from"] = json::array({l.index - 1});
            node["filters"] = c.outChannels;
            node["in_channels"] = c.inChannels;
            node["size"] = c.size;
            node["stride"] = c.stride;
            node["padding"] = c.padding;
            node["batch_normalize"] = c.batchNormalize;
            node["activation"] = activationName(c.activation);
            node["input"] = {{"bits", c.inputBits},
                             {"qmin", c.inputQmin},
                             {"qmax", c.inputQmax},
                             {"step", c.inputStep},
                             {"quantizer", quantizerJson(c.inputQuantizer)}};
            const std::string weightFile = fileOf(c.index, "weight");
            writeNpy(c.weightCodes, dir / weightFile);
            const std::vector<uint8_t> bytes = packCodes(c.weightCodes.to(at::kInt).contiguous().data_ptr<int32_t>(),
                                                         static_cast<size_t>(c.weightCodes.numel()),
                                                         c.weightQuantizer.bit, c.weightQuantizer.qmin() < 0);
            if (static_cast<int64_t>(packed.size()) != c.packedOffset || static_cast<int64_t>(bytes.size()) != c.packedBytes)
                throw Error("integer export: packed offsets of layer " + std::to_string(c.index) + " are inconsistent");
            packed.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            node["weight"] = {{"bits", c.weightQuantizer.bit},
                              {"qmin", c.weightQuantizer.qmin()},
                              {"qmax", c.weightQuantizer.qmax()},
                              {"step", c.weightStep},
                              {"quantizer", quantizerJson(c.weightQuantizer)},
                              {"file", weightFile},
                              {"dtype", dtypeName(c.weightCodes.scalar_type())},
                              {"shape", c.weightCodes.sizes().vec()},
                              {"packed_offset", c.packedOffset},
                              {"packed_bytes", c.packedBytes}};
            if (c.batchNorm.defined()) {
                writeNpy(c.batchNorm, dir / fileOf(c.index, "bn"));
                node["batch_norm"] = {{"file", fileOf(c.index, "bn")}, {"eps", c.batchNormEps}};
            }
            if (c.bias.defined()) {
                writeNpy(c.bias, dir / fileOf(c.index, "bias"));
                node["bias"] = {{"file", fileOf(c.index, "bias")}};
            }
            node["accumulator_bound"] = *std::max_element(c.accumulatorBound.begin(), c.accumulatorBound.end());
            json outputs = json::array();
            for (const Requantization& r : c.requantizations) {
                const std::string file = fileOf(c.index, "requant_to_" + std::to_string(r.consumer));
                at::Tensor table = at::empty({r.channels(), 3}, at::kInt);
                for (int64_t k = 0; k < r.channels(); ++k) {
                    table[k][0] = r.multiplier[static_cast<size_t>(k)];
                    table[k][1] = r.bias[static_cast<size_t>(k)];
                    table[k][2] = r.shift[static_cast<size_t>(k)];
                }
                writeNpy(table, dir / file);
                outputs.push_back({{"to", r.consumer}, {"bits", r.bits}, {"qmin", r.qmin}, {"qmax", r.qmax},
                                   {"step", r.step}, {"requant_file", file}});
            }
            if (c.floatOutput) {
                const std::string file = fileOf(c.index, "float_out");
                at::Tensor table = at::empty({c.outChannels, 2}, at::kFloat);
                for (int64_t k = 0; k < c.outChannels; ++k) {
                    table[k][0] = c.floatScale[static_cast<size_t>(k)];
                    table[k][1] = c.floatBias[static_cast<size_t>(k)];
                }
                writeNpy(table, dir / file);
                outputs.push_back({{"to", "float"}, {"float_file", file}});
            }
            node["outputs"] = outputs;
        } else if (const auto* pool = std::get_if<MaxpoolSpec>(&l.params)) {
            node["from"] = json::array({l.index - 1});
            node["size"] = pool->size;
            node["stride"] = pool->stride;
            node["padding"] = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
            node["codes_for"] = codesFor;
        } else if (const auto* route = std::get_if<RouteSpec>(&l.params)) {
            node["from"] = route->layers;
            node["codes_for"] = codesFor;
        } else if (const auto* up = std::get_if<UpsampleSpec>(&l.params)) {
            node["from"] = json::array({l.index - 1});
            node["stride"] = up->stride;
            node["codes_for"] = codesFor;
        } else if (l.isYolo()) {
            const YoloSpec& y = l.yolo();
            json anchors = json::array();
            for (const Anchor& a : y.anchors)
                anchors.push_back({a.width, a.height});
            node["from"] = json::array({l.index - 1});
            node["anchors"] = anchors;
            node["classes"] = y.classes;
            node["ignore_threshold"] = y.ignoreThreshold;
        } else {
            throw Error("integer export: layer " + std::to_string(l.index) + " (" + l.typeName() + ") is not supported");
        }
        layers.push_back(node);
    }
    writeFileAtomically(dir / kPackedName, packed);

    json sizeTable = json::array();
    for (const LayerSize& s : sizes.layers)
        sizeTable.push_back({{"layer", s.index}, {"weights", s.weights}, {"bits", s.bits}, {"fp32_bytes", s.fp32Bytes},
                             {"packed_bytes", s.packedBytes}, {"padding_bits", s.paddingBits},
                             {"requant_bytes", s.requantBytes}});
    const json manifest = {
        {"format", kFormatName},
        {"version", kFormatVersion},
        {"source", model.source},
        {"input", {{"channels", model.spec.channels}, {"height", model.spec.height}, {"width", model.spec.width},
                   {"codes", "uint8 RGB pixels 0..255, step 1, NCHW"}}},
        {"packed_weights", {{"file", kPackedName}, {"bytes", static_cast<int64_t>(packed.size())},
                            {"bit_order", "lsb-first"}, {"layer_alignment_bytes", 1}}},
        {"sizes", {{"fp32_weight_bytes", sizes.fp32WeightBytes}, {"packed_weight_bytes", sizes.packedWeightBytes},
                   {"fp32_model_bytes", sizes.fp32ModelBytes}, {"requant_bytes", sizes.requantBytes},
                   {"integer_model_bytes", sizes.integerModelBytes()}, {"layers", sizeTable}}},
        {"layers", layers},
    };
    writeFileAtomically(dir / kManifestName, manifest.dump(1) + "\n");
}

IntegerModel readIntegerModel(const fs::path& dir)
{
    const ManifestReader r(dir);
    json manifest;
    try {
        manifest = json::parse(text::readTextFile(r.path().string(), 64 << 20));
    } catch (const json::exception& e) {
        throw Error(r.path().string() + ": not valid JSON: " + e.what());
    }
    if (!manifest.is_object() || manifest.value("format", "") != kFormatName)
        throw Error(r.path().string() + ": not a tyq integer export (format '" + std::string(kFormatName) + "')");
    if (r.get<int>(manifest, "version", "version") != kFormatVersion)
        r.fail("version", "unsupported version (this tyq reads version " + std::to_string(kFormatVersion) + ")");

    IntegerModel model;
    model.source = manifest.value("source", "");
    const json& input = r.at(manifest, "input", "input");
    model.spec.source = r.path().string();
    model.spec.channels = r.get<int>(input, "channels", "input");
    model.spec.height = r.get<int>(input, "height", "input");
    model.spec.width = r.get<int>(input, "width", "input");

    const json& layers = r.at(manifest, "layers", "layers");
    if (!layers.is_array() || layers.empty())
        r.fail("layers", "must be a non-empty list");
    std::vector<const json*> convNodes;
    for (size_t k = 0; k < layers.size(); ++k) {
        const json& node = layers[k];
        const std::string key = "layers[" + std::to_string(k) + "]";
        LayerSpec l;
        l.index = r.get<int>(node, "index", key);
        if (l.index != static_cast<int>(k))
            r.fail(key + ".index", "layers must be listed in order (expected " + std::to_string(k) + ")");
        const std::string type = r.get<std::string>(node, "type", key);
        const std::vector<int> from = r.get<std::vector<int>>(node, "from", key);
        for (int f : from)
            if (f < -1 || f >= l.index)
                r.fail(key + ".from", "layer " + std::to_string(f) + " is not an earlier layer");
        if (type != "route" && from != std::vector<int>{l.index - 1})
            r.fail(key + ".from", "a " + type + " layer reads the previous layer");
        if (type == "convolutional") {
            ConvSpec c;
            c.filters = r.get<int>(node, "filters", key);
            c.size = r.get<int>(node, "size", key);
            c.stride = r.get<int>(node, "stride", key);
            c.padding = r.get<int>(node, "padding", key);
            c.batchNormalize = r.get<bool>(node, "batch_normalize", key);
            c.activation = activationFromName(r, r.get<std::string>(node, "activation", key), key + ".activation");
            if (c.filters < 1 || c.size < 1 || c.stride < 1 || c.padding < 0)
                r.fail(key, "filters, size and stride must be positive, padding not negative");
            l.params = c;
            convNodes.push_back(&node);
        } else if (type == "maxpool") {
            MaxpoolSpec m;
            m.size = r.get<int>(node, "size", key);
            m.stride = r.get<int>(node, "stride", key);
            if (m.size < 1 || m.stride < 1)
                r.fail(key, "size and stride must be positive");
            l.params = m;
        } else if (type == "route") {
            if (from.empty() || std::find(from.begin(), from.end(), -1) != from.end())
                r.fail(key + ".from", "a route lists earlier layers");
            l.params = RouteSpec{from};
        } else if (type == "upsample") {
            UpsampleSpec u;
            u.stride = r.get<int>(node, "stride", key);
            if (u.stride < 1)
                r.fail(key + ".stride", "must be positive");
            l.params = u;
        } else if (type == "yolo") {
            YoloSpec y;
            for (const auto& a : r.get<std::vector<std::vector<float>>>(node, "anchors", key)) {
                if (a.size() != 2)
                    r.fail(key + ".anchors", "each anchor is [width, height]");
                y.anchors.push_back({a[0], a[1]});
            }
            y.classes = r.get<int>(node, "classes", key);
            y.ignoreThreshold = r.get<float>(node, "ignore_threshold", key);
            l.params = y;
        } else {
            r.fail(key + ".type", "unsupported layer type '" + type + "'");
        }
        model.spec.layers.push_back(l);
    }

    // Channels per layer, to check the weight shapes against the graph.
    std::vector<int64_t> channels(model.spec.layers.size(), 0);
    for (const LayerSpec& l : model.spec.layers) {
        const int64_t prev = l.index > 0 ? channels[static_cast<size_t>(l.index - 1)] : model.spec.channels;
        channels[static_cast<size_t>(l.index)] = prev;
        if (l.isConv())
            channels[static_cast<size_t>(l.index)] = l.conv().filters;
        else if (const auto* route = std::get_if<RouteSpec>(&l.params)) {
            channels[static_cast<size_t>(l.index)] = 0;
            for (int f : route->layers)
                channels[static_cast<size_t>(l.index)] += channels[static_cast<size_t>(f)];
        }
    }

    for (const json* nodePtr : convNodes) {
        const json& node = *nodePtr;
        IntegerConvLayer c;
        c.index = node.at("index").get<int>();
        const std::string key = "layers[" + std::to_string(c.index) + "]";
        const ConvSpec& spec = model.spec.layers[static_cast<size_t>(c.index)].conv();
        c.outChannels = spec.filters;
        c.inChannels = r.get<int>(node, "in_channels", key);
        const int64_t expectedIn = c.index > 0 ? channels[static_cast<size_t>(c.index - 1)] : model.spec.channels;
        if (c.inChannels != expectedIn)
            r.fail(key + ".in_channels", std::to_string(c.inChannels) + " but the graph gives " + std::to_string(expectedIn));
        c.size = spec.size;
        c.stride = spec.stride;
        c.padding = spec.padding;
        c.batchNormalize = spec.batchNormalize;
        c.activation = spec.activation;

        const json& in = r.at(node, "input", key);
        c.inputQuantizer = readQuantizer(r, r.at(in, "quantizer", key + ".input"), key + ".input.quantizer");
        setInputCodes(c, r.get<double>(in, "step", key + ".input"));
        if (!(c.inputStep > 0))
            r.fail(key + ".input.step", "must be positive");
        if (r.get<int>(in, "qmin", key + ".input") != c.inputQmin || r.get<int>(in, "qmax", key + ".input") != c.inputQmax ||
            r.get<int>(in, "bits", key + ".input") != c.inputBits)
            r.fail(key + ".input", "bits, qmin and qmax do not match the quantizer");

        const json& w = r.at(node, "weight", key);
        c.weightQuantizer = readQuantizer(r, r.at(w, "quantizer", key + ".weight"), key + ".weight.quantizer");
        if (!c.weightQuantizer.enabled())
            r.fail(key + ".weight.quantizer.bit", "an integer export has quantized weights");
        c.weightStep = r.get<std::vector<double>>(w, "step", key + ".weight");
        if (c.weightStep.size() != 1 && c.weightStep.size() != static_cast<size_t>(c.outChannels))
            r.fail(key + ".weight.step", "one value or one per output channel");
        for (double s : c.weightStep)
            if (!(s > 0))
                r.fail(key + ".weight.step", "must be positive");
        const int wq0 = c.weightQuantizer.qmin(), wq1 = c.weightQuantizer.qmax();
        c.weightCodes = r.npy(w, "file", key + ".weight", {codeDtype(wq0, wq1)},
                              {c.outChannels, c.inChannels, c.size, c.size});
        if (c.weightCodes.numel() > 0 && (c.weightCodes.min().item<int>() < wq0 || c.weightCodes.max().item<int>() > wq1))
            r.fail(key + ".weight.file", "codes outside [" + std::to_string(wq0) + ", " + std::to_string(wq1) + "]");
        c.packedOffset = r.get<int64_t>(w, "packed_offset", key + ".weight");
        c.packedBytes = r.get<int64_t>(w, "packed_bytes", key + ".weight");

        if (node.contains("batch_norm")) {
            const json& bn = node.at("batch_norm");
            c.batchNorm = r.npy(bn, "file", key + ".batch_norm", {at::kFloat}, {4, c.outChannels});
            c.batchNormEps = r.get<double>(bn, "eps", key + ".batch_norm");
            if (!(c.batchNorm[3] + c.batchNormEps > 0).all().item<bool>())
                r.fail(key + ".batch_norm", "a running variance (row 3 of " + bn.value("file", "") +
                                                ") plus eps is not positive");
        }
        if (c.batchNormalize != c.batchNorm.defined())
            r.fail(key + ".batch_norm", "present exactly when batch_normalize is true");
        if (node.contains("bias"))
            c.bias = r.npy(node.at("bias"), "file", key + ".bias", {at::kFloat}, {c.outChannels});
        c.accumulatorBound = accumulatorBounds(c.weightCodes, c.inputQmin, c.inputQmax);
        checkAccumulator(c, r.path().string() + ": " + key);
        model.convs.push_back(std::move(c));
    }

    // The graph decides the requantizations; the manifest's tables must be the ones it implies.
    const CodeDomains domains = traceCodeDomains(model.spec);
    checkInputQuantizers(model.spec, domains, [&](int j) -> const QuantizerSpec& { return model.conv(j)->inputQuantizer; });
    model.codesFor = domains.codesFor;
    deriveOutputs(model, domains); // real multipliers and the default tables, replaced below by the files'
    for (IntegerConvLayer& c : model.convs) {
        const json& node = layers[static_cast<size_t>(c.index)];
        const std::string key = "layers[" + std::to_string(c.index) + "].outputs";
        const json& outputs = r.at(node, "outputs", "layers[" + std::to_string(c.index) + "]");
        size_t expected = c.requantizations.size() + (c.floatOutput ? 1 : 0);
        if (!outputs.is_array() || outputs.size() != expected)
            r.fail(key, "lists " + std::to_string(outputs.size()) + " outputs, the graph has " + std::to_string(expected));
        for (const json& out : outputs) {
            const json& to = r.at(out, "to", key);
            if (to.is_string() && to.get<std::string>() == "float") {
                if (!c.floatOutput)
                    r.fail(key, "a float output the graph does not have");
                const at::Tensor table = r.npy(out, "float_file", key, {at::kFloat}, {c.outChannels, 2}).contiguous();
                for (int64_t k = 0; k < c.outChannels; ++k) {
                    c.floatScale[static_cast<size_t>(k)] = table.data_ptr<float>()[2 * k];
                    c.floatBias[static_cast<size_t>(k)] = table.data_ptr<float>()[2 * k + 1];
                }
                continue;
            }
            const int consumer = r.get<int>(out, "to", key);
            Requantization* rq = nullptr;
            for (Requantization& q : c.requantizations)
                if (q.consumer == consumer)
                    rq = &q;
            if (!rq)
                r.fail(key, "output to layer " + std::to_string(consumer) + " is not in the graph");
            if (r.get<int>(out, "qmin", key) != rq->qmin || r.get<int>(out, "qmax", key) != rq->qmax)
                r.fail(key, "the range of the output to layer " + std::to_string(consumer) + " is not the consumer's");
            const at::Tensor table = r.npy(out, "requant_file", key, {at::kInt}, {c.outChannels, 3}).contiguous();
            const int32_t* t = table.data_ptr<int32_t>();
            for (int64_t k = 0; k < c.outChannels; ++k) {
                const size_t kk = static_cast<size_t>(k);
                const int32_t m = t[3 * k], b = t[3 * k + 1], s = t[3 * k + 2];
                if (s < 1 || s > 62)
                    r.fail(key, "shift " + std::to_string(s) + " of channel " + std::to_string(k) + " is outside 1..62");
                // The file is the specification; it must still be (nearly) the folded float model.
                const double m2 = std::ldexp(rq->realMultiplier[kk], s);
                if (std::abs(m2 - m) > 2 + 1e-6 * std::abs(m2))
                    r.fail(key, "the multiplier of channel " + std::to_string(k) + " to layer " + std::to_string(consumer) +
                                    " does not match the step sizes and batch norm");
                rq->multiplier[kk] = m;
                rq->bias[kk] = b;
                rq->shift[kk] = s;
            }
        }
    }

    // The packed file holds the same codes as the .npy files.
    const json& packedNode = r.at(manifest, "packed_weights", "packed_weights");
    const fs::path packedPath = dir / r.get<std::string>(packedNode, "file", "packed_weights");
    const std::string packed = text::readFile(packedPath.string());
    int64_t offset = 0;
    for (IntegerConvLayer& c : model.convs) {
        const size_t count = static_cast<size_t>(c.weightCodes.numel());
        const int64_t bytes = static_cast<int64_t>(packedByteCount(count, c.weightQuantizer.bit));
        if (c.packedOffset != offset || c.packedBytes != bytes)
            r.fail("layers[" + std::to_string(c.index) + "].weight.packed_offset",
                   "expected offset " + std::to_string(offset) + " and " + std::to_string(bytes) + " bytes");
        if (offset + bytes > static_cast<int64_t>(packed.size()))
            throw Error(packedPath.string() + ": too short (" + std::to_string(packed.size()) + " bytes)");
        const std::vector<int32_t> codes =
            unpackCodes(reinterpret_cast<const uint8_t*>(packed.data()) + offset, static_cast<size_t>(bytes), count,
                        c.weightQuantizer.bit, c.weightQuantizer.qmin() < 0);
        const at::Tensor expected = c.weightCodes.to(at::kInt).contiguous().flatten();
        if (!std::equal(codes.begin(), codes.end(), expected.data_ptr<int32_t>()))
            throw Error(packedPath.string() + ": the codes of layer " + std::to_string(c.index) + " differ from " +
                        fileOf(c.index, "weight"));
        offset += bytes;
    }
    if (offset != static_cast<int64_t>(packed.size()))
        throw Error(packedPath.string() + ": " + std::to_string(packed.size()) + " bytes, the layers take " +
                    std::to_string(offset));
    return model;
}

YoloNetwork networkFromIntegerModel(const IntegerModel& model)
{
    YoloNetwork network(model.spec);
    QuantConfig config;
    for (const IntegerConvLayer& c : model.convs) {
        LayerQuantOverride o;
        o.act = {c.inputQuantizer.mode, c.inputQuantizer.bit, c.inputQuantizer.perChannel, c.inputQuantizer.symmetric,
                 c.inputQuantizer.allPositive};
        o.weight = {c.weightQuantizer.mode, c.weightQuantizer.bit, c.weightQuantizer.perChannel,
                    c.weightQuantizer.symmetric, c.weightQuantizer.allPositive};
        config.excepts.emplace_back(convModuleName(c.index), o);
    }
    network->quantize(config);
    at::NoGradGuard noGrad;
    for (YoloNetworkImpl::ConvLayer& layer : network->convLayers()) {
        const IntegerConvLayer& c = *model.conv(layer.index);
        QuantConv2dImpl& conv = *layer.conv;
        const at::Tensor steps = at::tensor(c.weightStep, at::kDouble).to(at::kFloat);
        conv.quanW->s.copy_(steps.reshape(conv.quanW->s.sizes()));
        const at::Tensor stepPerChannel = steps.numel() == 1 ? steps.reshape({}) : steps.reshape({-1, 1, 1, 1});
        conv.weight.copy_(c.weightCodes.to(at::kFloat) * stepPerChannel);
        if (c.inputQuantizer.enabled())
            conv.quanA->s.fill_(c.inputStep);
        if (c.bias.defined())
            conv.bias.copy_(c.bias);
        if (layer.batchNorm) {
            layer.batchNorm->weight.copy_(c.batchNorm[0]);
            layer.batchNorm->bias.copy_(c.batchNorm[1]);
            layer.batchNorm->running_mean.copy_(c.batchNorm[2]);
            layer.batchNorm->running_var.copy_(c.batchNorm[3]);
        }
    }
    network->eval();
    return network;
}

SizeReport integerModelSizes(const IntegerModel& model)
{
    SizeReport report;
    for (const IntegerConvLayer& c : model.convs) {
        LayerSize s;
        s.index = c.index;
        s.weights = c.weightCodes.numel();
        s.bits = c.weightQuantizer.bit;
        s.fp32Bytes = 4 * s.weights;
        s.packedBytes = static_cast<int64_t>(packedByteCount(static_cast<size_t>(s.weights), s.bits));
        s.paddingBits = static_cast<int>(8 * s.packedBytes - s.weights * s.bits);
        s.requantBytes = 12 * c.outChannels * static_cast<int64_t>(c.requantizations.size()) +
                         (c.floatOutput ? 8 * c.outChannels : 0);
        report.fp32WeightBytes += s.fp32Bytes;
        report.packedWeightBytes += s.packedBytes;
        report.requantBytes += s.requantBytes;
        report.fp32ModelBytes += s.fp32Bytes + 4 * c.outChannels * ((c.batchNorm.defined() ? 4 : 0) + (c.bias.defined() ? 1 : 0));
        report.layers.push_back(s);
    }
    return report;
}

std::string formatSizeReport(const SizeReport& report)
{
    std::string out = fmt::format("{:>5} {:>9} {:>4} {:>11} {:>12} {:>8} {:>13}\n", "layer", "weights", "bits",
                                  "fp32 bytes", "packed bytes", "pad bits", "requant bytes");
    for (const LayerSize& s : report.layers)
        out += fmt::format("{:>5} {:>9} {:>4} {:>11} {:>12} {:>8} {:>13}\n", s.index, s.weights, s.bits, s.fp32Bytes,
                           s.packedBytes, s.paddingBits, s.requantBytes);
    const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? double(a) / double(b) : 0.0; };
    out += fmt::format("weights: {} bytes fp32 -> {} bytes packed ({:.2f}x smaller)\n", report.fp32WeightBytes,
                       report.packedWeightBytes, ratio(report.fp32WeightBytes, report.packedWeightBytes));
    out += fmt::format("model: {} bytes fp32 (weights, biases, batch norm) -> {} bytes integer "
                       "(packed weights + {} bytes of requantization tables, {:.2f}x smaller)\n",
                       report.fp32ModelBytes, report.integerModelBytes(), report.requantBytes,
                       ratio(report.fp32ModelBytes, report.integerModelBytes()));
    return out;
}

} // namespace tyq
