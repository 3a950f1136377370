#include "quant_editor.h"

#include "frozen_column_table.h"

#include "quant_table_model.h"
#include "studio_settings.h"
#include "ui_utils.h"

#include <QAction>
#include <QApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QMouseEvent>
#include <QPainter>
#include <QSpinBox>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

#include <algorithm>
#include <functional>

namespace tyq::ui {
namespace {

const char* const kBuiltInName = "lsq-3bit.yaml";

/// Bit-width spin box: 0 shows as "off"; with a symmetric range, 1 bit is skipped and refused.
/// A key that cannot make a bit-width is dropped, and `refusedText` says which and why.
class BitSpinBox : public QSpinBox {
public:
    BitSpinBox(std::function<void(const QString&)> refusedText, QWidget* parent)
        : QSpinBox(parent), refusedText_(std::move(refusedText))
    {
        setRange(0, 16);
        setSpecialValueText(QObject::tr("off"));
        setAlignment(Qt::AlignCenter);
        setFrame(false);
    }
    void setSymmetric(bool symmetric)
    {
        symmetric_ = symmetric;
        setToolTip(symmetric ? QObject::tr("0 (off) or 2..16 bits: a symmetric 1-bit range has a single level")
                             : QObject::tr("0 (off) to 16 bits"));
    }
    void stepBy(int steps) override
    {
        int v = std::clamp(value() + steps, minimum(), maximum());
        if (symmetric_ && v == 1)
            v = steps > 0 ? 2 : 0;
        setValue(v);
    }
    QValidator::State validate(QString& text, int& pos) const override
    {
        const QValidator::State state = QSpinBox::validate(text, pos);
        if (symmetric_ && state == QValidator::Acceptable && valueFromText(text) == 1)
            return QValidator::Intermediate; // "1" may still become 10..16
        if (state == QValidator::Invalid && refusedText_)
            refusedText_(text);
        return state;
    }

private:
    bool symmetric_ = false;
    std::function<void(const QString&)> refusedText_;
};

/// Bits through BitSpinBox, flags as centred check boxes (greyed where the combination is
/// invalid), size and bit-operation shares as small bars.
class QuantDelegate : public QStyledItemDelegate {
public:
    QuantDelegate(std::function<void(const QModelIndex&)> refused, std::function<void(const QString&)> hint,
                  QObject* parent)
        : QStyledItemDelegate(parent), refused_(std::move(refused)), hint_(std::move(hint))
    {
    }

    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override
    {
        if (!QuantTableModel::isBitsColumn(index.column()))
            return QStyledItemDelegate::createEditor(parent, option, index);
        return new BitSpinBox(
            [hint = hint_](const QString& text) {
                hint(QObject::tr("\u201c%1\u201d is not a bit-width: type 0 (off) to 16 (2 to 16 for a symmetric range)")
                         .arg(text));
            },
            parent);
    }
    void setEditorData(QWidget* editor, const QModelIndex& index) const override
    {
        auto* box = dynamic_cast<BitSpinBox*>(editor);
        if (!box)
            return QStyledItemDelegate::setEditorData(editor, index);
        const int symmetricColumn =
            index.column() == QuantTableModel::kWeightBits ? QuantTableModel::kWeightSymmetric : QuantTableModel::kActSymmetric;
        box->setSymmetric(index.siblingAtColumn(symmetricColumn).data(Qt::CheckStateRole).toInt() == Qt::Checked);
        box->setValue(index.data(Qt::EditRole).toInt());
    }
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override
    {
        auto* box = dynamic_cast<BitSpinBox*>(editor);
        if (!box)
            return QStyledItemDelegate::setModelData(editor, model, index);
        box->interpretText();
        model->setData(index, box->value(), Qt::EditRole);
    }

    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override
    {
        const int column = index.column();
        const bool share = column == QuantTableModel::kSizeShare || column == QuantTableModel::kBitOpsShare;
        if (!QuantTableModel::isCheckColumn(column) && !(share && index.data(QuantTableModel::ShareBarRole).isValid()))
            return QStyledItemDelegate::paint(painter, option, index);

        QStyleOptionViewItem opt(option);
        initStyleOption(&opt, index);
        const QWidget* widget = opt.widget;
        QStyle* style = widget ? widget->style() : QApplication::style();
        const QString text = opt.text;
        const bool checked = opt.checkState == Qt::Checked;
        opt.text.clear();
        opt.features &= ~QStyleOptionViewItem::HasCheckIndicator;
        style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

        if (share) {
            QRect bar = opt.rect.adjusted(3, 4, -3, -4);
            bar.setWidth(static_cast<int>(bar.width() * index.data(QuantTableModel::ShareBarRole).toDouble()));
            painter->fillRect(bar, QColor(70, 130, 220, 90));
            painter->setPen(opt.palette.color((opt.state & QStyle::State_Selected) ? QPalette::HighlightedText : QPalette::Text));
            painter->drawText(opt.rect.adjusted(3, 0, -5, 0), Qt::AlignRight | Qt::AlignVCenter, text);
            return;
        }
        QStyleOptionViewItem indicator(opt);
        indicator.rect = checkRect(opt);
        indicator.state &= ~(QStyle::State_HasFocus | QStyle::State_On | QStyle::State_Off | QStyle::State_NoChange);
        indicator.state |= checked ? QStyle::State_On : QStyle::State_Off;
        if (!(index.flags() & Qt::ItemIsUserCheckable))
            indicator.state &= ~QStyle::State_Enabled;
        style->drawPrimitive(QStyle::PE_IndicatorItemViewItemCheck, &indicator, painter, widget);
    }

