#include "detection_view.h"

#include <QFontMetricsF>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace tyq::ui {
namespace {

constexpr double kMinZoom = 0.02;
constexpr double kMaxZoom = 64.0;

QColor textColorOn(const QColor& background)
{
    const double luminance = 0.299 * background.redF() + 0.587 * background.greenF() + 0.114 * background.blueF();
    return luminance > 0.55 ? Qt::black : Qt::white;
}

} // namespace

DetectionView::DetectionView(QWidget* parent) : QWidget(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setCursor(Qt::OpenHandCursor);
    setToolTip(tr("Wheel or +/- zooms, drag pans, 0 or F fits"));
}

void DetectionView::setImage(const QImage& image)
{
    const bool sizeChanged = image.size() != imageSize_;
    image_ = image;
    if (!image.isNull())
        imageSize_ = image.size();
    if (sizeChanged || fitted_)
        applyFit();
    update();
}

void DetectionView::setImageSize(const QSize& size)
{
    if (size == imageSize_ || size.isEmpty())
        return;
    imageSize_ = size;
    if (fitted_ || image_.isNull())
        applyFit();
    update();
}

void DetectionView::setBoxes(const QVector<OverlayBox>& boxes)
{
    boxes_ = boxes;
    update();
}

void DetectionView::setNote(const QString& note)
{
    note_ = note;
    update();
}

QSizeF DetectionView::imageSize() const
{
    return imageSize_.isEmpty() ? QSizeF(1, 1) : QSizeF(imageSize_);
}

void DetectionView::applyFit()
{
    const QSizeF size = imageSize();
    const double zx = std::max(1, width() - 8) / size.width();
    const double zy = std::max(1, height() - 8) / size.height();
    zoom_ = std::clamp(std::min(zx, zy), kMinZoom, kMaxZoom);
    center_ = QPointF(size.width() / 2.0, size.height() / 2.0);
    fitted_ = true;
}

void DetectionView::fit()
{
    applyFit();
    update();
    emitViewport();
}

void DetectionView::setViewport(double zoom, const QPointF& center, bool fitted)
{
    if (fitted) {
        applyFit();
    } else {
        zoom_ = std::clamp(zoom, kMinZoom, kMaxZoom);
        center_ = center;
        fitted_ = false;
    }
    update();
}

void DetectionView::zoomBy(double factor, const QPointF& anchor)
{
    const QPointF before = toImage(anchor);
    zoom_ = std::clamp(zoom_ * factor, kMinZoom, kMaxZoom);
    // Keep `before` under the anchor: anchor = (before - center) * zoom + widgetCenter.
    const QPointF widgetCenter(width() / 2.0, height() / 2.0);
    center_ = before - (anchor - widgetCenter) / zoom_;
    fitted_ = false;
    update();
    emitViewport();
}

void DetectionView::emitViewport()
{
    Q_EMIT viewportChanged(zoom_, center_, fitted_);
}

QPointF DetectionView::toWidget(const QPointF& p) const
{
    return (p - center_) * zoom_ + QPointF(width() / 2.0, height() / 2.0);
}

QPointF DetectionView::toImage(const QPointF& p) const
{
    return (p - QPointF(width() / 2.0, height() / 2.0)) / zoom_ + center_;
}

void DetectionView::resizeEvent(QResizeEvent*)
{
    if (fitted_)
        applyFit();
}

