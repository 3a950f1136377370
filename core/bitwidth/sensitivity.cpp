#include "bitwidth/sensitivity.h"

#include "bitwidth/hessian_trace.h"
#include "common/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <numeric>

namespace tyq {
namespace {

std::vector<double> ranks(const std::vector<double>& v)
{
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        for (size_t k = i; k <= j; ++k)
            r[order[k]] = (static_cast<double>(i) + static_cast<double>(j)) / 2.0; // ties share the mean rank
        i = j + 1;
    }
    return r;
}

/// Mean squared difference of two networks' raw head outputs over the fp outputs' mean square.
double relativeOutputError(const std::vector<at::Tensor>& reference, const std::vector<at::Tensor>& outputs)
{
    double error = 0, power = 0;
    for (size_t i = 0; i < reference.size(); ++i) {
        error += (outputs[i] - reference[i]).square().sum().item<double>();
        power += reference[i].square().sum().item<double>();
    }
    return power > 0 ? error / power : 0.0;
}

} // namespace

const SensitivityEntry* SensitivityTable::find(const std::string& module, bool weight, int bits) const
{
    for (const SensitivityEntry& e : entries)
        if (e.module == module && e.weight == weight && e.bits == bits)
            return &e;
    return nullptr;
}

bool SensitivityTable::hessianRanksBetter() const
{
    return std::isfinite(hessianRankCorrelation) &&
           (!std::isfinite(proxyRankCorrelation) || hessianRankCorrelation > proxyRankCorrelation);
}

double SensitivityTable::bestProxy(const SensitivityEntry& e) const
{
    return hessianRanksBetter() ? e.hessianProxy : e.outputError;
}

QuantConfig singleQuantizerConfig(const QuantConfig& base, const std::string& module, bool weight, int bits)
{
    QuantConfig config;
    config.defaults = base.defaults;
    config.defaults.act.bit = 0;
    config.defaults.weight.bit = 0;
    const QuantizerSpec spec = weight ? base.forModule(module).weight : base.forModule(module).act;
    LayerQuantOverride o;
    QuantizerOverride& q = weight ? o.weight : o.act;
    q.mode = spec.mode;
    q.bit = bits;
    q.perChannel = spec.perChannel;
    q.symmetric = spec.symmetric;
    q.allPositive = spec.allPositive;
    config.setOverride(module, o);
    return config;
}

double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b)
{
    const size_t n = std::min(a.size(), b.size());
    if (n < 3)
        return std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> ra = ranks({a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n)});
    const std::vector<double> rb = ranks({b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)});
    const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / static_cast<double>(n);
    const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / static_cast<double>(n);
    double cov = 0, va = 0, vb = 0;
    for (size_t i = 0; i < n; ++i) {
        cov += (ra[i] - ma) * (rb[i] - mb);
        va += (ra[i] - ma) * (ra[i] - ma);
        vb += (rb[i] - mb) * (rb[i] - mb);
    }
    if (va <= 0 || vb <= 0)
        return std::numeric_limits<double>::quiet_NaN();
    return cov / std::sqrt(va * vb);
}

