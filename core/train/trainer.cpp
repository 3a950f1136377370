#include "train/trainer.h"

#include "common/compute_threads.h"
#include "common/error.h"
#include "common/text.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "infer/dataset_evaluation.h"
#include "io/checkpoint.h"
#include "io/state_dict.h"
#include "io/weights_file.h"
#include "model/model_loader.h"
#include "model/weight_check.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"
#include "train/run_folder.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adam.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <set>

namespace tyq {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Reports to the observer (if any) and mirrors log lines into the run's train.log.
class Reporter {
public:
    explicit Reporter(TrainingObserver* observer) : observer_(observer) {}
    void setFolder(RunFolder* folder) { folder_ = folder; }
    TrainingObserver* observer() const { return observer_; }

    void log(LogLevel level, const std::string& message)
    {
        if (folder_) {
            try {
                folder_->appendLog((level == LogLevel::error ? "error: " : level == LogLevel::warning ? "warning: " : "") +
                                   message);
            } catch (const Error&) {
                // The log is secondary: a failing disk is reported by the run files that matter.
            }
        }
        if (observer_)
            observer_->log(level, message);
    }

private:
    TrainingObserver* observer_;
    RunFolder* folder_ = nullptr;
};

struct Position {
    int64_t epoch = 0;        // epochs completed
    int64_t batchInEpoch = 0; // batches of the current epoch done
    int64_t globalBatch = 0;  // batches done since the run began
};

struct BestSoFar {
    double map = -1;
    double iou = -1;
    double contestIoU = -1;
    int64_t epoch = 0;
    double lastMap = -1;

