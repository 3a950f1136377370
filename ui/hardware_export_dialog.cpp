// Engine (LibTorch) headers first: Qt's `slots` macro breaks LibTorch's.
#include "data/dataset.h"
#include "hw/integer_agreement.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "hw/integer_model_sizes.h"
#include "model/model_loader.h"

#include "background_job.h"
#include "hardware_export_dialog.h"
#include "ui_utils.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace tyq::ui {

/// The model as loaded: the fake-quantized network, its integer engine and their sizes.
struct HardwareExportDialog::Loaded {
    QString weights, quant;
    YoloNetwork network{nullptr};
    std::shared_ptr<IntegerEngine> engine;
    SizeReport sizes;
};

/// What a job hands back: the model it used (loaded now or before) and the task's result.
struct HardwareExportDialog::Outcome {
    std::shared_ptr<Loaded> loaded;
    DatasetAgreement agreement;
    EvalOptions options; // the training-time evaluation: conf .5, NMS .5, IoU .5
    QString exportedTo;
};

namespace {

QTableWidgetItem* cell(const QString& text, bool number = true)
{
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (number)
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QTableWidget* table(const QStringList& headers, QWidget* parent)
{
    auto* t = new QTableWidget(0, static_cast<int>(headers.size()), parent);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    return t;
}

void addRow(QTableWidget* t, const QStringList& values)
{
    const int row = t->rowCount();
    t->insertRow(row);
    for (int c = 0; c < values.size(); ++c)
        t->setItem(row, c, cell(values[c], c > 0 || values[0].at(0).isDigit()));
}

QString percent(double fraction)
{
    return QString::number(100 * fraction, 'f', 4) + " %";
}

} // namespace

HardwareExportDialog::HardwareExportDialog(QWidget* parent)
    : QDialog(parent), job_(std::make_unique<BackgroundJob<std::shared_ptr<Outcome>>>(this))
{
    setWindowTitle(tr("Export for hardware"));
    setObjectName("hardwareExportDialog");

    weights_ = new QLineEdit(this);
    weights_->setPlaceholderText(tr("an LSQ checkpoint (tyq .ckpt, or a reference .pth with its YAML)"));
    quant_ = new QLineEdit(this);
    quant_->setPlaceholderText(tr("bit-widths of a reference .pth (tyq checkpoints record theirs)"));
    dataFile_ = new QLineEdit(this);
    outputDir_ = new QLineEdit(this);
    imageLimit_ = new QSpinBox(this);
    imageLimit_->setRange(1, 100000);
    imageLimit_->setValue(100);
    imageLimit_->setToolTip(tr("Validation images the check runs on (about a second each)"));
    auto* form = new QFormLayout;
    form->addRow(tr("Model"), pathField(weights_, tr("Checkpoints (*.ckpt *.pth);;All files (*)")));
    form->addRow(tr("Bit-widths"), pathField(quant_, tr("YAML (*.yaml *.yml);;All files (*)")));
    form->addRow(tr("Dataset"), pathField(dataFile_, tr("Data files (*.data);;All files (*)")));
    form->addRow(tr("Images to check"), imageLimit_);
    form->addRow(tr("Export folder"), pathField(outputDir_, {}, /*folder=*/true));

    load_ = new QPushButton(tr("Load"), this);
    export_ = new QPushButton(tr("Export"), this);
    check_ = new QPushButton(tr("Check against fake-quant"), this);
    cancel_ = new QPushButton(tr("Cancel"), this);
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {load_, export_, check_, cancel_})
        buttons->addWidget(b);
    buttons->addStretch();

    sizeTable_ = table({tr("Layer"), tr("Weights"), tr("Bits"), tr("fp32 bytes"), tr("Packed bytes"), tr("Smaller")}, this);
    sizeTable_->setObjectName("sizeTable");
    agreementTable_ = table({tr("Conv"), tr("Codes"), tr("Identical"), tr("Layer by layer"), tr("Max diff"), tr("Ties"),
                             tr("Fixed vs exact")},
                            this);
    agreementTable_->setObjectName("agreementTable");
    agreementTable_->setToolTip(tr("Input codes of each conv, integer engine vs fake-quantized model. Identical: end to "
                                   "end; layer by layer: each producer fed the fake-quant model's own codes. Ties: "
                                   "values exactly halfway (rounded up). Fixed vs exact: the fixed-point result differs "
                                   "from rounding the exact value."));
    auto* sizes = new QGroupBox(tr("Size: fp32 against packed bits"), this);
    (new QVBoxLayout(sizes))->addWidget(sizeTable_);
    auto* agreement = new QGroupBox(tr("Integer engine against the fake-quantized model"), this);
    auto* agreementLayout = new QVBoxLayout(agreement);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    agreementLayout->addWidget(progress_);
    agreementLayout->addWidget(agreementTable_);
    agreementLayout->addWidget(summary_);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close, this);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(sizes, 1);
    layout->addWidget(agreement, 1);
    layout->addWidget(status_);
    layout->addWidget(close);
    resize(760, 720);

    connect(load_, &QPushButton::clicked, this, [this] { loadModel(); });
    connect(export_, &QPushButton::clicked, this, [this] { exportModel(); });
    connect(check_, &QPushButton::clicked, this, &HardwareExportDialog::startCheck);
    connect(cancel_, &QPushButton::clicked, this, &HardwareExportDialog::cancelJob);
    connect(close, &QDialogButtonBox::rejected, this, &QDialog::reject);
    for (QLineEdit* e : {weights_, quant_, dataFile_, outputDir_})
        connect(e, &QLineEdit::textChanged, this, &HardwareExportDialog::updateButtons);
    updateButtons();
}

