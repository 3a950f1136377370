// The ONNX export's graph, read back with the ONNX library: inputs, outputs and metadata a reader
// rebuilds the detector from, each quantizer's QCDQ or QONNX form at its exact range, refusals.
// (Running the files in onnxruntime and against the QONNX spec: e2e.cli_export_onnx.)
#include "common/error.h"
#include "io/onnx_export.h"
#include "model/darknet_cfg.h"
#include "model/yolo_network.h"
#include "quant/quant_config.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>
#include <string>

namespace tyq {
namespace {

onnx::ModelProto exportAndParse(YoloNetworkImpl& network, const OnnxExportOptions& options)
{
    const OnnxExport result = exportOnnx(network, options);
    onnx::ModelProto model;
    EXPECT_TRUE(model.ParseFromString(result.bytes));
    return model;
}

std::map<std::string, std::string> metadataOf(const onnx::ModelProto& model)
{
    std::map<std::string, std::string> meta;
    for (const auto& p : model.metadata_props())
        meta[p.key()] = p.value();
    return meta;
}

const onnx::TensorProto* initializer(const onnx::ModelProto& model, const std::string& name)
{
    for (const onnx::TensorProto& t : model.graph().initializer())
        if (t.name() == name)
            return &t;
    return nullptr;
}

const onnx::NodeProto* nodeNamed(const onnx::ModelProto& model, const std::string& name)
{
    for (const onnx::NodeProto& n : model.graph().node())
        if (n.name() == name)
            return &n;
    return nullptr;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name)
{
    for (const onnx::AttributeProto& a : node.attribute())
        if (a.name() == name)
            return &a;
    return nullptr;
}

int scalarInt8(const onnx::TensorProto& t)
{
    EXPECT_EQ(t.raw_data().size(), 1u);
    return t.data_type() == onnx::TensorProto_DataType_INT8 ? static_cast<int8_t>(t.raw_data()[0])
                                                            : static_cast<uint8_t>(t.raw_data()[0]);
}

YoloNetwork quantizedNetwork(const QuantConfig& config)
{
    torch::manual_seed(3);
    YoloNetwork network(defaultNetworkSpec());
    network->quantize(config);
    network->eval();
    return network;
}

TEST(OnnxExport, FullPrecisionGraphHasADynamicBatchTheDecodedRowsAndTheMetadata)
{
    torch::manual_seed(1);
    YoloNetwork network(defaultNetworkSpec());
    network->eval();
    OnnxExportOptions options;
    options.classNames = {"a", "b"};
    const onnx::ModelProto model = exportAndParse(*network, options);

    ASSERT_EQ(model.opset_import_size(), 1);
    EXPECT_EQ(model.opset_import(0).version(), 13);
    ASSERT_EQ(model.graph().input_size(), 1);
    const auto& input = model.graph().input(0).type().tensor_type().shape();
    EXPECT_EQ(model.graph().input(0).name(), "images");
    ASSERT_EQ(input.dim_size(), 4);
    EXPECT_EQ(input.dim(0).dim_param(), "N");
    EXPECT_EQ(input.dim(1).dim_value(), 3);
    EXPECT_EQ(input.dim(2).dim_value(), 288);
    EXPECT_EQ(input.dim(3).dim_value(), 512);
    ASSERT_EQ(model.graph().output_size(), 1);
    const auto& output = model.graph().output(0).type().tensor_type().shape();
    EXPECT_EQ(model.graph().output(0).name(), "detections");
    EXPECT_EQ(output.dim(0).dim_param(), "N");
    EXPECT_EQ(output.dim(1).dim_value(), 3 * 18 * 32); // A * H * W rows of the one yolo layer (stride 16)
    EXPECT_EQ(output.dim(2).dim_value(), 17);

    int convs = 0, quantizers = 0;
    for (const onnx::NodeProto& n : model.graph().node()) {
        convs += n.op_type() == "Conv";
        quantizers += n.op_type() == "QuantizeLinear" || n.op_type() == "Quant";
    }
    EXPECT_EQ(convs, 10);
    EXPECT_EQ(quantizers, 0);

    const auto meta = metadataOf(model);
    EXPECT_EQ(meta.at(kOnnxMetaClassNames), R"(["a","b"])");
    EXPECT_NE(meta.at(kOnnxMetaCfg).find("[yolo]"), std::string::npos);
    EXPECT_NE(meta.at(kOnnxMetaAnchors).find("[10.0,14.0]"), std::string::npos);
    EXPECT_EQ(meta.at(kOnnxMetaBitWidths), "");
    EXPECT_FALSE(meta.at(kOnnxMetaVersion).empty());

    options.outputs = OnnxOutputs::both;
    const onnx::ModelProto both = exportAndParse(*network, options);
    ASSERT_EQ(both.graph().output_size(), 2);
    EXPECT_EQ(both.graph().output(1).name(), "head_23");
    EXPECT_EQ(both.graph().output(1).type().tensor_type().shape().dim(1).dim_value(), 51);
}

TEST(OnnxExport, QcdqClipsEachQuantizerAtItsRangeAndKeepsPerChannelStepsOnAxis0)
{
    QuantConfig config = defaultQuantConfig();
    LayerQuantOverride perChannel;
    perChannel.weight.perChannel = true;
    perChannel.weight.bit = 4;
    config.setOverride("module_list.4.conv_4", perChannel);
    YoloNetwork network = quantizedNetwork(config);
    const OnnxExport result = exportOnnx(*network, {});
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(result.bytes));
    EXPECT_EQ(metadataOf(model).at(kOnnxMetaBitWidths), quantConfigToYaml(config));