    nlohmann::json toJson() const
    {
        return {{"best_map", map}, {"best_iou", iou}, {"best_contest_iou", contestIoU}, {"best_epoch", epoch},
                {"last_map", lastMap}};
    }
    static BestSoFar fromJson(const std::string& text)
    {
        BestSoFar b;
        if (text.empty())
            return b;
        try {
            const nlohmann::json j = nlohmann::json::parse(text);
            b.map = j.value("best_map", -1.0);
            b.iou = j.value("best_iou", -1.0);
            b.contestIoU = j.value("best_contest_iou", -1.0);
            b.epoch = j.value("best_epoch", int64_t(0));
            b.lastMap = j.value("last_map", -1.0);
        } catch (const nlohmann::json::exception&) {
        }
        return b;
    }
};

// Name of the first parameter holding NaN/Inf, or empty.
std::string firstNonFiniteParameter(const torch::nn::Module& module)
{
    for (const auto& p : module.named_parameters())
        if (!at::isfinite(p.value()).all().item<bool>())
            return p.key();
    return {};
}

// On the failure path only: reruns the batch's forward pass keeping every layer's output and
// names the first layer whose output holds NaN/Inf ("layer 5 (convolutional)"), or empty.
std::string firstNonFiniteLayer(YoloNetworkImpl& network, const at::Tensor& images)
{
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> outputs;
    try {
        network.forward(images, &outputs);
    } catch (const c10::Error&) {
        return {};
    }
    const NetworkSpec& spec = network.spec();
    for (size_t i = 0; i < outputs.size() && i < spec.layers.size(); ++i) {
        if (!outputs[i].defined() || !outputs[i].is_floating_point() || at::isfinite(outputs[i]).all().item<bool>())
            continue;
        const LayerSpec& layer = spec.layers[i];
        return fmt::format("layer {} ({}{}, cfg line {})", i, layer.typeName(),
                           layer.isConv() ? ", " + convModuleName(layer.index) : std::string(), layer.line);
    }
    return {};
}

// Names the culprit of a divergence: a parameter that is already bad, else the first layer
// whose output overflowed on this batch, else the loss computation itself.
std::string divergenceCulprit(YoloNetworkImpl& network, const at::Tensor& images)
{
    if (const std::string parameter = firstNonFiniteParameter(network); !parameter.empty())
        return "first non-finite parameter: " + parameter;
    const std::string layer = firstNonFiniteLayer(network, images);
    return layer.empty() ? "every layer's output is finite; the loss computation overflowed"
                         : "first non-finite output: " + layer;
}

std::vector<StepSize> stepSizesOf(const YoloNetworkImpl& network)
{
    std::vector<StepSize> out;
    for (const auto& [name, q] : network.quantizers())
        if (q->spec().enabled())
            out.push_back({name, q->s.detach().mean().item<double>()});
    return out;
}

StateDict optimizerState(torch::optim::Adam& optimizer, const YoloNetworkImpl& network)
{
    StateDict out;
    auto& state = optimizer.state();
    for (const auto& p : network.named_parameters()) {
        auto it = state.find(c10::guts::to_string(p.value().unsafeGetTensorImpl()));
        if (it == state.end())
            continue;
        const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
        out.emplace_back(p.key() + ".exp_avg", s.exp_avg());
        out.emplace_back(p.key() + ".exp_avg_sq", s.exp_avg_sq());
        out.emplace_back(p.key() + ".step", at::full({}, s.step(), at::kLong));
    }
    return out;
}

void restoreOptimizerState(torch::optim::Adam& optimizer, const YoloNetworkImpl& network, const StateDict& saved,
                           const std::string& source)
{
    std::map<std::string, at::Tensor> byName(saved.begin(), saved.end());
    auto& state = optimizer.state();
    for (const auto& p : network.named_parameters()) {
        auto avg = byName.find(p.key() + ".exp_avg");
        auto sq = byName.find(p.key() + ".exp_avg_sq");
        auto step = byName.find(p.key() + ".step");
        if (avg == byName.end() || sq == byName.end() || step == byName.end())
            continue; // never stepped (e.g. resumed before the first optimizer step)
        if (avg->second.sizes() != p.value().sizes() || sq->second.sizes() != p.value().sizes())
            throw Error(source + ": optimizer state of " + p.key() + " has the wrong shape");
        // Adam divides by sqrt(exp_avg_sq): one bad moment turns its parameter into NaN at the first step.
        for (const auto* entry : {&*avg, &*sq})
            if (const std::string summary = nonFiniteSummary(entry->second); !summary.empty())
                throw Error(source + ": optimizer state " + entry->first + ": " + summary + ", refused");
        if (!(sq->second >= 0).all().item<bool>())
            throw Error(source + ": optimizer state " + sq->first + ": a negative second moment, refused");
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(step->second.item<int64_t>());
        s->exp_avg(avg->second.clone());
        s->exp_avg_sq(sq->second.clone());
        state[c10::guts::to_string(p.value().unsafeGetTensorImpl())] = std::move(s);
    }
}

StateDict pendingGradients(const YoloNetworkImpl& network)
{
    StateDict out;
    for (const auto& p : network.named_parameters())
        if (p.value().grad().defined())
            out.emplace_back(p.key(), p.value().grad().detach().clone());
    return out;
}

// LSQ's data-driven initialization of activation step sizes: s = 2 mean|x| / sqrt(Qp) of each
// quantized conv's input on one batch, layer by layer (each measured after the ones before it).
void initActivationStepsFromData(YoloNetworkImpl& network, const at::Tensor& images)
{
    at::NoGradGuard noGrad;
    for (auto& c : network.convLayers())
        if (c.conv->quanA && c.conv->quanA->spec().enabled())
            c.conv->calibrateActivationStep = true;
    const bool wasTraining = network.is_training();
    network.eval();
    network.forward(images);
    if (wasTraining)
        network.train();
}

} // namespace

Trainer::Trainer(TrainingJob job, TrainingObserver* observer) : job_(std::move(job)), observer_(observer) {}

