#include "workspace.h"

#include "studio_settings.h"

#include <QDockWidget>

namespace tyq::ui {

namespace {

QString layoutKey(const QString& name)
{
    return "workspaces/" + name + "/layout";
}

constexpr int kLayoutVersion = 1; // bump when a workspace's docks change, so old layouts are dropped

} // namespace

Workspace::Workspace(const QString& name, const QString& title, QWidget* central, QWidget* parent)
    : QMainWindow(parent), title_(title)
{
    setObjectName(name);
    setWindowFlags(Qt::Widget); // a page of the main window, not a window of its own
    setDockNestingEnabled(true);
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
    setCentralWidget(central);
}

QDockWidget* Workspace::addPanel(const QString& title, const QString& name, QWidget* widget, Qt::DockWidgetArea area)
{
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(name);
    dock->setWidget(widget);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetFloatable);
    addDockWidget(area, dock);
    return dock;
}

void Workspace::finishLayout()
{
    builtLayout_ = saveState(kLayoutVersion);
    const QByteArray saved = studioSettings().value(layoutKey(name())).toByteArray();
    if (!saved.isEmpty())
        restoreState(saved, kLayoutVersion);
}

void Workspace::saveLayout() const
{
    studioSettings().setValue(layoutKey(name()), saveState(kLayoutVersion));
    scheduleSettingsSync();
}

void Workspace::addKeyWidget(QWidget* widget, int minWidth, int minHeight)
{
    keyWidgets_.push_back({widget, minWidth, minHeight});
}

QStringList Workspace::layoutProblems() const
{
    QStringList problems;
    const QWidget* top = window();
    const QRect inside = top->rect();
    for (const KeyWidget& k : keyWidgets_) {
        if (!k.widget)
            continue;
        const QString name = k.widget->objectName().isEmpty() ? k.widget->metaObject()->className() : k.widget->objectName();
        if (!k.widget->isVisibleTo(top) || !k.widget->isVisible()) {
            problems << QString("%1: %2 is not shown").arg(title_, name);
            continue;
        }
        const QRect r(k.widget->mapTo(top, QPoint(0, 0)), k.widget->size());
        // Cut off by a parent (a scroll area's viewport, a dock too narrow) or by the window.
        QRect shown = r & inside;
        const QWidget* clipper = nullptr;
        for (const QWidget* p = k.widget->parentWidget(); p && p != top; p = p->parentWidget()) {
            const QRect parentRect(p->mapTo(top, QPoint(0, 0)), p->size());
            if (!parentRect.contains(shown) && !clipper)
                clipper = p;
            shown &= parentRect;
        }
        if (clipper && inside.contains(r))
            problems << QString("%1: %2 is cut off by %3 (%4x%5 of %6x%7 shown)")
                            .arg(title_, name,
                                 clipper->objectName().isEmpty() ? clipper->metaObject()->className() : clipper->objectName())
                            .arg(shown.width())
                            .arg(shown.height())
                            .arg(r.width())
                            .arg(r.height());
        if (!inside.contains(r))
            problems << QString("%1: %2 at %3,%4 %5x%6 reaches past the window (%7x%8)")
                            .arg(title_, name)
                            .arg(r.x())
                            .arg(r.y())
                            .arg(r.width())
                            .arg(r.height())
                            .arg(inside.width())
                            .arg(inside.height());
        if (r.width() < k.minWidth || r.height() < k.minHeight)
            problems << QString("%1: %2 is squeezed to %3x%4 (needs %5x%6)")
                            .arg(title_, name)
                            .arg(r.width())
                            .arg(r.height())
                            .arg(k.minWidth)
                            .arg(k.minHeight);
    }
    return problems;
}

void Workspace::resetLayout()
{
    restoreState(builtLayout_, kLayoutVersion);
    for (QDockWidget* dock : findChildren<QDockWidget*>(QString(), Qt::FindDirectChildrenOnly))
        dock->show();
    saveLayout();
}

} // namespace tyq::ui
