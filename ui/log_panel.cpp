#include "log_panel.h"

#include <QDateTime>
#include <QScrollBar>

namespace tyq::ui {

LogPanel::LogPanel(QWidget* parent) : QPlainTextEdit(parent)
{
    setReadOnly(true);
    setMaximumBlockCount(5000); // a week-long run must not grow the widget without bound
    setFont(QFont("monospace", 9));
}

void LogPanel::appendMessage(tyq::LogLevel level, const QString& message)
{
    const QString time = QDateTime::currentDateTime().toString("HH:mm:ss");
    const char* color = level == LogLevel::error ? "#c0392b" : level == LogLevel::warning ? "#b9770e" : "#444444";
    const char* prefix = level == LogLevel::error ? "error: " : level == LogLevel::warning ? "warning: " : "";
    appendHtml(QString("<span style='color:%1'>%2 %3%4</span>")
                   .arg(color, time, prefix, message.toHtmlEscaped()));
    verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

} // namespace tyq::ui
