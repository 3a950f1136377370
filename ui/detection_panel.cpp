// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "infer/dataset_evaluation.h"
#include "model_slot.h"

#include "background_job.h"
#include "detection_comparison.h"
#include "detection_evaluation.h"
#include "detection_panel.h"
#include "detection_view.h"
#include "image_list.h"
#include "model_slot_view.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <QDir>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QImageReader>
#include <QKeyEvent>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSlider>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <utility>

namespace tyq::ui {
namespace {

constexpr int kSlots = 2;

} // namespace

/// An image file decoded for display (outside the anonymous namespace: Impl holds a job of it).
struct ShownImage {
    QString path;
    QImage image;
    QString error;
};

struct DetectionPanel::Impl {
    explicit Impl(QObject* owner) : imageJob(owner) {}

    ModelSlotView* models[kSlots] = {};
    ImageList* list = nullptr;
    DetectionEvaluation* evaluation = nullptr;
    BackgroundJob<ShownImage> imageJob;

    int currentEntry = -1;
    QImage image;
    QSize imageSize;
    bool imagePending = false; ///< the current entry's image is being read
    bool shownPending = false; ///< `imageShown` is due once every loaded model has its boxes

    QSlider* confSlider = nullptr;
    QDoubleSpinBox* confSpin = nullptr;
    QSlider* nmsSlider = nullptr;
    QDoubleSpinBox* nmsSpin = nullptr;
    QLabel* diffLabel = nullptr;
    QLabel* summaryLabel = nullptr;
    QLabel* statusLabel = nullptr;
    QPushButton* bestButton = nullptr;
    QString bestFp, bestLsq; ///< offered by offerBestCheckpoints

