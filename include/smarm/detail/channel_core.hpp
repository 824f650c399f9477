// SPDX-License-Identifier: Apache-2.0
// detail/channel_core.hpp — ChannelCore, the type-independent half of a channel.
//
// A channel is a ChannelCore (lock, waiter bookkeeping, sender/receiver liveness) plus a
// typed RingQueue<T> in ChannelState<T> (channel.hpp). The waiting logic lives here, out
// of line, so that every channel<T> shares one copy of it.
//
// Wake-up protocol (no lost wake-ups): a receiver registers its Waiter under the lock and
// parks after releasing it; a sender pushes under the lock, unregisters the waiter, and
// unparks it after releasing the lock. unpark() on an actor that has not finished parking
// leaves a token that makes its park() return at once (see src/core/actor.cpp).
//
// Bounded channels (capacity_ != kUnbounded) add a FIFO of parked senders. A parked
// sender's Waiter points at the value on its own stack; the receiver moves the value out
// (into the queue when it makes room, or straight into its own hands on a rendezvous
// channel) and sets `filled` before waking the sender, so a sender that wakes with
// `filled` set knows its value was delivered without taking the lock again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <smarm/detail/biased_lock.hpp>
#include <smarm/detail/core.hpp>
#include <smarm/error.hpp>

namespace smarm::detail {

// Waiter is one parked actor's registration on a wait queue. It lives on the parked
// actor's stack for the duration of the wait. `claim`, when set, is shared by every
// Waiter of one multi-queue wait (select): a waker must win it (0 -> 1) before it may
// hand anything to the waiter, so exactly one queue wakes it.
struct Waiter {
  WaiterId id;
  std::atomic<int>* claim = nullptr;
  Waiter* next = nullptr;
  Waiter* prev = nullptr;  // the send-waiter FIFO is doubly linked: a timed-out sender
                           // unlinks itself in O(1)
  bool queued = false;     // on a wait list; guarded by the channel lock
  // Direct hand-off. A parked receiver's slot is a std::optional<T> on its stack: a sender
  // that finds it constructs the value there. A parked sender's slot is the T it is
  // sending: a receiver moves it out. Either way the waker sets `filled` (release) before
  // the wake-up, so the woken side returns without taking the channel lock again.
  // A parked sender with a null slot (send_all on a full bounded channel) holds no value and
  // waits only for room: a receiver that frees a slot just wakes it, without `filled`, and
  // the sender then queues what fits itself.
  void* slot = nullptr;
  std::atomic<bool> filled{false};
  bool try_claim() noexcept {
    int expected = 0;
    return claim == nullptr ||
           claim->compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
  }
};

class ChannelCore {
 public:
  static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

  explicit ChannelCore(std::size_t capacity) noexcept : capacity_(capacity) {}
  ChannelCore(const ChannelCore&) = delete;
  ChannelCore& operator=(const ChannelCore&) = delete;
  virtual ~ChannelCore() = default;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void lock() noexcept { lock_.lock(); }
  void unlock() noexcept { lock_.unlock(); }

  // wait_recv_locked() is called with the lock held and no value queued; `slot` points to
  // the caller's std::optional<T>. If the channel is closed, the caller is cancelled or
  // the deadline (nanoseconds of steady_clock; kNoDeadline for none) has passed, it
  // releases the lock and returns the error (Closed, Cancelled, TimedOut). Otherwise it
  // parks the caller until a sender, a close, a cancel or the deadline wakes it, and
  // returns true if a sender put a value in *slot (the lock is then released), or false
  // with the lock held again so the caller re-checks the queue (and calls again).
  Result<bool> wait_recv_locked(Actor* self, void* slot,
                                std::int64_t deadline_ns = kNoDeadline) noexcept;

  // take_recv_waiter_locked() unregisters the parked receiver, if any (and if it can be
  // claimed), for the caller to fill and unpark.
  Waiter* take_recv_waiter_locked() noexcept;

