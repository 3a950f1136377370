// "Export for hardware": a quantized model's integer network (tyq export --format int) with its
// size per layer, fp32 against packed bits, and the check that the integer engine computes what
// the fake-quantized model computes on the validation images (identical codes per conv,
// identical detections, mAP both ways). Loading, exporting and checking each run as a
// cancellable background job; the dialog stays responsive throughout.
#pragma once

#include <QDialog>
#include <QString>

#include <memory>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace tyq::ui {

template <typename T>
class BackgroundJob;

class HardwareExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit HardwareExportDialog(QWidget* parent = nullptr);
    /// Cancels a running job and waits for it.
    ~HardwareExportDialog() override;

    /// The model: a tyq LSQ checkpoint, or a reference .pth with its bit-width YAML.
    void setModel(const QString& weights, const QString& quantYaml = {});
    /// The .data file whose validation split the check runs on.
    void setDataFile(const QString& dataFile);
    void setOutputDir(const QString& dir);

    /// Loads the model and builds its integer form in the background, then fills the size
    /// table; `modelLoaded` tells the outcome (the reason, e.g. a full-precision model, in the
    /// status line).
    void loadModel();
    /// Writes the export folder (loading the model first if needed); `exportFinished` follows.
    void exportModel();
    /// Starts the agreement check on up to imageLimit() validation images; `checkFinished` follows.
    void startCheck();
    /// Cancels the running job (a check stops between images).
    void cancelJob();
    /// A load, export or check is running.
    bool isBusy() const;

    QTableWidget* sizeTable() const { return sizeTable_; }
    QTableWidget* agreementTable() const { return agreementTable_; }
    QProgressBar* progressBar() const { return progress_; }
    QLabel* statusLabel() const { return status_; }
    QLabel* summaryLabel() const { return summary_; }
    QSpinBox* imageLimit() const { return imageLimit_; }

Q_SIGNALS:
    void modelLoaded(bool ok);
    void exportFinished(bool ok);
    /// The check ended: `cancelled`, and whether every image had identical detections.
    void checkFinished(bool cancelled, bool detectionsIdentical);
    /// One line for the studio's log.
    void message(const QString& text);

private:
    struct Loaded;
    struct Outcome;
    enum class Task { load, exportFolder, check };
    void run(Task task);
    void showSizes();
    void showAgreement(const Outcome& outcome);
    void setStatus(const QString& text);
    void updateButtons();

    QLineEdit* weights_;
    QLineEdit* quant_;
    QLineEdit* dataFile_;
    QLineEdit* outputDir_;
    QSpinBox* imageLimit_;
    QPushButton* load_;
    QPushButton* export_;
    QPushButton* check_;
    QPushButton* cancel_;
    QTableWidget* sizeTable_;
    QTableWidget* agreementTable_;
    QProgressBar* progress_;
    QLabel* status_;
    QLabel* summary_;
    std::shared_ptr<Loaded> loaded_;
    std::unique_ptr<BackgroundJob<std::shared_ptr<Outcome>>> job_;
};

} // namespace tyq::ui
