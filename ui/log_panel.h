// The run's log as it happens: engine messages with their level, newest at the bottom.
#pragma once

#include "log_level_metatype.h"

#include <QPlainTextEdit>

namespace tyq::ui {

class LogPanel : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit LogPanel(QWidget* parent = nullptr);

public Q_SLOTS:
    void appendMessage(tyq::LogLevel level, const QString& message);
};

} // namespace tyq::ui
