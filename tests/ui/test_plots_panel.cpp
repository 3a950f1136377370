// The plots of a day-long run: hundreds of thousands of batches reach PlotsPanel::onBatch; the
// curves hold a bounded number of points (averaged as they grow) and still end where the run
// is. A recorded run is read in the background and replayed, a comparison overlaid. What
// plotting costs in time is measured by bench/plots_benchmark.cpp, not here.
#include "data/dataset.h"
#include "train/run_folder.h"

#include "plots_panel.h"
#include "synthetic_batch_reports.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QListWidget>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QApplication>
#include <QTest>

using namespace tyq;
using namespace tyq::ui;

class PlotsPanelTest : public QObject {
    Q_OBJECT

private:
    // What the 250 ms timer does: a flush, then every plot redrawn.
    static void flushAndReplot(PlotsPanel& panel)
    {
        panel.flush();
        for (QCustomPlot* plot : panel.findChildren<QCustomPlot*>())
            plot->replot(QCustomPlot::rpImmediateRefresh);
    }

    // A run folder as the trainer leaves it: `batches` batches of 10 per epoch, an evaluation per epoch.
    static void writeRun(const std::filesystem::path& dir, int batches)
    {
        RunStart start = test::syntheticLsqRunStart();
        start.batchesPerEpoch = 10;
        RunFolder folder(dir, false);
        folder.prepareTables(start.quantizers, dacClassNames(), 0, 0);
        for (int b = 0; b < batches; ++b) {
            folder.appendBatch(test::syntheticBatchReport(b, start));
            if ((b + 1) % 10 == 0) {
                EvalReport e;
                e.epoch = (b + 1) / 10;
                e.metrics.mAP = 0.1 * e.epoch;
                folder.appendEpoch(e, 1.0, 1.0);
            }
        }
        folder.writeStatus(RunStatus{});
    }

    static int graphCount(PlotsPanel& panel)
    {
        int n = 0;
        for (QCustomPlot* plot : panel.findChildren<QCustomPlot*>())
            n += plot->graphCount();
        return n;
    }

private Q_SLOTS:
    void initTestCase() { tyq::test::useTestSettings(); }

    void aRecordedRunIsReadInTheBackgroundAndAComparisonStaysOverlaid()
    {
        QTemporaryDir dir;
        writeRun(dir.filePath("a").toStdString(), 30);
        writeRun(dir.filePath("b").toStdString(), 20);
        PlotsPanel panel;
        QSignalSpy loaded(&panel, &PlotsPanel::runLoaded);
        panel.loadRun(dir.filePath("a").toStdString());
        QCOMPARE(panel.lossPointCount(), 0); // nothing read on the GUI thread
        QVERIFY(tyq::test::waitFor(loaded));
        QVERIFY(loaded.last().at(0).toBool());
        QCOMPARE(panel.lossPointCount(), 30);
        QCOMPARE(panel.metricPointCount(), 3);
        const int alone = graphCount(panel);

        // The comparison (a dashed loss and mAP) survives loading the main run after it.
        panel.setComparison(dir.filePath("b").toStdString());
        panel.loadRun(dir.filePath("a").toStdString());
        QVERIFY(tyq::test::waitFor(loaded, 3));
        QCOMPARE(graphCount(panel), alone + 2);
        panel.setComparison({});
        QCOMPARE(graphCount(panel), alone);

        // A folder without batches.csv: the failure names it; the curves shown stay.
        loaded.clear();
        panel.loadRun(dir.filePath("missing").toStdString());
        QVERIFY(tyq::test::waitFor(loaded));
        QCOMPARE(loaded.last().at(0).toBool(), false);
        QVERIFY2(loaded.last().at(1).toString().contains("missing"), qPrintable(loaded.last().at(1).toString()));
        QCOMPARE(panel.lossPointCount(), 30);
    }

    // Issue 12: after Resume the plot started empty; it keeps the batches from before the Stop.
    void aResumedRunKeepsItsEarlierBatches()
    {
        QTemporaryDir dir;
        const std::filesystem::path run = dir.filePath("run").toStdString();
        writeRun(run, 25); // stopped after 25 batches; its checkpoint covers 20 (epoch 2)
        PlotsPanel panel;
        QSignalSpy loaded(&panel, &PlotsPanel::runLoaded);
        panel.continueRun(run);
        // The live run reports at once, before the history is read: batches 20.. again.
        RunStart start = test::syntheticLsqRunStart();
        start.batchesPerEpoch = 10;
        start.startEpoch = 2;
        start.resumed = true;
        panel.onRunStarted(start);
        for (int b = 20; b < 24; ++b)
            panel.onBatch(test::syntheticBatchReport(b, start));
        QVERIFY(tyq::test::waitFor(loaded));
        QVERIFY(loaded.last().at(0).toBool());
        QCOMPARE(panel.lossPointCount(), 24); // 20 recorded (not the 5 being redone) + 4 live
        QCOMPARE(panel.metricPointCount(), 2); // epochs 1 and 2
        panel.onBatch(test::syntheticBatchReport(24, start));
        panel.flush();
        QCOMPARE(panel.lossPointCount(), 25);
    }

