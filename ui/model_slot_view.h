// One model's part of the Detections panel (slot A or B): its row under "Models" (weights,
// bit-widths, Load, a busy bar, the outcome), its view of the current image with a title, and
// the table of its boxes. It drives a ModelSlot (model_slot.h) and turns the cached rows of the
// current image into boxes at the panel's thresholds.
#pragma once

#include "common/error.h"
#include "detection_comparison.h"
#include "detection_view.h"
#include "log_level_metatype.h"

#include <QObject>
#include <QString>
#include <QVector>

#include <functional>
#include <memory>
#include <vector>

class QCheckBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace tyq::ui {

class ModelSlot;

class ModelSlotView : public QObject {
    Q_OBJECT
public:
    /// `slot` 0 is A, 1 is B. The widgets are created here; the panel lays them out.
    explicit ModelSlotView(int slot, QObject* parent = nullptr);
    ~ModelSlotView() override;

    /// Puts the model row's widgets into `grid` at `row`.
    void addModelRow(QGridLayout* grid, int row);
    /// The title and the view, stacked.
    QWidget* viewBox() const { return viewBox_; }
    DetectionView* view() const { return view_; }
    QTableWidget* table() const { return table_; }

    /// Loads a model (drops the one before and its boxes); `loaded` follows.
    void load(const QString& weights, const QString& quantYaml);
    const ModelSlot& model() const { return *model_; }
    bool hasModel() const;
    QString weights() const;
    QString quantYaml() const;

    /// The image shown now (empty: none): runs the model on it unless its rows are cached.
    void showImage(const QString& path, const std::vector<BoxLabel>& labels);
    /// New thresholds: the boxes are recomputed from the cached rows, at once.
    void setThresholds(double conf, double nms);
    /// The current image's boxes (`ready` once the rows are in); `onlyHere` is the panel's to set.
    ModelBoxes& boxes() { return boxes_; }
    const ModelBoxes& boxes() const { return boxes_; }
    /// Waiting for this model's boxes of the current image.
    bool isPending() const;

    /// Draws the boxes over `truth` (none while the image is read) and fills the table.
    void render(const QVector<OverlayBox>& truth, bool haveImage, bool imagePending,
                const std::function<QString(int)>& className);

Q_SIGNALS:
    /// The user asked to load what the fields say.
    void loadAsked(const QString& weights, const QString& quantYaml);
    void loaded(bool ok, const QString& message, tyq::ErrorKind kind);
    /// The current image's boxes changed (rows arrived, or failed).
    void boxesChanged();
    /// The user picked a box in the table (-1: none).
    void boxSelected();
    /// The integer-engine switch changed what the model runs (the boxes are recomputed).
    void engineChanged();
    void status(const QString& text, bool error);
    void message(tyq::LogLevel level, const QString& text);

private:
    void recomputeBoxes();
    void onLoaded(bool ok, const QString& text, ErrorKind kind);
    /// The switch's state and tooltip for the model loaded now.
    void updateIntegerSwitch();
    /// "integer engine" or "fake-quant float" for a quantized model; empty for full precision.
    QString engineName() const;

    int slot_;
    ModelSlot* model_;
    QString path_;
    std::vector<BoxLabel> labels_;
    double conf_ = 0.5, nms_ = 0.1;
    ModelBoxes boxes_;
    double inferMs_ = 0;
    int selected_ = -1; ///< the box picked in the table (drawn highlighted)
    QString lastAsked_; ///< weights and YAML of the last load asked for

    QLineEdit* weightsEdit_;
    QLineEdit* yamlEdit_;
    QPushButton* loadButton_;
    QCheckBox* integerCheck_; ///< run a quantized model's integer form (persisted per slot)
    QProgressBar* busy_;
    QLabel* status_;
    QLabel* title_;
    QWidget* viewBox_;
    DetectionView* view_;
    QTableWidget* table_;
};

} // namespace tyq::ui
