// The runs under the experiment's runs folder (exps/): phase, state, best mAP / IoU, epochs,
// date. Open one to see its curves, pick two to compare, use a checkpoint, resume a run.
#pragma once

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
    QTableWidget* table() const { return table_; }

Q_SIGNALS:
    void openRun(const QString& runDir);
    void compareRuns(const QString& runDir, const QString& otherRunDir);
    void useCheckpoint(const QString& checkpoint, const QString& phase);
    void resumeRun(const QString& runDir);

private:
    void updateButtons();

    QString root_;
    QTableWidget* table_;
    QPushButton* open_;
    QPushButton* compare_;
    QPushButton* useBest_;
    QPushButton* resume_;
    QFileSystemWatcher* watcher_;
    QTimer* refreshSoon_;
};

} // namespace tyq::ui
