// tyq detect: boxes for images, as JSON, drawn images, and raw tensors for hardware comparison;
// with --engine int, through the integer-only network (layer-by-layer codes in the dumps).
#include "cli/commands.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "hw/integer_agreement.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "infer/annotate.h"
#include "infer/detector.h"
#include "io/npy.h"
#include "model/model_loader.h"
#include "model/precision.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <set>

namespace tyq::cli {
namespace {

struct DetectCommandOptions {
    ModelFlags model;
    float conf = 0.5f;
    float nms = 0.1f;
    std::string json;
    std::string draw;
    std::string dump;
    std::string names;
    std::string engine = "float";
    std::string intModel;
    std::string intKernel = "onednn";
    std::string precision = "fp32";
    bool compare = false;
    std::vector<std::string> images;
};

std::string className(int id, const std::vector<std::string>& names)
{
    return id >= 0 && id < static_cast<int>(names.size()) ? names[static_cast<size_t>(id)] : std::to_string(id);
}

// A stem unique among the images of this run (two a.jpg from different folders get a, a_2).
std::string uniqueStem(const std::filesystem::path& image, std::set<std::string>& used)
{
    std::string stem = image.stem().string();
    std::string candidate = stem;
    for (int k = 2; used.count(candidate); ++k)
        candidate = stem + "_" + std::to_string(k);
    used.insert(candidate);
    return candidate;
}

// The integer engine's detections of one image, with its trace when dumping.
ImageDetections runIntegerEngine(const IntegerEngine& engine, const std::string& imagePath, const DetectionOptions& options,
                                 IntegerTrace* trace, at::Tensor* input)
{
    ImageDetections result;
    result.image = imagePath;
    cv::Size original;
    const NetworkSpec& spec = engine.spec();
    *input = loadNetworkInput(imagePath, spec.width, spec.height, &original).unsqueeze(0);
    result.width = original.width;
    result.height = original.height;
    IntegerRunOptions run;
    run.trace = trace;
    const at::Tensor decoded = engine.detect(*input, run)[0];
    result.detections = Detector::detectionsFromDecoded(decoded, spec.numClasses(), options);
    scaleDetections(result.detections, static_cast<float>(original.width) / spec.width,
                    static_cast<float>(original.height) / spec.height);
    result.decoded = decoded;
    return result;
}

void run(const DetectCommandOptions& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    const bool integer = o.engine == "int" || !o.intModel.empty();
    if (o.model.weights.empty() && o.intModel.empty())
        throw Error("detect: give the model with --weights (or, for the integer engine, an export folder with --int-model)");
    if (!o.intModel.empty() && (!o.model.weights.empty() || !o.model.cfg.empty() || !o.model.quant.empty()))
        throw Error("detect: --int-model names the whole model; drop --weights, --cfg and --quant");
    if (o.compare && !integer)
        throw Error("detect: --compare compares the integer engine with the fake-quantized model: add --engine int");
    const Precision precision = parsePrecision(o.precision);
    if (integer && precision != Precision::fp32)
        throw Error("detect: --precision is for the float engine; the integer engine computes exactly in integers");
    if (!o.dump.empty() && precision != Precision::fp32)
        throw Error("detect: --dump writes the fp32 reference forward's layers; drop --precision bf16");

    // The float (fake-quantized) network, and the integer model exported from it in memory or
    // read from an export folder (the float network then rebuilt from it, for --compare).
    YoloNetwork network{nullptr};
    std::optional<IntegerEngine> engine;
    if (!o.intModel.empty()) {
        IntegerModel model = readIntegerModel(o.intModel);
        if (o.compare)
            network = networkFromIntegerModel(model);
        engine.emplace(std::move(model), kernelOf(o.intKernel));
    } else {
        LoadedModel loaded = loadModel(o.model.source());
        for (const std::string& w : loaded.warnings)
            spdlog::warn("{}", w);
        network = loaded.network;
        if (integer)
            engine.emplace(exportIntegerModel(*network, o.model.weights), kernelOf(o.intKernel));
    }
    if (engine)
        spdlog::info("integer engine: {}", engine->kernelDescription());
    const std::vector<std::string> names = o.names.empty() ? dacClassNames() : loadClassNames(o.names);
    std::optional<Detector> detector;
    if (!integer)
        detector.emplace(network, 0, 0, true, precision);
    AgreementReport agreement;

    DetectionOptions options;
    options.confThreshold = o.conf;
    options.nmsThreshold = o.nms;
    options.keepDecoded = !o.dump.empty();
    options.keepLayers = !o.dump.empty();

    nlohmann::json results = nlohmann::json::array();
    std::set<std::string> stems;
    int failures = 0;
    for (const std::string& imagePath : o.images) {
        ImageDetections r;
        IntegerTrace trace;
        at::Tensor input;
        try {
            if (integer) {
                r = runIntegerEngine(*engine, imagePath, options, o.dump.empty() ? nullptr : &trace, &input);
                if (o.compare) {
                    const ImageAgreement a = compareWithFakeQuant(*network, *engine, input, options, imagePath);
                    agreement.add(a);
                    spdlog::info("{}: {} detection(s) fake-quant, {} integer, {}", imagePath, a.fakeDetections,
                                 a.integerDetections, a.detectionsIdentical ? "identical" : "DIFFERENT");
                }
            } else {
                r = detector->run(imagePath, options);
            }
        } catch (const Error& e) {
            spdlog::error("{}", e.what());
            ++failures;
            continue;
        }
        const std::string stem = uniqueStem(imagePath, stems);
        nlohmann::json dets = nlohmann::json::array();
        for (const Detection& d : r.detections) {
            dets.push_back({{"class_id", d.classId},
                            {"class_name", className(d.classId, names)},
                            {"objectness", d.objectness},
                            {"class_score", d.classScore},
                            {"score", d.objectness * d.classScore},
                            {"box", {d.x1, d.y1, d.x2, d.y2}}});
        }
        results.push_back({{"image", imagePath}, {"width", r.width}, {"height", r.height}, {"detections", dets}});

        if (o.json.empty()) {
            std::cout << imagePath << ": " << r.detections.size() << " detection(s)\n";
            for (const Detection& d : r.detections)
                std::cout << fmt::format("  {:<12} obj {:.3f} cls {:.3f}  box [{:.1f}, {:.1f}, {:.1f}, {:.1f}]\n",
                                         className(d.classId, names), d.objectness, d.classScore, d.x1, d.y1, d.x2, d.y2);
        }
        if (!o.draw.empty()) {
            const cv::Mat drawn = drawDetections(loadImageRgb(imagePath), r.detections, names);
            cv::Mat bgr;
            cv::cvtColor(drawn, bgr, cv::COLOR_RGB2BGR);
            std::vector<uchar> jpeg;
            cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 92});
            writeFileAtomically(std::filesystem::path(o.draw) / (stem + ".jpg"),
                                std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()));
        }
        if (!o.dump.empty()) {
            const std::filesystem::path dir = std::filesystem::path(o.dump) / stem;
            writeNpy(r.decoded, dir / "output.npy");
            writeNpy(integer ? input[0] : r.input, dir / "input.npy");
            for (size_t i = 0; i < r.layerOutputs.size(); ++i)
                if (r.layerOutputs[i].defined())
                    writeNpy(r.layerOutputs[i], dir / fmt::format("layer_{}.npy", i));
            if (integer)
                for (const auto& [name, tensor] : traceTensors(engine->model(), trace))
                    writeNpy(tensor, dir / (name + ".npy"));
        }
    }
    if (!o.json.empty()) {
        const std::string text = results.dump(2) + "\n";
        if (o.json == "-")
            std::cout << text;
        else
            writeFileAtomically(o.json, text);
    }
    if (o.compare && !agreement.images.empty())
        std::cout << "integer engine vs fake-quantized model, input codes of each conv:\n" << agreement.format();
    if (failures > 0) {
        spdlog::error("{} of {} image(s) could not be read", failures, o.images.size());
        setExitCode(2);
    }
}

} // namespace

void registerDetectCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<DetectCommandOptions>();
    CLI::App* cmd = app.add_subcommand("detect", "Detect objects in images");
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
    cmd->add_option("--int-model", o->intModel, "Run an export folder of tyq export --format int (implies --engine int)")
        ->check(CLI::ExistingDirectory);
    cmd->add_flag("--compare", o->compare,
                  "With --engine int: also run the fake-quantized model and report identical codes per layer");
    cmd->add_option("--conf", o->conf, "Objectness threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--nms", o->nms, "NMS IoU threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--json", o->json, "Write detections as JSON to this file ('-' = standard output)");
    cmd->add_option("--draw", o->draw, "Write annotated images into this folder");
    cmd->add_option("--dump", o->dump,
                    "Write DIR/<image>/output.npy (decoded predictions), input.npy (the network input) and layer_<i>.npy (every layer's output); "
                    "with --engine int, layer_<i>_in/_acc/_out_to_<j>/_out.npy (codes, int32 accumulators, floats)");
    cmd->add_option("--names", o->names, "Class names file (default: the DAC names)")->check(CLI::ExistingFile);
    cmd->add_option("images", o->images, "Image files")->required()->check(CLI::ExistingFile);
    cmd->callback([o, &global] { run(*o, global); });
}

} // namespace tyq::cli
