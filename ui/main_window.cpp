#include "main_window.h"

#include "common/error.h"
#include "data/synthetic_dataset.h"
#include "model/darknet_cfg.h"
#include "bitwidth_advisor.h"
#include "detection_panel.h"
#include "detection_view.h"
#include "hardware_export_dialog.h"
#include "onnx_export_dialog.h"
#include "layer_quant_view.h"
#include "log_panel.h"
#include "plots_panel.h"
#include "quant_editor.h"
#include "runs_browser.h"
#include "studio_settings.h"
#include "training_controller.h"
#include "training_panel.h"
#include "ui_utils.h"
#include "background_job.h"
#include "job_strip.h"
#include "workspace.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressDialog>
#include <QScreen>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabBar>
#include <QTableView>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <memory>

namespace tyq::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), controller_(new TrainingController(this)),
      datasetJob_(std::make_unique<BackgroundJob<bool>>(this))
{
    setObjectName("tyqMainWindow");
    createPanels();
    createMenus();
    applyExperiment(defaultExperiment());
    setExperimentModified(false);

    restoreGeometry(settings::windowGeometry.get());
    for (Workspace* w : workspaces())
        w->finishLayout();
    showWorkspace(std::clamp(settings::workspace.get(), 0, 2));
    if (settings::windowGeometry.get().isEmpty()) {
        // First run: most of the screen (each workspace fits 1280x800).
        const QRect screen = QGuiApplication::primaryScreen() ? QGuiApplication::primaryScreen()->availableGeometry()
                                                              : QRect(0, 0, 1600, 1000);
        resize(screen.width() * 95 / 100, screen.height() * 95 / 100);
    }
    statusBar()->showMessage(tr("Ready"));
}

MainWindow::~MainWindow() = default; // datasetJob_ cancels and waits

