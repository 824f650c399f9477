// SPDX-License-Identifier: Apache-2.0
// mailbox_test.cpp — typed mailboxes: spawn_actor, Address (copyable; sends to a dead
// actor hand the message back), bounded mailboxes (a full one parks the sender, try_send
// fails with Full), visitor-style receives of variant messages with smarm::overloaded,
// ask/ReplyTo request-reply (timeouts, dead and silent targets), mailboxes in select.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/mailbox.hpp>
#include <smarm/overloaded.hpp>
#include <smarm/select.hpp>
#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::is_ok;

class MailboxWorkersTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(MailboxWorkersTest);

// A counter actor's protocol.
struct Add {
  int n;
};
struct Get {
  smarm::ReplyTo<int> reply_to;
};
struct Stop {};
using CounterMsg = std::variant<Add, Get, Stop>;

// counter_body serves CounterMsg until Stop or until every address is gone.
int counter_body(smarm::Mailbox<CounterMsg>& mb) {
  int total = 0;
  bool stop = false;
  while (!stop) {
    auto r = mb.recv(smarm::overloaded{
        [&](Add a) { total += a.n; },
        [&](Get g) { (void)g.reply_to.send(total); },
        [&](Stop) { stop = true; },
    });
    if (!r) break;  // Closed: nobody can reach us any more
  }
  return total;
}