HardwareExportDialog::~HardwareExportDialog() = default; // job_ cancels and waits

void HardwareExportDialog::setModel(const QString& weights, const QString& quantYaml)
{
    weights_->setText(weights);
    quant_->setText(quantYaml);
}

void HardwareExportDialog::setDataFile(const QString& dataFile)
{
    dataFile_->setText(dataFile);
}

void HardwareExportDialog::setOutputDir(const QString& dir)
{
    outputDir_->setText(dir);
}

void HardwareExportDialog::setStatus(const QString& text)
{
    status_->setText(text);
    Q_EMIT message(text);
}

bool HardwareExportDialog::isBusy() const
{
    return job_->isRunning();
}

void HardwareExportDialog::updateButtons()
{
    const bool busy = isBusy();
    const bool haveModel = !weights_->text().trimmed().isEmpty();
    load_->setEnabled(!busy && haveModel);
    export_->setEnabled(!busy && haveModel && !outputDir_->text().trimmed().isEmpty());
    check_->setEnabled(!busy && haveModel && !dataFile_->text().trimmed().isEmpty());
    cancel_->setEnabled(busy);
    for (QLineEdit* e : {weights_, quant_, dataFile_, outputDir_})
        e->setEnabled(!busy);
}

void HardwareExportDialog::loadModel()
{
    run(Task::load);
}

void HardwareExportDialog::exportModel()
{
    run(Task::exportFolder);
}

void HardwareExportDialog::startCheck()
{
    run(Task::check);
}

void HardwareExportDialog::cancelJob()
{
    if (isBusy()) {
        job_->cancel();
        setStatus(tr("Cancelling…"));
    }
}

void HardwareExportDialog::run(Task task)
{
    if (isBusy())
        return;
    const QString weights = weights_->text().trimmed(), quant = quant_->text().trimmed();
    const QString dataFile = dataFile_->text().trimmed(), outputDir = outputDir_->text().trimmed();
    const int imageLimit = imageLimit_->value();
    std::shared_ptr<Loaded> loaded = loaded_ && loaded_->weights == weights && loaded_->quant == quant ? loaded_ : nullptr;
    if (!loaded) {
        loaded_.reset();
        sizeTable_->setRowCount(0);
    }
    if (task == Task::check) {
        agreementTable_->setRowCount(0);
        summary_->clear();
        progress_->setRange(0, imageLimit);
        progress_->setValue(0);
    }

    // Every step that reads or writes files runs here, off the GUI thread.
    auto work = [task, weights, quant, dataFile, outputDir, imageLimit,
                 reuse = loaded](QPromise<std::shared_ptr<Outcome>>& promise) {
        auto outcome = std::make_shared<Outcome>();
        std::shared_ptr<Loaded> loaded = reuse;
        if (!loaded) {
            loaded = std::make_shared<Loaded>();
            loaded->weights = weights;
            loaded->quant = quant;
            LoadedModel model = tyq::loadModel({"", toPath(quant), toPath(weights)});
            loaded->network = model.network;
            loaded->engine = std::make_shared<IntegerEngine>(exportIntegerModel(*model.network, weights.toStdString()));
            loaded->sizes = integerModelSizes(loaded->engine->model());
        }
        outcome->loaded = loaded;
        if (task == Task::exportFolder) {
            writeIntegerModel(loaded->engine->model(), toPath(outputDir));
            outcome->exportedTo = outputDir;
        } else if (task == Task::check) {
            const DataConfig data = loadDataConfig(toPath(dataFile));
            DatasetLoadOptions options;
            options.numClasses = data.classes;
            options.classNames = data.classNames;
            std::vector<Sample> samples = loadDatasetList(data.validList, options).samples;
            if (samples.empty())
                throw Error(fromPath(data.validList).toStdString() + ": the validation split lists no usable images");
            samples.resize(std::min(samples.size(), static_cast<size_t>(imageLimit)));
            promise.setProgressRange(0, static_cast<int>(samples.size()));
            outcome->agreement = checkAgreementOnSamples(*loaded->network, *loaded->engine, samples, outcome->options,
                                                         [&](int done, int) {
                                                             promise.setProgressValue(done);
                                                             return !promise.isCanceled();
                                                         });
        }
        promise.addResult(outcome);
    };

    JobHandlers<std::shared_ptr<Outcome>> handlers;
    handlers.progress = [this](int done, int total) {
        progress_->setMaximum(total);
        progress_->setValue(done);
    };
    handlers.result = [this, task](const std::shared_ptr<Outcome>& outcome) {
        const bool fresh = loaded_ != outcome->loaded;
        loaded_ = outcome->loaded;
        if (fresh)
            showSizes();
        if (task == Task::load)
            Q_EMIT modelLoaded(true);
        if (task == Task::exportFolder) {
            setStatus(tr("Wrote the integer model to %1 (manifest.json, layer_*.npy, weights.packed)").arg(outcome->exportedTo));
            Q_EMIT exportFinished(true);
        }
        if (task == Task::check)
            showAgreement(*outcome);
    };
    handlers.finished = [this] { updateButtons(); };
    handlers.cancelled = [this, task] {
        updateButtons();
        if (task == Task::check) {
            const QString text = tr("Check cancelled after %1 of %2 image(s).").arg(progress_->value()).arg(progress_->maximum());
            summary_->setText(text);
            setStatus(text);
            Q_EMIT checkFinished(true, false);
        } else {
            setStatus(tr("Cancelled."));
            if (task == Task::load)
                Q_EMIT modelLoaded(false);
            else
                Q_EMIT exportFinished(false);
        }
    };
    handlers.failed = [this, task, weights](const JobFailure& failure) {
        updateButtons();
        switch (task) {
        case Task::load:
            setStatus(tr("Cannot export %1: %2").arg(weights, failure.message));
            Q_EMIT modelLoaded(false);
            break;
        case Task::exportFolder:
            setStatus(tr("Export failed: %1").arg(failure.message));
            Q_EMIT exportFinished(false);
            break;
        case Task::check:
            setStatus(tr("The check failed: %1").arg(failure.message));
            Q_EMIT checkFinished(false, false);
            break;
        }
    };
    job_->start(std::move(work), std::move(handlers));
    updateButtons();
    const QString what = QFileInfo(weights).fileName();
    setStatus(task == Task::check          ? tr("Checking up to %1 validation image(s)…").arg(imageLimit)
              : task == Task::exportFolder ? tr("Exporting %1…").arg(what)
                                           : tr("Loading %1…").arg(what));
}