void MainWindow::createPanels()
{
    // Quantize: the bit-width table and its totals, the layer view beside it.
    quantEditor_ = new QuantEditor(this);
    layerQuantView_ = new LayerQuantView(this);
    quantize_ = new Workspace("quantize", tr("Quantize"), quantEditor_, this);
    QDockWidget* layerDock =
        quantize_->addPanel(tr("Layer quantization"), "layerQuantDock", layerQuantView_, Qt::RightDockWidgetArea);
    quantize_->resizeDocks({layerDock}, {380}, Qt::Horizontal); // the table gets the rest
    // Under the table: what the bit-widths do to accuracy (preview, sensitivity, search).
    advisor_ = new BitWidthAdvisor(quantEditor_, this);
    QDockWidget* advisorDock =
        quantize_->addPanel(tr("Preview, sensitivity and search"), "advisorDock", advisor_, Qt::BottomDockWidgetArea);
    quantize_->resizeDocks({advisorDock}, {260}, Qt::Vertical);

    // Train: the run's options, large plots, the log and the runs.
    plotsPanel_ = new PlotsPanel(this);
    trainingPanel_ = new TrainingPanel(controller_, this);
    runsBrowser_ = new RunsBrowser(this);
    logPanel_ = new LogPanel(this);
    train_ = new Workspace("train", tr("Train"), plotsPanel_, this);
    train_->addPanel(tr("Experiment and training"), "trainingDock", trainingPanel_, Qt::LeftDockWidgetArea);
    // Under the plots, so the plots keep the width: the runs, and the log beside them.
    QDockWidget* runsDock = train_->addPanel(tr("Runs"), "runsDock", runsBrowser_, Qt::BottomDockWidgetArea);
    QDockWidget* logDock = train_->addPanel(tr("Log"), "logDock", logPanel_, Qt::BottomDockWidgetArea);
    train_->splitDockWidget(runsDock, logDock, Qt::Horizontal);

    // Inspect: models A and B side by side over the whole window.
    detectionPanel_ = new DetectionPanel(this);
    inspect_ = new Workspace("inspect", tr("Inspect"), detectionPanel_, this);

    // What each workspace is for must be shown whole (Workspace::layoutProblems, the smoke test).
    quantize_->addKeyWidget(quantEditor_->view(), 400, 200);
    quantize_->addKeyWidget(quantEditor_->findChild<QWidget*>("quantTotals"), 200, 10);
    quantize_->addKeyWidget(layerQuantView_, 240, 150);
    train_->addKeyWidget(plotsPanel_, 400, 250);
    train_->addKeyWidget(trainingPanel_->startButton(), 40, 15);
    train_->addKeyWidget(trainingPanel_->optionField("epochs"), 60, 15);
    train_->addKeyWidget(runsBrowser_, 200, 100);
    train_->addKeyWidget(logPanel_, 200, 50);
    inspect_->addKeyWidget(detectionPanel_->imageList(), 150, 100);
    inspect_->addKeyWidget(detectionPanel_->view(0), 300, 200);
    inspect_->addKeyWidget(detectionPanel_->view(1), 300, 200);

    modeBar_ = new QTabBar(this);
    modeBar_->setObjectName("modeBar");
    modeBar_->setDocumentMode(true);
    modeBar_->setExpanding(false);
    modeBar_->setFocusPolicy(Qt::NoFocus);
    stack_ = new QStackedWidget(this);
    for (Workspace* w : workspaces()) {
        const int index = modeBar_->addTab(w->title());
        modeBar_->setTabToolTip(index, tr("%1 (Ctrl+%2)").arg(w->title()).arg(index + 1));
        stack_->addWidget(w);
    }
    connect(modeBar_, &QTabBar::currentChanged, this, [this](int index) { showWorkspace(index); });
    jobStrip_ = new JobStrip(controller_, this);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(modeBar_);
    layout->addWidget(stack_, 1);
    layout->addWidget(jobStrip_);
    setCentralWidget(central);

    connect(trainingPanel_, &TrainingPanel::experimentEdited, this, [this] {
        setExperimentModified(true);
        updateAdvisorSources();
        const QString root = fromPath(trainingPanel_->experiment().runsRoot);
        if (root != runsBrowser_->root())
            runsBrowser_->setRoot(root);
    });
    connect(trainingPanel_, &TrainingPanel::runStartedIn, this, [this](const QString& runDir, bool resumed) {
        // A resumed run's curves continue from its recorded batches.
        if (resumed)
            plotsPanel_->continueRun(toPath(runDir));
        else
            plotsPanel_->clear();
        runsBrowser_->refresh();
    });
    trainingPanel_->setSelectedRunProvider([this] {
        const QStringList runs = runsBrowser_->selectedRuns();
        return runs.isEmpty() ? QString() : runs.first();
    });
    connect(controller_, &TrainingController::runStarted, plotsPanel_, &PlotsPanel::onRunStarted);
    connect(controller_, &TrainingController::batchDone, plotsPanel_, &PlotsPanel::onBatch);
    connect(controller_, &TrainingController::evaluationDone, plotsPanel_, &PlotsPanel::onEvaluation);
    connect(controller_, &TrainingController::logMessage, logPanel_, &LogPanel::appendMessage);
    // LSQ runs train with the editor's bit-widths; its file belongs to the experiment.
    trainingPanel_->setQuantProvider([this] { return quantEditor_->config(); });
    connect(quantEditor_, &QuantEditor::message, logPanel_, &LogPanel::appendMessage);
    connect(quantEditor_, &QuantEditor::modifiedChanged, this, [this] { updateTitle(); });
    connect(quantEditor_, &QuantEditor::filePathChanged, this, [this] { setExperimentModified(true); });
    connect(controller_, &TrainingController::checkpointWritten, this, [this](const QString& path, const QString& kind) {
        statusBar()->showMessage(tr("Saved %1 checkpoint %2").arg(kind, path), 5000);
    });
    connect(controller_, &TrainingController::runningChanged, this, [this](bool running) {
        runsBrowser_->refresh();
        if (!running && closeAfterStop_)
            close();
    });

    connect(runsBrowser_, &RunsBrowser::openRun, this, [this](const QString& dir) {
        if (controller_->isRunning()) {
            showError(this, tr("Training in progress"),
                      tr("The plots show the running training. Stop it to browse other runs' curves."));
            return;
        }
        try {
            plotsPanel_->loadRun(toPath(dir));
            statusBar()->showMessage(tr("Showing %1").arg(dir), 5000);
        } catch (const std::exception& e) {
            showError(this, tr("Cannot open run"), QString::fromUtf8(e.what()));
        }
    });
    connect(runsBrowser_, &RunsBrowser::compareRuns, this, [this](const QString& a, const QString& b) {
        if (!controller_->isRunning())
            plotsPanel_->loadRun(toPath(a));
        plotsPanel_->setComparison(toPath(b));
    });
    connect(plotsPanel_, &PlotsPanel::runLoaded, this, [this](bool ok, const QString& message) {
        if (ok)
            statusBar()->showMessage(tr("Run curves loaded"), 5000);
        else
            showError(this, tr("Cannot show the run"), message);
    });
    // A run's best checkpoint also goes to the detection panel (fp -> A, lsq -> B) and the layer view.
    connect(runsBrowser_, &RunsBrowser::useCheckpoint, this, [this](const QString& checkpoint, const QString& phase) {
        detectionPanel_->setModel(phase == "lsq" ? 1 : 0, checkpoint);
        layerQuantView_->setModel(checkpoint);
    });
    connect(detectionPanel_, &DetectionPanel::modelLoaded, this, [this](int slot, bool ok, const QString&) {
        if (ok)
            layerQuantView_->setSlotModel(slot, detectionPanel_->modelWeights(slot), detectionPanel_->modelQuantYaml(slot));
    });
    connect(detectionPanel_, &DetectionPanel::message, logPanel_, &LogPanel::appendMessage);
    connect(runsBrowser_, &RunsBrowser::bestCheckpointsChanged, detectionPanel_, &DetectionPanel::offerBestCheckpoints);
    connect(runsBrowser_, &RunsBrowser::bestCheckpointsChanged, this, [this] { updateAdvisorSources(); });
    connect(advisor_, &BitWidthAdvisor::message, logPanel_, &LogPanel::appendMessage);
    connect(advisor_, &BitWidthAdvisor::previewModelReady, this, [this](const QString& checkpoint) {
        detectionPanel_->setModel(1, checkpoint);
        statusBar()->showMessage(tr("The preview model is model B in Inspect (Ctrl+3)"), 8000);
    });
    connect(runsBrowser_, &RunsBrowser::resumeRun, this, [this](const QString& dir) { trainingPanel_->resumeTraining(dir); });
    connect(runsBrowser_, &RunsBrowser::useCheckpoint, this, [this](const QString& checkpoint, const QString& phase) {
        if (phase == "fp") {
            Experiment e = trainingPanel_->experiment();
            e.fpCheckpoint = toPath(checkpoint);
            e.phase = "lsq";
            trainingPanel_->setExperiment(e);
            setExperimentModified(true);
            statusBar()->showMessage(tr("LSQ training will start from %1").arg(checkpoint), 5000);
        }
    });
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* newAction = file->addAction(tr("&New experiment"), this, [this] {
        if (maybeSave()) {
            experimentPath_.clear();
            applyExperiment(defaultExperiment());
            setExperimentModified(false);
        }
    });
    newAction->setShortcut(QKeySequence::New);
    QAction* open = file->addAction(tr("&Open experiment…"), this, [this] {
        if (!maybeSave())
            return;
        const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), settings::lastDirectory.get(),
                                                          tr("tyq experiments (*.tyqexp);;All files (*)"));
        if (!path.isEmpty())
            openExperiment(path);
    });
    open->setShortcut(QKeySequence::Open);
    recentMenu_ = file->addMenu(tr("Open &recent"));
    rebuildRecentMenu();
    QAction* save = file->addAction(tr("&Save experiment"), this, [this] { saveExperiment(); });
    save->setShortcut(QKeySequence::Save);
    QAction* saveAs = file->addAction(tr("Save experiment &as…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), settings::lastDirectory.get(),
                                                          tr("tyq experiments (*.tyqexp)"));
        if (!path.isEmpty())
            saveExperimentAs(path.endsWith(".tyqexp") ? path : path + ".tyqexp");
    });
    saveAs->setShortcut(QKeySequence::SaveAs);
    file->addSeparator();
    file->addAction(tr("&Generate sample dataset…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Generate the sample dataset into"), "data");
        if (!dir.isEmpty())
            generateSampleDataset(dir);
    });
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* quant = menuBar()->addMenu(tr("&Quantization"));
    quant->addAction(quantEditor_->openAction());
    quant->addAction(quantEditor_->saveAction());
    quant->addAction(quantEditor_->saveAsAction());
    quant->addSeparator();
    quant->addAction(quantEditor_->undoAction());
    quant->addAction(quantEditor_->redoAction());
    quant->addSeparator();
    // The selected run's best checkpoint (else its last), for either export dialog.
    auto selectedCheckpoint = [this]() -> QString {
        const QStringList runs = runsBrowser_->selectedRuns();
        if (runs.isEmpty())
            return {};
        const QString best = QDir(runs.first()).filePath("checkpoints/best.ckpt");
        return QFileInfo::exists(best) ? best : QDir(runs.first()).filePath("checkpoints/last.ckpt");
    };
    QAction* hardwareExport = quant->addAction(tr("Export for &hardware…"), this, [this, selectedCheckpoint] {
        // Prefilled with the selected run's checkpoint and the experiment's dataset.
        auto* dialog = new HardwareExportDialog(this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        const QString checkpoint = selectedCheckpoint();
        if (!checkpoint.isEmpty()) {
            dialog->setModel(checkpoint);
            dialog->setOutputDir(QDir(runsBrowser_->selectedRuns().first()).filePath("hardware_export"));
        }
        dialog->setDataFile(fromPath(trainingPanel_->experiment().dataFile));
        connect(dialog, &HardwareExportDialog::message, logPanel_,
                [this](const QString& text) { logPanel_->appendMessage(LogLevel::info, text); });
        dialog->show();
    });
    auto openOnnxExport = [this, selectedCheckpoint](const QString& format) {
        auto* dialog = new OnnxExportDialog(this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setFormat(format);
        const QString checkpoint = selectedCheckpoint();
        if (!checkpoint.isEmpty()) {
            dialog->setModel(checkpoint);
            dialog->setOutputFile(QDir(runsBrowser_->selectedRuns().first())
                                      .filePath(format == "qonnx" ? "model.qonnx.onnx" : "model.onnx"));
        }
        connect(dialog, &OnnxExportDialog::message, logPanel_,
                [this](const QString& text) { logPanel_->appendMessage(LogLevel::info, text); });
        dialog->show();
    };
    QMenu* exportMenu = menuBar()->addMenu(tr("E&xport"));
    exportMenu->addAction(tr("&ONNX (onnxruntime, OpenVINO, TensorRT)…"), this, [openOnnxExport] { openOnnxExport("onnx"); });
    exportMenu->addAction(tr("&QONNX (FINN, hls4ml)…"), this, [openOnnxExport] { openOnnxExport("qonnx"); });
    exportMenu->addAction(hardwareExport);

    QMenu* training = menuBar()->addMenu(tr("&Training"));
    training->addAction(tr("&Start"), this, [this] { trainingPanel_->startTraining(); })->setShortcut(QKeySequence("Ctrl+R"));
    training->addAction(tr("S&top"), this, [this] { controller_->stop(); })->setShortcut(QKeySequence("Ctrl+."));

    viewMenu_ = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < 3; ++i) {
        QAction* show = viewMenu_->addAction(workspaces()[size_t(i)]->title(), this, [this, i] { showWorkspace(i); });
        show->setShortcut(QKeySequence(QString("Ctrl+%1").arg(i + 1)));
        show->setShortcutContext(Qt::ApplicationShortcut);
    }
    viewMenu_->addSeparator();
    for (Workspace* w : workspaces()) {
        const QList<QDockWidget*> docks = w->findChildren<QDockWidget*>();
        if (docks.isEmpty())
            continue;
        QMenu* panels = viewMenu_->addMenu(tr("%1 panels").arg(w->title()));
        for (QDockWidget* d : docks)
            panels->addAction(d->toggleViewAction());
    }
    viewMenu_->addSeparator();
    viewMenu_->addAction(tr("&Reset layout"), this, [this] { currentWorkspaceWidget()->resetLayout(); })
        ->setToolTip(tr("Put this workspace's panels back where they were at first"));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Getting started"), this, [this] {
        auto* box = new QMessageBox(QMessageBox::Information, tr("Getting started"), gettingStartedText(),
                                    QMessageBox::Close, this);
        box->setObjectName("gettingStarted");
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->setTextFormat(Qt::RichText);
        box->open();
    })->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About tyq-studio"), this, [this] {
        QMessageBox::about(this, tr("About tyq-studio"),
                           tr("<b>tyq-studio</b> 0.1.0<br>Low-bit object detection: Tiny-YOLO with LSQ quantization, "
                              "trained and inspected on the CPU."));
    });
}

