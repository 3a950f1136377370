#include "runs_browser.h"

#include "train/run_folder.h"
#include "ui_utils.h"

#include <QDir>
#include <QFileSystemWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace tyq::ui {
namespace {

enum Column { kName, kPhase, kState, kEpochs, kBestMap, kBestIoU, kContestIoU, kUpdated, kColumns };

QTableWidgetItem* item(const QString& text, const QVariant& sortValue = {})
{
    auto* it = new QTableWidgetItem(text);
    it->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (sortValue.isValid())
        it->setData(Qt::UserRole, sortValue);
    return it;
}

QString formatMetric(double v)
{
    return v < 0 ? QString("–") : QString::number(v, 'f', 4);
}

} // namespace

RunsBrowser::RunsBrowser(QWidget* parent) : QWidget(parent)
{
    table_ = new QTableWidget(0, kColumns, this);
    table_->setHorizontalHeaderLabels(
        {tr("Run"), tr("Phase"), tr("State"), tr("Epochs"), tr("Best mAP"), tr("IoU"), tr("Contest IoU"), tr("Updated")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->verticalHeader()->hide();
    table_->setSortingEnabled(true);
    table_->setToolTip(tr("Double-click (or Enter) opens a run's curves; select two runs to compare them"));

    open_ = new QPushButton(tr("Open"), this);
    compare_ = new QPushButton(tr("Compare"), this);
    useBest_ = new QPushButton(tr("Use best checkpoint"), this);
    useBest_->setToolTip(tr("fp run: make it the start of LSQ training. Any run: load it in the detection view."));
    resume_ = new QPushButton(tr("Resume"), this);
    auto* refreshButton = new QPushButton(tr("Refresh"), this);
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {open_, compare_, useBest_, resume_})
        buttons->addWidget(b);
    buttons->addStretch();
    buttons->addWidget(refreshButton);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(table_);
    layout->addLayout(buttons);

    watcher_ = new QFileSystemWatcher(this);
    refreshSoon_ = new QTimer(this);
    refreshSoon_->setSingleShot(true);
    refreshSoon_->setInterval(300);
    connect(refreshSoon_, &QTimer::timeout, this, &RunsBrowser::refresh);
    connect(watcher_, &QFileSystemWatcher::directoryChanged, refreshSoon_, qOverload<>(&QTimer::start));
    // run.json files change in place during a run: poll them gently.
    auto* poll = new QTimer(this);
    poll->setInterval(5000);
    connect(poll, &QTimer::timeout, this, [this] {
        if (isVisible())
            refresh();
    });
    poll->start();

    connect(refreshButton, &QPushButton::clicked, this, &RunsBrowser::refresh);
    connect(table_, &QTableWidget::itemSelectionChanged, this, &RunsBrowser::updateButtons);
    connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) { Q_EMIT openRun(runAt(row)); });
    connect(table_, &QTableWidget::activated, this, [this](const QModelIndex& index) { Q_EMIT openRun(runAt(index.row())); });
    connect(open_, &QPushButton::clicked, this, [this] {
        if (!selectedRuns().isEmpty())
            Q_EMIT openRun(selectedRuns().first());
    });
    connect(compare_, &QPushButton::clicked, this, [this] {
        const QStringList runs = selectedRuns();
        if (runs.size() == 2)
            Q_EMIT compareRuns(runs[0], runs[1]);
    });
    connect(useBest_, &QPushButton::clicked, this, [this] {
        const QStringList runs = selectedRuns();
        if (runs.isEmpty())
            return;
        const QString best = QDir(runs.first()).filePath("checkpoints/best.ckpt");
        const QString last = QDir(runs.first()).filePath("checkpoints/last.ckpt");
        const QString chosen = QFileInfo::exists(best) ? best : last;
        if (!QFileInfo::exists(chosen)) {
            showError(this, tr("No checkpoint"), tr("%1 has no checkpoint yet.").arg(runs.first()));
            return;
        }
        const int row = table_->currentRow();
        Q_EMIT useCheckpoint(chosen, row >= 0 ? table_->item(row, kPhase)->text() : QString("fp"));
    });
    connect(resume_, &QPushButton::clicked, this, [this] {
        if (!selectedRuns().isEmpty())
            Q_EMIT resumeRun(selectedRuns().first());
    });
    updateButtons();
}

void RunsBrowser::setRoot(const QString& root)
{
    if (!watcher_->directories().isEmpty())
        watcher_->removePaths(watcher_->directories());
    root_ = root;
    if (QFileInfo(root).isDir())
        watcher_->addPath(root);
    refresh();
}

void RunsBrowser::refresh()
{
    const QStringList selected = selectedRuns();
    table_->setSortingEnabled(false);
    table_->setRowCount(0);
    bestCheckpoints_.clear();
    QMap<QString, double> bestMaps;
    if (!root_.isEmpty() && !watcher_->directories().contains(root_) && QFileInfo(root_).isDir())
        watcher_->addPath(root_);
    for (const std::filesystem::path& dir : listRuns(toPath(root_))) {
        RunStatus s;
        try {
            s = readRunStatus(dir);
        } catch (const std::exception& e) {
            s.state = "unreadable";
            s.message = e.what();
        }
        const int row = table_->rowCount();
        table_->insertRow(row);
        auto* name = item(QString::fromStdString(dir.filename().string()));
        name->setData(Qt::UserRole + 1, fromPath(dir));
        name->setToolTip(QString::fromStdString(s.message));
        table_->setItem(row, kName, name);
        table_->setItem(row, kPhase, item(QString::fromStdString(s.phase)));
        table_->setItem(row, kState, item(QString::fromStdString(s.state)));
        table_->setItem(row, kEpochs, item(QString("%1/%2").arg(s.epochsDone).arg(s.epochs)));
        table_->setItem(row, kBestMap, item(formatMetric(s.bestMap)));
        table_->setItem(row, kBestIoU, item(formatMetric(s.bestIoU)));
        table_->setItem(row, kContestIoU, item(formatMetric(s.bestContestIoU)));
        table_->setItem(row, kUpdated, item(QString::fromStdString(s.updated).replace('T', ' ')));
        if (selected.contains(fromPath(dir)))
            table_->selectRow(row);
        const QString phase = QString::fromStdString(s.phase);
        const QString best = fromPath(dir / "checkpoints" / "best.ckpt");
        if (s.bestMap >= 0 && QFileInfo::exists(best) && (!bestMaps.contains(phase) || s.bestMap > bestMaps[phase])) {
            bestMaps[phase] = s.bestMap;
            bestCheckpoints_[phase] = best;
        }
    }
    table_->setSortingEnabled(true);
    updateButtons();
    Q_EMIT bestCheckpointsChanged(bestCheckpoint("fp"), bestCheckpoint("lsq"));
}

QString RunsBrowser::bestCheckpoint(const QString& phase) const
{
    return bestCheckpoints_.value(phase);
}

int RunsBrowser::runCount() const
{
    return table_->rowCount();
}

QString RunsBrowser::runAt(int row) const
{
    const QTableWidgetItem* it = table_->item(row, kName);
    return it ? it->data(Qt::UserRole + 1).toString() : QString();
}

QStringList RunsBrowser::selectedRuns() const
{
    QStringList runs;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows())
        runs << runAt(index.row());
    return runs;
}

void RunsBrowser::updateButtons()
{
    const int n = static_cast<int>(selectedRuns().size());
    open_->setEnabled(n >= 1);
    useBest_->setEnabled(n >= 1);
    resume_->setEnabled(n == 1);
    compare_->setEnabled(n == 2);
}

} // namespace tyq::ui
