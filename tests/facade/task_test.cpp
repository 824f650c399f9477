// SPDX-License-Identifier: Apache-2.0
// task_test.cpp — smarm::task<T> (task.hpp): C++20 coroutines on green threads.
//
// Under test: a task is lazy and runs only on a green thread (get() outside an actor is
// NotInActor and leaves it runnable); co_await on a task runs it inline on the same actor,
// to any depth and any number of times in a loop without growing the stack; exceptions
// propagate through co_await and get(); co_await works on every blocking call (channels,
// timers, Mutex, I/O, join) and plain blocking calls inside a task are just as correct;
// spawn(task) gives it an actor of its own; an unrun task frees its frame (ASan's leak
// check and the destructor counts below); which operands co_await accepts. Order, counts
// and results only — no timing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::Result;
using smarm::task;
using smarm::test::has_errc;
using smarm::test::is_ok;
using smarm::test::run_on;
namespace io = smarm::io;

// --- what co_await accepts, checked on the promise's overload set --------------------------

static_assert(!std::is_copy_constructible_v<task<int>>);
static_assert(!std::is_copy_assignable_v<task<int>>);
static_assert(std::is_nothrow_move_constructible_v<task<int>>);
static_assert(std::is_nothrow_move_assignable_v<task<void>>);

using IntPromise = task<int>::promise_type;
template <class X>
using AwaitOf = decltype(std::declval<IntPromise&>().await_transform(std::declval<X>()));
// Accepted: Results (rvalues) and tasks (rvalues).
static_assert(std::is_same_v<AwaitOf<Result<int>>, smarm::detail::ReadyValue<Result<int>>>);
static_assert(std::is_same_v<AwaitOf<Result<void, smarm::SendError<int>>>,
                             smarm::detail::ReadyValue<Result<void, smarm::SendError<int>>>>);
static_assert(std::is_same_v<AwaitOf<task<std::string>>, smarm::detail::TaskInline<std::string>>);
// Rejected (the overload whose body is a static_assert, hence void): lvalues and foreign
// awaitables.
static_assert(std::is_void_v<AwaitOf<Result<int>&>>);
static_assert(std::is_void_v<AwaitOf<task<int>&>>);
static_assert(std::is_void_v<AwaitOf<std::suspend_always>>);
static_assert(std::is_void_v<AwaitOf<int>>);

// --- small tasks used below ------------------------------------------------------------

task<int> constant(int v) { co_return v; }

task<int> add_three_levels(int v) {
  // Each level awaits the one below; all of them run on the caller's actor.
  const int a = co_await constant(v);
  const int b = co_await constant(a + 1);
  co_return b + 1;
}

task<int> nested_sum(int depth) {
  if (depth == 0) co_return 0;
  co_return depth + co_await nested_sum(depth - 1);
}

task<smarm::Pid> pid_here() { co_return smarm::self(); }

task<bool> same_actor_all_the_way() {
  const smarm::Pid mine = smarm::self();
  const smarm::Pid child = co_await pid_here();
  co_return mine == child&& mine.valid();
}

task<void> throws_runtime_error(std::string what) {
  throw std::runtime_error(what);
  co_return;
}

task<int> rethrows_through_a_level() {
  co_await throws_runtime_error("deep");
  co_return 1;  // never reached
}

task<std::string> catches_and_continues() {
  std::string seen;
  try {
    co_await rethrows_through_a_level();
  } catch (const std::runtime_error& e) {
    seen = e.what();
  }
  const int after = co_await constant(5);
  co_return seen + "/" + std::to_string(after);
}

// Counted counts destructions of its live (not moved-from) instances.
struct Counted {
  std::atomic<int>* destroyed;
  explicit Counted(std::atomic<int>* d) : destroyed(d) {}
  Counted(Counted&& o) noexcept : destroyed(std::exchange(o.destroyed, nullptr)) {}
  Counted(const Counted&) = delete;
  ~Counted() {
    if (destroyed) destroyed->fetch_add(1);
  }
};

task<int> holds_counted(Counted c, std::atomic<bool>* ran) {
  ran->store(true);
  co_return c.destroyed != nullptr ? 1 : 0;
}

