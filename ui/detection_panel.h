// "Detections": browse a dataset split or a folder of images with two models side by side
// (typically A = the fp checkpoint, B = its LSQ version), ground truth dashed, predictions solid
// with their IoU, differences summarized. The parts live in their own units: the image list
// (image_list.h), each model and its cache (model_slot.h), "Evaluate all" (detection_evaluation.h).
// Every file is read in a background job; the GUI thread only draws.
#pragma once

#include "eval/detection.h"
#include "log_level_metatype.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <memory>
#include <vector>

class QTableView;

namespace tyq::ui {

class DetectionView;

class DetectionPanel : public QWidget {
    Q_OBJECT
public:
    explicit DetectionPanel(QWidget* parent = nullptr);
    ~DetectionPanel() override;

    /// Lists a split ("val" or "train") of a .data file in the background, with its labels as
    /// ground truth; `imagesListed` follows. Problems are shown in the panel and sent as `message`.
    void setDataset(const QString& dataFile, const QString& split = "val");
    /// Lists the images of a folder (no ground truth) in the background; `imagesListed` follows.
    void setImageFolder(const QString& dir);
    /// Loads a model into slot 0 (A) or 1 (B) on a worker thread; `modelLoaded` tells the outcome.
    /// `quantYaml` gives the bit-widths of a reference LSQ .pth (tyq checkpoints record theirs).
    void setModel(int slot, const QString& weights, const QString& quantYaml = {});
    /// Offers the experiment's best checkpoints (either may be empty): the "Runs' best" button
    /// loads the fp one as A and the LSQ one as B.
    void offerBestCheckpoints(const QString& fp, const QString& lsq);
    /// Shows the image in a row of the list as it is sorted and filtered; `imageShown` follows
    /// once the loaded models' detections are in.
    void showImage(int row);
    /// Images listed (after the class filter).
    int imageCount() const;
    /// The row shown, or -1.
    int currentRow() const;
    /// The current image's detections of a slot: original pixels, after NMS at the current
    /// thresholds, best first (empty without a model).
    std::vector<tyq::Detection> detections(int slot) const;
    void setThresholds(double conf, double nms);
    double confThreshold() const { return conf_; }
    double nmsThreshold() const { return nms_; }

    /// Runs both models over the listed images in the background (progress bar, cancellable).
    void evaluateAll();
    void cancelEvaluation();
    bool isEvaluating() const;
    /// Top-box IoU of a listed row for a slot after "Evaluate all"; NaN when not evaluated.
    double topIoU(int row, int slot) const;
    /// Sorts the list by IoU, lowest first.
    void sortWorstFirst();
    /// Shows only images whose ground truth has this class (-1: all).
    void setClassFilter(int classId);

    bool isModelLoaded(int slot) const;
    QString modelWeights(int slot) const;
    QString modelQuantYaml(int slot) const;
    QString imagePath(int row) const;

    QTableView* imageList() const;
    DetectionView* view(int slot) const;

Q_SIGNALS:
    /// A listing finished; `ok` if it lists at least one image.
    void imagesListed(bool ok);
    void modelLoaded(int slot, bool ok, const QString& message);
    void imageShown(int row);
    void evaluationProgress(int done, int total);
    void evaluationFinished();
    void message(tyq::LogLevel level, const QString& text);

protected:
    void keyPressEvent(QKeyEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Impl;
    void buildUi();
    void onListed(const QString& problem);
    void onEvaluationFinished(bool cancelled, const QStringList& problems);
    /// Marks the boxes only one model found and redraws (the rows of a model, or the image, came in).
    void refreshDetections();
    void updateViews();
    void updateSummary();
    void checkShown();
    void navigate(int delta, bool absolute = false);
    void setStatus(const QString& text, bool error = false);

    std::unique_ptr<Impl> d_;
    double conf_ = 0.5;
    double nms_ = 0.1;
};

} // namespace tyq::ui
