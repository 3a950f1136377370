// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "common/compute_threads.h"
#include "common/error.h"
#include "data/dataset.h"
#include "eval/detection_metrics.h"
#include "infer/annotate.h"
#include "infer/dataset_evaluation.h"
#include "infer/detector.h"
#include "model/model_loader.h"

#include <ATen/ATen.h>

#include "detection_panel.h"
#include "detection_view.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QIcon>
#include <QPixmap>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QTableWidget>
#include <QThreadPool>
#include <QVBoxLayout>

#include <atomic>
#include <cmath>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>

namespace tyq::ui {
namespace {

constexpr int kSlots = 2;
constexpr size_t kCacheLimit = 256; // decoded rows kept per model (~120 KB each at 512x288)
constexpr int kSortRole = Qt::UserRole + 1;
constexpr int kEntryRole = Qt::UserRole + 2;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

enum Column { colImage, colClasses, colIouA, colIouB, colDelta, colCount };

QString slotName(int slot) { return slot == 0 ? "A" : "B"; }

QString iouText(double v) { return std::isnan(v) ? QString("–") : QString::number(v, 'f', 2); }

QColor toQColor(int classId)
{
    const cv::Scalar c = classColorRgb(classId);
    return QColor(int(c[0]), int(c[1]), int(c[2]));
}

/// A loaded model with its detector; the mutex serializes forwards (browsing and "Evaluate all").
struct SlotModel {
    LoadedModel loaded;
    std::unique_ptr<Detector> detector;
    std::mutex mutex;
    int numClasses = 0;
    int inputWidth = 0;
    int inputHeight = 0;
    bool quantized = false;
    QString description;
};

struct CachedRows {
    at::Tensor decoded; ///< [rows, 5+C], network-input pixels
    int width = 0;      ///< original image size
    int height = 0;
};

struct ImageEntry {
    QString path;
    std::vector<BoxLabel> labels;
    double iou[kSlots] = {kNaN, kNaN};
};

/// Sorts by kSortRole (unevaluated cells last) and filters by a ground-truth class.
class ImageFilterModel : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    const std::vector<ImageEntry>* entries = nullptr;
    int classId = -1;

    void setClassId(int id)
    {
        classId = id;
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex&) const override
    {
        if (classId < 0 || !entries || sourceRow >= static_cast<int>(entries->size()))
            return true;
        for (const BoxLabel& l : (*entries)[static_cast<size_t>(sourceRow)].labels)
            if (l.classId == classId)
                return true;
        return false;
    }

    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override
    {
        const QVariant a = left.data(kSortRole), b = right.data(kSortRole);
        if (!a.isValid() || !b.isValid())
            return a.isValid() && !b.isValid();
        if (a.typeId() == QMetaType::Double || b.typeId() == QMetaType::Double)
            return a.toDouble() < b.toDouble();
        return QString::localeAwareCompare(a.toString(), b.toString()) < 0;
    }
};

struct SlotState {
    std::shared_ptr<SlotModel> model;
    int generation = 0;
    bool loading = false;
    QString weights;
    QString quantYaml;
    QThreadPool pool; ///< one thread: loading and per-image inference, in order

    bool inferring = false;
    QString inFlight;
    QString pending; ///< the latest image asked for while one is in flight
    std::map<QString, CachedRows> cache;
    std::deque<QString> cacheOrder;

    // The current image.
    bool ready = false;
    QString error;
    std::vector<Detection> inputDetections; ///< network-input pixels
    std::vector<Detection> detections;      ///< original pixels
    std::vector<float> ious;                ///< per detection, vs the best-matching truth (input pixels)
    std::vector<bool> onlyHere;             ///< found by this model only
    double inferMs = 0;
    int selected = -1;

    QLineEdit* weightsEdit = nullptr;
    QLineEdit* yamlEdit = nullptr;
    QPushButton* loadButton = nullptr;
    QProgressBar* busy = nullptr;
    QLabel* status = nullptr;
    QLabel* title = nullptr;
    DetectionView* view = nullptr;
    QTableWidget* table = nullptr;
};

} // namespace

struct DetectionPanel::Impl {
    SlotState slotStates[kSlots];
    std::vector<ImageEntry> entries;
    std::vector<std::string> classNames = dacClassNames();
    bool hasTruth = false;
    QString dataFile;
    QString folder;

    QStandardItemModel* items = nullptr;
    ImageFilterModel* proxy = nullptr;
    QTableView* list = nullptr;
    bool syncingList = false;

    int currentEntry = -1;
    QImage image;
    QSize imageSize;
    bool shownPending = false;

    QThreadPool evalPool;
    std::shared_ptr<std::atomic<bool>> evalCancel;
    bool evaluating = false;
    int evalGeneration[kSlots] = {0, 0};
    double evalConf = -1;
    double evalNms = -1;
    QString evalSummary;

    QPushButton* datasetButton = nullptr;
    QComboBox* splitCombo = nullptr;
    QPushButton* folderButton = nullptr;
    QLabel* sourceLabel = nullptr;
    QComboBox* classCombo = nullptr;
    QPushButton* worstButton = nullptr;
    QPushButton* evalButton = nullptr;
    QPushButton* cancelButton = nullptr;
    QProgressBar* evalProgress = nullptr;
    QSlider* confSlider = nullptr;
    QDoubleSpinBox* confSpin = nullptr;
    QSlider* nmsSlider = nullptr;
    QDoubleSpinBox* nmsSpin = nullptr;
    QLabel* diffLabel = nullptr;
    QLabel* summaryLabel = nullptr;
    QLabel* statusLabel = nullptr;

    QString className(int id) const
    {
        return id >= 0 && id < static_cast<int>(classNames.size()) ? QString::fromStdString(classNames[size_t(id)])
                                                                  : QString("class %1").arg(id);
    }
    QString currentPath() const
    {
        return currentEntry >= 0 ? entries[static_cast<size_t>(currentEntry)].path : QString();
    }
    int entryOfRow(int row) const
    {
        if (row < 0 || row >= proxy->rowCount())
            return -1;
        return proxy->mapToSource(proxy->index(row, 0)).row();
    }
    int rowOfEntry(int entry) const
    {
        if (entry < 0)
            return -1;
        return proxy->mapFromSource(items->index(entry, 0)).row();
    }
    void cacheInsert(SlotState& s, const QString& path, CachedRows rows)
    {
        if (s.cache.count(path) == 0)
            s.cacheOrder.push_back(path);
        s.cache[path] = std::move(rows);
        while (s.cacheOrder.size() > kCacheLimit) {
            if (s.cacheOrder.front() != currentPath())
                s.cache.erase(s.cacheOrder.front());
            else
                s.cacheOrder.push_back(s.cacheOrder.front());
            s.cacheOrder.pop_front();
        }
    }
    void setIouCell(int entry, int slot)
    {
        const ImageEntry& e = entries[static_cast<size_t>(entry)];
        auto set = [&](int column, double value) {
            QStandardItem* item = items->item(entry, column);
            item->setText(std::isnan(value) ? QString() : QString::number(value, 'f', 3));
            item->setData(std::isnan(value) ? QVariant() : QVariant(value), kSortRole);
        };
        set(slot == 0 ? colIouA : colIouB, e.iou[slot]);
        set(colDelta, std::isnan(e.iou[0]) || std::isnan(e.iou[1]) ? kNaN : e.iou[1] - e.iou[0]);
    }
};

