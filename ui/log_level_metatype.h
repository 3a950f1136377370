// LogLevel travels through queued signals (panel messages to the log): its Qt meta-type, apart
// from the training types so that panels with messages need no training headers.
#pragma once

#include "common/log_level.h"

#include <QMetaType>

Q_DECLARE_METATYPE(tyq::LogLevel)
