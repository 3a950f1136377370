#include "image_list.h"

#include "background_job.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>

#include <cmath>

namespace tyq::ui {

namespace {

constexpr int kSortRole = Qt::UserRole + 1;
enum Column { colImage, colClasses, colIouA, colIouB, colDelta, colCount };
const double kNaN = std::numeric_limits<double>::quiet_NaN();

ImageListing readDataset(const QString& dataFile, const QString& split)
{
    ImageListing listing;
    const DataConfig config = loadDataConfig(toPath(dataFile));
    DatasetLoadOptions options;
    options.numClasses = config.classes;
    options.classNames = config.classNames;
    const bool train = split == "train";
    const LoadedDataset loaded = loadDatasetList(train ? config.trainList : config.validList, options);
    for (const Sample& s : loaded.samples)
        listing.entries.push_back({fromPath(s.image), s.labels});
    listing.classNames = config.classNames;
    listing.hasTruth = true;
    listing.dataFile = dataFile;
    listing.split = train ? "train" : "val";
    listing.description = QObject::tr("%1 (%2): %3 images")
                              .arg(QFileInfo(dataFile).fileName(), listing.split)
                              .arg(listing.entries.size());
    if (loaded.skipped > 0)
        listing.warning = QObject::tr("%1: skipped %2 samples; first: %3")
                              .arg(dataFile)
                              .arg(loaded.skipped)
                              .arg(QString::fromStdString(loaded.problems.empty() ? "" : loaded.problems.front()));
    return listing;
}

ImageListing readFolder(const QString& dir, const std::vector<std::string>& classNames)
{
    const QDir folder(dir);
    if (!folder.exists())
        throw Error(QObject::tr("The folder %1 does not exist").arg(dir).toStdString());
    const QStringList names = folder.entryList({"*.jpg", "*.jpeg", "*.png", "*.bmp", "*.webp", "*.tif", "*.tiff"},
                                               QDir::Files | QDir::Readable, QDir::Name | QDir::IgnoreCase);
    // Ground truth where a dataset's rules find it (labels/ beside images/, VOC XML).
    DatasetLoadOptions labels;
    labels.numClasses = static_cast<int>(classNames.size());
    labels.classNames = classNames;
    ImageListing listing;
    int withTruth = 0, unreadable = 0;
    QString firstProblem;
    for (const QString& name : names) {
        ImageEntry entry{folder.absoluteFilePath(name), {}};
        const std::filesystem::path labelFile = findLabelFile(toPath(entry.path));
        if (!labelFile.empty()) {
            try {
                entry.labels = readLabelFile(labelFile, labels);
                ++withTruth;
            } catch (const Error& e) {
                if (unreadable++ == 0)
                    firstProblem = QString::fromUtf8(e.what());
            }
        }
        listing.entries.push_back(std::move(entry));
    }
    listing.folder = dir;
    listing.classNames = classNames;
    listing.hasTruth = withTruth > 0;
    listing.description = withTruth > 0 ? QObject::tr("%1: %2 image(s), %3 with ground truth").arg(dir).arg(names.size()).arg(withTruth)
                                        : QObject::tr("%1: %2 image(s), no ground truth").arg(dir).arg(names.size());
    if (unreadable > 0)
        listing.warning = QObject::tr("%1: %2 label file(s) could not be read; first: %3").arg(dir).arg(unreadable).arg(firstProblem);
    return listing;
}

} // namespace

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

ImageList::ImageList(QWidget* parent)
    : QTableView(parent), datasetButton_(new QPushButton(tr("Dataset…"))), splitCombo_(new QComboBox),
      folderButton_(new QPushButton(tr("Folder…"))), sourceLabel_(new QLabel(tr("No images"))), classCombo_(new QComboBox),
      worstButton_(new QPushButton(tr("Worst first"))), items_(new QStandardItemModel(0, colCount, this)),
      proxy_(new ImageFilterModel(this)), job_(std::make_unique<BackgroundJob<std::shared_ptr<ImageListing>>>(this))
{
    datasetButton_->setToolTip(tr("List a split of a .data file (its labels are the ground truth)"));
    splitCombo_->addItem(tr("val"), "val");
    splitCombo_->addItem(tr("train"), "train");
    folderButton_->setToolTip(tr("List the images of a folder (no ground truth)"));
    sourceLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    classCombo_->setToolTip(tr("Show only images whose ground truth has this class"));
    classCombo_->addItem(tr("all classes"), -1);
    classCombo_->setEnabled(false);
    worstButton_->setToolTip(tr("Sort by top-box IoU, lowest first (after Evaluate all)"));
    connect(datasetButton_, &QPushButton::clicked, this, [this] {
        const QString start = dataFile().isEmpty() ? settings::lastDirectory.get() : dataFile();
        const QString file = QFileDialog::getOpenFileName(this, tr("Dataset"), start, tr("Datasets (*.data)"));
        if (file.isEmpty())
            return;
        settings::lastDirectory.set(QFileInfo(file).absolutePath());
        listDataset(file, splitCombo_->currentData().toString());
        userChoice_ = true;
    });
    connect(splitCombo_, &QComboBox::currentIndexChanged, this, [this] {
        if (!dataFile().isEmpty())
            listDataset(dataFile(), splitCombo_->currentData().toString());
    });
    connect(folderButton_, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder of images"), settings::lastDirectory.get());
        if (dir.isEmpty())
            return;
        settings::lastDirectory.set(dir);
        listFolder(dir);
        userChoice_ = true;
    });
    connect(classCombo_, &QComboBox::currentIndexChanged, this, [this] { setClassFilter(classCombo_->currentData().toInt()); });
    connect(worstButton_, &QPushButton::clicked, this, &ImageList::worstFirstAsked);

