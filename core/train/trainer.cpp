#include "train/trainer.h"

#include "common/compute_threads.h"
#include "common/csv_table.h"
#include "common/elapsed.h"
#include "common/error.h"
#include "common/text.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "dist/collective.h"
#include "dist/data_parallel.h"
#include "dist/gradient_reducer.h"
#include "dist/sync_batch_norm.h"
#include "infer/dataset_evaluation.h"
#include "io/checkpoint.h"
#include "io/state_dict.h"
#include "io/weights_file.h"
#include "model/model_loader.h"
#include "model/weight_check.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"
#include "train/divergence.h"
#include "train/optimizer_state.h"
#include "train/run_folder.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adam.h>

#include <chrono>
#include <sstream>
#include <cmath>
#include <optional>
#include <set>

namespace tyq {
namespace {

// Reports to the observer (if any) and mirrors log lines into the run's train.log.
class Reporter {
public:
    explicit Reporter(TrainingObserver* observer) : observer_(observer) {}
    void setFolder(RunFolder* folder) { folder_ = folder; }
    /// A data-parallel rank other than 0 logs here (as train.log's lines) instead of a run folder.
    void setRankLog(const std::filesystem::path& path) { rankLog_ = path; }
    TrainingObserver* observer() const { return observer_; }

    void log(LogLevel level, const std::string& message)
    {
        const std::string line =
            (level == LogLevel::error ? "error: " : level == LogLevel::warning ? "warning: " : "") + message;
        try {
            if (folder_)
                folder_->appendLog(line);
            else if (!rankLog_.empty())
                appendLines(rankLog_, {"[" + nowIso8601() + "] " + line});
        } catch (const Error&) {
            // The log is secondary: a failing disk is reported by the run files that matter.
        }
        if (observer_)
            observer_->log(level, message);
    }

private:
    TrainingObserver* observer_;
    RunFolder* folder_ = nullptr;
    std::filesystem::path rankLog_;
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

std::vector<StepSize> stepSizesOf(const YoloNetworkImpl& network)
{
    std::vector<StepSize> out;
    for (const auto& [name, q] : network.quantizers())
        if (q->spec().enabled())
            out.push_back({name, q->s.detach().mean().item<double>()});
    return out;
}

/// One run from start to end: Trainer::run's stages as named steps over the state they share.
class TrainingSession {
public:
    TrainingSession(const TrainingJob& job, TrainingObserver* observer, const std::atomic<bool>& stop)
        : job_(job), observer_(observer), stop_(stop), reporter_(observer), collective_(job.collective)
    {
        summary_.runDir = job.runDir;
    }

    RunSummary run()
    {
        try {
            if (!collective_ && job_.joinCollective)
                collective_ = job_.joinCollective();
            openRunFolder();
            decideWhatToTrain();
            buildNetwork();
            loadData();
            buildOptimizer();
            recordSetup();
            initActivationSteps();
            synchronizeRanks();
            bool stopped = false;
            while (pos_.epoch < options_.epochs && !stopped)
                stopped = !trainEpoch() || !endEpoch();
            return finish(stopped);
        } catch (const Error& e) {
            return failed(e.what());
        } catch (const c10::Error& e) {
            return failed(std::string("internal error: ") + e.what_without_backtrace());
        } catch (const std::exception& e) {
            return failed(e.what());
        }
    }

private:
    bool stopRequested() const { return stop_.load(); }
    /// Rank 0 of a data-parallel job, or the only process: the one that writes the run.
    bool leader() const { return !collective_ || collective_->rank() == 0; }
    int worldSize() const { return collective_ ? collective_->worldSize() : 1; }
    /// Whether any rank was asked to stop (every rank calls it at the same point).
    bool stopAgreed()
    {
        if (!collective_)
            return stopRequested();
        std::vector<at::Tensor> flag{at::full({1}, stopRequested() ? 1.0 : 0.0, at::kDouble)};
        collective_->allreduceSum(flag);
        return flag[0].item<double>() > 0;
    }
    std::string checkpointName() const { return folder_->lastCheckpoint().string(); }

    void openRunFolder()
    {
        if (leader()) {
            folder_ = std::make_unique<RunFolder>(job_.runDir, job_.resume);
            reporter_.setFolder(folder_.get());
            return;
        }
        std::error_code ec;
        std::filesystem::create_directories(job_.runDir, ec);
        if (ec)
            fail(job_.runDir, "cannot create the run folder: " + ec.message());
        reporter_.setRankLog(job_.runDir / fmt::format("train.rank{}.log", collective_->rank()));
    }

