// A table whose first columns stay in place when the others scroll sideways (the layer index
// and name of the bit-width table): a second view showing only those columns lies over the
// left edge and shares the model, the selection and the vertical scrolling.
#pragma once

#include <QTableView>

namespace tyq::ui {

class FrozenColumnTable : public QTableView {
    Q_OBJECT
public:
    /// `frozenColumns`: how many leading columns stay in place.
    explicit FrozenColumnTable(int frozenColumns = 1, QWidget* parent = nullptr);

    void setModel(QAbstractItemModel* model) override;
    /// The overlay view of the frozen columns (for tests).
    QTableView* frozenView() const { return frozen_; }

protected:
    void resizeEvent(QResizeEvent* event) override;
    QModelIndex moveCursor(CursorAction cursorAction, Qt::KeyboardModifiers modifiers) override;

private:
    void updateFrozenGeometry();
    int frozenWidth() const;

    int frozenColumns_;
    QTableView* frozen_;
};

} // namespace tyq::ui