SensitivityTable measureSensitivity(const PostTrainingPreview& preview, const QuantConfig& base,
                                    const SensitivityOptions& options,
                                    const std::function<bool(int, int, const std::string&)>& progress)
{
    SensitivityTable table;
    const YoloNetworkImpl& fp = preview.fullPrecision();
    if (options.measure) {
        const EvaluationResult reference = preview.evaluateFullPrecision();
        table.fpMap = reference.mAP;
        table.fpContestIoU = reference.contestIoU;
    }
    const at::Tensor& calibration = preview.calibrationImages();
    const at::Tensor proxyImages =
        calibration.slice(0, 0, std::min<int64_t>(calibration.size(0), std::max(1, options.proxyImages)));
    std::vector<at::Tensor> fpOutputs, fpLayerOutputs;
    {
        at::NoGradGuard noGrad;
        YoloNetwork copy = cloneNetwork(fp);
        copy->eval();
        fpOutputs = copy->forward(proxyImages, &fpLayerOutputs);
    }
    std::map<std::string, size_t> layerSlot; // module -> index into convLayers()
    for (size_t k = 0; k < fp.convLayers().size(); ++k)
        layerSlot[fp.convLayers()[k].moduleName] = k;

    struct Candidate {
        std::string module;
        bool weight;
        int bits;
    };
    std::vector<Candidate> candidates;
    for (const auto& layer : fp.convLayers())
        for (bool weight : {true, false}) {
            if ((weight && !options.weights) || (!weight && !options.activations))
                continue;
            for (int bits : options.bits) {
                QuantizerSpec spec = weight ? base.forModule(layer.moduleName).weight : base.forModule(layer.moduleName).act;
                spec.bit = bits;
                try {
                    validateQuantizerSpec(spec, layer.moduleName);
                } catch (const Error&) {
                    continue; // e.g. 1 bit with a symmetric range
                }
                candidates.push_back({layer.moduleName, weight, bits});
            }
        }

    const int total = static_cast<int>(candidates.size());
    std::optional<HessianTraces> traces;
    if (options.hessianSamples > 0 && total > 0) {
        if (progress && !progress(0, total, "Hessian traces"))
            return table;
        const at::Tensor& targets = preview.calibrationTargets();
        const at::Tensor proxyTargets = targets.numel() ? targets.index({targets.select(1, 0) < proxyImages.size(0)}) : targets;
        traces = estimateHessianTraces(fp, proxyImages, proxyTargets, options.hessianSamples);
    }
    for (int i = 0; i < total; ++i) {
        const Candidate& c = candidates[static_cast<size_t>(i)];
        const QuantConfig config = singleQuantizerConfig(base, c.module, c.weight, c.bits);
        SensitivityEntry e;
        e.module = c.module;
        e.weight = c.weight;
        e.bits = c.bits;
        {
            // The proxy: calibrated and compared on a few images only.
            at::NoGradGuard noGrad;
            YoloNetwork q = quantizeAfterTraining(fp, config, proxyImages, preview.options().calibration);
            e.outputError = relativeOutputError(fpOutputs, q->forward(proxyImages));
            e.hessianProxy = std::numeric_limits<double>::quiet_NaN();
            const std::map<std::string, double>* density = traces ? (c.weight ? &traces->weight : &traces->activation) : nullptr;
            if (density && density->count(c.module)) {
                const size_t slot = layerSlot.at(c.module);
                const auto& layer = q->convLayers()[slot];
                const int index = layer.index;
                const at::Tensor original = c.weight ? fp.convLayers()[slot].conv->weight
                                            : index == 0 ? proxyImages
                                                         : fpLayerOutputs[static_cast<size_t>(index - 1)];
                LsqQuantizer quantizer = c.weight ? layer.conv->quanW : layer.conv->quanA;
                if (quantizer)
                    e.hessianProxy = hessianLossIncrease(density->at(c.module), original, quantizer->forward(original));
            }
        }
        if (options.measure) {
            const PreviewResult r = preview.run(config);
            e.map = r.metrics.mAP;
            e.contestIoU = r.metrics.contestIoU;
            e.mapDrop = table.fpMap - e.map;
            e.contestIoUDrop = table.fpContestIoU - e.contestIoU;
        } else {
            e.map = e.contestIoU = e.mapDrop = e.contestIoUDrop = std::numeric_limits<double>::quiet_NaN();
        }
        table.entries.push_back(e);
        if (progress &&
            !progress(i + 1, total, fmt::format("{} {} {} bits", c.module, c.weight ? "weights" : "activations", c.bits)))
            break;
    }

    std::vector<double> proxy, drop, hessian, hessianDrop;
    for (const SensitivityEntry& e : table.entries)
        if (std::isfinite(e.mapDrop)) {
            proxy.push_back(e.outputError);
            drop.push_back(e.mapDrop);
            if (std::isfinite(e.hessianProxy)) {
                hessian.push_back(e.hessianProxy);
                hessianDrop.push_back(e.mapDrop);
            }
        }
    table.proxyRankCorrelation = spearmanCorrelation(proxy, drop);
    table.hessianRankCorrelation = spearmanCorrelation(hessian, hessianDrop);
    return table;
}

} // namespace tyq
