// SPDX-License-Identifier: Apache-2.0
// mailbox.hpp — typed mailboxes: actors addressed by what they accept, and ask/reply.
//
//   struct Add { int n; };
//   struct Get { smarm::ReplyTo<int> reply_to; };      // a request: ask() fills reply_to
//   using Msg = std::variant<Add, Get>;
//
//   auto [counter, h] = smarm::spawn_actor<Msg>([](smarm::Mailbox<Msg>& mb) {
//     int total = 0;
//     while (mb.recv(smarm::overloaded{
//                [&](Add a) { total += a.n; },
//                [&](Get g) { (void)g.reply_to.send(total); },
//            })) {
//     }                                                 // Closed: every address is gone
//     return total;
//   });
//   counter.send(Add{2}).value();                       // Address<Msg>: copyable
//   int now = smarm::ask(counter, Get{}, 100ms).value();  // Result<int>
//
// - spawn_actor<Msg>(f, options) starts f(Mailbox<Msg>&) on a new actor and returns its
//   Address<Msg> and JoinHandle. The mailbox is a channel<Msg> (unbounded, the default)
//   or a bounded_channel<Msg>(options.capacity) whose full mailbox parks senders
//   (try_send fails with Full) — overload protection. capacity 0 is a rendezvous.
// - The mailbox lives as long as f runs. When f returns (or throws), the actor is dead:
//   every send to it fails with Closed and hands the message back (SendError), and the
//   messages still queued are destroyed. When every Address is gone, recv() returns
//   Closed once the queue is drained, so an actor can end when nobody can reach it.
// - Msg may be a std::variant: mb.recv(smarm::overloaded{...}) receives one message and
//   visits it; the visitor gets the alternative as an rvalue (take it by value, `T&&` or
//   `const T&`; a `T&` handler does not bind). Any Msg may be received with a plain
//   callable the same way.
// - Request-reply: a request type holds a `ReplyTo<R> reply_to` member; ask(addr, req,
//   timeout) makes a one-shot reply channel, puts its sending end in req.reply_to, sends
//   req and waits for the reply: Result<R>. TimedOut (no reply in time), Closed (the
//   target is dead, or dropped the request without replying), Panicked (its handler threw
//   before replying: the text join() gives), Cancelled, NotInActor.
// - select.hpp's cases take mailboxes and addresses: recv(mb), send(addr, msg).
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>
#include <variant>

#include <smarm/channel.hpp>
#include <smarm/error.hpp>
#include <smarm/overloaded.hpp>
#include <smarm/pid.hpp>
#include <smarm/select.hpp>
#include <smarm/spawn.hpp>
#include <smarm/timer.hpp>