void MainWindow::rebuildRecentMenu()
{
    recentMenu_->clear();
    const QStringList recent = settings::recentExperiments.get();
    for (const QString& path : recent)
        recentMenu_->addAction(path, this, [this, path] {
            if (maybeSave())
                openExperiment(path);
        });
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::applyExperiment(const Experiment& e)
{
    trainingPanel_->setExperiment(e);
    runsBrowser_->setRoot(fromPath(e.runsRoot));
    NetworkSpec network = defaultNetworkSpec();
    if (!e.cfgFile.empty()) {
        try {
            network = loadDarknetCfg(e.cfgFile);
        } catch (const std::exception& ex) {
            showError(this, tr("Cannot read the network cfg"), QString::fromUtf8(ex.what()));
        }
    }
    quantEditor_->setNetwork(network);
    if (e.quantFile.empty() || !quantEditor_->openFile(fromPath(e.quantFile)))
        quantEditor_->setConfig(defaultQuantConfig());
    if (!e.dataFile.empty() && std::filesystem::exists(e.dataFile))
        detectionPanel_->setDataset(fromPath(e.dataFile));
    updateAdvisorSources();
}

void MainWindow::updateAdvisorSources()
{
    // The experiment's fp checkpoint (what LSQ starts from), else its runs' best fp one.
    const Experiment e = trainingPanel_->experiment();
    QString fp = e.fpCheckpoint.empty() ? QString() : fromPath(e.fpCheckpoint);
    if (fp.isEmpty() || !QFileInfo::exists(fp))
        fp = runsBrowser_->bestCheckpoint("fp");
    advisor_->setSources(fp, e.dataFile.empty() ? QString() : fromPath(e.dataFile));
}

void MainWindow::setExperiment(const Experiment& experiment)
{
    applyExperiment(experiment);
    setExperimentModified(true);
}

Experiment MainWindow::currentExperiment() const
{
    Experiment e = trainingPanel_->experiment();
    e.quantFile = toPath(quantEditor_->filePath()); // empty = the built-in bit-widths
    return e;
}

bool MainWindow::openExperiment(const QString& path)
{
    try {
        const Experiment e = loadExperiment(toPath(path));
        experimentPath_ = path;
        applyExperiment(e);
        setExperimentModified(false);
        rememberRecentExperiment(QFileInfo(path).absoluteFilePath());
        settings::lastExperiment.set(QFileInfo(path).absoluteFilePath());
        rebuildRecentMenu();
        statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
        return true;
    } catch (const std::exception& e) {
        showError(this, tr("Cannot open experiment"), QString::fromUtf8(e.what()));
        return false;
    }
}

bool MainWindow::saveExperiment()
{
    if (experimentPath_.isEmpty()) {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), settings::lastDirectory.get(),
                                                          tr("tyq experiments (*.tyqexp)"));
        if (path.isEmpty())
            return false;
        return saveExperimentAs(path.endsWith(".tyqexp") ? path : path + ".tyqexp");
    }
    return saveExperimentAs(experimentPath_);
}

