// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "model_slot.h"

#include "model_slot_view.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <QCheckBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace tyq::ui {

namespace {

QString iouText(double v) { return std::isnan(v) ? QString("–") : QString::number(v, 'f', 2); }

} // namespace

ModelSlotView::ModelSlotView(int slot, QObject* parent)
    : QObject(parent), slot_(slot), model_(new ModelSlot(this)), weightsEdit_(new QLineEdit),
      yamlEdit_(new QLineEdit), loadButton_(new QPushButton(tr("Load"))), integerCheck_(new QCheckBox(tr("Integer"))),
      busy_(new QProgressBar),
      status_(new QLabel(tr("no model"))), title_(new QLabel), viewBox_(new QWidget), view_(new DetectionView),
      table_(new QTableWidget(0, 5))
{
    const QString name = slotName(slot);
    weightsEdit_->setPlaceholderText(slot == 0 ? tr("e.g. exps/<fp run>/checkpoints/best.ckpt")
                                               : tr("e.g. exps/<lsq run>/checkpoints/best.ckpt"));
    weightsEdit_->setToolTip(tr("tyq checkpoint (.ckpt), tyq export or reference .pth"));
    yamlEdit_->setPlaceholderText(tr("bit-widths (reference LSQ .pth only)"));
    yamlEdit_->setToolTip(tr("The bit-width YAML of a reference LSQ .pth; tyq checkpoints record their own"));
    integerCheck_->setObjectName(QString("integerEngine%1").arg(name));
    integerCheck_->setChecked(settings::detectIntegerEngine[slot].get());
    model_->setIntegerEngine(integerCheck_->isChecked());
    updateIntegerSwitch();
    busy_->setRange(0, 0);
    busy_->setMaximumWidth(60);
    busy_->setTextVisible(false);
    busy_->setVisible(false);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    status_->setWordWrap(true);

    title_->setText(QString("<b>%1</b> — %2").arg(name, tr("no model")));
    title_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // A long model description must not widen its view: A and B stay the same size.
    title_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    view_->setObjectName(QString("detectionView%1").arg(name));
    auto* layout = new QVBoxLayout(viewBox_);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(title_);
    layout->addWidget(view_, 1);

    table_->setHorizontalHeaderLabels({tr("Class"), tr("Obj"), tr("Cls"), tr("Score"), tr("IoU")});
    const QString headerTips[] = {tr("Predicted class"), tr("Objectness (sigmoid)"), tr("Best class score (sigmoid)"),
                                  tr("Objectness × class score (the ranking)"),
                                  tr("IoU with the best-matching ground truth, network-input pixels, +1 convention")};
    for (int c = 0; c < 5; ++c)
        table_->horizontalHeaderItem(c)->setToolTip(headerTips[c]);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 4);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setToolTip(tr("Model %1's boxes on this image, best first; IoU with the best-matching ground truth "
                          "in network-input pixels (+1 convention)")
                           .arg(name));

    auto ask = [this] {
        const QString weights = weightsEdit_->text().trimmed();
        if (weights.isEmpty()) {
            Q_EMIT status(tr("Choose the weights of model %1 first.").arg(slotName(slot_)), true);
            return;
        }
        lastAsked_ = weights + '\n' + yamlEdit_->text().trimmed();
        Q_EMIT loadAsked(weights, yamlEdit_->text().trimmed());
    };
    connect(loadButton_, &QPushButton::clicked, this, ask);
    connect(weightsEdit_, &QLineEdit::returnPressed, this, ask);
    connect(yamlEdit_, &QLineEdit::returnPressed, this, ask);
    // A file picked with "…": load it, unless it is what was asked for last (Enter, then the
    // focus leaving for the error dialog, would load it twice) or what is loaded.
    connect(weightsEdit_, &QLineEdit::editingFinished, this, [this, ask] {
        const QString weights = weightsEdit_->text().trimmed();
        if (!weights.isEmpty() && weights + '\n' + yamlEdit_->text().trimmed() != lastAsked_ &&
            weights != model_->weights() && QFileInfo::exists(weights) && !weightsEdit_->hasFocus())
            ask();
    });
    connect(table_, &QTableWidget::currentCellChanged, this, [this](int row, int, int, int) {
        selected_ = row;
        Q_EMIT boxSelected();
    });
    connect(integerCheck_, &QCheckBox::toggled, this, [this](bool on) {
        settings::detectIntegerEngine[slot_].set(on);
        const bool before = model_->usesIntegerEngine();
        model_->setIntegerEngine(on);
        updateIntegerSwitch();
        if (model_->usesIntegerEngine() == before)
            return; // a full-precision model (or none) runs the same either way
        boxes_ = {};
        selected_ = -1;
        Q_EMIT message(LogLevel::info, tr("Detections, model %1: now on the %2").arg(slotName(slot_), engineName()));
        Q_EMIT engineChanged();
        if (!path_.isEmpty())
            showImage(path_, labels_);
        Q_EMIT boxesChanged();
    });
    connect(model_, &ModelSlot::loaded, this, &ModelSlotView::onLoaded);
    connect(model_, &ModelSlot::decoded, this, [this](const QString& path) {
        if (path != path_)
            return;
        inferMs_ = model_->cached(path)->milliseconds;
        recomputeBoxes();
    });
    connect(model_, &ModelSlot::failed, this, [this](const QString& path, const QString& error) {
        Q_EMIT message(LogLevel::warning, tr("Detections, model %1: %2").arg(slotName(slot_), error));
        if (path != path_)
            return;
        boxes_ = {};
        boxes_.ready = true;
        boxes_.error = error;
        Q_EMIT status(error, true);
        Q_EMIT boxesChanged();
    });
}