    /// Options, sources, the checkpoint to resume, the cfg, the bit-widths and the input size.
    void decideWhatToTrain()
    {
        options_ = job_.options;
        sources_ = job_.sources;
        std::string resumedCfg, resumedQuant;
        if (job_.resume && leader()) {
            options_ = loadTrainOptions(folder_->dir() / "options.yaml", &sources_);
            if (!std::filesystem::exists(folder_->lastCheckpoint()))
                fail(folder_->dir(), "has no checkpoint to resume from (checkpoints/last.ckpt)");
            resumeFrom_ = loadCheckpoint(folder_->lastCheckpoint());
            status_ = readRunStatus(folder_->dir());
            resumedCfg = resumeFrom_->cfgText;
            resumedQuant = resumeFrom_->quantYaml;
        }
        if (job_.resume && collective_) {
            // The other ranks resume what rank 0 resumes: its options, cfg and bit-widths (its
            // weights, optimizer state and position follow in synchronizeRanks).
            const std::string separator = "\n---tyq-rank0-setup---\n";
            const std::string mine = leader() ? trainOptionsToYaml(options_, &sources_) + separator + resumedCfg +
                                                    separator + resumedQuant
                                              : std::string();
            const std::string setup = collective_->allgather(mine)[0];
            if (!leader()) {
                const size_t a = setup.find(separator);
                const size_t b = setup.find(separator, a + separator.size());
                if (a == std::string::npos || b == std::string::npos)
                    throw Error("rank 0 sent no run setup to resume");
                options_ = parseTrainOptionsYaml(setup.substr(0, a), "rank 0's options.yaml", &sources_);
                resumedCfg = setup.substr(a + separator.size(), b - a - separator.size());
                resumedQuant = setup.substr(b + separator.size());
            }
        }
        if (job_.resume && job_.resumeEpochs > 0)
            options_.epochs = job_.resumeEpochs;
        validateTrainOptions(options_);
        threads_ = configureComputeThreads(options_.threads);
        if (!resumeFrom_)
            at::manual_seed(options_.seed);

        const std::string resumedName = leader() ? (job_.resume ? checkpointName() : "") : "rank 0's checkpoint";
        spec_ = job_.resume               ? parseDarknetCfgText(resumedCfg, resumedName + " (cfg)")
                : sources_.cfgFile.empty() ? defaultNetworkSpec()
                                           : loadDarknetCfg(sources_.cfgFile);
        if (job_.resume && !resumedQuant.empty())
            quant_ = parseQuantConfigYaml(resumedQuant, resumedName + " (bit-widths)");
        else if (!job_.resume && !sources_.quantFile.empty())
            quant_ = loadQuantConfig(sources_.quantFile);
        phase_ = quant_ ? "lsq" : "fp";
        if (!job_.resume && quant_ && sources_.initWeights.empty())
            throw Error("LSQ training starts from a full-precision checkpoint: give it with --from (a tyq fp run's "
                        "checkpoints/best.ckpt, or a reference .pth)");

        width_ = options_.inputWidth > 0 ? options_.inputWidth : spec_.width;
        height_ = options_.inputHeight > 0 ? options_.inputHeight : spec_.height;
        const int multiple = spec_.requiredInputMultiple();
        if (width_ % multiple != 0 || height_ % multiple != 0)
            throw Error(fmt::format("input size {}x{} is not a multiple of {} (the network's downsampling)", width_,
                                    height_, multiple));
    }

    /// The network with its first weights: the checkpoint resumed, --from, or the reference's init.
    void buildNetwork()
    {
        network_ = YoloNetwork(spec_);
        std::vector<std::string> warnings;
        if (resumeFrom_) {
            if (quant_)
                warnings = network_->quantize(*quant_);
            applyWeights(*network_, resumeFrom_->model, checkpointName());
        } else if (!leader()) {
            // Rank 0's weights and step sizes arrive in synchronizeRanks; only the shape is needed.
            if (quant_)
                network_->quantize(*quant_);
        } else if (!sources_.initWeights.empty()) {
            const WeightsFile file = readWeightsFile(sources_.initWeights);
            const bool fileQuantized = file.quantized();
            if (fileQuantized && !quant_)
                fail(sources_.initWeights, "is an LSQ-quantized model; full-precision training needs fp weights");
            if (quant_ && fileQuantized) {
                warnings = network_->quantize(*quant_); // continue LSQ from LSQ weights
                stepsFromFile_ = true;
            }
            applyWeights(*network_, file.state, sources_.initWeights.string());
            if (quant_ && !fileQuantized)
                warnings = network_->quantize(*quant_); // weight step sizes from the loaded weights
        } else {
            network_->initializeLikeReference();
        }
        for (const std::string& w : warnings)
            reporter_.log(LogLevel::warning, w);
        requirePrecision(options_.precision, fmt::format("precision {}", precisionName(options_.precision)));
        NetworkExecution execution = options_.fastKernels ? NetworkExecution::forTraining(options_.precision)
                                                          : NetworkExecution::reference();
        execution.precision = options_.precision;
        network_->setExecution(execution);
        if (collective_ && options_.syncBatchNorm) {
            Collective* collective = collective_.get();
            network_->setBatchNormOverride([collective](torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x) {
                return syncBatchNorm(x, bn, *collective);
            });
        } else if (options_.syncBatchNorm) {
            reporter_.log(LogLevel::info, "--sync-bn: one process, so batch norm is over its whole batch anyway");
        }
        network_->train();
    }

