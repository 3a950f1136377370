#include "hw/integer_agreement.h"

#include "common/error.h"
#include "data/image_io.h"
#include "eval/detection_metrics.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace tyq {
namespace {

// The fake-quantized model's input codes of every conv: its input quantizer's codes of the
// previous layer's output (the image itself for an unquantized first input).
std::map<int, at::Tensor> fakeQuantInputCodes(YoloNetworkImpl& network, const at::Tensor& image,
                                              std::vector<at::Tensor>& heads)
{
    std::vector<at::Tensor> layerOutputs;
    heads = network.forward(image, &layerOutputs);
    std::map<int, at::Tensor> codes;
    for (const YoloNetworkImpl::ConvLayer& c : network.convLayers()) {
        const at::Tensor& x = c.index > 0 ? layerOutputs[static_cast<size_t>(c.index - 1)] : image;
        codes[c.index] = (c.conv->quanA && c.conv->quanA->spec().enabled() ? c.conv->quanA->codes(x) : x).to(at::kInt);
    }
    return codes;
}

void mergeLayer(LayerAgreement& total, const LayerAgreement& l)
{
    total.layer = l.layer;
    total.positions += l.positions;
    total.identical += l.identical;
    total.isolatedIdentical += l.isolatedIdentical;
    total.maxDifference = std::max(total.maxDifference, l.maxDifference);
    total.ties += l.ties;
    total.fixedPointVsExact += l.fixedPointVsExact;
}

} // namespace

bool sameDetections(const std::vector<Detection>& a, const std::vector<Detection>& b, double tolerance,
                    double* maxDifference)
{
    double worst = 0;
    bool same = a.size() == b.size();
    for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
        if (a[k].classId != b[k].classId)
            same = false;
        for (double d : {a[k].x1 - b[k].x1, a[k].y1 - b[k].y1, a[k].x2 - b[k].x2, a[k].y2 - b[k].y2})
            worst = std::max(worst, std::abs(d));
    }
    if (maxDifference)
        *maxDifference = worst;
    return same && worst <= tolerance;
}

ImageAgreement compareWithFakeQuant(YoloNetworkImpl& network, const IntegerEngine& engine, const at::Tensor& image,
                                    const DetectionOptions& detection, const std::string& name)
{
    network.eval();
    at::NoGradGuard noGrad;
    ImageAgreement result;
    result.name = name;

    std::vector<at::Tensor> fakeHeads;
    const std::map<int, at::Tensor> fakeCodes = fakeQuantInputCodes(network, image, fakeHeads);

    IntegerTrace trace;
    IntegerRunOptions run;
    run.trace = &trace;
    run.checkExact = true;
    const std::vector<at::Tensor> intHeads = engine.forward(image, run);

    IntegerTrace isolated;
    IntegerRunOptions forced;
    forced.trace = &isolated;
    forced.forcedInputs = &fakeCodes;
    engine.forward(image, forced);

    for (const IntegerConvLayer& conv : engine.model().convs) {
        LayerAgreement l;
        l.layer = conv.index;
        const at::Tensor& expected = fakeCodes.at(conv.index);
        const at::Tensor& got = trace.convInputs.at(conv.index);
        l.positions = expected.numel();
        l.identical = at::eq(got, expected).sum().item<int64_t>();
        l.maxDifference = l.positions > 0 ? (got - expected).abs().max().item<int64_t>() : 0;
        // Layer by layer: the codes the engine computes for this conv when every producer got
        // the fake-quant model's own input codes (the first conv reads the image: no producer).
        at::Tensor isolatedCodes;
        if (auto it = isolated.outputs.find({conv.index - 1, conv.index}); it != isolated.outputs.end())
            isolatedCodes = it->second;
        l.isolatedIdentical = isolatedCodes.defined() ? at::eq(isolatedCodes, expected).sum().item<int64_t>() : l.identical;
        if (auto it = trace.requantStats.find(conv.index); it != trace.requantStats.end()) {
            l.ties = it->second.ties;
            l.fixedPointVsExact = it->second.differFromExact;
        }
        result.layers.push_back(l);
    }

    for (size_t k = 0; k < fakeHeads.size(); ++k)
        result.maxHeadDifference = std::max(result.maxHeadDifference,
                                            (fakeHeads[k] - intHeads[k]).abs().max().item<double>());

    const NetworkSpec& spec = engine.spec();
    const auto decodeAll = [&](const std::vector<at::Tensor>& heads) {
        std::vector<at::Tensor> parts;
        const std::vector<int> yolo = spec.yoloIndices();
        for (size_t k = 0; k < heads.size(); ++k)
            parts.push_back(decodeYoloOutput(heads[k], spec.layers[static_cast<size_t>(yolo[k])].yolo(), image.size(2)));
        return (parts.size() == 1 ? parts.front() : at::cat(parts, 1))[0];
    };
    const std::vector<Detection> fake = Detector::detectionsFromDecoded(decodeAll(fakeHeads), spec.numClasses(), detection);
    const std::vector<Detection> integer = Detector::detectionsFromDecoded(decodeAll(intHeads), spec.numClasses(), detection);
    result.fakeDetections = static_cast<int>(fake.size());
    result.integerDetections = static_cast<int>(integer.size());
    result.detectionsIdentical = sameDetections(fake, integer, kBoxTolerance, &result.maxBoxDifference);
    result.fakeBoxes = fake;
    result.integerBoxes = integer;
    return result;
}