    bool editorEvent(QEvent* event, QAbstractItemModel* model, const QStyleOptionViewItem& option,
                     const QModelIndex& index) override
    {
        if (!QuantTableModel::isCheckColumn(index.column()))
            return QStyledItemDelegate::editorEvent(event, model, option, index);
        const QEvent::Type type = event->type();
        if (type == QEvent::MouseButtonPress || type == QEvent::MouseButtonRelease || type == QEvent::MouseButtonDblClick) {
            const auto* mouse = static_cast<QMouseEvent*>(event);
            QStyleOptionViewItem opt(option);
            initStyleOption(&opt, index);
            if (mouse->button() != Qt::LeftButton || !checkRect(opt).contains(mouse->position().toPoint()))
                return false;
            if (type != QEvent::MouseButtonRelease)
                return true; // the release toggles
        } else if (type == QEvent::KeyPress) {
            const int key = static_cast<QKeyEvent*>(event)->key();
            if (key != Qt::Key_Space && key != Qt::Key_Select)
                return false;
        } else {
            return false;
        }
        if (!(model->flags(index) & Qt::ItemIsUserCheckable)) {
            refused_(index);
            return true;
        }
        const bool checked = index.data(Qt::CheckStateRole).toInt() == Qt::Checked;
        model->setData(index, checked ? Qt::Unchecked : Qt::Checked, Qt::CheckStateRole);
        return true;
    }

private:
    static QRect checkRect(const QStyleOptionViewItem& opt)
    {
        QStyleOptionViewItem o(opt);
        o.features |= QStyleOptionViewItem::HasCheckIndicator;
        const QWidget* widget = opt.widget;
        QStyle* style = widget ? widget->style() : QApplication::style();
        const QSize size = style->subElementRect(QStyle::SE_ItemViewItemCheckIndicator, &o, widget).size();
        return QStyle::alignedRect(opt.direction, Qt::AlignCenter, size, opt.rect);
    }