    /// The dataset's splits and their loaders.
    void loadData()
    {
        data_ = loadDataConfig(sources_.dataFile);
        if (data_.classes != spec_.numClasses())
            throw Error(fmt::format("{} has {} classes but the network predicts {}", data_.source.string(),
                                    data_.classes, spec_.numClasses()));
        DatasetLoadOptions loadOptions;
        loadOptions.numClasses = data_.classes;
        loadOptions.classNames = data_.classNames;
        loadOptions.strict = options_.strictData;
        train_ = loadDatasetList(data_.trainList, loadOptions);
        val_ = loadDatasetList(data_.validList, loadOptions);
        for (const LoadedDataset* split : {&train_, &val_})
            for (const std::string& p : split->problems)
                reporter_.log(LogLevel::warning, "skipped: " + p);
        if (train_.samples.empty())
            fail(data_.trainList, "has no usable training samples");

        BatchLoaderOptions training;
        training.batchSize = options_.batchSize;
        training.width = width_;
        training.height = height_;
        training.shuffle = true;
        training.flip = options_.flip;
        training.colorJitter = options_.colorJitter;
        training.multiScale = options_.multiScale;
        training.seed = options_.seed;
        training.threads = options_.loaderThreads;
        training.prefetch = options_.prefetchBatches;
        training.shards = worldSize();
        training.shard = collective_ ? collective_->rank() : 0;
        trainLoader_ = std::make_unique<BatchLoader>(train_.samples, training);
        BatchLoaderOptions validation = training;
        validation.shuffle = validation.flip = validation.colorJitter = validation.multiScale = false;
        validation.batchSize = std::min(options_.batchSize, 16);
        validation.shards = training.shards; // each rank evaluates its share
        validation.shard = training.shard;
        valLoader_ = std::make_unique<BatchLoader>(val_.samples, validation);
        batchesPerEpoch_ = trainLoader_->batchesPerEpoch();
        totalBatches_ = batchesPerEpoch_ * options_.epochs;
        if (batchesPerEpoch_ == 0)
            fail(data_.trainList, fmt::format("has {} usable training images, fewer than the {} processes of the job",
                                              train_.samples.size(), worldSize()));
        if (collective_)
            requireSameJobOnEveryRank();
    }

    /// Every rank trains the same network on the same data with the same options.
    void requireSameJobOnEveryRank()
    {
        std::vector<std::pair<std::string, std::string>> entries{
            {"tyq version", kTyqVersion},
            {"cfg", "digest " + digest(spec_.text)},
            {"bit-widths", quant_ ? "digest " + digest(quantConfigToYaml(*quant_)) : "none (full precision)"},
            {"training set", datasetFingerprint(train_)},
            {"validation set", datasetFingerprint(val_)},
            {"input size", fmt::format("{}x{}", width_, height_)}};
        // Each option by name, except those that only say how this process computes.
        const std::set<std::string> local{"threads", "loader_threads", "prefetch_batches"};
        std::istringstream yaml(trainOptionsToYaml(options_));
        for (std::string line; std::getline(yaml, line);) {
            const size_t colon = line.find(':');
            if (colon == std::string::npos || line[0] == '#' || line[0] == ' ' || local.count(line.substr(0, colon)))
                continue;
            entries.emplace_back("option " + line.substr(0, colon), std::string(text::trim(line.substr(colon + 1))));
        }
        requireSameJob(entries, *collective_);
    }

