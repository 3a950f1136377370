// "Layer quantization": one conv layer of a model as LSQ sees it — the weight histogram with
// the quantization levels q*s (q in [Qn, Qp]) and the clip range drawn over it, the share of
// weights clipped, the levels actually used, the step size and bits. Full-precision models
// show the histogram only. Models load in a background job.
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

#include <memory>

class QCustomPlot;

namespace tyq::ui {

class LayerQuantView : public QWidget {
    Q_OBJECT
public:
    explicit LayerQuantView(QWidget* parent = nullptr);
    ~LayerQuantView() override;

    /// Loads a model in the background; `modelLoaded` tells the outcome. `quantYaml` gives the
    /// bit-widths of a reference LSQ .pth (tyq checkpoints record theirs).
    void setModel(const QString& weights, const QString& quantYaml = {});
    /// Offers a detection-panel slot's model (0 = A, 1 = B) in the source list.
    void setSlotModel(int slot, const QString& weights, const QString& quantYaml = {});
    /// Shows a conv layer by module name (module_list.<i>.conv_<i>); false if there is none.
    bool setLayer(const QString& moduleName);

    bool isModelLoaded() const;
    QString modelWeights() const { return weights_; }
    QStringList layerNames() const;
    QString currentLayer() const;
    bool isQuantized() const; ///< the shown layer's weights are LSQ-quantized

    /// Share of the layer's weights with w/s outside [Qn, Qp] (clamped before rounding); 0 for fp.
    double clippedShare() const { return clippedShare_; }
    /// Distinct codes round(clamp(w/s, Qn, Qp)) among the weights; 0 for fp.
    int levelsUsed() const { return levelsUsed_; }
    /// Qp - Qn + 1 (7 for 3-bit symmetric); 0 for fp.
    int levelCount() const { return levelCount_; }
    /// The weight step size (mean over channels when per-channel); 0 for fp.
    double stepSize() const { return stepSize_; }
    QCustomPlot* plot() const { return plot_; }

Q_SIGNALS:
    void modelLoaded(bool ok, const QString& message);

private:
    struct Impl;
    void showLayer(int index);
    void clearPlot(const QString& note);

    std::unique_ptr<Impl> d_;
    QCustomPlot* plot_ = nullptr;
    QString weights_;
    QString quantYaml_;
    double clippedShare_ = 0;
    int levelsUsed_ = 0;
    int levelCount_ = 0;
    double stepSize_ = 0;
};

} // namespace tyq::ui
