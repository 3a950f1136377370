#include "bitwidth/post_training.h"

#include "common/elapsed.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/state_dict.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <fmt/format.h>

#include <chrono>

namespace tyq {
namespace {

/// The first `count` samples of a split (all when count <= 0 or larger).
std::vector<Sample> firstSamples(const std::filesystem::path& list, const DataConfig& data, int count,
                                 const std::string& split)
{
    DatasetLoadOptions load;
    load.numClasses = data.classes;
    load.classNames = data.classNames;
    LoadedDataset dataset = loadDatasetList(list, load);
    if (dataset.samples.empty())
        throw Error(data.source.string() + ": the " + split + " split (" + list.string() + ") has no usable samples");
    if (count > 0 && static_cast<size_t>(count) < dataset.samples.size())
        dataset.samples.resize(static_cast<size_t>(count));
    return dataset.samples;
}

} // namespace

YoloNetwork cloneNetwork(const YoloNetworkImpl& network)
{
    YoloNetwork copy(network.spec());
    if (network.quantConfig())
        copy->quantize(*network.quantConfig());
    StateDict state = collectStateDict(network);
    applyStateDict(*copy, state, "network copy", /*requireClean=*/true);
    copy->setExecution(network.execution());
    if (network.is_training())
        copy->train();
    else
        copy->eval();
    return copy;
}

YoloNetwork quantizeAfterTraining(const YoloNetworkImpl& fp, const QuantConfig& config, const at::Tensor& calibrationImages,
                                  StepCalibration calibration, std::vector<std::string>* warnings)
{
    if (fp.quantized())
        throw Error("post-training quantization starts from a full-precision model; this one is already quantized");
    YoloNetwork q = cloneNetwork(fp);
    std::vector<std::string> w = q->quantize(config); // weight steps: LSQ's init on the fp weights
    if (warnings)
        warnings->insert(warnings->end(), w.begin(), w.end());
    q->setExecution(NetworkExecution::exact());
    q->eval();
    if (calibrationImages.defined() && calibrationImages.size(0) > 0)
        q->calibrateActivationSteps(calibrationImages, calibration);
    return q;
}

PostTrainingPreview::PostTrainingPreview(YoloNetwork fp, const std::filesystem::path& dataFile, PreviewOptions options,
                                         const std::string& modelName)
    : fp_(std::move(fp)), options_(options)
{
    if (fp_->quantized())
        throw Error(modelName + ": is already quantized (LSQ); post-training quantization starts from fp weights");
    const DataConfig data = loadDataConfig(dataFile);
    if (data.classes != fp_->spec().numClasses())
        throw Error(dataFile.string() + ": has " + std::to_string(data.classes) + " classes but the network predicts " +
                    std::to_string(fp_->spec().numClasses()));
    fp_->eval();

    BatchLoaderOptions loader;
    loader.width = options_.width > 0 ? options_.width : fp_->spec().width;
    loader.height = options_.height > 0 ? options_.height : fp_->spec().height;
    loader.shuffle = false;
    loader.threads = std::max(1, options_.loaderThreads);

    // The calibration images, decoded once: every run calibrates on the same tensor.
    std::vector<Sample> calibration = firstSamples(data.trainList, data, std::max(1, options_.calibrationImages), "train");
    BatchLoaderOptions calibrationLoader = loader;
    calibrationLoader.batchSize = static_cast<int>(calibration.size());
    calibrationLoader.threads = 1;
    Batch calibrationBatch = BatchLoader(calibration, calibrationLoader).buildBatch(0, 0);
    calibration_ = calibrationBatch.images;
    calibrationTargets_ = calibrationBatch.targets;

    loader.batchSize = std::max(1, options_.batchSize);
    validation_ = std::make_unique<BatchLoader>(firstSamples(data.validList, data, options_.validationImages, "val"), loader);
}

PostTrainingPreview::~PostTrainingPreview() = default;

std::unique_ptr<PostTrainingPreview> openPostTrainingPreview(ModelSource model, const std::filesystem::path& dataFile,
                                                             const PreviewOptions& options,
                                                             std::vector<std::string>* warnings)
{
    model.quant.clear();
    LoadedModel loaded = loadModel(model);
    if (warnings)
        warnings->insert(warnings->end(), loaded.warnings.begin(), loaded.warnings.end());
    return std::make_unique<PostTrainingPreview>(loaded.network, dataFile, options, model.weights.string());
}

void savePostTrainingCheckpoint(const PreviewResult& result, const std::filesystem::path& path)
{
    const YoloNetworkImpl& network = *result.network;
    TrainingCheckpoint c;
    c.model = collectStateDict(network);
    c.phase = "lsq";
    c.cfgText = network.spec().text;
    c.quantYaml = quantConfigToYaml(*network.quantConfig());
    c.metricsJson = fmt::format(R"({{"ptq": {{"map": {}, "contest_iou": {}}}}})", result.metrics.mAP,
                                result.metrics.contestIoU);
    c.tyqVersion = kTyqVersion;
    saveCheckpoint(c, path);
}

int PostTrainingPreview::validationCount() const
{
    return static_cast<int>(validation_->samples().size());
}

EvaluationResult PostTrainingPreview::evaluate(YoloNetworkImpl& network,
                                               const std::function<bool(int64_t, int64_t)>& progress) const
{
    return evaluateDataset(network, *validation_, options_.eval, progress);
}

EvaluationResult PostTrainingPreview::evaluateFullPrecision(const std::function<bool(int64_t, int64_t)>& progress) const
{
    return evaluate(*fp_.ptr(), progress);
}

PreviewResult PostTrainingPreview::run(const QuantConfig& config, const std::function<bool(int64_t, int64_t)>& progress) const
{
    PreviewResult result;
    const Clock::time_point start = Clock::now();
    result.network = quantizeAfterTraining(*fp_, config, calibration_, options_.calibration, &result.warnings);
    result.calibrationSeconds = secondsSince(start);
    const Clock::time_point evaluation = Clock::now();
    result.metrics = evaluate(*result.network, progress);
    result.evaluationSeconds = secondsSince(evaluation);
    return result;
}

} // namespace tyq
