// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "common/compute_threads.h"
#include "common/error.h"
#include "model/model_loader.h"

#include <ATen/ATen.h>

#include "background_job.h"
#include "detection_comparison.h"
#include "layer_quant_view.h"
#include "ui_utils.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardItemModel>
#include <QThreadPool>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace tyq::ui {
namespace {

constexpr int kBins = 101;

QString quantizerText(const QuantizerSpec& spec)
{
    if (!spec.enabled())
        return QObject::tr("not quantized");
    const QString kind = spec.allPositive ? QObject::tr("unsigned") : spec.symmetric ? QObject::tr("symmetric")
                                                                                     : QObject::tr("signed");
    return QObject::tr("%1-bit %2%3, codes [%4, %5]")
        .arg(spec.bit)
        .arg(kind)
        .arg(spec.perChannel ? QObject::tr(" per-channel") : QString())
        .arg(spec.qmin())
        .arg(spec.qmax());
}

} // namespace

struct LayerQuantView::Impl {
    explicit Impl(QObject* owner) : loadJob(owner, &pool) { pool.setMaxThreadCount(1); }

    std::shared_ptr<LoadedModel> model;
    QThreadPool pool; ///< one thread: the latest load runs after the one before has returned
    BackgroundJob<std::shared_ptr<LoadedModel>> loadJob;
    QString slotWeights[2];
    QString slotYaml[2];

    QComboBox* source = nullptr;
    QLineEdit* weightsEdit = nullptr;
    QLineEdit* yamlEdit = nullptr;
    QPushButton* loadButton = nullptr;
    QProgressBar* busy = nullptr;
    QComboBox* layer = nullptr;
    QCheckBox* inSteps = nullptr;
    QLabel* stats = nullptr;
    QLabel* status = nullptr;
};

LayerQuantView::LayerQuantView(QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>(this))
{
    Impl& d = *d_;

    d.source = new QComboBox;
    d.source->addItem(tr("File"), -1);
    d.source->addItem(tr("Detections A: none"), 0);
    d.source->addItem(tr("Detections B: none"), 1);
    d.source->setToolTip(tr("A model file, or the model of a detection-panel slot"));
    for (int slot = 0; slot < 2; ++slot)
        if (auto* m = qobject_cast<QStandardItemModel*>(d.source->model()))
            m->item(slot + 1)->setEnabled(false);
    d.weightsEdit = new QLineEdit;
    d.weightsEdit->setPlaceholderText(tr("tyq checkpoint, tyq export or reference .pth"));
    d.yamlEdit = new QLineEdit;
    d.yamlEdit->setPlaceholderText(tr("bit-widths (reference LSQ .pth only)"));
    d.loadButton = new QPushButton(tr("Load"));
    d.busy = new QProgressBar;
    d.busy->setRange(0, 0);
    d.busy->setMaximumWidth(60);
    d.busy->setTextVisible(false);
    d.busy->setVisible(false);

    auto* sourceRow = new QHBoxLayout;
    sourceRow->addWidget(new QLabel(tr("Model")));
    sourceRow->addWidget(d.source);
    sourceRow->addWidget(pathField(d.weightsEdit, tr("Models (*.ckpt *.pth *.pt);;All files (*)")), 3);
    sourceRow->addWidget(new QLabel(tr("YAML")));
    sourceRow->addWidget(pathField(d.yamlEdit, tr("Bit-widths (*.yaml *.yml)")), 2);
    sourceRow->addWidget(d.loadButton);
    sourceRow->addWidget(d.busy);

    d.layer = new QComboBox;
    d.layer->setMinimumContentsLength(28);
    d.layer->setToolTip(tr("The conv layer shown"));
    d.inSteps = new QCheckBox(tr("x in steps (w / s)"));
    d.inSteps->setToolTip(tr("Plot w/s so that the levels are the integers (always so for per-channel step sizes)"));
    auto* layerRow = new QHBoxLayout;
    layerRow->addWidget(new QLabel(tr("Layer")));
    layerRow->addWidget(d.layer, 1);
    layerRow->addWidget(d.inSteps);

    plot_ = new QCustomPlot(this);
    plot_->setMinimumHeight(220);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->axisRect()->setRangeZoom(Qt::Horizontal);
    plot_->axisRect()->setRangeDrag(Qt::Horizontal);
    plot_->yAxis->setLabel(tr("weights"));

    d.stats = new QLabel;
    d.stats->setWordWrap(true);
    d.stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d.status = new QLabel(tr("No model: load a file or use a detection-panel model."));
    d.status->setWordWrap(true);
    d.status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(sourceRow);
    layout->addLayout(layerRow);
    layout->addWidget(plot_, 1);
    layout->addWidget(d.stats);
    layout->addWidget(d.status);

    auto load = [this] {
        const QString weights = d_->weightsEdit->text().trimmed();
        if (weights.isEmpty()) {
            d_->status->setText(tr("Choose a model file first."));
            return;
        }
        setModel(weights, d_->yamlEdit->text().trimmed());
    };
    connect(d.loadButton, &QPushButton::clicked, this, load);
    connect(d.weightsEdit, &QLineEdit::returnPressed, this, load);
    connect(d.yamlEdit, &QLineEdit::returnPressed, this, load);
    connect(d.source, &QComboBox::activated, this, [this](int index) {
        const int slot = d_->source->itemData(index).toInt();
        if (slot >= 0 && !d_->slotWeights[slot].isEmpty())
            setModel(d_->slotWeights[slot], d_->slotYaml[slot]);
    });
    connect(d.layer, &QComboBox::currentIndexChanged, this, [this](int index) { showLayer(index); });
    connect(d.inSteps, &QCheckBox::toggled, this, [this] { showLayer(d_->layer->currentIndex()); });
    clearPlot(tr("No model"));
}

