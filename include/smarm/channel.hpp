// SPDX-License-Identifier: Apache-2.0
// channel.hpp — multi-producer, single-consumer channels: channel<T>() (unbounded) and
// bounded_channel<T>(n) (back-pressure; n == 0 is a rendezvous).
//
//   auto [tx, rx] = smarm::channel<std::string>();
//   tx.send("hi").value();            // never blocks on an unbounded channel
//   auto v = rx.recv();               // parks the calling actor until a value or Closed
//
//   auto [btx, brx] = smarm::bounded_channel<int>(64);
//   btx.send(1);                      // parks while 64 values wait unreceived
//   btx.send_for(2, 10ms);            // gives up with TimedOut, handing 2 back
//
// Values are moved through the channel, never copied, so move-only types work.
// Sender<T> is copyable (each copy is one more sender); Receiver<T> is move-only.
// Close semantics: when every Sender is gone, recv() drains what was sent and then returns
// Errc::Closed. When the Receiver is gone, send() fails with a SendError that hands the
// value back (std::move(err).into_value()); values still queued are destroyed, and
// senders parked on a full bounded channel wake with Closed, keeping their values.
// Cancellation: recv() reports Cancelled before looking at the queue; send() only when it
// would have to wait (a send that fits never fails for it).
// Bursts: rx.recv_some(out, max) and tx.send_all(batch) move several values per lock
// acquisition and per wake-up, with the same rules as recv() and send() (pipe stages use
// them; a hand-written stage loop can too).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <smarm/detail/channel_core.hpp>
#include <smarm/detail/core.hpp>
#include <smarm/detail/ring_queue.hpp>
#include <smarm/error.hpp>
#include <smarm/timer.hpp>

namespace smarm {

// SendError<T> is the error of a failed send: why, plus the value that was not sent.
template <class T>
class SendError {
 public:
  SendError(Errc code, T value) : code_(code), value_(std::move(value)) {}
  Errc code() const noexcept { return code_; }
  std::string message() const {
    switch (code_) {
      case Errc::Closed:
        return "send on a channel whose receiver is gone";
      case Errc::Full:
        return "the channel is full";
      case Errc::TimedOut:
        return "no room in the channel before the deadline";
      case Errc::Cancelled:
        return "send(): the caller was cancelled";
      case Errc::NotInActor:
        return "send() would wait for room, outside an actor";
      case Errc::Forked:
        return "send() would wait for room, in a child forked from a process running a "
               "runtime (it cannot be used there)";
      default:
        return errc_name(code_);
    }
  }
  T& value() & noexcept { return value_; }
  T into_value() && { return std::move(value_); }