    std::function<void(const QModelIndex&)> refused_;
    std::function<void(const QString&)> hint_;
};

QStringList toStringList(const std::vector<std::string>& lines)
{
    QStringList out;
    for (const std::string& line : lines)
        out << QString::fromStdString(line);
    return out;
}

} // namespace

QuantEditor::QuantEditor(QWidget* parent) : QWidget(parent), undoStack_(new QUndoStack(this))
{
    model_ = new QuantTableModel(undoStack_, this);
    model_->setConfig(defaultQuantConfig());

    view_ = new FrozenColumnTable(2, this); // the index and the layer name stay when the bit columns scroll
    view_->setObjectName("quantTable");
    view_->setModel(model_);
    view_->setItemDelegate(new QuantDelegate(
        [this](const QModelIndex& index) { setHint(index.data(Qt::ToolTipRole).toString().section('\n', 1, 1)); },
        [this](const QString& text) { setHint(text); }, view_));
    view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                           QAbstractItemView::AnyKeyPressed | QAbstractItemView::SelectedClicked);
    view_->setSelectionBehavior(QAbstractItemView::SelectItems);
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view_->verticalHeader()->hide();
    view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 10);
    view_->horizontalHeader()->setHighlightSections(false);
    view_->setContextMenuPolicy(Qt::CustomContextMenu);
    view_->setWordWrap(false);
    view_->setToolTip(tr("F2 or typing edits a bit-width, Space toggles a check box, Delete resets an overridden "
                         "cell (or, on a layer's name, the whole layer) to the defaults"));

    openAction_ = new QAction(QIcon::fromTheme("document-open", style()->standardIcon(QStyle::SP_DialogOpenButton)),
                              tr("&Open bit-widths…"), this);
    openAction_->setToolTip(tr("Open a bit-width YAML (quan_default and excepts)"));
    saveAction_ = new QAction(QIcon::fromTheme("document-save", style()->standardIcon(QStyle::SP_DialogSaveButton)),
                              tr("&Save bit-widths"), this);
    saveAsAction_ = new QAction(tr("Save bit-widths &as…"), this);
    undoAction_ = undoStack_->createUndoAction(this, tr("&Undo"));
    undoAction_->setIcon(QIcon::fromTheme("edit-undo", style()->standardIcon(QStyle::SP_ArrowBack)));
    undoAction_->setShortcuts(QKeySequence::Undo);
    redoAction_ = undoStack_->createRedoAction(this, tr("&Redo"));
    redoAction_->setIcon(QIcon::fromTheme("edit-redo", style()->standardIcon(QStyle::SP_ArrowForward)));
    redoAction_->setShortcuts(QKeySequence::Redo);
    // Scoped to the editor so other panels' undo (line edits, other documents) never collide.
    for (QAction* a : {undoAction_, redoAction_}) {
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(a);
    }
    resetAction_ = new QAction(QIcon::fromTheme("edit-clear", style()->standardIcon(QStyle::SP_DialogResetButton)),
                               tr("Reset to &default"), this);
    resetAction_->setToolTip(tr("Reset the selected overridden cells (or, with a layer's name selected, the whole "
                                "layer) to the defaults (Delete)"));
    resetAction_->setShortcut(QKeySequence::Delete);
    resetAction_->setShortcutContext(Qt::WidgetShortcut);
    view_->addAction(resetAction_);

    // Short labels on the toolbar; the menus show the full texts.
    openAction_->setIconText(tr("Open…"));
    saveAction_->setIconText(tr("Save"));
    saveAsAction_->setIconText(tr("Save as…"));
    resetAction_->setIconText(tr("Reset"));

    auto* toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->setIconSize(QSize(16, 16));
    toolbar->addAction(openAction_);
    toolbar->addAction(saveAction_);
    toolbar->addAction(saveAsAction_);
    toolbar->addSeparator();
    for (QAction* a : {undoAction_, redoAction_}) { // icon only: their text names the command
        auto* button = new QToolButton(toolbar);
        button->setDefaultAction(a);
        button->setToolButtonStyle(Qt::ToolButtonIconOnly);
        button->setAutoRaise(true);
        toolbar->addWidget(button);
    }
    toolbar->addSeparator();
    toolbar->addAction(resetAction_);
    if (auto* b = qobject_cast<QToolButton*>(toolbar->widgetForAction(resetAction_)))
        b->setObjectName("quantResetButton");

    fileLabel_ = new QLabel(this);
    fileLabel_->setObjectName("quantFileLabel");
    fileLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    warningsLabel_ = new QLabel(this);
    warningsLabel_->setObjectName("quantWarnings");
    warningsLabel_->setWordWrap(true);
    warningsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    warningsLabel_->setStyleSheet("QLabel { background: #fff3cd; color: #664d03; border: 1px solid #ffda6a; "
                                  "border-radius: 3px; padding: 4px; }");
    warningsLabel_->hide();
    hintLabel_ = new QLabel(this);
    hintLabel_->setObjectName("quantHint");
    hintLabel_->setWordWrap(true);
    hintLabel_->setStyleSheet("QLabel { color: #b02a37; }");
    hintLabel_->hide();
    totalsLabel_ = new QLabel(this);
    totalsLabel_->setObjectName("quantTotals");
    totalsLabel_->setWordWrap(true);
    totalsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    auto* top = new QHBoxLayout;
    top->addWidget(toolbar);
    top->addStretch();
    top->addWidget(fileLabel_);
    layout->addLayout(top);
    layout->addWidget(warningsLabel_);
    layout->addWidget(view_, 1);
    layout->addWidget(hintLabel_);
    layout->addWidget(totalsLabel_);

    connect(openAction_, &QAction::triggered, this, [this] {
        if (!maybeSave())
            return;
        const QString start = filePath_.isEmpty() ? settings::lastDirectory.get() : QFileInfo(filePath_).absolutePath();
        const QString path = QFileDialog::getOpenFileName(this, tr("Open bit-widths"), start,
                                                          tr("Bit-widths (*.yaml *.yml);;All files (*)"));
        if (path.isEmpty())
            return;
        settings::lastDirectory.set(QFileInfo(path).absolutePath());
        openFile(path);
    });
    connect(saveAction_, &QAction::triggered, this, [this] { save(); });
    connect(saveAsAction_, &QAction::triggered, this, [this] {
        const QString start = filePath_.isEmpty() ? settings::lastDirectory.get() : filePath_;
        QString path = QFileDialog::getSaveFileName(this, tr("Save bit-widths"), start, tr("Bit-widths (*.yaml *.yml)"));
        if (path.isEmpty())
            return;
        if (QFileInfo(path).suffix().isEmpty())
            path += ".yaml";
        settings::lastDirectory.set(QFileInfo(path).absolutePath());
        saveAs(path);
    });
    connect(resetAction_, &QAction::triggered, this, &QuantEditor::resetSelection);
    connect(view_, &QTableView::customContextMenuRequested, this, &QuantEditor::showContextMenu);
    connect(undoStack_, &QUndoStack::cleanChanged, this, [this](bool clean) {
        updateFileLabel();
        Q_EMIT modifiedChanged(!clean);
    });
    connect(model_, &QuantTableModel::configChanged, this, [this] {
        setHint({});
        updateTotals();
        Q_EMIT configChanged();
    });
    connect(model_, &QuantTableModel::editRejected, this, [this](const QString& why) { setHint(why); });

    setNetwork(defaultNetworkSpec());
    updateFileLabel();
}

