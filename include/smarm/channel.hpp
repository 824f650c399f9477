// channel.hpp — channel<T>(): an unbounded multi-producer, single-consumer channel.
//
//   auto [tx, rx] = smarm::channel<std::string>();
//   tx.send("hi").value();            // never blocks on an unbounded channel
//   auto v = rx.recv();               // parks the calling actor until a value or Closed
//
// Values are moved through the channel, never copied, so move-only types work.
// Sender<T> is copyable (each copy is one more sender); Receiver<T> is move-only.
// Close semantics: when every Sender is gone, recv() drains what was sent and then returns
// Errc::Closed. When the Receiver is gone, send() fails with a SendError that hands the
// value back (std::move(err).into_value()); values still queued are destroyed.
#pragma once

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

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
    return code_ == Errc::Closed ? "send on a channel whose receiver is gone" : errc_name(code_);
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

  // send(v) queues v for the receiver and wakes it if it is parked. Never parks on an
  // unbounded channel. Fails with Closed (handing v back) if the receiver is gone.
  Result<void, SendError<T>> send(T v) {
    if (!state_) return SendError<T>(Errc::Closed, std::move(v));
    auto& c = *state_;
    c.lock();
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
    if (!self) return unexpected(Error(Errc::NotInActor, "recv() called outside an actor"));
    if (detail::is_cancelled(self))
      return unexpected(Error(Errc::Cancelled, "recv(): the caller was cancelled"));
    if (!state_) return unexpected(Error(Errc::Closed, "recv() on an empty Receiver"));
    auto& c = *state_;
    std::optional<T> slot;  // where a sender hands a value over directly
    c.lock();
    for (;;) {
      if (!c.queue.empty()) {
        T v = c.queue.pop();
        c.unlock();
        return Result<T>(std::move(v));
      }
      auto r = c.wait_recv_locked(self, &slot, deadline_ns);
      if (!r) return unexpected(std::move(r).error());
      if (*r) return Result<T>(std::move(*slot));
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
    if (!c.queue.empty()) {
      T v = c.queue.pop();
      c.unlock();
      return Result<T>(std::move(v));
    }
    c.unlock();
    // Read senders after the queue: a sender that queued and then left is seen above.
    if (c.senders_gone()) {
      c.lock();
      bool empty = c.queue.empty();
      if (!empty) {
        T v = c.queue.pop();
        c.unlock();
        return Result<T>(std::move(v));
      }
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

 private:
  friend Channel<T> channel<T>();
  explicit Receiver(detail::ChannelState<T>* s) noexcept : state_(s) {}
  void reset() noexcept {
    if (auto* s = std::exchange(state_, nullptr)) {
      detail::RingQueue<T> doomed;  // destroyed after the lock is released
      s->lock();
      s->mark_receiver_dropped_locked();
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

}  // namespace smarm
