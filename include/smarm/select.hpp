// SPDX-License-Identifier: Apache-2.0
// select.hpp — smarm::select: wait on several channel operations, and complete exactly one.
//
//   using namespace std::chrono_literals;
//   auto s = smarm::select(smarm::recv(rx), smarm::recv(mb), smarm::send(tx, std::move(v)),
//                          smarm::after(5ms));
//   switch (s.index()) {
//     case 0: if (s) use(s.get<0>()); else /* s.error() == Errc::Closed */; break;
//     case 1: handle(std::move(s).get<1>()); break;
//     case 2: /* v was sent */ break;
//     case 3: /* s.error() == Errc::TimedOut */ break;
//     default: /* Selected::npos: s.error() is Cancelled or NotInActor */ break;
//   }
//   if (auto back = s.take_back<2>()) retry_later(std::move(*back));  // v, if not sent
//
// Cases: recv(rx) (a Receiver<T> or, via mailbox.hpp, a Mailbox<Msg>), send(tx, v) (a
// Sender<T> or an Address<Msg>), after(d) / until(deadline) (a timeout), otherwise() (a
// default branch: select never waits). At most one of after/until/otherwise.
//
// Contract:
// - Exactly one case fires; index() names it. Nothing else happens: no other recv case
//   consumed a value, no other send case sent one (its value comes back by take_back<I>()).
// - A recv case on a channel whose senders are all gone (and that is drained) fires with
//   Errc::Closed; a send case on a channel whose receiver is gone fires with Errc::Closed
//   (its value comes back by take_back<I>()). A closed channel never blocks a select: it
//   is ready, like Go's closed channel, so a loop over select must drop the case it no
//   longer wants.
// - Only the timeout yields TimedOut (the after/until case fires). A timeout already
//   passed (zero or negative) means "do not wait": ready cases are still taken first.
// - The select itself fails (index() == npos) with Cancelled (the caller was cancelled:
//   checked on entry and after every wake-up, as every blocking call) or NotInActor (it
//   could have to wait outside an actor). A select with otherwise() never waits, ignores
//   cancellation and works from any thread.
// - Fair: each poll tries the channel cases in a fresh random order, so every ready case
//   is equally likely to fire, whatever the position of the others and of the timeout
//   (after/until/otherwise fire only when no channel case is ready).
// - Zero cases (a static_assert says so), or an argument that is not a case (no matching
//   select), is a compile error.
//
// How (LOOM.md, "Facade: mailbox"): one Waiter per channel case, all sharing one claim
// word; a waker must win the claim (0 -> 1) before it hands a value over, and the select
// takes it itself (0 -> 2) when it wakes for any other reason, so no queue can complete it
// after that. It then unregisters from every queue under each queue's lock.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <smarm/channel.hpp>
#include <smarm/detail/channel_core.hpp>
#include <smarm/detail/core.hpp>
#include <smarm/error.hpp>
#include <smarm/timer.hpp>