LayerQuantView::~LayerQuantView() = default; // the load job cancels and waits

bool LayerQuantView::isModelLoaded() const
{
    return d_->model != nullptr;
}

QStringList LayerQuantView::layerNames() const
{
    QStringList names;
    for (int i = 0; i < d_->layer->count(); ++i)
        names << d_->layer->itemData(i).toString();
    return names;
}

QString LayerQuantView::currentLayer() const
{
    return d_->layer->currentData().toString();
}

bool LayerQuantView::isQuantized() const
{
    return levelCount_ > 0;
}

void LayerQuantView::setSlotModel(int slot, const QString& weights, const QString& quantYaml)
{
    if (slot < 0 || slot > 1)
        return;
    Impl& d = *d_;
    d.slotWeights[slot] = weights;
    d.slotYaml[slot] = quantYaml;
    d.source->setItemText(slot + 1, tr("Detections %1: %2")
                                        .arg(slotName(slot), weights.isEmpty() ? tr("none") : QFileInfo(weights).fileName()));
    if (auto* m = qobject_cast<QStandardItemModel*>(d.source->model()))
        m->item(slot + 1)->setEnabled(!weights.isEmpty());
    if (d.source->currentIndex() == slot + 1 && !weights.isEmpty() && weights != weights_)
        setModel(weights, quantYaml);
}

void LayerQuantView::setModel(const QString& weights, const QString& quantYaml)
{
    Impl& d = *d_;
    weights_ = weights;
    quantYaml_ = quantYaml;
    d.weightsEdit->setText(weights);
    d.yamlEdit->setText(quantYaml);
    int sourceIndex = 0;
    for (int slot = 0; slot < 2; ++slot)
        if (!weights.isEmpty() && d.slotWeights[slot] == weights && d.slotYaml[slot] == quantYaml)
            sourceIndex = slot + 1;
    {
        const QSignalBlocker block(d.source);
        d.source->setCurrentIndex(sourceIndex);
    }
    d.busy->setVisible(true);
    d.status->setText(tr("Loading %1…").arg(QFileInfo(weights).fileName()));
    d.status->setStyleSheet({});

    JobHandlers<std::shared_ptr<LoadedModel>> handlers;
    handlers.result = [this, weights](const std::shared_ptr<LoadedModel>& model) {
        Impl& d = *d_;
        d.busy->setVisible(false);
        const QString previous = currentLayer();
        d.model = model;
        const YoloNetworkImpl& net = *model->network;
        {
            const QSignalBlocker block(d.layer);
            d.layer->clear();
            for (const auto& layer : net.convLayers()) {
                QString text = QString::fromStdString(layer.moduleName);
                if (layer.conv->quantized() && layer.conv->quanW->spec().enabled())
                    text += tr("  (w %1-bit)").arg(layer.conv->quanW->spec().bit);
                d.layer->addItem(text, QString::fromStdString(layer.moduleName));
            }
        }
        const QString description = tr("%1: %2, %3")
                                        .arg(QFileInfo(weights).fileName(),
                                             QString::fromStdString(model->weightsDescription),
                                             net.quantized() ? tr("LSQ-quantized") : tr("full precision"));
        d.status->setText(description);
        const int keep = d.layer->findData(previous);
        d.layer->setCurrentIndex(keep >= 0 ? keep : 0);
        showLayer(d.layer->currentIndex());
        Q_EMIT modelLoaded(true, description);
    };
    handlers.failed = [this, weights](const JobFailure& failure) {
        Impl& d = *d_;
        const QString error = modelLoadFailureText(failure, weights);
        d.busy->setVisible(false);
        d.status->setText(error);
        d.status->setStyleSheet("color: #c0392b");
        showError(this, tr("Cannot load the model"), error);
        Q_EMIT modelLoaded(false, error);
    };
    d.loadJob.start(
        [weights, quantYaml](QPromise<std::shared_ptr<LoadedModel>>& promise) {
            configureComputeThreads(0);
            ModelSource source;
            source.weights = toPath(weights);
            source.quant = toPath(quantYaml);
            promise.addResult(std::make_shared<LoadedModel>(loadModel(source)));
        },
        std::move(handlers));
}

