// One training step as the trainer runs it, for the benchmarks (tyq bench, bench/): forward, the
// yolo loss of every head, backward, Adam, zero grads.
#pragma once

#include "model/yolo_head.h"
#include "model/yolo_network.h"

#include <ATen/core/Tensor.h>
#include <torch/optim/adam.h>

#include <vector>

namespace tyq {

class TrainingStep {
public:
    TrainingStep(YoloNetwork network, at::Tensor images, at::Tensor targets)
        : network_(std::move(network)), images_(std::move(images)), targets_(std::move(targets)),
          optimizer_(network_->parameters(), torch::optim::AdamOptions(1e-4))
    {
        network_->train();
    }
    void run() { run(images_, targets_); }
    void run(const at::Tensor& images, const at::Tensor& targets)
    {
        const std::vector<at::Tensor> heads = network_->forward(images);
        const std::vector<int> yolo = network_->spec().yoloIndices();
        at::Tensor total;
        for (size_t k = 0; k < heads.size(); ++k) {
            const YoloLoss loss = yoloLoss(heads[k], network_->spec().layers[static_cast<size_t>(yolo[k])].yolo(),
                                           targets, images.size(2));
            total = total.defined() ? total + loss.total : loss.total;
        }
        total.backward();
        optimizer_.step();
        optimizer_.zero_grad();
    }
    YoloNetworkImpl& network() { return *network_; }

private:
    YoloNetwork network_;
    at::Tensor images_, targets_;
    torch::optim::Adam optimizer_;
};

} // namespace tyq