namespace smarm {

// RecvCase<T>: take one value from a Receiver<T>. Built by recv(rx); refers to rx, which
// must outlive the select() call (it does when written inline in the call).
template <class T>
struct RecvCase {
  Receiver<T>* rx;
};
// SendCase<T>: send `value` on a Sender<T>. Built by send(tx, v); owns v until it is sent.
template <class T>
struct SendCase {
  Sender<T>* tx;
  T value;
};
// AfterCase: fire with TimedOut at `deadline`. Built by after(d) or until(deadline).
struct AfterCase {
  Deadline deadline;
};
// OtherwiseCase: fire at once when no other case is ready. Built by otherwise().
struct OtherwiseCase {};

// recv(rx) is a select case that receives from rx.
template <class T>
RecvCase<T> recv(Receiver<T>& rx) noexcept {
  return RecvCase<T>{&rx};
}
// send(tx, v) is a select case that sends v on tx (v converts to T).
template <class T>
SendCase<T> send(Sender<T>& tx, std::type_identity_t<T> v) {
  return SendCase<T>{&tx, std::move(v)};
}
// after(d) is a select case that fires with TimedOut once d has passed (counted from the
// call to after(), i.e. from the select call). Zero or negative: do not wait.
template <class Rep, class Period>
AfterCase after(std::chrono::duration<Rep, Period> d) noexcept {
  return AfterCase{detail::deadline_after(d)};
}
// until(d) is a select case that fires with TimedOut at deadline d (Deadline::max(): never).
inline AfterCase until(Deadline d) noexcept { return AfterCase{d}; }
// otherwise() is a select case that fires when nothing else is ready: select never waits.
inline OtherwiseCase otherwise() noexcept { return {}; }

namespace detail {

enum class SelectKind : std::uint8_t { Recv, Send, After, Otherwise };

// SelectCaseTraits<C>: what a case is and what the result keeps for it (the received
// value for a recv case, the not-yet-sent value for a send case).
template <class C>
struct SelectCaseTraits {};
template <class T>
struct SelectCaseTraits<RecvCase<T>> {
  static constexpr SelectKind kKind = SelectKind::Recv;
  using Stored = std::optional<T>;
};
template <class T>
struct SelectCaseTraits<SendCase<T>> {
  static constexpr SelectKind kKind = SelectKind::Send;
  using Stored = std::optional<T>;
};
template <>
struct SelectCaseTraits<AfterCase> {
  static constexpr SelectKind kKind = SelectKind::After;
  using Stored = std::monostate;
};
template <>
struct SelectCaseTraits<OtherwiseCase> {
  static constexpr SelectKind kKind = SelectKind::Otherwise;
  using Stored = std::monostate;
};

template <class C>
concept select_case = requires {
  SelectCaseTraits<std::remove_cvref_t<C>>::kKind;
};

struct ChannelAccess {
  template <class T>
  static ChannelState<T>* state(Receiver<T>& r) noexcept {
    return r.state_;
  }
  template <class T>
  static ChannelState<T>* state(Sender<T>& s) noexcept {
    return s.state_;
  }
};

// select_shuffle(order, n) puts order[0..n) in a fresh uniformly random order (a
// Fisher-Yates shuffle; per-thread generator state, used within one non-switching call).
// Each poll of a select visits its channel cases in such an order (Go's pollorder): a
// fixed or merely rotated order favours some ready cases over others.
void select_shuffle(std::uint8_t* order, std::size_t n) noexcept;
// select_park(object, deadline_ns) parks the calling actor (WaitKind::Select on object)
// until an unpark, a cancel or the deadline (kNoDeadline: none), arming and disarming the
// worker's timer itself. May return spuriously.
void select_park(const void* object, std::int64_t deadline_ns) noexcept;

template <class... Cases>
class SelectRun;

}  // namespace detail

// Selected<Cases...> is the outcome of select(): which case fired and what it carried.
template <class... Cases>
class Selected {
 public:
  // NOLINTNEXTLINE(readability-identifier-naming): public API, named after std::string::npos
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // index() is the case that fired (its position in the select call), or npos when the
  // select itself failed (Cancelled, NotInActor).
  std::size_t index() const noexcept { return index_; }
  // has_value() / operator bool: the fired case completed (a value received or sent,
  // otherwise() taken). False for a timeout, a closed channel, or a failed select.
  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  // error() says why not: Closed (the fired case's channel), TimedOut (after/until fired),
  // Cancelled, NotInActor. On success it is InvalidArgument("no error").
  Error error() const {
    return error_ ? *error_ : Error(Errc::InvalidArgument, "select succeeded: no error");
  }
  // fired<I>() says whether case I fired (with or without an error).
  template <std::size_t I>
  bool fired() const noexcept {
    return index_ == I;
  }

  // get<I>() is the value recv case I received. Throws BadResultAccess unless case I fired
  // with a value (like Result::value()).
  template <std::size_t I>
  auto& get() & {
    static_assert(kind<I>() == detail::SelectKind::Recv, "get<I>(): case I is not a recv case");
    check_value<I>();
    return *std::get<I>(stored_);
  }
  template <std::size_t I>
  auto&& get() && {
    static_assert(kind<I>() == detail::SelectKind::Recv, "get<I>(): case I is not a recv case");
    check_value<I>();
    return std::move(*std::get<I>(stored_));
  }

  // take_back<I>() returns send case I's value if it was not sent (another case fired,
  // the channel was closed, or the select failed), and empties the slot; nullopt if it
  // was sent or already taken back.
  template <std::size_t I>
  auto take_back() {
    static_assert(kind<I>() == detail::SelectKind::Send,
                  "take_back<I>(): case I is not a send case");
    auto out = std::move(std::get<I>(stored_));
    std::get<I>(stored_).reset();
    return out;
  }