    /// Adam; resuming, also its moments, the pending gradients, the random state and the position.
    void buildOptimizer()
    {
        optimizer_ = std::make_unique<torch::optim::Adam>(network_->parameters(),
                                                          torch::optim::AdamOptions(options_.learningRate)
                                                              .betas({options_.beta1, options_.beta2})
                                                              .weight_decay(options_.weightDecay));
        if (!resumeFrom_)
            return;
        restoreOptimizerState(*optimizer_, *network_, resumeFrom_->optimizer, checkpointName());
        restorePendingGradients(*network_, resumeFrom_->pendingGradients, checkpointName());
        if (resumeFrom_->rngState.defined() && resumeFrom_->rngState.numel() > 0) {
            try {
                at::Generator generator = at::detail::getDefaultCPUGenerator();
                generator.set_state(resumeFrom_->rngState);
            } catch (const c10::Error&) {
                reporter_.log(LogLevel::warning, "could not restore the random generator state; continuing");
            }
        }
        pos_ = {resumeFrom_->epoch, resumeFrom_->batchInEpoch, resumeFrom_->globalBatch};
        best_ = BestSoFar::fromJson(resumeFrom_->metricsJson);
        if (resumeFrom_->worldSize != worldSize()) {
            // Batches are global: a different world size regroups the epoch's images. Resume at
            // the first batch whose images were not all trained yet.
            const int64_t imagesDone = pos_.batchInEpoch * options_.batchSize * resumeFrom_->worldSize;
            const int64_t perBatch = static_cast<int64_t>(options_.batchSize) * worldSize();
            pos_.batchInEpoch = imagesDone / perBatch;
            pos_.globalBatch = pos_.epoch * batchesPerEpoch_ + pos_.batchInEpoch;
            reporter_.log(LogLevel::info,
                          fmt::format("the checkpoint is from a {}-process job, this one has {}: the global batch is "
                                      "now {} images{}",
                                      resumeFrom_->worldSize, worldSize(), perBatch,
                                      imagesDone % perBatch ? fmt::format(" ({} images of the epoch are trained twice)",
                                                                          imagesDone % perBatch)
                                                            : ""));
        }
        if (pos_.batchInEpoch >= batchesPerEpoch_) {
            pos_.batchInEpoch = 0;
            ++pos_.epoch;
        }
    }

    /// The run folder's setup files and tables, run.json, the start line and runStarted.
    void recordSetup()
    {
        std::vector<std::string> quantizerNames;
        for (const StepSize& s : stepSizesOf(*network_))
            quantizerNames.push_back(s.name);
        recordedSources_ = sources_;
        for (auto* p : {&recordedSources_.dataFile, &recordedSources_.cfgFile, &recordedSources_.quantFile,
                        &recordedSources_.initWeights})
            if (!p->empty())
                *p = std::filesystem::absolute(*p);
        if (folder_) {
            folder_->writeSetup(spec_.text, quant_ ? quantConfigToYaml(*quant_) : "",
                                trainOptionsToYaml(options_, job_.resume ? &sources_ : &recordedSources_));
            folder_->prepareTables(quantizerNames, data_.classNames, pos_.globalBatch, pos_.epoch);
        }
        status_.phase = phase_;
        status_.state = "running";
        status_.epochs = options_.epochs;
        status_.epochsDone = pos_.epoch;
        if (status_.started.empty())
            status_.started = nowIso8601();
        status_.updated = nowIso8601();
        status_.message.clear();
        if (folder_)
            folder_->writeStatus(status_);

        RunStart start;
        start.runDir = job_.runDir;
        start.phase = phase_;
        start.startEpoch = pos_.epoch;
        start.startBatchInEpoch = pos_.batchInEpoch;
        start.epochs = options_.epochs;
        start.batchesPerEpoch = batchesPerEpoch_;
        start.trainImages = static_cast<int64_t>(train_.samples.size());
        start.valImages = static_cast<int64_t>(val_.samples.size());
        start.skippedSamples = train_.skipped + val_.skipped;
        start.quantizers = quantizerNames;
        start.resumed = job_.resume;
        reporter_.log(LogLevel::info,
                      fmt::format("{} {} run in {}: {} train / {} val images at {}x{}, batch {} x {} accumulated, "
                                  "{} epochs, {} threads{}",
                                  job_.resume ? "resuming" : "starting", phase_, job_.runDir.string(),
                                  train_.samples.size(), val_.samples.size(), width_, height_, options_.batchSize,
                                  options_.gradientAccumulation, options_.epochs, threads_,
                                  collective_ ? fmt::format("; rank {} of {} processes (global batch {}{})",
                                                            collective_->rank(), worldSize(),
                                                            options_.batchSize * worldSize(),
                                                            options_.syncBatchNorm ? ", synchronized batch norm" : "")
                                              : ""));
        if (observer_)
            observer_->runStarted(start);
    }