ModelSlotView::~ModelSlotView() = default;

void ModelSlotView::addModelRow(QGridLayout* grid, int row)
{
    grid->addWidget(new QLabel(QString("<b>%1</b>").arg(slotName(slot_))), row, 0);
    grid->addWidget(pathField(weightsEdit_, tr("Models (*.ckpt *.pth *.pt);;All files (*)")), row, 1);
    grid->addWidget(new QLabel(tr("YAML")), row, 2);
    grid->addWidget(pathField(yamlEdit_, tr("Bit-widths (*.yaml *.yml)")), row, 3);
    grid->addWidget(loadButton_, row, 4);
    grid->addWidget(integerCheck_, row, 5);
    grid->addWidget(busy_, row, 6);
    grid->addWidget(status_, row, 7);
}

QString ModelSlotView::engineName() const
{
    const std::shared_ptr<SlotModel> m = model_->model();
    if (!m || !m->loaded.network->quantized())
        return {};
    return model_->usesIntegerEngine() ? tr("integer engine") : tr("fake-quant float");
}

void ModelSlotView::updateIntegerSwitch()
{
    const std::shared_ptr<SlotModel> m = model_->model();
    const bool available = m && m->integerDetector;
    // Checkable before a model is loaded (the choice applies to the next one), not for a model
    // without an integer form: the tooltip says why.
    integerCheck_->setEnabled(!m || available);
    QString tip = tr("Run a quantized model's integer form: integer codes and int32 accumulators on oneDNN int8, "
                     "what `tyq export --format int` and the hardware compute. Off: the fake-quantized float "
                     "network, as in training.");
    if (m)
        tip += "\n\n" + m->integerForm;
    integerCheck_->setToolTip(tip);
}

bool ModelSlotView::hasModel() const
{
    return model_->model() != nullptr;
}

QString ModelSlotView::weights() const
{
    return model_->weights();
}

QString ModelSlotView::quantYaml() const
{
    return model_->quantYaml();
}

bool ModelSlotView::isPending() const
{
    return hasModel() && !boxes_.ready;
}

void ModelSlotView::load(const QString& weights, const QString& quantYaml)
{
    lastAsked_ = weights + '\n' + quantYaml;
    boxes_ = {};
    selected_ = -1;
    weightsEdit_->setText(weights);
    yamlEdit_->setText(quantYaml);
    status_->setText(tr("Loading %1…").arg(QFileInfo(weights).fileName()));
    status_->setToolTip({});
    status_->setStyleSheet({});
    model_->load(weights, quantYaml);
}

void ModelSlotView::onLoaded(bool ok, const QString& text, ErrorKind kind)
{
    const QString name = slotName(slot_);
    if (!ok) {
        // Multi-line messages (one line per invalid tensor) would grow the model rows and the
        // status line: those show the headline; the tooltip, dialog and log the whole.
        QString headline = text.section('\n', 0, 0);
        if (headline.size() < text.size()) {
            if (headline.endsWith(':'))
                headline.chop(1);
            headline += QStringLiteral(" …");
        }
        status_->setText(headline);
        status_->setStyleSheet("color: #c0392b");
        status_->setToolTip(text);
        if (kind == ErrorKind::needsBitWidths)
            yamlEdit_->setFocus();
        Q_EMIT status(tr("Model %1: %2").arg(name, headline), true);
        showError(view_->window(), tr("Cannot load model %1").arg(name), text);
        Q_EMIT message(LogLevel::error, tr("Detections, model %1: %2").arg(name, text));
        if (hasModel()) {
            status_->setText(tr("%1 (kept: %2)").arg(headline, model_->model()->description));
            weightsEdit_->setText(model_->weights());
            yamlEdit_->setText(model_->quantYaml());
        }
        Q_EMIT loaded(false, text, kind);
        if (hasModel() && !path_.isEmpty())
            showImage(path_, labels_);
        return;
    }
    status_->setText(text);
    status_->setToolTip(text);
    updateIntegerSwitch();
    for (const std::string& w : model_->model()->loaded.warnings)
        Q_EMIT message(LogLevel::warning, QString::fromStdString(w));
    const QString engine = engineName();
    Q_EMIT message(LogLevel::info, tr("Detections: model %1 is %2%3")
                                       .arg(name, text, engine.isEmpty() ? QString() : tr(", on the %1").arg(engine)));
    Q_EMIT status(tr("Model %1 loaded: %2").arg(name, text), false);
    Q_EMIT loaded(true, text, kind);
    if (!path_.isEmpty())
        showImage(path_, labels_);
}

