// BatchNorm over the global batch of a data-parallel job (PyTorch's SyncBatchNorm): batch
// statistics from sums allreduced across ranks in forward, and the input gradient from the
// allreduced sums of the upstream gradient in backward, so that W ranks with batch b compute
// what one process computes with batch W x b. Running statistics are updated from the global
// batch on every rank. Parameter gradients stay local: the GradientReducer averages them.
#pragma once

#include <ATen/core/Tensor.h>

namespace torch::nn {
class BatchNorm2dImpl;
}

namespace tyq {

class Collective;

/// `bn`'s training-mode forward on `x` ([N, C, H, W], f32 or bf16, any layout) with
/// statistics over every rank's batch. Every rank must call it, in the same order, even with
/// an empty batch (N = 0).
at::Tensor syncBatchNorm(const at::Tensor& x, torch::nn::BatchNorm2dImpl& bn, Collective& collective);

} // namespace tyq