    /// LSQ's data-driven activation steps, on the run's first batch.
    void initActivationSteps()
    {
        if (!quant_ || resumeFrom_ || options_.activationStepInit != ActivationStepInit::data)
            return;
        if (stepsFromFile_) { // learned, or calibrated by `tyq ptq`: keep them
            reporter_.log(LogLevel::info, "activation step sizes from " + sources_.initWeights.string());
            return;
        }
        if (!leader())
            return; // rank 0's steps arrive in synchronizeRanks
        std::optional<Batch> first;
        if (collective_) {
            // On the whole first global batch, as one process with that batch would.
            BatchLoaderOptions global = trainLoader_->options();
            global.batchSize *= worldSize();
            global.shards = 1;
            global.shard = 0;
            global.threads = 1;
            first = BatchLoader(trainLoader_->samples(), global).buildBatch(0, 0);
        } else {
            trainLoader_->startEpoch(0, 0);
            first = trainLoader_->next();
        }
        if (first && first->images.size(0) > 0) {
            network_->calibrateActivationSteps(first->images, StepCalibration::lsqInit);
            reporter_.log(LogLevel::info, "activation step sizes initialized from the first batch");
        }
    }

    /// Data parallelism: every rank starts from rank 0's weights, step sizes, batch-norm
    /// statistics, optimizer state, pending gradients and position.
    void synchronizeRanks()
    {
        if (!collective_)
            return;
        broadcastModule(*network_, *collective_);
        StateDict optimizer = leader() ? optimizerState(*optimizer_, *network_) : StateDict{};
        broadcastStateDict(optimizer, *collective_);
        StateDict pending = leader() ? pendingGradients(*network_) : StateDict{};
        broadcastStateDict(pending, *collective_);
        std::vector<at::Tensor> position{at::tensor({pos_.epoch, pos_.batchInEpoch, pos_.globalBatch}, at::kLong)};
        collective_->broadcast(position);
        if (!leader()) {
            if (!optimizer.empty())
                restoreOptimizerState(*optimizer_, *network_, optimizer, "rank 0's optimizer state");
            if (!pending.empty())
                restorePendingGradients(*network_, pending, "rank 0's pending gradients");
            pos_ = {position[0][0].item<int64_t>(), position[0][1].item<int64_t>(), position[0][2].item<int64_t>()};
        }
        reducer_ = std::make_unique<GradientReducer>(network_->parameters(), *collective_);
    }

    /// The rest of the current epoch's batches; false if a stop request ended it early.
    bool trainEpoch()
    {
        epochStart_ = Clock::now();
        trainLoader_->startEpoch(pos_.epoch, pos_.batchInEpoch);
        lossSum_ = 0;
        lossCount_ = 0;
        while (true) {
            if (collective_ ? agreedStop_ : stopRequested())
                return false;
            const auto t0 = Clock::now();
            std::optional<Batch> batch = trainLoader_->next();
            if (!batch)
                return true;
            trainBatch(*batch, t0);
        }
    }

