// detail/channel_core.hpp — ChannelCore, the type-independent half of a channel.
//
// A channel is a ChannelCore (lock, waiter bookkeeping, sender/receiver liveness) plus a
// typed RingQueue<T> in ChannelState<T> (channel.hpp). The waiting logic lives here, out
// of line, so that every channel<T> shares one copy of it.
//
// Wake-up protocol (no lost wake-ups): a receiver registers its Waiter under the lock and
// parks after releasing it; a sender pushes under the lock, unregisters the waiter, and
// unparks it after releasing the lock. unpark() on an actor that has not finished parking
// leaves a token that makes its park() return at once (see src/core/park.cpp).
//
// The capacity field is kept for bounded channels; kUnbounded means no limit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <smarm/detail/core.hpp>
#include <smarm/detail/spinlock.hpp>
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
  // Direct hand-off: a sender that finds this waiter constructs the value in `slot` (a
  // std::optional<T> on the waiter's stack) and sets `filled` before waking it, so the
  // woken receiver returns without taking the channel lock again.
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

  void sender_added() noexcept { senders_.fetch_add(1, std::memory_order_relaxed); }
  // sender_dropped() closes the channel for the receiver when the last sender goes.
  void sender_dropped() noexcept;
  bool receiver_alive_locked() const noexcept { return receiver_alive_; }
  void mark_receiver_dropped_locked() noexcept { receiver_alive_ = false; }
  bool senders_gone() const noexcept { return senders_.load(std::memory_order_acquire) == 0; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  SpinLock lock_;
  std::atomic<int> refs_{1};
  std::atomic<std::size_t> senders_{0};
  bool receiver_alive_ = true;     // guarded by lock_
  Waiter* recv_waiter_ = nullptr;  // guarded by lock_; the receiver parked in recv()
  const std::size_t capacity_;
};

}  // namespace smarm::detail
