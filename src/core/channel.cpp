// channel.cpp — the type-independent waiting logic of channels (channel_core.hpp).
#include <smarm/detail/channel_core.hpp>

#include "core/timer_heap.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

Result<bool> ChannelCore::wait_recv_locked(Actor* self, void* slot,
                                           std::int64_t deadline_ns) noexcept {
  if (senders_.load(std::memory_order_acquire) == 0) {
    unlock();
    return Error(Errc::Closed, "recv() on a channel whose senders are all gone");
  }
  if (is_cancelled(self)) {
    unlock();
    return Error(Errc::Cancelled, "recv(): the caller was cancelled");
  }
  const bool timed = deadline_ns != kNoDeadline;
  if (timed && deadline_ns <= now_ns()) {
    unlock();
    return Error(Errc::TimedOut, "recv(): nothing arrived before the deadline");
  }
  Waiter w{current_waiter()};
  w.slot = slot;
  recv_waiter_ = &w;
  unlock();
  TimerEntry timer{deadline_ns, w.id, TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  park(WaitKind::Recv, this, deadline_ns);
  if (timed) TimerHeap::remove(&timer);
  // acquire: pairs with the sender's release store after it filled the slot.
  if (w.filled.load(std::memory_order_acquire)) return true;
  lock();
  if (recv_waiter_ == &w) recv_waiter_ = nullptr;  // woken by cancel or close, not a value
  if (w.filled.load(std::memory_order_acquire)) {  // a sender got in before our lock
    unlock();
    return true;
  }
  // A cancelled wait reports Cancelled even if a value arrived in the queue meanwhile:
  // it stays queued (nothing is lost) and the outcome does not depend on who won a race.
  if (is_cancelled(self)) {
    unlock();
    return Error(Errc::Cancelled, "recv(): the caller was cancelled");
  }
  return false;
}

Waiter* ChannelCore::take_recv_waiter_locked() noexcept {
  Waiter* w = recv_waiter_;
  if (!w) return nullptr;
  recv_waiter_ = nullptr;
  return w->try_claim() ? w : nullptr;
}

void ChannelCore::sender_dropped() noexcept {
  // acq_rel: the last sender's sends happen-before the receiver sees zero senders.
  if (senders_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  lock();
  Waiter* w = take_recv_waiter_locked();
  WaiterId id = w ? w->id : WaiterId{};  // copied under the lock: *w dies once it wakes
  unlock();
  if (id) unpark(id);
}

}  // namespace smarm::detail