    void trainBatch(const Batch& batch, Clock::time_point t0)
    {
        for (const std::string& p : batch.problems) {
            if (options_.strictData)
                throw Error(p);
            if (reportedProblems_.insert(p).second) // once per run, not every epoch
                reporter_.log(LogLevel::warning, "skipped: " + p);
        }
        BatchReport report;
        report.epoch = pos_.epoch;
        report.epochs = options_.epochs;
        report.batchInEpoch = pos_.batchInEpoch;
        report.batchesPerEpoch = batchesPerEpoch_;
        report.globalBatch = pos_.globalBatch;
        report.images = static_cast<int>(batch.images.size(0));
        const double lr = learningRateAt(options_, pos_.epoch, pos_.globalBatch, totalBatches_);
        for (auto& group : optimizer_->param_groups())
            static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
        report.learningRate = lr;

        if (collective_ && report.images == 0)
            throw Error(fmt::format("rank {}: no image of its share of epoch {} batch {} could be read",
                                    collective_->rank(), pos_.epoch + 1, pos_.batchInEpoch + 1));
        if (collective_ && quant_) // the step sizes' gradient scale counts the global batch
            network_->setActivationBatchFactor(static_cast<double>(trainLoader_->globalBatchSize(batch.index)) /
                                               report.images);
        if (report.images > 0) {
            backward(batch, report);
            if (collective_)
                averageOverRanks(report);
            lossSum_ += report.loss;
            ++lossCount_;
        }
        if ((pos_.globalBatch + 1) % options_.gradientAccumulation == 0) {
            if (reducer_)
                reducer_->reduce();
            optimizer_->step();
            optimizer_->zero_grad();
            // A finite loss can still give NaN/Inf gradients; catch them at this step, not a
            // batch later, so no checkpoint can hold them.
            if (const std::string bad = firstNonFiniteParameter(*network_); !bad.empty())
                throw Error(fmt::format("parameter {} became non-finite in the optimizer step of epoch {} batch {}; "
                                        "the run diverged (try a lower learning rate). The last good checkpoint is kept.",
                                        bad, pos_.epoch + 1, pos_.batchInEpoch + 1));
        }
        report.stepSizes = stepSizesOf(*network_);
        for (const StepSize& s : report.stepSizes)
            if (!std::isfinite(s.value) || s.value <= 0)
                throw Error(fmt::format("step size {} became {} at epoch {} batch {}; the run diverged. The last good "
                                        "checkpoint is kept.",
                                        s.name, s.value, pos_.epoch + 1, pos_.batchInEpoch + 1));
        ++pos_.batchInEpoch;
        ++pos_.globalBatch;

        report.seconds = secondsSince(t0);
        smoothedBatchSeconds_ =
            smoothedBatchSeconds_ == 0 ? report.seconds : 0.9 * smoothedBatchSeconds_ + 0.1 * report.seconds;
        if (report.images > 0)
            imagesPerSecond_ = imagesPerSecond_ == 0 ? report.images / report.seconds
                                                     : 0.9 * imagesPerSecond_ + 0.1 * report.images / report.seconds;
        report.imagesPerSecond = imagesPerSecond_;
        const int64_t batchesLeft = totalBatches_ - (pos_.epoch * batchesPerEpoch_ + pos_.batchInEpoch);
        const int64_t evalsLeft = (options_.epochs - pos_.epoch + options_.evalInterval - 1) / options_.evalInterval;
        report.etaSeconds = batchesLeft * smoothedBatchSeconds_ + evalsLeft * evalSeconds_;
        if (folder_)
            folder_->appendBatch(report);
        if (observer_)
            observer_->batchDone(report);
        if (job_.afterBatch)
            job_.afterBatch(*network_, pos_.globalBatch - 1);
    }

    /// The job's figures for the batch: loss terms and diagnostics averaged over the ranks (each
    /// rank's loss is already scaled to the global batch), images summed; and whether any rank
    /// was asked to stop, so that all stop after the same batch.
    void averageOverRanks(BatchReport& report)
    {
        std::vector<double*> averaged{&report.loss,         &report.x,         &report.y,
                                      &report.w,            &report.h,         &report.confObj,
                                      &report.confNoobj,    &report.cls,       &report.classAccuracy,
                                      &report.recall50,     &report.recall75,  &report.precision,
                                      &report.meanConfObj,  &report.meanConfNoobj};
        at::Tensor values = at::empty({static_cast<int64_t>(averaged.size()) + 2}, at::kDouble);
        for (size_t i = 0; i < averaged.size(); ++i)
            values[static_cast<int64_t>(i)] = *averaged[i];
        values[static_cast<int64_t>(averaged.size())] = static_cast<double>(report.images);
        values[static_cast<int64_t>(averaged.size()) + 1] = stopRequested() ? 1.0 : 0.0;
        std::vector<at::Tensor> buffer{values};
        collective_->allreduceSum(buffer);
        const double* sums = values.data_ptr<double>();
        for (size_t i = 0; i < averaged.size(); ++i)
            *averaged[i] = sums[i] / worldSize();
        report.images = static_cast<int>(sums[averaged.size()]);
        agreedStop_ = sums[averaged.size() + 1] > 0;
    }