bool MainWindow::saveExperimentAs(const QString& path)
{
    try {
        tyq::saveExperiment(currentExperiment(), toPath(path));
        experimentPath_ = path;
        setExperimentModified(false);
        rememberRecentExperiment(QFileInfo(path).absoluteFilePath());
        settings::lastExperiment.set(QFileInfo(path).absoluteFilePath());
        rebuildRecentMenu();
        statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
        return true;
    } catch (const std::exception& e) {
        showError(this, tr("Cannot save experiment"), QString::fromUtf8(e.what()));
        return false;
    }
}

void MainWindow::setExperimentModified(bool modified)
{
    experimentModified_ = modified;
    updateTitle();
}

void MainWindow::updateTitle()
{
    const QString name = experimentPath_.isEmpty() ? tr("default experiment") : QFileInfo(experimentPath_).fileName();
    QString quant;
    if (quantEditor_ && quantEditor_->isModified())
        quant = " · " + (quantEditor_->filePath().isEmpty() ? tr("bit-widths") : QFileInfo(quantEditor_->filePath()).fileName()) + "*";
    setWindowTitle(QString("%1%2%3 — tyq-studio").arg(name, experimentModified_ ? "*" : "", quant));
}

bool MainWindow::maybeSave()
{
    if (!quantEditor_->maybeSave()) // first: saving it under a new name changes the experiment
        return false;
    if (!experimentModified_)
        return true;
    const auto answer = QMessageBox::warning(this, tr("Unsaved experiment"),
                                             tr("The experiment has unsaved changes. Save them?"),
                                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Save)
        return saveExperiment();
    return answer == QMessageBox::Discard;
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (closeAfterStop_ && controller_->isRunning()) {
        event->ignore(); // already asked; closes again once the run has ended (runningChanged)
        return;
    }
    if (!closeAfterStop_) {
        if (controller_->isRunning()) {
            const auto answer = QMessageBox::question(
                this, tr("Training in progress"),
                tr("A training run is in progress. Stop it (a resumable checkpoint is saved) and quit?"),
                QMessageBox::Yes | QMessageBox::No);
            if (answer != QMessageBox::Yes) {
                event->ignore();
                return;
            }
        }
        // Unsaved edits are asked about whether or not a run is going.
        if (!maybeSave()) {
            event->ignore();
            return;
        }
        // The run may have ended while the questions were open: then quit at once.
        if (controller_->isRunning()) {
            closeAfterStop_ = true;
            controller_->stop();
            statusBar()->showMessage(tr("Stopping the training, then quitting…"));
            event->ignore(); // closes again once the run has ended (runningChanged)
            return;
        }
    }
    settings::windowGeometry.set(saveGeometry());
    for (Workspace* w : workspaces())
        w->saveLayout();
    studioSettings().sync();
    event->accept();
}

