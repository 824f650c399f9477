// timer.hpp — time vocabulary. Deadlines are absolute steady_clock time points;
// durations are std::chrono durations. (sleep_for / sleep_until arrive with the timers.)
#pragma once

#include <chrono>

namespace smarm {

using Clock = std::chrono::steady_clock;
// Deadline is an absolute point in time; Deadline{} (the clock's epoch) means "no deadline"
// where an API says so.
using Deadline = Clock::time_point;

}  // namespace smarm