namespace smarm {

// MailboxOptions configure spawn_actor: the mailbox's bound and the actor's SpawnOptions.
struct MailboxOptions {
  static constexpr std::size_t kUnbounded = detail::ChannelCore::kUnbounded;
  // capacity: at most this many messages wait unreceived; a sender to a full mailbox
  // parks (try_send: Full). kUnbounded (the default): senders never wait. 0: rendezvous.
  // A bound needs Msg to have a noexcept move constructor (else spawn_actor fails with
  // InvalidArgument).
  std::size_t capacity = kUnbounded;
  SpawnOptions spawn{};  // name, stack size, deadline of the actor
};

template <class Msg>
class Mailbox;
template <class Msg>
class Address;
template <class R>
class ReplyTo;

namespace detail {
// A request is a message with a `ReplyTo<R> reply_to` member (ask() fills it).
template <class T>
struct IsReplyTo : std::false_type {};
template <class R>
struct IsReplyTo<ReplyTo<R>> : std::true_type {};
template <class Req>
concept request_with_reply = requires(Req& r) {
  requires IsReplyTo<std::remove_cvref_t<decltype(r.reply_to)>>::value;
};

// MailboxAccess builds mailboxes, addresses and reply ends for spawn_actor and ask.
struct MailboxAccess {
  template <class Msg>
  static Mailbox<Msg> mailbox(Receiver<Msg> rx) noexcept {
    return Mailbox<Msg>(std::move(rx));
  }
  template <class Msg>
  static Address<Msg> address(Sender<Msg> tx, Pid pid) noexcept {
    return Address<Msg>(std::move(tx), pid);
  }
  template <class R>
  static ReplyTo<R> reply_to(Sender<Result<R>> tx) noexcept {
    return ReplyTo<R>(std::move(tx));
  }
  // reply_watch(r) is a second sending end on r's reply channel, for the Mailbox that
  // dispatches r's request: if the handler throws before replying, the watch reports the
  // panic to the asker.
  template <class R>
  static Sender<Result<R>> reply_watch(const ReplyTo<R>& r) {
    return r.tx_;
  }
};

template <class T>
struct IsVariant : std::false_type {};
template <class... Ts>
struct IsVariant<std::variant<Ts...>> : std::true_type {};

// apply_message hands m to the visitor: std::visit for a variant, a plain call otherwise.
template <class Msg, class V>
decltype(auto) apply_message(V& visitor, Msg&& m) {
  if constexpr (IsVariant<Msg>::value)
    return std::visit(visitor, std::move(m));
  else
    return std::invoke(visitor, std::move(m));
}

template <class V, class Msg>
concept message_visitor = requires(V& v, Msg&& m) {
  apply_message<Msg>(v, std::move(m));
};

template <class V, class Msg>
using VisitResult =
    std::remove_cvref_t<decltype(apply_message<Msg>(std::declval<V&>(), std::declval<Msg&&>()))>;
}  // namespace detail

// Mailbox<Msg> is an actor's own queue of Msg, handed to the body spawn_actor starts.
// Only that actor receives from it (neither copyable nor movable: take it by reference).
// Every receive follows Receiver<Msg>: Closed (every address gone, queue drained),
// Cancelled (checked first), TimedOut (recv_for/recv_until), NotInActor.
template <class Msg>
class Mailbox {
 public:
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // recv() parks until a message arrives.
  Result<Msg> recv() { return rx_.recv(); }
  // recv_for(t) / recv_until(d) give up with TimedOut; zero or negative t: do not wait.
  template <class Rep, class Period>
  Result<Msg> recv_for(std::chrono::duration<Rep, Period> t) {
    return rx_.recv_for(t);
  }
  Result<Msg> recv_until(Deadline d) { return rx_.recv_until(d); }
  // try_recv() never parks: WouldBlock when nothing is queued. Works from any thread.
  Result<Msg> try_recv() { return rx_.try_recv(); }

  // recv(visitor) receives one message and visits it (std::visit for a variant Msg):
  // Result<R> with R what the visitor returns (Result<void> for void), or the receive's
  // error (the visitor is then not called).
  template <class V>
  requires detail::message_visitor<V, Msg> Result<detail::VisitResult<V, Msg>> recv(V&& visitor) {
    return deliver(rx_.recv(), visitor);
  }
  template <class Rep, class Period, class V>
  requires detail::message_visitor<V, Msg> Result<detail::VisitResult<V, Msg>> recv_for(
      std::chrono::duration<Rep, Period> t, V&& visitor) {
    return deliver(rx_.recv_for(t), visitor);
  }
  template <class V>
  requires detail::message_visitor<V, Msg> Result<detail::VisitResult<V, Msg>> recv_until(
      Deadline d, V&& visitor) {
    return deliver(rx_.recv_until(d), visitor);
  }
  template <class V>
  requires detail::message_visitor<V, Msg> Result<detail::VisitResult<V, Msg>> try_recv(
      V&& visitor) {
    return deliver(rx_.try_recv(), visitor);
  }

  // size() is the number of messages waiting now (a snapshot).
  std::size_t size() const noexcept { return rx_.size(); }
  // capacity() is MailboxOptions::capacity (kUnbounded by default).
  std::size_t capacity() const noexcept { return rx_.capacity(); }
  // is_closed() says whether every Address is gone (messages may still be queued).
  bool is_closed() const noexcept { return rx_.is_closed(); }
  // receiver() is the channel underneath (a range, a select case via recv(mb)).
  Receiver<Msg>& receiver() noexcept { return rx_; }

