#include "dist/gradient_reducer.h"

#include "dist/collective.h"

#include <ATen/ATen.h>

namespace tyq {

GradientReducer::GradientReducer(std::vector<at::Tensor> parameters, Collective& collective, int64_t bucketBytes)
    : collective_(collective)
{
    for (at::Tensor& p : parameters)
        if (p.requires_grad())
            parameters_.push_back(std::move(p));
    int64_t filled = 0;
    for (size_t i = parameters_.size(); i-- > 0;) {
        const int64_t bytes = parameters_[i].numel() * static_cast<int64_t>(parameters_[i].element_size());
        if (buckets_.empty() || (filled > 0 && filled + bytes > bucketBytes)) {
            buckets_.emplace_back();
            filled = 0;
        }
        buckets_.back().push_back(i);
        filled += bytes;
    }
}

void GradientReducer::reduce()
{
    const double scale = 1.0 / collective_.worldSize();
    for (const std::vector<size_t>& bucket : buckets_) {
        std::vector<at::Tensor> grads;
        for (size_t i : bucket) {
            at::Tensor& p = parameters_[i];
            if (!p.grad().defined())
                p.mutable_grad() = at::zeros_like(p);
            grads.push_back(p.grad());
        }
        collective_.allreduceSum(grads);
        for (at::Tensor& g : grads)
            g.mul_(scale);
    }
}

} // namespace tyq
