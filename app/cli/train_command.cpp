// tyq train: full-precision or LSQ training into a run folder, resumable; Ctrl-C stops cleanly.
#include "cli/commands.h"

#include "cli/console_observer.h"
#include "common/error.h"
#include "train/trainer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <memory>

namespace tyq::cli {
namespace {

struct TrainCommandOptions {
    TrainOptions options;
    TrainingSources sources;
    std::string optionsFile;
    std::string out;
    std::string resume;
    std::string schedule;
    std::string actStepInit;
    bool noFlip = false;
    bool referenceKernels = false;
};

Trainer* g_activeTrainer = nullptr;
std::atomic<int> g_interrupts{0};

void onInterrupt(int)
{
    // First Ctrl-C: stop after the batch with a checkpoint. Second: leave at once.
    if (g_interrupts.fetch_add(1) >= 1)
        std::_Exit(130);
    if (g_activeTrainer)
        g_activeTrainer->requestStop();
}

std::string defaultRunName(const std::string& phase)
{
    const std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", &local);
    return "exps/" + phase + "-" + buffer;
}

void run(TrainCommandOptions o, const CLI::App& cmd, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    TrainingJob job;
    if (!o.resume.empty()) {
        job.resume = true;
        job.runDir = o.resume;
        job.resumeEpochs = cmd.count("--epochs") ? o.options.epochs : 0;
    } else {
        TrainOptions options = o.optionsFile.empty() ? TrainOptions{} : loadTrainOptions(o.optionsFile);
        // Flags given on the command line override the options file.
        auto given = [&](const char* name) { return cmd.count(name) > 0; };
        if (given("--epochs")) options.epochs = o.options.epochs;
        if (given("--batch-size")) options.batchSize = o.options.batchSize;
        if (given("--accumulate")) options.gradientAccumulation = o.options.gradientAccumulation;
        if (given("--lr")) options.learningRate = o.options.learningRate;
        if (given("--beta1")) options.beta1 = o.options.beta1;
        if (given("--beta2")) options.beta2 = o.options.beta2;
        if (given("--weight-decay")) options.weightDecay = o.options.weightDecay;
        if (given("--schedule"))
            options.schedule = o.schedule == "cosine" ? LrSchedule::cosine : o.schedule == "step" ? LrSchedule::step : LrSchedule::constant;
        if (given("--step-epochs")) options.stepEpochs = o.options.stepEpochs;
        if (given("--step-gamma")) options.stepGamma = o.options.stepGamma;
        if (given("--width")) options.inputWidth = o.options.inputWidth;
        if (given("--height")) options.inputHeight = o.options.inputHeight;
        if (given("--seed")) options.seed = o.options.seed;
        if (given("--eval-interval")) options.evalInterval = o.options.evalInterval;
        if (given("--checkpoint-interval")) options.checkpointInterval = o.options.checkpointInterval;
        if (given("--conf")) options.evalConfThreshold = o.options.evalConfThreshold;
        if (given("--nms")) options.evalNmsThreshold = o.options.evalNmsThreshold;
        if (given("--iou")) options.evalIouThreshold = o.options.evalIouThreshold;
        if (given("--no-flip")) options.flip = false;
        if (given("--color-jitter")) options.colorJitter = true;
        if (given("--multi-scale")) options.multiScale = true;
        if (given("--loader-threads")) options.loaderThreads = o.options.loaderThreads;
        if (given("--strict")) options.strictData = true;
        if (given("--act-step-init"))
            options.activationStepInit = o.actStepInit == "data" ? ActivationStepInit::data : ActivationStepInit::constant;
        if (given("--reference-kernels")) options.fastKernels = false;
        options.threads = global.threads;
        job.options = options;
        job.sources = o.sources;
        if (!job.sources.quantFile.empty() && job.sources.initWeights.empty())
            throw Error("LSQ training (--quant) starts from a full-precision checkpoint: add --from FP_CHECKPOINT");
        job.runDir = o.out.empty() ? defaultRunName(job.sources.quantFile.empty() ? "fp" : "lsq") : o.out;
        if (!std::filesystem::exists(job.sources.dataFile))
            throw Error(job.sources.dataFile.string() +
                        ": dataset not found (create the sample with: tyq gen-data --out data/sample)");
    }

    ConsoleObserver observer(global.quiet);
    Trainer trainer(job, &observer);
    g_activeTrainer = &trainer;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    const RunSummary summary = trainer.run();
    g_activeTrainer = nullptr;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (summary.outcome == RunOutcome::failed)
        setExitCode(1);
    else if (summary.outcome == RunOutcome::stopped)
        setExitCode(3);
}

} // namespace

void registerTrainCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<TrainCommandOptions>();
    o->sources.dataFile = "data/sample/dac.data";
    CLI::App* cmd = app.add_subcommand("train", "Train full precision, or LSQ from an fp checkpoint; or resume a run");
    TrainOptions& t = o->options;
    cmd->add_option("--data", o->sources.dataFile, "Dataset .data file")->capture_default_str();
    cmd->add_option("--cfg", o->sources.cfgFile, "Network cfg (default: the built-in tiny-yolo-dac.cfg)")->check(CLI::ExistingFile);
    cmd->add_option("--quant", o->sources.quantFile, "Bit-width YAML: train LSQ (needs --from)")->check(CLI::ExistingFile);
    cmd->add_option("--from", o->sources.initWeights,
                    "Initial weights: the fp checkpoint LSQ starts from (tyq checkpoint or reference .pth)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--out,-o", o->out, "Run folder (default: exps/<phase>-<date>-<time>)");
    cmd->add_option("--resume", o->resume, "Continue the run in this folder (--epochs may raise its length)")
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--options", o->optionsFile, "Options YAML (e.g. a run's options.yaml); flags override it")
        ->check(CLI::ExistingFile);
    cmd->add_option("--epochs", t.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
    cmd->add_option("--batch-size,-b", t.batchSize, "Images per batch")->check(CLI::Range(1, 4096))->capture_default_str();
    cmd->add_option("--accumulate", t.gradientAccumulation, "Batches per optimizer step")
        ->check(CLI::Range(1, 1024))->capture_default_str();
    cmd->add_option("--lr", t.learningRate, "Adam learning rate")->check(CLI::Range(1e-9, 10.0))->capture_default_str();
    cmd->add_option("--beta1", t.beta1, "Adam beta1")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
    cmd->add_option("--beta2", t.beta2, "Adam beta2")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
    cmd->add_option("--weight-decay", t.weightDecay, "Adam weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
    cmd->add_option("--schedule", o->schedule, "Learning-rate schedule")
        ->check(CLI::IsMember({"constant", "cosine", "step"}))->default_str("constant");
    cmd->add_option("--step-epochs", t.stepEpochs, "Step schedule: epochs where lr is multiplied by --step-gamma")
        ->delimiter(',');
    cmd->add_option("--step-gamma", t.stepGamma, "Step schedule factor")->check(CLI::Range(1e-6, 1.0))->capture_default_str();
    cmd->add_option("--width", t.inputWidth, "Input width (multiple of 32; default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_option("--height", t.inputHeight, "Input height (multiple of 32; default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_option("--seed", t.seed, "Seed for init, shuffling, augmentation")->capture_default_str();
    cmd->add_option("--eval-interval", t.evalInterval, "Evaluate every N epochs")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--checkpoint-interval", t.checkpointInterval, "Keep a checkpoint every N epochs")
        ->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--conf", t.evalConfThreshold, "Evaluation objectness threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--nms", t.evalNmsThreshold, "Evaluation NMS threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_option("--iou", t.evalIouThreshold, "Evaluation IoU for a true positive")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
    cmd->add_flag("--no-flip", o->noFlip, "No horizontal-flip augmentation");
    cmd->add_flag("--color-jitter", t.colorJitter, "Brightness/saturation/hue augmentation");
    cmd->add_flag("--multi-scale", t.multiScale, "Random input size per batch");
    cmd->add_option("--loader-threads", t.loaderThreads, "Image decoding threads")->check(CLI::Range(1, 64))->capture_default_str();
    cmd->add_flag("--strict", t.strictData, "Stop at the first bad label or image instead of skipping it");
    cmd->add_option("--act-step-init", o->actStepInit, "LSQ activation step init: constant (0.126) or data")
        ->check(CLI::IsMember({"constant", "data"}))->default_str("constant");
    cmd->add_flag("--reference-kernels", o->referenceKernels, "Use the straightforward reference path (NCHW, op by op, reference quantizer) for training and evaluation");
    cmd->callback([o, cmd, &global] {
        if (!o->resume.empty()) {
            for (const CLI::Option* option : cmd->get_options()) {
                const std::string name = option->get_name();
                if (option->count() > 0 && name != "--resume" && name != "--epochs" && name != "--help")
                    throw Error("--resume continues a run with its recorded settings; " + name +
                                " cannot be changed (only --epochs)");
            }
        }
        run(*o, *cmd, global);
    });
}

} // namespace tyq::cli