QString MainWindow::gettingStartedText()
{
    return tr("<h3>Three jobs, three workspaces</h3>"
              "<p><b>Quantize</b> (Ctrl+1): choose each layer's weight and activation bits. The table shows what "
              "a choice costs (size at the true bit-width, bit-operations); open and save the reference's YAML. "
              "The layer view shows one conv's weights against its quantization levels.</p>"
              "<p><b>Train</b> (Ctrl+2): train full precision first, then LSQ from the fp run's best checkpoint "
              "with the bit-widths of Quantize. Watch the loss, step sizes and mAP; Stop keeps a checkpoint that "
              "Resume continues exactly.</p>"
              "<p><b>Inspect</b> (Ctrl+3): two models side by side on a dataset split or a folder, ground truth "
              "dashed; Evaluate all gives each image's top-box IoU and the mAP, worst first.</p>"
              "<p>The strip at the bottom shows a running training from any workspace, with its Stop. "
              "View &gt; Reset layout puts a workspace's panels back.</p>"
              "<h3>Keys</h3><table>"
              "<tr><td>Ctrl+1 / 2 / 3</td><td>Quantize / Train / Inspect</td></tr>"
              "<tr><td>Ctrl+R, Ctrl+.</td><td>start, stop training</td></tr>"
              "<tr><td>Ctrl+O, Ctrl+S</td><td>open, save the experiment</td></tr>"
              "<tr><td>Ctrl+Z, Ctrl+Shift+Z</td><td>undo, redo a bit-width edit</td></tr>"
              "<tr><td>F2, Delete</td><td>edit a bit-width, reset a cell to the default</td></tr>"
              "<tr><td>Left / Right, Home / End</td><td>previous / next image, first / last (Inspect)</td></tr>"
              "<tr><td>+ / -, F</td><td>zoom the views, fit (Inspect)</td></tr>"
              "</table>");
}

