// Per-layer sensitivity: what quantizing one quantizer alone (a conv's weights, or its input
// activation) at each candidate bit-width costs in accuracy, measured AIMET-style with the
// post-training preview, and a cheap proxy (the relative output error on a few calibration
// images) with how well it ranks the measured drops.
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
    int proxyImages = 8; ///< calibration images the proxy quantizes and compares on
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
};

struct SensitivityTable {
    double fpMap = 0, fpContestIoU = 0;
    std::vector<SensitivityEntry> entries; ///< module order, weight before activation, bits ascending
    /// Spearman rank correlation of outputError with mapDrop over the measured entries (NaN if
    /// fewer than 3 or no spread).
    double proxyRankCorrelation = 0;
    const SensitivityEntry* find(const std::string& module, bool weight, int bits) const;
};

/// The bit-widths with only one quantizer on: every other quantizer off, this one at `bits`,
/// its other fields (symmetric, per-channel, ...) as `base` has them.
QuantConfig singleQuantizerConfig(const QuantConfig& base, const std::string& module, bool weight, int bits);

/// Measures every (conv, weight or activation, bits) of `options`. `progress(done, total, what)`
/// after each; returning false stops (the table then holds the entries done). The quantizer
/// flags come from `base` (e.g. the editor's bit-widths).
SensitivityTable measureSensitivity(const PostTrainingPreview& preview, const QuantConfig& base,
                                    const SensitivityOptions& options,
                                    const std::function<bool(int, int, const std::string&)>& progress = {});

/// Spearman's rank correlation (average ranks for ties); NaN for fewer than 3 pairs or no spread.
double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b);

} // namespace tyq