DetectionPanel::DetectionPanel(QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>())
{
    conf_ = settings::detectConf.get();
    nms_ = settings::detectNms.get();
    for (SlotState& s : d_->slotStates) {
        s.pool.setMaxThreadCount(1);
        s.pool.setExpiryTimeout(-1);
    }
    d_->evalPool.setMaxThreadCount(1);
    buildUi();
    setThresholds(conf_, nms_);
}

DetectionPanel::~DetectionPanel()
{
    if (d_->evalCancel)
        d_->evalCancel->store(true);
    d_->evalPool.waitForDone();
    for (SlotState& s : d_->slotStates)
        s.pool.waitForDone();
}

void DetectionPanel::buildUi()
{
    Impl& d = *d_;

    // Source: a dataset split or a folder; filters and evaluation.
    d.datasetButton = new QPushButton(tr("Dataset…"));
    d.datasetButton->setToolTip(tr("List a split of a .data file (its labels are the ground truth)"));
    d.splitCombo = new QComboBox;
    d.splitCombo->addItem(tr("val"), "val");
    d.splitCombo->addItem(tr("train"), "train");
    d.folderButton = new QPushButton(tr("Folder…"));
    d.folderButton->setToolTip(tr("List the images of a folder (no ground truth)"));
    d.sourceLabel = new QLabel(tr("No images"));
    d.sourceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d.classCombo = new QComboBox;
    d.classCombo->setToolTip(tr("Show only images whose ground truth has this class"));
    d.worstButton = new QPushButton(tr("Worst first"));
    d.worstButton->setToolTip(tr("Sort by top-box IoU, lowest first (after Evaluate all)"));
    d.evalButton = new QPushButton(tr("Evaluate all"));
    d.evalButton->setToolTip(tr("Run both models over the listed images: top-box IoU per image, mean IoU and mAP"));
    d.cancelButton = new QPushButton(tr("Cancel"));
    d.cancelButton->setEnabled(false);
    d.evalProgress = new QProgressBar;
    d.evalProgress->setMaximumWidth(220);
    d.evalProgress->setFormat("%v / %m");
    d.evalProgress->setVisible(false);

    auto* sourceRow = new QHBoxLayout;
    sourceRow->addWidget(d.datasetButton);
    sourceRow->addWidget(d.splitCombo);
    sourceRow->addWidget(d.folderButton);
    sourceRow->addWidget(d.sourceLabel, 1);
    sourceRow->addWidget(new QLabel(tr("Class")));
    sourceRow->addWidget(d.classCombo);
    sourceRow->addWidget(d.worstButton);
    sourceRow->addWidget(d.evalButton);
    sourceRow->addWidget(d.cancelButton);
    sourceRow->addWidget(d.evalProgress);

    // Models A and B.
    auto* models = new QGroupBox(tr("Models"));
    auto* grid = new QGridLayout(models);
    grid->setColumnStretch(1, 3);
    grid->setColumnStretch(3, 2);
    grid->setColumnStretch(6, 3);
    for (int slot = 0; slot < kSlots; ++slot) {
        SlotState& s = d.slotStates[slot];
        s.weightsEdit = new QLineEdit;
        s.weightsEdit->setPlaceholderText(slot == 0 ? tr("e.g. exps/<fp run>/checkpoints/best.ckpt")
                                                    : tr("e.g. exps/<lsq run>/checkpoints/best.ckpt"));
        s.weightsEdit->setToolTip(tr("tyq checkpoint (.ckpt), tyq export or reference .pth"));
        s.yamlEdit = new QLineEdit;
        s.yamlEdit->setPlaceholderText(tr("bit-widths (reference LSQ .pth only)"));
        s.yamlEdit->setToolTip(tr("The bit-width YAML of a reference LSQ .pth; tyq checkpoints record their own"));
        s.loadButton = new QPushButton(tr("Load"));
        s.busy = new QProgressBar;
        s.busy->setRange(0, 0);
        s.busy->setMaximumWidth(60);
        s.busy->setTextVisible(false);
        s.busy->setVisible(false);
        s.status = new QLabel(tr("no model"));
        s.status->setTextInteractionFlags(Qt::TextSelectableByMouse);
        s.status->setWordWrap(true);
        auto* name = new QLabel(QString("<b>%1</b>").arg(slotName(slot)));
        grid->addWidget(name, slot, 0);
        grid->addWidget(pathField(s.weightsEdit, tr("Models (*.ckpt *.pth *.pt);;All files (*)")), slot, 1);
        grid->addWidget(pathField(s.yamlEdit, tr("Bit-widths (*.yaml *.yml)")), slot, 3);
        grid->addWidget(new QLabel(tr("YAML")), slot, 2);
        grid->addWidget(s.loadButton, slot, 4);
        grid->addWidget(s.busy, slot, 5);
        grid->addWidget(s.status, slot, 6);

        auto load = [this, slot] {
            SlotState& st = d_->slotStates[slot];
            const QString weights = st.weightsEdit->text().trimmed();
            if (weights.isEmpty()) {
                setStatus(tr("Choose the weights of model %1 first.").arg(slotName(slot)), true);
                return;
            }
            setModel(slot, weights, st.yamlEdit->text().trimmed());
        };
        connect(s.loadButton, &QPushButton::clicked, this, load);
        connect(s.weightsEdit, &QLineEdit::returnPressed, this, load);
        connect(s.yamlEdit, &QLineEdit::returnPressed, this, load);
        // A file picked with "…": load it (unless it is what is loaded already).
        connect(s.weightsEdit, &QLineEdit::editingFinished, this, [this, slot, load] {
            SlotState& st = d_->slotStates[slot];
            const QString weights = st.weightsEdit->text().trimmed();
            if (!weights.isEmpty() && weights != st.weights && QFileInfo::exists(weights) && !st.weightsEdit->hasFocus())
                load();
        });
    }

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

    // The image list.
    d.items = new QStandardItemModel(0, colCount, this);
    d.items->setHorizontalHeaderLabels({tr("Image"), tr("Truth"), tr("IoU A"), tr("IoU B"), tr("B − A")});
    d.proxy = new ImageFilterModel(this);
    d.proxy->entries = &d.entries;
    d.proxy->setSourceModel(d.items);
    d.proxy->setDynamicSortFilter(false); // rows stay put while "Evaluate all" fills them
    d.list = new QTableView;
    d.list->setModel(d.proxy);
    d.list->setSelectionBehavior(QAbstractItemView::SelectRows);
    d.list->setSelectionMode(QAbstractItemView::SingleSelection);
    d.list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    d.list->setSortingEnabled(true);
    d.list->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    d.list->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    d.list->horizontalHeader()->setStretchLastSection(true);
    d.list->verticalHeader()->setVisible(false);
    d.list->verticalHeader()->setDefaultSectionSize(d.list->fontMetrics().height() + 6);
    d.list->setMinimumWidth(240);
    d.list->installEventFilter(this);
    d.proxy->sort(-1);

    // Views A | B, their detections below.
    auto* views = new QSplitter(Qt::Horizontal);
    auto* tables = new QSplitter(Qt::Horizontal);
    for (int slot = 0; slot < kSlots; ++slot) {
        SlotState& s = d.slotStates[slot];
        auto* box = new QWidget;
        auto* layout = new QVBoxLayout(box);
        layout->setContentsMargins(0, 0, 0, 0);
        layout->setSpacing(2);
        s.title = new QLabel(QString("<b>%1</b> — %2").arg(slotName(slot), tr("no model")));
        s.title->setTextInteractionFlags(Qt::TextSelectableByMouse);
        s.view = new DetectionView;
        s.view->setObjectName(QString("detectionView%1").arg(slotName(slot)));
        s.view->installEventFilter(this);
        layout->addWidget(s.title);
        layout->addWidget(s.view, 1);
        views->addWidget(box);

        s.table = new QTableWidget(0, 5);
        s.table->setHorizontalHeaderLabels({tr("Class"), tr("Obj"), tr("Cls"), tr("Score"), tr("IoU")});
        const QString headerTips[] = {tr("Predicted class"), tr("Objectness (sigmoid)"), tr("Best class score (sigmoid)"),
                                      tr("Objectness × class score (the ranking)"),
                                      tr("IoU with the best-matching ground truth, network-input pixels, +1 convention")};
        for (int c = 0; c < 5; ++c)
            s.table->horizontalHeaderItem(c)->setToolTip(headerTips[c]);
        s.table->setEditTriggers(QAbstractItemView::NoEditTriggers);
        s.table->setSelectionBehavior(QAbstractItemView::SelectRows);
        s.table->setSelectionMode(QAbstractItemView::SingleSelection);
        s.table->verticalHeader()->setVisible(false);
        s.table->verticalHeader()->setDefaultSectionSize(s.table->fontMetrics().height() + 4);
        s.table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
        s.table->setToolTip(tr("Model %1's boxes on this image, best first; IoU with the best-matching ground truth "
                               "in network-input pixels (+1 convention)")
                                .arg(slotName(slot)));
        tables->addWidget(s.table);
        connect(s.table, &QTableWidget::currentCellChanged, this, [this, slot](int row, int, int, int) {
            d_->slotStates[slot].selected = row;
            updateViews();
        });
    }
    // The two views keep one viewport.
    for (int slot = 0; slot < kSlots; ++slot)
        connect(d.slotStates[slot].view, &DetectionView::viewportChanged, this,
                [this, slot](double zoom, const QPointF& center, bool fitted) {
                    d_->slotStates[1 - slot].view->setViewport(zoom, center, fitted);
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

    d.classCombo->addItem(tr("all classes"), -1);
    d.classCombo->setEnabled(false);

    connect(d.datasetButton, &QPushButton::clicked, this, [this] {
        const QString start = d_->dataFile.isEmpty() ? settings::lastDirectory.get() : d_->dataFile;
        const QString file = QFileDialog::getOpenFileName(this, tr("Dataset"), start, tr("Datasets (*.data)"));
        if (file.isEmpty())
            return;
        settings::lastDirectory.set(QFileInfo(file).absolutePath());
        if (!setDataset(file, d_->splitCombo->currentData().toString()))
            showError(this, tr("Cannot list the dataset"), d_->statusLabel->text());
    });
    connect(d.splitCombo, &QComboBox::currentIndexChanged, this, [this] {
        if (!d_->dataFile.isEmpty() && d_->folder.isEmpty())
            setDataset(d_->dataFile, d_->splitCombo->currentData().toString());
    });
    connect(d.folderButton, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder of images"), settings::lastDirectory.get());
        if (dir.isEmpty())
            return;
        settings::lastDirectory.set(dir);
        if (!setImageFolder(dir))
            showError(this, tr("Cannot list the folder"), d_->statusLabel->text());
    });
    connect(d.classCombo, &QComboBox::currentIndexChanged, this,
            [this] { setClassFilter(d_->classCombo->currentData().toInt()); });
    connect(d.worstButton, &QPushButton::clicked, this, [this] { sortWorstFirst(); });
    connect(d.evalButton, &QPushButton::clicked, this, [this] { evaluateAll(); });
    connect(d.cancelButton, &QPushButton::clicked, this, [this] { cancelEvaluation(); });
    connect(d.list->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (!d_->syncingList && current.isValid() && current.row() != currentRow())
                    showImage(current.row());
            });
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

bool DetectionPanel::setDataset(const QString& dataFile, const QString& split)
{
    try {
        const DataConfig config = loadDataConfig(toPath(dataFile));
        DatasetLoadOptions options;
        options.numClasses = config.classes;
        options.classNames = config.classNames;
        const bool train = split == "train";
        const LoadedDataset loaded = loadDatasetList(train ? config.trainList : config.validList, options);
        d_->entries.clear();
        for (const Sample& s : loaded.samples)
            d_->entries.push_back({fromPath(s.image), s.labels});
        d_->classNames = config.classNames;
        d_->dataFile = dataFile;
        d_->folder.clear();
        {
            const QSignalBlocker block(d_->splitCombo);
            d_->splitCombo->setCurrentIndex(train ? 1 : 0);
        }
        const QString description =
            tr("%1 (%2): %3 images").arg(QFileInfo(dataFile).fileName(), train ? "train" : "val").arg(d_->entries.size());
        setEntries(description, true);
        if (loaded.skipped > 0) {
            const QString text = tr("%1: skipped %2 samples; first: %3")
                                     .arg(dataFile)
                                     .arg(loaded.skipped)
                                     .arg(QString::fromStdString(loaded.problems.empty() ? "" : loaded.problems.front()));
            setStatus(text, true);
            Q_EMIT message(LogLevel::warning, text);
        } else {
            setStatus(tr("Listed %1").arg(description));
        }
        return !d_->entries.empty();
    } catch (const std::exception& e) {
        const QString text = tr("Cannot list %1: %2").arg(dataFile, QString::fromUtf8(e.what()));
        setStatus(text, true);
        Q_EMIT message(LogLevel::warning, text);
        return false;
    }
}

bool DetectionPanel::setImageFolder(const QString& dir)
{
    const QDir folder(dir);
    if (!folder.exists()) {
        const QString text = tr("The folder %1 does not exist").arg(dir);
        setStatus(text, true);
        Q_EMIT message(LogLevel::warning, text);
        return false;
    }
    const QStringList names = folder.entryList({"*.jpg", "*.jpeg", "*.png", "*.bmp", "*.webp", "*.tif", "*.tiff"},
                                               QDir::Files | QDir::Readable, QDir::Name | QDir::IgnoreCase);
    d_->entries.clear();
    for (const QString& name : names)
        d_->entries.push_back({folder.absoluteFilePath(name), {}});
    d_->folder = dir;
    d_->dataFile.clear();
    setEntries(tr("%1: %2 image(s), no ground truth").arg(dir).arg(names.size()), false);
    if (names.isEmpty()) {
        setStatus(tr("No images in %1").arg(dir), true);
        return false;
    }
    setStatus(tr("Listed %1 image(s) of %2").arg(names.size()).arg(dir));
    return true;
}

void DetectionPanel::setEntries(const QString& description, bool hasTruth)
{
    Impl& d = *d_;
    cancelEvaluation();
    d.hasTruth = hasTruth;
    d.currentEntry = -1;
    d.evalSummary.clear();
    d.sourceLabel->setText(description);
    d.sourceLabel->setToolTip(description);

    d.items->removeRows(0, d.items->rowCount());
    for (size_t i = 0; i < d.entries.size(); ++i) {
        const ImageEntry& e = d.entries[i];
        QStringList truth;
        for (const BoxLabel& l : e.labels)
            truth << d.className(l.classId);
        QList<QStandardItem*> row;
        auto* name = new QStandardItem(QFileInfo(e.path).fileName());
        name->setData(QFileInfo(e.path).fileName(), kSortRole);
        name->setData(static_cast<int>(i), kEntryRole);
        name->setToolTip(e.path);
        auto* classes = new QStandardItem(truth.join(", "));
        classes->setData(truth.join(", "), kSortRole);
        row << name << classes;
        for (int c = colIouA; c < colCount; ++c) {
            auto* item = new QStandardItem;
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            row << item;
        }
        d.items->appendRow(row);
    }
    for (int c = colClasses; c < colCount; ++c)
        d.list->setColumnHidden(c, !hasTruth);

    {
        const QSignalBlocker block(d.classCombo);
        d.classCombo->clear();
        d.classCombo->addItem(tr("all classes"), -1);
        for (size_t c = 0; c < d.classNames.size(); ++c)
            d.classCombo->addItem(QString::fromStdString(d.classNames[c]), static_cast<int>(c));
        d.classCombo->setEnabled(hasTruth);
    }
    d.proxy->setClassId(-1);
    d.list->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    d.proxy->sort(-1);
    updateSummary();
    if (d.entries.empty()) {
        d.image = QImage();
        d.imageSize = QSize();
        for (SlotState& s : d.slotStates) {
            s.view->setImage(QImage());
            s.view->setImageSize(QSize());
        }
        updateViews();
        return;
    }
    showImage(0);
}

int DetectionPanel::imageCount() const
{
    return d_->proxy->rowCount();
}

int DetectionPanel::currentRow() const
{
    return d_->rowOfEntry(d_->currentEntry);
}

QString DetectionPanel::imagePath(int row) const
{
    const int entry = d_->entryOfRow(row);
    return entry < 0 ? QString() : d_->entries[static_cast<size_t>(entry)].path;
}

QTableView* DetectionPanel::imageList() const
{
    return d_->list;
}

DetectionView* DetectionPanel::view(int slot) const
{
    return slot >= 0 && slot < kSlots ? d_->slotStates[slot].view : nullptr;
}

void DetectionPanel::showImage(int row)
{
    Impl& d = *d_;
    const int entry = d.entryOfRow(row);
    if (entry < 0)
        return;
    {
        d.syncingList = true;
        const QModelIndex index = d.proxy->index(row, 0);
        d.list->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        d.list->scrollTo(index);
        d.syncingList = false;
    }
    const bool sameImage = entry == d.currentEntry;
    d.currentEntry = entry;
    if (!sameImage) {
        const QString path = d.entries[static_cast<size_t>(entry)].path;
        QImageReader reader(path);
        reader.setAutoTransform(false); // as the engine (and PIL): EXIF orientation ignored
        d.image = reader.read();
        d.imageSize = d.image.size();
        if (d.image.isNull())
            setStatus(tr("Qt cannot show %1 (%2); boxes are drawn on a blank canvas").arg(path, reader.errorString()), true);
        for (SlotState& s : d.slotStates) {
            s.ready = false;
            s.error.clear();
            s.selected = -1;
            s.inputDetections.clear();
            s.detections.clear();
            s.view->setImage(d.image);
        }
    }
    d.shownPending = true;
    for (int slot = 0; slot < kSlots; ++slot)
        requestDetections(slot);
    updateViews();
    checkShown();
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
        d_->slotStates[0].view->zoomBy(1.25);
        break;
    case Qt::Key_Minus:
        d_->slotStates[0].view->zoomBy(0.8);
        break;
    case Qt::Key_0:
    case Qt::Key_F:
        d_->slotStates[0].view->fit();
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
        const bool fromList = watched == d_->list;
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
            (void)fromList;
            break;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void DetectionPanel::setClassFilter(int classId)
{
    Impl& d = *d_;
    const int index = d.classCombo->findData(classId);
    if (index >= 0 && index != d.classCombo->currentIndex()) {
        const QSignalBlocker block(d.classCombo);
        d.classCombo->setCurrentIndex(index);
    }
    d.proxy->setClassId(classId);
    updateSummary();
    const int row = currentRow();
    if (row >= 0) {
        d.syncingList = true;
        d.list->selectionModel()->setCurrentIndex(d.proxy->index(row, 0),
                                                  QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        d.syncingList = false;
    } else if (imageCount() > 0) {
        showImage(0);
    }
}

void DetectionPanel::sortWorstFirst()
{
    Impl& d = *d_;
    bool anyA = false, anyB = false;
    for (const ImageEntry& e : d.entries) {
        anyA = anyA || !std::isnan(e.iou[0]);
        anyB = anyB || !std::isnan(e.iou[1]);
    }
    if (!anyA && !anyB) {
        setStatus(tr("Run \"Evaluate all\" first: the list sorts by each image's top-box IoU."));
        return;
    }
    const int column = anyA ? colIouA : colIouB;
    d.list->sortByColumn(column, Qt::AscendingOrder);
    showImage(0);
}

// ---- models ---------------------------------------------------------------------------------

bool DetectionPanel::isModelLoaded(int slot) const
{
    return slot >= 0 && slot < kSlots && d_->slotStates[slot].model != nullptr;
}

QString DetectionPanel::modelWeights(int slot) const
{
    return slot >= 0 && slot < kSlots ? d_->slotStates[slot].weights : QString();
}

QString DetectionPanel::modelQuantYaml(int slot) const
{
    return slot >= 0 && slot < kSlots ? d_->slotStates[slot].quantYaml : QString();
}

void DetectionPanel::setModel(int slot, const QString& weights, const QString& quantYaml)
{
    if (slot < 0 || slot >= kSlots)
        return;
    Impl& d = *d_;
    SlotState& s = d.slotStates[slot];
    const int generation = ++s.generation;
    s.model.reset();
    s.loading = true;
    s.weights = weights;
    s.quantYaml = quantYaml;
    s.inferring = false;
    s.pending.clear();
    s.cache.clear();
    s.cacheOrder.clear();
    s.ready = false;
    s.error.clear();
    s.inputDetections.clear();
    s.detections.clear();
    s.weightsEdit->setText(weights);
    s.yamlEdit->setText(quantYaml);
    s.busy->setVisible(true);
    s.status->setText(tr("Loading %1…").arg(QFileInfo(weights).fileName()));
    s.status->setStyleSheet({});
    for (size_t e = 0; e < d.entries.size(); ++e) {
        d.entries[e].iou[slot] = kNaN;
        d.setIouCell(static_cast<int>(e), slot);
    }
    updateViews();

    QPointer<DetectionPanel> self(this);
    s.pool.start([self, slot, generation, weights, quantYaml] {
        configureComputeThreads(0);
        auto model = std::make_shared<SlotModel>();
        QString error;
        bool needsBitWidths = false;
        try {
            ModelSource source;
            source.weights = toPath(weights);
            source.quant = toPath(quantYaml);
            model->loaded = loadModel(source);
            model->detector = std::make_unique<Detector>(model->loaded.network);
            model->numClasses = model->loaded.network->spec().numClasses();
            model->inputWidth = model->detector->inputWidth();
            model->inputHeight = model->detector->inputHeight();
            model->quantized = model->loaded.network->quantized();
            QString bits;
            if (model->quantized) {
                const QuantConfig& q = *model->loaded.network->quantConfig();
                bits = QObject::tr("LSQ %1-bit weights / %2-bit activations")
                           .arg(q.defaults.weight.bit)
                           .arg(q.defaults.act.bit);
            } else {
                bits = QObject::tr("full precision");
            }
            model->description = QString("%1 (%2, %3, %4x%5)")
                                     .arg(QFileInfo(weights).fileName(),
                                          QString::fromStdString(model->loaded.weightsDescription), bits)
                                     .arg(model->inputWidth)
                                     .arg(model->inputHeight);
        } catch (const Error& e) {
            needsBitWidths = e.kind() == ErrorKind::needsBitWidths;
            error = needsBitWidths ? QObject::tr("%1 is an LSQ-quantized model: choose its bit-width YAML (for the "
                                                 "reference checkpoints config/lsq-3bit.yaml) in the YAML field, "
                                                 "then Load.")
                                         .arg(weights)
                                   : QString::fromUtf8(e.what());
            model.reset();
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
            model.reset();
        }
        if (!self)
            return;
        QMetaObject::invokeMethod(self, [self, slot, generation, model, error, needsBitWidths] {
            if (!self)
                return;
            Impl& d = *self->d_;
            SlotState& s = d.slotStates[slot];
            if (generation != s.generation)
                return; // a newer load replaced this one
            s.loading = false;
            s.busy->setVisible(false);
            if (!model) {
                s.weights.clear();
                // Multi-line messages (one line per invalid tensor) would grow the model rows and
                // the status line: those show the headline; the tooltip, dialog and log the whole.
                QString headline = error.section('\n', 0, 0);
                if (headline.size() < error.size()) {
                    if (headline.endsWith(':'))
                        headline.chop(1);
                    headline += QStringLiteral(" …");
                }
                s.status->setText(headline);
                s.status->setStyleSheet("color: #c0392b");
                s.status->setToolTip(error);
                if (needsBitWidths)
                    s.yamlEdit->setFocus();
                self->setStatus(QObject::tr("Model %1: %2").arg(slotName(slot), headline), true);
                showError(self, QObject::tr("Cannot load model %1").arg(slotName(slot)), error);
                Q_EMIT self->message(LogLevel::error, QObject::tr("Detections, model %1: %2").arg(slotName(slot), error));
                self->updateViews();
                Q_EMIT self->modelLoaded(slot, false, error);
                return;
            }
            s.model = model;
            s.status->setText(model->description);
            s.status->setToolTip(model->description);
            for (const std::string& w : model->loaded.warnings)
                Q_EMIT self->message(LogLevel::warning, QString::fromStdString(w));
            Q_EMIT self->message(LogLevel::info,
                                 QObject::tr("Detections: model %1 is %2").arg(slotName(slot), model->description));
            self->setStatus(QObject::tr("Model %1 loaded: %2").arg(slotName(slot), model->description));
            Q_EMIT self->modelLoaded(slot, true, model->description);
            if (d.currentEntry >= 0) {
                d.shownPending = true;
                self->requestDetections(slot);
                self->updateViews();
                self->checkShown();
            } else {
                self->updateViews();
            }
        });
    });
}

// ---- detections -----------------------------------------------------------------------------

void DetectionPanel::requestDetections(int slot)
{
    Impl& d = *d_;
    SlotState& s = d.slotStates[slot];
    if (!s.model || s.loading || d.currentEntry < 0)
        return;
    const QString path = d.currentPath();
    if (s.cache.count(path)) {
        refreshDetections();
        return;
    }
    s.ready = false;
    if (s.inferring) {
        if (s.inFlight != path)
            s.pending = path; // runs when the one in flight is done; older asks are dropped
        return;
    }
    startInference(slot, path);
}

void DetectionPanel::startInference(int slot, const QString& path)
{
    SlotState& s = d_->slotStates[slot];
    s.inferring = true;
    s.inFlight = path;
    s.pending.clear();
    s.busy->setVisible(true);
    const int generation = s.generation;
    std::shared_ptr<SlotModel> model = s.model;
    QPointer<DetectionPanel> self(this);
    s.pool.start([self, slot, generation, model, path] {
        configureComputeThreads(0);
        QElapsedTimer timer;
        timer.start();
        CachedRows rows;
        QString error;
        try {
            DetectionOptions options;
            options.keepDecoded = true;
            options.confThreshold = 2.0f; // NMS runs in the GUI thread on the cached rows
            std::lock_guard<std::mutex> lock(model->mutex);
            ImageDetections result = model->detector->run(toPath(path), options);
            rows.decoded = result.decoded.contiguous();
            rows.width = result.width;
            rows.height = result.height;
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        const double ms = static_cast<double>(timer.nsecsElapsed()) / 1e6;
        if (!self)
            return;
        QMetaObject::invokeMethod(self, [self, slot, generation, path, rows, error, ms] {
            if (!self)
                return;
            Impl& d = *self->d_;
            SlotState& s = d.slotStates[slot];
            if (generation != s.generation)
                return; // from a model since replaced
            s.inferring = false;
            s.busy->setVisible(s.loading);
            const bool current = path == d.currentPath();
            if (!error.isEmpty()) {
                Q_EMIT self->message(LogLevel::warning, QObject::tr("Detections, model %1: %2").arg(slotName(slot), error));
                if (current) {
                    s.error = error;
                    s.ready = true;
                    self->setStatus(error, true);
                }
            } else {
                d.cacheInsert(s, path, rows);
                if (current)
                    s.inferMs = ms;
            }
            const QString next = s.pending;
            s.pending.clear();
            if (!next.isEmpty() && next == d.currentPath() && !s.cache.count(next))
                self->startInference(slot, next);
            self->refreshDetections();
            self->checkShown();
        });
    });
}

void DetectionPanel::refreshDetections()
{
    Impl& d = *d_;
    if (d.currentEntry < 0) {
        updateViews();
        return;
    }
    const ImageEntry& entry = d.entries[static_cast<size_t>(d.currentEntry)];
    DetectionOptions options;
    options.confThreshold = static_cast<float>(conf_);
    options.nmsThreshold = static_cast<float>(nms_);
    for (SlotState& s : d.slotStates) {
        if (!s.model)
            continue;
        const auto cached = s.cache.find(entry.path);
        if (cached == s.cache.end())
            continue;
        const CachedRows& rows = cached->second;
        const SlotModel& m = *s.model;
        try {
            s.inputDetections = Detector::detectionsFromDecoded(rows.decoded, m.numClasses, options);
        } catch (const std::exception& e) {
            s.inputDetections.clear();
            s.error = QString::fromUtf8(e.what());
        }
        // IoU against the best-matching truth in network-input pixels, as the evaluation computes it.
        const std::vector<GroundTruth> truths = truthBoxes(entry.labels, m.inputWidth, m.inputHeight);
        s.ious.assign(s.inputDetections.size(), std::numeric_limits<float>::quiet_NaN());
        for (size_t i = 0; i < s.inputDetections.size() && !truths.empty(); ++i) {
            const Detection& p = s.inputDetections[i];
            float best = 0;
            for (const GroundTruth& t : truths) {
                const float iou = boxIouPlusOne(p.x1, p.y1, p.x2, p.y2, t.x1, t.y1, t.x2, t.y2);
                if (!std::isnan(iou))
                    best = std::max(best, iou);
            }
            s.ious[i] = best;
        }
        s.detections = s.inputDetections;
        scaleDetections(s.detections, static_cast<float>(rows.width) / m.inputWidth,
                        static_cast<float>(rows.height) / m.inputHeight);
        if (d.image.isNull())
            d.imageSize = QSize(rows.width, rows.height);
        if (s.selected >= static_cast<int>(s.detections.size()))
            s.selected = -1;
        s.ready = true;
    }
    updateViews();
}

std::vector<Detection> DetectionPanel::detections(int slot) const
{
    if (slot < 0 || slot >= kSlots || !d_->slotStates[slot].model || !d_->slotStates[slot].ready)
        return {};
    return d_->slotStates[slot].detections;
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
    refreshDetections();
    updateSummary();
}

void DetectionPanel::checkShown()
{
    Impl& d = *d_;
    if (!d.shownPending || d.currentEntry < 0)
        return;
    for (const SlotState& s : d.slotStates)
        if (s.model && !s.loading && !s.ready)
            return;
    d.shownPending = false;
    Q_EMIT imageShown(currentRow());
}

void DetectionPanel::updateViews()
{
    Impl& d = *d_;
    const bool haveImage = d.currentEntry >= 0;
    const ImageEntry* entry = haveImage ? &d.entries[static_cast<size_t>(d.currentEntry)] : nullptr;
    const QSize size = d.imageSize;

    // Boxes only one model found: no box of the other model with the same class and IoU >= 0.5.
    const bool compare = d.slotStates[0].model && d.slotStates[1].model && d.slotStates[0].ready && d.slotStates[1].ready &&
                         d.slotStates[0].error.isEmpty() && d.slotStates[1].error.isEmpty();
    for (int slot = 0; slot < kSlots; ++slot) {
        SlotState& s = d.slotStates[slot];
        const SlotState& other = d.slotStates[1 - slot];
        s.onlyHere.assign(s.detections.size(), false);
        if (!compare)
            continue;
        for (size_t i = 0; i < s.detections.size(); ++i) {
            const Detection& a = s.detections[i];
            bool matched = false;
            for (const Detection& b : other.detections)
                if (b.classId == a.classId && boxIouPlusOne(a.x1, a.y1, a.x2, a.y2, b.x1, b.y1, b.x2, b.y2) >= 0.5f) {
                    matched = true;
                    break;
                }
            s.onlyHere[i] = !matched;
        }
    }

    QVector<OverlayBox> truthBoxesShown;
    if (entry && !size.isEmpty())
        for (const GroundTruth& t : truthBoxes(entry->labels, size.width(), size.height()))
            truthBoxesShown.push_back({QRectF(QPointF(t.x1, t.y1), QPointF(t.x2, t.y2)), toQColor(t.classId),
                                       tr("truth: %1").arg(d.className(t.classId)), true, false, false});

    for (int slot = 0; slot < kSlots; ++slot) {
        SlotState& s = d.slotStates[slot];
        s.view->setImageSize(size);
        QVector<OverlayBox> boxes = truthBoxesShown;
        const bool showBoxes = s.model && s.ready && s.error.isEmpty();
        if (showBoxes)
            for (size_t i = 0; i < s.detections.size(); ++i) {
                const Detection& p = s.detections[i];
                QString label = QString("%1 %2").arg(d.className(p.classId)).arg(p.objectness * p.classScore, 0, 'f', 2);
                if (!std::isnan(s.ious[i]))
                    label += QString(" · IoU %1").arg(s.ious[i], 0, 'f', 2);
                if (s.onlyHere[i])
                    label = tr("only %1: %2").arg(slotName(slot), label);
                boxes.push_back({QRectF(QPointF(p.x1, p.y1), QPointF(p.x2, p.y2)), toQColor(p.classId), label, false,
                                 bool(s.onlyHere[i]), static_cast<int>(i) == s.selected});
            }
        s.view->setBoxes(boxes);

        QString note;
        if (!haveImage)
            note = tr("No image: choose a dataset or a folder");
        else if (s.loading)
            note = tr("%1: loading the model…").arg(slotName(slot));
        else if (!s.model)
            note = tr("%1: no model (choose weights above)").arg(slotName(slot));
        else if (!s.error.isEmpty())
            note = tr("%1: %2").arg(slotName(slot), s.error);
        else if (!s.ready)
            note = tr("%1: running…").arg(slotName(slot));
        else
            note = tr("%1: %2 %3 · %4 ms")
                       .arg(slotName(slot))
                       .arg(s.detections.size())
                       .arg(s.detections.size() == 1 ? tr("box") : tr("boxes"))
                       .arg(s.inferMs, 0, 'f', 0);
        s.view->setNote(note);
        s.title->setText(QString("<b>%1</b> — %2")
                             .arg(slotName(slot), s.model ? s.model->description.toHtmlEscaped()
                                                  : s.loading ? tr("loading…")
                                                              : tr("no model")));

        // The detections table.
        QTableWidget* table = s.table;
        const QSignalBlocker block(table);
        table->setRowCount(showBoxes ? static_cast<int>(s.detections.size()) : 0);
        if (showBoxes)
            for (int i = 0; i < static_cast<int>(s.detections.size()); ++i) {
                const Detection& p = s.detections[static_cast<size_t>(i)];
                auto cell = [&](int column, const QString& text) {
                    auto* item = new QTableWidgetItem(text);
                    if (column > 0)
                        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
                    table->setItem(i, column, item);
                    return item;
                };
                QTableWidgetItem* name = cell(0, d.className(p.classId));
                name->setIcon([&] {
                    QPixmap swatch(10, 10);
                    swatch.fill(toQColor(p.classId));
                    return QIcon(swatch);
                }());
                if (s.onlyHere[static_cast<size_t>(i)])
                    name->setText(name->text() + tr(" (only %1)").arg(slotName(slot)));
                cell(1, QString::number(p.objectness, 'f', 3));
                cell(2, QString::number(p.classScore, 'f', 3));
                cell(3, QString::number(p.objectness * p.classScore, 'f', 3));
                cell(4, iouText(s.ious[static_cast<size_t>(i)]));
            }
        if (s.selected >= 0 && s.selected < table->rowCount())
            table->selectRow(s.selected);
    }

    // The difference in one line: each model's top box, then the boxes only one found.
    QStringList parts;
    for (int slot = 0; slot < kSlots; ++slot) {
        const SlotState& s = d.slotStates[slot];
        if (!s.model || !s.ready)
            continue;
        if (!s.error.isEmpty()) {
            parts << QString("<b>%1</b>: error").arg(slotName(slot));
        } else if (s.detections.empty()) {
            parts << tr("<b>%1</b>: nothing above conf %2").arg(slotName(slot)).arg(conf_, 0, 'f', 2);
        } else {
            const Detection& top = s.detections.front();
            QString text = QString("<b>%1</b>: %2 %3")
                               .arg(slotName(slot), d.className(top.classId).toHtmlEscaped())
                               .arg(top.objectness * top.classScore, 0, 'f', 2);
            if (!std::isnan(s.ious.front()))
                text += QString(" IoU %1").arg(s.ious.front(), 0, 'f', 2);
            parts << text;
        }
    }
    QString diff = parts.join(" — ");
    if (compare) {
        for (int slot = 0; slot < kSlots; ++slot) {
            const SlotState& s = d.slotStates[slot];
            QStringList only;
            for (size_t i = 0; i < s.detections.size(); ++i)
                if (s.onlyHere[i])
                    only << QString("%1 %2").arg(d.className(s.detections[i].classId).toHtmlEscaped())
                                .arg(s.detections[i].objectness * s.detections[i].classScore, 0, 'f', 2);
            if (!only.isEmpty())
                diff += tr(" · <span style='color:#b35900'>only %1: %2</span>").arg(slotName(slot), only.join(", "));
        }
        if (!d.slotStates[0].detections.empty() && !d.slotStates[1].detections.empty() &&
            d.slotStates[0].detections.front().classId != d.slotStates[1].detections.front().classId)
            diff += tr(" · <b>top classes differ</b>");
    }
    d.diffLabel->setText(diff);
}

// ---- evaluate all ---------------------------------------------------------------------------

bool DetectionPanel::isEvaluating() const
{
    return d_->evaluating;
}

double DetectionPanel::topIoU(int row, int slot) const
{
    const int entry = d_->entryOfRow(row);
    if (entry < 0 || slot < 0 || slot >= kSlots)
        return kNaN;
    return d_->entries[static_cast<size_t>(entry)].iou[slot];
}

void DetectionPanel::cancelEvaluation()
{
    if (d_->evaluating && d_->evalCancel) {
        d_->evalCancel->store(true);
        d_->cancelButton->setEnabled(false);
        setStatus(tr("Cancelling the evaluation…"));
    }
}

void DetectionPanel::evaluateAll()
{
    Impl& d = *d_;
    if (d.evaluating)
        return;
    std::shared_ptr<SlotModel> models[kSlots];
    for (int slot = 0; slot < kSlots; ++slot) {
        models[slot] = d.slotStates[slot].model;
        d.evalGeneration[slot] = d.slotStates[slot].generation;
    }
    if (!models[0] && !models[1]) {
        setStatus(tr("Load a model (A or B) before evaluating."), true);
        return;
    }
    if (!d.hasTruth) {
        setStatus(tr("These images have no ground truth: list a dataset split to evaluate."), true);
        return;
    }
    struct Item {
        int entry;
        QString path;
        std::vector<BoxLabel> labels;
    };
    std::vector<Item> work;
    for (int row = 0; row < d.proxy->rowCount(); ++row) {
        const int entry = d.entryOfRow(row);
        work.push_back({entry, d.entries[size_t(entry)].path, d.entries[size_t(entry)].labels});
    }
    if (work.empty())
        return;
    for (size_t e = 0; e < d.entries.size(); ++e)
        for (int slot = 0; slot < kSlots; ++slot)
            if (models[slot]) {
                d.entries[e].iou[slot] = kNaN;
                d.setIouCell(static_cast<int>(e), slot);
            }

    auto cancel = std::make_shared<std::atomic<bool>>(false);
    d.evalCancel = cancel;
    d.evaluating = true;
    d.evalConf = conf_;
    d.evalNms = nms_;
    d.evalSummary.clear();
    d.evalButton->setEnabled(false);
    d.cancelButton->setEnabled(true);
    d.evalProgress->setRange(0, static_cast<int>(work.size()));
    d.evalProgress->setValue(0);
    d.evalProgress->setVisible(true);
    setStatus(tr("Evaluating %1 images…").arg(work.size()));
    updateSummary();

    DetectionOptions options;
    options.confThreshold = static_cast<float>(conf_);
    options.nmsThreshold = static_cast<float>(nms_);
    options.keepDecoded = true;
    const int generations[kSlots] = {d.evalGeneration[0], d.evalGeneration[1]};
    QPointer<DetectionPanel> self(this);
    d.evalPool.start([self, work = std::move(work), m0 = models[0], m1 = models[1], cancel, options,
                      g0 = generations[0], g1 = generations[1]] {
        configureComputeThreads(0);
        const std::shared_ptr<SlotModel> model[kSlots] = {m0, m1};
        const int generation[kSlots] = {g0, g1};
        std::optional<DetectionEvaluator> evaluator[kSlots];
        for (int slot = 0; slot < kSlots; ++slot)
            if (model[slot])
                evaluator[slot].emplace(model[slot]->numClasses);
        int done = 0;
        int problems = 0;
        QString firstProblem;
        const int total = static_cast<int>(work.size());
        for (const auto& item : work) {
            if (cancel->load())
                break;
            for (int slot = 0; slot < kSlots && !cancel->load(); ++slot) {
                if (!model[slot])
                    continue;
                SlotModel& m = *model[slot];
                try {
                    ImageDetections result;
                    {
                        std::lock_guard<std::mutex> lock(m.mutex);
                        result = m.detector->run(toPath(item.path), options);
                    }
                    const std::vector<Detection> detections =
                        Detector::detectionsFromDecoded(result.decoded, m.numClasses, options);
                    const std::vector<GroundTruth> truths = truthBoxes(item.labels, m.inputWidth, m.inputHeight);
                    evaluator[slot]->addImage(detections, truths);
                    // The contest's score: the top box against the image's objects.
                    double iou = 0;
                    if (!detections.empty())
                        for (const GroundTruth& t : truths) {
                            const Detection& p = detections.front();
                            const float v = boxIouPlusOne(p.x1, p.y1, p.x2, p.y2, t.x1, t.y1, t.x2, t.y2);
                            if (!std::isnan(v))
                                iou = std::max(iou, static_cast<double>(v));
                        }
                    CachedRows rows{result.decoded.contiguous(), result.width, result.height};
                    QMetaObject::invokeMethod(self, [self, slot, entry = item.entry, path = item.path, iou, rows,
                                                     gen = generation[slot]] {
                        if (!self)
                            return;
                        Impl& d = *self->d_;
                        if (d.slotStates[slot].generation != gen || entry >= static_cast<int>(d.entries.size()) ||
                            d.entries[size_t(entry)].path != path)
                            return;
                        d.entries[size_t(entry)].iou[slot] = iou;
                        d.setIouCell(entry, slot);
                        d.cacheInsert(d.slotStates[slot], path, rows);
                    });
                } catch (const std::exception& e) {
                    if (problems++ == 0)
                        firstProblem = QString("%1: %2").arg(item.path, QString::fromUtf8(e.what()));
                }
            }
            if (cancel->load())
                break;
            ++done;
            QMetaObject::invokeMethod(self, [self, done, total] {
                if (!self)
                    return;
                self->d_->evalProgress->setValue(done);
                Q_EMIT self->evaluationProgress(done, total);
            });
        }

        QStringList summary;
        for (int slot = 0; slot < kSlots; ++slot)
            if (evaluator[slot]) {
                const EvaluationResult r = evaluator[slot]->result();
                summary << QObject::tr("<b>%1</b>: mean top-box IoU %2, mAP@0.5 %3 (%4 boxes)")
                               .arg(slotName(slot))
                               .arg(r.contestIoU, 0, 'f', 3)
                               .arg(r.mAP, 0, 'f', 3)
                               .arg(r.predictions);
            }
        const bool cancelled = cancel->load();
        QMetaObject::invokeMethod(self, [self, summary, cancelled, done, total, problems, firstProblem] {
            if (!self)
                return;
            Impl& d = *self->d_;
            d.evaluating = false;
            d.evalButton->setEnabled(true);
            d.cancelButton->setEnabled(false);
            d.evalProgress->setVisible(false);
            const QString head = cancelled ? QObject::tr("Cancelled after %1 of %2 images").arg(done).arg(total)
                                           : QObject::tr("%1 images").arg(done);
            d.evalSummary = QObject::tr("%1 at conf %2, NMS %3: %4")
                                .arg(head)
                                .arg(d.evalConf, 0, 'f', 2)
                                .arg(d.evalNms, 0, 'f', 2)
                                .arg(summary.join(" — "));
            self->updateSummary();
            QString plain = d.evalSummary;
            plain.remove(QRegularExpression("<[^>]*>"));
            Q_EMIT self->message(LogLevel::info, QObject::tr("Detections evaluated: %1").arg(plain));
            if (problems > 0) {
                const QString text = QObject::tr("%n image(s) could not be evaluated; first: %1", nullptr, problems)
                                         .arg(firstProblem);
                self->setStatus(text, true);
                Q_EMIT self->message(LogLevel::warning, text);
            } else {
                self->setStatus(cancelled ? QObject::tr("Evaluation cancelled.") : QObject::tr("Evaluation done."));
            }
            // Re-apply the list's sort now that the columns are filled.
            const int column = d.list->horizontalHeader()->sortIndicatorSection();
            if (column >= 0 && column < colCount)
                d.proxy->sort(column, d.list->horizontalHeader()->sortIndicatorOrder());
            Q_EMIT self->evaluationFinished();
        });
    });
}

void DetectionPanel::updateSummary()
{
    Impl& d = *d_;
    QString text = d.evalSummary;
    if (!text.isEmpty() && !d.evaluating && (d.evalConf != conf_ || d.evalNms != nms_))
        text += tr(" <i>(thresholds changed since: evaluate again)</i>");
    if (d.proxy->classId >= 0)
        text = tr("Showing %1 of %2 images (class %3). ")
                   .arg(imageCount())
                   .arg(d.entries.size())
                   .arg(d.className(d.proxy->classId).toHtmlEscaped()) +
               text;
    d.summaryLabel->setText(text);
}

} // namespace tyq::ui