bool LayerQuantView::setLayer(const QString& moduleName)
{
    const int index = d_->layer->findData(moduleName);
    if (index < 0)
        return false;
    if (index == d_->layer->currentIndex())
        showLayer(index);
    else
        d_->layer->setCurrentIndex(index); // showLayer through currentIndexChanged
    return true;
}

void LayerQuantView::clearPlot(const QString& note)
{
    plot_->clearPlottables();
    plot_->clearItems();
    plot_->xAxis->setLabel(note);
    plot_->replot(QCustomPlot::rpQueuedReplot);
    clippedShare_ = 0;
    levelsUsed_ = 0;
    levelCount_ = 0;
    stepSize_ = 0;
    d_->stats->clear();
}

void LayerQuantView::showLayer(int index)
{
    Impl& d = *d_;
    if (!d.model || index < 0 || index >= static_cast<int>(d.model->network->convLayers().size())) {
        clearPlot(tr("No layer"));
        return;
    }
    at::NoGradGuard noGrad;
    const auto& layer = d.model->network->convLayers()[static_cast<size_t>(index)];
    const at::Tensor w = layer.conv->weight.detach().to(at::kFloat).contiguous();
    const int64_t n = w.numel();
    const bool quantized = layer.conv->quantized() && layer.conv->quanW->spec().enabled();

    clippedShare_ = 0;
    levelsUsed_ = 0;
    levelCount_ = 0;
    stepSize_ = 0;
    QString shape;
    for (int64_t i = 0; i < w.dim(); ++i)
        shape += (i ? "×" : "") + QString::number(w.size(i));
    QStringList stats;
    stats << QString("<b>%1</b> · %2 weights (%3)").arg(QString::fromStdString(layer.moduleName)).arg(n).arg(shape);

    at::Tensor values = w;
    double unit = 1.0; // x value of code q is q * unit
    bool inSteps = false;
    int qmin = 0, qmax = 0;
    std::vector<int64_t> codeCounts;
    if (quantized) {
        const QuantizerSpec& spec = layer.conv->quanW->spec();
        qmin = spec.qmin();
        qmax = spec.qmax();
        const at::Tensor s = layer.conv->quanW->s.detach().to(at::kFloat);
        const at::Tensor ratio = w / s;
        clippedShare_ = ((ratio < qmin) | (ratio > qmax)).to(at::kDouble).mean().item<double>();
        const at::Tensor codes = layer.conv->quanW->codes(w).to(at::kLong).flatten().contiguous();
        codeCounts.assign(static_cast<size_t>(qmax - qmin + 1), 0);
        const int64_t* c = codes.data_ptr<int64_t>();
        for (int64_t i = 0; i < codes.numel(); ++i)
            if (c[i] >= qmin && c[i] <= qmax)
                ++codeCounts[static_cast<size_t>(c[i] - qmin)];
        levelsUsed_ = static_cast<int>(std::count_if(codeCounts.begin(), codeCounts.end(), [](int64_t k) { return k > 0; }));
        levelCount_ = qmax - qmin + 1;
        stepSize_ = s.mean().item<double>();
        inSteps = spec.perChannel || d.inSteps->isChecked();
        if (inSteps)
            values = ratio;
        else
            unit = stepSize_;

        const QString step = s.numel() > 1 ? tr("s per channel %1 … %2 (mean %3)")
                                                 .arg(s.min().item<double>(), 0, 'g', 4)
                                                 .arg(s.max().item<double>(), 0, 'g', 4)
                                                 .arg(stepSize_, 0, 'g', 4)
                                           : tr("step s = %1").arg(stepSize_, 0, 'g', 5);
        stats << tr("weights %1").arg(quantizerText(spec)) << step;
        stats << tr("levels used <b>%1 / %2</b>").arg(levelsUsed_).arg(levelCount_);
        stats << tr("clipped <b>%1 %</b> (%2 weights beyond [%3·s, %4·s])")
                     .arg(100.0 * clippedShare_, 0, 'f', 3)
                     .arg(qRound64(clippedShare_ * static_cast<double>(n)))
                     .arg(qmin)
                     .arg(qmax);
        QStringList perCode;
        for (int q = qmin; q <= qmax; ++q)
            perCode << QString("%1: %2").arg(q).arg(codeCounts[static_cast<size_t>(q - qmin)]);
        stats << tr("codes %1").arg(perCode.join(", "));
        if (layer.conv->quanA)
            stats << tr("input activations %1%2")
                         .arg(quantizerText(layer.conv->quanA->spec()))
                         .arg(layer.conv->quanA->spec().enabled()
                                  ? tr(", s = %1").arg(layer.conv->quanA->s.detach().mean().item<double>(), 0, 'g', 4)
                                  : QString());
    } else {
        stats << tr("<i>full-precision layer: no weight quantizer, histogram only</i>");
    }
    d.stats->setText(stats.join(" · "));

    // Histogram.
    const at::Tensor flat = values.flatten();
    double lo = flat.min().item<double>();
    double hi = flat.max().item<double>();
    if (quantized) {
        lo = std::min(lo, (qmin - 0.5) * unit);
        hi = std::max(hi, (qmax + 0.5) * unit);
    }
    if (!(hi > lo)) {
        lo -= 1;
        hi += 1;
    }
    const double pad = 0.02 * (hi - lo);
    lo -= pad;
    hi += pad;
    const at::Tensor counts = at::histc(flat, kBins, lo, hi).to(at::kDouble).contiguous();
    const double binWidth = (hi - lo) / kBins;
    QVector<double> keys(kBins), heights(kBins);
    double top = 1;
    for (int i = 0; i < kBins; ++i) {
        keys[i] = lo + (i + 0.5) * binWidth;
        heights[i] = counts.data_ptr<double>()[i];
        top = std::max(top, heights[i]);
    }

    plot_->clearPlottables();
    plot_->clearItems();
    auto* bars = new QCPBars(plot_->xAxis, plot_->yAxis);
    bars->setName(tr("weights"));
    bars->setWidth(binWidth);
    bars->setPen(Qt::NoPen);
    bars->setBrush(QColor(60, 120, 200, 190));
    bars->setData(keys, heights, true);
    plot_->xAxis->setLabel(inSteps ? tr("w / s (steps)") : tr("weight value"));
    plot_->xAxis->setRange(lo, hi);
    plot_->yAxis->setRange(0, top * 1.08);

    if (quantized) {
        auto vertical = [this](double x, const QPen& pen) {
            auto* line = new QCPItemStraightLine(plot_);
            line->point1->setCoords(x, 0);
            line->point2->setCoords(x, 1);
            line->setPen(pen);
            line->setSelectable(false);
        };
        QPen levelPen(QColor(90, 90, 90), 1, Qt::DashLine);
        for (int q = qmin; q <= qmax; ++q)
            vertical(q * unit, levelPen);
        // The clip range, and what lies outside it shaded.
        QPen clipPen(QColor(200, 40, 40), 2);
        vertical(qmin * unit, clipPen);
        vertical(qmax * unit, clipPen);
        for (const auto& [from, to] : {std::pair<double, double>{lo, qmin * unit}, {qmax * unit, hi}}) {
            if (to <= from)
                continue;
            auto* shade = new QCPItemRect(plot_);
            shade->topLeft->setCoords(from, top * 1.08);
            shade->bottomRight->setCoords(to, 0);
            shade->setPen(Qt::NoPen);
            shade->setBrush(QColor(200, 40, 40, 35));
            shade->setSelectable(false);
        }
        auto* caption = new QCPItemText(plot_);
        caption->setPositionAlignment(Qt::AlignTop | Qt::AlignLeft);
        caption->position->setType(QCPItemPosition::ptAxisRectRatio);
        caption->position->setCoords(0.01, 0.02);
        caption->setText(tr("%1 levels (dashed) · clip range (red) · clipped %2 %")
                             .arg(levelCount_)
                             .arg(100.0 * clippedShare_, 0, 'f', 2));
        caption->setSelectable(false);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace tyq::ui
