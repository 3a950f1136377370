#include "io/onnx_export.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "io/checkpoint.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>

namespace tyq {
namespace {

constexpr int kOnnxOpset = 13;
constexpr const char* kQonnxDomain = "qonnx.custom_op.general";

onnx::TensorProto_DataType onnxType(at::ScalarType type)
{
    switch (type) {
    case at::kFloat: return onnx::TensorProto_DataType_FLOAT;
    case at::kChar: return onnx::TensorProto_DataType_INT8;
    case at::kByte: return onnx::TensorProto_DataType_UINT8;
    case at::kLong: return onnx::TensorProto_DataType_INT64;
    default: throw Error(std::string("ONNX export: no ONNX type for ") + c10::toString(type));
    }
}

// Appends nodes and initializers to a graph, counting ops and keeping names unique.
class GraphBuilder {
public:
    explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

    /// A constant tensor (copied, little-endian raw data, the host's order on x86 and ARM).
    std::string constant(const std::string& name, const at::Tensor& value)
    {
        const at::Tensor t = value.detach().to(at::kCPU).contiguous();
        onnx::TensorProto* init = graph_.add_initializer();
        init->set_name(name);
        init->set_data_type(onnxType(t.scalar_type()));
        for (int64_t d : t.sizes())
            init->add_dims(d);
        init->set_raw_data(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
        return name;
    }
    std::string floatScalar(const std::string& name, float v) { return constant(name, at::scalar_tensor(v, at::kFloat)); }
    std::string int64s(const std::string& name, const std::vector<int64_t>& v)
    {
        return constant(name, at::tensor(v, at::TensorOptions().dtype(at::kLong)));
    }

    onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                          const std::string& name, const std::string& domain = "")
    {
        onnx::NodeProto* n = graph_.add_node();
        n->set_op_type(op);
        n->set_name(name);
        if (!domain.empty())
            n->set_domain(domain);
        for (const std::string& in : inputs)
            n->add_input(in);
        n->add_output(output);
        ++counts_[op];
        return *n;
    }

    const std::map<std::string, int>& counts() const { return counts_; }

private:
    onnx::GraphProto& graph_;
    std::map<std::string, int> counts_;
};

void setAttr(onnx::NodeProto& n, const std::string& name, int64_t v)
{
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
}
void setAttr(onnx::NodeProto& n, const std::string& name, float v)
{
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
}
void setAttr(onnx::NodeProto& n, const std::string& name, const std::string& v)
{
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_STRING);
    a->set_s(v);
}
void setAttr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v)
{
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (int64_t x : v)
        a->add_ints(x);
}

void addValueInfo(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
                  const std::vector<int64_t>& dims, const std::string& doc)
{
    onnx::ValueInfoProto* v = list->Add();
    v->set_name(name);
    v->set_doc_string(doc);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    for (size_t i = 0; i < dims.size(); ++i) {
        onnx::TensorShapeProto_Dimension* d = t->mutable_shape()->add_dim();
        if (i == 0)
            d->set_dim_param("N"); // the batch is dynamic
        else
            d->set_dim_value(dims[i]);
    }
}

// QONNX's Quant range for (signed, narrow, bitwidth), as its spec defines min_int / max_int.
std::pair<long long, long long> qonnxRange(bool isSigned, bool narrow, int bits)
{
    if (!isSigned)
        return {0, (1LL << bits) - 1 - (narrow ? 1 : 0)};
    return {-(1LL << (bits - 1)) + (narrow ? 1 : 0), (1LL << (bits - 1)) - 1};
}

