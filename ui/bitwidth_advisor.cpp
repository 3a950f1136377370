// LibTorch before Qt: its headers name a member `slots`.
#include "bitwidth/bit_search.h"
#include "bitwidth/post_training.h"
#include "bitwidth/sensitivity.h"

#include "bitwidth_advisor.h"

#include "background_job.h"
#include "quant_editor.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QThreadPool>
#include <QTimer>
#include <QVBoxLayout>

#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

namespace tyq::ui {
namespace {

const std::vector<int> kSensitivityBits = {2, 3, 4, 8};

} // namespace

/// What identifies a cached preview: the same files and sizes give the same images and model.
struct PreviewKey {
    QString weights, data;
    int calib = 0, val = 0;
    StepCalibration calibration = StepCalibration::minimumError;
    int width = 0, height = 0; ///< the editor's input size
    bool operator==(const PreviewKey& o) const
    {
        return weights == o.weights && data == o.data && calib == o.calib && val == o.val &&
               calibration == o.calibration && width == o.width && height == o.height;
    }
};

struct BitWidthAdvisor::Cache {
    std::mutex mutex;
    PreviewKey key;
    std::shared_ptr<PostTrainingPreview> preview;
    std::optional<EvaluationResult> fp;

    /// The preview for `k`, read on first use (on the worker thread: files and images).
    std::shared_ptr<PostTrainingPreview> get(const PreviewKey& k, std::optional<EvaluationResult>* fpMetrics = nullptr)
    {
        std::lock_guard lock(mutex);
        if (!preview || !(key == k)) {
            preview.reset();
            fp.reset();
            if (k.weights.isEmpty())
                throw Error("no fp model: choose its checkpoint (e.g. an fp run's checkpoints/best.ckpt)");
            if (k.data.isEmpty())
                throw Error("no dataset: the experiment names none");
            PreviewOptions options;
            options.calibrationImages = k.calib;
            options.validationImages = k.val;
            options.calibration = k.calibration;
            options.width = k.width;
            options.height = k.height;
            ModelSource source;
            source.weights = toPath(k.weights);
            preview = openPostTrainingPreview(source, toPath(k.data), options);
            key = k;
        }
        if (fpMetrics) {
            if (!fp)
                fp = preview->evaluateFullPrecision();
            *fpMetrics = fp;
        }
        return preview;
    }
};

struct BitWidthAdvisor::PreviewOutcome {
    PreviewResult result;
    EvaluationResult fp;
    double seconds = 0;
};

struct BitWidthAdvisor::SensitivityOutcome {
    SensitivityTable table;
    NetworkSpec spec;
    QuantConfig base;
    double seconds = 0;
};

BitWidthAdvisor::BitWidthAdvisor(QuantEditor* editor, QWidget* parent)
    : QWidget(parent), editor_(editor), pool_(std::make_unique<QThreadPool>()), cache_(std::make_shared<Cache>())
{
    pool_->setMaxThreadCount(1);
    previewJob_ = std::make_unique<BackgroundJob<std::shared_ptr<PreviewOutcome>>>(this, pool_.get());
    sensitivityJob_ = std::make_unique<BackgroundJob<std::shared_ptr<SensitivityOutcome>>>(this, pool_.get());
    frontJob_ = std::make_unique<BackgroundJob<std::pair<int, double>>>(this, pool_.get());
    buildUi();
    debounce_ = new QTimer(this);
    debounce_->setSingleShot(true);
    debounce_->setInterval(kDebounceMs);
    connect(debounce_, &QTimer::timeout, this, &BitWidthAdvisor::previewNow);
    connect(editor_, &QuantEditor::configChanged, this, &BitWidthAdvisor::schedulePreview);
}

BitWidthAdvisor::~BitWidthAdvisor()
{
    // The jobs first: they cancel and wait, so no work outlives the pool it runs on.
    previewJob_.reset();
    sensitivityJob_.reset();
    frontJob_.reset();
}

void BitWidthAdvisor::buildUi()
{
    // Preview.
    auto* preview = new QGroupBox(tr("Preview (PTQ)"), this);
    preview->setToolTip(tr("Post-training quantization: the fp model at these bit-widths, without training"));
    weights_ = new QLineEdit(preview);
    weights_->setObjectName("previewWeights");
    weights_->setPlaceholderText(tr("fp checkpoint, e.g. exps/<fp run>/checkpoints/best.ckpt"));
    weights_->setToolTip(tr("The full-precision model the preview quantizes (filled from the experiment)"));
    auto* browse = new QPushButton(tr("…"), preview);
    browse->setToolTip(tr("Choose the fp checkpoint"));
    calibImages_ = new QSpinBox(preview);
    calibImages_->setRange(1, 1024);
    calibImages_->setValue(settings::previewCalibImages.get());
    calibImages_->setToolTip(tr("Train images the activation steps are calibrated on"));
    valImages_ = new QSpinBox(preview);
    valImages_->setRange(1, 100000);
    valImages_->setValue(settings::previewValImages.get());
    valImages_->setToolTip(tr("Val images the preview is evaluated on (the first N)"));
    calibrator_ = new QComboBox(preview);
    calibrator_->addItem(tr("MSE"), "mse");
    calibrator_->addItem(tr("LSQ init"), "lsq");
    calibrator_->setCurrentIndex(settings::previewCalibrator.get() == "lsq" ? 1 : 0);
    calibrator_->setToolTip(tr("Activation steps: the least squared error (MSE) or LSQ's data-driven init"));
    auto_ = new QCheckBox(tr("On every edit"), preview);
    auto_->setChecked(settings::previewOnEdit.get());
    auto_->setToolTip(tr("Re-run the preview %1 ms after each bit-width edit").arg(kDebounceMs));
    previewButton_ = new QPushButton(tr("Preview"), preview);
    previewButton_->setObjectName("previewButton");
    cancelButton_ = new QPushButton(tr("Cancel"), preview);
    cancelButton_->setEnabled(false);
    modelBButton_ = new QPushButton(tr("As model B"), preview);
    modelBButton_->setObjectName("previewAsModelB");
    modelBButton_->setToolTip(tr("Show the preview model as model B in the Inspect workspace"));
    modelBButton_->setEnabled(false);
    progress_ = new QProgressBar(preview);
    progress_->setMaximumHeight(14);
    progress_->setTextVisible(false);
    result_ = new QLabel(tr("No preview yet"), preview);
    result_->setObjectName("previewResult");
    result_->setWordWrap(true);
    result_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* pg = new QGridLayout(preview);
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(weights_, 1);
    pathRow->addWidget(browse);
    pg->addLayout(pathRow, 0, 0, 1, 6);
    pg->addWidget(new QLabel(tr("Calib"), preview), 1, 0);
    pg->addWidget(calibImages_, 1, 1);
    pg->addWidget(new QLabel(tr("Val"), preview), 1, 2);
    pg->addWidget(valImages_, 1, 3);
    pg->addWidget(calibrator_, 1, 4, 1, 2);
    // Two buttons a row: the panel shares the workspace's width with the table's neighbours.
    pg->addWidget(auto_, 2, 0, 1, 3);
    pg->addWidget(previewButton_, 2, 3, 1, 3);
    pg->addWidget(cancelButton_, 3, 0, 1, 3);
    pg->addWidget(modelBButton_, 3, 3, 1, 3);
    pg->addWidget(progress_, 4, 0, 1, 6);
    pg->addWidget(result_, 5, 0, 1, 6);
    pg->setRowStretch(6, 1);

    // Sensitivity.
    auto* sensitivity = new QGroupBox(tr("Sensitivity (mAP drop)"), this);
    sensitivity->setToolTip(tr("The mAP lost with one quantizer at a time on, at each width"));
    sensitivityButton_ = new QPushButton(tr("Measure"), sensitivity);
    sensitivityButton_->setObjectName("measureSensitivity");
    sensitivityButton_->setToolTip(tr("Preview each conv's weights and input activations alone at 2, 3, 4 and 8 bits"));
    heatMap_ = new QTableWidget(sensitivity);
    heatMap_->setObjectName("sensitivityHeatMap");
    QStringList columns;
    for (const char* kind : {"W", "A"})
        for (int bits : kSensitivityBits)
            columns << QString("%1%2").arg(kind).arg(bits);
    heatMap_->setColumnCount(columns.size());
    heatMap_->setHorizontalHeaderLabels(columns);
    heatMap_->horizontalHeader()->setMinimumSectionSize(24);
    heatMap_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    heatMap_->setMinimumWidth(200);
    heatMap_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    heatMap_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);
    heatMap_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    heatMap_->setToolTip(tr("Colour: the mAP lost when only that quantizer is on; hover a cell for the numbers"));
    auto* sg = new QVBoxLayout(sensitivity);
    sg->addWidget(sensitivityButton_);
    sg->addWidget(heatMap_, 1);