void DetectionView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), QColor(40, 40, 44));
    const bool hasImage = !imageSize_.isEmpty();
    if (!hasImage) {
        p.setPen(QColor(200, 200, 200));
        p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap,
                   note_.isEmpty() ? tr("No image") : note_);
        return;
    }

    const QRectF imageRect(toWidget(QPointF(0, 0)), toWidget(QPointF(imageSize_.width(), imageSize_.height())));
    if (!image_.isNull()) {
        // Smooth when shrinking, sharp pixels when zoomed in (to inspect box edges).
        p.setRenderHint(QPainter::SmoothPixmapTransform, zoom_ < 1.0);
        p.drawImage(imageRect, image_);
    } else {
        p.fillRect(imageRect, QColor(70, 70, 70));
    }

    p.setRenderHint(QPainter::Antialiasing, true);
    QFont font = p.font();
    font.setBold(true);
    font.setPointSizeF(std::max(8.0, font.pointSizeF()));
    p.setFont(font);
    const QFontMetricsF metrics(font);

    auto drawLabel = [&](const QString& text, QPointF anchor, bool above, const QColor& color, bool filled) {
        const QSizeF size(metrics.horizontalAdvance(text) + 6, metrics.height() + 2);
        QRectF box(anchor, size);
        if (above)
            box.moveBottom(anchor.y());
        if (box.top() < 0)
            box.moveTop(above ? anchor.y() : 0);
        box.moveLeft(std::clamp(box.left(), 0.0, std::max(0.0, width() - box.width())));
        if (box.bottom() > height())
            box.moveBottom(height());
        if (filled) {
            p.fillRect(box, color);
            p.setPen(textColorOn(color));
        } else {
            p.fillRect(box, QColor(0, 0, 0, 170));
            p.setPen(color);
        }
        p.drawText(box.adjusted(3, 1, -3, -1), Qt::AlignLeft | Qt::AlignVCenter, text);
    };

    // Ground truth first (below the predictions), then predictions, halos under their boxes.
    for (const OverlayBox& b : boxes_) {
        if (!b.truth)
            continue;
        const QRectF r(toWidget(b.rect.topLeft()), toWidget(b.rect.bottomRight()));
        QPen pen(b.color, 2.0, Qt::DashLine);
        pen.setCosmetic(true);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        p.drawRect(r);
        if (!b.label.isEmpty())
            drawLabel(b.label, r.bottomLeft() + QPointF(0, 2), false, b.color, false);
    }
    for (const OverlayBox& b : boxes_) {
        if (b.truth)
            continue;
        const QRectF r(toWidget(b.rect.topLeft()), toWidget(b.rect.bottomRight()));
        p.setBrush(Qt::NoBrush);
        if (b.highlight) {
            QPen halo(QColor(255, 255, 255, 190), 8.0);
            halo.setCosmetic(true);
            p.setPen(halo);
            p.drawRect(r);
        }
        QPen pen(b.color, b.selected ? 4.0 : 2.0);
        pen.setCosmetic(true);
        p.setPen(pen);
        p.drawRect(r);
    }
    for (const OverlayBox& b : boxes_)
        if (!b.truth && !b.label.isEmpty()) {
            const QRectF r(toWidget(b.rect.topLeft()), toWidget(b.rect.bottomRight()));
            drawLabel(b.label, r.topLeft() + QPointF(0, -1), true, b.color, true);
        }

    if (!note_.isEmpty()) {
        p.setRenderHint(QPainter::Antialiasing, false);
        QFont small = font;
        small.setBold(false);
        p.setFont(small);
        const QFontMetricsF m(small);
        const QRectF box(4, height() - m.height() - 6, m.horizontalAdvance(note_) + 8, m.height() + 2);
        p.fillRect(box, QColor(0, 0, 0, 170));
        p.setPen(QColor(230, 230, 230));
        p.drawText(box.adjusted(4, 1, -4, -1), Qt::AlignLeft | Qt::AlignVCenter, note_);
    }
}

void DetectionView::wheelEvent(QWheelEvent* event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (steps != 0)
        zoomBy(std::pow(1.25, steps), event->position());
    event->accept();
}

void DetectionView::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton || event->button() == Qt::MiddleButton) {
        dragging_ = true;
        dragStart_ = event->position();
        dragCenter_ = center_;
        setCursor(Qt::ClosedHandCursor);
        event->accept();
        return;
    }
    QWidget::mousePressEvent(event);
}

void DetectionView::mouseMoveEvent(QMouseEvent* event)
{
    if (!dragging_) {
        QWidget::mouseMoveEvent(event);
        return;
    }
    center_ = dragCenter_ - (event->position() - dragStart_) / zoom_;
    fitted_ = false;
    update();
    emitViewport();
}

void DetectionView::mouseReleaseEvent(QMouseEvent* event)
{
    if (dragging_) {
        dragging_ = false;
        setCursor(Qt::OpenHandCursor);
    }
    QWidget::mouseReleaseEvent(event);
}

void DetectionView::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomBy(1.25);
        break;
    case Qt::Key_Minus:
        zoomBy(0.8);
        break;
    case Qt::Key_0:
    case Qt::Key_F:
        fit();
        break;
    default:
        QWidget::keyPressEvent(event); // image navigation goes to the panel
        return;
    }
    event->accept();
}

} // namespace tyq::ui
