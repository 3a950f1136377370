// The detector as an ONNX model, written with the ONNX library's own protobuf classes. Two forms
// of a quantized network: QCDQ (QuantizeLinear -> Clip -> DequantizeLinear per quantizer, opset
// 13, what onnxruntime, OpenVINO and TensorRT read) and QONNX (one arbitrary-bit `Quant` node per
// quantizer, what FINN and hls4ml read). A full-precision network exports as plain opset 13.
#pragma once

#include "model/yolo_network.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace tyq {

enum class OnnxDialect {
    qcdq,  ///< standard ONNX: QuantizeLinear -> Clip -> DequantizeLinear (plain ONNX when fp)
    qonnx, ///< QONNX `Quant` nodes (domain qonnx.custom_op.general)
};

/// Which tensors the graph returns.
enum class OnnxOutputs {
    decoded, ///< "detections" [N, rows, 5+C], the rows `tyq detect --dump` writes (output.npy)
    raw,     ///< "head_<i>" per yolo layer i, [N, A*(5+C), H, W], before the decode
    both,    ///< detections first, then the raw heads
};

struct OnnxExportOptions {
    OnnxDialect dialect = OnnxDialect::qcdq;
    OnnxOutputs outputs = OnnxOutputs::decoded;
    std::vector<std::string> classNames; ///< recorded in the metadata (empty: none recorded)
    std::string source;                  ///< the weights file, recorded in the metadata
};

struct OnnxExport {
    std::string bytes;                     ///< the serialized ModelProto
    int opset = 13;
    std::map<std::string, int> nodeCounts; ///< op type -> nodes
    int quantizers = 0;                    ///< quantized tensors (weights and activations)
    int exactFloatQuantizers = 0;          ///< QCDQ quantizers wider than 8 bits, as Div/Round/Clip/Mul
};

/// Builds the ONNX model of the network as it is (weights, step sizes, bit-widths), checks it
/// with the ONNX checker and serializes it. Throws tyq::Error naming the layer when the network
/// has no form in that dialect (a shortcut layer) or the checker rejects the graph.
OnnxExport exportOnnx(YoloNetworkImpl& network, const OnnxExportOptions& options);

/// exportOnnx, then writes the file atomically.
OnnxExport writeOnnxModel(YoloNetworkImpl& network, const OnnxExportOptions& options, const std::filesystem::path& out);

/// "qcdq" / "qonnx"; parseOnnxOutputs reads "decoded" / "raw" / "both" (tyq::Error otherwise).
const char* onnxDialectName(OnnxDialect dialect);
OnnxOutputs parseOnnxOutputs(const std::string& name);

/// The metadata keys every export carries (metadata_props).
inline constexpr const char* kOnnxMetaVersion = "tyq_version";
inline constexpr const char* kOnnxMetaCfg = "cfg";
inline constexpr const char* kOnnxMetaBitWidths = "bit_widths";
inline constexpr const char* kOnnxMetaClassNames = "class_names";
inline constexpr const char* kOnnxMetaAnchors = "anchors";

} // namespace tyq