QAbstractItemModel* QuantEditor::model() const
{
    return model_;
}

QuantConfig QuantEditor::config() const
{
    return model_->config();
}

const NetworkSummary& QuantEditor::summary() const
{
    return model_->summary();
}

bool QuantEditor::isModified() const
{
    return !undoStack_->isClean();
}

void QuantEditor::setNetwork(const NetworkSpec& spec, int width, int height)
{
    try {
        model_->setNetwork(spec, width, height);
    } catch (const std::exception& e) {
        const QString why = QString::fromUtf8(e.what());
        showError(this, tr("Cannot show the network's layers"), why);
        Q_EMIT message(LogLevel::error, why);
        return;
    }
    view_->resizeColumnsToContents();
    for (int column : {int(QuantTableModel::kSizeShare), int(QuantTableModel::kBitOpsShare)})
        view_->setColumnWidth(column, std::max(view_->columnWidth(column), 72));
    const QString source = filePath_.isEmpty() ? QString("<built-in %1>").arg(kBuiltInName) : filePath_;
    try {
        showWarnings(toStringList(checkQuantConfigAgainst(model_->config(), model_->convModuleNames(), source.toStdString())),
                     false);
    } catch (const std::exception& e) {
        showWarnings({QString::fromUtf8(e.what())}, false);
    }
    updateTotals();
}