// One LSQ quantizer, y = round(clamp(x / s, qmin, qmax)) * s, in the chosen dialect. `name` is
// the quantizer's module name (module_list.<i>.conv_<i>.quan_a_fn), so readers can match nodes to
// the bit-width YAML.
std::string emitQuantizer(GraphBuilder& b, const std::string& x, const LsqQuantizerImpl& q, const std::string& name,
                          OnnxDialect dialect, OnnxExport& result)
{
    const QuantizerSpec& spec = q.spec();
    const at::Tensor step = q.s.detach().to(at::kFloat);
    const bool perChannel = step.numel() > 1;
    // A weight's per-channel step [C,1,1,1] broadcasts over [C, in, k, k]; a single step is a scalar.
    const at::Tensor broadcastStep = perChannel ? step.reshape({-1, 1, 1, 1}) : step.reshape({});
    ++result.quantizers;

    if (dialect == OnnxDialect::qonnx) {
        const bool isSigned = spec.qmin() < 0;
        const bool narrow = spec.symmetric;
        const auto [lo, hi] = qonnxRange(isSigned, narrow, spec.bit);
        if (lo != spec.qmin() || hi != spec.qmax())
            throw Error(fmt::format("{}: its range [{}, {}] has no QONNX Quant form (signed {}, narrow {}, {} bits give "
                                    "[{}, {}])",
                                    name, spec.qmin(), spec.qmax(), isSigned, narrow, spec.bit, lo, hi));
        const std::string scale = b.constant(name + ".s", broadcastStep);
        const std::string zero = b.floatScalar(name + ".zeropt", 0.0f);
        const std::string bits = b.floatScalar(name + ".bitwidth", static_cast<float>(spec.bit));
        onnx::NodeProto& n = b.node("Quant", {x, scale, zero, bits}, name + ".out", name, kQonnxDomain);
        setAttr(n, "signed", static_cast<int64_t>(isSigned));
        setAttr(n, "narrow", static_cast<int64_t>(narrow));
        setAttr(n, "rounding_mode", std::string("ROUND"));
        return name + ".out";
    }

    if (spec.bit > 8) {
        // Wider than QuantizeLinear's 8-bit codes in opset 13: the same function in float ops, exact
        // (codes up to 16 bits are integers a float holds exactly; Round is half to even, as LSQ's).
        const std::string scale = b.constant(name + ".s", broadcastStep);
        b.node("Div", {x, scale}, name + ".scaled", name + ".div");
        b.node("Round", {name + ".scaled"}, name + ".rounded", name + ".round");
        const std::string lo = b.floatScalar(name + ".qmin", static_cast<float>(spec.qmin()));
        const std::string hi = b.floatScalar(name + ".qmax", static_cast<float>(spec.qmax()));
        b.node("Clip", {name + ".rounded", lo, hi}, name + ".codes", name + ".clip");
        b.node("Mul", {name + ".codes", scale}, name + ".out", name + ".dequantize");
        ++result.exactFloatQuantizers;
        return name + ".out";
    }
    // QuantizeLinear rounds x / scale half to even and saturates to the code type; the Clip then
    // narrows to the quantizer's range (round-then-clamp equals LSQ's clamp-then-round, since the
    // bounds are integers).
    const at::ScalarType codeType = spec.qmin() < 0 ? at::kChar : at::kByte;
    const at::Tensor scaleValues = perChannel ? step.reshape({-1}) : step.reshape({});
    const std::string scale = b.constant(name + ".s", scaleValues);
    const std::string zero = b.constant(name + ".zero_point", at::zeros(scaleValues.sizes(), codeType));
    const std::string lo = b.constant(name + ".qmin", at::scalar_tensor(spec.qmin(), codeType));
    const std::string hi = b.constant(name + ".qmax", at::scalar_tensor(spec.qmax(), codeType));
    onnx::NodeProto& quantize = b.node("QuantizeLinear", {x, scale, zero}, name + ".codes", name + ".quantize");
    b.node("Clip", {name + ".codes", lo, hi}, name + ".clipped", name + ".clip");
    onnx::NodeProto& dequantize =
        b.node("DequantizeLinear", {name + ".clipped", scale, zero}, name + ".out", name + ".dequantize");
    if (perChannel) {
        setAttr(quantize, "axis", static_cast<int64_t>(0));
        setAttr(dequantize, "axis", static_cast<int64_t>(0));
    }
    return name + ".out";
}

