// SPDX-License-Identifier: Apache-2.0
// timer.hpp — time: Deadline, sleep_for, sleep_until.
//
// Deadlines are absolute steady_clock time points; durations are std::chrono durations.
// One rule for every timeout in smarm: a zero or negative timeout (a deadline already
// passed) means "do not wait" — never an error. Waits are never early: a sleep returns
// at or after its deadline. Sleeping parks the actor, never the worker.
#pragma once

#include <chrono>
#include <cstdint>

#include <smarm/error.hpp>

namespace smarm {

using Clock = std::chrono::steady_clock;
// Deadline is an absolute point in time; Deadline{} (the clock's epoch) means "no deadline"
// where an API says so.
using Deadline = Clock::time_point;

namespace detail {
// deadline_after(d) is now + d, rounded up (never early) and saturated: a duration too
// long for the clock (hours::max(), say) gives Deadline::max(), which means "never".
template <class Rep, class Period>
Deadline deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  using Seconds = std::chrono::duration<double>;
  const Deadline now = Clock::now();
  if (d <= d.zero()) return now;
  if (Seconds(d) >= Seconds(Deadline::max() - now)) return Deadline::max();
  return now + std::chrono::ceil<Clock::duration>(d);
}
// to_deadline_ns is d in the timers' time base: nanoseconds of steady_clock (kNoDeadline
// for Deadline::max(), "no deadline").
inline std::int64_t to_deadline_ns(Deadline d) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count();
}
}  // namespace detail

// sleep_until(d) parks the calling actor until d (Deadline::max(): forever). Returns at
// once if d has passed. Errors: Cancelled (the actor was or got cancelled), NotInActor.
Result<void> sleep_until(Deadline d) noexcept;

// sleep_for(d) is sleep_until(now + d); zero or negative durations return at once.
template <class Rep, class Period>
Result<void> sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  return sleep_until(detail::deadline_after(d));
}

}  // namespace smarm
