// One of the studio's three workspaces (Quantize, Train, Inspect), as Qt Creator's modes: a
// window of its own with a central panel and docks around it, whose dock layout is saved per
// user under its name and can be reset to the one it was built with.
#pragma once

#include <QByteArray>
#include <QList>
#include <QMainWindow>
#include <QPointer>
#include <QString>
#include <QStringList>

class QDockWidget;

namespace tyq::ui {

class Workspace : public QMainWindow {
    Q_OBJECT
public:
    /// `name` keys the saved layout ("quantize", "train", "inspect"); `title` is the mode bar's.
    Workspace(const QString& name, const QString& title, QWidget* central, QWidget* parent = nullptr);

    QString name() const { return objectName(); }
    QString title() const { return title_; }

    /// Adds a dock (its object name keys the saved layout).
    QDockWidget* addPanel(const QString& title, const QString& name, QWidget* widget, Qt::DockWidgetArea area);

    /// Remembers the layout as built (resetLayout's target), then restores the user's saved one.
    void finishLayout();
    void saveLayout() const;
    void resetLayout();

    /// A widget this workspace is for (the table, the plots, the views): the layout check
    /// requires it shown whole, at least `minWidth` x `minHeight`.
    void addKeyWidget(QWidget* widget, int minWidth = 60, int minHeight = 20);
    /// What the layout check finds wrong in the window as it is now shown: key widgets hidden,
    /// cut off by the window's edge, or squeezed below their minimum. Empty when all is well.
    QStringList layoutProblems() const;

private:
    struct KeyWidget {
        QPointer<QWidget> widget;
        int minWidth, minHeight;
    };
    QString title_;
    QByteArray builtLayout_;
    QList<KeyWidget> keyWidgets_;
};

} // namespace tyq::ui
