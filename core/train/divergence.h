// Naming what made a run diverge, for the message that ends it: a parameter that already holds
// NaN/Inf, else the first layer whose output overflowed on the batch, else the loss itself.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace torch::nn {
class Module;
}

namespace tyq {

class YoloNetworkImpl;

/// Name of the first parameter holding NaN/Inf, or empty.
std::string firstNonFiniteParameter(const torch::nn::Module& module);

/// On the failure path only (it reruns the batch's forward pass keeping every layer's output):
/// "first non-finite parameter: <name>", "first non-finite output: layer 5 (convolutional, ...)",
/// or that every output is finite and the loss overflowed.
std::string divergenceCulprit(YoloNetworkImpl& network, const at::Tensor& images);

} // namespace tyq
