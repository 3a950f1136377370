// The yolo layer's two jobs: decoding raw predictions into boxes (inference) and the
// reference's loss with its per-batch diagnostics (training).
#pragma once

#include "model/darknet_cfg.h"

#include <ATen/core/Tensor.h>

#include <functional>

namespace tyq {

/// Converts the raw output of one yolo layer [N, A*(5+C), H, W] to [N, A*H*W, 5+C] decoded rows
/// (anchor-major, then grid row, then column), as the reference does: cx = (sigmoid(tx) + col) *
/// stride, w = exp(tw) * anchor_w, sigmoid objectness and class scores. stride = inputHeight / H.
at::Tensor decodeYoloOutput(const at::Tensor& raw, const YoloSpec& yolo, int64_t inputHeight);

/// Loss terms (means over the masked cells) and the diagnostics the reference logs per batch.
struct YoloLoss {
    at::Tensor total; ///< x + y + w + h + conf_obj + 100 conf_noobj + cls, differentiable
    double x = 0, y = 0, w = 0, h = 0;
    double confObj = 0;   ///< BCE of objectness on cells responsible for an object
    double confNoobj = 0; ///< BCE of objectness elsewhere (before the x100 weight)
    double cls = 0;
    double classAccuracy = 0; ///< % of objects whose responsible cell has the right best class
    double recall50 = 0;      ///< objects found with conf > .5, right class and IoU > .5
    double recall75 = 0;
    double precision = 0;     ///< of cells with conf > .5, share that found an object at IoU > .5
    double meanConfObj = 0;
    double meanConfNoobj = 0;
    int64_t targets = 0;
};

/// Weight of the no-object objectness term (the reference's noobj_scale).
constexpr double kNoObjectScale = 100.0;

/// `targets` is [T, 6] (image index, class, cx, cy, w, h normalized to the input). Terms over
/// empty masks (a batch without objects) count 0 instead of the reference's NaN.
///
/// `normalizers`, when given, is called with the counts [object cells, no-object cells] (f64)
/// and replaces them with the divisors to use: a data-parallel job passes the mean count over
/// its ranks, so that the ranks' averaged gradient is that of one loss over the global batch.
using LossNormalizers = std::function<void(at::Tensor& counts)>;
YoloLoss yoloLoss(const at::Tensor& raw, const YoloSpec& yolo, const at::Tensor& targets, int64_t inputHeight,
                  const LossNormalizers& normalizers = {});

} // namespace tyq
