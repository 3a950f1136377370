#include "quantizer_list.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tyq::ui {
namespace {

constexpr int kNameRole = Qt::UserRole; // the quantizer's full name, on child items only

} // namespace

QuantizerKind quantizerKind(const QString& name)
{
    return name.endsWith("quan_w_fn") ? QuantizerKind::weight : QuantizerKind::activation;
}

QString quantizerLabel(const QString& name)
{
    QString module = name;
    module.remove(QRegularExpression(R"(\.quan_[wa]_fn$)"));
    // "module_list.8.conv_8" names conv_8 twice.
    static const QRegularExpression indexed(R"(^module_list\.(\d+)\.(conv_\1)$)");
    if (const QRegularExpressionMatch m = indexed.match(module); m.hasMatch())
        module = m.captured(2);
    return module + (quantizerKind(name) == QuantizerKind::weight ? " w" : " a");
}

QuantizerList::QuantizerList(QWidget* parent) : QWidget(parent)
{
    filter_ = new QLineEdit(this);
    filter_->setObjectName("quantizerFilter");
    filter_->setPlaceholderText(tr("Filter quantizers"));
    filter_->setClearButtonEnabled(true);
    filter_->setToolTip(tr("Show only the quantizers whose name contains this text (All / None act on them)"));
    tree_ = new QTreeWidget(this);
    tree_->setObjectName("quantizerTree");
    tree_->setHeaderHidden(true);
    tree_->setRootIsDecorated(true);
    tree_->setToolTip(tr("Show or hide the step size of each quantizer; a group's box shows or hides all of it"));
    auto makeGroup = [this] {
        auto* item = new QTreeWidgetItem(tree_);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsAutoTristate);
        item->setCheckState(0, Qt::Checked);
        item->setExpanded(true);
        item->setHidden(true); // until it holds a quantizer
        return item;
    };
    weights_ = makeGroup();
    activations_ = makeGroup();
    updateGroupTitles();

    auto* all = new QPushButton(tr("All"), this);
    all->setToolTip(tr("Show every quantizer the filter lists"));
    auto* none = new QPushButton(tr("None"), this);
    none->setToolTip(tr("Hide every quantizer the filter lists"));
    auto* buttons = new QHBoxLayout;
    buttons->setContentsMargins(0, 0, 0, 0);
    buttons->addWidget(all);
    buttons->addWidget(none);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(filter_);
    layout->addWidget(tree_, 1);
    layout->addLayout(buttons);

    connect(filter_, &QLineEdit::textChanged, this, &QuantizerList::setFilter);
    connect(all, &QPushButton::clicked, this, [this] { setFilteredShown(true); });
    connect(none, &QPushButton::clicked, this, [this] { setFilteredShown(false); });
    connect(tree_, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem* item, int) {
        const QString name = item->data(0, kNameRole).toString();
        if (!name.isEmpty()) // groups change through their children, which report themselves
            Q_EMIT shownChanged(name, item->checkState(0) == Qt::Checked);
    });
}

QTreeWidgetItem* QuantizerList::group(QuantizerKind kind) const
{
    return kind == QuantizerKind::weight ? weights_ : activations_;
}

void QuantizerList::updateGroupTitles()
{
    weights_->setText(0, tr("Weights (%1)").arg(weights_->childCount()));
    activations_->setText(0, tr("Activations (%1)").arg(activations_->childCount()));
}

void QuantizerList::addQuantizer(const QString& name)
{
    for (QTreeWidgetItem* g : {weights_, activations_})
        for (int i = 0; i < g->childCount(); ++i)
            if (g->child(i)->data(0, kNameRole).toString() == name)
                return;
    QTreeWidgetItem* g = group(quantizerKind(name));
    const QSignalBlocker quiet(tree_); // a new curve is drawn already
    auto* item = new QTreeWidgetItem(g);
    item->setText(0, quantizerLabel(name).chopped(2)); // the group says w or a
    item->setToolTip(0, name);
    item->setData(0, kNameRole, name);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
    item->setCheckState(0, Qt::Checked);
    item->setHidden(!filter_->text().isEmpty() && !name.contains(filter_->text(), Qt::CaseInsensitive));
    g->setHidden(false);
    updateGroupTitles();
}

void QuantizerList::clear()
{
    const QSignalBlocker quiet(tree_);
    for (QTreeWidgetItem* g : {weights_, activations_}) {
        qDeleteAll(g->takeChildren());
        g->setHidden(true);
        g->setCheckState(0, Qt::Checked);
    }
    updateGroupTitles();
}

int QuantizerList::count() const
{
    return weights_->childCount() + activations_->childCount();
}

bool QuantizerList::isShown(const QString& name) const
{
    const QTreeWidgetItem* g = group(quantizerKind(name));
    for (int i = 0; i < g->childCount(); ++i)
        if (g->child(i)->data(0, kNameRole).toString() == name)
            return g->child(i)->checkState(0) == Qt::Checked;
    return false;
}

void QuantizerList::setFilteredShown(bool shown)
{
    for (QTreeWidgetItem* g : {weights_, activations_})
        for (int i = 0; i < g->childCount(); ++i)
            if (!g->child(i)->isHidden())
                g->child(i)->setCheckState(0, shown ? Qt::Checked : Qt::Unchecked);
}

void QuantizerList::setFilter(const QString& text)
{
    if (filter_->text() != text) {
        filter_->setText(text); // comes back here through textChanged
        return;
    }
    for (QTreeWidgetItem* g : {weights_, activations_})
        for (int i = 0; i < g->childCount(); ++i) {
            QTreeWidgetItem* item = g->child(i);
            item->setHidden(!text.isEmpty() && !item->data(0, kNameRole).toString().contains(text, Qt::CaseInsensitive));
        }
}

} // namespace tyq::ui