 private:
  Errc code_;
  T value_;
};

namespace detail {
template <class T>
class ChannelState final : public ChannelCore {
 public:
  using ChannelCore::ChannelCore;
  RingQueue<T> queue;  // guarded by the ChannelCore lock
};
// ChannelAccess reaches a Sender's or Receiver's state for smarm::select (select.hpp).
struct ChannelAccess;
}  // namespace detail

template <class T>
class Sender;
template <class T>
class Receiver;

template <class T>
struct Channel {
  Sender<T> tx;
  Receiver<T> rx;
};

template <class T>
Channel<T> channel();
template <class T>
Channel<T> bounded_channel(std::size_t capacity);

template <class T>
class Sender {
 public:
  Sender() = default;
  Sender(const Sender& o) noexcept : state_(o.state_) {
    if (state_) {
      state_->add_ref();
      state_->sender_added();
    }
  }
  Sender(Sender&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  Sender& operator=(Sender o) noexcept {
    std::swap(state_, o.state_);
    return *this;
  }
  ~Sender() { reset(); }

  // send(v) hands v to the receiver. On an unbounded channel it never parks. On a bounded
  // channel it parks the calling actor while the channel is full (back-pressure); on a
  // rendezvous channel (capacity 0) until a receiver has taken v. A failed send hands v
  // back in its SendError: Closed (the receiver is gone), Cancelled (the caller was
  // cancelled), NotInActor (it would have to wait, outside an actor).
  Result<void, SendError<T>> send(T v) { return send_impl(std::move(v), detail::kNoDeadline); }
  // send_until(v, d) is send() that gives up at deadline d with TimedOut (v handed back).
  // A deadline already passed means "do not wait", as try_send().
  Result<void, SendError<T>> send_until(T v, Deadline d) {
    // Deadline::min() is INT64_MIN ns, try_send()'s marker: keep it a deadline (TimedOut).
    return send_impl(std::move(v), std::max(detail::to_deadline_ns(d), kTryOnly + 1));
  }
  // send_for(v, t) is send_until(v, now + t); zero or negative t means "do not wait".
  template <class Rep, class Period>
  Result<void, SendError<T>> send_for(T v, std::chrono::duration<Rep, Period> t) {
    return send_until(std::move(v), detail::deadline_after(t));
  }
  // try_send(v) never parks: Full (v handed back) when a bounded channel has no room or a
  // rendezvous channel has no receiver waiting; Closed when the receiver is gone. Works
  // from any thread.
  Result<void, SendError<T>> try_send(T v) { return send_impl(std::move(v), kTryOnly); }

  // send_all(batch) sends every value of batch in order, as that many send() calls would,
  // but queues as many as there is room for under one lock (the cheap way to move a burst:
  // what pipe stages use). While the channel is full it parks until there is room, then
  // queues what fits in one go; a rendezvous channel takes one value per receiver, as
  // send() does. On success batch is left empty. On failure (Closed, Cancelled,
  // NotInActor — as send()) the values sent are erased from the front of batch and the
  // rest stay in it, in order: nothing is lost.
  Result<void> send_all(std::vector<T>& batch) {
    std::size_t sent = 0;
    auto fail = [&](Errc code, std::string message) -> Result<void> {
      batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(sent));
      return unexpected(Error(code, std::move(message)));
    };
    if (!state_) return fail(Errc::Closed, "send_all() on an empty Sender");
    auto& c = *state_;
    const std::size_t n = batch.size();
    if (n == 0) return {};
    if constexpr (!std::is_nothrow_move_constructible_v<T>) {
      // An unbounded channel of a type whose move may throw: one send() at a time, so a
      // throwing move never leaves a value half in the channel.
      while (sent < n) {
        auto r = send_impl(std::move(batch[sent]), detail::kNoDeadline);
        if (!r) {
          batch[sent] = std::move(r.error()).into_value();
          return fail(r.error().code(), r.error().message());
        }
        ++sent;
      }
    } else {
      detail::Actor* self = nullptr;  // looked up only if the call has to wait
      c.lock();
      for (;;) {  // the lock is held at the top of every turn; each exit releases it
        if (!c.receiver_alive_locked()) {
          c.unlock();
          return fail(Errc::Closed, "send on a channel whose receiver is gone");
        }
        // As many as fit, in one move. Room is made first (growing the ring allocates and
        // may throw: never with the lock held, and before any value has moved).
        const std::size_t fit = std::min(c.capacity() - c.queue.size(), n - sent);
        if (fit != 0) {
          try {
            c.queue.reserve_for(fit);
          } catch (...) {
            c.unlock();
            batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(sent));
            throw;
          }
          c.queue.push_moved(batch.data() + sent, fit);
          sent += fit;
          detail::Waiter* w = c.take_recv_waiter_locked();
          const detail::WaiterId id = w ? w->id : detail::WaiterId{};
          c.unlock();
          if (id) detail::unpark(id);
          if (sent == n) break;
          c.lock();
          continue;  // room may have been made meanwhile
        }
        if (c.capacity() == 0) {
          // A rendezvous channel holds nothing: each value waits in a receiver's hands.
          c.unlock();
          auto r = send_impl(std::move(batch[sent]), detail::kNoDeadline);
          if (!r) {
            batch[sent] = std::move(r.error()).into_value();
            return fail(r.error().code(), r.error().message());
          }
          if (++sent == n) break;
          c.lock();
          continue;
        }
        // Full. Park until the receiver makes room, holding no value (a null slot): the
        // receiver only wakes us, and we fill whatever room there is then, so the rest of
        // the batch goes in as one burst rather than one value per wake-up.
        if (!self) self = detail::current_actor();
        if (!self) {
          c.unlock();
          return fail(detail::not_in_actor_code(),
                      "send_all() would wait for room, outside an actor");
        }
        detail::Waiter w{};
        w.slot = nullptr;
        auto r = c.wait_send_locked(self, w, detail::kNoDeadline);
        if (!r) return fail(r.error().code(), r.error().message());  // lock released
        // Woken for room (never "filled": no value was in our hands); the lock is held
        // again, so look at the room there is now.
      }
    }
    batch.clear();
    return {};
  }

