// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "infer/annotate.h"
#include "infer/dataset_evaluation.h"
#include "infer/detector.h"

#include "detection_comparison.h"

#include <QObject>
#include <QStringList>

#include <cmath>
#include <limits>

namespace tyq::ui {

namespace {

float score(const Detection& d) { return d.objectness * d.classScore; }

} // namespace

QString slotName(int slot)
{
    return slot == 0 ? "A" : "B";
}

QColor classColor(int classId)
{
    const cv::Scalar c = classColorRgb(classId);
    return QColor(int(c[0]), int(c[1]), int(c[2]));
}

ModelBoxes boxesFromRows(const at::Tensor& decoded, int numClasses, int inputWidth, int inputHeight, int width,
                         int height, const std::vector<BoxLabel>& labels, float confThreshold, float nmsThreshold)
{
    ModelBoxes boxes;
    boxes.ready = true;
    DetectionOptions options;
    options.confThreshold = confThreshold;
    options.nmsThreshold = nmsThreshold;
    try {
        boxes.detections = Detector::detectionsFromDecoded(decoded, numClasses, options);
    } catch (const std::exception& e) {
        boxes.error = QString::fromUtf8(e.what());
        return boxes;
    }
    const std::vector<GroundTruth> truths = truthBoxes(labels, inputWidth, inputHeight);
    boxes.truthIoU.assign(boxes.detections.size(), std::numeric_limits<float>::quiet_NaN());
    for (size_t i = 0; i < boxes.detections.size() && !truths.empty(); ++i) {
        const Detection& p = boxes.detections[i];
        float best = 0;
        for (const GroundTruth& t : truths) {
            const float iou = boxIouPlusOne(p.x1, p.y1, p.x2, p.y2, t.x1, t.y1, t.x2, t.y2);
            if (!std::isnan(iou))
                best = std::max(best, iou);
        }
        boxes.truthIoU[i] = best;
    }
    scaleDetections(boxes.detections, static_cast<float>(width) / static_cast<float>(inputWidth),
                    static_cast<float>(height) / static_cast<float>(inputHeight));
    boxes.onlyHere.assign(boxes.detections.size(), false);
    return boxes;
}

void markBoxesOnlyOneFound(ModelBoxes& a, ModelBoxes& b)
{
    const bool compare = a.shown() && b.shown();
    for (auto [mine, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        mine->onlyHere.assign(mine->detections.size(), false);
        if (!compare)
            continue;
        for (size_t i = 0; i < mine->detections.size(); ++i) {
            const Detection& p = mine->detections[i];
            bool matched = false;
            for (const Detection& q : other->detections)
                if (q.classId == p.classId && boxIouPlusOne(p.x1, p.y1, p.x2, p.y2, q.x1, q.y1, q.x2, q.y2) >= 0.5f) {
                    matched = true;
                    break;
                }
            mine->onlyHere[i] = !matched;
        }
    }
}

QString differenceLine(const ModelBoxes (&boxes)[2], const std::function<QString(int)>& className,
                       double confThreshold)
{
    QStringList parts;
    for (int slot = 0; slot < 2; ++slot) {
        const ModelBoxes& b = boxes[slot];
        if (!b.ready)
            continue;
        if (!b.error.isEmpty()) {
            parts << QObject::tr("<b>%1</b>: error").arg(slotName(slot));
        } else if (b.detections.empty()) {
            parts << QObject::tr("<b>%1</b>: nothing above conf %2").arg(slotName(slot)).arg(confThreshold, 0, 'f', 2);
        } else {
            const Detection& top = b.detections.front();
            QString text = QString("<b>%1</b>: %2 %3")
                               .arg(slotName(slot), className(top.classId).toHtmlEscaped())
                               .arg(score(top), 0, 'f', 2);
            if (!std::isnan(b.truthIoU.front()))
                text += QString(" IoU %1").arg(b.truthIoU.front(), 0, 'f', 2);
            parts << text;
        }
    }
    QString line = parts.join(" — ");
    if (!(boxes[0].shown() && boxes[1].shown()))
        return line;
    for (int slot = 0; slot < 2; ++slot) {
        const ModelBoxes& b = boxes[slot];
        QStringList only;
        for (size_t i = 0; i < b.detections.size(); ++i)
            if (b.onlyHere[i])
                only << QString("%1 %2").arg(className(b.detections[i].classId).toHtmlEscaped()).arg(score(b.detections[i]), 0, 'f', 2);
        if (!only.isEmpty())
            line += QObject::tr(" · <span style='color:#b35900'>only %1: %2</span>").arg(slotName(slot), only.join(", "));
    }
    if (!boxes[0].detections.empty() && !boxes[1].detections.empty() &&
        boxes[0].detections.front().classId != boxes[1].detections.front().classId)
        line += QObject::tr(" · <b>top classes differ</b>");
    return line;
}

} // namespace tyq::ui
