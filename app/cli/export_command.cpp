// tyq export: models out of tyq. `pth` is the path back to Python (torch.load + load_state_dict);
// `int` is the integer network for hardware (a folder: manifest, codes, requantization tables);
// `onnx` (QCDQ when quantized) is for onnxruntime, OpenVINO and TensorRT; `qonnx` for FINN and hls4ml.
#include "cli/commands.h"

#include "common/error.h"
#include "data/dataset.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "hw/integer_model_sizes.h"
#include "io/onnx_export.h"
#include "io/state_dict.h"
#include "model/model_loader.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

namespace tyq::cli {
namespace {

struct ExportOptions {
    ModelFlags model;
    std::string format = "pth";
    std::string out;
    std::string outputs = "decoded";
    std::string names;
};

std::string formatNodeCounts(const std::map<std::string, int>& counts)
{
    std::string text;
    for (const auto& [op, count] : counts)
        text += (text.empty() ? "" : ", ") + fmt::format("{} {}", op, count);
    return text;
}

void run(const ExportOptions& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    LoadedModel loaded = loadModel(o.model.source());
    for (const std::string& w : loaded.warnings)
        spdlog::warn("{}", w);
    if (o.format == "pth") {
        const StateDict state = collectStateDict(*loaded.network);
        writeStateDictPth(state, o.out);
        spdlog::info("wrote {} tensors to {} (load in Python with model.load_state_dict(torch.load(path)))",
                     state.size(), o.out);
        return;
    }
    if (o.format == "int") {
        const IntegerModel model = exportIntegerModel(*loaded.network, o.model.weights);
        writeIntegerModel(model, o.out);
        std::cout << formatSizeReport(integerModelSizes(model));
        spdlog::info("wrote the integer model to {} (manifest.json, layer_*.npy, weights.packed; see README, "
                     "\"Hardware export\")",
                     o.out);
        return;
    }
    if (o.format == "onnx" || o.format == "qonnx") {
        OnnxExportOptions options;
        options.dialect = o.format == "qonnx" ? OnnxDialect::qonnx : OnnxDialect::qcdq;
        options.outputs = parseOnnxOutputs(o.outputs);
        options.classNames = o.names.empty() ? dacClassNames() : loadClassNames(o.names);
        options.source = o.model.weights;
        const OnnxExport result = writeOnnxModel(*loaded.network, options, o.out);
        const std::string form = !loaded.network->quantized() ? "full precision"
                                 : o.format == "qonnx"          ? "QONNX Quant nodes"
                                                                : "QCDQ (QuantizeLinear, Clip, DequantizeLinear)";
        std::cout << fmt::format("{}: opset {}, {}, {} quantizer(s){}, {} bytes\n  nodes: {}\n", o.out, result.opset,
                                 form, result.quantizers,
                                 result.exactFloatQuantizers > 0
                                     ? fmt::format(" ({} wider than 8 bits as Div, Round, Clip, Mul)",
                                                   result.exactFloatQuantizers)
                                     : std::string(),
                                 result.bytes.size(), formatNodeCounts(result.nodeCounts));
        return;
    }
    throw Error("unknown export format '" + o.format + "'");
}

} // namespace

void registerExportCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<ExportOptions>();
    CLI::App* cmd = app.add_subcommand(
        "export", "Export a model (pth: a state dict for Python's torch.load; int: the integer network for hardware; "
                  "onnx: standard ONNX, QCDQ when quantized, for onnxruntime, OpenVINO, TensorRT; qonnx: QONNX Quant "
                  "nodes, for FINN and hls4ml)");
    addModelFlags(*cmd, o->model, /*weightsRequired=*/true);
    cmd->add_option("--format", o->format, "Export format")->check(CLI::IsMember({"pth", "int", "onnx", "qonnx"}))->capture_default_str();
    cmd->add_option("--out,-o", o->out, "Output file (pth, onnx, qonnx) or folder (int)")->required();
    cmd->add_option("--outputs", o->outputs,
                    "ONNX outputs: decoded (the rows detect --dump writes), raw (the yolo layers' input maps) or both")
        ->check(CLI::IsMember({"decoded", "raw", "both"}))
        ->capture_default_str();
    cmd->add_option("--names", o->names, "Class names file recorded in the ONNX metadata (default: the DAC classes)")
        ->check(CLI::ExistingFile);
    cmd->callback([o, &global] { run(*o, global); });
}

} // namespace tyq::cli