std::vector<Workspace*> MainWindow::workspaces() const
{
    return {quantize_, train_, inspect_};
}

void MainWindow::showWorkspace(int index)
{
    if (index < 0 || index > 2)
        return;
    {
        const QSignalBlocker block(modeBar_);
        modeBar_->setCurrentIndex(index);
    }
    stack_->setCurrentIndex(index);
    settings::workspace.set(index);
}

int MainWindow::currentWorkspace() const
{
    return stack_->currentIndex();
}

Workspace* MainWindow::currentWorkspaceWidget() const
{
    return workspaces()[static_cast<size_t>(currentWorkspace())];
}

QStringList MainWindow::layoutProblems() const
{
    QStringList problems = currentWorkspaceWidget()->layoutProblems();
    // Minimum sizes adding up past the screen make the window itself larger than it: cut off.
    if (const QScreen* screen = this->screen()) {
        const QRect available = screen->availableGeometry();
        const QSize minimum = minimumSizeHint().expandedTo(minimumSize());
        if (frameGeometry().width() > available.width() || minimum.width() > available.width())
            problems << tr("%1: the window (%2 wide, at least %3) is wider than the screen (%4)")
                            .arg(currentWorkspaceWidget()->title())
                            .arg(frameGeometry().width())
                            .arg(minimum.width())
                            .arg(available.width());
        if (frameGeometry().height() > available.height() || minimum.height() > available.height())
            problems << tr("%1: the window (%2 high, at least %3) is taller than the screen (%4)")
                            .arg(currentWorkspaceWidget()->title())
                            .arg(frameGeometry().height())
                            .arg(minimum.height())
                            .arg(available.height());
    }
    if (currentWorkspaceWidget() == inspect_) {
        const int a = detectionPanel_->view(0)->width(), b = detectionPanel_->view(1)->width();
        if (std::abs(a - b) > 4)
            problems << tr("Inspect: views A and B differ in width (%1 and %2 pixels)").arg(a).arg(b);
    }
    return problems;
}