    // Search.
    auto* search = new QGroupBox(tr("Search"), this);
    search->setToolTip(tr("Exact search: the least predicted drop (from the sensitivities) within the budget"));
    budgetKb_ = new QDoubleSpinBox(search);
    budgetKb_->setObjectName("budgetKb");
    budgetKb_->setRange(1, 100000);
    budgetKb_->setDecimals(0);
    budgetKb_->setSuffix(tr(" KB"));
    budgetKb_->setValue(settings::searchBudgetKb.get());
    budgetKb_->setToolTip(tr("Largest model size (parameters at their bit-widths), in 1000 bytes"));
    searchButton_ = new QPushButton(tr("Search"), search);
    searchButton_->setObjectName("searchButton");
    searchButton_->setEnabled(false);
    searchButton_->setToolTip(tr("Needs the sensitivities: Measure first"));
    measureFrontButton_ = new QPushButton(tr("Measure front"), search);
    measureFrontButton_->setObjectName("measureFront");
    measureFrontButton_->setToolTip(tr("Preview every point of the front: measured mAP (squares) beside the predicted (circles)"));
    measureFrontButton_->setEnabled(false);
    front_ = new QCustomPlot(search);
    front_->setObjectName("paretoFront");
    front_->setMinimumHeight(120);
    front_->setMinimumWidth(200);
    front_->xAxis->setLabel(tr("model size (KB)"));
    front_->yAxis->setLabel(tr("mAP"));
    front_->setInteractions(QCP::iSelectPlottables);
    front_->xAxis->setRange(0, 1000);
    front_->yAxis->setRange(0, 1);
    front_->legend->setVisible(false); // until there is a front
    front_->legend->setFont(QFont(font().family(), 8));
    front_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    frontLabel_ = new QLabel(tr("Click a point to load its bit-widths (Ctrl+Z undoes)"), search);
    frontLabel_->setWordWrap(true);
    auto* searchRow = new QGridLayout;
    searchRow->addWidget(new QLabel(tr("Budget"), search), 0, 0);
    searchRow->addWidget(budgetKb_, 0, 1);
    searchRow->addWidget(searchButton_, 1, 0);
    searchRow->addWidget(measureFrontButton_, 1, 1);
    auto* qg = new QVBoxLayout(search);
    qg->addLayout(searchRow);
    qg->addWidget(front_, 1);
    qg->addWidget(frontLabel_);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(preview, 3);
    layout->addWidget(sensitivity, 3);
    layout->addWidget(search, 4);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("fp model"), weights_->text(),
                                                          tr("Models (*.ckpt *.pth *.pt);;All files (*)"));
        if (!path.isEmpty()) {
            weights_->setText(path);
            schedulePreview();
        }
    });
    connect(weights_, &QLineEdit::editingFinished, this, &BitWidthAdvisor::schedulePreview);
    connect(previewButton_, &QPushButton::clicked, this, &BitWidthAdvisor::previewNow);
    connect(cancelButton_, &QPushButton::clicked, this, &BitWidthAdvisor::cancel);
    connect(modelBButton_, &QPushButton::clicked, this, &BitWidthAdvisor::usePreviewAsModelB);
    connect(sensitivityButton_, &QPushButton::clicked, this, &BitWidthAdvisor::measureSensitivity);
    connect(searchButton_, &QPushButton::clicked, this, &BitWidthAdvisor::search);
    connect(measureFrontButton_, &QPushButton::clicked, this, &BitWidthAdvisor::measureFront);
    connect(front_, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable* p, int dataIndex, QMouseEvent*) {
        if (p == front_->graph(0))
            applyFrontPoint(dataIndex);
    });
    auto remember = [this] {
        settings::previewCalibImages.set(calibImages_->value());
        settings::previewValImages.set(valImages_->value());
        settings::previewCalibrator.set(calibrator_->currentData().toString());
        settings::previewOnEdit.set(auto_->isChecked());
        settings::searchBudgetKb.set(budgetKb_->value());
    };
    connect(calibImages_, &QSpinBox::valueChanged, this, remember);
    connect(valImages_, &QSpinBox::valueChanged, this, remember);
    connect(calibrator_, &QComboBox::currentIndexChanged, this, [this, remember] {
        remember();
        schedulePreview();
    });
    connect(auto_, &QCheckBox::toggled, this, remember);
    connect(budgetKb_, &QDoubleSpinBox::valueChanged, this, remember);
}