 private:
  template <class...>
  friend class detail::SelectRun;

  template <std::size_t I>
  static constexpr detail::SelectKind kind() {
    return detail::SelectCaseTraits<std::tuple_element_t<I, std::tuple<Cases...>>>::kKind;
  }
  template <std::size_t I>
  void check_value() const {
    if (index_ != I || error_ || !std::get<I>(stored_)) {
      Error e =
          index_ != I ? Error(Errc::InvalidArgument, "get<I>(): case I did not fire") : error();
      throw BadResultAccess(e.code(), e.message());
    }
  }

  std::size_t index_ = npos;
  std::optional<Error> error_;
  std::tuple<typename detail::SelectCaseTraits<Cases>::Stored...> stored_;
};

namespace detail {

// SelectRun is one select() call: its waiters live here, on the caller's stack, for the
// whole call; the values live in the Selected it fills (returned afterwards).
template <class... Cases>
class SelectRun {
  static constexpr std::size_t kN = sizeof...(Cases);
  using Out = Selected<Cases...>;
  template <std::size_t I>
  using CaseAt = std::tuple_element_t<I, std::tuple<Cases...>>;
  template <std::size_t I>
  static constexpr SelectKind kKind = SelectCaseTraits<CaseAt<I>>::kKind;

  static constexpr std::size_t count(SelectKind k) noexcept {
    return ((SelectCaseTraits<Cases>::kKind == k ? 1u : 0u) + ...);
  }
  static constexpr std::size_t find(SelectKind k) {
    constexpr SelectKind kKinds[] = {SelectCaseTraits<Cases>::kKind...};
    for (std::size_t i = 0; i < kN; ++i)
      if (kKinds[i] == k) return i;
    return kN;
  }

 public:
  static constexpr bool kHasOtherwise = count(SelectKind::Otherwise) > 0;
  static constexpr std::size_t kAfter = find(SelectKind::After);
  static constexpr std::size_t kOtherwise = find(SelectKind::Otherwise);
  // The channel cases (recv and send), in call order: what each poll shuffles. The
  // after/otherwise case is never in the draw — it fires only when none of these is ready.
  static constexpr std::size_t kChannelCases = count(SelectKind::Recv) + count(SelectKind::Send);
  static_assert(kN <= 255, "smarm::select() takes at most 255 cases");

  explicit SelectRun(Cases&... cases) : cases_(cases...) {
    init(std::index_sequence_for<Cases...>{});
  }

  Out run() {
    Actor* self = nullptr;
    if constexpr (!kHasOtherwise) {
      self = current_actor();
      if (!self) return fail(detail::not_in_actor("select() may wait, outside an actor"));
    }
    Deadline deadline = Deadline::max();
    if constexpr (kAfter < kN) deadline = std::get<kAfter>(cases_).deadline;
    const std::int64_t deadline_ns =
        deadline == Deadline::max() ? kNoDeadline : to_deadline_ns(deadline);
    std::array<std::uint8_t, kChannelCases> order = channel_case_indices();
    for (;;) {
      if constexpr (!kHasOtherwise) {
        if (is_cancelled(self)) return fail(Errc::Cancelled, "select(): the caller was cancelled");
      }
      // 1. Poll every channel case once, without waiting, in a fresh random order
      //    (fairness among the ready ones).
      if constexpr (kChannelCases > 1) select_shuffle(order.data(), kChannelCases);
      for (std::uint8_t i : order)
        if (dispatch<Op::Poll>(i)) return std::move(out_);
      if constexpr (kHasOtherwise) {
        out_.index_ = kOtherwise;
        return std::move(out_);
      } else {
        if (kAfter < kN && Clock::now() >= deadline) {
          out_.index_ = kAfter;
          out_.error_ = Error(Errc::TimedOut, "select(): no case was ready before the deadline");
          return std::move(out_);
        }
        // 2. Register on every queue. A case that became ready since the poll aborts the
        //    registration (and we poll again) — but a queue registered earlier in this
        //    pass may already have completed us, so the abort goes through step 4 too.
        claim_.store(0, std::memory_order_relaxed);  // no waker can see it yet
        bool ready = false;
        for (std::size_t i = 0; i < kN && !ready; ++i) ready = dispatch<Op::Register>(i);
        // 3. Park until a waker, the timer, a cancel or a spurious wake-up.
        if (!ready) select_park(&claim_, deadline_ns);
        // 4. Close the door: after this CAS no queue may complete us. If a waker won the
        //    claim first, it fills its waiter under its channel's lock; unregistering
        //    takes every lock, so the fill is visible afterwards.
        int expected = 0;
        // acq_rel: pairs with the wakers' claim CAS (Waiter::try_claim).
        const bool waker_won =
            !claim_.compare_exchange_strong(expected, 2, std::memory_order_acq_rel);
        unregister_all();
        if (waker_won)
          for (std::size_t i = 0; i < kN; ++i)
            if (dispatch<Op::Filled>(i)) return std::move(out_);
        // Woken by a close, a cancel, the timer or a claim without a value (a waker that
        // only signals), or registration aborted: look again.
      }
    }
  }

