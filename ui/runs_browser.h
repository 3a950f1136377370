// The runs under the experiment's runs folder (exps/): phase, state, best mAP / IoU, epochs,
// date. Open one to see its curves, pick two to compare, use a checkpoint, resume a run.
#pragma once

#include <QMap>
#include <QWidget>

class QFileSystemWatcher;
class QPushButton;
class QTableWidget;
class QTimer;

namespace tyq::ui {

class RunsBrowser : public QWidget {
    Q_OBJECT
public:
    explicit RunsBrowser(QWidget* parent = nullptr);

    /// Lists the runs under `root` (and watches it).
    void setRoot(const QString& root);
    QString root() const { return root_; }
    /// Re-reads every run's run.json.
    void refresh();

    int runCount() const;
    /// Folder of the run in a row.
    QString runAt(int row) const;
    QStringList selectedRuns() const;
    /// best.ckpt of the listed run of `phase` ("fp", "lsq") with the highest best val mAP, or empty.
    QString bestCheckpoint(const QString& phase) const;
    QTableWidget* table() const { return table_; }

Q_SIGNALS:
    void openRun(const QString& runDir);
    void compareRuns(const QString& runDir, const QString& otherRunDir);
    void useCheckpoint(const QString& checkpoint, const QString& phase);
    void resumeRun(const QString& runDir);
    /// The listing changed: the best checkpoints per phase (see bestCheckpoint), either may be empty.
    void bestCheckpointsChanged(const QString& fp, const QString& lsq);

private:
    void updateButtons();

    QString root_;
    QMap<QString, QString> bestCheckpoints_; ///< phase -> best.ckpt of its best run
    QTableWidget* table_;
    QPushButton* open_;
    QPushButton* compare_;
    QPushButton* useBest_;
    QPushButton* resume_;
    QFileSystemWatcher* watcher_;
    QTimer* refreshSoon_;
};

} // namespace tyq::ui
