// tyq eval: mAP, per-class AP/precision/recall/F1 and the two IoUs of a model on a dataset split,
// through the float (fake-quantized) network or, with --engine int, the integer-only network.
#include "cli/commands.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "infer/dataset_evaluation.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "model/model_loader.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <unistd.h>

namespace tyq::cli {
namespace {

struct EvalCommandOptions {
    ModelFlags model;
    std::string data = "data/sample/dac.data";
    std::string split = "val";
    EvalOptions eval;
    int width = 0;
    int height = 0;
    int batchSize = 8;
    std::string json;
    std::string engine = "float";
    std::string intModel;
    std::string intKernel = "onednn";
    std::string precision = "fp32";
};

nlohmann::json metricsJson(const EvaluationResult& r, const std::vector<std::string>& names)
{
    nlohmann::json classes = nlohmann::json::array();
    for (const ClassMetrics& c : r.perClass)
        classes.push_back({{"class_id", c.classId},
                           {"class_name", c.classId < static_cast<int>(names.size()) ? names[c.classId] : std::to_string(c.classId)},
                           {"ap", c.ap}, {"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1},
                           {"truths", c.numTruths}, {"predictions", c.numPredictions}});
    return {{"map", r.mAP}, {"precision", r.precision}, {"recall", r.recall}, {"f1", r.f1}, {"iou", r.referenceIoU},
            {"contest_iou", r.contestIoU}, {"images", r.images}, {"truths", r.truths}, {"predictions", r.predictions},
            {"classes", classes}};
}

void run(const EvalCommandOptions& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    if (!std::filesystem::exists(o.data))
        throw Error(o.data + ": dataset not found (create the sample with: tyq gen-data --out data/sample)");
    const DataConfig data = loadDataConfig(o.data);
    const bool integer = o.engine == "int" || !o.intModel.empty();
    EvalOptions evalOptions = o.eval;
    evalOptions.precision = parsePrecision(o.precision);
    if (integer && evalOptions.precision != Precision::fp32)
        throw Error("eval: --precision is for the float engine; the integer engine computes exactly in integers");
    if (o.model.weights.empty() && o.intModel.empty())
        throw Error("eval: give the model with --weights (or, for the integer engine, an export folder with --int-model)");
    if (!o.intModel.empty() && (!o.model.weights.empty() || !o.model.cfg.empty() || !o.model.quant.empty()))
        throw Error("eval: --int-model names the whole model; drop --weights, --cfg and --quant");
    LoadedModel loaded;
    std::optional<IntegerEngine> engine;
    if (!o.intModel.empty()) {
        engine.emplace(readIntegerModel(o.intModel), kernelOf(o.intKernel));
        loaded.weightsDescription = "integer export";
    } else {
        loaded = loadModel(o.model.source());
        for (const std::string& w : loaded.warnings)
            spdlog::warn("{}", w);
        if (integer) {
            engine.emplace(exportIntegerModel(*loaded.network, o.model.weights), kernelOf(o.intKernel));
            loaded.weightsDescription += ", integer engine";
        }
    }
    if (engine)
        spdlog::info("integer engine: {}", engine->kernelDescription());
    else if (evalOptions.precision != Precision::fp32)
        loaded.weightsDescription += std::string(", ") + precisionName(evalOptions.precision) + " convolutions";
    const NetworkSpec& spec = engine ? engine->spec() : loaded.network->spec();
    if (data.classes != spec.numClasses())
        throw Error(o.data + ": has " + std::to_string(data.classes) + " classes but the network predicts " +
                    std::to_string(spec.numClasses()));

    DatasetLoadOptions loadOptions;
    loadOptions.numClasses = data.classes;
    loadOptions.classNames = data.classNames;
    LoadedDataset dataset = loadDatasetList(o.split == "train" ? data.trainList : data.validList, loadOptions);
    for (const std::string& p : dataset.problems)
        spdlog::warn("skipped: {}", p);
    if (dataset.samples.empty())
        throw Error(o.data + ": the " + o.split + " split has no usable samples");

    BatchLoaderOptions loaderOptions;
    loaderOptions.batchSize = o.batchSize;
    loaderOptions.width = o.width > 0 ? o.width : spec.width;
    loaderOptions.height = o.height > 0 ? o.height : spec.height;
    loaderOptions.shuffle = false;
    BatchLoader loader(dataset.samples, loaderOptions);
    const bool tty = ::isatty(STDERR_FILENO) && !global.quiet;
    std::vector<std::string> problems;
    const auto progress = [&](int64_t done, int64_t total) {
        if (tty)
            std::fprintf(stderr, "\revaluating: %lld/%lld", static_cast<long long>(done), static_cast<long long>(total));
        return true;
    };
    const EvaluationResult result =
        engine ? evaluateDataset([&](const at::Tensor& images) { return engine->detect(images); }, spec.numClasses(), loader,
                                 evalOptions, progress, nullptr, &problems)
               : evaluateDataset(*loaded.network, loader, evalOptions, progress, nullptr, &problems);
    if (tty)
        std::fprintf(stderr, "\n");
    for (const std::string& p : problems)
        spdlog::warn("skipped: {}", p);

    std::cout << (o.intModel.empty() ? o.model.weights : o.intModel) << " (" << loaded.weightsDescription << ") on "
              << o.data << " [" << o.split << "], "
              << loaderOptions.width << "x" << loaderOptions.height << ", conf " << o.eval.confThreshold << " nms "
              << o.eval.nmsThreshold << " iou " << o.eval.iouThreshold << "\n";
    std::cout << formatEvaluationTable(result, data.classNames);
    if (!o.json.empty())
        writeFileAtomically(o.json, metricsJson(result, data.classNames).dump(2) + "\n");
}

} // namespace

void registerEvalCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<EvalCommandOptions>();
    CLI::App* cmd = app.add_subcommand("eval", "Evaluate a model on a dataset: mAP, per-class AP, IoUs");
    addModelFlags(*cmd, o->model, /*weightsRequired=*/false);
    cmd->add_option("--engine", o->engine,
                    "float: the (fake-quantized) float network; int: the integer-only network of tyq export --format int")
        ->check(CLI::IsMember({"float", "int"}))
        ->capture_default_str();
    addIntKernelFlag(*cmd, o->intKernel);
    cmd->add_option("--precision", o->precision,
                    "Float engine arithmetic: fp32, or bf16 (full-precision models: bf16 convolutions accumulating in "
                    "f32; needs AVX-512)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    cmd->add_option("--int-model", o->intModel, "Evaluate an export folder of tyq export --format int (implies --engine int)")
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--data", o->data, "Dataset .data file")->capture_default_str();
    cmd->add_option("--split", o->split, "Which list to evaluate")->check(CLI::IsMember({"val", "train"}))->capture_default_str();
    cmd->add_option("--conf", o->eval.confThreshold, "Objectness threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--nms", o->eval.nmsThreshold, "NMS IoU threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--iou", o->eval.iouThreshold, "IoU for a true positive")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--width", o->width, "Input width (default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_option("--height", o->height, "Input height (default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_option("--batch-size,-b", o->batchSize, "Images per batch")->check(CLI::Range(1, 1024))->capture_default_str();
    cmd->add_option("--json", o->json, "Write the metrics as JSON to this file");
    cmd->callback([o, &global] { run(*o, global); });
}

} // namespace tyq::cli