 private:
  template <std::size_t... Is>
  void init(std::index_sequence<Is...>) {
    (init_case<Is>(), ...);
  }
  template <std::size_t I>
  void init_case() {
    if constexpr (kKind<I> == SelectKind::Send)
      std::get<I>(out_.stored_).emplace(std::move(std::get<I>(cases_).value));
  }

  // dispatch<O>(i) runs step `O` on case i (a run-time index over compile-time cases).
  enum class Op { Poll, Register, Filled };
  template <Op O>
  bool dispatch(std::size_t i) {
    return dispatch_impl<O>(i, std::index_sequence_for<Cases...>{});
  }
  template <Op O, std::size_t... Is>
  bool dispatch_impl(std::size_t i, std::index_sequence<Is...>) {
    bool r = false;
    (void)((i == Is ? (r = step<O, Is>(), true) : false) || ...);
    return r;
  }
  template <Op O, std::size_t I>
  bool step() {
    if constexpr (O == Op::Poll)
      return poll<I>();
    else if constexpr (O == Op::Register)
      return register_case<I>();
    else
      return filled<I>();
  }

  Out fail(Errc code, const char* what) { return fail(Error(code, what)); }
  Out fail(Error&& e) {
    out_.index_ = Out::npos;
    out_.error_ = std::move(e);
    return std::move(out_);
  }
  template <std::size_t I>
  // NOLINTNEXTLINE(performance-unnecessary-value-param): e is moved below (into a dependent out_)
  bool fire(std::optional<Error> e = std::nullopt) {
    out_.index_ = I;
    out_.error_ = std::move(e);
    return true;
  }

  // poll<I>: complete case I now if it can be; true if it fired.
  template <std::size_t I>
  bool poll() {
    auto& c = std::get<I>(cases_);
    if constexpr (kKind<I> == SelectKind::Recv) {
      auto r = c.rx->try_recv();
      if (r) {
        std::get<I>(out_.stored_).emplace(std::move(*r));
        return fire<I>();
      }
      if (r.error().code() == Errc::Closed) return fire<I>(std::move(r).error());
      return false;  // WouldBlock
    } else if constexpr (kKind<I> == SelectKind::Send) {
      auto& v = std::get<I>(out_.stored_);
      auto r = c.tx->try_send(std::move(*v));
      if (r) {
        v.reset();
        return fire<I>();
      }
      const Errc code = r.error().code();
      v.emplace(std::move(r.error()).into_value());
      if (code == Errc::Closed)
        return fire<I>(Error(code, "select(): send case on a channel whose receiver is gone"));
      return false;  // Full
    } else {
      return false;  // after/otherwise: decided by run() once nothing else is ready
    }
  }