 private:
  // kTryOnly is a deadline value no clock reaches (steady_clock counts up from boot):
  // "fail with Full rather than wait".
  static constexpr std::int64_t kTryOnly = INT64_MIN;

  Result<void, SendError<T>> send_impl(T v, std::int64_t deadline_ns) {
    if (!state_) return SendError<T>(Errc::Closed, std::move(v));
    auto& c = *state_;
    detail::Actor* self = nullptr;  // looked up only if the send has to wait
    c.lock();
    for (;;) {
      if (!c.receiver_alive_locked()) {
        c.unlock();
        return SendError<T>(Errc::Closed, std::move(v));
      }
      if constexpr (std::is_nothrow_move_constructible_v<T>) {
        if (detail::Waiter* w = c.take_recv_waiter_locked()) {
          // A receiver waits, so the queue is empty: hand the value straight to it.
          static_cast<std::optional<T>*>(w->slot)->emplace(std::move(v));
          const detail::WaiterId id = w->id;  // *w lives on the receiver's stack: copy first
          // release: pairs with the receiver's acquire load of `filled`.
          w->filled.store(true, std::memory_order_release);
          c.unlock();
          detail::unpark(id);
          return {};
        }
      }
      if (c.queue.size() < c.capacity()) break;  // room (always, when unbounded)
      // Full, or a rendezvous channel with no receiver waiting.
      if (deadline_ns == kTryOnly) {
        c.unlock();
        return SendError<T>(Errc::Full, std::move(v));
      }
      if (!self) self = detail::current_actor();
      if (!self) {
        c.unlock();
        return SendError<T>(detail::not_in_actor_code(), std::move(v));
      }
      if constexpr (std::is_nothrow_move_constructible_v<T>) {  // bounded_channel ensures it
        detail::Waiter w{};
        w.slot = &v;
        auto r = c.wait_send_locked(self, w, deadline_ns);
        if (!r) return SendError<T>(r.error().code(), std::move(v));
        if (*r) return {};  // a receiver took v
        // Woken without delivery (spurious, or the deadline with room just made): re-check.
      }
    }
    try {
      c.queue.push(std::move(v));  // may throw (allocation, T's move): never with the lock held
    } catch (...) {
      c.unlock();
      throw;
    }
    detail::Waiter* w = c.take_recv_waiter_locked();
    const detail::WaiterId id = w ? w->id : detail::WaiterId{};
    c.unlock();
    if (id) detail::unpark(id);
    return {};
  }

 public:
  // close() drops this sender now (as its destructor would).
  void close() noexcept { reset(); }
  // is_closed() says whether the receiver is gone (a send would fail).
  bool is_closed() const noexcept {
    if (!state_) return true;
    state_->lock();
    bool alive = state_->receiver_alive_locked();
    state_->unlock();
    return !alive;
  }

 private:
  friend Channel<T> channel<T>();
  friend Channel<T> bounded_channel<T>(std::size_t);
  friend struct detail::ChannelAccess;
  explicit Sender(detail::ChannelState<T>* s) noexcept : state_(s) {}
  void reset() noexcept {
    if (auto* s = std::exchange(state_, nullptr)) {
      s->sender_dropped();
      s->release();
    }
  }
  detail::ChannelState<T>* state_ = nullptr;
};

