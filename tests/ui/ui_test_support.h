// What every studio test suite shares: where the reference files are, settings kept out of
// the user's own, waiting for a background job's signal, and finding a button by its text.
#pragma once

#include <QDir>
#include <QElapsedTimer>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QString>

#include "studio_settings.h"

#include <algorithm>

namespace tyq::test {

/// The reference system's files (seed/, golden/): TYQ_REFERENCE_DIR, else the build's default.
inline QString referenceDir()
{
    const QByteArray env = qgetenv("TYQ_REFERENCE_DIR");
    return env.isEmpty() ? QString(TYQ_REFERENCE_DIR_DEFAULT) : QString::fromLocal8Bit(env);
}

inline QString referenceFile(const QString& relative)
{
    return QDir(referenceDir()).filePath(relative);
}

/// A file of this checkout (config/lsq-3bit.yaml, ...).
inline QString sourceFile(const QString& relative)
{
    return QDir(TYQ_SOURCE_DIR).filePath(relative);
}

/// Call first in initTestCase: QSettings and QStandardPaths use test locations, so a suite
/// neither reads nor changes the user's studio settings, and starts from the defaults (not
/// from what an earlier run of a suite left, such as the workspace last shown).
inline void useTestSettings()
{
    QStandardPaths::setTestModeEnabled(true);
    tyq::ui::studioSettings().clear();
    tyq::ui::studioSettings().sync();
}

/// Waits until `spy` has `count` signals (those already caught count), up to `timeoutMs`.
inline bool waitFor(QSignalSpy& spy, int count = 1, int timeoutMs = 180000)
{
    QElapsedTimer timer;
    timer.start();
    while (spy.count() < count && timer.elapsed() < timeoutMs)
        spy.wait(std::max<int>(1, std::min<int>(200, static_cast<int>(timeoutMs - timer.elapsed()))));
    return spy.count() >= count;
}

/// The push button under `parent` whose text is `text`, or null.
inline QPushButton* buttonWithText(QWidget* parent, const QString& text)
{
    for (QPushButton* b : parent->findChildren<QPushButton*>())
        if (b->text() == text)
            return b;
    return nullptr;
}

} // namespace tyq::test
