// Per-layer sensitivity: what quantizing one quantizer alone (a conv's weights, or its input
// activation) at each candidate bit-width costs in accuracy, measured AIMET-style with the
// post-training preview, and two cheap proxies with how well each ranks the measured drops:
// the relative output error on a few calibration images, and HAWQ's Hessian-trace estimate.
#pragma once

#include "bitwidth/post_training.h"
#include "quant/quant_config.h"

#include <functional>
#include <string>
#include <vector>

namespace tyq {

struct SensitivityOptions {
    std::vector<int> bits = {2, 3, 4, 6, 8};
    bool weights = true;
    bool activations = true;
    /// Measure each candidate's accuracy (slow: one preview each); false: the proxy only.
    bool measure = true;
    int proxyImages = 8; ///< calibration images the proxies quantize and compare on
    /// Rademacher vectors of the Hessian-trace proxy (0: no Hessian proxy).
    int hessianSamples = 16;
};

struct SensitivityEntry {
    std::string module;  ///< module_list.<i>.conv_<i>
    bool weight = true;  ///< the weight quantizer, else the input activation's
    int bits = 0;
    double map = 0, contestIoU = 0; ///< measured, only this quantizer quantized (NaN if not measured)
    double mapDrop = 0;             ///< fp mAP minus map
    double contestIoUDrop = 0;
    /// The proxy: mean squared difference of the raw head outputs from the fp network's over
    /// their mean square, on the proxy images.
    double outputError = 0;
    /// HAWQ's proxy: 1/2 (Tr H / n) ||Q(x) - x||^2, H the Hessian of the training loss on the
    /// proxy images with respect to this quantizer's tensor (NaN when not estimated).
    double hessianProxy = 0;
};

struct SensitivityTable {
    double fpMap = 0, fpContestIoU = 0;
    std::vector<SensitivityEntry> entries; ///< module order, weight before activation, bits ascending
    /// Spearman rank correlation of outputError with mapDrop over the measured entries (NaN if
    /// fewer than 3 or no spread).
    double proxyRankCorrelation = 0;
    double hessianRankCorrelation = 0; ///< the same for hessianProxy
    /// The proxy that ranks the measured drops better (the output error when no drop is measured).
    bool hessianRanksBetter() const;
    /// That proxy's value for `e`.
    double bestProxy(const SensitivityEntry& e) const;
    const SensitivityEntry* find(const std::string& module, bool weight, int bits) const;
};

/// The bit-widths with only one quantizer on: every other quantizer off, this one at `bits`,
/// its other fields (symmetric, per-channel, ...) as `base` has them.
QuantConfig singleQuantizerConfig(const QuantConfig& base, const std::string& module, bool weight, int bits);

/// Measures every (conv, weight or activation, bits) of `options`. `progress(done, total, what)`
/// before the Hessian traces (done 0) and
/// after each; returning false stops (the table then holds the entries done). The quantizer
/// flags come from `base` (e.g. the editor's bit-widths).
SensitivityTable measureSensitivity(const PostTrainingPreview& preview, const QuantConfig& base,
                                    const SensitivityOptions& options,
                                    const std::function<bool(int, int, const std::string&)>& progress = {});

/// Spearman's rank correlation (average ranks for ties); NaN for fewer than 3 pairs or no spread.
double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b);

} // namespace tyq