    listing_.classNames = dacClassNames();
    items_->setHorizontalHeaderLabels({tr("Image"), tr("Truth"), tr("IoU A"), tr("IoU B"), tr("B − A")});
    proxy_->entries = &listing_.entries;
    proxy_->setSourceModel(items_);
    proxy_->setDynamicSortFilter(false); // rows stay put while "Evaluate all" fills them
    setModel(proxy_);
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setSelectionMode(QAbstractItemView::SingleSelection);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setSortingEnabled(true);
    horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    // The numbers keep their width; the image name takes what is left (elided at its start,
    // where paths differ least), so the list never scrolls sideways.
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    horizontalHeader()->setStretchLastSection(false);
    setTextElideMode(Qt::ElideLeft);
    verticalHeader()->setVisible(false);
    verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    setMinimumWidth(240);
    proxy_->sort(-1);
    connect(selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
        if (!syncing_ && current.isValid())
            Q_EMIT rowChosen(current.row());
    });
}

ImageList::~ImageList() = default;

void ImageList::addControls(QHBoxLayout* row)
{
    row->addWidget(datasetButton_);
    row->addWidget(splitCombo_);
    row->addWidget(folderButton_);
    row->addWidget(sourceLabel_, 1);
    row->addWidget(new QLabel(tr("Class")));
    row->addWidget(classCombo_);
    row->addWidget(worstButton_);
}

void ImageList::listDataset(const QString& dataFile, const QString& split)
{
    start(tr("%1 (%2)").arg(QFileInfo(dataFile).fileName(), split), [dataFile, split] { return readDataset(dataFile, split); });
}

void ImageList::listFolder(const QString& dir)
{
    start(dir, [dir, names = listing_.classNames] { return readFolder(dir, names); });
}

bool ImageList::isListing() const
{
    return job_->isRunning();
}

void ImageList::start(const QString& what, std::function<ImageListing()> read)
{
    userChoice_ = false;
    Q_EMIT listingStarted(what);
    JobHandlers<std::shared_ptr<ImageListing>> handlers;
    handlers.result = [this](const std::shared_ptr<ImageListing>& listing) { show(std::move(*listing)); };
    handlers.failed = [this](const JobFailure& failure) {
        if (std::exchange(userChoice_, false))
            showError(this, tr("Cannot list the images"), failure.message);
        Q_EMIT listingFailed(failure.message);
    };
    job_->start(
        [read](QPromise<std::shared_ptr<ImageListing>>& promise) {
            promise.addResult(std::make_shared<ImageListing>(read()));
        },
        std::move(handlers));
}

