// SPDX-License-Identifier: Apache-2.0
// channel.cpp — the type-independent waiting logic of channels (channel_core.hpp).
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <smarm/detail/channel_core.hpp>
#include <smarm/detail/ring_queue.hpp>

#include "core/timer_wheel.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {
// Bytes held by every channel's ring in the process, and the most ever held at once.
// Touched only when a ring grows, shrinks or is freed (never per value), so relaxed
// atomics on two shared words cost nothing that matters.
std::atomic<std::int64_t> g_channel_buffer_bytes{0};
std::atomic<std::int64_t> g_channel_buffer_peak{0};
}  // namespace

void note_channel_buffer(std::ptrdiff_t delta) noexcept {
  const std::int64_t now =
      g_channel_buffer_bytes.fetch_add(delta, std::memory_order_relaxed) + delta;
  if (delta <= 0) return;
  std::int64_t peak = g_channel_buffer_peak.load(std::memory_order_relaxed);
  while (now > peak &&
         !g_channel_buffer_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

std::uint64_t channel_buffer_bytes() noexcept {
  const std::int64_t v = g_channel_buffer_bytes.load(std::memory_order_relaxed);
  return v > 0 ? static_cast<std::uint64_t>(v) : 0;
}

std::uint64_t channel_buffer_peak() noexcept {
  return static_cast<std::uint64_t>(g_channel_buffer_peak.load(std::memory_order_relaxed));
}

Result<void> ChannelCore::refuse_wait_locked(bool closed, Actor* self, std::int64_t deadline_ns,
                                             const WaitMessages& m) noexcept {
  // The order is part of the contract: a closed channel says Closed even to a cancelled
  // caller, and a passed deadline only matters when the caller could otherwise wait.
  Errc code;
  const char* what;
  if (closed) {
    code = Errc::Closed;
    what = m.closed;
  } else if (is_cancelled(self)) {
    code = Errc::Cancelled;
    what = m.cancelled;
  } else if (deadline_ns != kNoDeadline && deadline_ns <= now_ns()) {
    code = Errc::TimedOut;
    what = m.timed_out;
  } else {
    return {};  // the caller may wait; the lock is still held
  }
  unlock();
  return Error(code, what);
}

Result<bool> ChannelCore::wait_recv_locked(Actor* self, void* slot,
                                           std::int64_t deadline_ns) noexcept {
  static constexpr WaitMessages kRecv{"recv() on a channel whose senders are all gone",
                                      "recv(): the caller was cancelled",
                                      "recv(): nothing arrived before the deadline"};
  if (auto r = refuse_wait_locked(senders_.load(std::memory_order_acquire) == 0, self, deadline_ns,
                                  kRecv);
      !r)
    return r.error();
  const bool timed = deadline_ns != kNoDeadline;
  Waiter w{current_waiter()};
  w.slot = slot;
  recv_waiter_ = &w;
  unlock();
  TimerEntry timer{deadline_ns, w.id, TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  park(WaitKind::Recv, this, deadline_ns);
  if (timed) TimerWheel::remove(&timer);
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

Result<bool> ChannelCore::wait_send_locked(Actor* self, Waiter& w,
                                           std::int64_t deadline_ns) noexcept {
  static constexpr WaitMessages kSend{"send on a channel whose receiver is gone",
                                      "send(): the caller was cancelled",
                                      "send(): no room before the deadline"};
  if (auto r = refuse_wait_locked(!receiver_alive_, self, deadline_ns, kSend); !r) return r.error();
  const bool timed = deadline_ns != kNoDeadline;
  w.id = current_waiter();
  enqueue_sender_locked(w);  // queue it, not yet filled
  // A receiver parked on an empty rendezvous channel must learn that a sender now waits.
  Waiter* r = take_recv_waiter_locked();
  const WaiterId rid = r ? r->id : WaiterId{};
  unlock();
  if (rid) unpark(rid);
  TimerEntry timer{deadline_ns, w.id, TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  park(WaitKind::Send, this, deadline_ns);
  if (timed) TimerWheel::remove(&timer);
  // acquire: pairs with the receiver's release store after it moved the value out.
  if (w.filled.load(std::memory_order_acquire)) return true;
  lock();
  if (w.queued) unlink_sender_locked(w);
  if (w.filled.load(std::memory_order_acquire)) {  // taken between our wake-up and the lock
    unlock();
    return true;
  }
  if (!receiver_alive_) {
    unlock();
    return Error(Errc::Closed, "send on a channel whose receiver is gone");
  }
  if (is_cancelled(self)) {
    unlock();
    return Error(Errc::Cancelled, "send(): the caller was cancelled");
  }
  return false;  // a timeout is reported by the next call, after one last look for room
}

void ChannelCore::enqueue_sender_locked(Waiter& w) noexcept {
  w.filled.store(false, std::memory_order_relaxed);  // not yet visible to any receiver
  w.next = nullptr;
  w.prev = send_tail_;
  if (send_tail_)
    send_tail_->next = &w;
  else
    send_head_ = &w;
  send_tail_ = &w;
  w.queued = true;
}

void ChannelCore::unlink_sender_locked(Waiter& w) noexcept {
  if (w.prev)
    w.prev->next = w.next;
  else
    send_head_ = w.next;
  if (w.next)
    w.next->prev = w.prev;
  else
    send_tail_ = w.prev;
  w.next = w.prev = nullptr;
  w.queued = false;
}

Waiter* ChannelCore::take_send_waiter_locked() noexcept {
  while (Waiter* w = send_head_) {
    unlink_sender_locked(*w);
    // A sender that is part of a select another case already won is dropped from the
    // list; its owner finds itself unlinked and cleans up.
    if (w->try_claim()) return w;
  }
  return nullptr;
}

void ChannelCore::close_for_senders() noexcept {
  lock();
  receiver_alive_ = false;
  // Wake the parked senders one at a time: each unpark happens outside the lock, and no
  // new sender can queue once receiver_alive_ is false.
  while (Waiter* w = send_head_) {
    unlink_sender_locked(*w);
    const WaiterId id = w->id;
    unlock();
    unpark(id);
    lock();
  }
  unlock();
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
