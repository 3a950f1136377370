// The Detections panel's image list: a split of a .data file (its labels are the ground truth)
// or a folder of images, read in a background job. Its controls (Dataset…, split, Folder…,
// class filter, Worst first), one top-box IoU column per model (filled by "Evaluate all"),
// their difference, and sorting by any column.
#pragma once

#include "data/dataset.h"

#include <QString>
#include <QTableView>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

class QComboBox;
class QHBoxLayout;
class QLabel;
class QPushButton;
class QStandardItemModel;

namespace tyq::ui {

template <typename T>
class BackgroundJob;
class ImageFilterModel;

/// One listed image: its file, ground truth, and each model's top-box IoU (NaN: not evaluated).
struct ImageEntry {
    QString path;
    std::vector<BoxLabel> labels;
    double iou[2] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
};

/// What a listing job reads: the entries and how to describe them.
struct ImageListing {
    std::vector<ImageEntry> entries;
    std::vector<std::string> classNames;
    bool hasTruth = false;
    QString dataFile, split, folder;
    QString description; ///< "dac.data (val): 120 images"
    QString warning;     ///< skipped samples, empty images; empty when all is well
};

class ImageList : public QTableView {
    Q_OBJECT
public:
    explicit ImageList(QWidget* parent = nullptr);
    ~ImageList() override;

    /// Puts the controls (Dataset…, split, Folder…, what is listed, Class, Worst first) into `row`.
    void addControls(QHBoxLayout* row);

    /// Lists a split ("val" or "train") of a .data file in the background; `listed` or
    /// `listingFailed` follows.
    void listDataset(const QString& dataFile, const QString& split);
    /// Lists the images of a folder (no ground truth) in the background, as listDataset.
    void listFolder(const QString& dir);
    bool isListing() const;

    QString dataFile() const { return listing_.dataFile; }
    QString split() const { return listing_.split; }
    QString folder() const { return listing_.folder; }
    bool hasTruth() const { return listing_.hasTruth; }
    QString description() const { return listing_.description; }
    const std::vector<std::string>& classNames() const { return listing_.classNames; }
    QString className(int classId) const;

    /// Rows shown (after the class filter) and images listed.
    int shownCount() const;
    int entryCount() const { return static_cast<int>(listing_.entries.size()); }
    const ImageEntry& entry(int index) const { return listing_.entries[static_cast<size_t>(index)]; }
    /// Entry of a shown row as sorted and filtered (-1 if none), and the row of an entry (-1 if hidden).
    int entryOfRow(int row) const;
    int rowOfEntry(int entry) const;

    /// Top-box IoU of an entry for a model slot (NaN clears it); the B − A column follows.
    void setIoU(int entry, int slot, double value);
    void clearIoU(int slot);
    bool hasIoU(int slot) const;

    /// Shows only images whose ground truth has this class (-1: all); `filterChanged` follows.
    void setClassFilter(int classId);
    int classFilter() const;
    /// Sorts by top-box IoU, lowest first; false if nothing is evaluated yet.
    bool sortWorstFirst();
    /// Re-applies the header's sort (after the IoU columns filled).
    void resort();
    /// Makes a row current without emitting `rowChosen`.
    void setCurrentRow(int row);

Q_SIGNALS:
    /// A listing began (the user's choice or a call).
    void listingStarted(const QString& what);
    /// The list now holds a new listing; `problem` tells what was skipped, or that it is empty.
    void listed(const QString& problem);
    /// A listing could not be read (the list is unchanged).
    void listingFailed(const QString& error);
    /// The user (mouse or Up/Down) made a row current.
    void rowChosen(int row);
    void filterChanged();
    /// "Worst first" was pressed (the panel sorts, see sortWorstFirst, and shows the first image).
    void worstFirstAsked();

private:
    void start(const QString& what, std::function<ImageListing()> read);
    void show(ImageListing listing);

    QPushButton* datasetButton_;
    QComboBox* splitCombo_;
    QPushButton* folderButton_;
    QLabel* sourceLabel_;
    QComboBox* classCombo_;
    QPushButton* worstButton_;
    bool userChoice_ = false; ///< the listing under way was picked in a dialog: failures get one too

    ImageListing listing_;
    QStandardItemModel* items_;
    ImageFilterModel* proxy_;
    bool syncing_ = false;
    std::unique_ptr<BackgroundJob<std::shared_ptr<ImageListing>>> job_;
};

} // namespace tyq::ui