    // Issue 12: legends covered the curves and listed hidden ones.
    void legendsAreBesideTheCurvesAndListOnlyTheShownOnes()
    {
        PlotsPanel panel;
        panel.resize(1000, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const RunStart start = test::syntheticLsqRunStart();
        panel.onRunStarted(start);
        for (int b = 0; b < 50; ++b)
            panel.onBatch(test::syntheticBatchReport(b, start));
        flushAndReplot(panel);
        QCustomPlot* steps = nullptr;
        auto* tabs = panel.findChild<QTabWidget*>();
        QVERIFY(tabs);
        for (int tab = 0; tab < tabs->count(); ++tab) {
            tabs->setCurrentIndex(tab); // laid out at its real size once shown
            QApplication::processEvents();
            QCustomPlot* plot = tabs->widget(tab)->findChild<QCustomPlot*>();
            if (!plot)
                plot = qobject_cast<QCustomPlot*>(tabs->widget(tab));
            QVERIFY(plot);
            plot->replot(QCustomPlot::rpImmediateRefresh);
            const QRect legend = plot->legend->outerRect(), axes = plot->axisRect()->rect();
            QVERIFY2(!legend.intersects(axes), qPrintable(QString("%1: legend %2,%3 %4x%5, axes %6,%7 %8x%9")
                                                              .arg(plot->yAxis->label())
                                                              .arg(legend.x()).arg(legend.y()).arg(legend.width()).arg(legend.height())
                                                              .arg(axes.x()).arg(axes.y()).arg(axes.width()).arg(axes.height())));
            if (plot->graphCount() >= 19)
                steps = plot;
        }
        QVERIFY(steps);
        const int listed = steps->legend->itemCount();
        auto* list = panel.findChild<QListWidget*>();
        QVERIFY(list && list->count() == 19);
        list->item(3)->setCheckState(Qt::Unchecked);
        QCOMPARE(steps->legend->itemCount(), listed - 1);
        list->item(3)->setCheckState(Qt::Checked);
        QCOMPARE(steps->legend->itemCount(), listed);
    }

    // Issue 12: a run's first point drew an axis reaching into negative epochs.
    void onePointDoesNotDrawNegativeEpochs()
    {
        PlotsPanel panel;
        const RunStart start = test::syntheticLsqRunStart();
        panel.onRunStarted(start);
        panel.onBatch(test::syntheticBatchReport(0, start));
        panel.flush();
        for (QCustomPlot* plot : panel.findChildren<QCustomPlot*>())
            if (plot->yAxis->label() == "loss") {
                QVERIFY2(plot->xAxis->range().lower >= 0, qPrintable(QString::number(plot->xAxis->range().lower)));
                QVERIFY(plot->xAxis->range().upper > plot->xAxis->range().lower);
            }
    }

    void dayLongRunStaysBoundedAndFast()
    {
        PlotsPanel panel;
        panel.resize(900, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));

        // An LSQ run: 19 step-size curves besides the 9 loss and learning-rate ones.
        const RunStart start = test::syntheticLsqRunStart();
        panel.onRunStarted(start);

        const int64_t total = 300000;
        for (int64_t b = 0; b < total; ++b) {
            panel.onBatch(test::syntheticBatchReport(b, start));
            if ((b + 1) % 25000 == 0) // what the timer would have done meanwhile
                flushAndReplot(panel);
        }
        flushAndReplot(panel);

        // Bounded: 28 curves, each at most kMaxPointsPerSeries points (held twice: buffer + graph).
        QVERIFY(panel.storedPointCount() <= 28 * 2 * PlotsPanel::kMaxPointsPerSeries);
        QVERIFY(panel.lossPointCount() > static_cast<int>(PlotsPanel::kMaxPointsPerSeries / 2));
        QVERIFY(panel.lossPointCount() <= static_cast<int>(PlotsPanel::kMaxPointsPerSeries));

        // The averaged curve still ends where the run is: the last point is close to the last batch.
        QCustomPlot* lossPlot = nullptr;
        for (QCustomPlot* plot : panel.findChildren<QCustomPlot*>())
            if (plot->yAxis->label() == "loss")
                lossPlot = plot;
        QVERIFY(lossPlot);
        const double lastKey = (lossPlot->graph(0)->data()->constEnd() - 1)->key;
        QVERIFY2(lastKey > total / 1000.0 - 0.1, qPrintable(QString::number(lastKey)));
    }
};

QTEST_MAIN(PlotsPanelTest)
#include "test_plots_panel.moc"
