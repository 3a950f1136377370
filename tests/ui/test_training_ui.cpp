// The studio's training loop driven for real: start from the panel, live signals and plots,
// Stop within a batch leaving a resumable checkpoint, resume, and the runs browser listing it.
#include "data/synthetic_dataset.h"
#include "detection_panel.h"
#include "io/checkpoint.h"
#include "log_panel.h"
#include "main_window.h"
#include "plots_panel.h"
#include "quant_editor.h"
#include "quant_table_model.h"
#include "runs_browser.h"
#include "train/experiment.h"
#include "train/run_folder.h"
#include "training_controller.h"
#include "job_strip.h"
#include "training_panel.h"
#include "workspace.h"
#include "ui_test_support.h"

#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTabBar>
#include <QTimer>
#include <QDockWidget>

#include <atomic>
#include <fstream>

using namespace tyq;
using namespace tyq::ui;

// The controller emits batchDone, runFinished and runFailed on the training thread, and
// QSignalSpy records a signal in the thread that emits it: spying on the controller directly
// appended to the spy there while the test read it here (a data race scripts/tsan.sh found).
// The relay re-emits them on the GUI thread, where the studio's own slots receive them too.
class GuiThreadRelay : public QObject {
    Q_OBJECT
public:
    explicit GuiThreadRelay(TrainingController* controller)
    {
        connect(controller, &TrainingController::batchDone, this, &GuiThreadRelay::batchDone, Qt::QueuedConnection);
        connect(controller, &TrainingController::runFinished, this, &GuiThreadRelay::runFinished, Qt::QueuedConnection);
        connect(controller, &TrainingController::runFailed, this, &GuiThreadRelay::runFailed, Qt::QueuedConnection);
    }
Q_SIGNALS:
    void batchDone(const tyq::BatchReport& report);
    void runFinished(const tyq::RunSummary& summary);
    void runFailed(const tyq::RunSummary& summary);
};

class TrainingUiTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString dataFile_;

    Experiment tinyExperiment(int epochs) const
    {
        Experiment e = defaultExperiment();
        e.dataFile = dataFile_.toStdString();
        e.runsRoot = (dir_.path() + "/exps").toStdString();
        e.options.set_epochs(epochs).set_batchSize(2).set_inputWidth(128).set_inputHeight(96).set_evalInterval(1);
        e.options.set_loaderThreads(1);
        return e;
    }

