// One image with boxes drawn over it, for the detection panel: ground truth dashed, predictions
// solid with a label, boxes only one model found highlighted. Zoom with the wheel or +/-, pan by
// dragging, 0 or F fits; two views keep the same viewport through viewportChanged/setViewport.
#pragma once

#include <QColor>
#include <QImage>
#include <QPointF>
#include <QRectF>
#include <QString>
#include <QVector>
#include <QWidget>

namespace tyq::ui {

/// A box in the pixel coordinates of the shown image.
struct OverlayBox {
    QRectF rect;
    QColor color;
    QString label;
    bool truth = false;     ///< ground truth: dashed, label below the box
    bool highlight = false; ///< found by this model only: drawn with a white halo
    bool selected = false;  ///< picked in the detections table: drawn thicker
};

class DetectionView : public QWidget {
    Q_OBJECT
public:
    explicit DetectionView(QWidget* parent = nullptr);

    void setImage(const QImage& image);
    /// An image size to use when the image itself cannot be shown (boxes still draw).
    void setImageSize(const QSize& size);
    void setBoxes(const QVector<OverlayBox>& boxes);
    const QVector<OverlayBox>& boxes() const { return boxes_; }
    /// Text shown in the middle when there is nothing to show, and in a corner otherwise.
    void setNote(const QString& note);
    QString note() const { return note_; }

    /// Screen pixels per image pixel.
    double zoom() const { return zoom_; }
    /// The image point at the centre of the widget.
    QPointF center() const { return center_; }
    bool isFitted() const { return fitted_; }
    /// Sets zoom and centre (without emitting viewportChanged).
    void setViewport(double zoom, const QPointF& center, bool fitted);
    /// Shows the whole image.
    void fit();
    /// Zooms by `factor` keeping the image point under `anchor` (widget coordinates) in place.
    void zoomBy(double factor, const QPointF& anchor);
    void zoomBy(double factor) { zoomBy(factor, QPointF(width() / 2.0, height() / 2.0)); }

    QPointF toWidget(const QPointF& imagePoint) const;
    QPointF toImage(const QPointF& widgetPoint) const;

Q_SIGNALS:
    void viewportChanged(double zoom, const QPointF& center, bool fitted);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void applyFit();
    void emitViewport();
    QSizeF imageSize() const;

    QImage image_;
    QSize imageSize_;
    QVector<OverlayBox> boxes_;
    QString note_;
    double zoom_ = 1.0;
    QPointF center_;
    bool fitted_ = true;
    bool dragging_ = false;
    QPointF dragStart_;
    QPointF dragCenter_;
};

} // namespace tyq::ui
