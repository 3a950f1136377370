// The step-size plot's choice of curves: every quantizer, grouped into weights and activations
// (a group's box shows or hides all of it), a name filter, and All / None for what the filter
// shows. An LSQ run has about twenty quantizers; drawing them all at once hides each one.
#pragma once

#include <QString>
#include <QWidget>

class QLineEdit;
class QTreeWidget;
class QTreeWidgetItem;

namespace tyq::ui {

/// The kind of a quantizer, from its module name ("…quan_w_fn" / "…quan_a_fn").
enum class QuantizerKind { weight, activation };
QuantizerKind quantizerKind(const QString& name);
/// "conv_8 w" for "module_list.8.conv_8.quan_w_fn": what the legend and the list show.
QString quantizerLabel(const QString& name);

class QuantizerList : public QWidget {
    Q_OBJECT
public:
    explicit QuantizerList(QWidget* parent = nullptr);

    /// Adds a quantizer, shown, under its group. A name already listed is ignored.
    void addQuantizer(const QString& name);
    void clear();
    int count() const;
    bool isShown(const QString& name) const;
    /// Shows or hides the quantizers the filter lets through (those it hides keep their state).
    void setFilteredShown(bool shown);
    void setFilter(const QString& text);

Q_SIGNALS:
    /// A quantizer's curve is to be shown or hidden (`name` as given to addQuantizer).
    void shownChanged(const QString& name, bool shown);

private:
    QTreeWidgetItem* group(QuantizerKind kind) const;
    void updateGroupTitles();

    QLineEdit* filter_;
    QTreeWidget* tree_;
    QTreeWidgetItem* weights_;
    QTreeWidgetItem* activations_;
};

} // namespace tyq::ui
