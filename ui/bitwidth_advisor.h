// The Quantize workspace's advice on the bit-widths being edited, over one post-training
// preview of an fp model (core bitwidth/): every edit re-runs the preview in the background
// (debounced, cancellable; the fp model and images are read once), a heat map of each layer's
// measured sensitivity, and the exact search's Pareto front of size against predicted mAP,
// whose points load into the editor as one undoable edit.
#pragma once

#include "core_types.h"

#include <QWidget>

#include <functional>
#include <memory>
#include <vector>
#include <optional>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QThreadPool;
class QTimer;

namespace tyq {
class PostTrainingPreview;
struct SensitivityTable;
struct SearchPoint;
struct LayerOption;
}

namespace tyq::ui {

template <typename T>
class BackgroundJob;
class QuantEditor;
struct PreviewKey;

class BitWidthAdvisor : public QWidget {
    Q_OBJECT
public:
    /// Advises on `editor`'s bit-widths (it must outlive this widget).
    explicit BitWidthAdvisor(QuantEditor* editor, QWidget* parent = nullptr);
    ~BitWidthAdvisor() override;

    /// The fp model and the dataset the preview uses; a change drops what was cached.
    void setSources(const QString& fpWeights, const QString& dataFile);
    QString fpWeights() const;
    /// Re-runs the preview now (what an edit does after the debounce).
    void previewNow();
    void cancel();
    bool isBusy() const;
    /// The last preview's mAP and contest IoU, if one finished for the current bit-widths.
    std::optional<double> previewMap() const { return previewMap_; }
    /// Measures every layer's sensitivity (weights and activations at 2, 3, 4, 8 bits).
    void measureSensitivity();
    /// Searches the front for the measured sensitivities (needs measureSensitivity first).
    void search();
    /// Points on the front (after search), smallest model first.
    int frontSize() const;
    /// Loads a front point's bit-widths into the editor (one undoable edit), as a click does.
    void applyFrontPoint(int index);
    /// Previews every front point in the background and plots the measured mAP beside the
    /// predicted one; `frontMeasured` follows.
    void measureFront();
    /// Measured mAP of front points so far (NaN where not measured).
    std::vector<double> measuredFront() const { return measuredFront_; }
    /// Writes the last preview's quantized model as a checkpoint: the Inspect workspace's model B.
    void usePreviewAsModelB();

    static constexpr int kDebounceMs = 600;

Q_SIGNALS:
    /// A preview finished (or failed: `ok` false and `text` says why); the label shows it too.
    void previewFinished(bool ok, const QString& text);
    void sensitivityFinished(bool ok, const QString& text);
    void frontMeasured(bool ok, const QString& text);
    /// The preview model was written to `checkpoint` for the detection view's model B.
    void previewModelReady(const QString& checkpoint);
    void message(tyq::LogLevel level, const QString& text);

private:
    struct PreviewOutcome;
    struct SensitivityOutcome;
    void buildUi();
    void schedulePreview();
    void showProgress(int done, int total);
    /// A job ended: Cancel and the progress bar follow what still runs.
    void jobEnded();
    void showSensitivity();
    void drawFront();
    std::shared_ptr<PostTrainingPreview> cachedPreview() const;
    /// The work's way to its preview: the cached one, else read now (on the worker thread).
    std::function<std::shared_ptr<PostTrainingPreview>()> previewProvider();
    /// What the work needs to find or build its preview: files, sizes, calibrator.
    PreviewKey currentKey() const;

    QuantEditor* editor_;
    QLineEdit* weights_;
    QString dataFile_;
    QSpinBox* calibImages_;
    QSpinBox* valImages_;
    QComboBox* calibrator_;
    QCheckBox* auto_;
    QPushButton* previewButton_;
    QPushButton* cancelButton_;
    QPushButton* modelBButton_;
    QProgressBar* progress_;
    QLabel* result_;
    QPushButton* sensitivityButton_;
    QTableWidget* heatMap_;
    QDoubleSpinBox* budgetKb_;
    QPushButton* searchButton_;
    QCustomPlot* front_;
    QLabel* frontLabel_;
    QTimer* debounce_;
    std::unique_ptr<QThreadPool> pool_; ///< one thread: the preview's loader is used by one job at a time

    struct Cache;
    std::shared_ptr<Cache> cache_; ///< the preview object, shared with the work that builds it
    std::unique_ptr<BackgroundJob<std::shared_ptr<PreviewOutcome>>> previewJob_;
    std::unique_ptr<BackgroundJob<std::shared_ptr<SensitivityOutcome>>> sensitivityJob_;
    std::unique_ptr<BackgroundJob<std::pair<int, double>>> frontJob_; ///< (front point, measured mAP)
    std::vector<double> measuredFront_;
    QPushButton* measureFrontButton_;
    std::optional<double> previewMap_;
    std::shared_ptr<PreviewOutcome> lastPreview_;
    std::shared_ptr<SensitivityOutcome> sensitivity_;
    std::vector<SearchPoint> frontPoints_;
    std::vector<std::vector<LayerOption>> frontOptions_;
};

} // namespace tyq::ui
