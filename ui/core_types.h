// Engine structs that travel through queued signals between the training thread and the GUI.
#pragma once

#include "log_level_metatype.h"
#include "train/training_observer.h"

#include <QMetaType>

Q_DECLARE_METATYPE(tyq::RunStart)
Q_DECLARE_METATYPE(tyq::BatchReport)
Q_DECLARE_METATYPE(tyq::EvalReport)
Q_DECLARE_METATYPE(tyq::RunSummary)

namespace tyq::ui {

/// Registers the types above with Qt's meta-type system (once, before the first connection).
void registerCoreTypes();

} // namespace tyq::ui