    /// Forward, the YOLO loss of every head (its terms into `report`), backward.
    void backward(const Batch& batch, BatchReport& report)
    {
        const std::vector<at::Tensor> heads = network_->forward(batch.images);
        auto diverged = [&](const std::string& what) {
            return Error(fmt::format("{} at epoch {} batch {} ({}); the run diverged (try a lower learning rate). "
                                     "The last good checkpoint is kept.",
                                     what, pos_.epoch + 1, pos_.batchInEpoch + 1,
                                     divergenceCulprit(*network_, batch.images)));
        };
        // Checked before the loss: its binary cross-entropy refuses NaN inputs with a message
        // that would not say where they came from.
        for (const at::Tensor& head : heads)
            if (!at::isfinite(head).all().item<bool>())
                throw diverged("the network output became non-finite");
        at::Tensor total;
        const std::vector<int> yolo = spec_.yoloIndices();
        // Data parallelism: each rank divides by the mean count over the ranks, so that the
        // averaged gradient is that of the loss of the global batch.
        LossNormalizers normalizers;
        if (collective_)
            normalizers = [this](at::Tensor& counts) {
                std::vector<at::Tensor> buffer{counts};
                collective_->allreduceSum(buffer);
                counts.div_(worldSize());
            };
        for (size_t k = 0; k < heads.size(); ++k) {
            const YoloLoss loss =
                yoloLoss(heads[k], spec_.layers[yolo[k]].yolo(), batch.targets, batch.images.size(2), normalizers);
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
    }

    /// The epoch is complete: evaluation when due, the best checkpoint, the periodic and last
    /// ones. False if a stop request interrupted the evaluation.
    bool endEpoch()
    {
        ++pos_.epoch;
        pos_.batchInEpoch = 0;
        bool stopped = false;
        const bool lastEpoch = pos_.epoch == options_.epochs;
        if (pos_.epoch % options_.evalInterval == 0 || lastEpoch) {
            EvalReport report = evaluate();
            if (stopAgreed() && !lastEpoch)
                stopped = true; // an interrupted evaluation is not a result; the epoch itself is kept
            else
                recordEvaluation(report);
        }
        if (folder_ && pos_.epoch % options_.checkpointInterval == 0)
            saveCheckpoint(folder_->periodicCheckpoint(pos_.epoch), "periodic");
        if (folder_)
            saveCheckpoint(folder_->lastCheckpoint(), "last");
        return !stopped;
    }

    EvalReport evaluate()
    {
        const auto t0 = Clock::now();
        EvalOptions evalOptions;
        evalOptions.confThreshold = options_.evalConfThreshold;
        evalOptions.nmsThreshold = options_.evalNmsThreshold;
        evalOptions.iouThreshold = options_.evalIouThreshold;
        evalOptions.fastPath = options_.fastKernels;
        EvalReport report;
        report.epoch = pos_.epoch;
        // Data parallelism: each rank evaluates its shard (a stop waits for the end, so that
        // every rank takes part in the merge) and rank 0 gets the metrics of the whole split.
        std::vector<ImageEvaluation> images;
        ImageEvaluationSink keep;
        if (collective_)
            keep = [&images](ImageEvaluation&& e) { images.push_back(std::move(e)); };
        report.metrics = evaluateDataset(
            *network_, *valLoader_, evalOptions,
            [&](int64_t done, int64_t total) {
                if (observer_)
                    observer_->evaluationProgress(done, total);
                return collective_ || !stopRequested();
            },
            keep);
        if (collective_)
            report.metrics = mergeShardedEvaluation(std::move(images), spec_.numClasses(), evalOptions.iouThreshold,
                                                    *collective_);
        report.seconds = secondsSince(t0);
        return report;
    }

    void recordEvaluation(EvalReport& report)
    {
        if (!leader())
            return;
        evalSeconds_ = report.seconds;
        best_.lastMap = report.metrics.mAP;
        report.best = report.metrics.mAP > best_.map;
        if (report.best) {
            best_.map = report.metrics.mAP;
            best_.iou = report.metrics.referenceIoU;
            best_.contestIoU = report.metrics.contestIoU;
            best_.epoch = pos_.epoch;
        }
        status_.bestMap = best_.map;
        status_.bestIoU = best_.iou;
        status_.bestContestIoU = best_.contestIoU;
        status_.bestEpoch = best_.epoch;
        status_.lastMap = best_.lastMap;
        folder_->appendEpoch(report, lossCount_ ? lossSum_ / lossCount_ : 0.0, secondsSince(epochStart_));
        reporter_.log(LogLevel::info, fmt::format("epoch {}/{}: val mAP {:.4f}, IoU {:.4f}, contest IoU {:.4f}{}",
                                                  pos_.epoch, options_.epochs, report.metrics.mAP,
                                                  report.metrics.referenceIoU, report.metrics.contestIoU,
                                                  report.best ? " (best)" : ""));
        if (observer_)
            observer_->evaluationDone(report);
        if (report.best)
            saveCheckpoint(folder_->bestCheckpoint(), "best");
    }

    void saveCheckpoint(const std::filesystem::path& path, const std::string& kind)
    {
        if (!leader())
            return;
        TrainingCheckpoint c;
        c.model = collectStateDict(*network_);
        c.phase = phase_;
        c.cfgText = spec_.text;
        c.quantYaml = quant_ ? quantConfigToYaml(*quant_) : "";
        c.optionsYaml = trainOptionsToYaml(options_, &recordedSources_);
        c.metricsJson = best_.toJson().dump();
        c.optimizer = optimizerState(*optimizer_, *network_);
        c.pendingGradients = pendingGradients(*network_);
        c.epoch = pos_.epoch;
        c.batchInEpoch = pos_.batchInEpoch;
        c.globalBatch = pos_.globalBatch;
        c.worldSize = worldSize();
        c.rngState = at::detail::getDefaultCPUGenerator().get_state();
        c.tyqVersion = kTyqVersion;
        status_.epochsDone = pos_.epoch;
        status_.updated = nowIso8601();
        folder_->writeStatus(status_); // also flushes batch rows, so the csv covers the checkpoint
        tyq::saveCheckpoint(c, path);
        if (observer_)
            observer_->checkpointWritten(path, kind);
    }

    RunSummary finish(bool stopped)
    {
        if (stopped) {
            if (folder_)
                saveCheckpoint(folder_->lastCheckpoint(), "last");
            summary_.outcome = RunOutcome::stopped;
            summary_.message = fmt::format("stopped at epoch {} batch {}; resume with tyq train --resume {}",
                                           pos_.epoch + 1, pos_.batchInEpoch, job_.runDir.string());
            status_.state = "stopped";
        } else {
            summary_.outcome = RunOutcome::finished;
            summary_.message = fmt::format("finished {} epochs; best val mAP {:.4f} at epoch {}", options_.epochs,
                                           best_.map, best_.epoch);
            status_.state = "finished";
        }
        status_.message = summary_.message;
        status_.epochsDone = pos_.epoch;
        status_.updated = nowIso8601();
        if (folder_)
            folder_->writeStatus(status_);
        if (collective_) {
            const CollectiveStats& c = collective_->stats();
            reporter_.log(LogLevel::info, fmt::format("allreduce: {} calls, {:.1f} MB from this rank, {:.1f} s",
                                                      c.allreduceCalls, c.allreduceBytes / 1e6, c.allreduceSeconds));
        }
        summary_.epochsDone = pos_.epoch;
        summary_.bestMap = best_.map;
        summary_.bestEpoch = best_.epoch;
        reporter_.log(LogLevel::info, summary_.message);
        if (observer_)
            observer_->runFinished(summary_);
        return summary_;
    }

    RunSummary failed(const std::string& message)
    {
        summary_.outcome = RunOutcome::failed;
        summary_.message = message;
        if (collective_)
            collective_->recordFailure(message);
        summary_.bestMap = best_.map;
        summary_.bestEpoch = best_.epoch;
        reporter_.log(LogLevel::error, message);
        if (folder_) {
            status_.state = "failed";
            status_.message = message;
            status_.updated = nowIso8601();
            try {
                folder_->writeStatus(status_);
            } catch (const Error&) {
            }
        }
        if (observer_)
            observer_->runFailed(summary_);
        return summary_;
    }

    const TrainingJob& job_;
    TrainingObserver* observer_;
    const std::atomic<bool>& stop_;
    Reporter reporter_;
    std::shared_ptr<Collective> collective_; ///< null: a single process
    std::unique_ptr<GradientReducer> reducer_;
    bool agreedStop_ = false;
    RunSummary summary_;
    std::unique_ptr<RunFolder> folder_;
    RunStatus status_;
    BestSoFar best_;

    // What to train.
    TrainOptions options_;
    TrainingSources sources_;
    TrainingSources recordedSources_; ///< absolute paths, as options.yaml and checkpoints record them
    std::optional<TrainingCheckpoint> resumeFrom_;
    int threads_ = 0;
    NetworkSpec spec_;
    std::optional<QuantConfig> quant_;
    bool stepsFromFile_ = false; ///< --from held step sizes (an LSQ or PTQ model): no data-driven init
    std::string phase_;
    int width_ = 0;
    int height_ = 0;
    YoloNetwork network_{nullptr};

    // Data and optimizer.
    DataConfig data_;
    LoadedDataset train_, val_;
    std::unique_ptr<BatchLoader> trainLoader_, valLoader_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    int64_t batchesPerEpoch_ = 0;
    int64_t totalBatches_ = 0;

    // Where the run is, and the loop's running figures.
    Position pos_;
    Clock::time_point epochStart_;
    double lossSum_ = 0;
    int64_t lossCount_ = 0;
    std::set<std::string> reportedProblems_;
    double smoothedBatchSeconds_ = 0;
    double imagesPerSecond_ = 0;
    double evalSeconds_ = 0;
};

} // namespace

Trainer::Trainer(TrainingJob job, TrainingObserver* observer) : job_(std::move(job)), observer_(observer) {}

RunSummary Trainer::run()
{
    return TrainingSession(job_, observer_, stopRequested_).run();
}

} // namespace tyq
