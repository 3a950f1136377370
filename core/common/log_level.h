// How much a message the engine reports matters: the training observer, the studio's panels and
// the CLI's console all speak in these levels.
#pragma once

namespace tyq {

enum class LogLevel { info, warning, error };

} // namespace tyq
