// What live plotting costs training: the studio's GUI thread work per second of an LSQ run
// (every batch report handed to PlotsPanel, its 250 ms timer's flush, and the replot and paint
// of the plot on screen), at several points of a long run, with each tab in front, as a share of
// the CPU time training has on this machine. Training keeps every core busy, so each GUI
// millisecond is taken from it.
//
//   tyq_plots_bench [--batches-per-second R] [--cores N]      (offscreen; prints a table)
#include "plots_panel.h"
#include "synthetic_batch_reports.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTabWidget>
#include <QThread>
#include <QTimer>

#include <cstdio>

using namespace tyq;

int main(int argc, char** argv)
{
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    // fp training at 512x288, batch 8 runs ~27 images/s here: 3.4 batches/s. Small batches
    // report more often; 20/s is a 160x96 toy run.
    QCommandLineOption rateOption("batches-per-second", "Training batches reported per second.", "R", "20");
    QCommandLineOption coresOption("cores", "Cores training uses (default: all).", "N",
                                   QString::number(QThread::idealThreadCount()));
    parser.addOptions({rateOption, coresOption});
    parser.process(app);
    const double rate = parser.value(rateOption).toDouble();
    const int cores = parser.value(coresOption).toInt();

    ui::PlotsPanel panel;
    panel.resize(1200, 700);
    panel.show();
    QApplication::processEvents();

    // An LSQ run of the reference net: 19 step sizes beside the loss, its parts and lr.
    const RunStart start = test::syntheticLsqRunStart();
    panel.onRunStarted(start);

    auto* tabs = panel.findChild<QTabWidget*>();
    auto* flushTimer = panel.findChild<QTimer*>();
    std::printf("plotting cost per second of training (%.1f batches/s, %d cores, LSQ: %zu step-size curves)\n",
                rate, cores, start.quantizers.size());
    std::printf("%14s %12s %-14s %9s %18s %14s\n", "batches so far", "points held", "tab in front", "redraw ms",
                "GUI ms per second", "training cost");
    int64_t fed = 0;
    for (const int64_t at : {1000L, 20000L, 100000L, 300000L}) {
        for (; fed < at; ++fed) // the run up to here, untimed
            panel.onBatch(test::syntheticBatchReport(fed, start));
        for (int tab = 0; tab < tabs->count(); ++tab) {
            tabs->setCurrentIndex(tab);
            panel.flush();
            QApplication::processEvents();

            // Ten seconds of training: `rate` reports per second and the panel's timer ticks at
            // the interval it sets itself, each a flush whose queued replot and repaint run in
            // the event loop, as in the studio (simulated time; only the GUI work is timed).
            const int seconds = 10;
            QElapsedTimer timer;
            timer.start();
            double nextReport = 0;
            for (double now = 0; now < seconds; now += flushTimer->interval() / 1000.0) {
                for (; nextReport <= now; nextReport += 1 / rate, ++fed)
                    panel.onBatch(test::syntheticBatchReport(fed, start));
                panel.flush();
                QApplication::processEvents();
            }
            const double msPerSecond = timer.nsecsElapsed() / 1e6 / seconds;
            std::printf("%14lld %12zu %-14s %9d %18.1f %13.2f%%\n", static_cast<long long>(at), panel.storedPointCount(),
                        qPrintable(tabs->tabText(tab)), flushTimer->interval(), msPerSecond,
                        100.0 * msPerSecond / (1000.0 * cores));
        }
    }
    return 0;
}
