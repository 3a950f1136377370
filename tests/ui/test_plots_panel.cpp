// The plots of a day-long run: hundreds of thousands of batches reach PlotsPanel::onBatch; the
// curves hold a bounded number of points (averaged as they grow) and still end where the run
// is. What plotting costs in time is measured by bench/plots_benchmark.cpp, not here.
#include "plots_panel.h"

#include <qcustomplot.h>

#include <QStandardPaths>
#include <QTest>

using namespace tyq;
using namespace tyq::ui;

class PlotsPanelTest : public QObject {
    Q_OBJECT

private:
    static BatchReport report(int64_t globalBatch, int64_t batchesPerEpoch, const std::vector<StepSize>& steps)
    {
        BatchReport r;
        r.globalBatch = globalBatch;
        r.batchesPerEpoch = batchesPerEpoch;
        r.epoch = globalBatch / batchesPerEpoch;
        r.batchInEpoch = globalBatch % batchesPerEpoch;
        r.loss = 10.0 / (1.0 + 0.001 * globalBatch) + 0.1 * std::sin(globalBatch * 0.37);
        r.x = r.y = r.w = r.h = 0.1 * r.loss;
        r.confObj = r.cls = 0.2 * r.loss;
        r.confNoobj = 0.001 * r.loss;
        r.learningRate = 1e-3;
        r.stepSizes = steps;
        for (StepSize& s : r.stepSizes)
            s.value = 0.1 + 1e-7 * globalBatch;
        return r;
    }

    // What the 250 ms timer does: a flush, then every plot redrawn.
    static void flushAndReplot(PlotsPanel& panel)
    {
        panel.flush();
        for (QCustomPlot* plot : panel.findChildren<QCustomPlot*>())
            plot->replot(QCustomPlot::rpImmediateRefresh);
    }

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void dayLongRunStaysBoundedAndFast()
    {
        PlotsPanel panel;
        panel.resize(900, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));

        // An LSQ run: 19 step-size curves besides the 9 loss and learning-rate ones.
        RunStart start;
        start.batchesPerEpoch = 1000;
        std::vector<StepSize> steps;
        for (int i = 0; i < 19; ++i) {
            start.quantizers.push_back("module_list." + std::to_string(i) + ".conv.quan_a_fn");
            steps.push_back({start.quantizers.back(), 0.1});
        }
        panel.onRunStarted(start);

        const int64_t total = 300000;
        for (int64_t b = 0; b < total; ++b) {
            panel.onBatch(report(b, start.batchesPerEpoch, steps));
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