  // register_case<I>: with I's channel lock held, either find I ready (true: the caller
  // polls again) or register its waiter. A select's own waiters never count as ready,
  // so a select may both send to and receive from one channel.
  template <std::size_t I>
  bool register_case() {
    if constexpr (kKind<I> == SelectKind::Recv || kKind<I> == SelectKind::Send) {
      auto& c = std::get<I>(cases_);
      Waiter& w = waiters_[I];
      if constexpr (kKind<I> == SelectKind::Recv) {
        auto* st = ChannelAccess::state(*c.rx);
        if (!st) return true;  // an empty Receiver is closed: the poll reports it
        st->lock();
        if (!st->queue.empty() || st->senders_gone() || st->has_send_waiter_locked(&claim_)) {
          st->unlock();
          return true;
        }
        prepare(w, &std::get<I>(out_.stored_));
        st->select_add_recv_locked(w);
        st->unlock();
        core_[I] = st;
      } else {
        auto* st = ChannelAccess::state(*c.tx);
        if (!st) return true;
        st->lock();
        if (!st->receiver_alive_locked() || st->queue.size() < st->capacity() ||
            st->has_recv_waiter_locked(&claim_)) {
          st->unlock();
          return true;
        }
        prepare(w, &*std::get<I>(out_.stored_));
        st->enqueue_sender_locked(w);
        st->unlock();
        core_[I] = st;
      }
    }
    return false;
  }
  void prepare(Waiter& w, void* slot) noexcept {
    w.id = current_waiter();
    w.claim = &claim_;
    w.slot = slot;
    w.filled.store(false, std::memory_order_relaxed);  // registered under the lock after
  }

  // unregister_all takes every registered case off its queue (each under its lock).
  void unregister_all() noexcept {
    for (std::size_t i = 0; i < kN; ++i) {
      ChannelCore* c = core_[i];
      if (!c) continue;
      c->lock();
      if (kRecvCase[i])
        c->select_remove_recv_locked(waiters_[i]);
      else
        c->select_remove_send_locked(waiters_[i]);
      c->unlock();
      core_[i] = nullptr;
    }
  }

  // filled<I>: after unregistering, did a waker complete case I? (Its value is in the
  // recv slot, or was moved out of the send slot.)
  template <std::size_t I>
  bool filled() {
    if constexpr (kKind<I> == SelectKind::Recv || kKind<I> == SelectKind::Send) {
      // acquire: pairs with the waker's release store (also ordered by the lock we took).
      if (!waiters_[I].filled.load(std::memory_order_acquire)) return false;
      if constexpr (kKind<I> == SelectKind::Send) std::get<I>(out_.stored_).reset();
      return fire<I>();
    } else {
      return false;
    }
  }

  static constexpr std::array<std::uint8_t, kChannelCases> channel_case_indices() noexcept {
    constexpr SelectKind kKinds[] = {SelectCaseTraits<Cases>::kKind...};
    std::array<std::uint8_t, kChannelCases> out{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < kN; ++i)
      if (kKinds[i] == SelectKind::Recv || kKinds[i] == SelectKind::Send)
        out[n++] = static_cast<std::uint8_t>(i);
    return out;
  }

  static constexpr std::array<bool, kN> recv_flags() {
    return {SelectCaseTraits<Cases>::kKind == SelectKind::Recv...};
  }

  std::tuple<Cases&...> cases_;
  Out out_;
  std::atomic<int> claim_{0};
  Waiter waiters_[kN];
  ChannelCore* core_[kN] = {};  // the queue case i is registered on, or null
  static constexpr std::array<bool, kN> kRecvCase = recv_flags();
};

}  // namespace detail

// select(cases...) waits until one of the cases can complete, completes it, and returns
// which one fired and with what (Selected). See the top of this file for the contract.
// Parks the calling actor (unless otherwise() is among the cases).
// Constrained to cases, so that POSIX ::select stays callable beside `using namespace
// smarm` (an argument that is not a case makes this overload non-viable).
template <class... Cases>
requires(detail::select_case<Cases>&&...) Selected<std::remove_cvref_t<Cases>...> select(
    Cases&&... cases) {
  static_assert(sizeof...(Cases) > 0,
                "smarm::select() needs at least one case: recv(rx), send(tx, v), after(d), "
                "until(deadline) or otherwise()");
  static_assert(
      (0 + ... +
       (detail::SelectCaseTraits<std::remove_cvref_t<Cases>>::kKind == detail::SelectKind::After ||
        detail::SelectCaseTraits<std::remove_cvref_t<Cases>>::kKind ==
            detail::SelectKind::Otherwise)) <= 1,
      "smarm::select() takes at most one of after(), until() and otherwise()");
  if constexpr (sizeof...(Cases) > 0) {  // keeps the static_assert the only diagnostic
    detail::SelectRun<std::remove_cvref_t<Cases>...> run(cases...);
    return run.run();
  } else {
    return {};
  }
}

}  // namespace smarm