RunSummary Trainer::run()
{
    Reporter reporter(observer_);
    RunSummary summary;
    summary.runDir = job_.runDir;
    std::unique_ptr<RunFolder> folder;
    RunStatus status;
    BestSoFar best;

    auto finishFailed = [&](const std::string& message) {
        summary.outcome = RunOutcome::failed;
        summary.message = message;
        summary.bestMap = best.map;
        summary.bestEpoch = best.epoch;
        reporter.log(LogLevel::error, message);
        if (folder) {
            status.state = "failed";
            status.message = message;
            status.updated = nowIso8601();
            try {
                folder->writeStatus(status);
            } catch (const Error&) {
            }
        }
        if (observer_)
            observer_->runFailed(summary);
        return summary;
    };

    try {
        folder = std::make_unique<RunFolder>(job_.runDir, job_.resume);
        reporter.setFolder(folder.get());

        // --- What to train: options, sources, network, weights --------------------------------
        TrainOptions options = job_.options;
        TrainingSources sources = job_.sources;
        std::optional<TrainingCheckpoint> resumeFrom;
        if (job_.resume) {
            options = loadTrainOptions(folder->dir() / "options.yaml", &sources);
            if (job_.resumeEpochs > 0)
                options.epochs = job_.resumeEpochs;
            if (!std::filesystem::exists(folder->lastCheckpoint()))
                fail(folder->dir(), "has no checkpoint to resume from (checkpoints/last.ckpt)");
            resumeFrom = loadCheckpoint(folder->lastCheckpoint());
            status = readRunStatus(folder->dir());
        }
        validateTrainOptions(options);
        const int threads = configureComputeThreads(options.threads);
        if (!resumeFrom)
            at::manual_seed(options.seed);

        NetworkSpec spec = resumeFrom ? parseDarknetCfgText(resumeFrom->cfgText, folder->lastCheckpoint().string() + " (cfg)")
                           : sources.cfgFile.empty() ? defaultNetworkSpec()
                                                     : loadDarknetCfg(sources.cfgFile);
        std::optional<QuantConfig> quant;
        if (resumeFrom && !resumeFrom->quantYaml.empty())
            quant = parseQuantConfigYaml(resumeFrom->quantYaml, folder->lastCheckpoint().string() + " (bit-widths)");
        else if (!resumeFrom && !sources.quantFile.empty())
            quant = loadQuantConfig(sources.quantFile);
        const std::string phase = quant ? "lsq" : "fp";
        if (!resumeFrom && quant && sources.initWeights.empty())
            throw Error("LSQ training starts from a full-precision checkpoint: give it with --from (a tyq fp run's "
                        "checkpoints/best.ckpt, or a reference .pth)");

        const int width = options.inputWidth > 0 ? options.inputWidth : spec.width;
        const int height = options.inputHeight > 0 ? options.inputHeight : spec.height;
        const int multiple = spec.requiredInputMultiple();
        if (width % multiple != 0 || height % multiple != 0)
            throw Error(fmt::format("input size {}x{} is not a multiple of {} (the network's downsampling)", width, height,
                                    multiple));

        YoloNetwork network(spec);
        std::vector<std::string> warnings;
        if (resumeFrom) {
            if (quant)
                warnings = network->quantize(*quant);
            applyWeights(*network, resumeFrom->model, folder->lastCheckpoint().string());
        } else if (!sources.initWeights.empty()) {
            const WeightsFile file = readWeightsFile(sources.initWeights);
            const bool fileQuantized = file.quantized();
            if (fileQuantized && !quant)
                fail(sources.initWeights, "is an LSQ-quantized model; full-precision training needs fp weights");
            if (quant && fileQuantized)
                warnings = network->quantize(*quant); // continue LSQ from LSQ weights
            applyWeights(*network, file.state, sources.initWeights.string());
            if (quant && !fileQuantized)
                warnings = network->quantize(*quant); // weight step sizes from the loaded weights
        } else {
            network->initializeLikeReference();
        }
        for (const std::string& w : warnings)
            reporter.log(LogLevel::warning, w);
        network->setExecution(options.fastKernels ? NetworkExecution::forTraining(quant.has_value())
                                                  : NetworkExecution::reference());
        network->train();

        // --- Data ---------------------------------------------------------------------------
        const DataConfig data = loadDataConfig(sources.dataFile);
        if (data.classes != spec.numClasses())
            throw Error(fmt::format("{} has {} classes but the network predicts {}", data.source.string(), data.classes,
                                    spec.numClasses()));
        DatasetLoadOptions loadOptions;
        loadOptions.numClasses = data.classes;
        loadOptions.classNames = data.classNames;
        loadOptions.strict = options.strictData;
        LoadedDataset train = loadDatasetList(data.trainList, loadOptions);
        LoadedDataset val = loadDatasetList(data.validList, loadOptions);
        for (const std::string& p : train.problems)
            reporter.log(LogLevel::warning, "skipped: " + p);
        for (const std::string& p : val.problems)
            reporter.log(LogLevel::warning, "skipped: " + p);
        if (train.samples.empty())
            fail(data.trainList, "has no usable training samples");

        BatchLoaderOptions trainLoaderOptions;
        trainLoaderOptions.batchSize = options.batchSize;
        trainLoaderOptions.width = width;
        trainLoaderOptions.height = height;
        trainLoaderOptions.shuffle = true;
        trainLoaderOptions.flip = options.flip;
        trainLoaderOptions.colorJitter = options.colorJitter;
        trainLoaderOptions.multiScale = options.multiScale;
        trainLoaderOptions.seed = options.seed;
        trainLoaderOptions.threads = options.loaderThreads;
        trainLoaderOptions.prefetch = options.prefetchBatches;
        BatchLoader trainLoader(train.samples, trainLoaderOptions);
        BatchLoaderOptions valLoaderOptions = trainLoaderOptions;
        valLoaderOptions.shuffle = valLoaderOptions.flip = valLoaderOptions.colorJitter = valLoaderOptions.multiScale = false;
        valLoaderOptions.batchSize = std::min(options.batchSize, 16);
        BatchLoader valLoader(val.samples, valLoaderOptions);

        // --- Optimizer and position ---------------------------------------------------------
        torch::optim::Adam optimizer(network->parameters(),
                                     torch::optim::AdamOptions(options.learningRate)
                                         .betas({options.beta1, options.beta2})
                                         .weight_decay(options.weightDecay));
        Position pos;
        if (resumeFrom) {
            restoreOptimizerState(optimizer, *network, resumeFrom->optimizer, folder->lastCheckpoint().string());
            std::map<std::string, at::Tensor> grads(resumeFrom->pendingGradients.begin(),
                                                    resumeFrom->pendingGradients.end());
            for (auto& p : network->named_parameters())
                if (auto it = grads.find(p.key()); it != grads.end() && it->second.sizes() == p.value().sizes()) {
                    if (const std::string summary = nonFiniteSummary(it->second); !summary.empty())
                        throw Error(folder->lastCheckpoint().string() + ": accumulated gradient of " + p.key() + ": " +
                                    summary + ", refused");
                    p.value().mutable_grad() = it->second.clone();
                }
            if (resumeFrom->rngState.defined() && resumeFrom->rngState.numel() > 0) {
                try {
                    at::Generator generator = at::detail::getDefaultCPUGenerator();
                    generator.set_state(resumeFrom->rngState);
                } catch (const c10::Error&) {
                    reporter.log(LogLevel::warning, "could not restore the random generator state; continuing");
                }
            }
            pos = {resumeFrom->epoch, resumeFrom->batchInEpoch, resumeFrom->globalBatch};
            best = BestSoFar::fromJson(resumeFrom->metricsJson);
            if (pos.batchInEpoch >= trainLoader.batchesPerEpoch()) {
                pos.batchInEpoch = 0;
                ++pos.epoch;
            }
        }

        // --- Run folder -----------------------------------------------------------------------
        std::vector<std::string> quantizerNames;
        for (const StepSize& s : stepSizesOf(*network))
            quantizerNames.push_back(s.name);
        TrainingSources recordedSources = sources;
        for (auto* p : {&recordedSources.dataFile, &recordedSources.cfgFile, &recordedSources.quantFile,
                        &recordedSources.initWeights})
            if (!p->empty())
                *p = std::filesystem::absolute(*p);
        folder->writeSetup(spec.text, quant ? quantConfigToYaml(*quant) : "",
                           trainOptionsToYaml(options, job_.resume ? &sources : &recordedSources));
        folder->prepareTables(quantizerNames, data.classNames, pos.globalBatch, pos.epoch);
        status.phase = phase;
        status.state = "running";
        status.epochs = options.epochs;
        status.epochsDone = pos.epoch;
        if (status.started.empty())
            status.started = nowIso8601();
        status.updated = nowIso8601();
        status.message.clear();
        folder->writeStatus(status);

        const int64_t batchesPerEpoch = trainLoader.batchesPerEpoch();
        const int64_t totalBatches = batchesPerEpoch * options.epochs;
        RunStart start;
        start.runDir = folder->dir();
        start.phase = phase;
        start.startEpoch = pos.epoch;
        start.startBatchInEpoch = pos.batchInEpoch;
        start.epochs = options.epochs;
        start.batchesPerEpoch = batchesPerEpoch;
        start.trainImages = static_cast<int64_t>(train.samples.size());
        start.valImages = static_cast<int64_t>(val.samples.size());
        start.skippedSamples = train.skipped + val.skipped;
        start.quantizers = quantizerNames;
        start.resumed = job_.resume;
        reporter.log(LogLevel::info,
                     fmt::format("{} {} run in {}: {} train / {} val images at {}x{}, batch {} x {} accumulated, "
                                 "{} epochs, {} threads",
                                 job_.resume ? "resuming" : "starting", phase, folder->dir().string(),
                                 train.samples.size(), val.samples.size(), width, height, options.batchSize,
                                 options.gradientAccumulation, options.epochs, threads));
        if (observer_)
            observer_->runStarted(start);

        auto saveCheckpointKind = [&](const std::filesystem::path& path, const std::string& kind) {
            TrainingCheckpoint c;
            c.model = collectStateDict(*network);
            c.phase = phase;
            c.cfgText = spec.text;
            c.quantYaml = quant ? quantConfigToYaml(*quant) : "";
            c.optionsYaml = trainOptionsToYaml(options, &recordedSources);
            c.metricsJson = best.toJson().dump();
            c.optimizer = optimizerState(optimizer, *network);
            c.pendingGradients = pendingGradients(*network);
            c.epoch = pos.epoch;
            c.batchInEpoch = pos.batchInEpoch;
            c.globalBatch = pos.globalBatch;
            c.rngState = at::detail::getDefaultCPUGenerator().get_state();
            c.tyqVersion = "0.1.0";
            status.epochsDone = pos.epoch;
            status.updated = nowIso8601();
            folder->writeStatus(status); // also flushes batch rows, so the csv covers the checkpoint
            saveCheckpoint(c, path);
            if (observer_)
                observer_->checkpointWritten(path, kind);
        };

        auto evaluate = [&]() {
            const auto t0 = Clock::now();
            EvalOptions evalOptions;
            evalOptions.confThreshold = options.evalConfThreshold;
            evalOptions.nmsThreshold = options.evalNmsThreshold;
            evalOptions.iouThreshold = options.evalIouThreshold;
            evalOptions.fastPath = options.fastKernels;
            EvalReport report;
            report.epoch = pos.epoch;
            report.metrics = evaluateDataset(*network, valLoader, evalOptions, [&](int64_t done, int64_t total) {
                if (observer_)
                    observer_->evaluationProgress(done, total);
                return !stopRequested();
            });
            report.seconds = secondsSince(t0);
            return report;
        };

        // LSQ's data-driven activation steps, on the run's first batch.
        if (quant && !resumeFrom && options.activationStepInit == ActivationStepInit::data) {
            trainLoader.startEpoch(0, 0);
            if (std::optional<Batch> first = trainLoader.next(); first && first->images.size(0) > 0) {
                initActivationStepsFromData(*network, first->images);
                reporter.log(LogLevel::info, "activation step sizes initialized from the first batch");
            }
        }

        // --- The loop ---------------------------------------------------------------------------
        std::set<std::string> reportedProblems;
        double smoothedBatchSeconds = 0;
        double imagesPerSecond = 0;
        double evalSeconds = 0;
        bool stopped = false;
        while (pos.epoch < options.epochs && !stopped) {
            const auto epochStart = Clock::now();
            trainLoader.startEpoch(pos.epoch, pos.batchInEpoch);
            double lossSum = 0;
            int64_t lossCount = 0;
            while (true) {
                if (stopRequested()) {
                    stopped = true;
                    break;
                }
                const auto t0 = Clock::now();
                std::optional<Batch> batch = trainLoader.next();
                if (!batch)
                    break;
                for (const std::string& p : batch->problems) {
                    if (options.strictData)
                        throw Error(p);
                    if (reportedProblems.insert(p).second) // once per run, not every epoch
                        reporter.log(LogLevel::warning, "skipped: " + p);
                }
                BatchReport report;
                report.epoch = pos.epoch;
                report.epochs = options.epochs;
                report.batchInEpoch = pos.batchInEpoch;
                report.batchesPerEpoch = batchesPerEpoch;
                report.globalBatch = pos.globalBatch;
                report.images = static_cast<int>(batch->images.size(0));
                const double lr = learningRateAt(options, pos.epoch, pos.globalBatch, totalBatches);
                for (auto& group : optimizer.param_groups())
                    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
                report.learningRate = lr;

                if (report.images > 0) {
                    const std::vector<at::Tensor> heads = network->forward(batch->images);
                    auto diverged = [&](const std::string& what) {
                        return Error(fmt::format("{} at epoch {} batch {} ({}); the run diverged (try a lower "
                                                 "learning rate). The last good checkpoint is kept.",
                                                 what, pos.epoch + 1, pos.batchInEpoch + 1,
                                                 divergenceCulprit(*network, batch->images)));
                    };
                    // Checked before the loss: its binary cross-entropy refuses NaN inputs with
                    // a message that would not say where they came from.
                    for (const at::Tensor& head : heads)
                        if (!at::isfinite(head).all().item<bool>())
                            throw diverged("the network output became non-finite");
                    at::Tensor total;
                    const std::vector<int> yolo = spec.yoloIndices();
                    for (size_t k = 0; k < heads.size(); ++k) {
                        const YoloLoss loss = yoloLoss(heads[k], spec.layers[yolo[k]].yolo(), batch->targets,
                                                       batch->images.size(2));
                        total = total.defined() ? total + loss.total : loss.total;
                        report.x += loss.x;
                        report.y += loss.y;
                        report.w += loss.w;
                        report.h += loss.h;
                        report.confObj += loss.confObj;
                        report.confNoobj += loss.confNoobj;
                        report.cls += loss.cls;
                        report.classAccuracy += loss.classAccuracy / heads.size();
                        report.recall50 += loss.recall50 / heads.size();
                        report.recall75 += loss.recall75 / heads.size();
                        report.precision += loss.precision / heads.size();
                        report.meanConfObj += loss.meanConfObj / heads.size();
                        report.meanConfNoobj += loss.meanConfNoobj / heads.size();
                    }
                    report.loss = total.item<double>();
                    if (!std::isfinite(report.loss))
                        throw diverged(fmt::format("the loss became {}", report.loss));
                    total.backward();
                    lossSum += report.loss;
                    ++lossCount;
                }
                if ((pos.globalBatch + 1) % options.gradientAccumulation == 0) {
                    optimizer.step();
                    optimizer.zero_grad();
                    // A finite loss can still give NaN/Inf gradients; catch them at this step, not
                    // a batch later, so no checkpoint can hold them.
                    if (const std::string bad = firstNonFiniteParameter(*network); !bad.empty())
                        throw Error(fmt::format("parameter {} became non-finite in the optimizer step of epoch {} "
                                                "batch {}; the run diverged (try a lower learning rate). The last "
                                                "good checkpoint is kept.",
                                                bad, pos.epoch + 1, pos.batchInEpoch + 1));
                }
                report.stepSizes = stepSizesOf(*network);
                for (const StepSize& s : report.stepSizes)
                    if (!std::isfinite(s.value) || s.value <= 0)
                        throw Error(fmt::format("step size {} became {} at epoch {} batch {}; the run diverged. The "
                                                "last good checkpoint is kept.",
                                                s.name, s.value, pos.epoch + 1, pos.batchInEpoch + 1));
                ++pos.batchInEpoch;
                ++pos.globalBatch;

                report.seconds = secondsSince(t0);
                smoothedBatchSeconds =
                    smoothedBatchSeconds == 0 ? report.seconds : 0.9 * smoothedBatchSeconds + 0.1 * report.seconds;
                imagesPerSecond = report.images > 0 ? (imagesPerSecond == 0 ? report.images / report.seconds
                                                                             : 0.9 * imagesPerSecond +
                                                                                   0.1 * report.images / report.seconds)
                                                    : imagesPerSecond;
                report.imagesPerSecond = imagesPerSecond;
                const int64_t batchesLeft = totalBatches - (pos.epoch * batchesPerEpoch + pos.batchInEpoch);
                const int64_t evalsLeft = (options.epochs - pos.epoch + options.evalInterval - 1) / options.evalInterval;
                report.etaSeconds = batchesLeft * smoothedBatchSeconds + evalsLeft * evalSeconds;
                folder->appendBatch(report);
                if (observer_)
                    observer_->batchDone(report);
                if (job_.afterBatch)
                    job_.afterBatch(*network, pos.globalBatch - 1);
            }
            if (stopped)
                break;

            // The epoch is complete.
            ++pos.epoch;
            pos.batchInEpoch = 0;
            const bool lastEpoch = pos.epoch == options.epochs;
            if (pos.epoch % options.evalInterval == 0 || lastEpoch) {
                EvalReport report = evaluate();
                if (stopRequested() && !lastEpoch) {
                    // An interrupted evaluation is not a result; the epoch itself is kept.
                    stopped = true;
                } else {
                    evalSeconds = report.seconds;
                    best.lastMap = report.metrics.mAP;
                    report.best = report.metrics.mAP > best.map;
                    if (report.best) {
                        best.map = report.metrics.mAP;
                        best.iou = report.metrics.referenceIoU;
                        best.contestIoU = report.metrics.contestIoU;
                        best.epoch = pos.epoch;
                    }
                    status.bestMap = best.map;
                    status.bestIoU = best.iou;
                    status.bestContestIoU = best.contestIoU;
                    status.bestEpoch = best.epoch;
                    status.lastMap = best.lastMap;
                    folder->appendEpoch(report, lossCount ? lossSum / lossCount : 0.0, secondsSince(epochStart));
                    reporter.log(LogLevel::info,
                                 fmt::format("epoch {}/{}: val mAP {:.4f}, IoU {:.4f}, contest IoU {:.4f}{}", pos.epoch,
                                             options.epochs, report.metrics.mAP, report.metrics.referenceIoU,
                                             report.metrics.contestIoU, report.best ? " (best)" : ""));
                    if (observer_)
                        observer_->evaluationDone(report);
                    if (report.best)
                        saveCheckpointKind(folder->bestCheckpoint(), "best");
                }
            }
            if (pos.epoch % options.checkpointInterval == 0)
                saveCheckpointKind(folder->periodicCheckpoint(pos.epoch), "periodic");
            saveCheckpointKind(folder->lastCheckpoint(), "last");
        }

        if (stopped) {
            saveCheckpointKind(folder->lastCheckpoint(), "last");
            summary.outcome = RunOutcome::stopped;
            summary.message = fmt::format("stopped at epoch {} batch {}; resume with tyq train --resume {}", pos.epoch + 1,
                                          pos.batchInEpoch, folder->dir().string());
            status.state = "stopped";
        } else {
            summary.outcome = RunOutcome::finished;
            summary.message = fmt::format("finished {} epochs; best val mAP {:.4f} at epoch {}", options.epochs,
                                          best.map, best.epoch);
            status.state = "finished";
        }
        status.message = summary.message;
        status.epochsDone = pos.epoch;
        status.updated = nowIso8601();
        folder->writeStatus(status);
        summary.epochsDone = pos.epoch;
        summary.bestMap = best.map;
        summary.bestEpoch = best.epoch;
        reporter.log(LogLevel::info, summary.message);
        if (observer_)
            observer_->runFinished(summary);
        return summary;
    } catch (const Error& e) {
        return finishFailed(e.what());
    } catch (const c10::Error& e) {
        return finishFailed(std::string("internal error: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
        return finishFailed(e.what());
    }
}

} // namespace tyq
