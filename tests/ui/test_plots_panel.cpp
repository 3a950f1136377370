// The plots of a day-long run: hundreds of thousands of batches reach PlotsPanel::onBatch; the
// curves hold a bounded number of points (averaged as they grow) and still end where the run
// is. A recorded run is read in the background and replayed, a comparison overlaid. What
// plotting costs in time is measured by bench/plots_benchmark.cpp, not here.
#include "data/dataset.h"
#include "train/run_folder.h"

#include "plots_panel.h"
#include "quantizer_list.h"
#include "synthetic_batch_reports.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QDir>
#include <QLineEdit>
#include <QPushButton>
#include <QTreeWidget>
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

    static QCustomPlot* plotWithYLabel(PlotsPanel& panel, const QString& label)
    {
        for (QCustomPlot* plot : panel.findChildren<QCustomPlot*>())
            if (plot->yAxis->label() == label)
                return plot;
        return nullptr;
    }

    static QStringList legendNames(QCustomPlot* plot)
    {
        QStringList names;
        for (int i = 0; i < plot->legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(plot->legend->item(i)))
                names << item->plottable()->name();
        return names;
    }

    // The reference net's quantizers: weights of its 10 convs, activations of the 9 after the first.
    static RunStart referenceLikeRunStart()
    {
        RunStart start;
        start.phase = "lsq";
        start.batchesPerEpoch = 10;
        for (int i : {0, 2, 4, 6, 8, 10, 12, 13, 14, 15}) {
            const std::string conv = "module_list." + std::to_string(i) + ".conv_" + std::to_string(i);
            start.quantizers.push_back(conv + ".quan_w_fn");
            if (i > 0)
                start.quantizers.push_back(conv + ".quan_a_fn");
        }
        return start;
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
        // Issue 12: the legends name the run of each curve while two are drawn, and only then.
        QVERIFY(legendNames(plotWithYLabel(panel, "loss")).contains("a: loss"));
        QVERIFY(legendNames(plotWithYLabel(panel, "loss")).contains("b: loss"));
        QVERIFY(legendNames(plotWithYLabel(panel, "validation")).contains("a: map"));
        QVERIFY(legendNames(plotWithYLabel(panel, "validation")).contains("b: map"));
        panel.setComparison({});
        QCOMPARE(graphCount(panel), alone);
        QVERIFY(legendNames(plotWithYLabel(panel, "loss")).contains("loss"));
        QVERIFY(!legendNames(plotWithYLabel(panel, "loss")).contains("a: loss"));

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
        auto* tree = panel.findChild<QTreeWidget*>("quantizerTree");
        QVERIFY(tree && panel.stepSizeCurveCount() == 19);
        QTreeWidgetItem* activations = tree->topLevelItem(1);
        QCOMPARE(activations->childCount(), 19);
        activations->child(3)->setCheckState(0, Qt::Unchecked);
        QCOMPARE(steps->legend->itemCount(), listed - 1);
        activations->child(3)->setCheckState(0, Qt::Checked);
        QCOMPARE(steps->legend->itemCount(), listed);
    }

    // Issue 12: twenty quantizers in one flat list; a filter, All / None and the two groups.
    void quantizersAreGroupedFilteredAndSelectedTogether()
    {
        PlotsPanel panel;
        const RunStart start = referenceLikeRunStart();
        panel.onRunStarted(start);
        QCustomPlot* steps = plotWithYLabel(panel, "step size");
        QVERIFY(steps);
        auto* tree = panel.findChild<QTreeWidget*>("quantizerTree");
        QVERIFY(tree);
        QTreeWidgetItem* weights = tree->topLevelItem(0);
        QTreeWidgetItem* activations = tree->topLevelItem(1);
        QCOMPARE(weights->text(0), QString("Weights (10)"));
        QCOMPARE(activations->text(0), QString("Activations (9)"));
        QCOMPARE(legendNames(steps).size(), 19);
        QVERIFY(legendNames(steps).contains("conv_8 w"));
        QVERIFY(legendNames(steps).contains("conv_8 a"));

        // The activations group's box hides all nine at once.
        activations->setCheckState(0, Qt::Unchecked);
        QStringList shown = legendNames(steps);
        QCOMPARE(shown.size(), 10);
        QVERIFY(std::all_of(shown.begin(), shown.end(), [](const QString& n) { return n.endsWith(" w"); }));
        activations->setCheckState(0, Qt::Checked);
        QCOMPARE(legendNames(steps).size(), 19);

        // The filter lists conv_1x; None hides just those, All brings them back.
        auto* filter = panel.findChild<QLineEdit*>("quantizerFilter");
        QVERIFY(filter);
        QTest::keyClicks(filter, "conv_1");
        int listed = 0;
        for (QTreeWidgetItem* g : {weights, activations})
            for (int i = 0; i < g->childCount(); ++i)
                listed += g->child(i)->isHidden() ? 0 : 1;
        QCOMPARE(listed, 10); // conv_10, 12, 13, 14 and 15, w and a
        tyq::test::buttonWithText(&panel, "None")->click();
        shown = legendNames(steps);
        QCOMPARE(shown.size(), 19 - listed);
        QVERIFY(!shown.contains("conv_12 w") && !shown.contains("conv_12 a") && shown.contains("conv_8 w"));
        filter->clear();
        QCOMPARE(legendNames(steps).size(), 19 - listed); // hidden curves stay hidden when the filter goes
        tyq::test::buttonWithText(&panel, "All")->click();
        QCOMPARE(legendNames(steps).size(), 19);
    }

    // Issue 12: the log axis had no labelled tick below 0.1, where most step sizes are.
    void theLogAxisIsLabelledOverItsWholeRange()
    {
        PlotsPanel panel;
        panel.resize(1000, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto* tabs = panel.findChild<QTabWidget*>();
        tabs->setCurrentIndex(2);
        RunStart start = referenceLikeRunStart();
        panel.onRunStarted(start);
        // Step sizes from 0.002 to 0.5, as an LSQ run's spread.
        for (int b = 0; b < 5; ++b) {
            BatchReport r = test::syntheticBatchReport(b, start);
            for (size_t i = 0; i < r.stepSizes.size(); ++i)
                r.stepSizes[i].value = 0.002 * std::pow(250.0, static_cast<double>(i) / (r.stepSizes.size() - 1));
            panel.onBatch(r);
        }
        auto* log = panel.findChild<QCheckBox*>();
        QVERIFY(log && log->text() == "Log scale");
        log->setChecked(true);
        flushAndReplot(panel);
        QCustomPlot* steps = plotWithYLabel(panel, "step size");
        const QCPRange range = steps->yAxis->range();
        QVERIFY(range.lower <= 0.002 && range.upper >= 0.5);
        // A labelled tick in each decade the data spans, each label the tick's value.
        const QVector<double> ticks = steps->yAxis->tickVector();
        const QVector<QString> labels = steps->yAxis->tickVectorLabels();
        QCOMPARE(labels.size(), ticks.size());
        for (double decade : {0.001, 0.01, 0.1}) {
            const bool labelled = std::any_of(ticks.begin(), ticks.end(), [&](double t) {
                return t >= decade * 0.999 && t < decade * 10 && t >= range.lower && t <= range.upper;
            });
            QVERIFY2(labelled, qPrintable(QString("no tick in [%1, %2)").arg(decade).arg(decade * 10)));
        }
        for (int i = 0; i < ticks.size(); ++i)
            QVERIFY2(std::abs(labels[i].toDouble() - ticks[i]) <= 1e-9 + 1e-3 * ticks[i], qPrintable(labels[i]));
        log->setChecked(false); // the setting persists: leave it as found
    }

    // The step-size page as a user sees it, for review (not an assertion).
    void screenshotsForReview()
    {
        const QString out = qEnvironmentVariable("TYQ_UI_SCREENSHOTS");
        if (out.isEmpty())
            QSKIP("set TYQ_UI_SCREENSHOTS to a folder to save screenshots");
        QDir().mkpath(out);
        PlotsPanel panel;
        panel.resize(1000, 560);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.findChild<QTabWidget*>()->setCurrentIndex(2);
        const RunStart start = referenceLikeRunStart();
        panel.onRunStarted(start);
        for (int b = 0; b < 200; ++b) {
            BatchReport r = test::syntheticBatchReport(b, start);
            for (size_t i = 0; i < r.stepSizes.size(); ++i)
                r.stepSizes[i].value = 0.002 * std::pow(250.0, static_cast<double>(i) / (r.stepSizes.size() - 1)) *
                                       (1 + 0.3 * std::exp(-b / 50.0));
            panel.onBatch(r);
        }
        panel.findChild<QCheckBox*>()->setChecked(true);
        flushAndReplot(panel);
        QVERIFY(panel.grab().save(out + "/step-sizes.png"));
        panel.findChild<QCheckBox*>()->setChecked(false);
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