struct Spatial {
    int64_t h = 0, w = 0;
};

// A yolo layer's decode, as decodeYoloOutput computes it (same operations in the same order):
// [N, A*(5+C), H, W] -> [N, A*H*W, 5+C] with cx = (sigmoid(tx) + col) * stride,
// w = (exp(tw) * anchor_w / stride) * stride, sigmoid objectness and class scores.
std::string emitDecode(GraphBuilder& b, const std::string& raw, const YoloSpec& yolo, Spatial hw, int64_t inputHeight,
                       int layer)
{
    const std::string p = fmt::format("yolo_{}.", layer);
    const int64_t anchors = static_cast<int64_t>(yolo.anchors.size());
    const int64_t attrs = 5 + yolo.classes;
    const double stride = static_cast<double>(inputHeight) / static_cast<double>(hw.h);

    b.node("Reshape", {raw, b.int64s(p + "split_shape", {-1, anchors, attrs, hw.h, hw.w})}, p + "maps", p + "reshape");
    onnx::NodeProto& t = b.node("Transpose", {p + "maps"}, p + "rows", p + "transpose");
    setAttr(t, "perm", std::vector<int64_t>{0, 1, 3, 4, 2});
    onnx::NodeProto& split =
        b.node("Split", {p + "rows", b.int64s(p + "split_sizes", {2, 2, 1 + yolo.classes})}, p + "xy", p + "split");
    split.add_output(p + "wh");
    split.add_output(p + "scores");
    setAttr(split, "axis", static_cast<int64_t>(-1));

    // The grid: (col, row) per cell, [1, 1, H, W, 2].
    at::Tensor grid = at::empty({1, 1, hw.h, hw.w, 2}, at::kFloat);
    at::Tensor scaled = at::empty({1, anchors, 1, 1, 2}, at::kFloat);
    {
        auto g = grid.accessor<float, 5>();
        for (int64_t y = 0; y < hw.h; ++y)
            for (int64_t x = 0; x < hw.w; ++x) {
                g[0][0][y][x][0] = static_cast<float>(x);
                g[0][0][y][x][1] = static_cast<float>(y);
            }
        auto s = scaled.accessor<float, 5>();
        for (int64_t a = 0; a < anchors; ++a) {
            s[0][a][0][0][0] = static_cast<float>(yolo.anchors[static_cast<size_t>(a)].width / stride);
            s[0][a][0][0][1] = static_cast<float>(yolo.anchors[static_cast<size_t>(a)].height / stride);
        }
    }
    const std::string strideName = b.floatScalar(p + "stride", static_cast<float>(stride));
    b.node("Sigmoid", {p + "xy"}, p + "xy_sigmoid", p + "xy_sigmoid");
    b.node("Add", {p + "xy_sigmoid", b.constant(p + "grid", grid)}, p + "xy_cells", p + "xy_grid");
    b.node("Mul", {p + "xy_cells", strideName}, p + "xy_pixels", p + "xy_stride");
    b.node("Exp", {p + "wh"}, p + "wh_exp", p + "wh_exp");
    b.node("Mul", {p + "wh_exp", b.constant(p + "anchors", scaled)}, p + "wh_cells", p + "wh_anchors");
    b.node("Mul", {p + "wh_cells", strideName}, p + "wh_pixels", p + "wh_stride");
    b.node("Sigmoid", {p + "scores"}, p + "scores_sigmoid", p + "scores_sigmoid");
    onnx::NodeProto& cat = b.node("Concat", {p + "xy_pixels", p + "wh_pixels", p + "scores_sigmoid"}, p + "decoded",
                                  p + "concat");
    setAttr(cat, "axis", static_cast<int64_t>(-1));
    b.node("Reshape", {p + "decoded", b.int64s(p + "rows_shape", {-1, anchors * hw.h * hw.w, attrs})}, p + "detections",
           p + "flatten");
    return p + "detections";
}