DatasetAgreement checkAgreementOnSamples(YoloNetworkImpl& network, const IntegerEngine& engine,
                                         const std::vector<Sample>& samples, const EvalOptions& options,
                                         const std::function<bool(int, int)>& progress)
{
    DatasetAgreement result;
    const NetworkSpec& spec = engine.spec();
    DetectionEvaluator fakeEval(spec.numClasses(), options.iouThreshold);
    DetectionEvaluator intEval(spec.numClasses(), options.iouThreshold);
    DetectionOptions detection;
    detection.confThreshold = options.confThreshold;
    detection.nmsThreshold = options.nmsThreshold;
    const int total = static_cast<int>(samples.size());
    for (int k = 0; k < total; ++k) {
        if (progress && !progress(k, total)) {
            result.cancelled = true;
            break;
        }
        const Sample& sample = samples[static_cast<size_t>(k)];
        at::Tensor image;
        try {
            image = loadNetworkInput(sample.image, spec.width, spec.height).unsqueeze(0);
        } catch (const Error& e) {
            result.problems.push_back(e.what());
            continue;
        }
        ImageAgreement a = compareWithFakeQuant(network, engine, image, detection, sample.image.string());
        const std::vector<GroundTruth> truths = truthBoxes(sample.labels, spec.width, spec.height);
        fakeEval.addImage(a.fakeBoxes, truths);
        intEval.addImage(a.integerBoxes, truths);
        result.report.add(a);
        ++result.imagesChecked;
    }
    if (progress && !result.cancelled)
        progress(total, total);
    result.fakeQuant = fakeEval.result();
    result.integer = intEval.result();
    return result;
}

void AgreementReport::add(const ImageAgreement& image)
{
    if (layers.size() < image.layers.size())
        layers.resize(image.layers.size());
    for (size_t k = 0; k < image.layers.size(); ++k)
        mergeLayer(layers[k], image.layers[k]);
    maxHeadDifference = std::max(maxHeadDifference, image.maxHeadDifference);
    maxBoxDifference = std::max(maxBoxDifference, image.maxBoxDifference);
    imagesWithIdenticalDetections += image.detectionsIdentical;
    images.push_back(image);
}

std::string AgreementReport::format() const
{
    std::string out = fmt::format("{:>5} {:>10} {:>12} {:>12} {:>9} {:>9} {:>5} {:>14}\n", "conv", "codes", "identical",
                                  "differ", "layerwise", "max diff", "ties", "fixed vs exact");
    for (const LayerAgreement& l : layers)
        out += fmt::format("{:>5} {:>10} {:>11.4f}% {:>12} {:>8.4f}% {:>9} {:>5} {:>14}\n", l.layer, l.positions,
                           100 * l.identicalFraction(), l.positions - l.identical, 100 * l.isolatedFraction(),
                           l.maxDifference, l.ties, l.fixedPointVsExact);
    out += fmt::format("images: {}, identical detections: {}, largest raw output difference {:.3g}, largest box "
                       "difference {:.3g} px\n",
                       images.size(), imagesWithIdenticalDetections, maxHeadDifference, maxBoxDifference);
    return out;
}

} // namespace tyq