void HardwareExportDialog::showSizes()
{
    sizeTable_->setRowCount(0);
    const SizeReport& report = loaded_->sizes;
    const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? QString::number(double(a) / double(b), 'f', 2) + "x" : QString(); };
    for (const LayerSize& s : report.layers)
        addRow(sizeTable_, {QString::number(s.index), QString::number(s.weights), QString::number(s.bits),
                            QString::number(s.fp32Bytes), QString::number(s.packedBytes), ratio(s.fp32Bytes, s.packedBytes)});
    addRow(sizeTable_, {tr("weights"), QString(), QString(), QString::number(report.fp32WeightBytes),
                        QString::number(report.packedWeightBytes), ratio(report.fp32WeightBytes, report.packedWeightBytes)});
    addRow(sizeTable_, {tr("model (+ requantization tables)"), QString(), QString(), QString::number(report.fp32ModelBytes),
                        QString::number(report.integerModelBytes()), ratio(report.fp32ModelBytes, report.integerModelBytes())});
    setStatus(tr("Loaded %1: %2 convs, %3 bytes packed")
                  .arg(loaded_->weights)
                  .arg(report.layers.size())
                  .arg(report.packedWeightBytes));
}

void HardwareExportDialog::showAgreement(const Outcome& outcome)
{
    const DatasetAgreement& result = outcome.agreement;
    for (const LayerAgreement& l : result.report.layers)
        addRow(agreementTable_, {QString::number(l.layer), QString::number(l.positions), percent(l.identicalFraction()),
                                 percent(l.isolatedFraction()), QString::number(l.maxDifference), QString::number(l.ties),
                                 QString::number(l.fixedPointVsExact)});
    const int images = result.imagesChecked;
    const int identical = result.report.imagesWithIdenticalDetections;
    QString text = tr("%1 image(s): detections identical on %2; mAP %3 fake-quant, %4 integer (conf %5, NMS %6); "
                      "largest box difference %7 px.")
                       .arg(images)
                       .arg(identical)
                       .arg(result.fakeQuant.mAP, 0, 'f', 4)
                       .arg(result.integer.mAP, 0, 'f', 4)
                       .arg(outcome.options.confThreshold)
                       .arg(outcome.options.nmsThreshold)
                       .arg(result.report.maxBoxDifference, 0, 'g', 3);
    if (!result.problems.empty())
        text += tr(" %1 image(s) could not be read.").arg(result.problems.size());
    summary_->setText(text);
    setStatus(tr("Check done."));
    Q_EMIT checkFinished(false, images > 0 && identical == images);
}

} // namespace tyq::ui