void BitWidthAdvisor::showProgress(int done, int total)
{
    progress_->setRange(0, std::max(1, total));
    progress_->setValue(done);
}

void BitWidthAdvisor::jobEnded()
{
    cancelButton_->setEnabled(isBusy());
    progress_->setRange(0, 1);
    progress_->setValue(0);
}

void BitWidthAdvisor::setSources(const QString& fpWeights, const QString& dataFile)
{
    if (weights_->text() == fpWeights && dataFile_ == dataFile)
        return;
    weights_->setText(fpWeights);
    dataFile_ = dataFile;
    schedulePreview();
}

QString BitWidthAdvisor::fpWeights() const
{
    return weights_->text();
}

bool BitWidthAdvisor::isBusy() const
{
    return previewJob_->isRunning() || sensitivityJob_->isRunning() || frontJob_->isRunning();
}

void BitWidthAdvisor::schedulePreview()
{
    previewMap_.reset();
    if (auto_->isChecked() && !weights_->text().isEmpty())
        debounce_->start();
}

void BitWidthAdvisor::cancel()
{
    debounce_->stop();
    previewJob_->cancel();
    sensitivityJob_->cancel();
    frontJob_->cancel();
}

PreviewKey BitWidthAdvisor::currentKey() const
{
    return {weights_->text(),
            dataFile_,
            calibImages_->value(),
            valImages_->value(),
            parseStepCalibration(calibrator_->currentData().toString().toStdString()),
            editor_->summary().inputWidth,
            editor_->summary().inputHeight};
}

