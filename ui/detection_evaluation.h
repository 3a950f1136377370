// "Evaluate all" of the Detections panel: each loaded model over the listed images through
// core's evaluateDataset, so the numbers are those `tyq eval` prints for the same images and
// thresholds. Each image's top-box IoU streams back as it is scored. It owns its buttons, its
// progress bar and the summary of the last run.
#pragma once

#include "data/dataset.h"
#include "eval/detection_metrics.h"

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

class QProgressBar;
class QPushButton;

namespace tyq::ui {

template <typename T>
class BackgroundJob;
struct SlotModel;

/// What to evaluate: the models (null: slot empty), the images in list order, the thresholds.
struct EvaluationRequest {
    std::shared_ptr<SlotModel> models[2];
    bool integer[2] = {false, false}; ///< a slot's model runs its integer form (SlotModel::detectorFor)
    std::vector<Sample> samples;
    std::vector<int> entries; ///< the image list's entry of each sample
    float confThreshold = 0.5f;
    float nmsThreshold = 0.1f;
};

/// One message from the evaluation job: an image scored, or a model's totals.
struct EvaluationUpdate {
    int slot = 0;
    int entry = -1;     ///< >= 0: this image's top-box IoU
    double topIoU = 0;
    bool totals = false; ///< true: the model's result over every image
    EvaluationResult result;
    std::vector<std::string> problems; ///< images that could not be read
};

class DetectionEvaluation : public QObject {
    Q_OBJECT
public:
    explicit DetectionEvaluation(QObject* parent = nullptr);
    ~DetectionEvaluation() override; ///< cancels and waits

    /// "Evaluate all" (emits `evaluateAsked`), "Cancel" and the progress, for the panel to lay out.
    QPushButton* evaluateButton() const { return evaluateButton_; }
    QPushButton* cancelButton() const { return cancelButton_; }
    QProgressBar* progressBar() const { return progress_; }

    void start(EvaluationRequest request);
    void cancel();
    bool isRunning() const;
    /// `model` is what the running evaluation measures in `slot` (its scores belong to it).
    bool measures(int slot, const SlotModel* model) const;
    /// The last run in one line (rich text), noting thresholds changed since; empty before a run.
    QString summary(double confThreshold, double nmsThreshold) const;
    void clearSummary() { summary_.clear(); }

Q_SIGNALS:
    void evaluateAsked();
    void progress(int done, int total); ///< images done, over every model
    void imageScored(int slot, int entry, double topIoU);
    /// The end (the summary is set): cancelled or not, and the images that could not be read.
    void finished(bool cancelled, const QStringList& problems);

private:
    void onFinished(bool cancelled, const QStringList& totals, const QStringList& problems);

    QPushButton* evaluateButton_;
    QPushButton* cancelButton_;
    QProgressBar* progress_;
    std::shared_ptr<SlotModel> models_[2]; ///< those being evaluated
    int images_ = 0;
    float conf_ = -1, nms_ = -1; ///< the thresholds of the last run
    QString summary_;
    std::unique_ptr<BackgroundJob<EvaluationUpdate>> job_;
};

} // namespace tyq::ui