    QString currentPath() const { return currentEntry >= 0 ? list->entry(currentEntry).path : QString(); }
};

DetectionPanel::DetectionPanel(QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>(this))
{
    conf_ = settings::detectConf.get();
    nms_ = settings::detectNms.get();
    for (int slot = 0; slot < kSlots; ++slot)
        d_->models[slot] = new ModelSlotView(slot, this);
    d_->evaluation = new DetectionEvaluation(this);
    buildUi();
    setThresholds(conf_, nms_);
}

DetectionPanel::~DetectionPanel()
{
    // The evaluation, then the models: each cancels and waits for its work before d_ goes.
    delete d_->evaluation;
    for (ModelSlotView* slot : d_->models)
        delete slot;
}

void DetectionPanel::offerBestCheckpoints(const QString& fp, const QString& lsq)
{
    Impl& d = *d_;
    d.bestFp = fp;
    d.bestLsq = lsq;
    d.bestButton->setEnabled(!fp.isEmpty() || !lsq.isEmpty());
    auto line = [this](const QString& slot, const QString& phase, const QString& path) {
        return path.isEmpty() ? tr("%1: no %2 run with a best checkpoint yet").arg(slot, phase)
                              : tr("%1: %2").arg(slot, QDir::toNativeSeparators(path));
    };
    d.bestButton->setToolTip(tr("Load the best checkpoints of the experiment's runs (highest val mAP)\n") +
                             line("A", "fp", fp) + "\n" + line("B", "LSQ", lsq));
}

void DetectionPanel::buildUi()
{
    Impl& d = *d_;

    // The image list (its controls in the top row), the models, the evaluation.
    d.list = new ImageList;
    d.list->installEventFilter(this);
    auto* sourceRow = new QHBoxLayout;
    d.list->addControls(sourceRow);
    sourceRow->addWidget(d.evaluation->evaluateButton());
    sourceRow->addWidget(d.evaluation->cancelButton());
    sourceRow->addWidget(d.evaluation->progressBar());

    // Models A and B.
    auto* models = new QGroupBox(tr("Models"));
    auto* grid = new QGridLayout(models);
    grid->setColumnStretch(1, 3);
    grid->setColumnStretch(3, 2);
    grid->setColumnStretch(7, 3);
    for (int slot = 0; slot < kSlots; ++slot)
        d.models[slot]->addModelRow(grid, slot);
    d.bestButton = new QPushButton(tr("Runs' best"));
    d.bestButton->setObjectName("bestCheckpointsButton");
    grid->addWidget(d.bestButton, 0, 8, kSlots, 1);
    offerBestCheckpoints({}, {});

    // Thresholds.
    auto slider = [](QSlider*& s, QDoubleSpinBox*& spin, const QString& tip) {
        s = new QSlider(Qt::Horizontal);
        s->setRange(0, 1000);
        s->setPageStep(50);
        s->setToolTip(tip);
        spin = new QDoubleSpinBox;
        spin->setRange(0.0, 1.0);
        spin->setDecimals(3);
        spin->setSingleStep(0.01);
        spin->setToolTip(tip);
        spin->setKeyboardTracking(false); // typed digits apply on Enter or leaving the box, not each key
    };
    slider(d.confSlider, d.confSpin, tr("Minimum objectness of a kept box"));
    slider(d.nmsSlider, d.nmsSpin, tr("IoU above which boxes of a class merge (NMS)"));
    d.confSlider->setObjectName("confSlider");
    d.nmsSlider->setObjectName("nmsSlider");
    auto* thresholds = new QHBoxLayout;
    thresholds->addWidget(new QLabel(tr("Conf")));
    thresholds->addWidget(d.confSlider, 1);
    thresholds->addWidget(d.confSpin);
    thresholds->addSpacing(12);
    thresholds->addWidget(new QLabel(tr("NMS")));
    thresholds->addWidget(d.nmsSlider, 1);
    thresholds->addWidget(d.nmsSpin);

    // Views A | B, their detections below.
    auto* views = new QSplitter(Qt::Horizontal);
    auto* tables = new QSplitter(Qt::Horizontal);
    for (ModelSlotView* slot : d.models) {
        slot->view()->installEventFilter(this);
        views->addWidget(slot->viewBox());
        tables->addWidget(slot->table());
    }
    for (QSplitter* pair : {views, tables}) {
        pair->setStretchFactor(0, 1); // A and B at equal size
        pair->setStretchFactor(1, 1);
    }
    // The two views keep one viewport.
    for (int slot = 0; slot < kSlots; ++slot)
        connect(d.models[slot]->view(), &DetectionView::viewportChanged, this,
                [this, slot](double zoom, const QPointF& center, bool fitted) {
                    d_->models[1 - slot]->view()->setViewport(zoom, center, fitted);
                });

    d.diffLabel = new QLabel;
    d.diffLabel->setWordWrap(true);
    d.diffLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d.diffLabel->setToolTip(tr("Top box of each model; boxes only one model found (no box of the other model with "
                               "the same class and IoU ≥ 0.5) have a white halo"));

    auto* right = new QSplitter(Qt::Vertical);
    auto* upper = new QWidget;
    auto* upperLayout = new QVBoxLayout(upper);
    upperLayout->setContentsMargins(0, 0, 0, 0);
    upperLayout->addWidget(views, 1);
    upperLayout->addWidget(d.diffLabel);
    right->addWidget(upper);
    right->addWidget(tables);
    right->setStretchFactor(0, 4);
    right->setStretchFactor(1, 1);

    auto* body = new QSplitter(Qt::Horizontal);
    body->addWidget(d.list);
    body->addWidget(right);
    body->setStretchFactor(0, 1);
    body->setStretchFactor(1, 4);
    body->setSizes({340, 900});

    d.summaryLabel = new QLabel;
    d.summaryLabel->setWordWrap(true);
    d.summaryLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d.statusLabel = new QLabel;
    d.statusLabel->setWordWrap(true);
    d.statusLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(sourceRow);
    layout->addWidget(models);
    layout->addLayout(thresholds);
    layout->addWidget(body, 1);
    layout->addWidget(d.summaryLabel);
    layout->addWidget(d.statusLabel);

    connect(d.list, &ImageList::listingStarted, this, [this](const QString& what) {
        cancelEvaluation();
        setStatus(tr("Listing %1…").arg(what));
    });
    connect(d.list, &ImageList::filterChanged, this, [this] {
        updateSummary();
        const int row = currentRow();
        if (row >= 0)
            d_->list->setCurrentRow(row);
        else if (imageCount() > 0)
            showImage(0);
    });
    connect(d.list, &ImageList::worstFirstAsked, this, &DetectionPanel::sortWorstFirst);
    connect(d.evaluation, &DetectionEvaluation::evaluateAsked, this, &DetectionPanel::evaluateAll);
    connect(d.bestButton, &QPushButton::clicked, this, [this] {
        if (!d_->bestFp.isEmpty())
            setModel(0, d_->bestFp);
        if (!d_->bestLsq.isEmpty())
            setModel(1, d_->bestLsq);
    });
    connect(d.list, &ImageList::rowChosen, this, [this](int row) {
        if (row != currentRow())
            showImage(row);
    });
    connect(d.list, &ImageList::listed, this, &DetectionPanel::onListed);
    connect(d.list, &ImageList::listingFailed, this, [this](const QString& error) {
        const QString text = tr("Cannot list the images: %1").arg(error);
        setStatus(text, true);
        Q_EMIT message(LogLevel::warning, text);
        Q_EMIT imagesListed(false);
    });
    for (int slot = 0; slot < kSlots; ++slot) {
        ModelSlotView* view = d.models[slot];
        connect(view, &ModelSlotView::loadAsked, this,
                [this, slot](const QString& weights, const QString& yaml) { setModel(slot, weights, yaml); });
        connect(view, &ModelSlotView::loaded, this, [this, slot](bool ok, const QString& text) {
            Q_EMIT modelLoaded(slot, ok, text);
            if (ok && d_->currentEntry >= 0)
                d_->shownPending = true;
            refreshDetections();
        });
        connect(view, &ModelSlotView::engineChanged, this, [this, slot] {
            // The IoU column and a running evaluation of this slot were the other engine's.
            if (d_->evaluation->measures(slot, d_->models[slot]->model().model().get()))
                cancelEvaluation();
            d_->list->clearIoU(slot);
        });
        connect(view, &ModelSlotView::boxesChanged, this, &DetectionPanel::refreshDetections);
        connect(view, &ModelSlotView::boxSelected, this, &DetectionPanel::updateViews);
        connect(view, &ModelSlotView::status, this, &DetectionPanel::setStatus);
        connect(view, &ModelSlotView::message, this, &DetectionPanel::message);
    }
    connect(d.evaluation, &DetectionEvaluation::progress, this, &DetectionPanel::evaluationProgress);
    connect(d.evaluation, &DetectionEvaluation::imageScored, this, [this](int slot, int entry, double iou) {
        if (d_->evaluation->measures(slot, d_->models[slot]->model().model().get()))
            d_->list->setIoU(entry, slot, iou);
    });
    connect(d.evaluation, &DetectionEvaluation::finished, this, &DetectionPanel::onEvaluationFinished);
    connect(d.confSlider, &QSlider::valueChanged, this, [this](int v) { setThresholds(v / 1000.0, nms_); });
    connect(d.nmsSlider, &QSlider::valueChanged, this, [this](int v) { setThresholds(conf_, v / 1000.0); });
    connect(d.confSpin, &QDoubleSpinBox::valueChanged, this, [this](double v) { setThresholds(v, nms_); });
    connect(d.nmsSpin, &QDoubleSpinBox::valueChanged, this, [this](double v) { setThresholds(conf_, v); });

    setFocusPolicy(Qt::StrongFocus);
    updateViews();
}


// ---- images ---------------------------------------------------------------------------------

void DetectionPanel::setStatus(const QString& text, bool error)
{
    d_->statusLabel->setText(error ? QString("<span style='color:#c0392b'>%1</span>").arg(text.toHtmlEscaped())
                                   : text.toHtmlEscaped());
}

void DetectionPanel::setDataset(const QString& dataFile, const QString& split)
{
    d_->list->listDataset(dataFile, split);
}

void DetectionPanel::setImageFolder(const QString& dir)
{
    d_->list->listFolder(dir);
}

void DetectionPanel::onListed(const QString& problem)
{
    Impl& d = *d_;
    d.currentEntry = -1;
    d.evaluation->clearSummary();
    updateSummary();
    const bool listed = d.list->entryCount() > 0;
    if (!problem.isEmpty()) {
        setStatus(problem, true);
        Q_EMIT message(LogLevel::warning, problem);
    } else {
        setStatus(tr("Listed %1").arg(d.list->description()));
    }
    if (listed) {
        showImage(0);
    } else {
        d.imageJob.drop();
        d.imagePending = false;
        d.image = QImage();
        d.imageSize = QSize();
        for (ModelSlotView* slot : d.models) {
            slot->showImage({}, {});
            slot->view()->setImage(QImage());
            slot->view()->setImageSize(QSize());
        }
        updateViews();
    }
    Q_EMIT imagesListed(listed);
}

int DetectionPanel::imageCount() const
{
    return d_->list->shownCount();
}

int DetectionPanel::currentRow() const
{
    return d_->list->rowOfEntry(d_->currentEntry);
}

QString DetectionPanel::imagePath(int row) const
{
    const int entry = d_->list->entryOfRow(row);
    return entry < 0 ? QString() : d_->list->entry(entry).path;
}

QTableView* DetectionPanel::imageList() const
{
    return d_->list;
}

DetectionView* DetectionPanel::view(int slot) const
{
    return slot >= 0 && slot < kSlots ? d_->models[slot]->view() : nullptr;
}

void DetectionPanel::showImage(int row)
{
    Impl& d = *d_;
    const int entry = d.list->entryOfRow(row);
    if (entry < 0)
        return;
    d.list->setCurrentRow(row);
    if (entry != d.currentEntry) {
        d.currentEntry = entry;
        d.imagePending = true;
        JobHandlers<ShownImage> handlers;
        handlers.result = [this](const ShownImage& shown) {
            Impl& d = *d_;
            if (shown.path != d.currentPath())
                return;
            d.imagePending = false;
            d.image = shown.image;
            d.imageSize = shown.image.size();
            if (!shown.error.isEmpty())
                setStatus(shown.error, true);
            for (ModelSlotView* slot : d.models)
                slot->view()->setImage(d.image);
            refreshDetections();
        };
        d.imageJob.start(
            [path = d.list->entry(entry).path](QPromise<ShownImage>& promise) {
                QImageReader reader(path);
                reader.setAutoTransform(false); // as the engine (and PIL): EXIF orientation ignored
                ShownImage shown{path, reader.read(), {}};
                if (shown.image.isNull())
                    shown.error = QObject::tr("Qt cannot show %1 (%2); boxes are drawn on a blank canvas")
                                      .arg(path, reader.errorString());
                promise.addResult(std::move(shown));
            },
            std::move(handlers));
    }
    d.shownPending = true;
    const ImageEntry& shown = d.list->entry(entry);
    for (ModelSlotView* slot : d.models)
        slot->showImage(shown.path, shown.labels);
    refreshDetections();
}

void DetectionPanel::navigate(int delta, bool absolute)
{
    const int count = imageCount();
    if (count == 0)
        return;
    const int current = currentRow();
    const int target = absolute ? delta : (current < 0 ? 0 : current + delta);
    const int row = std::clamp(target, 0, count - 1);
    if (row != current)
        showImage(row);
}

void DetectionPanel::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_Right:
    case Qt::Key_PageDown:
        navigate(1);
        break;
    case Qt::Key_Left:
    case Qt::Key_PageUp:
        navigate(-1);
        break;
    case Qt::Key_Home:
        navigate(0, true);
        break;
    case Qt::Key_End:
        navigate(imageCount() - 1, true);
        break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        d_->models[0]->view()->zoomBy(1.25);
        break;
    case Qt::Key_Minus:
        d_->models[0]->view()->zoomBy(0.8);
        break;
    case Qt::Key_0:
    case Qt::Key_F:
        d_->models[0]->view()->fit();
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

bool DetectionPanel::eventFilter(QObject* watched, QEvent* event)
{
    // The list and the views pass image navigation to the panel (the list keeps Up/Down).
    if (event->type() == QEvent::KeyPress) {
        auto* key = static_cast<QKeyEvent*>(event);
        switch (key->key()) {
        case Qt::Key_Right:
        case Qt::Key_Left:
        case Qt::Key_PageDown:
        case Qt::Key_PageUp:
        case Qt::Key_Home:
        case Qt::Key_End:
            if (key->modifiers() == Qt::NoModifier || key->modifiers() == Qt::KeypadModifier) {
                keyPressEvent(key);
                return true;
            }
            break;
        default:
            break;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void DetectionPanel::setClassFilter(int classId)
{
    d_->list->setClassFilter(classId); // filterChanged follows
}

void DetectionPanel::sortWorstFirst()
{
    if (d_->list->sortWorstFirst())
        showImage(0);
    else
        setStatus(tr("Run \"Evaluate all\" first: the list sorts by each image's top-box IoU."));
}

// ---- models and their boxes -----------------------------------------------------------------

bool DetectionPanel::isModelLoaded(int slot) const
{
    return slot >= 0 && slot < kSlots && d_->models[slot]->hasModel();
}

QString DetectionPanel::modelWeights(int slot) const
{
    return slot >= 0 && slot < kSlots ? d_->models[slot]->weights() : QString();
}

QString DetectionPanel::modelQuantYaml(int slot) const
{
    return slot >= 0 && slot < kSlots ? d_->models[slot]->quantYaml() : QString();
}

void DetectionPanel::setModel(int slot, const QString& weights, const QString& quantYaml)
{
    if (slot < 0 || slot >= kSlots)
        return;
    if (d_->evaluation->measures(slot, d_->models[slot]->model().model().get()))
        cancelEvaluation(); // its numbers would land in the new model's column
    d_->list->clearIoU(slot);
    d_->models[slot]->load(weights, quantYaml);
    updateViews();
}

std::vector<Detection> DetectionPanel::detections(int slot) const
{
    if (slot < 0 || slot >= kSlots || !d_->models[slot]->hasModel() || !d_->models[slot]->boxes().ready)
        return {};
    return d_->models[slot]->boxes().detections;
}

void DetectionPanel::setThresholds(double conf, double nms)
{
    Impl& d = *d_;
    conf = std::clamp(conf, 0.0, 1.0);
    nms = std::clamp(nms, 0.0, 1.0);
    {
        const QSignalBlocker b1(d.confSlider), b2(d.confSpin), b3(d.nmsSlider), b4(d.nmsSpin);
        d.confSlider->setValue(static_cast<int>(std::lround(conf * 1000)));
        d.confSpin->setValue(conf);
        d.nmsSlider->setValue(static_cast<int>(std::lround(nms * 1000)));
        d.nmsSpin->setValue(nms);
    }
    if (conf == conf_ && nms == nms_)
        return;
    conf_ = conf;
    nms_ = nms;
    if (settings::detectConf.get() != conf)
        settings::detectConf.set(conf);
    if (settings::detectNms.get() != nms)
        settings::detectNms.set(nms);
    {
        // One redraw for both models, not one per model.
        const QSignalBlocker b1(d.models[0]), b2(d.models[1]);
        for (ModelSlotView* slot : d.models)
            slot->setThresholds(conf, nms);
    }
    refreshDetections();
    updateSummary();
}

void DetectionPanel::refreshDetections()
{
    Impl& d = *d_;
    if (d.image.isNull() && !d.imagePending && d.currentEntry >= 0)
        for (ModelSlotView* slot : d.models)
            if (const DecodedImage* rows = slot->model().cached(d.currentPath())) // Qt cannot read it
                d.imageSize = QSize(rows->width, rows->height);
    markBoxesOnlyOneFound(d.models[0]->boxes(), d.models[1]->boxes());
    updateViews();
    checkShown();
}

void DetectionPanel::checkShown()
{
    Impl& d = *d_;
    if (!d.shownPending || d.currentEntry < 0 || d.imagePending)
        return;
    for (const ModelSlotView* slot : d.models)
        if (slot->isPending())
            return;
    d.shownPending = false;
    Q_EMIT imageShown(currentRow());
}

void DetectionPanel::updateViews()
{
    Impl& d = *d_;
    const bool haveImage = d.currentEntry >= 0;
    const QSize size = d.imageSize;
    const auto className = [&](int id) { return d.list->className(id); };

    // While the image is read, the previous one stays up without boxes.
    QVector<OverlayBox> truth;
    if (haveImage && !d.imagePending && !size.isEmpty())
        for (const GroundTruth& t : truthBoxes(d.list->entry(d.currentEntry).labels, size.width(), size.height()))
            truth.push_back({QRectF(QPointF(t.x1, t.y1), QPointF(t.x2, t.y2)), classColor(t.classId),
                             tr("truth: %1").arg(className(t.classId)), true, false, false});
    for (ModelSlotView* slot : d.models) {
        slot->view()->setImageSize(size);
        slot->render(truth, haveImage, d.imagePending, className);
    }
    const ModelBoxes none;
    const ModelBoxes shown[kSlots] = {d.imagePending ? none : d.models[0]->boxes(),
                                      d.imagePending ? none : d.models[1]->boxes()};
    d.diffLabel->setText(differenceLine(shown, className, conf_));
}

// ---- evaluate all ---------------------------------------------------------------------------

bool DetectionPanel::isEvaluating() const
{
    return d_->evaluation->isRunning();
}

double DetectionPanel::topIoU(int row, int slot) const
{
    const int entry = d_->list->entryOfRow(row);
    if (entry < 0 || slot < 0 || slot >= kSlots)
        return std::numeric_limits<double>::quiet_NaN();
    return d_->list->entry(entry).iou[slot];
}

void DetectionPanel::cancelEvaluation()
{
    if (isEvaluating()) {
        d_->evaluation->cancel();
        setStatus(tr("Cancelling the evaluation…"));
    }
}

void DetectionPanel::evaluateAll()
{
    Impl& d = *d_;
    if (isEvaluating())
        return;
    EvaluationRequest request;
    for (int slot = 0; slot < kSlots; ++slot) {
        request.models[slot] = d.models[slot]->model().model();
        request.integer[slot] = d.models[slot]->model().usesIntegerEngine();
    }
    if (!request.models[0] && !request.models[1]) {
        setStatus(tr("Load a model (A or B) before evaluating."), true);
        return;
    }
    if (!d.list->hasTruth()) {
        setStatus(tr("These images have no ground truth: list a dataset split to evaluate."), true);
        return;
    }
    for (int row = 0; row < d.list->shownCount(); ++row) {
        const int entry = d.list->entryOfRow(row);
        const ImageEntry& e = d.list->entry(entry);
        request.entries.push_back(entry);
        request.samples.push_back({toPath(e.path), {}, e.labels});
    }
    if (request.samples.empty())
        return;
    for (int slot = 0; slot < kSlots; ++slot)
        if (request.models[slot])
            d.list->clearIoU(slot);
    request.confThreshold = static_cast<float>(conf_);
    request.nmsThreshold = static_cast<float>(nms_);
    setStatus(tr("Evaluating %1 images…").arg(request.samples.size()));
    d.evaluation->start(std::move(request));
    updateSummary();
}

void DetectionPanel::onEvaluationFinished(bool cancelled, const QStringList& problems)
{
    Impl& d = *d_;
    updateSummary();
    QString plain = d.evaluation->summary(conf_, nms_);
    plain.remove(QRegularExpression("<[^>]*>"));
    Q_EMIT message(LogLevel::info, tr("Detections evaluated: %1").arg(plain));
    if (!problems.isEmpty()) {
        const QString text = tr("%n image(s) could not be evaluated; first: %1", nullptr, int(problems.size()))
                                 .arg(problems.front());
        setStatus(text, true);
        Q_EMIT message(LogLevel::warning, text);
    } else {
        setStatus(cancelled ? tr("Evaluation cancelled.") : tr("Evaluation done."));
    }
    d.list->resort(); // the IoU columns are filled now
    Q_EMIT evaluationFinished();
}

void DetectionPanel::updateSummary()
{
    Impl& d = *d_;
    QString text = d.evaluation->summary(conf_, nms_);
    if (d.list->classFilter() >= 0)
        text = tr("Showing %1 of %2 images (class %3). ")
                   .arg(imageCount())
                   .arg(d.list->entryCount())
                   .arg(d.list->className(d.list->classFilter()).toHtmlEscaped()) +
               text;
    d.summaryLabel->setText(text);
}

} // namespace tyq::ui
