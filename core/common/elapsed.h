// Wall-clock intervals as the engine reports them (seconds as double, on the steady clock).
#pragma once

#include <chrono>

namespace tyq {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace tyq
