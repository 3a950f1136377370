#include "model/weight_check.h"

#include "common/error.h"
#include "io/state_dict.h"
#include "model/yolo_network.h"

#include <ATen/ATen.h>
#include <c10/util/StringUtil.h>

#include <cmath>
#include <set>
#include <sstream>

namespace tyq {
namespace {

std::string indexOf(const at::Tensor& t, int64_t flat)
{
    std::vector<int64_t> index(static_cast<size_t>(t.dim()));
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
        index[static_cast<size_t>(d)] = flat % t.size(d);
        flat /= t.size(d);
    }
    return c10::str(at::IntArrayRef(index));
}

} // namespace

std::string nonFiniteSummary(const at::Tensor& t)
{
    if (!t.defined() || !t.is_floating_point() || t.numel() == 0)
        return {};
    const at::Tensor bad = at::logical_not(at::isfinite(t.detach())).reshape({-1});
    const int64_t count = bad.sum().item<int64_t>();
    if (count == 0)
        return {};
    const int64_t first = bad.nonzero()[0][0].item<int64_t>();
    const double value = t.detach().reshape({-1})[first].item<double>();
    std::ostringstream out;
    out << count << " non-finite value" << (count == 1 ? "" : "s");
    if (count != t.numel() && t.numel() > 1)
        out << " of " << t.numel();
    out << " (" << (count == 1 ? "" : "first: ") << (std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
    if (t.numel() > 1)
        out << " at " << indexOf(t, first);
    out << ")";
    return out.str();
}

std::vector<std::string> invalidWeights(const YoloNetworkImpl& network)
{
    std::vector<std::string> problems;
    const StateDict tensors = collectStateDict(network);
    // A disabled quantizer (bit 0) keeps its step-size slot for the state dict but never reads it.
    std::set<std::string> unused;
    for (const auto& [name, quantizer] : network.quantizers())
        if (!quantizer->spec().enabled())
            unused.insert(name + ".s");
    for (const auto& [name, t] : tensors)
        if (const std::string summary = nonFiniteSummary(t); !summary.empty() && !unused.count(name))
            problems.push_back(name + ": " + summary);
    for (const YoloNetworkImpl::ConvLayer& layer : network.convLayers()) {
        if (layer.batchNorm.is_empty())
            continue;
        const at::Tensor& var = layer.batchNorm->running_var;
        const at::Tensor negative = (var < 0).reshape({-1});
        if (const int64_t count = negative.sum().item<int64_t>(); count > 0) {
            const int64_t first = negative.nonzero()[0][0].item<int64_t>();
            std::ostringstream out;
            out << "module_list." << layer.index << ".batch_norm_" << layer.index << ".running_var: " << count
                << " negative variance" << (count == 1 ? "" : "s") << " (" << var.reshape({-1})[first].item<double>()
                << " at [" << first << "])";
            problems.push_back(out.str());
        }
    }
    for (const auto& [name, quantizer] : network.quantizers()) {
        if (!quantizer->spec().enabled())
            continue;
        const at::Tensor s = quantizer->s.detach().reshape({-1});
        const at::Tensor notPositive = (s <= 0).logical_and(at::isfinite(s)); // non-finite ones are named above
        if (const int64_t count = notPositive.sum().item<int64_t>(); count > 0) {
            const int64_t first = notPositive.nonzero()[0][0].item<int64_t>();
            std::ostringstream out;
            out << name << ".s: " << count << " step size" << (count == 1 ? "" : "s") << " not > 0 ("
                << s[first].item<double>() << (s.numel() > 1 ? " at [" + std::to_string(first) + "]" : "") << ")";
            problems.push_back(out.str());
        }
    }
    return problems;
}

void checkWeights(const YoloNetworkImpl& network, const std::string& source, InvalidWeights policy,
                  std::vector<std::string>* warnings)
{
    const std::vector<std::string> problems = invalidWeights(network);
    if (problems.empty())
        return;
    if (policy == InvalidWeights::allow) {
        if (warnings)
            for (const std::string& p : problems)
                warnings->push_back(source + ": " + p + " (loaded anyway: invalid weights allowed)");
        return;
    }
    std::string message = source + ": invalid weights, refused (the network would compute no usable output):";
    for (const std::string& p : problems)
        message += "\n  " + p;
    throw Error(message, ErrorKind::invalidWeights);
}

} // namespace tyq
