// Small helpers shared by the panels: errors shown in the UI (never only on stderr) without
// blocking the event loop, and path pickers.
#pragma once

#include <QString>

#include <filesystem>

class QLineEdit;
class QWidget;

namespace tyq::ui {

struct JobFailure;

/// A failed model load as a user should read it: an LSQ model loaded without its bit-widths
/// says which field to fill in; any other failure keeps its own message.
QString modelLoadFailureText(const JobFailure& failure, const QString& weights);

/// A non-modal warning box (the event loop keeps running; tests are not blocked by it).
void showError(QWidget* parent, const QString& title, const QString& text);

/// A line edit with a "…" button that opens a file (or folder) dialog; returns the container.
QWidget* pathField(QLineEdit* edit, const QString& filter, bool folder = false, bool save = false);

/// "1:02:03" or "2:03" for a number of seconds; "?" when unknown.
QString durationText(double seconds);

std::filesystem::path toPath(const QString& s);
QString fromPath(const std::filesystem::path& p);

} // namespace tyq::ui
