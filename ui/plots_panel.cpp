#include "plots_panel.h"

#include "common/error.h"
#include "background_job.h"
#include "quantizer_list.h"
#include "studio_settings.h"
#include "train/run_folder.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSplitter>
#include <QTabWidget>
#include <QTextStream>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>
#include <cmath>
#include <set>

namespace tyq::ui {
namespace {

/// Fits the axes to the curves; epochs never go below 0 (one point alone would be centred on a
/// range reaching into negative epochs).
void fitAxes(QCustomPlot* plot)
{
    plot->rescaleAxes(true);
    const QCPRange x = plot->xAxis->range();
    if (x.lower < 0)
        plot->xAxis->setRange(0, std::max(x.upper, x.size() > 1e-9 ? x.upper : 1.0));
}

/// Log-axis ticks with a label in every decade: 1-2-5 steps over up to three decades, powers
/// of ten beyond (QCustomPlot's linear ticker leaves a log axis unlabelled below its first step,
/// where most step sizes are).
class LogTicker : public QCPAxisTicker {
protected:
    QVector<double> createTickVector(double, const QCPRange& range) override
    {
        QVector<double> ticks;
        const double lower = std::max(range.lower, 1e-300), upper = range.upper;
        if (!(upper > lower))
            return ticks;
        const int first = static_cast<int>(std::floor(std::log10(lower)));
        const int last = static_cast<int>(std::ceil(std::log10(upper)));
        static const std::vector<double> kOneTwoFive = {1, 2, 5}, kOne = {1};
        const std::vector<double>& mantissas = last - first <= 3 ? kOneTwoFive : kOne;
        const int decadeStep = std::max(1, (last - first) / 8); // at most about eight labels
        for (int e = first; e <= last; e += decadeStep)
            for (double m : mantissas)
                ticks.push_back(m * std::pow(10.0, e));
        // One tick either side of the range: QCustomPlot trims what it does not draw.
        return ticks;
    }
    int getSubTickCount(double) override { return 0; }
};

const QColor kPalette[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(214, 39, 40),
                           QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
                           QColor(188, 189, 34), QColor(23, 190, 207)};

QColor paletteColor(size_t i)
{
    return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

// Loss components as (series name, report field, plotted by default).
struct Component {
    const char* name;
    double BatchReport::*field;
};
const Component kComponents[] = {
    {"loss", &BatchReport::loss},          {"x", &BatchReport::x},
    {"y", &BatchReport::y},                {"w", &BatchReport::w},
    {"h", &BatchReport::h},                {"conf_obj", &BatchReport::confObj},
    {"conf_noobj x100", nullptr},          {"cls", &BatchReport::cls},
};

} // namespace

PlotsPanel::PlotsPanel(QWidget* parent)
    : QWidget(parent), loadJob_(std::make_unique<BackgroundJob<std::shared_ptr<const RunHistory>>>(this)),
      comparisonJob_(std::make_unique<BackgroundJob<std::shared_ptr<const RunHistory>>>(this))
{
    tabs_ = new QTabWidget(this);
    lossPlot_ = makePlot(tr("epoch"), tr("loss"));
    lrPlot_ = makePlot(tr("epoch"), tr("learning rate"));
    metricPlot_ = makePlot(tr("epoch"), tr("validation"));
    metricPlot_->yAxis->setRange(0, 1);

    auto* stepPage = new QSplitter(this);
    stepPlot_ = makePlot(tr("epoch"), tr("step size"));
    auto* stepSide = new QWidget(stepPage);
    auto* stepSideLayout = new QVBoxLayout(stepSide);
    stepSideLayout->setContentsMargins(0, 0, 0, 0);
    quantizers_ = new QuantizerList(stepSide);
    logScale_ = new QCheckBox(tr("Log scale"), stepSide);
    logScale_->setChecked(settings::stepSizeLogScale.get());
    stepSideLayout->addWidget(new QLabel(tr("Quantizers"), stepSide));
    stepSideLayout->addWidget(quantizers_, 1);
    stepSideLayout->addWidget(logScale_);
    stepPage->addWidget(stepPlot_);
    stepPage->addWidget(stepSide);
    stepPage->setStretchFactor(0, 4);

    tabs_->addTab(lossPlot_, tr("Loss"));
    tabs_->addTab(lrPlot_, tr("Learning rate"));
    tabs_->addTab(stepPage, tr("Step sizes"));
    tabs_->addTab(metricPlot_, tr("Validation"));

    smoothing_ = new QDoubleSpinBox(this);
    smoothing_->setRange(0.0, 0.999);
    smoothing_->setSingleStep(0.05);
    smoothing_->setDecimals(3);
    smoothing_->setValue(settings::plotSmoothing.get());
    smoothing_->setToolTip(tr("Exponential smoothing of the loss curves (0 = raw)"));
    auto* exportButton = new QPushButton(tr("Export…"), this);
    exportButton->setToolTip(tr("Save the current plot as PNG or PDF, or its curves as CSV"));
    auto* resetButton = new QPushButton(tr("Fit"), this);
    resetButton->setToolTip(tr("Rescale the axes to show every point"));

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Smoothing"), this));
    bar->addWidget(smoothing_);
    bar->addStretch();
    bar->addWidget(resetButton);
    bar->addWidget(exportButton);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(tabs_);

    flushTimer_ = new QTimer(this);
    flushTimer_->setInterval(kFlushIntervalMs);
    connect(flushTimer_, &QTimer::timeout, this, &PlotsPanel::flush);
    flushTimer_->start();

    connect(smoothing_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        settings::plotSmoothing.set(v);
        rebuildSmoothing();
    });
    auto applyScale = [this](bool log) {
        stepPlot_->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        stepPlot_->yAxis->setTicker(log ? QSharedPointer<QCPAxisTicker>(new LogTicker) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        stepPlot_->yAxis->setNumberFormat("g");
        stepPlot_->yAxis->setNumberPrecision(3);
    };
    connect(logScale_, &QCheckBox::toggled, this, [this, applyScale](bool on) {
        settings::stepSizeLogScale.set(on);
        applyScale(on);
        fitAxes(stepPlot_);
        stepPlot_->replot(QCustomPlot::rpQueuedReplot);
    });
    applyScale(logScale_->isChecked());
    connect(quantizers_, &QuantizerList::shownChanged, this, &PlotsPanel::showStepSizeCurve);
    connect(resetButton, &QPushButton::clicked, this, [this] {
        QCustomPlot* plot = currentPlot();
        fitAxes(plot);
        plot->replot();
    });
    connect(exportButton, &QPushButton::clicked, this, &PlotsPanel::exportCurrent);
    // Hidden plots are not redrawn as points arrive; the one brought to front is, at once.
    connect(tabs_, &QTabWidget::currentChanged, this, [this] { currentPlot()->replot(QCustomPlot::rpQueuedReplot); });
    clear(); // the curves exist (and are named in the legends) before the first point arrives
}

QCustomPlot* PlotsPanel::makePlot(const QString& xLabel, const QString& yLabel)
{
    auto* plot = new QCustomPlot(this);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom | QCP::iSelectPlottables);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->legend->setVisible(true);
    plot->legend->setFont(QFont(font().family(), 8));
    // The legend has a column of its own right of the axes: it never covers the curves.
    plot->axisRect()->insetLayout()->take(plot->legend);
    auto* column = new QCPLayoutGrid;
    plot->plotLayout()->addElement(0, 1, column);
    plot->plotLayout()->setColumnStretchFactor(1, 0.001);
    column->addElement(0, 0, plot->legend);
    column->addElement(1, 0, new QCPLayoutElement(plot)); // takes the height below: the legend stays compact
    column->setRowStretchFactor(0, 0.001);
    plot->legend->setMargins(QMargins(4, 2, 4, 2));
    plot->setNoAntialiasingOnDrag(true);
    // Antialiased lines cost several times more to draw; curves of thousands of points do not need them.
    plot->setNotAntialiasedElements(QCP::aePlottables);
    return plot;
}

QCustomPlot* PlotsPanel::currentPlot() const
{
    switch (tabs_->currentIndex()) {
    case 1: return lrPlot_;
    case 2: return stepPlot_;
    case 3: return metricPlot_;
    default: return lossPlot_;
    }
}

PlotsPanel::Series& PlotsPanel::series(const QString& name, QCustomPlot* plot, const QColor& color, bool smoothed)
{
    auto it = series_.find(name);
    if (it != series_.end())
        return it->second;
    Series& s = series_[name];
    s.smoothed = smoothed;
    s.graph = plot->addGraph();
    s.label = name;
    s.graph->setName(name);
    s.graph->setPen(QPen(color, 1.2));
    s.graph->setAdaptiveSampling(true); // day-long runs: hundreds of thousands of points
    return s;
}

void PlotsPanel::append(const QString& name, double x, double y)
{
    auto it = series_.find(name);
    if (it == series_.end() || !std::isfinite(y))
        return;
    Series& s = it->second;
    s.sumX += x;
    s.sumY += y;
    if (++s.pending < s.stride)
        return;
    s.x.push_back(s.sumX / static_cast<double>(s.stride));
    s.y.push_back(s.sumY / static_cast<double>(s.stride));
    s.sumX = s.sumY = 0;
    s.pending = 0;
    if (s.x.size() > kMaxPointsPerSeries)
        decimate(s);
}

void PlotsPanel::decimate(Series& s)
{
    // Pairs of stored points become their mean; an odd last one starts the next stored point
    // with its weight, so every stored point stays the mean of `stride` reported ones.
    const size_t n = s.x.size();
    for (size_t i = 0; i + 1 < n; i += 2) {
        s.x[i / 2] = (s.x[i] + s.x[i + 1]) / 2;
        s.y[i / 2] = (s.y[i] + s.y[i + 1]) / 2;
    }
    if (n % 2 == 1) {
        s.sumX = s.x[n - 1] * static_cast<double>(s.stride);
        s.sumY = s.y[n - 1] * static_cast<double>(s.stride);
        s.pending = s.stride;
    }
    s.x.resize(n / 2);
    s.y.resize(n / 2);
    s.x.shrink_to_fit();
    s.y.shrink_to_fit();
    s.stride *= 2;
    // The curve is redrawn from the averaged points at the next flush.
    s.graph->data()->clear();
    s.drawn = 0;
    s.ema = 0;
}

size_t PlotsPanel::storedPointCount() const
{
    size_t total = 0;
    for (const auto& [name, s] : series_)
        total += s.x.size() + static_cast<size_t>(s.graph ? s.graph->dataCount() : 0);
    return total;
}

void PlotsPanel::clear()
{
    if (holdingLive_) { // a new run replaces the one being continued
        loadJob_->drop();
        holdingLive_ = false;
        heldLive_.clear();
    }
    for (QCustomPlot* plot : {lossPlot_, lrPlot_, stepPlot_, metricPlot_}) {
        plot->clearGraphs();
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
    series_.clear();
    comparison_.clear();
    comparisonHistory_.reset();
    quantizers_->clear();
    runName_.clear();
    batchesPerEpoch_ = 1;
    size_t i = 0;
    for (const Component& c : kComponents)
        series(c.name, lossPlot_, paletteColor(i++), true);
    series("lr", lrPlot_, paletteColor(0), false);
    series("map", metricPlot_, paletteColor(0), false);
    series("iou", metricPlot_, paletteColor(1), false);
    series("contest_iou", metricPlot_, paletteColor(2), false);
    for (auto& [name, s] : series_)
        if (name == "map" || name == "iou" || name == "contest_iou")
            s.graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
}

void PlotsPanel::onRunStarted(const RunStart& start)
{
    if (holdingLive_) {
        heldLive_.push_back(start);
        return;
    }
    if (!start.resumed || series_.empty())
        clear();
    batchesPerEpoch_ = std::max<int64_t>(1, start.batchesPerEpoch);
    if (!start.runDir.empty())
        runName_ = QString::fromStdString(start.runDir.filename().string());
    for (const std::string& q : start.quantizers)
        addStepSizeCurve(QString::fromStdString(q));
}

void PlotsPanel::addStepSizeCurve(const QString& quantizer)
{
    const QString key = "s:" + quantizer;
    if (series_.count(key))
        return;
    // A conv's weight and activation curves share a colour; activations are dashed.
    const QRegularExpressionMatch index = QRegularExpression(R"(module_list\.(\d+)\.)").match(quantizer);
    const size_t colour = index.hasMatch() ? index.captured(1).toULongLong() : static_cast<size_t>(quantizers_->count());
    Series& s = series(key, stepPlot_, paletteColor(colour), false);
    s.label = quantizerLabel(quantizer);
    s.graph->setName(s.label);
    if (quantizerKind(quantizer) == QuantizerKind::activation)
        s.graph->setPen(QPen(paletteColor(colour), 1.2, Qt::DashLine));
    quantizers_->addQuantizer(quantizer);
}

void PlotsPanel::showStepSizeCurve(const QString& quantizer, bool shown)
{
    auto it = series_.find("s:" + quantizer);
    if (it == series_.end() || !it->second.graph)
        return;
    it->second.graph->setVisible(shown);
    // The legend names only the curves drawn.
    if (shown)
        it->second.graph->addToLegend();
    else
        it->second.graph->removeFromLegend();
    fitAxes(stepPlot_);
    stepPlot_->replot(QCustomPlot::rpQueuedReplot);
}

void PlotsPanel::onBatch(const BatchReport& r)
{
    if (holdingLive_) {
        heldLive_.push_back(r);
        return;
    }
    if (series_.empty())
        clear();
    batchesPerEpoch_ = std::max<int64_t>(1, r.batchesPerEpoch);
    const double x = static_cast<double>(r.epoch) + static_cast<double>(r.batchInEpoch + 1) / batchesPerEpoch_;
    for (const Component& c : kComponents)
        append(c.name, x, c.field ? r.*(c.field) : 100.0 * r.confNoobj);
    append("lr", x, r.learningRate);
    for (const StepSize& s : r.stepSizes) {
        const QString quantizer = QString::fromStdString(s.name);
        addStepSizeCurve(quantizer);
        append("s:" + quantizer, x, s.value);
    }
}

void PlotsPanel::onEvaluation(const EvalReport& r)
{
    if (holdingLive_) {
        heldLive_.push_back(r);
        return;
    }
    if (series_.empty())
        clear();
    append("map", static_cast<double>(r.epoch), r.metrics.mAP);
    append("iou", static_cast<double>(r.epoch), r.metrics.referenceIoU);
    append("contest_iou", static_cast<double>(r.epoch), r.metrics.contestIoU);
}

void PlotsPanel::flush()
{
    const double alpha = smoothing_->value();
    std::set<QCustomPlot*> changed;
    for (auto& [name, s] : series_) {
        if (s.drawn >= s.x.size())
            continue;
        QVector<double> xs, ys;
        xs.reserve(static_cast<int>(s.x.size() - s.drawn));
        ys.reserve(xs.capacity());
        // The smoothing is per reported batch: a stored point stands for `stride` of them.
        const double a = std::pow(alpha, static_cast<double>(s.stride));
        for (size_t i = s.drawn; i < s.x.size(); ++i) {
            double y = s.y[i];
            if (s.smoothed && alpha > 0) {
                s.ema = i == 0 ? y : a * s.ema + (1 - a) * y;
                y = s.ema;
            }
            xs.push_back(s.x[i]);
            ys.push_back(y);
        }
        s.graph->addData(xs, ys, /*alreadySorted=*/true);
        s.drawn = s.x.size();
        changed.insert(s.graph->parentPlot());
    }
    double drawMs = 0;
    for (QCustomPlot* plot : changed) {
        fitAxes(plot);
        if (plot == metricPlot_)
            plot->yAxis->setRange(0, 1.02);
        if (plot->isVisible()) {
            plot->replot(QCustomPlot::rpQueuedReplot);
            drawMs += plot->replotTime(/*average=*/true);
        }
    }
    // Plotting may take at most ~2 % of one core from training: when the curves on screen take
    // longer to draw (long runs, many curves, a big window), the timer stretches, up to 4 s.
    if (!changed.empty())
        flushTimer_->setInterval(std::clamp(static_cast<int>(drawMs * 50), kFlushIntervalMs, 4000));
}

void PlotsPanel::rebuildSmoothing()
{
    for (auto& [name, s] : series_) {
        if (!s.smoothed)
            continue;
        s.graph->data()->clear();
        s.drawn = 0;
        s.ema = 0;
    }
    flush();
}

int PlotsPanel::lossPointCount() const
{
    auto it = series_.find("loss");
    return it == series_.end() || !it->second.graph ? 0 : it->second.graph->dataCount();
}

int PlotsPanel::metricPointCount() const
{
    auto it = series_.find("map");
    return it == series_.end() || !it->second.graph ? 0 : it->second.graph->dataCount();
}

int PlotsPanel::stepSizeCurveCount() const
{
    return quantizers_->count();
}

PlotsPanel::~PlotsPanel() = default; // the jobs cancel and wait

namespace {

/// Reads a run's history on a background thread.
auto historyReader(const std::filesystem::path& runDir)
{
    return [runDir](QPromise<std::shared_ptr<const RunHistory>>& promise) {
        promise.addResult(std::make_shared<const RunHistory>(readRunHistory(runDir)));
    };
}

} // namespace

void PlotsPanel::loadRun(const std::filesystem::path& runDir)
{
    JobHandlers<std::shared_ptr<const RunHistory>> handlers;
    handlers.result = [this](const std::shared_ptr<const RunHistory>& history) {
        // A recorded run replays through the calls a live run makes, so both draw alike.
        const std::shared_ptr<const RunHistory> comparison = comparisonHistory_;
        clear();
        onRunStarted(history->start);
        for (const BatchReport& batch : history->batches)
            onBatch(batch);
        for (const EvalReport& evaluation : history->evaluations)
            onEvaluation(evaluation);
        flush();
        comparisonHistory_ = comparison; // a comparison read before this run stays overlaid
        drawComparison();
        Q_EMIT runLoaded(true, {});
    };
    handlers.failed = [this](const JobFailure& failure) { Q_EMIT runLoaded(false, failure.message); };
    loadJob_->start(historyReader(runDir), std::move(handlers));
}

void PlotsPanel::continueRun(const std::filesystem::path& runDir)
{
    clear();
    holdingLive_ = true;
    heldLive_.clear();
    auto replay = [this](const RunHistory* history) {
        holdingLive_ = false;
        std::vector<std::variant<RunStart, BatchReport, EvalReport>> live;
        live.swap(heldLive_);
        clear();
        if (history) {
            // Up to where the live run took over (rows past its checkpoint are being redone).
            int64_t resumedAt = std::numeric_limits<int64_t>::max();
            int64_t resumedEpoch = std::numeric_limits<int64_t>::max();
            for (const auto& event : live)
                if (const auto* start = std::get_if<RunStart>(&event)) {
                    resumedAt = start->startEpoch * start->batchesPerEpoch + start->startBatchInEpoch;
                    resumedEpoch = start->startEpoch;
                }
            onRunStarted(history->start);
            for (const BatchReport& batch : history->batches)
                if (batch.globalBatch < resumedAt)
                    onBatch(batch);
            for (const EvalReport& evaluation : history->evaluations)
                if (evaluation.epoch <= resumedEpoch)
                    onEvaluation(evaluation);
        }
        for (const auto& event : live)
            std::visit(
                [this](const auto& report) {
                    using T = std::decay_t<decltype(report)>;
                    if constexpr (std::is_same_v<T, RunStart>) {
                        RunStart start = report;
                        start.resumed = true; // keep the history just drawn
                        onRunStarted(start);
                    } else if constexpr (std::is_same_v<T, BatchReport>) {
                        onBatch(report);
                    } else {
                        onEvaluation(report);
                    }
                },
                event);
        flush();
    };
    JobHandlers<std::shared_ptr<const RunHistory>> handlers;
    handlers.result = [this, replay](const std::shared_ptr<const RunHistory>& history) {
        replay(history.get());
        Q_EMIT runLoaded(true, {});
    };
    handlers.failed = [this, replay](const JobFailure& failure) {
        replay(nullptr); // the live curves at least
        Q_EMIT runLoaded(false, failure.message);
    };
    loadJob_->start(historyReader(runDir), std::move(handlers));
}

void PlotsPanel::setComparison(const std::filesystem::path& runDir)
{
    if (runDir.empty()) {
        comparisonJob_->drop();
        comparisonHistory_.reset();
        drawComparison();
        return;
    }
    JobHandlers<std::shared_ptr<const RunHistory>> handlers;
    handlers.result = [this](const std::shared_ptr<const RunHistory>& history) {
        comparisonHistory_ = history;
        drawComparison();
        Q_EMIT runLoaded(true, {});
    };
    handlers.failed = [this](const JobFailure& failure) { Q_EMIT runLoaded(false, failure.message); };
    comparisonJob_->start(historyReader(runDir), std::move(handlers));
}

void PlotsPanel::drawComparison()
{
    for (QCPGraph* g : comparison_)
        g->parentPlot()->removeGraph(g);
    comparison_.clear();
    // While two runs are drawn, the legends say which curve is whose.
    const bool comparing = comparisonHistory_ != nullptr;
    for (const char* name : {"loss", "map"})
        if (auto it = series_.find(name); it != series_.end())
            it->second.graph->setName(comparing && !runName_.isEmpty() ? runName_ + ": " + it->second.label
                                                                       : it->second.label);
    if (comparisonHistory_) {
        const RunHistory& history = *comparisonHistory_;
        const std::string label = history.start.runDir.filename().string();
        if (!history.batches.empty()) {
            QVector<double> xs, ys;
            for (const BatchReport& b : history.batches) {
                xs.push_back(static_cast<double>(b.epoch) + static_cast<double>(b.batchInEpoch + 1) / b.batchesPerEpoch);
                ys.push_back(b.loss);
            }
            QCPGraph* g = lossPlot_->addGraph();
            g->setName(QString::fromStdString(label + ": loss"));
            g->setPen(QPen(Qt::black, 1.0, Qt::DashLine));
            g->setData(xs, ys, true);
            comparison_.push_back(g);
        }
        if (!history.evaluations.empty()) {
            QCPGraph* g = metricPlot_->addGraph();
            g->setName(QString::fromStdString(label + ": map"));
            g->setPen(QPen(Qt::black, 1.2, Qt::DashLine));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 5));
            QVector<double> xs, ys;
            for (const EvalReport& e : history.evaluations) {
                xs.push_back(static_cast<double>(e.epoch));
                ys.push_back(e.metrics.mAP);
            }
            g->setData(xs, ys, true);
            comparison_.push_back(g);
        }
    }
    for (QCustomPlot* plot : {lossPlot_, metricPlot_}) {
        fitAxes(plot);
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

bool PlotsPanel::exportCsv(const QString& path) const
{
    QCustomPlot* plot = currentPlot();
    QSaveFile file(path); // all or nothing, like tyq's run files
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return false;
    QTextStream out(&file);
    out << "series,x,y\n";
    for (int g = 0; g < plot->graphCount(); ++g) {
        QCPGraph* graph = plot->graph(g);
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
            out << '"' << graph->name() << "\"," << it->key << ',' << it->value << '\n';
    }
    out.flush();
    return out.status() == QTextStream::Ok && file.commit();
}

bool PlotsPanel::exportImage(const QString& path) const
{
    QCustomPlot* plot = currentPlot();
    return path.endsWith(".pdf", Qt::CaseInsensitive) ? plot->savePdf(path) : plot->savePng(path);
}

void PlotsPanel::exportCurrent()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), settings::lastDirectory.get(),
                                                      tr("PNG image (*.png);;PDF document (*.pdf);;CSV data (*.csv)"));
    if (path.isEmpty())
        return;
    settings::lastDirectory.set(QFileInfo(path).absolutePath());
    const bool ok = path.endsWith(".csv", Qt::CaseInsensitive) ? exportCsv(path) : exportImage(path);
    if (!ok)
        QMessageBox::warning(this, tr("Export failed"), tr("Could not write %1.").arg(path));
}

} // namespace tyq::ui
