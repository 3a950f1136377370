#include "frozen_column_table.h"

#include <QHeaderView>
#include <QScrollBar>

namespace tyq::ui {

FrozenColumnTable::FrozenColumnTable(int frozenColumns, QWidget* parent)
    : QTableView(parent), frozenColumns_(frozenColumns), frozen_(new QTableView(this))
{
    frozen_->setObjectName("frozenColumn");
    frozen_->setFocusPolicy(Qt::NoFocus);
    frozen_->verticalHeader()->hide();
    frozen_->horizontalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    frozen_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    frozen_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    frozen_->setVerticalScrollMode(ScrollPerPixel);
    frozen_->setStyleSheet("QTableView { border: none; border-right: 1px solid palette(mid); }");
    setHorizontalScrollMode(ScrollPerPixel);
    setVerticalScrollMode(ScrollPerPixel);
    viewport()->stackUnder(frozen_);

    connect(horizontalHeader(), &QHeaderView::sectionResized, this, [this](int section, int, int size) {
        if (section < frozenColumns_) {
            frozen_->setColumnWidth(section, size);
            updateFrozenGeometry();
        }
    });
    connect(verticalHeader(), &QHeaderView::sectionResized, this,
            [this](int section, int, int size) { frozen_->setRowHeight(section, size); });
    connect(frozen_->verticalScrollBar(), &QAbstractSlider::valueChanged, verticalScrollBar(), &QAbstractSlider::setValue);
    connect(verticalScrollBar(), &QAbstractSlider::valueChanged, frozen_->verticalScrollBar(), &QAbstractSlider::setValue);
}

void FrozenColumnTable::setModel(QAbstractItemModel* model)
{
    QTableView::setModel(model);
    frozen_->setModel(model);
    frozen_->setSelectionModel(selectionModel());
    // The table's context menu on the layer names too.
    frozen_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(frozen_, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        Q_EMIT customContextMenuRequested(viewport()->mapFromGlobal(frozen_->viewport()->mapToGlobal(pos)));
    });
    auto hideColumns = [this] {
        for (int c = 0; c < frozen_->model()->columnCount(); ++c) {
            frozen_->setColumnHidden(c, c >= frozenColumns_);
            if (c < frozenColumns_)
                frozen_->setColumnWidth(c, columnWidth(c));
        }
    };
    connect(model, &QAbstractItemModel::columnsInserted, this, hideColumns);
    connect(model, &QAbstractItemModel::modelReset, this, hideColumns);
    hideColumns();
    frozen_->verticalHeader()->setDefaultSectionSize(verticalHeader()->defaultSectionSize());
    frozen_->show();
    updateFrozenGeometry();
}

void FrozenColumnTable::resizeEvent(QResizeEvent* event)
{
    QTableView::resizeEvent(event);
    updateFrozenGeometry();
}

QModelIndex FrozenColumnTable::moveCursor(CursorAction cursorAction, Qt::KeyboardModifiers modifiers)
{
    // Moving left under the frozen column scrolls the covered cell into view.
    const QModelIndex current = QTableView::moveCursor(cursorAction, modifiers);
    if (cursorAction == MoveLeft && current.column() >= frozenColumns_ && visualRect(current).topLeft().x() < frozenWidth())
        horizontalScrollBar()->setValue(horizontalScrollBar()->value() + visualRect(current).topLeft().x() - frozenWidth());
    return current;
}

int FrozenColumnTable::frozenWidth() const
{
    int width = 0;
    for (int c = 0; c < frozenColumns_; ++c)
        width += columnWidth(c);
    return width;
}

void FrozenColumnTable::updateFrozenGeometry()
{
    frozen_->verticalHeader()->setDefaultSectionSize(verticalHeader()->defaultSectionSize());
    frozen_->setGeometry(verticalHeader()->width() + frameWidth(), frameWidth(), frozenWidth() + 1,
                         viewport()->height() + horizontalHeader()->height());
}

} // namespace tyq::ui
