// SPDX-License-Identifier: Apache-2.0
// bad_input_test.cpp — what a careless caller gets from each public entry point.
//
// README.md, "What bad input gets", lists every row with the test that proves it; the
// rows other suites already cover cite those tests, and the rest are here. Each test
// checks the documented Errc and that nothing is lost: a value that could not be sent
// comes back, a handle stays joinable, the runtime ends with no actor, stack or timer
// left behind (run_on's leak check).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;
using smarm::test::run_on;
namespace io = smarm::io;
namespace pipe = smarm::pipe;

// Fds is a non-blocking pipe, closed at the end of the test.
struct Fds {
  int r = -1, w = -1;
  Fds() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    r = fds[0];
    w = fds[1];
  }
  ~Fds() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

// --- pids and handles -----------------------------------------------------------------

TEST(BadInputPid, EveryCallOnAStaleOrEmptyPidSaysSo) {
  auto r = run_on(2, [] {
    auto h = smarm::spawn([] { return 1; });
    const smarm::Pid pid = h.pid();
    EXPECT_TRUE(is_ok(h.join()));
    EXPECT_FALSE(smarm::is_alive(pid));
    EXPECT_TRUE(has_errc(smarm::cancel(pid), Errc::StalePid));
    EXPECT_TRUE(has_errc(smarm::monitor(pid), Errc::StalePid));
    EXPECT_FALSE(smarm::is_alive(smarm::Pid{}));
    EXPECT_TRUE(has_errc(smarm::cancel(smarm::Pid{}), Errc::StalePid));
    // A pid from no runtime at all (made up), from a plain thread: stale, never a crash.
    std::thread plain([] {
      EXPECT_FALSE(smarm::is_alive(smarm::Pid{999, 5, 7}));
      EXPECT_TRUE(has_errc(smarm::cancel(smarm::Pid{999, 5, 7}), Errc::StalePid));
    });
    plain.join();
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputHandle, EmptyDetachedAndJoinedHandlesReportErrors) {
  auto r = run_on(1, [] {
    smarm::JoinHandle<int> empty;
    EXPECT_TRUE(has_errc(empty.join(), Errc::AlreadyJoined));
    EXPECT_TRUE(has_errc(empty.cancel(), Errc::InvalidArgument));
    EXPECT_TRUE(empty.finished());

    auto joined = smarm::spawn([] { return 2; });
    EXPECT_EQ(joined.join().value(), 2);
    EXPECT_TRUE(has_errc(joined.join(), Errc::AlreadyJoined));

    auto detached = smarm::spawn([] { return 3; });
    detached.detach();
    EXPECT_TRUE(has_errc(detached.join(), Errc::AlreadyJoined));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputHandle, AnActorJoiningItselfIsInvalidArgument) {
  auto r = run_on(1, [] {
    auto [tx, rx] = smarm::channel<smarm::JoinHandle<Errc>*>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable {
      smarm::JoinHandle<Errc>* own = rx.recv().value();
      auto j = own->join();
      return j ? Errc{} : j.error().code();
    });
    tx.send(&h).value();
    auto out = h.join();  // the handle stayed joinable
    ASSERT_TRUE(is_ok(out));
    EXPECT_EQ(*out, Errc::InvalidArgument);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputSpawn, AnAbsurdStackSizeIsInvalidArgumentNotAnEmptyStack) {
  auto r = run_on(1, [] {
    const auto spawned = smarm::stats().total().spawned;
    for (std::size_t size :
         {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() - 100,
          smarm::Config::kMaxStackSize + 1, std::size_t{1} << 62}) {
      smarm::SpawnOptions options;
      options.stack_size = size;
      auto t = smarm::try_spawn(options, [] { return 1; });
      EXPECT_TRUE(has_errc(t, Errc::InvalidArgument)) << size;
      auto h = smarm::spawn(options, [] { return 1; });
      EXPECT_TRUE(has_errc(h.join(), Errc::InvalidArgument)) << size;
    }
    EXPECT_EQ(smarm::stats().total().spawned, spawned);  // nothing was started
    // A supervisor whose child cannot start reports the spawn error, starting nothing.
    smarm::SupervisorSpec spec{
        .children = {{.name = "huge",
                      .start = [] {},
                      .stack_size = std::numeric_limits<std::size_t>::max()}}};
    EXPECT_TRUE(has_errc(smarm::Supervisor::run(spec), Errc::InvalidArgument));
  });
  EXPECT_TRUE(is_ok(r));
}

// --- config --------------------------------------------------------------------------

TEST(BadInputConfig, AbsurdValuesAreInvalidConfigNamingTheField) {
  struct Case {
    smarm::Config config;
    const char* field;
  };
  const Case cases[] = {
      {smarm::Config::exact(1).stack_pool_size(std::size_t{1} << 40), "stack_pool_size"},
      {smarm::Config::exact(1).alloc_interval(UINT32_MAX), "alloc_interval"},
      {smarm::Config::exact(1).timeslice(std::chrono::hours(1)), "timeslice"},
      {smarm::Config::exact(1).blocking_threads(std::size_t{1} << 40), "blocking_threads"},
      {smarm::Config::exact(1).stack_size(std::numeric_limits<std::size_t>::max()), "stack_size"},
      {smarm::Config::exact(1).guard_size(std::numeric_limits<std::size_t>::max()), "guard_size"},
      {smarm::Config::exact(1).shutdown_grace(std::chrono::milliseconds(0)), "shutdown_grace"},
      {smarm::Config::exact(std::numeric_limits<std::size_t>::max()), "workers"},
  };
  for (const Case& c : cases) {
    bool ran = false;
    auto r = smarm::runtime::init(c.config).run([&] { ran = true; });
    ASSERT_TRUE(has_errc(r, Errc::InvalidConfig)) << c.field;
    EXPECT_NE(r.error().message().find(c.field), std::string::npos) << r.error().message();
    EXPECT_FALSE(ran);
  }
}

// --- timeouts ------------------------------------------------------------------------

// Every call that takes a deadline treats one long past — even Deadline::min() and the
// clock's epoch — as "do not wait": TimedOut when it would have to wait, never another
// error, never a wait.
TEST(BadInputTimeout, AncientDeadlinesDoNotWait) {
  auto r = run_on(1, [] {
    for (smarm::Deadline d : {smarm::Deadline::min(), smarm::Deadline{}}) {
      auto [tx, rx] = smarm::channel<int>();
      EXPECT_TRUE(has_errc(rx.recv_until(d), Errc::TimedOut));
      tx.send(1).value();
      EXPECT_EQ(rx.recv_until(d).value(), 1);  // a queued value is still taken

      auto [btx, brx] = smarm::bounded_channel<std::unique_ptr<int>>(1);
      btx.send(std::make_unique<int>(1)).value();  // full
      auto s = btx.send_until(std::make_unique<int>(2), d);
      ASSERT_TRUE(has_errc(s, Errc::TimedOut));
      EXPECT_EQ(*std::move(s).error().into_value(), 2);  // handed back

      smarm::Mutex<int> m;
      auto held = m.try_lock();
      ASSERT_TRUE(is_ok(held));
      EXPECT_TRUE(has_errc(m.lock_until(d), Errc::TimedOut));

      EXPECT_TRUE(is_ok(smarm::sleep_until(d)));
      auto sel = smarm::select(smarm::recv(rx), smarm::until(d));
      EXPECT_EQ(sel.index(), 1u);
      EXPECT_EQ(sel.error().code(), Errc::TimedOut);

      Fds p;
      std::byte buf[4];
      EXPECT_TRUE(has_errc(io::read(p.r, buf, d), Errc::TimedOut));
      EXPECT_TRUE(has_errc(io::wait_readable(p.r, d), Errc::TimedOut));
    }
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputTimeout, UnboundedRecvWithZeroOrNegativeTimeoutDoesNotWait) {
  auto r = run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    EXPECT_TRUE(has_errc(rx.recv_for(0s), Errc::TimedOut));
    EXPECT_TRUE(has_errc(rx.recv_for(-5s), Errc::TimedOut));
    tx.send(4).value();
    EXPECT_EQ(rx.recv_for(-5s).value(), 4);
  });
  EXPECT_TRUE(is_ok(r));
}

// A timeout too long for the clock (hours::max()) saturates to "never": the call parks
// (it does not wrap into the past and time out at once) until it is cancelled.
TEST(BadInputTimeout, HugeTimeoutsWaitUntilCancelled) {
  using Call = Errc (*)();
  static smarm::Mutex<int> held_mutex;
  const Call calls[] = {
      [] { return smarm::test::errc_or_ok(smarm::sleep_for(std::chrono::hours::max())); },
      [] {
        auto [tx, rx] = smarm::channel<int>();
        return smarm::test::errc_or_ok(rx.recv_for(std::chrono::hours::max()));
      },
      [] {
        auto [tx, rx] = smarm::bounded_channel<int>(0);
        auto s = tx.send_for(5, std::chrono::hours::max());
        return s ? Errc{} : s.error().code();
      },
      [] { return smarm::test::errc_or_ok(held_mutex.lock(std::chrono::hours::max())); },
      [] {
        auto [tx, rx] = smarm::channel<int>();
        auto s = smarm::select(smarm::recv(rx), smarm::after(std::chrono::hours::max()));
        return s.error().code();
      },
  };
  auto r = run_on(1, [&] {
    auto guard = held_mutex.try_lock();
    ASSERT_TRUE(is_ok(guard));
    for (Call call : calls) {
      auto h = smarm::spawn(call);  // runs first, until it parks
      EXPECT_FALSE(h.finished());
      EXPECT_TRUE(is_ok(h.cancel()));
      auto out = h.join();
      ASSERT_TRUE(is_ok(out));
      EXPECT_EQ(*out, Errc::Cancelled);
    }
  });
  EXPECT_TRUE(is_ok(r));
}

// --- exceptions from user callbacks ----------------------------------------------------

struct Work {
  int n;
};
struct Query {
  smarm::ReplyTo<int> reply_to;
};
using WorkMsg = std::variant<Work, Query>;

TEST(BadInputThrow, AVisitorThatThrowsPanicsTheActorAndClosesItsMailbox) {
  auto r = run_on(1, [] {
    auto [addr, h] = smarm::spawn_actor<WorkMsg>([](smarm::Mailbox<WorkMsg>& mb) {
      while (mb.recv(smarm::overloaded{
          [](Work w) {
            if (w.n == 2) throw std::runtime_error("bad work");
          },
          [](Query q) { (void)q.reply_to.send(1); },
      })) {
      }
    });
    EXPECT_EQ(smarm::ask(addr, Query{}, 1h).value(), 1);
    addr.send(Work{1}).value();
    addr.send(Work{2}).value();  // the visitor throws on this one
    auto j = h.join();
    ASSERT_TRUE(has_errc(j, Errc::Panicked));
    EXPECT_NE(j.error().message().find("bad work"), std::string::npos) << j.error().message();
    auto late = addr.send(Work{3});
    ASSERT_TRUE(has_errc(late, Errc::Closed));
    EXPECT_EQ(std::get<Work>(std::move(late).error().into_value()).n, 3);  // handed back
    EXPECT_TRUE(has_errc(smarm::ask(addr, Query{}, 1h), Errc::Closed));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputThrow, AnAskWhoseTargetThrowsOnTheRequestIsPanickedNotAHang) {
  auto r = run_on(2, [] {
    auto [addr, h] = smarm::spawn_actor<WorkMsg>([](smarm::Mailbox<WorkMsg>& mb) {
      while (mb.recv(smarm::overloaded{
          [](Work) {},
          [](Query) { throw std::logic_error("no answer"); },
      })) {
      }
    });
    // The handler's exception reaches the asker as join() would report it (issue 14).
    auto asked = smarm::ask(addr, Query{}, std::chrono::hours::max());
    EXPECT_TRUE(has_errc(asked, Errc::Panicked));
    if (!asked) {
      EXPECT_EQ(asked.error().message(), "std::logic_error: no answer");
    }
    EXPECT_TRUE(has_errc(h.join(), Errc::Panicked));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputThrow, ASupervisedChildThatAlwaysThrowsEndsInRestartIntensity) {
  auto r = run_on(1, [] {
    std::atomic<int> starts{0};
    smarm::SupervisorSpec spec{.intensity = 2,
                               .period = std::chrono::hours(1),
                               .children = {{.name = "thrower", .start = [&starts] {
                                               ++starts;
                                               throw std::runtime_error("factory failed");
                                             }}}};
    auto out = smarm::Supervisor::run(spec);
    ASSERT_TRUE(has_errc(out, Errc::RestartIntensity));
    EXPECT_NE(out.error().message().find("thrower"), std::string::npos) << out.error().message();
    EXPECT_EQ(starts.load(), 3);  // the first start and the two restarts allowed
  });
  EXPECT_TRUE(is_ok(r));
}

// --- pipelines -----------------------------------------------------------------------

// The pipeline owns the Receiver it reads; when take() ends the pipeline early, that
// receiver goes while a producer is still sending (parked on the full channel): the
// producer wakes with Closed and gets its value back.
TEST(BadInputPipe, AProducerOutlivingThePipelinesReceiverGetsClosedAndItsValue) {
  auto r = run_on(2, [] {
    auto [tx, rx] = smarm::bounded_channel<std::unique_ptr<int>>(1);
    auto producer = smarm::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0;; ++i) {
        auto s = tx.send(std::make_unique<int>(i));
        if (!s) {
          auto back = std::move(s).error().into_value();
          return std::make_pair(s.error().code(), back && *back == i);
        }
      }
    });
    auto out = pipe::from(std::move(rx)) | pipe::map([](std::unique_ptr<int> p) { return *p; }) |
               pipe::take(3) | pipe::collect();
    ASSERT_TRUE(is_ok(out));
    EXPECT_EQ(*out, (std::vector<int>{0, 1, 2}));
    auto p = producer.join();
    ASSERT_TRUE(is_ok(p));
    EXPECT_EQ(p->first, Errc::Closed);
    EXPECT_TRUE(p->second);  // the value that was not sent came back
  });
  EXPECT_TRUE(is_ok(r));
}

// --- descriptors ---------------------------------------------------------------------

std::span<const std::byte> bytes(const char* s) {
  return std::as_bytes(std::span(s, std::strlen(s)));
}

TEST(BadInputIo, ClosedAndNegativeDescriptorsAreBadDescriptor) {
  auto r = run_on(1, [] {
    int closed[2];
    ASSERT_EQ(::pipe2(closed, O_CLOEXEC), 0);
    ::close(closed[0]);
    ::close(closed[1]);
    const auto soon = smarm::Clock::now() + 1h;
    EXPECT_TRUE(has_errc(io::write(closed[1], bytes("x"), soon), Errc::BadDescriptor));
    EXPECT_TRUE(has_errc(io::write_all(closed[1], bytes("x"), soon), Errc::BadDescriptor));
    EXPECT_TRUE(has_errc(io::wait_writable(closed[1], soon), Errc::BadDescriptor));
    EXPECT_TRUE(has_errc(io::wait_writable(-1, soon), Errc::BadDescriptor));
    EXPECT_TRUE(has_errc(io::accept(-1, soon), Errc::BadDescriptor));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    EXPECT_TRUE(
        has_errc(io::connect(-1, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, soon),
                 Errc::BadDescriptor));
    io::TcpStream none;
    EXPECT_TRUE(has_errc(none.write(bytes("x")), Errc::BadDescriptor));
    EXPECT_TRUE(has_errc(none.shutdown_write(), Errc::BadDescriptor));
    EXPECT_TRUE(has_errc(none.set_nodelay(), Errc::BadDescriptor));
    io::TcpListener no_listener;
    EXPECT_TRUE(has_errc(no_listener.accept(soon), Errc::BadDescriptor));
  });
  EXPECT_TRUE(is_ok(r));
}

// A descriptor that is open but not a socket, given to a socket call, fails at once with
// Io (the message carries ENOTSOCK) rather than waiting for a readiness that means nothing.
TEST(BadInputIo, ANonSocketToASocketCallIsIoAtOnce) {
  auto r = run_on(1, [] {
    Fds p;
    const auto never = smarm::Deadline::max();
    auto a = io::accept(p.r, never);
    ASSERT_TRUE(has_errc(a, Errc::Io));
    EXPECT_NE(a.error().message().find("socket"), std::string::npos) << a.error().message();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    EXPECT_TRUE(has_errc(
        io::connect(p.w, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, never), Errc::Io));
    io::TcpStream s{io::OwnedFd(::dup(p.w))};
    EXPECT_TRUE(has_errc(s.set_nodelay(), Errc::Io));
    EXPECT_TRUE(has_errc(s.shutdown_write(), Errc::Io));
    EXPECT_EQ(s.write(bytes("ok")).value(), 2u);  // a plain write still works
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(BadInputSignals, UnwatchableSignalsAreInvalidArgument) {
  auto r = run_on(1, [] {
    EXPECT_TRUE(has_errc(io::signals({0}), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(io::signals({-3}), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(io::signals({100000}), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(io::signals({SIGSTOP}), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(io::signals({SIGSEGV}), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(io::signals({SIGURG}), Errc::InvalidArgument));
    io::ProcessSignals empty;
    EXPECT_TRUE(has_errc(empty.recv(smarm::Clock::now() + 1h), Errc::BadDescriptor));
  });
  EXPECT_TRUE(is_ok(r));
}

// --- blocking calls from a plain thread while a runtime runs -----------------------------

// A std::thread started from an actor has no actor: each call that would wait says
// NotInActor at once (never parks the thread forever, never touches a worker's state),
// and whatever it held is kept.
TEST(BadInputPlainThread, BlockingCallsReportNotInActorAndKeepTheirValues) {
  auto r = run_on(2, [] {
    // Named members, not structured bindings: clang 14 cannot capture those in a lambda.
    auto unbounded = smarm::channel<int>();
    auto& tx = unbounded.tx;
    auto& rx = unbounded.rx;
    auto bounded = smarm::bounded_channel<std::unique_ptr<int>>(1);
    auto& btx = bounded.tx;
    auto& brx = bounded.rx;
    btx.send(std::make_unique<int>(1)).value();  // full
    smarm::Mutex<int> m;
    auto spawned = smarm::spawn_actor<WorkMsg>([](smarm::Mailbox<WorkMsg>& mb) {
      while (mb.recv(smarm::overloaded{[](Work) {}, [](Query q) { (void)q.reply_to.send(7); }})) {
      }
    });
    auto& addr = spawned.address;
    auto& actor = spawned.handle;
    auto child = smarm::spawn([] { return 5; });
    auto sigs = io::signals({SIGUSR2});
    ASSERT_TRUE(is_ok(sigs));
    Fds p;

    std::thread plain([&] {
      EXPECT_TRUE(has_errc(rx.recv(), Errc::NotInActor));
      EXPECT_TRUE(has_errc(rx.recv_for(1h), Errc::NotInActor));
      auto s = btx.send(std::make_unique<int>(2));
      ASSERT_TRUE(has_errc(s, Errc::NotInActor));
      EXPECT_EQ(*std::move(s).error().into_value(), 2);
      EXPECT_TRUE(has_errc(smarm::sleep_for(1h), Errc::NotInActor));
      EXPECT_TRUE(has_errc(smarm::yield_now(), Errc::NotInActor));
      EXPECT_TRUE(has_errc(m.lock(1h), Errc::NotInActor));
      EXPECT_TRUE(has_errc(smarm::ask(addr, Query{}, 1h), Errc::NotInActor));
      auto sel = smarm::select(smarm::recv(rx), smarm::send(btx, std::make_unique<int>(3)));
      EXPECT_EQ(sel.index(), decltype(sel)::npos);
      EXPECT_EQ(sel.error().code(), Errc::NotInActor);
      auto back = sel.take_back<1>();
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(**back, 3);
      EXPECT_TRUE(has_errc(child.join(), Errc::NotInActor));
      EXPECT_TRUE(has_errc(smarm::try_spawn([] {}), Errc::NotInActor));
      std::byte buf[4];
      EXPECT_TRUE(has_errc(io::read(p.r, buf, smarm::Clock::now() + 1h), Errc::NotInActor));
      EXPECT_TRUE(has_errc(sigs->recv(smarm::Clock::now() + 1h), Errc::NotInActor));
      auto piped = pipe::from(std::vector<int>{1, 2}) | pipe::collect();
      EXPECT_TRUE(has_errc(piped, Errc::NotInActor));
      smarm::SupervisorSpec spec{.children = {{.name = "c", .start = [] {}}}};
      EXPECT_TRUE(has_errc(smarm::Supervisor::run(spec), Errc::NotInActor));
      // What never waits still works here.
      EXPECT_TRUE(is_ok(tx.send(9)));
      EXPECT_TRUE(is_ok(m.try_lock()));
    });
    plain.join();

    EXPECT_EQ(rx.recv().value(), 9);    // the plain thread's send arrived
    EXPECT_EQ(*brx.recv().value(), 1);  // nothing else entered the channel
    EXPECT_TRUE(has_errc(brx.try_recv(), Errc::WouldBlock));
    EXPECT_EQ(child.join().value(), 5);  // the handle stayed joinable
    EXPECT_EQ(smarm::ask(addr, Query{}, 1h).value(), 7);
    EXPECT_TRUE(is_ok(m.try_lock()));  // the plain thread's guard was released
    addr = {};
    EXPECT_TRUE(is_ok(actor.join()));
  });
  EXPECT_TRUE(is_ok(r));
}

}  // namespace
