// Live training curves: loss and its components, learning rate, every quantizer's step size,
// validation metrics. Points are buffered as they arrive and drawn on a timer (250 ms, longer
// when drawing is slow) with a queued replot of the plot on screen, so plotting costs training
// little (bench/plots_benchmark.cpp measures it); curves of a finished run (and a second run to
// compare) load from its CSV files.
#pragma once

#include "core_types.h"

#include <QWidget>

#include <filesystem>
#include <map>
#include <memory>
#include <variant>
#include <vector>

class QCheckBox;
class QCustomPlot;
class QCPGraph;
class QDoubleSpinBox;
class QTabWidget;
class QTimer;

namespace tyq {
struct RunHistory;
}

namespace tyq::ui {

template <typename T>
class BackgroundJob;
class QuantizerList;

class PlotsPanel : public QWidget {
    Q_OBJECT
public:
    explicit PlotsPanel(QWidget* parent = nullptr);
    ~PlotsPanel() override;

    /// Forgets every curve (a new run starts).
    void clear();
    /// Reads a run's batches.csv and epochs.csv in the background, then replaces the current
    /// curves with them (the calls a live run makes); `runLoaded` follows.
    void loadRun(const std::filesystem::path& runDir);
    /// A resumed run: its recorded batches and evaluations (read in the background) stay on
    /// the curves, and what the live run reports meanwhile follows them.
    void continueRun(const std::filesystem::path& runDir);
    /// Overlays a second run's loss and mAP (dashed), read in the background; an empty path
    /// removes it. `runLoaded` follows.
    void setComparison(const std::filesystem::path& runDir);

    /// Points drawn so far in the total-loss curve (for tests and status).
    int lossPointCount() const;
    /// Points held over all curves (bounded: see kMaxPointsPerSeries).
    size_t storedPointCount() const;
    /// Each curve keeps at most this many points: past it, neighbouring points are averaged in
    /// pairs and later ones arrive averaged as well, so a day-long run stays light to hold and
    /// draw (batches.csv keeps every batch).
    static constexpr size_t kMaxPointsPerSeries = 5000;
    /// Shortest interval between redraws (the timer stretches when drawing is slow).
    static constexpr int kFlushIntervalMs = 250;
    int metricPointCount() const;
    int stepSizeCurveCount() const;

    /// Writes the curves of the current tab as CSV / the plot as PNG or PDF. False on failure.
    bool exportCsv(const QString& path) const;
    bool exportImage(const QString& path) const;

Q_SIGNALS:
    /// A loadRun or setComparison finished; `message` says why not when `ok` is false.
    void runLoaded(bool ok, const QString& message);

public Q_SLOTS:
    void onRunStarted(const tyq::RunStart& start);
    void onBatch(const tyq::BatchReport& report);
    void onEvaluation(const tyq::EvalReport& report);
    /// Hands the buffered points to the curves and queues a replot of the plot on screen (a
    /// timer calls it every kFlushIntervalMs, or less often when drawing takes long).
    void flush();

private:
    struct Series {
        std::vector<double> x, y;
        size_t drawn = 0; // points already handed to the graph
        QCPGraph* graph = nullptr;
        QString label; // the legend's name, prefixed with the run's while another is compared
        bool smoothed = false;
        double ema = 0;
        size_t stride = 1;           // reported points averaged into each stored one
        double sumX = 0, sumY = 0;   // the next stored point, partly accumulated
        size_t pending = 0;          // reported points in it
    };
    void decimate(Series& s);

    QCustomPlot* makePlot(const QString& xLabel, const QString& yLabel);
    Series& series(const QString& name, QCustomPlot* plot, const QColor& color, bool smoothed);
    void addStepSizeCurve(const QString& quantizer);
    void showStepSizeCurve(const QString& quantizer, bool shown);
    void append(const QString& name, double x, double y);
    void rebuildSmoothing();
    void exportCurrent();
    void drawComparison();
    QCustomPlot* currentPlot() const;

    QTabWidget* tabs_;
    QCustomPlot* lossPlot_;
    QCustomPlot* lrPlot_;
    QCustomPlot* stepPlot_;
    QCustomPlot* metricPlot_;
    QuantizerList* quantizers_;
    QCheckBox* logScale_;
    QDoubleSpinBox* smoothing_;
    QTimer* flushTimer_;
    std::map<QString, Series> series_;
    std::vector<QCPGraph*> comparison_;
    std::shared_ptr<const RunHistory> comparisonHistory_;
    QString runName_; ///< the run drawn (its folder's name), for legends while comparing
    bool holdingLive_ = false; ///< continueRun is reading the history: live reports wait
    std::vector<std::variant<RunStart, BatchReport, EvalReport>> heldLive_;
    std::unique_ptr<BackgroundJob<std::shared_ptr<const RunHistory>>> loadJob_, comparisonJob_;
    int64_t batchesPerEpoch_ = 1;
};

} // namespace tyq::ui
