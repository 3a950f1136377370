#include "train/optimizer_state.h"

#include "common/error.h"
#include "model/weight_check.h"
#include "model/yolo_network.h"

#include <torch/optim/adam.h>

#include <map>

namespace tyq {

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

void restorePendingGradients(YoloNetworkImpl& network, const StateDict& saved, const std::string& source)
{
    std::map<std::string, at::Tensor> grads(saved.begin(), saved.end());
    for (auto& p : network.named_parameters())
        if (auto it = grads.find(p.key()); it != grads.end() && it->second.sizes() == p.value().sizes()) {
            if (const std::string summary = nonFiniteSummary(it->second); !summary.empty())
                throw Error(source + ": accumulated gradient of " + p.key() + ": " + summary + ", refused");
            p.value().mutable_grad() = it->second.clone();
        }
}

} // namespace tyq
