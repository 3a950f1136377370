#include "options_form.h"

#include "train/option_table.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>

namespace tyq::ui {

namespace {

int clampToInt(double v)
{
    return static_cast<int>(std::clamp(v, double(INT_MIN), double(INT_MAX)));
}

} // namespace

OptionsForm::OptionsForm(QWidget* parent) : QWidget(parent)
{
    auto* main = new QFormLayout;
    auto* moreBox = new QWidget;
    auto* more = new QFormLayout(moreBox);
    more->setContentsMargins(0, 0, 0, 0);
    for (const OptionSpec& spec : trainOptionTable()) {
        if (spec.form == FormPlace::none)
            continue;
        QWidget* widget = makeWidget(spec);
        widget->setToolTip(QString::fromUtf8(spec.help));
        widget->setObjectName(QString("option_%1").arg(spec.yamlKey));
        fields_.push_back({&spec, widget});
        QFormLayout* form = spec.form == FormPlace::main ? main : more;
        if (spec.type == OptionType::boolean)
            form->addRow(QString(), widget); // the check box carries the label
        else
            form->addRow(tr(spec.label), widget);
    }
    auto* toggle = new QToolButton;
    toggle->setText(tr("More options"));
    toggle->setCheckable(true);
    toggle->setArrowType(Qt::RightArrow);
    toggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toggle->setAutoRaise(true);
    moreBox->setVisible(false);
    connect(toggle, &QToolButton::toggled, this, [toggle, moreBox](bool open) {
        toggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        moreBox->setVisible(open);
    });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(main);
    layout->addWidget(toggle);
    layout->addWidget(moreBox);
}

QWidget* OptionsForm::makeWidget(const OptionSpec& spec)
{
    switch (spec.type) {
    case OptionType::integer: {
        auto* box = new QSpinBox;
        box->setRange(clampToInt(spec.min), clampToInt(spec.max));
        box->setSingleStep(spec.step > 0 ? static_cast<int>(spec.step) : 1);
        if (*spec.zeroText)
            box->setSpecialValueText(tr(spec.zeroText));
        connect(box, &QSpinBox::valueChanged, this, &OptionsForm::edited);
        return box;
    }
    case OptionType::real:
    case OptionType::real32: {
        auto* box = new QDoubleSpinBox;
        box->setDecimals(6);
        box->setRange(spec.min, std::min(spec.max, 1e9));
        box->setSingleStep(spec.step > 0 ? spec.step : 0.01);
        connect(box, &QDoubleSpinBox::valueChanged, this, &OptionsForm::edited);
        return box;
    }
    case OptionType::boolean: {
        auto* box = new QCheckBox(tr(spec.label));
        connect(box, &QCheckBox::toggled, this, &OptionsForm::edited);
        return box;
    }
    case OptionType::choice: {
        auto* box = new QComboBox;
        for (const OptionChoice& c : spec.choices)
            box->addItem(tr(c.label), c.value);
        connect(box, &QComboBox::currentIndexChanged, this, &OptionsForm::edited);
        return box;
    }
    case OptionType::integerList: {
        auto* edit = new QLineEdit;
        edit->setPlaceholderText(tr("e.g. 60, 80"));
        edit->setValidator(new QRegularExpressionValidator(QRegularExpression(R"(^[\d,\s]*$)"), edit));
        connect(edit, &QLineEdit::textEdited, this, &OptionsForm::edited);
        return edit;
    }
    }
    return new QWidget;
}

void OptionsForm::setOptions(const TrainOptions& options)
{
    for (const Field& f : fields_) {
        const QSignalBlocker block(f.widget);
        const OptionValue v = f.spec->get(options);
        if (auto* spin = qobject_cast<QSpinBox*>(f.widget))
            spin->setValue(static_cast<int>(std::get<int64_t>(v)));
        else if (auto* real = qobject_cast<QDoubleSpinBox*>(f.widget))
            real->setValue(std::get<double>(v));
        else if (auto* check = qobject_cast<QCheckBox*>(f.widget))
            check->setChecked(std::get<bool>(v));
        else if (auto* combo = qobject_cast<QComboBox*>(f.widget))
            combo->setCurrentIndex(combo->findData(static_cast<int>(std::get<int64_t>(v))));
        else if (auto* edit = qobject_cast<QLineEdit*>(f.widget))
            edit->setText(QString::fromStdString(f.spec->text(options)).replace(",", ", "));
    }
}

TrainOptions OptionsForm::options(TrainOptions options) const
{
    for (const Field& f : fields_) {
        if (auto* spin = qobject_cast<QSpinBox*>(f.widget)) {
            f.spec->set(options, static_cast<int64_t>(spin->value()));
        } else if (auto* real = qobject_cast<QDoubleSpinBox*>(f.widget)) {
            f.spec->set(options, real->value());
        } else if (auto* check = qobject_cast<QCheckBox*>(f.widget)) {
            f.spec->set(options, check->isChecked());
        } else if (auto* combo = qobject_cast<QComboBox*>(f.widget)) {
            f.spec->set(options, static_cast<int64_t>(combo->currentData().toInt()));
        } else if (auto* edit = qobject_cast<QLineEdit*>(f.widget)) {
            std::vector<int> values;
            for (const QString& part : edit->text().split(',', Qt::SkipEmptyParts))
                if (bool ok = false; part.trimmed().toInt(&ok), ok)
                    values.push_back(part.trimmed().toInt());
            f.spec->set(options, values);
        }
    }
    return options;
}

void OptionsForm::setLsqPhase(bool lsq)
{
    for (const Field& f : fields_)
        if (f.spec->lsqOnly)
            f.widget->setEnabled(lsq);
}

QWidget* OptionsForm::field(const QString& yamlKey) const
{
    for (const Field& f : fields_)
        if (yamlKey == f.spec->yamlKey)
            return f.widget;
    return nullptr;
}

} // namespace tyq::ui
