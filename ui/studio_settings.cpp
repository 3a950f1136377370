#include "studio_settings.h"

#include "core_types.h"

#include <QTimer>

namespace tyq::ui {

QSettings& studioSettings()
{
    static QSettings settings(QSettings::IniFormat, QSettings::UserScope, "tyq", "tyq-studio");
    return settings;
}

void scheduleSettingsSync()
{
    static QTimer* timer = [] {
        auto* t = new QTimer;
        t->setSingleShot(true);
        t->setInterval(500);
        QObject::connect(t, &QTimer::timeout, [] { studioSettings().sync(); });
        return t;
    }();
    timer->start();
}

void rememberRecentExperiment(const QString& path)
{
    QStringList recent = settings::recentExperiments.get();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > 10)
        recent.removeLast();
    settings::recentExperiments.set(recent);
}

void registerCoreTypes()
{
    qRegisterMetaType<tyq::RunStart>();
    qRegisterMetaType<tyq::BatchReport>();
    qRegisterMetaType<tyq::EvalReport>();
    qRegisterMetaType<tyq::RunSummary>();
    qRegisterMetaType<tyq::LogLevel>();
}

} // namespace tyq::ui
