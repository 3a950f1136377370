// What the Detections panel shows for one image: each model's boxes at the current thresholds
// with their IoU against the ground truth (network-input pixels, as the evaluation measures
// it), the boxes only one of the two models found, and the difference in one line.
#pragma once

#include "data/dataset.h"
#include "eval/detection.h"

#include <QColor>
#include <QString>

#include <functional>
#include <vector>

namespace at {
class Tensor;
}

namespace tyq::ui {

/// "A" or "B": the name of a model slot (0 or 1) in every label of the Detections panel.
QString slotName(int slot);

/// The colour of a class, as `tyq detect` draws it.
QColor classColor(int classId);

/// One model's boxes on the current image.
struct ModelBoxes {
    bool ready = false;                ///< its rows are in (or it failed: then `error`)
    QString error;
    std::vector<Detection> detections; ///< original image pixels, best first
    std::vector<float> truthIoU;       ///< per box, with the best-matching truth; NaN without truth
    std::vector<bool> onlyHere;        ///< no box of the other model with its class and IoU >= 0.5

    bool shown() const { return ready && error.isEmpty(); }
};

/// Boxes of a model's decoded rows ([rows, 5+C], network-input pixels of inputWidth x
/// inputHeight) after NMS, scaled to the original width x height; IoU against `labels`.
ModelBoxes boxesFromRows(const at::Tensor& decoded, int numClasses, int inputWidth, int inputHeight, int width,
                         int height, const std::vector<BoxLabel>& labels, float confThreshold, float nmsThreshold);

/// Sets each model's `onlyHere` against the other (all false unless both are shown).
void markBoxesOnlyOneFound(ModelBoxes& a, ModelBoxes& b);

/// "A: car 0.91 IoU 0.83 — B: car 0.88 IoU 0.80 · only B: person 0.52" (rich text); models
/// without a result (not `ready`) are left out.
QString differenceLine(const ModelBoxes (&boxes)[2], const std::function<QString(int)>& className,
                       double confThreshold);

} // namespace tyq::ui