 private:
  friend struct detail::MailboxAccess;
  explicit Mailbox(Receiver<Msg> rx) noexcept : rx_(std::move(rx)) {}

  template <class V>
  static Result<detail::VisitResult<V, Msg>> deliver(Result<Msg> m, V& visitor) {
    using R = detail::VisitResult<V, Msg>;
    if (!m) return unexpected(std::move(m).error());
    if constexpr (std::is_void_v<R>) {
      visit_guarded(visitor, std::move(*m));
      return {};
    } else {
      return Result<R>(visit_guarded(visitor, std::move(*m)));
    }
  }
  // visit_guarded is apply_message, with each request (a message with a reply_to) watched
  // while its handler runs: see call_guarded.
  template <class V>
  static decltype(auto) visit_guarded(V& visitor, Msg&& m) {
    if constexpr (detail::IsVariant<Msg>::value)
      return std::visit(
          [&visitor](auto&& alt) -> decltype(auto) {
            return call_guarded(visitor, std::forward<decltype(alt)>(alt));
          },
          std::move(m));
    else
      return call_guarded(visitor, std::move(m));
  }
  // call_guarded calls the visitor on one message. For a request it first takes a second
  // handle on the reply channel: if the handler throws before it replied, the asker gets
  // Panicked ("<type>: <what()>", as join() would say) instead of a bare Closed, and the
  // exception goes on unwinding this actor. A reply already sent wins (ask() takes the
  // first value on the channel).
  template <class V, class Alt>
  static decltype(auto) call_guarded(V& visitor, Alt&& alt) {
    if constexpr (detail::request_with_reply<std::remove_cvref_t<Alt>>) {
      auto watch = detail::MailboxAccess::reply_watch(alt.reply_to);
      try {
        return std::invoke(visitor, std::forward<Alt>(alt));
      } catch (...) {
        report_panic(watch);
        throw;
      }
    } else {
      return std::invoke(visitor, std::forward<Alt>(alt));
    }
  }
  template <class R>
  static void report_panic(Sender<Result<R>>& watch) noexcept {
    try {
      (void)watch.try_send(Result<R>(unexpected(
          Error(Errc::Panicked, detail::describe_current_exception(), std::current_exception()))));
    } catch (...) {  // out of memory while describing: the asker sees Closed, as before
    }
  }

  Receiver<Msg> rx_;
};

// Address<Msg> is how others reach an actor's mailbox: copyable, cheap (one reference
// count), usable from any actor (and, for sends that never wait, from any thread).
// A default-constructed Address reaches no one: every send fails with Closed.
template <class Msg>
class Address {
 public:
  Address() = default;

  // send(m) delivers m; on a bounded mailbox it parks while the mailbox is full. A failed
  // send hands m back in its SendError: Closed (the actor is dead), Cancelled,
  // NotInActor (it would have to wait, outside an actor).
  Result<void, SendError<Msg>> send(Msg m) const { return tx_.send(std::move(m)); }
  // send_for / send_until give up with TimedOut (m handed back) while the mailbox stays
  // full; zero or negative: do not wait.
  template <class Rep, class Period>
  Result<void, SendError<Msg>> send_for(Msg m, std::chrono::duration<Rep, Period> t) const {
    return tx_.send_for(std::move(m), t);
  }
  Result<void, SendError<Msg>> send_until(Msg m, Deadline d) const {
    return tx_.send_until(std::move(m), d);
  }
  // try_send(m) never parks: Full (m handed back) when a bounded mailbox is full, Closed
  // when the actor is dead. Works from any thread.
  Result<void, SendError<Msg>> try_send(Msg m) const { return tx_.try_send(std::move(m)); }

  // pid() is the actor's pid (invalid for a default-constructed Address).
  Pid pid() const noexcept { return pid_; }
  // is_closed() says whether the actor's mailbox is gone (every send would fail).
  bool is_closed() const noexcept { return tx_.is_closed(); }
  // sender() is the channel end underneath (a select case via send(addr, m)).
  Sender<Msg>& sender() const noexcept { return tx_; }

