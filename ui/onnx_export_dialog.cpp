// Engine (LibTorch) headers first: Qt's `slots` macro breaks LibTorch's.
#include "common/atomic_file.h"
#include "data/dataset.h"
#include "io/onnx_export.h"
#include "model/model_loader.h"

#include "background_job.h"
#include "onnx_export_dialog.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace tyq::ui {

OnnxExportDialog::OnnxExportDialog(QWidget* parent)
    : QDialog(parent), job_(std::make_unique<BackgroundJob<QString>>(this))
{
    setWindowTitle(tr("Export ONNX"));
    setObjectName("onnxExportDialog");

    weights_ = new QLineEdit(this);
    weights_->setPlaceholderText(tr("a tyq checkpoint (fp or LSQ), or a reference .pth"));
    quant_ = new QLineEdit(this);
    quant_->setPlaceholderText(tr("bit-widths of a reference .pth (tyq checkpoints record theirs)"));
    output_ = new QLineEdit(this);
    output_->setPlaceholderText(tr("model.onnx"));
    format_ = new QComboBox(this);
    format_->addItem(tr("ONNX: fp, or QCDQ when quantized (onnxruntime, OpenVINO, TensorRT)"), "onnx");
    format_->addItem(tr("QONNX: Quant nodes (FINN, hls4ml)"), "qonnx");
    outputs_ = new QComboBox(this);
    outputs_->addItem(tr("Decoded rows (as detect --dump)"), "decoded");
    outputs_->addItem(tr("Raw yolo maps"), "raw");
    outputs_->addItem(tr("Both"), "both");
    format_->setCurrentIndex(std::max(0, format_->findData(settings::onnxExportFormat.get())));
    outputs_->setCurrentIndex(std::max(0, outputs_->findData(settings::onnxExportOutputs.get())));

    auto* form = new QFormLayout;
    form->addRow(tr("Model"), pathField(weights_, tr("Checkpoints (*.ckpt *.pth);;All files (*)")));
    form->addRow(tr("Bit-widths"), pathField(quant_, tr("YAML (*.yaml *.yml);;All files (*)")));
    form->addRow(tr("Format"), format_);
    form->addRow(tr("Outputs"), outputs_);
    form->addRow(tr("File"), pathField(output_, tr("ONNX (*.onnx);;All files (*)"), false, /*save=*/true));

    export_ = new QPushButton(tr("Export"), this);
    export_->setDefault(true);
    cancel_ = new QPushButton(tr("Cancel"), this);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(export_);
    buttons->addWidget(cancel_);
    buttons->addStretch();
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close, this);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(status_, 1);
    layout->addWidget(close);
    resize(640, 300);

    connect(export_, &QPushButton::clicked, this, &OnnxExportDialog::exportModel);
    connect(cancel_, &QPushButton::clicked, this, &OnnxExportDialog::cancelExport);
    connect(close, &QDialogButtonBox::rejected, this, &QDialog::reject);
    for (QLineEdit* e : {weights_, quant_, output_})
        connect(e, &QLineEdit::textChanged, this, &OnnxExportDialog::updateButtons);
    for (QComboBox* c : {format_, outputs_})
        connect(c, &QComboBox::currentIndexChanged, this, [this] {
            settings::onnxExportFormat.set(format_->currentData().toString());
            settings::onnxExportOutputs.set(outputs_->currentData().toString());
        });
    updateButtons();
}

OnnxExportDialog::~OnnxExportDialog() = default; // job_ cancels and waits

void OnnxExportDialog::setModel(const QString& weights, const QString& quantYaml)
{
    weights_->setText(weights);
    quant_->setText(quantYaml);
}

void OnnxExportDialog::setOutputFile(const QString& path)
{
    output_->setText(path);
}

void OnnxExportDialog::setFormat(const QString& format)
{
    format_->setCurrentIndex(std::max(0, format_->findData(format)));
}

bool OnnxExportDialog::isBusy() const
{
    return job_->isRunning();
}

void OnnxExportDialog::setStatus(const QString& text)
{
    status_->setText(text);
    Q_EMIT message(text);
}

void OnnxExportDialog::updateButtons()
{
    const bool busy = isBusy();
    export_->setEnabled(!busy && !weights_->text().trimmed().isEmpty() && !output_->text().trimmed().isEmpty());
    cancel_->setEnabled(busy);
    for (QWidget* w : std::initializer_list<QWidget*>{weights_, quant_, output_, format_, outputs_})
        w->setEnabled(!busy);
}

void OnnxExportDialog::cancelExport()
{
    if (isBusy()) {
        job_->cancel();
        setStatus(tr("Cancelling…"));
    }
}

void OnnxExportDialog::exportModel()
{
    if (isBusy())
        return;
    const QString weights = weights_->text().trimmed(), quant = quant_->text().trimmed();
    const QString output = output_->text().trimmed();
    const bool qonnx = format_->currentData().toString() == "qonnx";
    const std::string outputs = outputs_->currentData().toString().toStdString();

    auto work = [weights, quant, output, qonnx, outputs](QPromise<QString>& promise) {
        LoadedModel model = tyq::loadModel({"", toPath(quant), toPath(weights)});
        if (promise.isCanceled())
            return;
        OnnxExportOptions options;
        options.dialect = qonnx ? OnnxDialect::qonnx : OnnxDialect::qcdq;
        options.outputs = parseOnnxOutputs(outputs);
        options.classNames = dacClassNames();
        options.source = weights.toStdString();
        const OnnxExport result = exportOnnx(*model.network, options);
        if (promise.isCanceled()) // nothing is written after a Cancel
            return;
        writeFileAtomically(toPath(output), result.bytes);
        const QString form = !model.network->quantized() ? QObject::tr("full precision")
                             : qonnx                       ? QObject::tr("QONNX Quant nodes")
                                                           : QObject::tr("QCDQ");
        int nodes = 0;
        for (const auto& [op, count] : result.nodeCounts)
            nodes += count;
        promise.addResult(QObject::tr("Wrote %1: opset %2, %3, %4 quantizers, %5 nodes, %6 KB")
                              .arg(output)
                              .arg(result.opset)
                              .arg(form)
                              .arg(result.quantizers)
                              .arg(nodes)
                              .arg(static_cast<double>(result.bytes.size()) / 1024.0, 0, 'f', 0));
    };
    JobHandlers<QString> handlers;
    auto report = std::make_shared<QString>();
    handlers.result = [report](const QString& text) { *report = text; };
    handlers.finished = [this, report] {
        setStatus(*report);
        updateButtons();
        Q_EMIT exportFinished(true);
    };
    handlers.cancelled = [this] {
        setStatus(tr("Export cancelled; nothing written."));
        updateButtons();
        Q_EMIT exportFinished(false);
    };
    handlers.failed = [this, weights](const JobFailure& failure) {
        setStatus(tr("Export failed: %1").arg(modelLoadFailureText(failure, weights)));
        updateButtons();
        Q_EMIT exportFinished(false);
    };
    setStatus(tr("Exporting…"));
    job_->start(std::move(work), std::move(handlers));
    updateButtons();
}

} // namespace tyq::ui
