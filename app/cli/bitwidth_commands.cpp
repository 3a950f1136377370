// Choosing bit-widths from the command line, over one post-training preview of an fp model:
//   tyq ptq          quantize without training, evaluate, write a checkpoint LSQ can start from
//   tyq sensitivity  per-layer accuracy drop of each quantizer at each candidate bit-width
//   tyq search       the per-layer bits that lose least within a size / bit-operation budget
#include "cli/commands.h"

#include "bitwidth/bit_search.h"
#include "bitwidth/post_training.h"
#include "bitwidth/sensitivity.h"
#include "common/atomic_file.h"
#include "common/embedded_config.h"
#include "common/error.h"
#include "model/model_loader.h"
#include "model/network_summary.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <unistd.h>

namespace tyq::cli {
namespace {

using Clock = std::chrono::steady_clock;

/// The flags every bit-width command shares: the fp model, the data, the preview's sizes.
struct PreviewFlags {
    ModelFlags model;
    std::string data = "data/sample/dac.data";
    std::string quant; ///< bit-widths (ptq) or the quantizer flags to keep (sensitivity, search)
    int calib = 32;
    int val = 64;
    std::string calibrator = "mse";
    int width = 0, height = 0;
};

void addPreviewFlags(CLI::App& cmd, PreviewFlags& f, const std::string& quantHelp)
{
    cmd.add_option("--weights,-w", f.model.weights, "Full-precision weights (a tyq fp checkpoint or a reference .pth)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd.add_option("--cfg", f.model.cfg, "Network cfg (default: the checkpoint's, else the built-in one)")->check(CLI::ExistingFile);
    cmd.add_option("--quant", f.quant, quantHelp)->check(CLI::ExistingFile);
    cmd.add_option("--data", f.data, "Dataset .data file (calibration from train, evaluation on val)")->capture_default_str();
    cmd.add_option("--calib", f.calib, "Calibration images (the first N of the train split)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd.add_option("--val", f.val, "Validation images evaluated (the first N of the val split; 0 = all)")
        ->check(CLI::Range(0, 1000000))
        ->capture_default_str();
    cmd.add_option("--calibrator", f.calibrator,
                   "Activation step calibration: mse (minimum squared error) or lsq (LSQ's data-driven init)")
        ->check(CLI::IsMember({"mse", "lsq"}))
        ->capture_default_str();
    cmd.add_option("--width", f.width, "Input width (default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd.add_option("--height", f.height, "Input height (default: the cfg's)")->check(CLI::Range(32, 8192));
}

QuantConfig bitWidthsOf(const PreviewFlags& f)
{
    return f.quant.empty() ? defaultQuantConfig() : loadQuantConfig(f.quant);
}

std::unique_ptr<PostTrainingPreview> makePreview(const PreviewFlags& f)
{
    if (!std::filesystem::exists(f.data))
        throw Error(f.data + ": dataset not found (create the sample with: tyq gen-data --out data/sample)");
    PreviewOptions options;
    options.calibrationImages = f.calib;
    options.validationImages = f.val;
    options.calibration = parseStepCalibration(f.calibrator);
    options.width = f.width;
    options.height = f.height;
    std::vector<std::string> warnings;
    std::unique_ptr<PostTrainingPreview> preview = openPostTrainingPreview(f.model.source(), f.data, options, &warnings);
    for (const std::string& w : warnings)
        spdlog::warn("{}", w);
    return preview;
}

bool stderrIsTerminal(const GlobalOptions& global)
{
    return ::isatty(STDERR_FILENO) && !global.quiet;
}

// ---- tyq ptq ----

struct PtqFlags {
    PreviewFlags preview;
    std::string out;
    std::string json;
};

void runPtq(const PtqFlags& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    const QuantConfig config = bitWidthsOf(o.preview);
    const Clock::time_point start = Clock::now();
    std::unique_ptr<PostTrainingPreview> preview = makePreview(o.preview);
    const double setup = std::chrono::duration<double>(Clock::now() - start).count();
    const EvaluationResult fp = preview->evaluateFullPrecision();
    PreviewResult r = preview->run(config);
    for (const std::string& w : r.warnings)
        spdlog::warn("{}", w);
    std::cout << fmt::format("post-training quantization of {} ({} calibration, {} val images, {} calibration)\n",
                             o.preview.model.weights, preview->calibrationImages().size(0), preview->validationCount(),
                             o.preview.calibrator);
    std::cout << fmt::format("  fp:  mAP {:.4f}  contest IoU {:.4f}\n", fp.mAP, fp.contestIoU);
    std::cout << fmt::format("  ptq: mAP {:.4f}  contest IoU {:.4f}\n", r.metrics.mAP, r.metrics.contestIoU);
    std::cout << fmt::format("  reading images {:.2f} s, quantize + calibrate {:.2f} s, evaluate {:.2f} s\n", setup,
                             r.calibrationSeconds, r.evaluationSeconds);
    if (!o.out.empty()) {
        savePostTrainingCheckpoint(r, o.out);
        std::cout << "wrote " << o.out << " (LSQ training can start from it: tyq train --quant ... --from " << o.out << ")\n";
    }
    if (!o.json.empty())
        writeFileAtomically(o.json, nlohmann::json{{"fp", {{"map", fp.mAP}, {"contest_iou", fp.contestIoU}}},
                                                   {"ptq", {{"map", r.metrics.mAP}, {"contest_iou", r.metrics.contestIoU}}},
                                                   {"calibration_seconds", r.calibrationSeconds},
                                                   {"evaluation_seconds", r.evaluationSeconds}}
                                            .dump(2) + "\n");
}

// ---- tyq sensitivity ----

struct SensitivityFlags {
    PreviewFlags preview;
    std::vector<int> bits = {2, 3, 4, 8};
    bool proxyOnly = false;
    int hessianSamples = SensitivityOptions{}.hessianSamples;
    std::string json;
};

nlohmann::json sensitivityJson(const SensitivityTable& t)
{
    nlohmann::json entries = nlohmann::json::array();
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    for (const SensitivityEntry& e : t.entries)
        entries.push_back({{"module", e.module}, {"quantizer", e.weight ? "weight" : "act"}, {"bits", e.bits},
                           {"map", number(e.map)}, {"map_drop", number(e.mapDrop)}, {"contest_iou", number(e.contestIoU)},
                           {"contest_iou_drop", number(e.contestIoUDrop)}, {"output_error", e.outputError},
                           {"hessian_proxy", number(e.hessianProxy)}});
    return {{"fp_map", t.fpMap},
            {"fp_contest_iou", t.fpContestIoU},
            {"entries", entries},
            {"proxy_rank_correlation", number(t.proxyRankCorrelation)},
            {"hessian_rank_correlation", number(t.hessianRankCorrelation)}};
}

void runSensitivity(const SensitivityFlags& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    const QuantConfig base = bitWidthsOf(o.preview);
    std::unique_ptr<PostTrainingPreview> preview = makePreview(o.preview);
    SensitivityOptions options;
    options.bits = o.bits;
    options.measure = !o.proxyOnly;
    options.hessianSamples = o.hessianSamples;
    const bool tty = stderrIsTerminal(global);
    const Clock::time_point start = Clock::now();
    const SensitivityTable t = measureSensitivity(*preview, base, options, [&](int done, int total, const std::string& what) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        const double eta = done > 0 ? elapsed / done * (total - done) : 0;
        if (tty)
            std::fprintf(stderr, "\rsensitivity: %d/%d %-48s ETA %.0f s   ", done, total, what.c_str(), eta);
        else if (!global.quiet)
            std::fprintf(stderr, "sensitivity: %d/%d %s\n", done, total, what.c_str());
        return true;
    });
    if (tty)
        std::fprintf(stderr, "\n");
    std::cout << fmt::format("fp: mAP {:.4f}  contest IoU {:.4f} on {} val images\n", t.fpMap, t.fpContestIoU,
                             preview->validationCount());
    std::cout << fmt::format("{:<24} {:<6} {:>4} {:>9} {:>9} {:>12} {:>12}\n", "module", "quant", "bits", "mAP", "drop",
                             "output err", "hessian");
    for (const SensitivityEntry& e : t.entries)
        std::cout << fmt::format("{:<24} {:<6} {:>4} {:>9.4f} {:>9.4f} {:>12.5f} {:>12.4g}\n", e.module,
                                 e.weight ? "weight" : "act", e.bits, e.map, e.mapDrop, e.outputError, e.hessianProxy);
    if (!o.proxyOnly) {
        std::cout << fmt::format("Spearman rank correlation with the measured mAP drop: output error {:.3f}, "
                                 "Hessian trace {:.3f}\n",
                                 t.proxyRankCorrelation, t.hessianRankCorrelation);
        std::cout << fmt::format("the better proxy here: {}\n", t.hessianRanksBetter() ? "Hessian trace" : "output error");
    }
    std::cout << fmt::format("took {:.1f} s\n", std::chrono::duration<double>(Clock::now() - start).count());
    if (!o.json.empty())
        writeFileAtomically(o.json, sensitivityJson(t).dump(2) + "\n");
}

// ---- tyq search ----

struct SearchFlags {
    PreviewFlags preview;
    std::vector<int> bits = {2, 3, 4, 8};
    std::string budgetSize;
    double budgetBops = 0; ///< G bit-operations
    std::string sensitivityJson;
    std::string out;
    bool measure = false;
    bool front = false;
};

/// A number a table may lack or hold as null (written by an older tyq, or not measured): NaN then.
double optionalNumber(const nlohmann::json& j, const char* key)
{
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? NAN : it->get<double>();
}

/// "300KB", "1.5MiB", "2400000" (bytes) -> bits.
int64_t parseSize(const std::string& text)
{
    static const std::regex pattern(R"(^\s*([0-9]*\.?[0-9]+)\s*(B|KB|K|KIB|MB|M|MIB)?\s*$)", std::regex::icase);
    std::smatch m;
    if (!std::regex_match(text, m, pattern))
        throw Error("--budget-size '" + text + "': give bytes with an optional unit, e.g. 300KB or 1.5MiB");
    std::string unit = m[2].str();
    for (char& c : unit)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const double value = std::stod(m[1].str());
    const double bytes = unit == "KB" || unit == "K" ? value * 1000
                         : unit == "KIB"             ? value * 1024
                         : unit == "MB" || unit == "M" ? value * 1e6
                         : unit == "MIB"             ? value * 1024 * 1024
                                                     : value;
    return static_cast<int64_t>(bytes * 8);
}

SensitivityTable readSensitivityJson(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw Error(path + ": cannot read the sensitivity table");
    SensitivityTable t;
    try {
        const nlohmann::json j = nlohmann::json::parse(in);
        t.fpMap = j.at("fp_map").get<double>();
        t.proxyRankCorrelation = optionalNumber(j, "proxy_rank_correlation");
        t.hessianRankCorrelation = optionalNumber(j, "hessian_rank_correlation");
        for (const auto& e : j.at("entries")) {
            SensitivityEntry s;
            s.module = e.at("module").get<std::string>();
            s.weight = e.at("quantizer").get<std::string>() == "weight";
            s.bits = e.at("bits").get<int>();
            s.mapDrop = e.at("map_drop").is_null() ? NAN : e.at("map_drop").get<double>();
            s.outputError = e.at("output_error").get<double>();
            s.hessianProxy = optionalNumber(e, "hessian_proxy");
            t.entries.push_back(s);
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not a tyq sensitivity table (" + e.what() + ")");
    }
    return t;
}

/// The size / predicted-mAP Pareto front from 2 to 8 average weight bits, each point measured
/// by the preview when `preview` is given (opened on first use).
void printFront(const NetworkSpec& spec, const QuantConfig& base, const std::vector<std::vector<LayerOption>>& layers,
                const SensitivityTable& table, std::unique_ptr<PostTrainingPreview>* preview, const PreviewFlags& flags)
{
    const Clock::time_point start = Clock::now();
    const std::vector<SearchPoint> front = paretoFront(layers);
    std::cout << fmt::format("Pareto front ({} points, {:.3f} s); those from 2 to 8 average weight bits:\n", front.size(),
                             std::chrono::duration<double>(Clock::now() - start).count());
    std::cout << fmt::format("{:>9} {:>10} {:>10} {:>10} {:>10}\n", "avg bits", "size KB", "G bit-ops", "predicted",
                             preview ? "measured" : "");
    for (const SearchPoint& p : front) {
        const QuantConfig config = configForChoice(spec, base, layers, p.choice);
        const NetworkSummary summary = summarizeNetwork(spec, &config);
        const double bits = summary.averageWeightBits();
        if (bits < 2 || bits > 8)
            continue;
        std::string measured;
        if (preview) {
            if (!*preview)
                *preview = makePreview(flags);
            measured = fmt::format("{:.4f}", (*preview)->run(config).metrics.mAP);
        }
        std::cout << fmt::format("{:>9.2f} {:>10.1f} {:>10.3f} {:>10.4f} {:>10}\n", bits, summary.sizeBitsQuantized / 8000.0,
                                 summary.bitOps / 1e9, table.fpMap - p.drop, measured);
    }
}

void runSearch(const SearchFlags& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    if (o.budgetSize.empty() && o.budgetBops <= 0 && !o.front)
        throw Error("search: give a budget, --budget-size (e.g. 300KB) and/or --budget-bops (G bit-operations), "
                    "or ask for the --front");
    const QuantConfig base = bitWidthsOf(o.preview);
    SearchBudget budget;
    if (!o.budgetSize.empty())
        budget.sizeBits = parseSize(o.budgetSize);
    if (o.budgetBops > 0)
        budget.bitOps = static_cast<int64_t>(o.budgetBops * 1e9);

    std::unique_ptr<PostTrainingPreview> preview;
    SensitivityTable table;
    const Clock::time_point start = Clock::now();
    if (!o.sensitivityJson.empty()) {
        table = readSensitivityJson(o.sensitivityJson);
    } else {
        preview = makePreview(o.preview);
        SensitivityOptions options;
        options.bits = o.bits;
        const bool tty = stderrIsTerminal(global);
        table = measureSensitivity(*preview, base, options, [&](int done, int total, const std::string& what) {
            if (tty)
                std::fprintf(stderr, "\rsensitivity: %d/%d %-48s", done, total, what.c_str());
            return true;
        });
        if (tty)
            std::fprintf(stderr, "\n");
    }
    const double sensitivitySeconds = std::chrono::duration<double>(Clock::now() - start).count();
    const NetworkSpec spec = preview ? preview->fullPrecision().spec() : loadModel(o.preview.model.source()).network->spec();
    std::vector<int> candidates = o.bits;
    candidates.insert(candidates.begin(), 0); // full precision is always a choice
    const auto layers = layerOptions(spec, base, table, candidates, candidates);
    if (o.front) {
        printFront(spec, base, layers, table, o.measure ? &preview : nullptr, o.preview);
        if (o.budgetSize.empty() && o.budgetBops <= 0)
            return;
    }
    const Clock::time_point searchStart = Clock::now();
    const std::optional<SearchPoint> best = searchBitWidths(layers, budget);
    const double searchSeconds = std::chrono::duration<double>(Clock::now() - searchStart).count();
    if (!best)
        throw Error("search: no choice of bit-widths fits the budget (the smallest model of these candidates is larger)");
    const QuantConfig chosen = configForChoice(spec, base, layers, best->choice);
    const NetworkSummary summary = summarizeNetwork(spec, &chosen);
    std::cout << fmt::format("chosen: {:.1f} KB, {:.3f} G bit-operations, predicted mAP drop {:.4f} (fp mAP {:.4f})\n",
                             summary.sizeBitsQuantized / 8000.0, summary.bitOps / 1e9, best->drop, table.fpMap);
    const std::vector<int> convs = spec.convIndices();
    for (size_t i = 0; i < convs.size(); ++i) {
        const LayerOption& l = layers[i][static_cast<size_t>(best->choice[i])];
        std::cout << fmt::format("  {:<24} W {:>4}  A {:>4}\n", convModuleName(convs[i]),
                                 l.weightBits ? std::to_string(l.weightBits) : "fp", l.actBits ? std::to_string(l.actBits) : "fp");
    }
    std::cout << fmt::format("sensitivity {:.1f} s, search {:.3f} s\n", sensitivitySeconds, searchSeconds);
    if (o.measure) {
        if (!preview)
            preview = makePreview(o.preview);
        const PreviewResult r = preview->run(chosen);
        std::cout << fmt::format("measured (PTQ): mAP {:.4f}  contest IoU {:.4f}\n", r.metrics.mAP, r.metrics.contestIoU);
    }
    if (!o.out.empty()) {
        saveQuantConfig(chosen, o.out);
        std::cout << "wrote " << o.out << "\n";
    }
}

} // namespace

void registerBitWidthCommands(CLI::App& app, const GlobalOptions& global)
{
    {
        auto o = std::make_shared<PtqFlags>();
        CLI::App* cmd = app.add_subcommand("ptq", "Post-training quantization: quantize fp weights without training, "
                                                  "calibrate, evaluate, and write a checkpoint LSQ can start from");
        addPreviewFlags(*cmd, o->preview, "Bit-widths (default: the built-in 3-bit lsq-3bit.yaml)");
        cmd->add_option("--out,-o", o->out, "Write the quantized model as a tyq checkpoint (tyq train --from)");
        cmd->add_option("--json", o->json, "Write the metrics and times as JSON");
        cmd->callback([o, &global] { runPtq(*o, global); });
    }
    {
        auto o = std::make_shared<SensitivityFlags>();
        CLI::App* cmd = app.add_subcommand("sensitivity", "Per-layer sensitivity: the mAP drop of each conv's weights and "
                                                          "input activations alone at each bit-width, and a cheap proxy");
        addPreviewFlags(*cmd, o->preview, "Quantizer flags to keep (symmetric, per-channel...; default: lsq-3bit.yaml)");
        cmd->add_option("--bits", o->bits, "Candidate bit-widths")->delimiter(',')->check(CLI::Range(1, 16))->capture_default_str();
        cmd->add_flag("--proxy-only", o->proxyOnly, "Only the proxies (no evaluation per candidate)");
        cmd->add_option("--hessian-samples", o->hessianSamples,
                        "Rademacher vectors of the Hessian-trace proxy (HAWQ; 0: output-error proxy only)")
            ->check(CLI::Range(0, 1000))
            ->capture_default_str();
        cmd->add_option("--json", o->json, "Write the table as JSON (tyq search --sensitivity reads it)");
        cmd->callback([o, &global] { runSensitivity(*o, global); });
    }
    {
        auto o = std::make_shared<SearchFlags>();
        CLI::App* cmd = app.add_subcommand("search", "Mixed precision: the per-layer bits with the least predicted mAP "
                                                     "drop within a model-size and/or bit-operation budget (exact)");
        addPreviewFlags(*cmd, o->preview, "Quantizer flags to keep (default: lsq-3bit.yaml)");
        cmd->add_option("--bits", o->bits, "Candidate bit-widths (full precision is always one)")
            ->delimiter(',')
            ->check(CLI::Range(1, 16))
            ->capture_default_str();
        cmd->add_option("--budget-size", o->budgetSize, "Largest model size: bytes, or with KB, KiB, MB, MiB");
        cmd->add_option("--budget-bops", o->budgetBops, "Most bit-operations per image, in G")->check(CLI::PositiveNumber);
        cmd->add_option("--sensitivity", o->sensitivityJson, "Use this table from tyq sensitivity --json instead of measuring")
            ->check(CLI::ExistingFile);
        cmd->add_flag("--measure", o->measure,
                      "Also evaluate the chosen bit-widths (and the --front's points) with the post-training preview");
        cmd->add_flag("--front", o->front, "Print the size / predicted-mAP Pareto front from 2 to 8 average weight bits");
        cmd->add_option("--out,-o", o->out, "Write the chosen bit-widths (reference YAML: quan_default + excepts)");
        cmd->callback([o, &global] { runSearch(*o, global); });
    }
}

} // namespace tyq::cli