  // wait_send_locked() is called with the lock held when a send finds no room (a full
  // bounded channel, or a rendezvous channel with no receiver waiting). `w.slot` points to
  // the value being sent. Like wait_recv_locked it fails at once (lock released) with
  // Closed, Cancelled or TimedOut; otherwise it queues `w` behind earlier senders, wakes a
  // parked receiver, parks, and returns true once a receiver has taken the value (lock
  // released), or false with the lock held so the caller re-checks for room.
  Result<bool> wait_send_locked(Actor* self, Waiter& w, std::int64_t deadline_ns) noexcept;

 private:
  // The three refusals both waits make before they queue, in this order: Closed,
  // Cancelled, TimedOut (a deadline already passed). On a refusal the lock is released
  // and the error returned; otherwise the lock is still held.
  struct WaitMessages {
    const char* closed;
    const char* cancelled;
    const char* timed_out;
  };
  Result<void> refuse_wait_locked(bool closed, Actor* self, std::int64_t deadline_ns,
                                  const WaitMessages& m) noexcept;

 public:
  // take_send_waiter_locked() unlinks the oldest parked sender that can be claimed, for
  // the caller to move its value out, set `filled` and unpark it. Null if none waits.
  Waiter* take_send_waiter_locked() noexcept;
  bool has_send_waiters_locked() const noexcept { return send_head_ != nullptr; }

  // close_for_senders() marks the receiver gone and wakes every parked sender (each then
  // fails with Closed and keeps its value). Takes the lock itself.
  void close_for_senders() noexcept;

  void sender_added() noexcept { senders_.fetch_add(1, std::memory_order_relaxed); }
  // sender_dropped() closes the channel for the receiver when the last sender goes.
  void sender_dropped() noexcept;
  bool receiver_alive_locked() const noexcept { return receiver_alive_; }

  // --- select support (select.hpp). A select registers one Waiter per channel case, all
  // sharing one claim word, taking each channel's lock in turn (never two at once). The
  // wakers above already claim before they hand anything over, so a select waiter is
  // filled by at most one queue; these calls only add and remove the registrations.
  //
  // select_add_recv_locked makes w the channel's parked receiver (with the lock held).
  void select_add_recv_locked(Waiter& w) noexcept { recv_waiter_ = &w; }
  // select_remove_recv_locked unregisters w if a waker has not already taken it.
  void select_remove_recv_locked(Waiter& w) noexcept {
    if (recv_waiter_ == &w) recv_waiter_ = nullptr;
  }
  // enqueue_sender_locked queues w (its slot points at the value) behind earlier senders,
  // not yet filled: a parked send and a select's send case both wait this way.
  void enqueue_sender_locked(Waiter& w) noexcept;
  // select_remove_send_locked unlinks w if no receiver (or close) has unlinked it yet.
  void select_remove_send_locked(Waiter& w) noexcept {
    if (w.queued) unlink_sender_locked(w);
  }
  // has_recv_waiter_locked(own) says whether a receiver other than the select owning
  // `own` is parked here (a send could hand its value straight over).
  bool has_recv_waiter_locked(const std::atomic<int>* own) const noexcept {
    return recv_waiter_ != nullptr && (own == nullptr || recv_waiter_->claim != own);
  }
  // has_send_waiter_locked(own) says whether a sender other than the select owning `own`
  // is parked here (a receive could take its value).
  bool has_send_waiter_locked(const std::atomic<int>* own) const noexcept {
    for (const Waiter* w = send_head_; w; w = w->next)
      if (own == nullptr || w->claim != own) return true;
    return false;
  }
  bool senders_gone() const noexcept { return senders_.load(std::memory_order_acquire) == 0; }
  std::size_t capacity() const noexcept { return capacity_; }
  const BiasedLock& lock_for_stats() const noexcept { return lock_; }

 private:
  BiasedLock lock_;  // free of read-modify-writes while one worker uses the channel
  std::atomic<int> refs_{1};
  std::atomic<std::size_t> senders_{0};
  void unlink_sender_locked(Waiter& w) noexcept;

  bool receiver_alive_ = true;     // guarded by lock_
  Waiter* recv_waiter_ = nullptr;  // guarded by lock_; the receiver parked in recv()
  Waiter* send_head_ = nullptr;    // guarded by lock_; parked senders, oldest first
  Waiter* send_tail_ = nullptr;
  const std::size_t capacity_;
};

}  // namespace smarm::detail
