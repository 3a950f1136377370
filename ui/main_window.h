// The studio's main window: three workspaces for the three jobs (Quantize, Train, Inspect), a
// mode bar and Ctrl+1/2/3 between them, a strip showing the running job everywhere; the
// current experiment (dataset, cfg, bit-widths, options) opened and saved as one file, menus
// and shortcuts, and the rules for closing (unsaved edits, a running training) and for
// remembering layouts and recent files.
#pragma once

#include "train/experiment.h"

#include <QMainWindow>
#include <QStringList>

#include <memory>
#include <vector>

class QAction;
class QMenu;
class QStackedWidget;
class QTabBar;

namespace tyq::ui {

template <typename T>
class BackgroundJob;
class DetectionPanel;
class JobStrip;
class Workspace;
class LayerQuantView;
class BitWidthAdvisor;
class LogPanel;
class PlotsPanel;
class QuantEditor;
class RunsBrowser;
class TrainingController;
class TrainingPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Opens an experiment file; shows the error in the UI and returns false on failure.
    bool openExperiment(const QString& path);
    /// Saves to the current file (asks for one if there is none).
    bool saveExperiment();
    bool saveExperimentAs(const QString& path);
    /// Shows an experiment in every panel (marks it modified: it is not saved anywhere yet).
    void setExperiment(const Experiment& experiment);
    /// The experiment as the panels currently show it.
    Experiment currentExperiment() const;
    bool isExperimentModified() const { return experimentModified_; }

    TrainingController* trainingController() const { return controller_; }
    TrainingPanel* trainingPanel() const { return trainingPanel_; }
    PlotsPanel* plotsPanel() const { return plotsPanel_; }
    RunsBrowser* runsBrowser() const { return runsBrowser_; }
    LogPanel* logPanel() const { return logPanel_; }
    /// The bit-widths (quantization editor dock); its file is the experiment's quantFile.
    QuantEditor* quantEditor() const { return quantEditor_; }
    DetectionPanel* detectionPanel() const { return detectionPanel_; }
    LayerQuantView* layerQuantView() const { return layerQuantView_; }

    /// The workspaces: 0 Quantize, 1 Train, 2 Inspect (Ctrl+1/2/3).
    std::vector<Workspace*> workspaces() const;
    void showWorkspace(int index);
    int currentWorkspace() const;
    Workspace* currentWorkspaceWidget() const;
    JobStrip* jobStrip() const { return jobStrip_; }
    /// The shown workspace's layout problems (key widgets hidden, cut off, squeezed; A and B of
    /// unequal size); empty when all is well.
    QStringList layoutProblems() const;
    /// Help > Getting started: the three jobs and the keys (rich text).
    static QString gettingStartedText();

    /// Generates the sample dataset at `dir` in the background with a cancellable progress dialog.
    void generateSampleDataset(const QString& dir);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createPanels();
    void createMenus();
    void applyExperiment(const Experiment& e);
    /// The preview's fp model and data follow the experiment.
    void updateAdvisorSources();
    void setExperimentModified(bool modified);
    void updateTitle();
    void rebuildRecentMenu();
    /// Asks what to do with unsaved edits; false if the user cancels.
    bool maybeSave();

    TrainingController* controller_;
    TrainingPanel* trainingPanel_ = nullptr;
    PlotsPanel* plotsPanel_ = nullptr;
    RunsBrowser* runsBrowser_ = nullptr;
    LogPanel* logPanel_ = nullptr;
    QuantEditor* quantEditor_ = nullptr;
    DetectionPanel* detectionPanel_ = nullptr;
    LayerQuantView* layerQuantView_ = nullptr;
    BitWidthAdvisor* advisor_ = nullptr;
    Workspace* quantize_ = nullptr;
    Workspace* train_ = nullptr;
    Workspace* inspect_ = nullptr;
    QTabBar* modeBar_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    JobStrip* jobStrip_ = nullptr;
    QMenu* viewMenu_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QString experimentPath_;
    bool experimentModified_ = false;
    bool closeAfterStop_ = false;
    std::unique_ptr<BackgroundJob<bool>> datasetJob_;
};

} // namespace tyq::ui