TEST_P(MailboxWorkersTest, ActorEndsWhenEveryAddressIsGone) {
  auto r = run([] {
    auto [addr, h] = smarm::spawn_actor<int>([](smarm::Mailbox<int>& mb) {
      int sum = 0;
      while (auto v = mb.recv()) sum += *v;
      return sum;
    });
    EXPECT_TRUE(addr.pid().valid());
    auto copy = addr;  // addresses are copyable
    for (int i = 1; i <= 10; ++i) (i % 2 ? addr : copy).send(i).value();
    addr = {};
    copy = {};
    EXPECT_EQ(h.join().value(), 55);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(MailboxWorkersTest, VariantMessagesAreVisitedAndAskGetsTheReply) {
  auto r = run([] {
    auto [counter, h] = smarm::spawn_actor<CounterMsg>(counter_body);
    counter.send(Add{2}).value();
    counter.send(Add{3}).value();
    auto now = smarm::ask(counter, Get{}, 1h);  // Result<int>, R deduced from Get
    ASSERT_TRUE(is_ok(now));
    EXPECT_EQ(*now, 5);
    auto again = smarm::ask<int>(counter, Get{}, 1h);  // R named
    EXPECT_EQ(again.value(), 5);
    counter.send(Stop{}).value();
    EXPECT_EQ(h.join().value(), 5);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, SendToADeadActorHandsTheMessageBack) {
  auto r = smarm::test::run_on(1, [] {
    auto [addr, h] =
        smarm::spawn_actor<std::unique_ptr<int>>([](smarm::Mailbox<std::unique_ptr<int>>&) {});
    EXPECT_TRUE(is_ok(h.join()));
    EXPECT_TRUE(addr.is_closed());
    auto sent = addr.send(std::make_unique<int>(7));
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), Errc::Closed);
    auto back = std::move(sent.error()).into_value();
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, 7);
    auto tried = addr.try_send(std::make_unique<int>(8));
    EXPECT_EQ(tried.error().code(), Errc::Closed);
    // A default Address reaches no one.
    smarm::Address<int> nobody;
    EXPECT_EQ(nobody.send(1).error().code(), Errc::Closed);
    EXPECT_FALSE(nobody.pid().valid());
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, APanickedActorsAddressIsClosed) {
  auto r = smarm::test::run_on(1, [] {
    auto [addr, h] = smarm::spawn_actor<int>([](smarm::Mailbox<int>& mb) {
      (void)mb.recv();
      throw std::runtime_error("boom");
    });
    addr.send(1).value();  // the actor runs, throws, and its mailbox goes with it
    auto j = h.join();
    EXPECT_EQ(j.error().code(), Errc::Panicked);
    EXPECT_EQ(addr.send(2).error().code(), Errc::Closed);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, BoundedMailboxParksTheSenderAndTrySendFails) {
  auto r = smarm::test::run_on(1, [] {
    auto [gate_tx, gate_rx] = smarm::channel<int>();
    auto [addr, h] = smarm::spawn_actor<std::unique_ptr<int>>(
        [gate_rx = std::move(gate_rx)](smarm::Mailbox<std::unique_ptr<int>>& mb) mutable {
          EXPECT_EQ(mb.capacity(), 2u);
          (void)gate_rx.recv();  // let the mailbox fill up first
          std::vector<int> got;
          while (auto m = mb.recv()) got.push_back(**m);
          return got;
        },
        smarm::MailboxOptions{.capacity = 2});
    addr.send(std::make_unique<int>(1)).value();
    addr.send(std::make_unique<int>(2)).value();
    auto full = addr.try_send(std::make_unique<int>(3));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code(), Errc::Full);
    EXPECT_EQ(*std::move(full.error()).into_value(), 3);
    auto timed = addr.send_for(std::make_unique<int>(3), 1ms);
    EXPECT_EQ(timed.error().code(), Errc::TimedOut);
    // A sender that parks on the full mailbox gets through once the actor drains it.
    std::atomic<bool> delivered{false};
    auto sender = smarm::spawn([addr = addr, &delivered] {
      delivered.store(addr.send(std::make_unique<int>(3)).has_value());
    });
    EXPECT_FALSE(delivered.load());  // parked (one worker: the child ran first)
    gate_tx.send(0).value();
    EXPECT_TRUE(is_ok(sender.join()));
    EXPECT_TRUE(delivered.load());
    addr = {};
    EXPECT_EQ(h.join().value(), (std::vector<int>{1, 2, 3}));
  });
  ASSERT_TRUE(is_ok(r));
}

// NoNothrowMove cannot sit in a bounded channel (its move may throw).
struct NoNothrowMove {
  std::string s;
  NoNothrowMove() = default;
  NoNothrowMove(NoNothrowMove&& o) noexcept(false) : s(std::move(o.s)) {}
};

TEST(MailboxTest, ABoundForAThrowingMoveTypeIsAClearError) {
  auto r = smarm::test::run_on(1, [] {
    bool ran = false;
    auto [addr, h] = smarm::spawn_actor<NoNothrowMove>(
        [&ran](smarm::Mailbox<NoNothrowMove>&) { ran = true; }, {.capacity = 4});
    auto j = h.join();
    EXPECT_EQ(j.error().code(), Errc::InvalidArgument);
    EXPECT_FALSE(ran);
    EXPECT_EQ(addr.send(NoNothrowMove{}).error().code(), Errc::Closed);
    // Unbounded is fine.
    auto [ok_addr, ok_h] = smarm::spawn_actor<NoNothrowMove>(
        [](smarm::Mailbox<NoNothrowMove>& mb) { return mb.recv().value().s; });
    NoNothrowMove m;
    m.s = "hello";
    ok_addr.send(std::move(m)).value();
    EXPECT_EQ(ok_h.join().value(), "hello");
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, TimedAndNonBlockingVisitorReceives) {
  auto r = smarm::test::run_on(1, [] {
    using Msg = std::variant<int, std::string>;
    auto [ready_tx, ready_rx] = smarm::channel<int>();
    auto [addr, h] =
        smarm::spawn_actor<Msg>([ready_tx = std::move(ready_tx)](smarm::Mailbox<Msg>& mb) mutable {
          auto describe = smarm::overloaded{
              [](int i) { return "int " + std::to_string(i); },
              [](std::string s) { return "string " + s; },
          };
          std::vector<std::string> log;
          auto note = [&log](const auto& got) {
            log.push_back(got ? *got : smarm::errc_name(got.error().code()));
          };
          note(mb.try_recv(describe));       // nothing sent yet
          note(mb.recv_for(1ms, describe));  // nobody sends until we say so
          ready_tx.send(0).value();
          note(mb.recv_until(smarm::Clock::now() + 1h, describe));
          note(mb.recv(describe));
          return log;
        });
    (void)ready_rx.recv();
    addr.send(7).value();
    addr.send(std::string("x")).value();
    EXPECT_EQ(h.join().value(),
              (std::vector<std::string>{"WouldBlock", "TimedOut", "int 7", "string x"}));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, AskOutsideAnActorIsNotInActor) {
  smarm::Address<CounterMsg> nobody;
  auto r = smarm::ask(nobody, Get{}, 1s);
  EXPECT_EQ(r.error().code(), Errc::NotInActor);
}

// A server that keeps every request without replying (until told to).
struct Hold {
  smarm::ReplyTo<int> reply_to;
};
struct Release {};
struct Drop {
  smarm::ReplyTo<int> reply_to;
};
using HoldMsg = std::variant<Hold, Release, Drop>;

TEST_P(MailboxWorkersTest, AskTimesOutAndALateReplyFindsNobody) {
  auto r = run([] {
    auto [addr, h] = smarm::spawn_actor<HoldMsg>([](smarm::Mailbox<HoldMsg>& mb) {
      std::vector<smarm::ReplyTo<int>> held;
      int late_closed = 0;
      while (auto m = mb.recv()) {
        if (auto* hold = std::get_if<Hold>(&*m)) held.push_back(std::move(hold->reply_to));
        if (std::holds_alternative<Release>(*m)) {
          for (auto& rt : held) {
            auto sent = rt.send(1);
            if (!sent && sent.error().code() == Errc::Closed) ++late_closed;
          }
          return late_closed;
        }
      }
      return -1;
    });
    auto t = smarm::ask(addr, Hold{}, 2ms);
    EXPECT_EQ(t.error().code(), Errc::TimedOut);
    addr.send(Release{}).value();
    EXPECT_EQ(h.join().value(), 1);  // the reply after the timeout failed with Closed
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(MailboxWorkersTest, AskADeadOrSilentTargetIsClosed) {
  auto r = run([] {
    auto [addr, h] = smarm::spawn_actor<HoldMsg>([](smarm::Mailbox<HoldMsg>& mb) {
      while (auto m = mb.recv()) {
        if (std::holds_alternative<Release>(*m)) return;
        // Drop and Hold: the request (and its ReplyTo) is destroyed unanswered.
      }
    });
    auto dropped = smarm::ask(addr, Drop{}, 1h);
    ASSERT_FALSE(dropped);
    EXPECT_EQ(dropped.error().code(), Errc::Closed);
    EXPECT_NE(dropped.error().message().find("without replying"), std::string::npos);
    addr.send(Release{}).value();
    EXPECT_TRUE(is_ok(h.join()));
    auto dead = smarm::ask(addr, Hold{}, 1h);
    ASSERT_FALSE(dead);
    EXPECT_EQ(dead.error().code(), Errc::Closed);
    EXPECT_NE(dead.error().message().find("not delivered"), std::string::npos);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(MailboxWorkersTest, AskToAHandlerThatThrowsIsPanickedWithJoinsText) {
  // Erlang's gen_server:call exits with the callee's reason; ask() returns Panicked with
  // the text join() gives and the exception itself, instead of a bare Closed.
  auto r = run([] {
    auto [addr, h] = smarm::spawn_actor<CounterMsg>([](smarm::Mailbox<CounterMsg>& mb) {
      for (;;) {
        auto got = mb.recv(smarm::overloaded{
            [](Add) {},
            [](Get) { throw std::out_of_range("no such counter"); },
            [](Stop) {},
        });
        if (!got) return;
      }
    });
    auto asked = smarm::ask(addr, Get{}, 1h);
    ASSERT_FALSE(asked);
    EXPECT_EQ(asked.error().code(), Errc::Panicked);
    auto joined = h.join();
    ASSERT_FALSE(joined);
    EXPECT_EQ(joined.error().code(), Errc::Panicked);
    EXPECT_EQ(asked.error().message(), joined.error().message());
    EXPECT_NE(asked.error().message().find("std::out_of_range: no such counter"), std::string::npos)
        << asked.error().message();
    ASSERT_TRUE(asked.error().exception());
    EXPECT_THROW(std::rethrow_exception(asked.error().exception()), std::out_of_range);
    ASSERT_TRUE(joined.error().exception());
    EXPECT_THROW(std::rethrow_exception(joined.error().exception()), std::out_of_range);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, AReplySentBeforeTheHandlerThrowsWins) {
  auto r = smarm::test::run_on(1, [] {
    auto [addr, h] = smarm::spawn_actor<CounterMsg>([](smarm::Mailbox<CounterMsg>& mb) {
      (void)mb.recv(smarm::overloaded{
          [](Add) {},
          [](Get g) {
            (void)g.reply_to.send(5);
            throw std::runtime_error("after the reply");
          },
          [](Stop) {},
      });
    });
    EXPECT_EQ(smarm::ask(addr, Get{}, 1h).value(), 5);
    auto joined = h.join();
    ASSERT_FALSE(joined);
    EXPECT_EQ(joined.error().code(), Errc::Panicked);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, ANonRequestMessageWhoseHandlerThrowsStillPanicsTheActor) {
  auto r = smarm::test::run_on(1, [] {
    auto [addr, h] = smarm::spawn_actor<CounterMsg>([](smarm::Mailbox<CounterMsg>& mb) {
      (void)mb.recv(smarm::overloaded{
          [](Add) { throw std::logic_error("bad add"); },
          [](Get) {},
          [](Stop) {},
      });
    });
    addr.send(Add{1}).value();
    auto joined = h.join();
    ASSERT_FALSE(joined);
    EXPECT_EQ(joined.error().code(), Errc::Panicked);
    EXPECT_THROW(std::rethrow_exception(joined.error().exception()), std::logic_error);
    // A later ask finds the actor gone.
    EXPECT_EQ(smarm::ask(addr, Get{}, 1h).error().code(), Errc::Closed);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, AskWithZeroOrNegativeTimeoutSendsNothing) {
  auto r = smarm::test::run_on(1, [] {
    std::atomic<int> requests{0};
    auto [addr, h] = smarm::spawn_actor<HoldMsg>([&requests](smarm::Mailbox<HoldMsg>& mb) {
      while (auto m = mb.recv()) {
        if (std::holds_alternative<Release>(*m)) return;
        requests.fetch_add(1);
      }
    });
    EXPECT_EQ(smarm::ask(addr, Hold{}, 0ms).error().code(), Errc::TimedOut);
    EXPECT_EQ(smarm::ask(addr, Hold{}, -1s).error().code(), Errc::TimedOut);
    addr.send(Release{}).value();
    EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(requests.load(), 0);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, ReplyToIsOneShot) {
  auto r = smarm::test::run_on(1, [] {
    auto [addr, h] = smarm::spawn_actor<HoldMsg>([](smarm::Mailbox<HoldMsg>& mb) {
      auto m = mb.recv().value();
      auto& rt = std::get<Hold>(m).reply_to;
      EXPECT_FALSE(rt.is_closed());
      EXPECT_TRUE(is_ok(rt.send(1)));
      EXPECT_TRUE(rt.is_closed());
      auto second = rt.send(2);
      EXPECT_EQ(second.error().code(), Errc::Closed);
      EXPECT_EQ(std::move(second.error()).into_value(), 2);
      smarm::ReplyTo<int> empty;
      EXPECT_EQ(empty.send(3).error().code(), Errc::Closed);
    });
    EXPECT_EQ(smarm::ask(addr, Hold{}, 1h).value(), 1);
    EXPECT_TRUE(is_ok(h.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(MailboxTest, CancelledAskerGetsCancelled) {
  auto r = smarm::test::run_on(1, [] {
    auto [addr, server] = smarm::spawn_actor<HoldMsg>([](smarm::Mailbox<HoldMsg>& mb) {
      std::vector<smarm::ReplyTo<int>> held;
      while (auto m = mb.recv()) {
        if (auto* hold = std::get_if<Hold>(&*m)) held.push_back(std::move(hold->reply_to));
        if (std::holds_alternative<Release>(*m)) return held.size();
      }
      return held.size();
    });
    auto asker = smarm::spawn([addr = addr] { return smarm::ask(addr, Hold{}, 1h); });
    EXPECT_TRUE(is_ok(asker.cancel()));
    auto a = asker.join().value();
    EXPECT_EQ(a.error().code(), Errc::Cancelled);
    addr.send(Release{}).value();
    EXPECT_EQ(server.join().value(), 1u);  // the request had been delivered
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(MailboxWorkersTest, MailboxesAndAddressesAreSelectCases) {
  auto r = run([] {
    using Msg = std::variant<int, Stop>;
    auto [ticks_tx, ticks_rx] = smarm::channel<int>();
    // The actor takes whichever comes: a message in its mailbox or a tick on a channel,
    // until the tick channel closes; then it reads its mailbox up to Stop.
    auto [addr, h] =
        smarm::spawn_actor<Msg>([ticks_rx = std::move(ticks_rx)](smarm::Mailbox<Msg>& mb) mutable {
          int mail = 0, ticks = 0;
          bool stopped = false;
          for (;;) {
            auto s = smarm::select(smarm::recv(mb), smarm::recv(ticks_rx));
            if (s.index() == 1) {
              if (!s) break;  // the tick channel closed
              ticks += s.get<1>();
            } else if (s) {
              if (std::holds_alternative<Stop>(s.get<0>()))
                stopped = true;
              else
                mail += std::get<int>(s.get<0>());
            } else {
              ADD_FAILURE() << s.error().message();
              break;
            }
          }
          while (!stopped) {
            auto m = mb.recv();
            if (!m) break;
            if (std::holds_alternative<Stop>(*m))
              stopped = true;
            else
              mail += std::get<int>(*m);
          }
          return std::make_pair(mail, ticks);
        });
    for (int i = 0; i < 50; ++i) {
      auto s = smarm::select(smarm::send(addr, Msg(1)), smarm::after(1h));
      EXPECT_TRUE(s);
      ticks_tx.send(2).value();
    }
    ticks_tx.close();
    addr.send(Stop{}).value();
    auto [mail, ticks] = h.join().value();
    EXPECT_EQ(mail, 50);
    EXPECT_EQ(ticks, 100);
  });
  ASSERT_TRUE(is_ok(r));
}

}  // namespace
