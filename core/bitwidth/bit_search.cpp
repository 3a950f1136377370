#include "bitwidth/bit_search.h"

#include "common/error.h"
#include "model/network_summary.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace tyq {
namespace {

/// Keeps the states no other state dominates (no larger in size, bit-operations and drop, and
/// smaller in one), in size order.
void keepNonDominated(std::vector<SearchPoint>& states, bool withBitOps)
{
    std::sort(states.begin(), states.end(), [withBitOps](const SearchPoint& a, const SearchPoint& b) {
        if (!withBitOps)
            return std::tie(a.sizeBits, a.drop) < std::tie(b.sizeBits, b.drop);
        return std::tie(a.sizeBits, a.bitOps, a.drop) < std::tie(b.sizeBits, b.bitOps, b.drop);
    });
    std::vector<SearchPoint> kept;
    if (!withBitOps) {
        // Two criteria: in size order, a state survives only with a lower drop than all before.
        for (SearchPoint& s : states)
            if (kept.empty() || s.drop < kept.back().drop)
                kept.push_back(std::move(s));
    } else {
        // Three: a state sorted after another has no smaller size; it is dominated by one kept
        // with no more bit-operations and no more drop. `front` maps bit-operations to the least
        // drop kept at or below them (a staircase), so each test is a lookup.
        std::map<int64_t, double> front;
        for (SearchPoint& s : states) {
            auto it = front.upper_bound(s.bitOps);
            if (it != front.begin() && std::prev(it)->second <= s.drop)
                continue;
            // Drop the staircase steps this state now covers (more bit-operations, no less drop).
            for (auto next = front.lower_bound(s.bitOps); next != front.end() && next->second >= s.drop;)
                next = front.erase(next);
            front[s.bitOps] = s.drop;
            kept.push_back(std::move(s));
        }
    }
    states = std::move(kept);
}

std::vector<SearchPoint> frontier(const std::vector<std::vector<LayerOption>>& layers, const SearchBudget& budget)
{
    const bool withBitOps = budget.bitOps.has_value();
    std::vector<SearchPoint> states(1);
    for (const std::vector<LayerOption>& options : layers) {
        if (options.empty())
            throw Error("bit-width search: a layer has no candidate bit-widths");
        std::vector<SearchPoint> next;
        next.reserve(states.size() * options.size());
        for (const SearchPoint& s : states)
            for (size_t i = 0; i < options.size(); ++i) {
                SearchPoint t = s;
                t.choice.push_back(static_cast<int>(i));
                t.sizeBits += options[i].sizeBits;
                t.bitOps += options[i].bitOps;
                t.drop += options[i].drop;
                // Costs only grow layer by layer: a partial choice over the budget stays over.
                if ((budget.sizeBits && t.sizeBits > *budget.sizeBits) || (budget.bitOps && t.bitOps > *budget.bitOps))
                    continue;
                next.push_back(std::move(t));
            }
        keepNonDominated(next, withBitOps);
        states = std::move(next);
    }
    return states;
}

} // namespace

std::optional<SearchPoint> searchBitWidths(const std::vector<std::vector<LayerOption>>& layers, const SearchBudget& budget)
{
    const std::vector<SearchPoint> states = frontier(layers, budget);
    if (states.empty())
        return std::nullopt;
    return *std::min_element(states.begin(), states.end(), [](const SearchPoint& a, const SearchPoint& b) {
        return std::tie(a.drop, a.sizeBits, a.bitOps) < std::tie(b.drop, b.sizeBits, b.bitOps);
    });
}

std::vector<SearchPoint> paretoFront(const std::vector<std::vector<LayerOption>>& layers)
{
    return frontier(layers, SearchBudget{});
}

std::vector<std::vector<LayerOption>> layerOptions(const NetworkSpec& spec, const QuantConfig& base,
                                                   const SensitivityTable& sensitivity, const std::vector<int>& weightBits,
                                                   const std::vector<int>& actBits, bool useProxy)
{
    const std::vector<int> convs = spec.convIndices();
    std::vector<std::vector<LayerOption>> layers(convs.size());
    auto dropOf = [&](const std::string& module, bool weight, int bits) -> std::optional<double> {
        if (bits == 0)
            return 0.0;
        const SensitivityEntry* e = sensitivity.find(module, weight, bits);
        if (!e)
            return std::nullopt;
        if (useProxy)
            return e->outputError;
        // Noise can make a measured drop negative; equal drops (a small subset resolves mAP in
        // steps of a few hundredths) are told apart by the proxy, weighted far below one step.
        return std::max(0.0, e->mapDrop) + kProxyTieBreak * e->outputError;
    };
    for (int w : weightBits)
        for (int a : actBits) {
            // Every layer at (w, a) with its own flags: one summary costs every layer's option.
            QuantConfig config = base;
            config.defaults.weight.bit = w;
            config.defaults.act.bit = a;
            bool valid = true;
            for (int index : convs) {
                const std::string module = convModuleName(index);
                LayerQuantOverride o = base.overrideFor(module) ? *base.overrideFor(module) : LayerQuantOverride{};
                o.weight.bit = w;
                o.act.bit = a;
                config.setOverride(module, o);
                const LayerQuantSpec q = config.forModule(module);
                try {
                    validateQuantizerSpec(q.weight, module);
                    validateQuantizerSpec(q.act, module);
                } catch (const Error&) {
                    valid = false;
                }
            }
            if (!valid)
                continue; // e.g. 1-bit symmetric weights somewhere
            const NetworkSummary summary = summarizeNetwork(spec, &config);
            for (size_t i = 0; i < convs.size(); ++i) {
                const LayerSummary& l = summary.layers[static_cast<size_t>(convs[i])];
                const std::optional<double> dw = dropOf(l.moduleName, true, w), da = dropOf(l.moduleName, false, a);
                if (!dw || !da)
                    continue;
                layers[i].push_back({w, a, l.sizeBits, l.bitOps, *dw + *da});
            }
        }
    return layers;
}

QuantConfig configForChoice(const NetworkSpec& spec, const QuantConfig& base,
                            const std::vector<std::vector<LayerOption>>& layers, const std::vector<int>& choice)
{
    const std::vector<int> convs = spec.convIndices();
    if (choice.size() != convs.size() || layers.size() != convs.size())
        throw Error("bit-width search: the choice does not match the network's convs");
    std::map<std::pair<int, int>, int> counts;
    for (size_t i = 0; i < convs.size(); ++i) {
        const LayerOption& o = layers[i].at(static_cast<size_t>(choice[i]));
        ++counts[{o.weightBits, o.actBits}];
    }
    const auto common = std::max_element(counts.begin(), counts.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; })->first;
    QuantConfig config = base;
    config.defaults.weight.bit = common.first;
    config.defaults.act.bit = common.second;
    for (size_t i = 0; i < convs.size(); ++i) {
        const std::string module = convModuleName(convs[i]);
        const LayerOption& o = layers[i].at(static_cast<size_t>(choice[i]));
        LayerQuantOverride override = base.overrideFor(module) ? *base.overrideFor(module) : LayerQuantOverride{};
        override.weight.bit = o.weightBits != common.first ? std::optional<int>(o.weightBits) : std::nullopt;
        override.act.bit = o.actBits != common.second ? std::optional<int>(o.actBits) : std::nullopt;
        config.setOverride(module, override);
    }
    return config;
}

} // namespace tyq