private Q_SLOTS:
    void initTestCase()
    {
        tyq::test::useTestSettings();
        QVERIFY(dir_.isValid());
        SyntheticDatasetOptions o;
        o.outDir = (dir_.path() + "/data").toStdString();
        o.trainCount = 8;
        o.valCount = 4;
        dataFile_ = QString::fromStdString(generateSyntheticDataset(o).dataFile.string());
    }

    void startStopResumeAndBrowse()
    {
        // Batches as the training thread finishes them (the relayed spy lags behind by whatever
        // the GUI thread has not processed yet, so it cannot tell how far the run got at Stop).
        std::atomic<int> batchesDone{0};
        MainWindow window;
        window.show();
        TrainingPanel* panel = window.trainingPanel();
        window.setExperiment(tinyExperiment(2));
        TrainingController* controller = window.trainingController();

        GuiThreadRelay relay(controller);
        QSignalSpy batches(&relay, &GuiThreadRelay::batchDone);
        QSignalSpy running(controller, &TrainingController::runningChanged);
        QSignalSpy finished(&relay, &GuiThreadRelay::runFinished);
        connect(controller, &TrainingController::batchDone, controller,
                [&batchesDone](const BatchReport&) { ++batchesDone; }, Qt::DirectConnection);

        // Start with the real button; the first batch arrives as a queued signal.
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(controller->isRunning());
        QVERIFY(!panel->startButton()->isEnabled());
        QVERIFY(batches.wait(60000));
        const QString runDir = controller->runDir();

        // The GUI keeps painting: the plots gain points within their 250 ms refresh.
        QTRY_VERIFY_WITH_TIMEOUT(window.plotsPanel()->lossPointCount() >= 1, 5000);
        QVERIFY(panel->progressBar()->value() > 0);

        // Stop: the run ends after the batch in flight, with a resumable checkpoint. Counted from
        // when the click has returned (the stop request is made by then): counting from before it
        // also counted batches finished while a loaded machine had this thread descheduled.
        QTest::mouseClick(panel->stopButton(), Qt::LeftButton);
        const int batchesAtStop = batchesDone.load();
        QVERIFY(finished.wait(60000));
        const RunSummary stopped = finished.takeFirst().at(0).value<RunSummary>();
        QCOMPARE(stopped.outcome, RunOutcome::stopped);
        QVERIFY2(batchesDone.load() <= batchesAtStop + 1, "Stop ended the run within one batch");
        QCOMPARE(static_cast<int>(batches.count()), batchesDone.load()); // every batch reached the GUI
        QTRY_VERIFY_WITH_TIMEOUT(!controller->isRunning(), 10000);
        const std::filesystem::path last = runDir.toStdString() + "/checkpoints/last.ckpt";
        QVERIFY(std::filesystem::exists(last));
        const TrainingCheckpoint checkpoint = loadCheckpoint(last);
        QCOMPARE(checkpoint.globalBatch, static_cast<int64_t>(batches.count()));
        QCOMPARE(QString::fromStdString(readRunStatus(runDir.toStdString()).state), QString("stopped"));

        // The stop message points to Resume, which continues this run without asking for a folder.
        QVERIFY2(panel->statusLabel()->text().contains("Resume"), qPrintable(panel->statusLabel()->text()));
        QCOMPARE(panel->resumeTarget(), runDir);
        QTRY_VERIFY(panel->resumeButton()->isEnabled()); // once the run's thread has ended
        QTest::mouseClick(panel->resumeButton(), Qt::LeftButton);
        QVERIFY(controller->isRunning());
        QCOMPARE(controller->runDir(), runDir);
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.takeFirst().at(0).value<RunSummary>().outcome, RunOutcome::finished);
        QTRY_VERIFY_WITH_TIMEOUT(!controller->isRunning(), 10000);
        QCOMPARE(loadCheckpoint(last).epoch, int64_t(2));
        QTRY_VERIFY_WITH_TIMEOUT(window.plotsPanel()->metricPointCount() >= 1, 5000);
        // The plot kept the batches from before the Stop: all 8 (2 epochs x 4 batches).
        QTRY_COMPARE_WITH_TIMEOUT(window.plotsPanel()->lossPointCount(), 8, 5000);
        // The finished fp run is what LSQ starts from next.
        QCOMPARE(QString::fromStdString(window.trainingPanel()->experiment().fpCheckpoint.string()), runDir + "/checkpoints/best.ckpt");

        // The runs browser lists the finished run with its metrics.
        RunsBrowser* browser = window.runsBrowser();
        browser->refresh();
        QCOMPARE(browser->runCount(), 1);
        QCOMPARE(browser->runAt(0), runDir);
        QCOMPARE(browser->table()->item(0, 2)->text(), QString("finished"));
        QVERIFY(browser->table()->item(0, 4)->text() != QString("–")); // best mAP was evaluated

        // Opening it shows its curves from the CSV files.
        window.plotsPanel()->clear();
        QCOMPARE(window.plotsPanel()->lossPointCount(), 0);
        Q_EMIT browser->openRun(runDir);
        QTRY_VERIFY_WITH_TIMEOUT(window.plotsPanel()->lossPointCount() == 8, 5000); // 2 epochs x 4 batches

        // Issue 12: Inspect offers the runs' best checkpoints in one click (no LSQ run yet: A only).
        DetectionPanel* detections = window.detectionPanel();
        auto* best = detections->findChild<QPushButton*>("bestCheckpointsButton");
        QVERIFY(best);
        QVERIFY(best->isEnabled());
        QVERIFY2(best->toolTip().contains("no LSQ run"), qPrintable(best->toolTip()));
        QSignalSpy loaded(detections, &DetectionPanel::modelLoaded);
        QTest::mouseClick(best, Qt::LeftButton);
        QVERIFY(loaded.wait(30000));
        QCOMPARE(loaded.first().at(0).toInt(), 0);
        QVERIFY2(loaded.first().at(1).toBool(), qPrintable(loaded.first().at(2).toString()));
        QCOMPARE(QDir::cleanPath(detections->modelWeights(0)), QDir::cleanPath(runDir + "/checkpoints/best.ckpt"));
        QVERIFY(!detections->isModelLoaded(1));

        // Issue 12: Resume takes the run selected in Runs, not only the one just stopped.
        const QString copy = dir_.path() + "/exps/copy-of-run";
        std::filesystem::copy(runDir.toStdString(), copy.toStdString(), std::filesystem::copy_options::recursive);
        browser->refresh();
        QCOMPARE(browser->runCount(), 2);
        for (int row = 0; row < browser->runCount(); ++row)
            if (browser->runAt(row) == copy)
                browser->table()->selectRow(row);
        QCOMPARE(browser->selectedRuns(), QStringList{copy});
        QCOMPARE(panel->resumeTarget(), copy);
        std::filesystem::remove_all(copy.toStdString());
    }

    void multiProcessRunReportsTheJobAndStopsEveryRank()
    {
        MainWindow window;
        window.show();
        TrainingPanel* panel = window.trainingPanel();
        Experiment e = tinyExperiment(40);
        e.processes = 2;
        window.setExperiment(e);
        QCOMPARE(panel->processesBox()->value(), 2);
        TrainingController* controller = window.trainingController();
        GuiThreadRelay relay(controller);
        QSignalSpy batches(&relay, &GuiThreadRelay::batchDone);
        QSignalSpy finished(&relay, &GuiThreadRelay::runFinished);

        // Rank 0 trains here, rank 1 is a tyq process; the batches the studio shows are the job's.
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(controller->isRunning());
        QVERIFY(batches.wait(120000));
        const BatchReport first = batches.at(0).at(0).value<BatchReport>();
        QCOMPARE(first.images, 4); // 2 per process
        QCOMPARE(first.batchesPerEpoch, int64_t(2)); // 8 images in global batches of 4
        QTest::mouseClick(panel->stopButton(), Qt::LeftButton);
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.takeFirst().at(0).value<RunSummary>().outcome, RunOutcome::stopped);
        QTRY_VERIFY_WITH_TIMEOUT(!controller->isRunning(), 60000);
        const std::filesystem::path runDir = controller->runDir().toStdString();
        QCOMPARE(loadCheckpoint(runDir / "checkpoints/last.ckpt").worldSize, int64_t(2));
        std::ifstream rankLog(runDir / "train.rank1.log");
        const std::string log((std::istreambuf_iterator<char>(rankLog)), std::istreambuf_iterator<char>());
        QVERIFY2(log.find("rank 1 of 2 processes") != std::string::npos, log.c_str());
        QVERIFY2(log.find("stopped at epoch") != std::string::npos, log.c_str()); // rank 1 stopped with rank 0
    }

    void refusesASecondRunAndShowsErrorsInTheUi()
    {
        MainWindow window;
        window.show();
        TrainingPanel* panel = window.trainingPanel();
        Experiment e = tinyExperiment(1);
        e.dataFile = (dir_.path() + "/missing.data").toStdString();
        panel->setExperiment(e);
        QVERIFY(!panel->startTraining());
        QVERIFY(panel->statusLabel()->text().contains("missing.data"));

        e = tinyExperiment(1);
        e.phase = "lsq"; // without an fp checkpoint
        panel->setExperiment(e);
        QVERIFY(!panel->startTraining());
        QVERIFY(panel->statusLabel()->text().contains("full-precision checkpoint"));

        // While one run goes, the controller refuses another.
        panel->setExperiment(tinyExperiment(3));
        QVERIFY(panel->startTraining());
        QString why;
        TrainingJob job;
        QVERIFY(!window.trainingController()->start(job, &why));
        QVERIFY(why.contains("already in progress"));
        window.trainingController()->stop();
        QTRY_VERIFY_WITH_TIMEOUT(!window.trainingController()->isRunning(), 60000);
    }

    void failedRunShowsTheErrorAndTheStudioCanStartAgain()
    {
        // A dataset whose only image cannot be decoded, in strict mode: the run fails at once.
        const QString bad = dir_.path() + "/bad";
        QDir().mkpath(bad + "/images");
        QDir().mkpath(bad + "/labels");
        auto write = [](const QString& path, const QByteArray& bytes) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(bytes);
        };
        write(bad + "/images/broken.jpg", "not a jpeg");
        write(bad + "/labels/broken.txt", "3 0.5 0.5 0.2 0.2\n");
        write(bad + "/list.txt", "images/broken.jpg\n");
        write(bad + "/bad.data", "classes=12\ntrain=list.txt\nvalid=list.txt\nnames=" +
                                     QFileInfo(dataFile_).dir().filePath("dac.names").toUtf8() + "\n");

        MainWindow window;
        window.show();
        TrainingPanel* panel = window.trainingPanel();
        TrainingController* controller = window.trainingController();
        Experiment e = tinyExperiment(1);
        e.dataFile = (bad + "/bad.data").toStdString();
        e.options.set_strictData(true);
        window.setExperiment(e);
        GuiThreadRelay relay(controller);
        QSignalSpy failed(&relay, &GuiThreadRelay::runFailed);
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(failed.wait(60000));
        const RunSummary summary = failed.takeFirst().at(0).value<RunSummary>();
        QCOMPARE(summary.outcome, RunOutcome::failed);
        QVERIFY2(QString::fromStdString(summary.message).contains("broken.jpg"), summary.message.c_str());
        QTRY_VERIFY_WITH_TIMEOUT(!controller->isRunning(), 10000);

        // The panel says so, an error box names the file and the problem, the run folder too.
        QVERIFY(panel->statusLabel()->text().contains("Failed"));
        QVERIFY(panel->statusLabel()->text().contains("broken.jpg"));
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox*>("tyqErrorBox")) != nullptr, 5000);
        QVERIFY(box->text().contains("broken.jpg"));
        QVERIFY(box->text().contains("cannot decode"));
        QCOMPARE(QString::fromStdString(readRunStatus(controller->runDir().toStdString()).state), QString("failed"));
        box->button(QMessageBox::Ok)->click();
        QTRY_VERIFY_WITH_TIMEOUT(window.findChild<QMessageBox*>("tyqErrorBox") == nullptr, 5000);

        // The studio is ready for the next run: a good dataset trains.
        QVERIFY(panel->startButton()->isEnabled());
        window.setExperiment(tinyExperiment(1));
        QSignalSpy batches(&relay, &GuiThreadRelay::batchDone);
        QSignalSpy finished(&relay, &GuiThreadRelay::runFinished);
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QVERIFY(controller->isRunning());
        QVERIFY(batches.wait(60000));
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.takeFirst().at(0).value<RunSummary>().outcome, RunOutcome::finished);
        QTRY_VERIFY_WITH_TIMEOUT(!controller->isRunning(), 10000);
    }

    // Starts the window's experiment and waits until its first batch has reached the GUI.
    static bool startAndWaitForABatch(MainWindow& window)
    {
        GuiThreadRelay relay(window.trainingController());
        QSignalSpy batches(&relay, &GuiThreadRelay::batchDone);
        return window.trainingPanel()->startTraining() && batches.wait(60000);
    }

    // Answers the next modal message boxes with `buttons`, in order, recording their titles.
    void answerMessageBoxes(QList<QMessageBox::StandardButton> buttons, QStringList* titles)
    {
        auto* poll = new QTimer(this);
        poll->setInterval(20);
        connect(poll, &QTimer::timeout, this, [poll, buttons, titles]() mutable {
            auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
            if (!box || box->property("answered").toBool())
                return;
            box->setProperty("answered", true);
            titles->append(box->windowTitle());
            const QMessageBox::StandardButton button = buttons.takeFirst();
            if (buttons.isEmpty()) {
                poll->stop();
                poll->deleteLater();
            }
            box->button(button)->click();
        });
        poll->start();
    }

    void closingWithUnsavedEditsAsksFirst()
    {
        MainWindow window;
        window.show();
        window.setExperiment(tinyExperiment(4));
        window.trainingPanel()->epochsBox()->setValue(6);
        QVERIFY(window.isExperimentModified());

        // Cancel keeps the window and the edit.
        QStringList asked;
        answerMessageBoxes({QMessageBox::Cancel}, &asked);
        QVERIFY(!window.close());
        QCOMPARE(asked, QStringList{"Unsaved experiment"});
        QVERIFY(window.isVisible());
        QVERIFY(window.isExperimentModified());
        QCOMPARE(window.currentExperiment().options.epochs, 6);

        // Unsaved bit-widths are asked about first; Cancel there keeps everything too.
        auto* model = window.quantEditor()->model();
        QVERIFY(model->setData(model->index(2, QuantTableModel::kWeightBits), 4, Qt::EditRole));
        QVERIFY(window.quantEditor()->isModified());
        asked.clear();
        answerMessageBoxes({QMessageBox::Cancel}, &asked);
        QVERIFY(!window.close());
        QCOMPARE(asked, QStringList{"Unsaved bit-widths"});
        QVERIFY(window.isVisible());
        QVERIFY(window.quantEditor()->isModified());

        // Discarding both closes it.
        asked.clear();
        answerMessageBoxes({QMessageBox::Discard, QMessageBox::Discard}, &asked);
        QVERIFY(window.close());
        QCOMPARE(asked, (QStringList{"Unsaved bit-widths", "Unsaved experiment"}));
        QVERIFY(!window.isVisible());
    }

    // Issue 12: closing during a run skipped the unsaved-experiment question (edits lost).
    void closingDuringARunAsksAboutUnsavedEditsThenQuitsOnceStopped()
    {
        MainWindow window;
        window.show();
        window.setExperiment(tinyExperiment(50)); // an experiment not saved anywhere
        TrainingController* controller = window.trainingController();
        QVERIFY(startAndWaitForABatch(window));

        QStringList asked;
        answerMessageBoxes({QMessageBox::Yes, QMessageBox::Discard}, &asked);
        QVERIFY(!window.close()); // it stops the run first
        QCOMPARE(asked, (QStringList{"Training in progress", "Unsaved experiment"}));
        QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), 60000);
        QVERIFY(!controller->isRunning());
    }

    // Issue 12: a run that ended while "Training in progress" was open left the window stuck
    // on "Stopping the training, then quitting…".
    void aRunEndingWhileTheQuitQuestionIsOpenStillQuits()
    {
        MainWindow window;
        window.show();
        window.setExperiment(tinyExperiment(3)); // long enough to be running when close() asks
        TrainingController* controller = window.trainingController();
        QVERIFY(startAndWaitForABatch(window));

        // Yes only once the run has finished on its own; Discard the unsaved experiment.
        QStringList asked;
        auto* poll = new QTimer(this);
        poll->setInterval(20);
        connect(poll, &QTimer::timeout, this, [&asked, controller, poll] {
            auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
            if (!box || box->property("answered").toBool())
                return;
            if (box->windowTitle() == "Training in progress" && controller->isRunning())
                return;
            box->setProperty("answered", true);
            asked.append(box->windowTitle());
            box->button(box->windowTitle() == "Training in progress" ? QMessageBox::Yes : QMessageBox::Discard)->click();
        });
        poll->start();
        window.close();
        QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), 60000);
        poll->stop();
        poll->deleteLater();
        QCOMPARE(asked, (QStringList{"Training in progress", "Unsaved experiment"}));
    }

    // Issue 12: three workspaces, switched with the mode bar or Ctrl+1/2/3, each keeping its own
    // dock layout (saved per user, with a reset); the job strip shows a run from any of them.
    void workspacesSwitchAndKeepTheirOwnLayouts()
    {
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            QCOMPARE(window.workspaces().size(), size_t(3));
            QCOMPARE(window.workspaces()[0]->centralWidget(), static_cast<QWidget*>(window.quantEditor()));
            QCOMPARE(window.workspaces()[1]->centralWidget(), static_cast<QWidget*>(window.plotsPanel()));
            for (int i : {0, 2, 1}) {
                QTest::keyClick(&window, Qt::Key(Qt::Key_1 + i), Qt::ControlModifier);
                QCOMPARE(window.currentWorkspace(), i);
                QVERIFY(window.workspaces()[size_t(i)]->isVisible());
            }
            auto* modeBar = window.findChild<QTabBar*>("modeBar");
            QVERIFY(modeBar);
            QCOMPARE(modeBar->currentIndex(), 1);
            // Help > Getting started names the workspaces and their keys.
            QVERIFY(MainWindow::gettingStartedText().contains("Ctrl+1"));
            QVERIFY(MainWindow::gettingStartedText().contains("Inspect"));
            modeBar->setCurrentIndex(2);
            QCOMPARE(window.currentWorkspace(), 2);

            // Closing the log in Train is remembered for Train only; Reset layout brings it back.
            window.showWorkspace(1);
            QDockWidget* log = window.workspaces()[1]->findChild<QDockWidget*>("logDock");
            QVERIFY(log && log->isVisible());
            log->close();
            QVERIFY(!log->isVisible());
            QVERIFY(window.close()); // nothing edited: no question
        }
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            QCOMPARE(window.currentWorkspace(), 1); // the last one shown
            QDockWidget* log = window.workspaces()[1]->findChild<QDockWidget*>("logDock");
            QVERIFY(!log->isVisible());
            QVERIFY(window.workspaces()[0]->findChild<QDockWidget*>("layerQuantDock")->isVisible() ||
                    !window.workspaces()[0]->isVisible());
            window.currentWorkspaceWidget()->resetLayout();
            QVERIFY(log->isVisible());

            // A run shows in the strip under whichever workspace is up, with its Stop.
            window.setExperiment(tinyExperiment(20));
            GuiThreadRelay relay(window.trainingController());
            QSignalSpy batches(&relay, &GuiThreadRelay::batchDone);
            QVERIFY(window.trainingPanel()->startTraining());
            window.showWorkspace(2);
            QVERIFY(batches.wait(60000));
            QTRY_VERIFY(window.jobStrip()->isVisible());
            QTRY_VERIFY(window.jobStrip()->text().contains("epoch"));
            QTest::mouseClick(window.jobStrip()->stopButton(), Qt::LeftButton);
            QTRY_VERIFY_WITH_TIMEOUT(!window.trainingController()->isRunning(), 60000);
            QTRY_VERIFY(!window.jobStrip()->isVisible());
            window.showWorkspace(1); // the next suites' windows open on Train, as by default
            QStringList asked;
            answerMessageBoxes({QMessageBox::Discard}, &asked);
            QVERIFY(window.close());
        }
    }

    void experimentFileRoundTrip()
    {
        MainWindow window;
        Experiment e = tinyExperiment(7);
        e.options.set_learningRate(0.002).set_flip(false);
        window.setExperiment(e);
        const QString path = dir_.path() + "/saved.tyqexp";
        QVERIFY(window.saveExperimentAs(path));
        QVERIFY(!window.isExperimentModified());
        QVERIFY(window.windowTitle().startsWith("saved.tyqexp —"));

        window.trainingPanel()->epochsBox()->setValue(9); // an edit marks the experiment modified
        QVERIFY(window.isExperimentModified());
        QVERIFY(window.windowTitle().contains("*"));

        MainWindow other;
        QVERIFY(other.openExperiment(path));
        const Experiment loaded = other.currentExperiment();
        QCOMPARE(loaded.options.epochs, 7);
        QCOMPARE(loaded.options.learningRate, 0.002);
        QCOMPARE(loaded.options.flip, false);
        QCOMPARE(QString::fromStdString(std::filesystem::absolute(loaded.dataFile).lexically_normal().string()),
                 QString::fromStdString(std::filesystem::absolute(e.dataFile).lexically_normal().string()));

        // A broken experiment file is reported in the UI and leaves the window as it was.
        QFile broken(dir_.path() + "/broken.tyqexp");
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("tyq_experiment: 1\noptions: {epochs: -3}\n");
        broken.close();
        QVERIFY(!other.openExperiment(broken.fileName()));
        QCOMPARE(other.currentExperiment().options.epochs, 7);
    }
};

QTEST_MAIN(TrainingUiTest)
#include "test_training_ui.moc"