    int checked = 0;
    for (const YoloNetworkImpl::ConvLayer& c : network->convLayers()) {
        for (const auto& [kind, q] : {std::pair{"quan_w_fn", c.conv->quanW}, std::pair{"quan_a_fn", c.conv->quanA}}) {
            const std::string name = c.moduleName + "." + kind;
            const QuantizerSpec& spec = q->spec();
            if (!spec.enabled()) {
                EXPECT_EQ(nodeNamed(model, name + ".quantize"), nullptr) << name;
                continue;
            }
            if (spec.bit > 8) { // layer 22's 9-bit input: the exact float form
                const onnx::NodeProto* clip = nodeNamed(model, name + ".clip");
                ASSERT_NE(clip, nullptr) << name;
                EXPECT_NE(nodeNamed(model, name + ".round"), nullptr);
                EXPECT_EQ(nodeNamed(model, name + ".quantize"), nullptr);
                const onnx::TensorProto* hi = initializer(model, clip->input(2));
                ASSERT_NE(hi, nullptr);
                float v = 0;
                std::memcpy(&v, hi->raw_data().data(), sizeof v);
                EXPECT_EQ(v, static_cast<float>(spec.qmax()));
                ++checked;
                continue;
            }
            const onnx::NodeProto* quantize = nodeNamed(model, name + ".quantize");
            const onnx::NodeProto* clip = nodeNamed(model, name + ".clip");
            const onnx::NodeProto* dequantize = nodeNamed(model, name + ".dequantize");
            ASSERT_TRUE(quantize && clip && dequantize) << name;
            EXPECT_EQ(clip->input(0), quantize->output(0));
            EXPECT_EQ(dequantize->input(0), clip->output(0));
            EXPECT_EQ(scalarInt8(*initializer(model, clip->input(1))), spec.qmin()) << name;
            EXPECT_EQ(scalarInt8(*initializer(model, clip->input(2))), spec.qmax()) << name;
            const onnx::TensorProto* scale = initializer(model, quantize->input(1));
            ASSERT_NE(scale, nullptr);
            if (spec.perChannel) {
                ASSERT_NE(attribute(*quantize, "axis"), nullptr);
                EXPECT_EQ(attribute(*quantize, "axis")->i(), 0);
                ASSERT_EQ(scale->dims_size(), 1);
                EXPECT_EQ(scale->dims(0), c.conv->weight.size(0));
            } else {
                EXPECT_EQ(scale->dims_size(), 0);
                float s = 0;
                std::memcpy(&s, scale->raw_data().data(), sizeof s);
                EXPECT_EQ(s, q->s.item<float>()) << name; // the learned step, as the scale
            }
            ++checked;
        }
    }
    EXPECT_EQ(checked, result.quantizers);
    EXPECT_EQ(result.exactFloatQuantizers, 1);
}

TEST(OnnxExport, QonnxQuantNodesSpellOutEveryAttributeAndImportTheirDomain)
{
    YoloNetwork network = quantizedNetwork(defaultQuantConfig());
    OnnxExportOptions options;
    options.dialect = OnnxDialect::qonnx;
    const onnx::ModelProto model = exportAndParse(*network, options);
    bool domainImported = false;
    for (const auto& o : model.opset_import())
        domainImported |= o.domain() == "qonnx.custom_op.general" && o.version() == 1;
    EXPECT_TRUE(domainImported);

    int quants = 0;
    for (const onnx::NodeProto& n : model.graph().node()) {
        if (n.op_type() != "Quant")
            continue;
        ++quants;
        EXPECT_EQ(n.domain(), "qonnx.custom_op.general");
        ASSERT_EQ(n.input_size(), 4) << n.name();
        ASSERT_EQ(n.attribute_size(), 3) << n.name();
        ASSERT_TRUE(attribute(n, "signed") && attribute(n, "narrow") && attribute(n, "rounding_mode"));
        EXPECT_EQ(attribute(n, "rounding_mode")->s(), "ROUND");
        // The default bits: symmetric 3-bit weights (signed, narrow: [-3, 3]), unsigned activations.
        const bool weight = n.name().find("quan_w_fn") != std::string::npos;
        EXPECT_EQ(attribute(n, "signed")->i(), weight ? 1 : 0) << n.name();
        EXPECT_EQ(attribute(n, "narrow")->i(), weight ? 1 : 0) << n.name();
        const onnx::TensorProto* bits = initializer(model, n.input(3));
        ASSERT_NE(bits, nullptr);
        float b = 0;
        std::memcpy(&b, bits->raw_data().data(), sizeof b);
        EXPECT_EQ(b, n.name() == "module_list.22.conv_22.quan_a_fn" ? 9.0f : 3.0f) << n.name();
    }
    EXPECT_EQ(quants, 19); // 10 weights, 9 activations (the image input is not quantized)
}

TEST(OnnxExport, AShortcutLayerIsRefusedNamingTheLayer)
{
    const NetworkSpec spec = parseDarknetCfgText(R"([net]
width=32
height=32
[convolutional]
filters=4
size=3
pad=1
[convolutional]
filters=4
size=3
pad=1
[shortcut]
from=-2
activation=linear
[convolutional]
filters=21
size=1
[yolo]
anchors=1,1, 2,2, 3,3
mask=0,1,2
classes=2
)", "residual.cfg");
    YoloNetwork network(spec);
    network->eval();
    try {
        exportOnnx(*network, {});
        FAIL() << "a shortcut layer was exported";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("layer 2 (shortcut, cfg line"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace tyq
