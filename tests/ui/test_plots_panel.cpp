// The plots of a day-long run: hundreds of thousands of batches reach PlotsPanel::onBatch; the
// curves hold a bounded number of points (averaged as they grow) and still end where the run
// is. What plotting costs in time is measured by bench/plots_benchmark.cpp, not here.
#include "plots_panel.h"
#include "synthetic_batch_reports.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QStandardPaths>
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

private Q_SLOTS:
    void initTestCase() { tyq::test::useTestSettings(); }

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
