// HAWQ's sensitivity proxy: the average Hessian trace of the training loss with respect to each
// conv's weights and to each conv's input activation, estimated by Hutchinson's method
// (E[v^T H v] = Tr H for Rademacher v) with Hessian-vector products by double backward, one
// product per tensor and sample.
// A quantizer's predicted loss increase is then 1/2 (Tr H / n) ||Q(x) - x||^2.
#pragma once

#include "model/yolo_network.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>

namespace tyq {

/// Tr H / n per conv (module_list.<i>.conv_<i>), for its weight and for its input activation.
struct HessianTraces {
    std::map<std::string, double> weight;
    std::map<std::string, double> activation;
};

/// Estimates the traces on `images` ([N, 3, H, W], 0..255) and their `targets` ([T, 6], as a
/// Batch holds them), with the network in eval mode (batch norm from its running statistics,
/// as deployed) and `samples` Rademacher vectors drawn from `seed`. `fp` is not changed.
HessianTraces estimateHessianTraces(const YoloNetworkImpl& fp, const at::Tensor& images, const at::Tensor& targets,
                                    int samples, uint64_t seed = 1);

/// 1/2 traceDensity ||quantized - original||^2: the second-order loss increase HAWQ predicts.
double hessianLossIncrease(double traceDensity, const at::Tensor& original, const at::Tensor& quantized);

} // namespace tyq