void QuantEditor::setConfig(const QuantConfig& config, const QString& path)
{
    const QString source = path.isEmpty() ? QString("<built-in %1>").arg(kBuiltInName) : path;
    QStringList warnings;
    try {
        warnings = toStringList(checkQuantConfigAgainst(config, model_->convModuleNames(), source.toStdString()));
        model_->validate(config);
    } catch (const std::exception& e) {
        const QString why = QString::fromUtf8(e.what());
        showError(this, tr("Cannot use these bit-widths"), why);
        Q_EMIT message(LogLevel::error, why);
        return;
    }
    model_->setConfig(config);
    undoStack_->clear();
    const bool pathChanged = path != filePath_;
    filePath_ = path;
    updateFileLabel();
    showWarnings(warnings);
    if (pathChanged)
        Q_EMIT filePathChanged(filePath_);
}

bool QuantEditor::openFile(const QString& path)
{
    QuantConfig config;
    try {
        config = loadQuantConfig(toPath(path));
        checkQuantConfigAgainst(config, model_->convModuleNames(), path.toStdString());
        model_->validate(config);
    } catch (const std::exception& e) {
        QString why = QString::fromUtf8(e.what());
        if (!why.contains(path))
            why = path + ": " + why;
        showError(this, tr("Cannot open bit-widths"), why);
        Q_EMIT message(LogLevel::error, why);
        return false;
    }
    setConfig(config, path);
    Q_EMIT message(LogLevel::info, tr("Opened bit-widths %1").arg(path));
    return true;
}

bool QuantEditor::save()
{
    if (filePath_.isEmpty()) { // the built-in file is never written: ask for a new one
        saveAsAction_->trigger();
        return !filePath_.isEmpty() && !isModified();
    }
    return saveAs(filePath_);
}

bool QuantEditor::saveAs(const QString& path)
{
    try {
        saveQuantConfig(model_->config(), toPath(path));
    } catch (const std::exception& e) {
        const QString why = QString::fromUtf8(e.what());
        showError(this, tr("Cannot save bit-widths"), why);
        Q_EMIT message(LogLevel::error, why);
        return false;
    }
    const bool pathChanged = path != filePath_;
    filePath_ = path;
    undoStack_->setClean();
    updateFileLabel();
    if (pathChanged)
        Q_EMIT filePathChanged(filePath_);
    Q_EMIT message(LogLevel::info, tr("Saved bit-widths to %1").arg(path));
    return true;
}

bool QuantEditor::maybeSave()
{
    if (!isModified())
        return true;
    const QString name = filePath_.isEmpty() ? tr("built-in %1").arg(kBuiltInName) : QFileInfo(filePath_).fileName();
    const auto answer = QMessageBox::warning(this, tr("Unsaved bit-widths"),
                                             tr("The bit-widths (%1) have unsaved changes. Save them?").arg(name),
                                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Save)
        return save();
    return answer == QMessageBox::Discard;
}

bool QuantEditor::resetSelection()
{
    QModelIndexList selected = view_->selectionModel()->selectedIndexes();
    if (selected.isEmpty() && view_->currentIndex().isValid())
        selected << view_->currentIndex();
    QModelIndexList cells;
    for (const QModelIndex& index : selected)
        if (model_->isOverridden(index))
            cells << index;
    if (!cells.isEmpty())
        return model_->resetCells(cells); // a refusal shows its reason (editRejected)
    if (resetRowsOf(selected))
        return true;
    setHint(tr("Nothing to reset: the selected cells follow the defaults"));
    return false;
}

