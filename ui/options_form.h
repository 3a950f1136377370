// The studio's form of training options, built from core's option table
// (train/option_table.h): one row per option, the widget chosen by its type, range and help.
// The everyday options come first; the rest fold away under "More options".
#pragma once

#include "train/train_options.h"

#include <QString>
#include <QWidget>

#include <vector>

class QFormLayout;

namespace tyq {
struct OptionSpec;
}

namespace tyq::ui {

class OptionsForm : public QWidget {
    Q_OBJECT
public:
    explicit OptionsForm(QWidget* parent = nullptr);

    /// Shows `options` (without emitting `edited`).
    void setOptions(const TrainOptions& options);
    /// `base` with the form's values.
    TrainOptions options(TrainOptions base = {}) const;
    /// Options that only mean something for LSQ are enabled in that phase only.
    void setLsqPhase(bool lsq);
    /// The widget editing an option (by its YAML key), or null.
    QWidget* field(const QString& yamlKey) const;

Q_SIGNALS:
    void edited();

private:
    struct Field {
        const OptionSpec* spec;
        QWidget* widget;
    };
    QWidget* makeWidget(const OptionSpec& spec);

    std::vector<Field> fields_;
};

} // namespace tyq::ui
