// SPDX-License-Identifier: Apache-2.0
// timer.cpp — sleep_until: park until a deadline on the calling worker's timer heap.
#include <smarm/timer.hpp>

#include "core/actor.hpp"
#include "core/timer_wheel.hpp"
#include "core/worker.hpp"

namespace smarm {

Result<void> sleep_until(Deadline d) noexcept {
  detail::Worker* w = detail::current_worker();
  detail::Actor* self = w ? w->current.load(std::memory_order_relaxed) : nullptr;
  if (!self) return smarm::detail::not_in_actor("sleep() called outside an actor");
  if (detail::is_cancelled(self)) return Error(Errc::Cancelled, "sleep(): cancelled");
  const std::int64_t deadline = detail::to_deadline_ns(d);
  if (deadline <= detail::now_ns()) return {};  // a deadline in the past: do not wait
  detail::TimerEntry timer{deadline, detail::current_waiter(), detail::TimerReason::Sleep};
  if (deadline != detail::kNoDeadline) w->timers.add(&timer);
  Result<void> result;
  for (;;) {
    detail::park(detail::WaitKind::Sleep, &timer, deadline);
    if (detail::is_cancelled(self)) {
      result = Error(Errc::Cancelled, "sleep(): cancelled");
      break;
    }
    if (deadline != detail::kNoDeadline && detail::now_ns() >= deadline) break;
    // Woken early (a stale wake-up): the timer is still armed; park again.
  }
  detail::TimerWheel::remove(&timer);
  return result;
}

}  // namespace smarm