bool QuantEditor::resetRowsOf(const QModelIndexList& indexes)
{
    // A layer's descriptive cells (index, name, shapes) stand for the whole layer.
    QList<int> rows;
    for (const QModelIndex& index : indexes)
        if (!QuantTableModel::quantFieldOf(index.column()) && model_->rowHasOverride(index.row()))
            rows << index.row();
    return !rows.isEmpty() && model_->resetRows(rows);
}

void QuantEditor::showContextMenu(const QPoint& pos)
{
    const QModelIndex index = view_->indexAt(pos);
    if (!index.isValid())
        return;
    QMenu menu(this);
    QAction* cell = menu.addAction(tr("Reset this cell to the default"), this, [this, index] { model_->resetCells({index}); });
    cell->setEnabled(model_->isOverridden(index));
    const QString layer = index.siblingAtColumn(QuantTableModel::kIndex).data().toString();
    QAction* row = menu.addAction(tr("Reset layer %1 to the defaults").arg(layer), this,
                                  [this, index] { model_->resetRows({index.row()}); });
    row->setEnabled(model_->rowHasOverride(index.row()));
    row->setVisible(index.row() != QuantTableModel::kDefaultsRow);
    menu.addSeparator();
    menu.addAction(undoAction_);
    menu.addAction(redoAction_);
    menu.exec(view_->viewport()->mapToGlobal(pos));
}

bool QuantEditor::applyBitWidths(const QuantConfig& config, const QString& text)
{
    return model_->pushEdit(config, text);
}

void QuantEditor::updateTotals()
{
    const NetworkSummary& s = model_->summary();
    if (s.layers.empty()) {
        totalsLabel_->clear();
        return;
    }
    const double mib = 8.0 * 1024 * 1024;
    const double fewer = s.bitOps > 0 ? double(s.bitOpsFp32) / double(s.bitOps) : 1.0;
    totalsLabel_->setText(
        tr("<b>Model size</b> %1 MiB at these bit-widths vs %2 MiB fp32 (<b>%3x</b> smaller)"
           " &nbsp;·&nbsp; <b>Bit-operations</b> %4 G vs %5 G at 32x32 (<b>%6x</b> fewer; image input at %11 bits)"
           " &nbsp;·&nbsp; %7 GMAC per %8x%9 image, %10 parameters")
            .arg(s.sizeBitsQuantized / mib, 0, 'f', 3)
            .arg(s.sizeBitsFp32 / mib, 0, 'f', 3)
            .arg(s.compression(), 0, 'f', 2)
            .arg(s.bitOps / 1e9, 0, 'f', 3)
            .arg(s.bitOpsFp32 / 1e9, 0, 'f', 1)
            .arg(fewer, 0, 'f', 1)
            .arg(s.macs / 1e9, 0, 'f', 3)
            .arg(s.inputWidth)
            .arg(s.inputHeight)
            .arg(QString("%L1").arg(qlonglong(s.parameters)))
            .arg(s.imageBits));
}

void QuantEditor::updateFileLabel()
{
    const QString name = filePath_.isEmpty() ? tr("%1 (built-in)").arg(kBuiltInName) : QFileInfo(filePath_).fileName();
    fileLabel_->setText(tr("Bit-widths: <b>%1</b>%2").arg(name.toHtmlEscaped(), isModified() ? " *" : ""));
    fileLabel_->setToolTip(filePath_.isEmpty() ? tr("The reference's default, embedded in tyq; saving asks for a file")
                                               : QFileInfo(filePath_).absoluteFilePath());
}

void QuantEditor::showWarnings(const QStringList& warnings, bool log)
{
    warnings_ = warnings;
    QStringList html;
    for (const QString& w : warnings)
        html << "⚠ " + w.toHtmlEscaped();
    warningsLabel_->setText(html.join("<br>"));
    warningsLabel_->setVisible(!warnings.isEmpty());
    if (log)
        for (const QString& w : warnings)
            Q_EMIT message(LogLevel::warning, w);
}

void QuantEditor::setHint(const QString& text)
{
    hintLabel_->setText(text);
    hintLabel_->setVisible(!text.isEmpty());
}

} // namespace tyq::ui