template <class T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(Receiver&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() { reset(); }

  // recv() returns the next value, parking the calling actor while the channel is empty.
  // Errors: Closed (every sender gone and nothing left), Cancelled (the caller has been
  // cancelled — checked first, like every blocking call; nothing is consumed, and
  // try_recv() still drains), NotInActor (called outside an actor).
  Result<T> recv() { return recv_impl(detail::kNoDeadline); }

 private:
  Result<T> recv_impl(std::int64_t deadline_ns) {
    detail::Actor* self = detail::current_actor();
    if (!self) return unexpected(detail::not_in_actor("recv() called outside an actor"));
    if (detail::is_cancelled(self))
      return unexpected(Error(Errc::Cancelled, "recv(): the caller was cancelled"));
    if (!state_) return unexpected(Error(Errc::Closed, "recv() on an empty Receiver"));
    auto& c = *state_;
    std::optional<T> slot;  // where a sender hands a value over directly
    c.lock();
    for (;;) {
      if (auto v = take_locked(c)) return Result<T>(std::move(*v));  // unlocked
      auto r = c.wait_recv_locked(self, &slot, deadline_ns);
      if (!r) return unexpected(std::move(r).error());
      if (*r) return Result<T>(std::move(*slot));
    }
  }

  // take_locked() is called with the lock held. If a value is available — queued, or held
  // by a sender parked on a rendezvous channel — it takes it, lets the oldest parked sender
  // (if any) into the room it made, releases the lock and returns the value. Otherwise it
  // returns nothing with the lock still held.
  static std::optional<T> take_locked(detail::ChannelState<T>& c) {
    std::optional<T> out;
    for (;;) {
      if (!c.queue.empty()) {
        out.emplace(c.queue.pop());
        detail::WaiterId wake{};
        std::size_t shrink_to = 0;
        if constexpr (std::is_nothrow_move_constructible_v<T>) {
          if (c.has_send_waiters_locked()) {
            if (detail::Waiter* s = c.take_send_waiter_locked()) {
              // The id first: once admit_locked has set `filled`, the sender may return
              // without the lock (a stale wake-up ends its park at once), and *s is gone.
              wake = s->id;
              admit_locked(c, *s);  // the pop freed a ring slot: no allocation, no throw
            }
          }
          if (c.queue.wants_shrink()) [[unlikely]]
            shrink_to = c.queue.shrink_target();
        }
        c.unlock();
        if (wake) detail::unpark(wake);
        if (shrink_to != 0) [[unlikely]]
          shrink_queue(c, shrink_to);
        return out;
      }
      if constexpr (std::is_nothrow_move_constructible_v<T>) {
        if (c.has_send_waiters_locked()) {
          if (detail::Waiter* s = c.take_send_waiter_locked()) {
            const detail::WaiterId wake = s->id;
            if (s->slot) {  // rendezvous: take it from the sender's hands
              out.emplace(std::move(*static_cast<T*>(s->slot)));
              s->filled.store(true, std::memory_order_release);
              c.unlock();
              detail::unpark(wake);
              return out;
            }
            // A send_all waiting for room, and there is room: wake it (it queues values
            // and wakes us in turn), then look again, with the lock held as promised.
            c.unlock();
            detail::unpark(wake);
            c.lock();
            continue;
          }
        }
      }
      return out;
    }
  }

  // admit_locked(s) lets the parked sender s into a ring slot that a pop has just freed: a
  // sender holding a value has it moved in (and is told so through `filled`); a send_all
  // waiting for room holds none and is only woken, by the caller, after the unlock.
  // After it, *s must not be touched: a sender that sees `filled` may return at once
  // (without the lock), so callers copy s->id first.
  static void admit_locked(detail::ChannelState<T>& c, detail::Waiter& s) noexcept {
    if (!s.slot) return;
    c.queue.push(std::move(*static_cast<T*>(s.slot)));
    s.filled.store(true, std::memory_order_release);  // pairs with the sender's acquire
  }

 public:
  // recv_some(out, max) appends at least one and at most max values to out: everything
  // ready (up to max) under one lock, or, when nothing is, it parks like recv() until a
  // value comes and then takes what else came with it (the cheap way to drain a burst: what
  // pipe stages use). It never waits to fill a burst. It returns how many it
  // appended. Errors as recv() (nothing appended); InvalidArgument for max == 0. It never
  // allocates with the channel locked: out is grown beforehand by up to kRecvSomeReserve
  // values, so a larger max takes more only if out already has the spare capacity.
  static constexpr std::size_t kRecvSomeReserve = 256;
  Result<std::size_t> recv_some(std::vector<T>& out, std::size_t max) {
    if (max == 0) return unexpected(Error(Errc::InvalidArgument, "recv_some(): max is 0"));
    if constexpr (!std::is_nothrow_move_constructible_v<T>) {
      // A throwing move could lose a value between the queue and out: one at a time.
      auto v = recv();
      if (!v) return unexpected(std::move(v).error());
      out.push_back(std::move(*v));
      return std::size_t{1};
    } else {
      const std::size_t want = max < kRecvSomeReserve ? max : kRecvSomeReserve;
      if (out.capacity() - out.size() < want) out.reserve(out.size() + want);
      // The checks recv() makes first, then one locked pass over what is ready: a burst that
      // is already there costs one lock, and only an empty channel goes through recv().
      detail::Actor* self = detail::current_actor();
      if (!self) return unexpected(detail::not_in_actor("recv_some() called outside an actor"));
      if (detail::is_cancelled(self))
        return unexpected(Error(Errc::Cancelled, "recv_some(): the caller was cancelled"));
      if (!state_) return unexpected(Error(Errc::Closed, "recv_some() on an empty Receiver"));
      if (const std::size_t taken = take_many(out, std::min(max, out.capacity() - out.size()));
          taken != 0)
        return taken;
      auto v = recv();
      if (!v) return unexpected(std::move(v).error());
      out.push_back(std::move(*v));  // fits: reserved above
      const std::size_t spare = out.capacity() - out.size();
      const std::size_t more = std::min(max - 1, spare);
      if (more == 0) return std::size_t{1};
      return 1 + take_many(out, more);
    }
  }

 private:
  // take_many(out, limit) moves up to limit values that are ready (queued, or held by parked
  // senders) into out, which has room for them, under one lock; it lets parked senders into
  // the room it makes and wakes them after unlocking.
  std::size_t take_many(std::vector<T>& out, std::size_t limit) {
    auto& c = *state_;
    constexpr std::size_t kMaxWakes = 16;
    // The senders to wake, kept as plain scalars so that nothing is zeroed per call (a
    // WaiterId array would be); only the first n_wakes entries are ever read.
    detail::Actor* wake_actor[kMaxWakes];
    std::uint32_t wake_generation[kMaxWakes];
    std::size_t n_wakes = 0;
    std::size_t taken = 0;
    // Ring slots promised to the send_alls woken for room (they fill them after we unlock):
    // counted so that one free slot wakes one of them, not every one that waits.
    std::size_t promised = 0;
    c.lock();
    while (taken < limit) {
      if (const std::size_t k = std::min(limit - taken, c.queue.size()); k != 0) {
        c.queue.pop_into(out, k);
        taken += k;
        // Let parked senders into the room just made, oldest first; the ring already has
        // the slots, so these pushes neither allocate nor throw. The loop then takes their
        // values too if the limit allows.
        while (n_wakes < kMaxWakes && c.has_send_waiters_locked() &&
               c.queue.size() + promised < c.capacity()) {
          detail::Waiter* s = c.take_send_waiter_locked();
          if (!s) break;
          if (!s->slot) ++promised;
          // The id before admit_locked sets `filled`: from then on *s may be gone.
          wake_actor[n_wakes] = s->id.actor;
          wake_generation[n_wakes++] = s->id.generation;
          admit_locked(c, *s);
        }
        continue;
      }
      // Nothing queued, but a sender may be parked: on a rendezvous channel with its value
      // in hand (take it), or a send_all waiting for room (there is room: wake it).
      if (n_wakes < kMaxWakes && c.has_send_waiters_locked() &&
          (c.capacity() == 0 || promised < c.capacity())) {
        if (detail::Waiter* s = c.take_send_waiter_locked()) {
          wake_actor[n_wakes] = s->id.actor;  // before `filled`, as above
          wake_generation[n_wakes++] = s->id.generation;
          if (s->slot) {
            out.push_back(std::move(*static_cast<T*>(s->slot)));
            ++taken;
            s->filled.store(true, std::memory_order_release);
          } else {
            ++promised;
          }
          continue;
        }
      }
      break;
    }
    const std::size_t shrink_to = c.queue.wants_shrink() ? c.queue.shrink_target() : 0;
    c.unlock();
    for (std::size_t i = 0; i < n_wakes; ++i)
      detail::unpark(detail::WaiterId{wake_actor[i], wake_generation[i]});
    if (shrink_to != 0) [[unlikely]]
      shrink_queue(c, shrink_to);
    return taken;
  }

  // shrink_queue(c, cap) gives a drained ring's memory back (RingQueue::wants_shrink): the
  // smaller ring is allocated before the lock is taken and the old one freed after it is
  // released, so the lock is never held across the allocator. If values arrived
  // meanwhile, or the allocation fails, the ring stays as it is.
  static void shrink_queue(detail::ChannelState<T>& c, std::size_t cap) noexcept {
    if constexpr (std::is_nothrow_move_constructible_v<T>) {
      T* fresh = nullptr;
      try {
        fresh = detail::RingQueue<T>::allocate(cap);
      } catch (...) {
        return;  // out of memory: keep the larger ring, try again after more pops
      }
      std::size_t old_cap = 0;
      c.lock();
      T* old = c.queue.shrink_into(fresh, cap, &old_cap);
      c.unlock();
      detail::RingQueue<T>::release(old, old_cap);
    }
  }

 public:
  // recv_until(d) is recv() that gives up at deadline d with Errc::TimedOut (nothing is
  // consumed). A deadline already passed means "do not wait": a queued value is still
  // returned, an empty channel gives TimedOut at once. Deadline::max() waits forever.
  Result<T> recv_until(Deadline d) { return recv_impl(detail::to_deadline_ns(d)); }
  // recv_for(t) is recv_until(now + t); zero or negative t means "do not wait".
  template <class Rep, class Period>
  Result<T> recv_for(std::chrono::duration<Rep, Period> t) {
    return recv_until(detail::deadline_after(t));
  }

  // try_recv() never parks: the next value, WouldBlock if none is queued yet, or Closed.
  Result<T> try_recv() {
    if (!state_) return unexpected(Error(Errc::Closed, "try_recv() on an empty Receiver"));
    auto& c = *state_;
    c.lock();
    if (auto v = take_locked(c)) return Result<T>(std::move(*v));
    c.unlock();
    // Read senders after the queue: a sender that queued and then left is seen above.
    if (c.senders_gone()) {
      c.lock();
      if (auto v = take_locked(c)) return Result<T>(std::move(*v));
      c.unlock();
      return unexpected(Error(Errc::Closed, "channel closed"));
    }
    return unexpected(Error(Errc::WouldBlock));
  }

  // size() is the number of values queued now (a snapshot).
  std::size_t size() const noexcept {
    if (!state_) return 0;
    state_->lock();
    std::size_t n = state_->queue.size();
    state_->unlock();
    return n;
  }
  // is_closed() says whether every sender is gone (values may still be queued).
  bool is_closed() const noexcept { return !state_ || state_->senders_gone(); }
  // capacity() is the bound given to bounded_channel(), or unbounded_capacity.
  std::size_t capacity() const noexcept { return state_ ? state_->capacity() : 0; }
  // NOLINTNEXTLINE(readability-identifier-naming): public API, in the std style of npos
  static constexpr std::size_t unbounded_capacity = detail::ChannelCore::kUnbounded;

 private:
  friend Channel<T> channel<T>();
  friend Channel<T> bounded_channel<T>(std::size_t);
  friend struct detail::ChannelAccess;
  explicit Receiver(detail::ChannelState<T>* s) noexcept : state_(s) {}
  void reset() noexcept {
    if (auto* s = std::exchange(state_, nullptr)) {
      s->close_for_senders();       // parked senders wake with Closed and keep their values
      detail::RingQueue<T> doomed;  // destroyed after the lock is released
      s->lock();
      s->queue.swap(doomed);
      s->unlock();
      s->release();
    }
  }
  detail::ChannelState<T>* state_ = nullptr;
};

// channel<T>() makes a connected (Sender, Receiver) pair; use structured bindings:
// `auto [tx, rx] = smarm::channel<int>();`
template <class T>
Channel<T> channel() {
  auto* s = new detail::ChannelState<T>(detail::ChannelCore::kUnbounded);
  s->add_ref();  // the state starts with one reference; Sender and Receiver hold one each
  s->sender_added();
  return Channel<T>{Sender<T>(s), Receiver<T>(s)};
}

// bounded_channel<T>(n) makes a pair whose channel holds at most n values: send() parks
// while it is full, try_send() fails with Full. n == 0 is a rendezvous channel: every
// send waits until a receiver takes its value (Go's unbuffered channel). The buffer grows
// on demand up to n, so a large bound costs nothing until it fills.
template <class T>
Channel<T> bounded_channel(std::size_t capacity) {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "bounded_channel<T> moves values between parked actors and needs T to have "
                "a noexcept move constructor");
  auto* s = new detail::ChannelState<T>(capacity);
  s->add_ref();
  s->sender_added();
  return Channel<T>{Sender<T>(s), Receiver<T>(s)};
}

}  // namespace smarm