 private:
  friend struct detail::MailboxAccess;
  Address(Sender<Msg> tx, Pid pid) noexcept : tx_(std::move(tx)), pid_(pid) {}

  // mutable: sending does not change which actor the address names, so the send calls
  // are const and a const Address (a captured copy) can send.
  mutable Sender<Msg> tx_;
  Pid pid_{};
};

// SpawnedActor is what spawn_actor returns: `auto [addr, handle] = spawn_actor<Msg>(f);`
template <class Msg, class R>
struct SpawnedActor {
  Address<Msg> address;
  JoinHandle<R> handle;
};

// spawn_actor<Msg>(f, options) starts f(Mailbox<Msg>&) on a new actor (spawn(), so the
// child runs first) and returns its address and join handle. The handle's join() gives
// f's return value. If the actor cannot be started, join() says why (as spawn()) and the
// address is closed; a bounded mailbox for a Msg without a noexcept move constructor
// fails the same way with InvalidArgument.
template <class Msg, class F>
auto spawn_actor(F&& f, MailboxOptions options = {}) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&, Mailbox<Msg>&>,
                "spawn_actor<Msg>(f): f must be callable as f(smarm::Mailbox<Msg>&)");
  using R = std::invoke_result_t<Fn&, Mailbox<Msg>&>;
  using Spawned = SpawnedActor<Msg, R>;

  Sender<Msg> tx;
  Receiver<Msg> rx;
  if (options.capacity == MailboxOptions::kUnbounded) {
    auto ch = channel<Msg>();
    tx = std::move(ch.tx);
    rx = std::move(ch.rx);
  } else if constexpr (std::is_nothrow_move_constructible_v<Msg>) {
    auto ch = bounded_channel<Msg>(options.capacity);
    tx = std::move(ch.tx);
    rx = std::move(ch.rx);
  } else {
    return Spawned{Address<Msg>{}, detail::HandleAccess::make<R>(Error(
                                       Errc::InvalidArgument,
                                       "spawn_actor(): a bounded mailbox needs a message type "
                                       "with a noexcept move constructor"))};
  }
  auto body = [fn = Fn(std::forward<F>(f)), rx = std::move(rx)]() mutable -> R {
    Mailbox<Msg> mb = detail::MailboxAccess::mailbox(std::move(rx));
    return std::invoke(fn, mb);
  };
  auto handle = spawn(options.spawn, std::move(body));
  const Pid pid = handle.pid();
  return Spawned{detail::MailboxAccess::address(std::move(tx), pid), std::move(handle)};
}

// ReplyTo<R> is the sending end of ask()'s one-shot reply channel, carried in a request
// as its `reply_to` member. Move-only; empty when default-constructed (ask() fills it).
template <class R>
class ReplyTo {
 public:
  using value_type = R;
  // The channel carries Result<R>: a reply, or the Panicked report of a handler that
  // threw before replying (Mailbox::recv with a visitor sends it).

  ReplyTo() = default;
  ReplyTo(ReplyTo&&) noexcept = default;
  ReplyTo& operator=(ReplyTo&&) noexcept = default;
  ReplyTo(const ReplyTo&) = delete;
  ReplyTo& operator=(const ReplyTo&) = delete;

  // send(v) delivers the reply (never parks) and uses this ReplyTo up. Closed, v handed
  // back, when nobody waits any more (the asker timed out, was cancelled or ended), when
  // the reply was already sent, or when this ReplyTo is empty.
  Result<void, SendError<R>> send(R v) {
    auto r = tx_.send(Result<R>(std::move(v)));
    tx_.close();  // one-shot: a second send finds no channel
    if (r) return {};
    const Errc code = r.error().code();
    Result<R> back = std::move(r).error().into_value();  // always the value sent above
    return unexpected(SendError<R>(code, std::move(*back)));
  }
  // is_closed() says whether a send would fail (nobody waits, or already replied).
  bool is_closed() const noexcept { return tx_.is_closed(); }

