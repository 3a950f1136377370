#include "hw/integer_model_files.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text.h"
#include "hw/bit_packing.h"
#include "hw/integer_graph.h"
#include "hw/integer_model_sizes.h"
#include "io/npy.h"
#include "model/weight_check.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
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

} // namespace

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

} // namespace tyq