void ImageList::show(ImageListing listing)
{
    listing_ = std::move(listing);
    items_->removeRows(0, items_->rowCount());
    for (const ImageEntry& e : listing_.entries) {
        QStringList truth;
        for (const BoxLabel& l : e.labels)
            truth << className(l.classId);
        const QString fileName = QFileInfo(e.path).fileName();
        QList<QStandardItem*> row;
        auto* name = new QStandardItem(fileName);
        name->setData(fileName, kSortRole);
        name->setToolTip(e.path);
        auto* classes = new QStandardItem(truth.join(", "));
        classes->setData(truth.join(", "), kSortRole);
        row << name << classes;
        for (int c = colIouA; c < colCount; ++c) {
            auto* item = new QStandardItem;
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            row << item;
        }
        items_->appendRow(row);
    }
    for (int c = colClasses; c < colCount; ++c)
        setColumnHidden(c, !listing_.hasTruth);
    proxy_->setClassId(-1);
    horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    proxy_->sort(-1);
    sourceLabel_->setText(listing_.description);
    sourceLabel_->setToolTip(listing_.description);
    if (!listing_.dataFile.isEmpty()) {
        const QSignalBlocker block(splitCombo_);
        splitCombo_->setCurrentIndex(listing_.split == "train" ? 1 : 0);
    }
    {
        const QSignalBlocker block(classCombo_);
        classCombo_->clear();
        classCombo_->addItem(tr("all classes"), -1);
        for (size_t c = 0; c < listing_.classNames.size(); ++c)
            classCombo_->addItem(QString::fromStdString(listing_.classNames[c]), static_cast<int>(c));
        classCombo_->setEnabled(listing_.hasTruth);
    }
    QString problem = listing_.warning;
    if (listing_.entries.empty() && problem.isEmpty())
        problem = listing_.folder.isEmpty() ? tr("%1 lists no usable images").arg(listing_.dataFile)
                                            : tr("No images in %1").arg(listing_.folder);
    if (std::exchange(userChoice_, false) && listing_.entries.empty())
        showError(this, tr("Nothing to show"), problem);
    Q_EMIT listed(problem);
}

QString ImageList::className(int classId) const
{
    return classId >= 0 && classId < static_cast<int>(listing_.classNames.size())
               ? QString::fromStdString(listing_.classNames[size_t(classId)])
               : tr("class %1").arg(classId);
}

int ImageList::shownCount() const
{
    return proxy_->rowCount();
}

int ImageList::entryOfRow(int row) const
{
    if (row < 0 || row >= proxy_->rowCount())
        return -1;
    return proxy_->mapToSource(proxy_->index(row, 0)).row();
}

int ImageList::rowOfEntry(int entry) const
{
    if (entry < 0 || entry >= items_->rowCount())
        return -1;
    return proxy_->mapFromSource(items_->index(entry, 0)).row();
}

void ImageList::setIoU(int entry, int slot, double value)
{
    ImageEntry& e = listing_.entries[static_cast<size_t>(entry)];
    e.iou[slot] = value;
    auto set = [&](int column, double v) {
        QStandardItem* item = items_->item(entry, column);
        item->setText(std::isnan(v) ? QString() : QString::number(v, 'f', 3));
        item->setData(std::isnan(v) ? QVariant() : QVariant(v), kSortRole);
    };
    set(slot == 0 ? colIouA : colIouB, value);
    set(colDelta, std::isnan(e.iou[0]) || std::isnan(e.iou[1]) ? kNaN : e.iou[1] - e.iou[0]);
}

void ImageList::clearIoU(int slot)
{
    for (int e = 0; e < entryCount(); ++e)
        if (!std::isnan(listing_.entries[static_cast<size_t>(e)].iou[slot]))
            setIoU(e, slot, kNaN);
}

bool ImageList::hasIoU(int slot) const
{
    for (const ImageEntry& e : listing_.entries)
        if (!std::isnan(e.iou[slot]))
            return true;
    return false;
}

void ImageList::setClassFilter(int classId)
{
    const int index = classCombo_->findData(classId);
    if (index >= 0 && index != classCombo_->currentIndex()) {
        const QSignalBlocker block(classCombo_);
        classCombo_->setCurrentIndex(index);
    }
    proxy_->setClassId(classId);
    Q_EMIT filterChanged();
}

int ImageList::classFilter() const
{
    return proxy_->classId;
}

bool ImageList::sortWorstFirst()
{
    const bool anyA = hasIoU(0);
    if (!anyA && !hasIoU(1))
        return false;
    sortByColumn(anyA ? colIouA : colIouB, Qt::AscendingOrder);
    return true;
}

void ImageList::resort()
{
    const int column = horizontalHeader()->sortIndicatorSection();
    if (column >= 0 && column < colCount)
        proxy_->sort(column, horizontalHeader()->sortIndicatorOrder());
}

void ImageList::setCurrentRow(int row)
{
    syncing_ = true;
    const QModelIndex index = proxy_->index(row, 0);
    selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    scrollTo(index);
    syncing_ = false;
}

} // namespace tyq::ui