std::function<std::shared_ptr<PostTrainingPreview>()> BitWidthAdvisor::previewProvider()
{
    return [cache = cache_, key = currentKey()] { return cache->get(key); };
}

void BitWidthAdvisor::previewNow()
{
    debounce_->stop();
    const QuantConfig config = editor_->config();
    auto work = [cache = cache_, key = currentKey(), config](QPromise<std::shared_ptr<PreviewOutcome>>& promise) {
        const auto start = std::chrono::steady_clock::now();
        auto outcome = std::make_shared<PreviewOutcome>();
        std::optional<EvaluationResult> fp;
        const std::shared_ptr<PostTrainingPreview> preview = cache->get(key, &fp);
        if (promise.isCanceled())
            return;
        outcome->result = preview->run(config, [&](int64_t done, int64_t total) {
            promise.setProgressRange(0, static_cast<int>(total));
            promise.setProgressValue(static_cast<int>(done));
            return !promise.isCanceled();
        });
        if (promise.isCanceled())
            return;
        outcome->fp = *fp;
        outcome->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        promise.addResult(outcome);
    };
    JobHandlers<std::shared_ptr<PreviewOutcome>> handlers;
    handlers.progress = [this](int done, int total) { showProgress(done, total); };
    handlers.result = [this](const std::shared_ptr<PreviewOutcome>& o) {
        lastPreview_ = o;
        previewMap_ = o->result.metrics.mAP;
        const EvaluationResult& m = o->result.metrics;
        const QString text =
            tr("<b>mAP %1</b> (fp %2) · contest IoU %3 (fp %4) on %5 val images · %6 s (calibration %7 s)")
                .arg(m.mAP, 0, 'f', 3)
                .arg(o->fp.mAP, 0, 'f', 3)
                .arg(m.contestIoU, 0, 'f', 3)
                .arg(o->fp.contestIoU, 0, 'f', 3)
                .arg(m.images)
                .arg(o->seconds, 0, 'f', 1)
                .arg(o->result.calibrationSeconds, 0, 'f', 1);
        result_->setText(text);
        modelBButton_->setEnabled(true);
        Q_EMIT previewFinished(true, text);
    };
    auto done = [this] { jobEnded(); };
    handlers.failed = [this, done](const JobFailure& failure) {
        done();
        result_->setText(tr("<span style='color:#b02a37'>Preview failed: %1</span>").arg(failure.message.toHtmlEscaped()));
        Q_EMIT message(LogLevel::error, tr("Preview: %1").arg(failure.message));
        Q_EMIT previewFinished(false, failure.message);
    };
    handlers.finished = done;
    handlers.cancelled = [this, done] {
        result_->setText(tr("Preview cancelled"));
        done();
    };
    result_->setText(tr("Previewing…"));
    modelBButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    progress_->setRange(0, 0); // busy until the images are read
    previewJob_->start(std::move(work), std::move(handlers));
}