void MainWindow::generateSampleDataset(const QString& dir)
{
    if (datasetJob_->isRunning()) {
        showError(this, tr("Busy"), tr("A dataset is already being generated."));
        return;
    }
    auto* dialog = new QProgressDialog(tr("Generating the sample dataset…"), tr("Cancel"), 0, 100, this);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setMinimumDuration(0);
    connect(dialog, &QProgressDialog::canceled, this, [this] { datasetJob_->cancel(); });
    SyntheticDatasetOptions options;
    options.outDir = toPath(dir);
    QPointer<QProgressDialog> progress(dialog);

    JobHandlers<bool> handlers;
    handlers.progress = [progress](int done, int total) {
        if (progress) {
            progress->setMaximum(total);
            progress->setValue(done);
        }
    };
    handlers.finished = [this, progress, options] {
        if (progress)
            progress->close();
        Experiment e = trainingPanel_->experiment();
        e.dataFile = options.outDir / "dac.data";
        trainingPanel_->setExperiment(e);
        detectionPanel_->setDataset(fromPath(e.dataFile));
        setExperimentModified(true);
        statusBar()->showMessage(tr("Sample dataset ready: %1").arg(fromPath(e.dataFile)), 8000);
    };
    handlers.cancelled = [this, progress] {
        if (progress)
            progress->close();
        statusBar()->showMessage(tr("Sample dataset generation cancelled"), 8000);
    };
    handlers.failed = [this, progress](const JobFailure& failure) {
        if (progress)
            progress->close();
        showError(this, tr("Dataset generation failed"), failure.message);
    };
    datasetJob_->start(
        [options](QPromise<bool>& promise) {
            int range = -1;
            generateSyntheticDataset(options, [&](int done, int total) {
                if (total != range)
                    promise.setProgressRange(0, range = total);
                promise.setProgressValue(done);
                return !promise.isCanceled();
            });
            promise.addResult(true);
        },
        std::move(handlers));
    dialog->show();
}

} // namespace tyq::ui