// --- laziness, get(), NotInActor ------------------------------------------------------

TEST(TaskTest, ATaskIsLazyAndGetRunsItToCompletion) {
  std::atomic<int> destroyed{0};
  std::atomic<bool> ran{false};
  auto r = run_on(1, [&] {
    auto t = holds_counted(Counted(&destroyed), &ran);
    EXPECT_FALSE(ran.load()) << "calling a task function must not run its body";
    EXPECT_TRUE(t.valid());
    auto v = t.get();
    EXPECT_TRUE(ran.load());
    EXPECT_FALSE(t.valid()) << "get() consumes the task";
    EXPECT_EQ(destroyed.load(), 1) << "the frame (and its parameter) is freed by get()";
    return v.value();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 1);
}

TEST(TaskTest, GetOutsideAnActorIsNotInActorAndLeavesTheTaskRunnable) {
  std::atomic<int> destroyed{0};
  std::atomic<bool> ran{false};
  auto t = holds_counted(Counted(&destroyed), &ran);
  EXPECT_TRUE(has_errc(t.get(), Errc::NotInActor));
  EXPECT_FALSE(ran.load());
  EXPECT_TRUE(t.valid());
  EXPECT_EQ(destroyed.load(), 0);

  // The same task runs later, inside an actor.
  auto r = run_on(1, [&] { return t.get().value(); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 1);
  EXPECT_TRUE(ran.load());
}

TEST(TaskTest, AnEmptyTaskGivesInvalidArgumentNeverUB) {
  auto r = run_on(1, [] {
    task<int> never;
    EXPECT_FALSE(never.valid());
    EXPECT_TRUE(has_errc(never.get(), Errc::InvalidArgument));

    auto t = constant(1);
    auto moved = std::move(t);
    EXPECT_TRUE(has_errc(t.get(), Errc::InvalidArgument));  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(moved.get().value(), 1);
    EXPECT_TRUE(has_errc(moved.get(), Errc::InvalidArgument)) << "a second get()";

    // co_await on an empty task throws BadResultAccess (co_await t is t.get().value()).
    auto awaits_empty = []() -> task<int> {
      task<int> empty;
      co_return co_await std::move(empty);
    };
    try {
      (void)awaits_empty().get();
      ADD_FAILURE() << "co_await on an empty task must throw";
    } catch (const smarm::BadResultAccess& e) {
      EXPECT_EQ(e.errc(), Errc::InvalidArgument);
    }
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(TaskTest, TaskVoidGetReturnsAnEmptyResult) {
  std::atomic<int> calls{0};
  auto r = run_on(1, [&] {
    auto bump = [](std::atomic<int>* c) -> task<void> {
      c->fetch_add(1);
      co_return;
    };
    auto t = bump(&calls);
    EXPECT_EQ(calls.load(), 0);
    EXPECT_TRUE(is_ok(t.get()));
    EXPECT_EQ(calls.load(), 1);
  });
  EXPECT_TRUE(is_ok(r));
}

// --- co_await on tasks -------------------------------------------------------------------

TEST(TaskTest, NestedAwaitsRunInlineOnTheSameActor) {
  auto r = run_on(2, [] {
    EXPECT_EQ(add_three_levels(10).get().value(), 12);
    EXPECT_TRUE(same_actor_all_the_way().get().value());
    EXPECT_EQ(nested_sum(100).get().value(), 5050);
    EXPECT_EQ(smarm::stats().actors_alive, 1u) << "co_await must not create actors";
  });
  EXPECT_TRUE(is_ok(r));
}

task<std::int64_t> await_in_a_loop(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += co_await constant(static_cast<int>(i % 7));
  co_return sum;
}

TEST(TaskTest, AwaitingInALongLoopDoesNotGrowTheStack) {
  // A 64 KiB stack: if each co_await left a frame behind (symmetric transfer without a
  // tail call, as GCC emits at -O0 and under ASan), this loop would overflow it.
  constexpr std::int64_t n = smarm::test::scaled<std::int64_t>(1'000'000, 200'000, 50'000);
  auto r = smarm::test::run_checked(smarm::Config::exact(1).stack_size(64 * 1024),
                                    [] { return await_in_a_loop(n).get().value(); });
  ASSERT_TRUE(is_ok(r));
  std::int64_t expected = 0;
  for (std::int64_t i = 0; i < n; ++i) expected += i % 7;
  EXPECT_EQ(*r, expected);
}

// --- exceptions ---------------------------------------------------------------------------

TEST(TaskTest, ExceptionsPropagateThroughCoAwaitAndGet) {
  auto r = run_on(1, [] {
    try {
      (void)rethrows_through_a_level().get();
      ADD_FAILURE() << "get() must rethrow the body's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "deep");
    }
    // Caught in the middle, the awaiting task carries on.
    EXPECT_EQ(catches_and_continues().get().value(), "deep/5");
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(TaskTest, ASpawnedTaskThatThrowsIsAPanicNamingTheException) {
  auto r = run_on(2, [] {
    auto h = smarm::spawn(rethrows_through_a_level());
    auto j = h.join();
    EXPECT_TRUE(has_errc(j, Errc::Panicked));
    if (!j) {
      EXPECT_NE(j.error().message().find("runtime_error"), std::string::npos)
          << j.error().message();
      EXPECT_NE(j.error().message().find("deep"), std::string::npos) << j.error().message();
    }
  });
  EXPECT_TRUE(is_ok(r));
}

task<Result<int>> gives_an_error() { co_return Errc::TimedOut; }
task<Result<int>> gives_a_value() { co_return 7; }

TEST(TaskTest, ATaskMayReturnAResult) {
  auto r = run_on(1, [] {
    auto e = gives_an_error().get();
    ASSERT_TRUE(is_ok(e)) << "the outer Result is get()'s own";
    EXPECT_TRUE(has_errc(*e, Errc::TimedOut));
    auto v = gives_a_value().get();
    ASSERT_TRUE(is_ok(v));
    ASSERT_TRUE(is_ok(*v));
    EXPECT_EQ(**v, 7);
  });
  EXPECT_TRUE(is_ok(r));
}

// --- co_await on blocking calls -----------------------------------------------------------

task<std::int64_t> sum_until_closed(smarm::Receiver<int> rx) {
  std::int64_t sum = 0;
  for (;;) {
    auto v = co_await rx.recv();
    if (!v) {
      EXPECT_TRUE(has_errc(v, Errc::Closed));
      co_return sum;
    }
    sum += *v;
  }
}

task<void> send_range(smarm::Sender<int> tx, int n) {
  for (int i = 1; i <= n; ++i) EXPECT_TRUE(is_ok(co_await tx.send(i)));
}

TEST(TaskTest, CoAwaitRecvAndSendOnABoundedChannelAcrossActors) {
  constexpr int n = smarm::test::scaled(100'000, 10'000, 2'000);
  auto r = run_on(2, [] {
    auto ch = smarm::bounded_channel<int>(1);  // every send beyond one parks
    auto consumer = smarm::spawn(sum_until_closed(std::move(ch.rx)));
    auto producer = smarm::spawn(send_range(std::move(ch.tx), n));
    EXPECT_TRUE(is_ok(producer.join()));
    return consumer.join().value();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<std::int64_t>(n) * (n + 1) / 2);
}

task<int> recv_timeouts_and_send_errors() {
  auto ch = smarm::channel<int>();
  auto t = co_await ch.rx.recv_for(1ms);
  EXPECT_TRUE(has_errc(t, Errc::TimedOut));
  ch.rx = smarm::Receiver<int>();  // drop the receiver: sends fail, handing the value back
  auto s = co_await ch.tx.send(42);
  EXPECT_TRUE(has_errc(s, Errc::Closed));
  co_return s ? 0 : std::move(s).error().into_value();
}

TEST(TaskTest, CoAwaitYieldsErrorsUnchanged) {
  auto r = run_on(1, [] { return recv_timeouts_and_send_errors().get().value(); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 42);
}

// select() is awaitable like any smarm call: it has run when co_await sees its outcome.
task<int> select_in_a_task(smarm::Receiver<int> a, smarm::Receiver<int> b) {
  auto first = co_await smarm::select(smarm::recv(a), smarm::recv(b), smarm::after(10s));
  EXPECT_EQ(first.index(), 1u);
  auto none = co_await smarm::select(smarm::recv(a), smarm::after(1ms));
  EXPECT_EQ(none.error().code(), Errc::TimedOut);
  co_return first.get<1>();
}

TEST(TaskTest, CoAwaitSelect) {
  auto r = run_on(1, [] {
    auto a = smarm::channel<int>();
    auto b = smarm::channel<int>();
    EXPECT_TRUE(is_ok(b.tx.send(7)));
    return select_in_a_task(std::move(a.rx), std::move(b.rx)).get().value();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 7);
}

task<int> sleeps_then_reads(const std::atomic<int>* flag) {
  const auto before = smarm::Clock::now();
  EXPECT_TRUE(is_ok(co_await smarm::sleep_for(5ms)));
  EXPECT_TRUE(is_ok(co_await smarm::sleep_until(smarm::Clock::now() + 1ms)));
  EXPECT_TRUE(is_ok(co_await smarm::yield_now()));
  EXPECT_GE(smarm::Clock::now() - before, 6ms) << "sleeps are never early";
  co_return flag->load();
}

TEST(TaskTest, CoAwaitSleepParksOnlyThisGreenThread) {
  auto r = run_on(1, [] {
    // One worker. The sleeper runs first (children do) and parks in its sleep; the setter
    // can only run meanwhile if the sleep parked the green thread, not the worker.
    std::atomic<int> flag{0};
    auto sleeper = smarm::spawn(sleeps_then_reads(&flag));
    auto setter = smarm::spawn([&flag] { flag.store(1); });
    EXPECT_TRUE(is_ok(setter.join()));
    return sleeper.join().value();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 1);
}

task<void> increment_under_lock(smarm::Mutex<std::int64_t>* m, int times) {
  for (int i = 0; i < times; ++i) {
    auto g = co_await m->lock(10s);
    if (!g) {
      ADD_FAILURE() << smarm::test::describe(g);
      co_return;
    }
    const std::int64_t seen = **g;
    // Give the other lockers a chance to run while we hold the mutex: they must wait.
    EXPECT_TRUE(is_ok(co_await smarm::yield_now()));
    **g = seen + 1;
  }
}

TEST(TaskTest, CoAwaitMutexLockSerialisesTasksOnTwoWorkers) {
  constexpr int per_task = smarm::test::scaled(2'000, 500, 200);
  smarm::Mutex<std::int64_t> m(0);
  auto r = run_on(2, [&m] {
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < 4; ++i) hs.push_back(smarm::spawn(increment_under_lock(&m, per_task)));
    for (auto& res : smarm::join_all(hs)) EXPECT_TRUE(is_ok(res));
    auto g = m.try_lock();
    return g ? **g : -1;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 4 * per_task);
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

task<std::string> pipe_round_trip(int rfd, int wfd) {
  if (auto w = co_await io::wait_writable(wfd); !w)
    co_return "wait_writable: " + w.error().message();
  if (auto n = co_await io::write(wfd, bytes("hello ")); !n || *n != 6) co_return "write failed";
  if (auto a = co_await io::write_all(wfd, bytes("pipe")); !a) co_return a.error().message();
  if (auto rd = co_await io::wait_readable(rfd); !rd) co_return rd.error().message();
  std::string got;
  std::byte buf[64];
  while (got.size() < 10) {
    auto n = co_await io::read(rfd, buf, smarm::Clock::now() + 10s);
    if (!n) co_return "read: " + n.error().message();
    got.append(reinterpret_cast<const char*>(buf), *n);
  }
  co_return got;
}

TEST(TaskTest, CoAwaitPipeReadWriteAndReadiness) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  auto r = run_on(1, [&fds] { return pipe_round_trip(fds[0], fds[1]).get().value(); });
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, "hello pipe");
}

task<std::string> tcp_server(io::TcpListener* listener) {
  // io::accept on the raw descriptor, then the owning stream.
  auto fd = co_await io::accept(listener->fd(), smarm::Clock::now() + 10s);
  if (!fd) co_return "accept: " + fd.error().message();
  io::TcpStream conn{io::OwnedFd(*fd)};
  std::string line(5, '\0');
  auto got = co_await conn.read_exact(std::as_writable_bytes(std::span(line)));
  if (!got) co_return "read_exact: " + got.error().message();
  if (auto w = co_await conn.write_all(bytes("pong:" + line)); !w) co_return w.error().message();
  co_return line;
}

task<std::string> tcp_client(std::uint16_t port) {
  // connect through TcpStream, and through io::connect on a socket of our own.
  auto conn = co_await io::TcpStream::connect("127.0.0.1", port, smarm::Clock::now() + 10s);
  if (!conn) co_return "connect: " + conn.error().message();
  if (auto w = co_await conn->write_all(bytes("ping!")); !w) co_return w.error().message();
  std::string reply(10, '\0');
  if (auto rd = co_await conn->read_exact(std::as_writable_bytes(std::span(reply))); !rd)
    co_return "read_exact: " + rd.error().message();
  co_return reply;
}

task<Result<void>> raw_connect(std::uint16_t port) {
  io::OwnedFd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  co_return co_await io::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr,
                                 smarm::Clock::now() + 10s);
}

TEST(TaskTest, CoAwaitTcpAcceptConnectReadWrite) {
  auto r = run_on(2, [] {
    auto listener = io::TcpListener::bind("127.0.0.1", 0);
    if (!listener) return "bind: " + listener.error().message();
    auto server = smarm::spawn(tcp_server(&*listener));
    const std::string reply = tcp_client(listener->port()).get().value();
    EXPECT_EQ(server.join().value(), "ping!");
    // A second connection, through io::connect; accepted and dropped by the listener.
    auto accepter = smarm::spawn([&listener] {
      auto fd = io::accept(listener->fd(), smarm::Clock::now() + 10s);
      if (fd) ::close(*fd);
      return fd.has_value();
    });
    auto c = raw_connect(listener->port()).get().value();
    EXPECT_TRUE(is_ok(c));
    EXPECT_TRUE(accepter.join().value());
    return reply;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, "pong:ping!");
}

// --- spawn, join, stackful interplay -------------------------------------------------------

task<int> spawn_and_await_join() {
  auto h = smarm::spawn(add_three_levels(1));
  auto j = co_await h.join();
  co_return j.value_or(-1);
}

TEST(TaskTest, SpawnGivesATaskItsOwnActorAndCoAwaitJoinWaitsForIt) {
  auto r = run_on(2, [] {
    auto h = smarm::spawn(pid_here());
    const smarm::Pid child = h.join().value();
    EXPECT_TRUE(child.valid());
    EXPECT_NE(child, smarm::self());
    EXPECT_EQ(spawn_and_await_join().get().value(), 3);

    auto opts = smarm::SpawnOptions{};
    opts.name = "named-task";
    auto named = smarm::try_spawn(opts, constant(9));
    EXPECT_TRUE(is_ok(named));
    if (named) {
      EXPECT_EQ(named->join().value(), 9);
    }

    task<int> empty;
    EXPECT_TRUE(has_errc(smarm::spawn(std::move(empty)).join(), Errc::InvalidArgument));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(TaskTest, SpawnOutsideAnActorIsNotInActorAndFreesTheTask) {
  std::atomic<int> destroyed{0};
  std::atomic<bool> ran{false};
  EXPECT_TRUE(
      has_errc(smarm::try_spawn(holds_counted(Counted(&destroyed), &ran)), Errc::NotInActor));
  EXPECT_TRUE(
      has_errc(smarm::spawn(holds_counted(Counted(&destroyed), &ran)).join(), Errc::NotInActor));
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(destroyed.load(), 2);
}

// A plain (stackful) function that blocks: callable from a task without co_await.
int blocking_recv_plus_one(smarm::Receiver<int>& rx) { return rx.recv().value() + 1; }

task<int> mixes_plain_blocking_calls(smarm::Receiver<int> rx) {
  const int a = blocking_recv_plus_one(rx);  // no co_await: the green thread parks anyway
  const int b = constant(10).get().value();  // get() from inside a task, stackfully
  const int c = (co_await rx.recv()).value();
  co_return a + b + c;
}

TEST(TaskTest, PlainBlockingCallsAndGetInsideATaskStayCorrect) {
  auto r = run_on(1, [] {
    auto ch = smarm::channel<int>();
    // The task runs first (children do) and parks in its plain recv, without co_await.
    auto h = smarm::spawn(mixes_plain_blocking_calls(std::move(ch.rx)));
    EXPECT_EQ(smarm::stats().actors_parked, 1u);
    EXPECT_TRUE(is_ok(ch.tx.send(1)));
    EXPECT_TRUE(is_ok(ch.tx.send(100)));
    return h.join().value();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 2 + 10 + 100);
}

task<int> waits_forever(smarm::Receiver<int> rx) {
  auto v = co_await rx.recv();
  co_return v ? 0 : static_cast<int>(v.error().code());
}

TEST(TaskTest, CancellingTheActorReachesTheAwaitingTask) {
  auto r = run_on(2, [] {
    auto ch = smarm::channel<int>();
    auto h = smarm::spawn(waits_forever(std::move(ch.rx)));
    EXPECT_TRUE(is_ok(h.cancel()));
    return h.join().value();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<int>(Errc::Cancelled));
}

// --- many tasks on two workers ---------------------------------------------------------------

task<int> echo_doubled(smarm::Receiver<int> in, smarm::Sender<int> out) {
  int handled = 0;
  for (;;) {
    auto v = co_await in.recv();
    if (!v) co_return handled;
    if (!(co_await out.send(co_await constant(2 * *v)))) co_return -1;
    ++handled;
  }
}

task<std::int64_t> client(int id, int rounds) {
  auto req = smarm::channel<int>();
  auto rep = smarm::channel<int>();
  auto server = smarm::spawn(echo_doubled(std::move(req.rx), std::move(rep.tx)));
  std::int64_t sum = 0;
  for (int i = 0; i < rounds; ++i) {
    if (!(co_await req.tx.send(id + i))) co_return -1;
    auto v = co_await rep.rx.recv();
    if (!v) co_return -1;
    sum += *v;
  }
  req.tx.close();
  const int handled = (co_await server.join()).value_or(-2);
  co_return handled == rounds ? sum : -1;
}

TEST(TaskTest, ManyTasksTalkOnTwoWorkers) {
  constexpr int clients = smarm::test::scaled(500, 200, 50);
  constexpr int rounds = smarm::test::scaled(200, 50, 20);
  auto r = run_on(2, [] {
    std::vector<smarm::JoinHandle<std::int64_t>> hs;
    for (int id = 0; id < clients; ++id) hs.push_back(smarm::spawn(client(id, rounds)));
    std::int64_t total = 0;
    for (auto& res : smarm::join_all(hs)) total += res.value_or(-1'000'000'000);
    return total;
  });
  ASSERT_TRUE(is_ok(r));
  std::int64_t expected = 0;
  for (int id = 0; id < clients; ++id)
    for (int i = 0; i < rounds; ++i) expected += 2 * (id + i);
  EXPECT_EQ(*r, expected);
}

// --- destruction without running --------------------------------------------------------------

TEST(TaskTest, AnUnstartedTaskIsDestroyedWithItsFrame) {
  std::atomic<int> destroyed{0};
  std::atomic<bool> ran{false};
  {
    auto t = holds_counted(Counted(&destroyed), &ran);  // no runtime needed to make one
    EXPECT_EQ(destroyed.load(), 0) << "the parameter lives in the frame until it goes";
  }
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_FALSE(ran.load());

  // Move-assigning over a task destroys the frame it held; the same inside an actor, and
  // for a task owned by an awaiting task that throws before awaiting it.
  auto r = run_on(1, [&destroyed, &ran] {
    auto a = holds_counted(Counted(&destroyed), &ran);
    a = holds_counted(Counted(&destroyed), &ran);
    EXPECT_EQ(destroyed.load(), 2);
    auto owner = [](task<int> inner) -> task<int> {
      throw std::logic_error("before the await");
      co_return co_await std::move(inner);
    };
    EXPECT_THROW((void)owner(std::move(a)).get(), std::logic_error);
    EXPECT_EQ(destroyed.load(), 3);
  });
  EXPECT_TRUE(is_ok(r));
  EXPECT_FALSE(ran.load());
}

}  // namespace