void BitWidthAdvisor::usePreviewAsModelB()
{
    if (!lastPreview_)
        return;
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
    QDir().mkpath(dir);
    const QString path = QDir(dir).filePath("preview-model-b.ckpt");
    try {
        savePostTrainingCheckpoint(lastPreview_->result, toPath(path));
    } catch (const std::exception& e) {
        showError(this, tr("Cannot write the preview model"), QString::fromUtf8(e.what()));
        return;
    }
    Q_EMIT previewModelReady(path);
}

void BitWidthAdvisor::measureSensitivity()
{
    const QuantConfig base = editor_->config();
    auto provider = previewProvider();
    auto work = [provider, base](QPromise<std::shared_ptr<SensitivityOutcome>>& promise) {
        const auto start = std::chrono::steady_clock::now();
        const std::shared_ptr<PostTrainingPreview> preview = provider();
        SensitivityOptions options;
        options.bits = kSensitivityBits;
        auto outcome = std::make_shared<SensitivityOutcome>();
        outcome->table = tyq::measureSensitivity(*preview, base, options, [&](int done, int total, const std::string&) {
            promise.setProgressRange(0, total);
            promise.setProgressValue(done);
            return !promise.isCanceled();
        });
        if (promise.isCanceled())
            return;
        outcome->spec = preview->fullPrecision().spec();
        outcome->base = base;
        outcome->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        promise.addResult(outcome);
    };
    JobHandlers<std::shared_ptr<SensitivityOutcome>> handlers;
    handlers.progress = [this](int done, int total) {
        showProgress(done, total);
        result_->setText(done == 0 ? tr("Measuring sensitivity: Hessian traces")
                                   : tr("Measuring sensitivity: %1 / %2").arg(done).arg(total));
    };
    handlers.result = [this](const std::shared_ptr<SensitivityOutcome>& o) {
        sensitivity_ = o;
        showSensitivity();
        searchButton_->setEnabled(true);
        searchButton_->setToolTip(tr("Find the bit-widths that lose least within the budget"));
        const QString text = tr("Sensitivity measured in %1 s; proxies' rank correlation with the drop: "
                                "output error %2, Hessian trace %3")
                                 .arg(o->seconds, 0, 'f', 0)
                                 .arg(o->table.proxyRankCorrelation, 0, 'f', 2)
                                 .arg(o->table.hessianRankCorrelation, 0, 'f', 2);
        result_->setText(text);
        Q_EMIT sensitivityFinished(true, text);
    };
    auto done = [this] {
        sensitivityButton_->setEnabled(true);
        jobEnded();
    };
    handlers.failed = [this, done](const JobFailure& failure) {
        done();
        result_->setText(tr("<span style='color:#b02a37'>Sensitivity failed: %1</span>").arg(failure.message.toHtmlEscaped()));
        Q_EMIT message(LogLevel::error, tr("Sensitivity: %1").arg(failure.message));
        Q_EMIT sensitivityFinished(false, failure.message);
    };
    handlers.finished = done;
    handlers.cancelled = done;
    sensitivityButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    result_->setText(tr("Measuring sensitivity…"));
    sensitivityJob_->start(std::move(work), std::move(handlers));
}

