// Data-parallel gradient averaging: every parameter's gradient (LSQ step sizes included) summed
// across ranks with allreduce in buckets of about `bucketBytes`, then divided by the world size,
// so every rank's optimizer takes the same step. Parameters that need no gradient (a bit-0
// quantizer's step size) are left out; those without one on this rank take part as zeros, so
// that every rank reduces the same buffers.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace tyq {

class Collective;

class GradientReducer {
public:
    GradientReducer(std::vector<at::Tensor> parameters, Collective& collective, int64_t bucketBytes = 4 << 20);

    /// Averages the gradients in place; every rank calls it at the same step.
    void reduce();

    size_t buckets() const { return buckets_.size(); }

private:
    std::vector<at::Tensor> parameters_;
    Collective& collective_;
    std::vector<std::vector<size_t>> buckets_; ///< parameter indices, last layer first (backward order)
};

} // namespace tyq
