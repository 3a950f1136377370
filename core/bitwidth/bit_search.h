// Mixed-precision search: per-layer weight and activation bits that minimise the predicted
// accuracy drop (the sum of the layers' measured sensitivities) within a budget of model size,
// bit-operations or both. Exact: a dynamic programme over the layers that keeps every
// (size, bit-operations, drop) combination not dominated by another, so nothing a greedy
// choice would miss is lost.
#pragma once

#include "bitwidth/sensitivity.h"
#include "model/darknet_cfg.h"
#include "quant/quant_config.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace tyq {

/// One way to quantize one layer, and what it costs and is predicted to lose.
struct LayerOption {
    int weightBits = 0; ///< 0 = full precision
    int actBits = 0;
    int64_t sizeBits = 0;
    int64_t bitOps = 0;
    double drop = 0;
};

struct SearchBudget {
    std::optional<int64_t> sizeBits; ///< at most this model size (parameters at their bit-widths)
    std::optional<int64_t> bitOps;   ///< at most this many bit-operations per image
};

struct SearchPoint {
    std::vector<int> choice; ///< per layer, an index into its options
    int64_t sizeBits = 0;
    int64_t bitOps = 0;
    double drop = 0; ///< predicted
};

/// The choice with the least summed drop within the budget (ties: the smaller model), or
/// nullopt when no choice fits.
std::optional<SearchPoint> searchBitWidths(const std::vector<std::vector<LayerOption>>& layers, const SearchBudget& budget);

/// Every choice on the size / predicted-drop Pareto front, smallest model first.
std::vector<SearchPoint> paretoFront(const std::vector<std::vector<LayerOption>>& layers);

/// The weight of the output-error proxy added to a measured drop: it only orders choices whose
/// measured drops are equal.
inline constexpr double kProxyTieBreak = 1e-3;

/// The options of each conv of `spec`: every pair of `weightBits` x `actBits` (0 = off) valid
/// with the quantizer flags of `base`, costed by summarizeNetwork at the input size, with drops
/// from `sensitivity` (weights' drop plus activations' drop, each its measured mAP drop plus
/// kProxyTieBreak x its output error; or, with `useProxy`, the output error alone; 0 for off).
/// A pair missing from the table is left out.
std::vector<std::vector<LayerOption>> layerOptions(const NetworkSpec& spec, const QuantConfig& base,
                                                   const SensitivityTable& sensitivity, const std::vector<int>& weightBits,
                                                   const std::vector<int>& actBits, bool useProxy = false);

/// The bit-widths of a choice, written as the reference's YAML expects: the most common pair
/// as quan_default, the other layers as excepts; quantizer flags from `base`.
QuantConfig configForChoice(const NetworkSpec& spec, const QuantConfig& base,
                            const std::vector<std::vector<LayerOption>>& layers, const std::vector<int>& choice);

} // namespace tyq