void BitWidthAdvisor::showSensitivity()
{
    const SensitivityTable& t = sensitivity_->table;
    const std::vector<int> convs = sensitivity_->spec.convIndices();
    heatMap_->setRowCount(static_cast<int>(convs.size()));
    double worst = 1e-9;
    for (const SensitivityEntry& e : t.entries)
        worst = std::max(worst, e.mapDrop);
    for (size_t row = 0; row < convs.size(); ++row) {
        const std::string module = convModuleName(convs[row]);
        heatMap_->setVerticalHeaderItem(static_cast<int>(row), new QTableWidgetItem(QString("conv_%1").arg(convs[row])));
        int column = 0;
        for (bool weight : {true, false})
            for (int bits : kSensitivityBits) {
                auto* item = new QTableWidgetItem;
                if (const SensitivityEntry* e = t.find(module, weight, bits)) {
                    item->setText(QString::number(e->mapDrop, 'f', 2));
                    // White (no loss) to red (the worst loss measured).
                    const double share = std::clamp(e->mapDrop / worst, 0.0, 1.0);
                    item->setBackground(QColor(255, static_cast<int>(255 - 180 * share), static_cast<int>(255 - 180 * share)));
                    item->setForeground(Qt::black);
                    item->setToolTip(tr("%1 %2 at %3 bits alone: mAP %4 (fp %5), drop %6; contest IoU %7; output error %8; Hessian proxy %9")
                                         .arg(QString::fromStdString(module), weight ? tr("weights") : tr("input activations"))
                                         .arg(bits)
                                         .arg(e->map, 0, 'f', 3)
                                         .arg(t.fpMap, 0, 'f', 3)
                                         .arg(e->mapDrop, 0, 'f', 3)
                                         .arg(e->contestIoU, 0, 'f', 3)
                                         .arg(e->outputError, 0, 'g', 3)
                                         .arg(e->hessianProxy, 0, 'g', 3));
                } else {
                    item->setText("–");
                }
                item->setTextAlignment(Qt::AlignCenter);
                heatMap_->setItem(static_cast<int>(row), column++, item);
            }
    }
}

void BitWidthAdvisor::search()
{
    if (!sensitivity_)
        return;
    std::vector<int> candidates = kSensitivityBits;
    candidates.insert(candidates.begin(), 0);
    frontOptions_ = layerOptions(sensitivity_->spec, sensitivity_->base, sensitivity_->table, candidates, candidates);
    frontPoints_ = paretoFront(frontOptions_);
    measuredFront_.assign(frontPoints_.size(), std::numeric_limits<double>::quiet_NaN());
    frontJob_->drop();
    measureFrontButton_->setEnabled(!frontPoints_.empty());
    SearchBudget budget;
    budget.sizeBits = static_cast<int64_t>(budgetKb_->value() * 8000);
    const std::optional<SearchPoint> best = searchBitWidths(frontOptions_, budget);
    drawFront();
    if (!best) {
        frontLabel_->setText(tr("Nothing fits %1 KB: the smallest choice is %2 KB")
                                 .arg(budgetKb_->value(), 0, 'f', 0)
                                 .arg(frontPoints_.empty() ? 0.0 : frontPoints_.front().sizeBits / 8000.0, 0, 'f', 0));
        return;
    }
    // The budget's best is a front point: load it.
    for (size_t i = 0; i < frontPoints_.size(); ++i)
        if (frontPoints_[i].choice == best->choice)
            applyFrontPoint(static_cast<int>(i));
}