 private:
  friend struct detail::MailboxAccess;
  explicit ReplyTo(Sender<Result<R>> tx) noexcept : tx_(std::move(tx)) {}
  Sender<Result<R>> tx_;
};

namespace detail {
struct DeduceReply {};
}  // namespace detail

// ask(to, request, timeout) is request-reply: it puts a fresh ReplyTo<R> in
// request.reply_to, sends request to `to` (waiting for room in a bounded mailbox, within
// the timeout) and parks until the reply comes, at most `timeout` in all. R is the
// ReplyTo's type (ask<R>(...) may name it). Errors:
// - TimedOut: no reply in time (a reply sent later fails with Closed in the replier);
//   a zero or negative timeout fails at once and sends nothing (no reply can be ready);
// - Closed: the target is dead, so the request was not delivered, or the target dropped
//   the request (or ended) without replying — the messages say which;
// - Panicked: the target's handler threw while handling the request (dispatched by
//   Mailbox::recv with a visitor), before it replied: the message is the "<type>:
//   <what()>" its join() gives, and error().exception() the exception itself;
// - Cancelled, NotInActor (checked before anything is sent).
template <class R = detail::DeduceReply, class Msg, class Req, class Rep, class Period>
auto ask(const Address<Msg>& to, Req request, std::chrono::duration<Rep, Period> timeout) {
  static_assert(detail::request_with_reply<Req>,
                "ask(): the request needs a `smarm::ReplyTo<R> reply_to` member");
  using Reply = typename std::remove_cvref_t<decltype(request.reply_to)>::value_type;
  static_assert(std::is_same_v<R, detail::DeduceReply> || std::is_same_v<R, Reply>,
                "ask<R>(): R differs from the request's ReplyTo<R>");
  static_assert(std::is_constructible_v<Msg, Req&&>,
                "ask(): the request is not one of the target's message types");
  using Out = Result<Reply>;

  detail::Actor* self = detail::current_actor();
  if (!self) return Out(detail::not_in_actor("ask() waits for a reply, outside an actor"));
  if (detail::is_cancelled(self))
    return Out(Error(Errc::Cancelled, "ask(): the caller was cancelled"));
  if (timeout <= timeout.zero())
    return Out(Error(Errc::TimedOut, "ask(): zero timeout, nothing sent (no reply can be ready)"));
  const Deadline deadline = detail::deadline_after(timeout);

  auto ch = channel<Result<Reply>>();
  request.reply_to = detail::MailboxAccess::reply_to<Reply>(std::move(ch.tx));
  if (auto sent = to.send_until(Msg(std::move(request)), deadline); !sent) {
    switch (sent.error().code()) {
      case Errc::Closed:
        return Out(
            Error(Errc::Closed,
                  "ask(): the target actor is dead (mailbox closed); request not delivered"));
      case Errc::TimedOut:
        return Out(Error(Errc::TimedOut,
                         "ask(): the target's mailbox stayed full until the "
                         "deadline; request not delivered"));
      default:
        return Out(Error(sent.error().code(), sent.error().message()));
    }
  }
  auto reply = ch.rx.recv_until(deadline);
  if (reply) return std::move(*reply);  // the value, or the handler's Panicked
  switch (reply.error().code()) {
    case Errc::Closed:
      return Out(
          Error(Errc::Closed, "ask(): the target dropped the request without replying (or ended)"));
    case Errc::TimedOut:
      return Out(Error(Errc::TimedOut, "ask(): no reply before the deadline"));
    default:
      return Out(std::move(reply).error());
  }
}

// recv(mb) is a select case that receives from a mailbox.
template <class Msg>
RecvCase<Msg> recv(Mailbox<Msg>& mb) noexcept {
  return RecvCase<Msg>{&mb.receiver()};
}
// send(addr, m) is a select case that sends m to an actor's mailbox.
template <class Msg>
SendCase<Msg> send(const Address<Msg>& to, std::type_identity_t<Msg> m) {
  return SendCase<Msg>{&to.sender(), std::move(m)};
}

}  // namespace smarm
