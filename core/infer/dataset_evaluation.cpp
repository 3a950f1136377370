#include "infer/dataset_evaluation.h"

#include "eval/nms.h"
#include "infer/inference_engine.h"
#include "model/yolo_network.h"

#include <ATen/ATen.h>

#include <optional>

namespace tyq {

std::vector<GroundTruth> truthBoxes(const std::vector<BoxLabel>& labels, int width, int height)
{
    std::vector<GroundTruth> truths;
    for (const BoxLabel& l : labels) {
        GroundTruth t;
        t.classId = l.classId;
        t.x1 = (l.cx - l.w / 2) * static_cast<float>(width);
        t.y1 = (l.cy - l.h / 2) * static_cast<float>(height);
        t.x2 = (l.cx + l.w / 2) * static_cast<float>(width);
        t.y2 = (l.cy + l.h / 2) * static_cast<float>(height);
        truths.push_back(t);
    }
    return truths;
}

EvaluationResult evaluateDataset(YoloNetworkImpl& network, BatchLoader& loader, const EvalOptions& options,
                                 const std::function<bool(int64_t, int64_t)>& progress,
                                 const ImageEvaluationSink& perImage, std::vector<std::string>* problems)
{
    const bool wasTraining = network.is_training();
    const NetworkExecution execution = network.execution();
    std::optional<InferenceEngine> engine;
    if (options.fastPath) // the weights once: BN folded, quantized weights computed
        engine.emplace(network, InferenceOptions().setPrecision(options.precision));
    network.eval();
    NetworkExecution evaluated = execution;
    evaluated.precision = options.precision;
    network.setExecution(evaluated);
    struct Restore { // the network's mode and execution, also when evaluation throws
        YoloNetworkImpl& network;
        NetworkExecution execution;
        bool training;
        ~Restore()
        {
            network.setExecution(execution);
            if (training)
                network.train();
        }
    } restore{network, execution, wasTraining};
    return evaluateDataset(
        [&](const at::Tensor& images) { return engine ? engine->detect(images) : network.detect(images); },
        network.spec().numClasses(), loader, options, progress, perImage, problems);
}

EvaluationResult evaluateDataset(const BatchDetector& detect, int numClasses, BatchLoader& loader,
                                 const EvalOptions& options, const std::function<bool(int64_t, int64_t)>& progress,
                                 const ImageEvaluationSink& perImage, std::vector<std::string>* problems)
{
    at::NoGradGuard noGrad;
    DetectionEvaluator evaluator(numClasses, options.iouThreshold);
    const int64_t total = static_cast<int64_t>(loader.samples().size());
    int64_t done = 0;

    loader.startEpoch(0);
    while (std::optional<Batch> batch = loader.next()) {
        if (problems)
            problems->insert(problems->end(), batch->problems.begin(), batch->problems.end());
        done += static_cast<int64_t>(batch->sampleIndices.size() + batch->problems.size());
        if (batch->sampleIndices.empty())
            continue;
        const int height = static_cast<int>(batch->images.size(2));
        const int width = static_cast<int>(batch->images.size(3));
        const at::Tensor decoded = detect(batch->images).contiguous();
        for (size_t i = 0; i < batch->sampleIndices.size(); ++i) {
            const int sampleIndex = batch->sampleIndices[i];
            const at::Tensor rows = decoded[static_cast<int64_t>(i)];
            std::vector<Detection> detections = nonMaxSuppression(rows.data_ptr<float>(), rows.size(0), numClasses,
                                                                  options.confThreshold, options.nmsThreshold);
            const std::vector<GroundTruth> truths =
                truthBoxes(loader.samples()[static_cast<size_t>(sampleIndex)].labels, width, height);
            evaluator.addImage(detections, truths);
            if (perImage) {
                ImageEvaluation e;
                e.sampleIndex = sampleIndex;
                if (!detections.empty() && !truths.empty()) {
                    const Detection& d = detections.front();
                    for (const GroundTruth& t : truths)
                        e.topIoU = std::max(e.topIoU, boxIouPlusOne(d.x1, d.y1, d.x2, d.y2, t.x1, t.y1, t.x2, t.y2));
                }
                e.detections = std::move(detections);
                e.truths = truths;
                perImage(std::move(e));
            }
        }
        if (progress && !progress(done, total))
            break;
    }
    return evaluator.result();
}

} // namespace tyq