void ModelSlotView::showImage(const QString& path, const std::vector<BoxLabel>& labels)
{
    if (path != path_) {
        selected_ = -1;
        boxes_ = {};
    }
    path_ = path;
    labels_ = labels;
    if (path.isEmpty() || !hasModel())
        return;
    if (model_->cached(path)) {
        recomputeBoxes();
        return;
    }
    boxes_.ready = false;
    model_->request(path);
}

void ModelSlotView::setThresholds(double conf, double nms)
{
    conf_ = conf;
    nms_ = nms;
    if (hasModel() && model_->cached(path_))
        recomputeBoxes();
}

void ModelSlotView::recomputeBoxes()
{
    const std::shared_ptr<SlotModel> m = model_->model();
    const DecodedImage* rows = m ? model_->cached(path_) : nullptr;
    if (!rows)
        return;
    boxes_ = boxesFromRows(rows->decoded, m->numClasses, m->inputWidth, m->inputHeight, rows->width, rows->height,
                           labels_, static_cast<float>(conf_), static_cast<float>(nms_));
    if (selected_ >= static_cast<int>(boxes_.detections.size()))
        selected_ = -1;
    Q_EMIT boxesChanged();
}

void ModelSlotView::render(const QVector<OverlayBox>& truth, bool haveImage, bool imagePending,
                           const std::function<QString(int)>& className)
{
    const QString name = slotName(slot_);
    const ModelBoxes& b = boxes_;
    const bool showBoxes = hasModel() && b.shown() && !imagePending;
    busy_->setVisible(model_->isLoading() || model_->isRunning());
    QVector<OverlayBox> boxes = truth;
    if (showBoxes)
        for (size_t i = 0; i < b.detections.size(); ++i) {
            const Detection& p = b.detections[i];
            QString label = QString("%1 %2").arg(className(p.classId)).arg(p.objectness * p.classScore, 0, 'f', 2);
            if (!std::isnan(b.truthIoU[i]))
                label += QString(" · IoU %1").arg(b.truthIoU[i], 0, 'f', 2);
            if (b.onlyHere[i])
                label = tr("only %1: %2").arg(name, label);
            boxes.push_back({QRectF(QPointF(p.x1, p.y1), QPointF(p.x2, p.y2)), classColor(p.classId), label, false,
                             bool(b.onlyHere[i]), static_cast<int>(i) == selected_});
        }
    view_->setBoxes(boxes);

    QString note;
    if (!haveImage)
        note = tr("No image: choose a dataset or a folder");
    else if (model_->isLoading())
        note = tr("%1: loading the model…").arg(name);
    else if (!hasModel())
        note = tr("%1: no model (choose weights above)").arg(name);
    else if (!b.error.isEmpty())
        note = tr("%1: %2").arg(name, b.error);
    else if (!showBoxes)
        note = tr("%1: running…").arg(name);
    else
        note = tr("%1: %2 %3 · %4 ms")
                   .arg(name)
                   .arg(b.detections.size())
                   .arg(b.detections.size() == 1 ? tr("box") : tr("boxes"))
                   .arg(inferMs_, 0, 'f', 0) +
               (engineName().isEmpty() ? QString() : QString(" · ") + engineName());
    view_->setNote(note);
    const QString engine = engineName();
    // The engine first: a narrow view cuts the end of a long description.
    title_->setText(QString("<b>%1</b> — %2%3")
                        .arg(name, engine.isEmpty() ? QString() : QString("<b>%1</b> · ").arg(engine),
                             hasModel()             ? model_->model()->description.toHtmlEscaped()
                             : model_->isLoading() ? tr("loading…")
                                                   : tr("no model")));
    title_->setToolTip(hasModel() ? model_->model()->description +
                                        (engine.isEmpty() ? QString() : "\n" + tr("Integer form: %1").arg(model_->model()->integerForm))
                                  : QString());

    const QSignalBlocker block(table_);
    table_->setRowCount(showBoxes ? static_cast<int>(b.detections.size()) : 0);
    if (showBoxes)
        for (int i = 0; i < static_cast<int>(b.detections.size()); ++i) {
            const Detection& p = b.detections[static_cast<size_t>(i)];
            auto cell = [&](int column, const QString& text) {
                auto* item = new QTableWidgetItem(text);
                if (column > 0)
                    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
                table_->setItem(i, column, item);
                return item;
            };
            QTableWidgetItem* classCell = cell(0, className(p.classId));
            QPixmap swatch(10, 10);
            swatch.fill(classColor(p.classId));
            classCell->setIcon(QIcon(swatch));
            if (b.onlyHere[static_cast<size_t>(i)])
                classCell->setText(classCell->text() + tr(" (only %1)").arg(name));
            cell(1, QString::number(p.objectness, 'f', 3));
            cell(2, QString::number(p.classScore, 'f', 3));
            cell(3, QString::number(p.objectness * p.classScore, 'f', 3));
            cell(4, iouText(b.truthIoU[static_cast<size_t>(i)]));
        }
    if (selected_ >= 0 && selected_ < table_->rowCount())
        table_->selectRow(selected_);
}

} // namespace tyq::ui
