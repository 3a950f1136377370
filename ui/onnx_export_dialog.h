// "Export ONNX": a model as standard ONNX (QCDQ when quantized: onnxruntime, OpenVINO, TensorRT)
// or QONNX (FINN, hls4ml), as `tyq export --format onnx|qonnx` writes it. Loading and writing
// run as one cancellable background job; the dialog reports the opset, nodes and size.
#pragma once

#include <QDialog>
#include <QString>

#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace tyq::ui {

template <typename T>
class BackgroundJob;

class OnnxExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit OnnxExportDialog(QWidget* parent = nullptr);
    /// Cancels a running export and waits for it.
    ~OnnxExportDialog() override;

    /// The model: a tyq checkpoint (fp or LSQ), or a reference .pth with its bit-width YAML for LSQ.
    void setModel(const QString& weights, const QString& quantYaml = {});
    void setOutputFile(const QString& path);
    /// "onnx" or "qonnx".
    void setFormat(const QString& format);

    /// Loads the model and writes the file in the background; `exportFinished` follows.
    void exportModel();
    /// Cancels the export before the file is written (a cancelled export writes nothing).
    void cancelExport();
    bool isBusy() const;

    QLabel* statusLabel() const { return status_; }
    QComboBox* formatBox() const { return format_; }
    QComboBox* outputsBox() const { return outputs_; }

Q_SIGNALS:
    void exportFinished(bool ok);
    /// One line for the studio's log.
    void message(const QString& text);

private:
    void setStatus(const QString& text);
    void updateButtons();

    QLineEdit* weights_;
    QLineEdit* quant_;
    QLineEdit* output_;
    QComboBox* format_;
    QComboBox* outputs_;
    QPushButton* export_;
    QPushButton* cancel_;
    QLabel* status_;
    std::unique_ptr<BackgroundJob<QString>> job_;
};

} // namespace tyq::ui
