// LSQ (learned step size quantization, Esser et al. 2020) as the reference computes it:
// y = round(clamp(x / s, Qn, Qp)) * s, rounding with a straight-through gradient and the
// gradient reaching s scaled by g = 1 / sqrt(Qp * numel(x)). One module per quantized tensor.
#pragma once

#include "quant/quant_config.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace tyq {

enum class QuantizerRole { weight, activation };

/// How the fake-quantization is computed. Both give the same values; `fused` does the forward
/// in one pass and has a hand-written backward (one pass instead of the autograd chain).
enum class QuantKernel { reference, fused };

/// How an activation step size is set from data (post-training calibration, LSQ's init).
enum class StepCalibration {
    lsqInit,      ///< s = 2 mean|x| / sqrt(Qp): LSQ's data-driven init, made to be trained further
    minimumError, ///< the s minimizing the mean squared quantization error over x: for use as is
};
/// "lsq" / "mse", as the CLI and the studio name them; parseStepCalibration throws tyq::Error.
const char* stepCalibrationName(StepCalibration c);
StepCalibration parseStepCalibration(const std::string& name);

class LsqQuantizerImpl : public torch::nn::Module {
public:
    /// `channels` is the number of output channels (for per-channel weight step sizes).
    LsqQuantizerImpl(const QuantizerSpec& spec, QuantizerRole role, int64_t channels);

    /// Fake-quantizes x (identity when the spec's bit is 0).
    torch::Tensor forward(const torch::Tensor& x);

    /// LSQ's weight initialization: s = 2 mean(|w|) / sqrt(Qp) (per output channel if per_channel).
    void initStepFromWeight(const torch::Tensor& weight);

    /// LSQ's data-driven initialization for activations: s = 2 mean(|x|) / sqrt(Qp).
    void initStepFromActivation(const torch::Tensor& x);

    /// The step size minimizing mean (Q(x) - x)^2 over x (clipping against rounding error).
    void initStepMinimizingError(const torch::Tensor& x);

    /// Sets the step from data by `calibration` (activations).
    void calibrate(const torch::Tensor& x, StepCalibration calibration);

    /// Integer codes round(clamp(x / s, Qn, Qp)) as float tensor (what hardware stores).
    torch::Tensor codes(const torch::Tensor& x) const;

    const QuantizerSpec& spec() const { return spec_; }
    QuantizerRole role() const { return role_; }
    void setKernel(QuantKernel kernel) { kernel_ = kernel; }
    /// Data parallelism: x is this rank's share of a batch `factor` times larger, and the step's
    /// gradient scale 1 / sqrt(Qp numel) counts the whole batch's elements, as one process would.
    void setBatchFactor(double factor) { batchFactor_ = factor; }
    QuantKernel kernel() const { return kernel_; }

    /// The learned step size: shape [] (weight), [C,1,1,1] (per-channel weight) or [1] (activation).
    torch::Tensor s;

private:
    QuantizerSpec spec_;
    QuantizerRole role_;
    QuantKernel kernel_ = QuantKernel::reference;
    double batchFactor_ = 1.0;
};
TORCH_MODULE(LsqQuantizer);

/// The reference's activation step-size initial value.
constexpr float kReferenceActivationStep = 0.1260f;

/// The step size the forward divides and multiplies by for an input of `numel` elements:
/// s' = (s - s g) + s g with g = 1 / sqrt(Qp numel), equal to s up to float rounding, computed
/// with the same float operations as the reference chain. `s` must hold one value.
float lsqEffectiveStep(const torch::Tensor& s, int qmax, int64_t numel);

/// Fake quantization with the reference's exact float arithmetic (autograd through primitives).
torch::Tensor lsqFakeQuantizeReference(const torch::Tensor& x, const torch::Tensor& s, int qmin, int qmax,
                                       double batchFactor = 1.0);

/// Same values in one fused pass, with a hand-written backward (straight-through x gradient
/// inside the range, LSQ's step-size gradient scaled by 1 / sqrt(Qp * numel(x))). A bf16 `x`
/// (bf16 precision) is computed in f32 and gives bf16 values, each rounded once.
torch::Tensor lsqFakeQuantizeFused(const torch::Tensor& x, const torch::Tensor& s, int qmin, int qmax,
                                   double batchFactor = 1.0);

} // namespace tyq
