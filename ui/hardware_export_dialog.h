// "Export for hardware": a quantized model's integer network (tyq export --format int) with its
// size per layer, fp32 against packed bits, and the check that the integer engine computes what
// the fake-quantized model computes on the validation images (identical codes per conv,
// identical detections, mAP both ways), on a cancellable worker thread.
#pragma once

#include <QDialog>
#include <QString>

#include <atomic>
#include <memory>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QThread;

namespace tyq::ui {

class HardwareExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit HardwareExportDialog(QWidget* parent = nullptr);
    /// Cancels a running check and waits for its thread.
    ~HardwareExportDialog() override;

    /// The model: a tyq LSQ checkpoint, or a reference .pth with its bit-width YAML.
    void setModel(const QString& weights, const QString& quantYaml = {});
    /// The .data file whose validation split the check runs on.
    void setDataFile(const QString& dataFile);
    void setOutputDir(const QString& dir);

    /// Loads the model and builds its integer form (fills the size table). False, with the
    /// reason in the status line, if it cannot (a full-precision model, a bad file).
    bool loadModel();
    /// Writes the export folder (loads the model first if needed).
    bool exportModel();
    /// Starts the agreement check on up to imageLimit() validation images.
    void startCheck();
    void cancelCheck();
    bool isChecking() const { return thread_ != nullptr; }

    QTableWidget* sizeTable() const { return sizeTable_; }
    QTableWidget* agreementTable() const { return agreementTable_; }
    QProgressBar* progressBar() const { return progress_; }
    QLabel* statusLabel() const { return status_; }
    QLabel* summaryLabel() const { return summary_; }
    QSpinBox* imageLimit() const { return imageLimit_; }

Q_SIGNALS:
    /// The check ended: `cancelled`, and whether every image had identical detections.
    void checkFinished(bool cancelled, bool detectionsIdentical);
    /// One line for the studio's log.
    void message(const QString& text);

private:
    struct Loaded;
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
    QThread* thread_ = nullptr;
    std::shared_ptr<std::atomic<bool>> cancelFlag_;
};

} // namespace tyq::ui
