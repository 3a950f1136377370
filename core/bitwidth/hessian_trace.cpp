#include "bitwidth/hessian_trace.h"

#include "bitwidth/post_training.h"
#include "common/error.h"
#include "model/yolo_head.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>

namespace tyq {

HessianTraces estimateHessianTraces(const YoloNetworkImpl& fp, const at::Tensor& images, const at::Tensor& targets,
                                    int samples, uint64_t seed)
{
    if (fp.quantized())
        throw Error("the Hessian trace is taken of a full-precision model; this one is already quantized");
    if (samples < 1)
        throw Error("the Hessian trace needs at least one sample vector");
    YoloNetwork net = cloneNetwork(fp);
    net->setExecution(NetworkExecution::reference()); // plain ATen ops: all of them twice differentiable
    net->eval();

    const NetworkSpec& spec = net->spec();
    const at::Tensor input = images.detach().clone().requires_grad_(true);
    std::vector<at::Tensor> layerOutputs;
    const std::vector<at::Tensor> heads = net->forward(input, &layerOutputs);
    at::Tensor loss;
    const std::vector<int> yolo = spec.yoloIndices();
    for (size_t k = 0; k < heads.size(); ++k) {
        const at::Tensor term = yoloLoss(heads[k], spec.layers[yolo[k]].yolo(), targets, input.size(2)).total;
        loss = loss.defined() ? loss + term : term;
    }

    // What to differentiate by: every conv's weight, and its input (the image for layer 0, else
    // the previous layer's output; a conv right after a yolo layer sees its raw maps, which
    // layerOutputs does not hold, so it has no activation trace).
    struct Variable {
        std::string module;
        bool weight;
        at::Tensor tensor;
    };
    std::vector<Variable> variables;
    for (const auto& layer : net->convLayers()) {
        variables.push_back({layer.moduleName, true, layer.conv->weight});
        if (layer.index == 0)
            variables.push_back({layer.moduleName, false, input});
        else if (!spec.layers[static_cast<size_t>(layer.index - 1)].isYolo())
            variables.push_back({layer.moduleName, false, layerOutputs[static_cast<size_t>(layer.index - 1)]});
    }
    std::vector<at::Tensor> tensors;
    for (const Variable& v : variables)
        tensors.push_back(v.tensor);

    const std::vector<at::Tensor> gradients =
        torch::autograd::grad({loss}, tensors, {}, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true);
    at::Generator generator = at::detail::createCPUGenerator(seed);
    std::vector<double> traces(variables.size(), 0.0);
    for (int s = 0; s < samples; ++s)
        for (size_t k = 0; k < tensors.size(); ++k) {
            // One Hessian-vector product per tensor: a vector over all of them at once would
            // cost one product for all, but every cross block's v_k^T H_kj v_j adds variance,
            // and the large blocks' swamp the small ones' traces (seen on conv_0's 432 weights).
            if (!gradients[k].defined())
                continue;
            const at::Tensor v = at::randint(0, 2, tensors[k].sizes(), generator, tensors[k].options()) * 2 - 1;
            const at::Tensor product = torch::autograd::grad({(gradients[k] * v).sum()}, {tensors[k]}, {},
                                                             /*retain_graph=*/true, /*create_graph=*/false,
                                                             /*allow_unused=*/true)[0];
            if (product.defined())
                traces[k] += (product * v).sum().item<double>();
        }

    HessianTraces result;
    for (size_t k = 0; k < variables.size(); ++k) {
        // Negative estimates are sampling noise around a small trace (the loss is convex in the
        // heads and the network piecewise linear, so H is positive semi-definite almost everywhere).
        const double density =
            std::max(0.0, traces[k] / samples / static_cast<double>(variables[k].tensor.numel()));
        (variables[k].weight ? result.weight : result.activation)[variables[k].module] = density;
    }
    return result;
}

double hessianLossIncrease(double traceDensity, const at::Tensor& original, const at::Tensor& quantized)
{
    return 0.5 * traceDensity * (quantized.detach() - original.detach()).square().sum().item<double>();
}

} // namespace tyq