void BitWidthAdvisor::drawFront()
{
    front_->clearGraphs();
    QCPGraph* g = front_->addGraph();
    g->setLineStyle(QCPGraph::lsStepLeft);
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(31, 119, 180), Qt::white, 7));
    g->setPen(QPen(QColor(31, 119, 180), 1.2));
    g->setSelectable(QCP::stSingleData);
    g->setName(tr("predicted"));
    for (const SearchPoint& p : frontPoints_)
        g->addData(p.sizeBits / 8000.0, sensitivity_->table.fpMap - p.drop);
    QCPGraph* m = front_->addGraph();
    m->setName(tr("measured (preview)"));
    m->setLineStyle(QCPGraph::lsNone);
    m->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, QColor(214, 39, 40), QColor(214, 39, 40), 6));
    m->setSelectable(QCP::stNone);
    for (size_t i = 0; i < frontPoints_.size() && i < measuredFront_.size(); ++i)
        if (std::isfinite(measuredFront_[i]))
            m->addData(frontPoints_[i].sizeBits / 8000.0, measuredFront_[i]);
    front_->legend->setVisible(true);
    front_->rescaleAxes();
    front_->yAxis->setRange(front_->yAxis->range().lower - 0.02, std::max(front_->yAxis->range().upper, sensitivity_->table.fpMap) + 0.02);
    front_->replot(QCustomPlot::rpQueuedReplot);
}

int BitWidthAdvisor::frontSize() const
{
    return static_cast<int>(frontPoints_.size());
}

void BitWidthAdvisor::measureFront()
{
    if (!sensitivity_ || frontPoints_.empty())
        return;
    std::vector<QuantConfig> configs;
    for (const SearchPoint& p : frontPoints_)
        configs.push_back(configForChoice(sensitivity_->spec, sensitivity_->base, frontOptions_, p.choice));
    auto work = [provider = previewProvider(), configs](QPromise<std::pair<int, double>>& promise) {
        const std::shared_ptr<PostTrainingPreview> preview = provider();
        promise.setProgressRange(0, static_cast<int>(configs.size()));
        for (size_t i = 0; i < configs.size() && !promise.isCanceled(); ++i) {
            promise.addResult(std::make_pair(static_cast<int>(i), preview->run(configs[i]).metrics.mAP));
            promise.setProgressValue(static_cast<int>(i + 1));
        }
    };
    JobHandlers<std::pair<int, double>> handlers;
    handlers.progress = [this](int done, int total) { showProgress(done, total); };
    handlers.result = [this](const std::pair<int, double>& r) {
        if (r.first >= 0 && static_cast<size_t>(r.first) < measuredFront_.size())
            measuredFront_[static_cast<size_t>(r.first)] = r.second;
        drawFront();
    };
    auto done = [this] {
        measureFrontButton_->setEnabled(true);
        jobEnded();
    };
    handlers.finished = [this, done] {
        done();
        Q_EMIT frontMeasured(true, tr("%1 front points previewed").arg(measuredFront_.size()));
    };
    handlers.cancelled = done;
    handlers.failed = [this, done](const JobFailure& failure) {
        done();
        frontLabel_->setText(tr("Measuring the front failed: %1").arg(failure.message));
        Q_EMIT frontMeasured(false, failure.message);
    };
    measureFrontButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    frontJob_->start(std::move(work), std::move(handlers));
}

void BitWidthAdvisor::applyFrontPoint(int index)
{
    if (!sensitivity_ || index < 0 || index >= frontSize())
        return;
    const SearchPoint& p = frontPoints_[static_cast<size_t>(index)];
    const QuantConfig config = configForChoice(sensitivity_->spec, sensitivity_->base, frontOptions_, p.choice);
    if (!editor_->applyBitWidths(config, tr("Search: %1 KB, predicted mAP %2").arg(p.sizeBits / 8000.0, 0, 'f', 0)
                                               .arg(sensitivity_->table.fpMap - p.drop, 0, 'f', 3)))
        return;
    frontLabel_->setText(tr("Loaded: %1 KB, predicted mAP %2 (Ctrl+Z undoes)")
                             .arg(p.sizeBits / 8000.0, 0, 'f', 0)
                             .arg(sensitivity_->table.fpMap - p.drop, 0, 'f', 3));
}

} // namespace tyq::ui