Spatial convOutput(Spatial in, int64_t size, int64_t stride, int64_t pad)
{
    return {(in.h + 2 * pad - size) / stride + 1, (in.w + 2 * pad - size) / stride + 1};
}

} // namespace

const char* onnxDialectName(OnnxDialect dialect)
{
    return dialect == OnnxDialect::qonnx ? "qonnx" : "qcdq";
}

OnnxOutputs parseOnnxOutputs(const std::string& name)
{
    if (name == "decoded")
        return OnnxOutputs::decoded;
    if (name == "raw")
        return OnnxOutputs::raw;
    if (name == "both")
        return OnnxOutputs::both;
    throw Error("unknown ONNX outputs '" + name + "' (decoded, raw or both)");
}

OnnxExport exportOnnx(YoloNetworkImpl& network, const OnnxExportOptions& options)
{
    at::NoGradGuard noGrad;
    const NetworkSpec& spec = network.spec();
    OnnxExport result;
    result.opset = kOnnxOpset;

    onnx::ModelProto model;
    model.set_ir_version(onnx::IR_VERSION);
    model.set_producer_name("tyq");
    model.set_producer_version(kTyqVersion);
    model.set_doc_string("tyq detector (reduced Tiny-YOLOv3, " + std::to_string(spec.numClasses()) + " classes)");
    model.add_opset_import()->set_version(kOnnxOpset);
    const bool quantized = network.quantized();
    if (quantized && options.dialect == OnnxDialect::qonnx) {
        onnx::OperatorSetIdProto* qonnx = model.add_opset_import();
        qonnx->set_domain(kQonnxDomain);
        qonnx->set_version(1);
    }
    onnx::GraphProto& graph = *model.mutable_graph();
    graph.set_name("tyq_detector");
    GraphBuilder b(graph);
    addValueInfo(graph.mutable_input(), "images", {0, spec.channels, spec.height, spec.width},
                 fmt::format("RGB, 0..255, the image resized (nearest) to {}x{}", spec.width, spec.height));

    std::map<int, const YoloNetworkImpl::ConvLayer*> convs;
    for (const YoloNetworkImpl::ConvLayer& c : network.convLayers())
        convs[c.index] = &c;

    const size_t n = spec.layers.size();
    std::vector<std::string> out(n);
    std::vector<Spatial> shape(n);
    std::vector<int64_t> channels(n, 0);
    std::vector<std::string> decoded;
    std::vector<std::pair<std::string, std::vector<int64_t>>> heads;
    nlohmann::json anchorsJson = nlohmann::json::array();

    for (const LayerSpec& layer : spec.layers) {
        const int i = layer.index;
        const std::string input = i == 0 ? "images" : out[static_cast<size_t>(i - 1)];
        const Spatial inShape = i == 0 ? Spatial{spec.height, spec.width} : shape[static_cast<size_t>(i - 1)];
        const int64_t inChannels = i == 0 ? spec.channels : channels[static_cast<size_t>(i - 1)];
        const std::string where = fmt::format("layer {} ({}, cfg line {})", i, layer.typeName(), layer.line);
        std::string y = fmt::format("layer_{}", i);
        Spatial outShape = inShape;
        int64_t outChannels = inChannels;

        if (const auto* convSpec = std::get_if<ConvSpec>(&layer.params)) {
            const YoloNetworkImpl::ConvLayer& c = *convs.at(i);
            const std::string module = c.moduleName;
            std::string x = input;
            if (c.conv->quanA && c.conv->quanA->spec().enabled())
                x = emitQuantizer(b, x, *c.conv->quanA, module + ".quan_a_fn", options.dialect, result);
            std::string w = b.constant(module + ".weight", c.conv->weight);
            if (c.conv->quanW && c.conv->quanW->spec().enabled())
                w = emitQuantizer(b, w, *c.conv->quanW, module + ".quan_w_fn", options.dialect, result);
            std::vector<std::string> inputs{x, w};
            if (c.conv->bias.defined())
                inputs.push_back(b.constant(module + ".bias", c.conv->bias));
            const bool more = c.batchNorm || c.activation != Activation::linear;
            const std::string convOut = more ? module + ".out" : y;
            onnx::NodeProto& conv = b.node("Conv", inputs, convOut, module);
            setAttr(conv, "kernel_shape", std::vector<int64_t>{convSpec->size, convSpec->size});
            setAttr(conv, "strides", std::vector<int64_t>{convSpec->stride, convSpec->stride});
            const int64_t p = convSpec->padding;
            setAttr(conv, "pads", std::vector<int64_t>{p, p, p, p});
            std::string z = convOut;
            if (c.batchNorm) {
                // Kept as a node (not folded): the weight quantizer acts on the conv weight alone,
                // as in training, so folding would change what is quantized.
                const std::string bn = fmt::format("module_list.{}.batch_norm_{}", i, i);
                const std::string bnOut = c.activation != Activation::linear ? bn + ".out" : y;
                onnx::NodeProto& node = b.node("BatchNormalization",
                                               {z, b.constant(bn + ".weight", c.batchNorm->weight),
                                                b.constant(bn + ".bias", c.batchNorm->bias),
                                                b.constant(bn + ".running_mean", c.batchNorm->running_mean),
                                                b.constant(bn + ".running_var", c.batchNorm->running_var)},
                                               bnOut, bn);
                setAttr(node, "epsilon", static_cast<float>(c.batchNorm->options.eps()));
                z = bnOut;
            }
            if (c.activation == Activation::leaky)
                setAttr(b.node("LeakyRelu", {z}, y, module + ".leaky"), "alpha", 0.1f);
            else if (c.activation == Activation::relu)
                b.node("Relu", {z}, y, module + ".relu");
            outShape = convOutput(inShape, convSpec->size, convSpec->stride, convSpec->padding);
            outChannels = convSpec->filters;
        } else if (const auto* pool = std::get_if<MaxpoolSpec>(&layer.params)) {
            const int64_t pad = pool->size == pool->stride ? 0 : (pool->size - 1) / 2;
            onnx::NodeProto& node = b.node("MaxPool", {input}, y, fmt::format("maxpool_{}", i));
            setAttr(node, "kernel_shape", std::vector<int64_t>{pool->size, pool->size});
            setAttr(node, "strides", std::vector<int64_t>{pool->stride, pool->stride});
            setAttr(node, "pads", std::vector<int64_t>{pad, pad, pad, pad});
            outShape = convOutput(inShape, pool->size, pool->stride, pad);
        } else if (const auto* route = std::get_if<RouteSpec>(&layer.params)) {
            if (route->layers.size() == 1) {
                y = out[static_cast<size_t>(route->layers.front())]; // a route of one layer only renames
            } else {
                std::vector<std::string> parts;
                for (int from : route->layers)
                    parts.push_back(out[static_cast<size_t>(from)]);
                setAttr(b.node("Concat", parts, y, fmt::format("route_{}", i)), "axis", static_cast<int64_t>(1));
            }
            outShape = shape[static_cast<size_t>(route->layers.front())];
            outChannels = 0;
            for (int from : route->layers)
                outChannels += channels[static_cast<size_t>(from)];
        } else if (const auto* up = std::get_if<UpsampleSpec>(&layer.params)) {
            const at::Tensor scales = at::tensor(std::vector<float>{1.0f, 1.0f, static_cast<float>(up->stride),
                                                                    static_cast<float>(up->stride)});
            // out[y][x] = in[floor(y / f)][floor(x / f)], torch's nearest upsample.
            onnx::NodeProto& node =
                b.node("Resize", {input, "", b.constant(fmt::format("upsample_{}.scales", i), scales)}, y,
                       fmt::format("upsample_{}", i));
            setAttr(node, "mode", std::string("nearest"));
            setAttr(node, "coordinate_transformation_mode", std::string("asymmetric"));
            setAttr(node, "nearest_mode", std::string("floor"));
            outShape = {inShape.h * up->stride, inShape.w * up->stride};
        } else if (std::holds_alternative<ShortcutSpec>(layer.params)) {
            throw Error(where + ": tyq's ONNX export does not support shortcut layers (residual adds); the network "
                                "has no ONNX form here");
        } else if (layer.isYolo()) {
            y = input; // the yolo layer passes its input on
            const YoloSpec& yolo = layer.yolo();
            heads.push_back({input, {0, inChannels, inShape.h, inShape.w}});
            decoded.push_back(emitDecode(b, input, yolo, inShape, spec.height, i));
            nlohmann::json a = nlohmann::json::array();
            for (const Anchor& anchor : yolo.anchors)
                a.push_back({anchor.width, anchor.height});
            anchorsJson.push_back({{"layer", i},
                                   {"grid", {inShape.h, inShape.w}},
                                   {"stride", static_cast<double>(spec.height) / static_cast<double>(inShape.h)},
                                   {"anchors", a}});
        }
        out[static_cast<size_t>(i)] = y;
        shape[static_cast<size_t>(i)] = outShape;
        channels[static_cast<size_t>(i)] = outChannels;
    }
    if (decoded.empty())
        throw Error(spec.source + ": the network has no yolo layer to export");

    const int64_t attrs = 5 + spec.numClasses();
    if (options.outputs != OnnxOutputs::raw) {
        int64_t rows = 0;
        for (const auto& [name, dims] : heads)
            rows += dims[1] / attrs * dims[2] * dims[3];
        if (decoded.size() == 1)
            b.node("Identity", {decoded.front()}, "detections", "detections");
        else
            setAttr(b.node("Concat", decoded, "detections", "detections"), "axis", static_cast<int64_t>(1));
        addValueInfo(graph.mutable_output(), "detections", {0, rows, attrs},
                     "decoded rows: cx, cy, w, h (input pixels), objectness, class scores; before thresholds and NMS");
    }
    if (options.outputs != OnnxOutputs::decoded) {
        const std::vector<int> yoloLayers = spec.yoloIndices();
        for (size_t k = 0; k < heads.size(); ++k) {
            const std::string name = fmt::format("head_{}", yoloLayers[k]);
            b.node("Identity", {heads[k].first}, name, name);
            addValueInfo(graph.mutable_output(), name, heads[k].second,
                         "raw yolo layer input [N, A*(5+C), H, W], before the decode");
        }
    }

    auto meta = [&model](const std::string& key, const std::string& value) {
        onnx::StringStringEntryProto* e = model.add_metadata_props();
        e->set_key(key);
        e->set_value(value);
    };
    meta(kOnnxMetaVersion, kTyqVersion);
    meta(kOnnxMetaCfg, spec.text);
    meta(kOnnxMetaBitWidths, quantized ? quantConfigToYaml(*network.quantConfig()) : "");
    meta("quantization", quantized ? onnxDialectName(options.dialect) : "none (full precision)");
    meta(kOnnxMetaClassNames, nlohmann::json(options.classNames).dump());
    meta(kOnnxMetaAnchors, anchorsJson.dump());
    meta("input", fmt::format("images: float32 [N, {}, {}, {}], RGB 0..255, the image resized (nearest) to {}x{}",
                              spec.channels, spec.height, spec.width, spec.width, spec.height));
    if (!options.source.empty())
        meta("source", options.source);

    try {
        onnx::checker::check_model(model);
    } catch (const std::exception& e) {
        throw Error(std::string("ONNX export: the ONNX checker rejects the graph: ") + e.what());
    }
    if (!model.SerializeToString(&result.bytes))
        throw Error("ONNX export: the model could not be serialized");
    result.nodeCounts = b.counts();
    return result;
}

OnnxExport writeOnnxModel(YoloNetworkImpl& network, const OnnxExportOptions& options, const std::filesystem::path& out)
{
    OnnxExport result = exportOnnx(network, options);
    writeFileAtomically(out, result.bytes);
    return result;
}

} // namespace tyq
