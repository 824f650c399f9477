// SPDX-License-Identifier: Apache-2.0
// pipe_test.cpp — smarm::pipe: pipelines of actors, and Receiver<T>& as a range.
//
// Every test runs inside a runtime whose leak check (runtime_fixture.hpp) runs after it;
// besides, tests that end a pipeline early check inside the root actor that stats() is
// back to its baseline as soon as the sink has returned (only the root alive, nothing
// parked): the sink must not return while any stage still runs.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <range/v3/range/concepts.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include <smarm/pipe.hpp>
#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;
namespace pipe = smarm::pipe;

static_assert(ranges::input_range<smarm::Receiver<int>&>);
static_assert(ranges::input_range<smarm::Receiver<std::unique_ptr<int>>&>);
static_assert(std::ranges::input_range<smarm::Receiver<int>&>);
static_assert(ranges::viewable_range<smarm::Receiver<int>&>);

// at_baseline says whether only the calling (root) actor is alive and nothing is parked.
::testing::AssertionResult at_baseline() {
  const smarm::Stats s = smarm::stats();
  if (s.actors_alive == 1 && s.actors_parked == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "actors_alive=" << s.actors_alive << " actors_parked=" << s.actors_parked;
}

// feed(values) spawns an actor that sends them into a new channel and then closes it.
smarm::Receiver<int> feed(std::vector<int> values) {
  auto [tx, rx] = smarm::channel<int>();
  smarm::spawn([tx = std::move(tx), values = std::move(values)]() mutable {
    for (int v : values) (void)tx.send(v);
  }).detach();
  return std::move(rx);
}

std::vector<int> iota_vec(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

class PipeTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(PipeTest);

// --- Receiver<T>& as a range ----------------------------------------------------------------

TEST_P(PipeTest, ReceiverIsARangeForRangeV3Views) {
  auto r = run([] {
    auto rx = feed(iota_vec(10));
    std::vector<int> out;
    for (int v : rx | ranges::views::filter([](int x) { return x % 2 == 1; }) |
                     ranges::views::transform([](int x) { return x * x; }))
      out.push_back(v);
    EXPECT_EQ(out, (std::vector<int>{1, 9, 25, 49, 81}));
    // The range ended at Closed: the receiver has nothing more.
    EXPECT_TRUE(has_errc(rx.recv(), Errc::Closed));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(PipeTest, ReceiverRangeIsSinglePassAndStopsWhereATakeStops) {
  auto r = run([] {
    auto rx = feed(iota_vec(6));
    std::vector<int> first;
    for (int v : rx | ranges::views::take(2)) first.push_back(v);
    // The iterator receives only when a value is needed: views::take(2) took exactly 0
    // and 1 from the channel, and the next pass goes on at 2.
    std::vector<int> rest;
    for (int& v : rx) rest.push_back(v);
    EXPECT_EQ(first, (std::vector<int>{0, 1}));
    EXPECT_EQ(rest, (std::vector<int>{2, 3, 4, 5}));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

// A Receiver's size() (values queued right now) is not the length of the range: views::take(2)
// must wait for two values even when nothing is queued yet. Deterministic with one worker: the
// sender is runnable but has not run when the take view starts.
static_assert(!ranges::sized_range<smarm::Receiver<int>&>);
static_assert(!std::ranges::sized_range<smarm::Receiver<int>&>);
static_assert(ranges::input_range<smarm::Receiver<int>&>);

TEST_P(PipeTest, TakeWaitsForValuesNotYetQueued) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [go_tx, go_rx] = smarm::channel<int>();
    smarm::spawn([tx = std::move(tx), go_rx = std::move(go_rx)]() mutable {
      if (!go_rx.recv()) return;  // parks until the reader says go
      for (int i = 0; i < 4; ++i) (void)tx.send(i);
    }).detach();
    EXPECT_EQ(rx.size(), 0u);
    (void)go_tx.send(1);  // the sender is runnable now, but nothing is queued yet
    std::vector<int> first;
    for (int v : rx | ranges::views::take(2)) first.push_back(v);
    EXPECT_EQ(first, (std::vector<int>{0, 1}));
    std::vector<int> rest;
    for (int v : rx) rest.push_back(v);
    EXPECT_EQ(rest, (std::vector<int>{2, 3}));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(PipeTest, ReceiverRangeCarriesMoveOnlyValues) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<std::unique_ptr<int>>(2);
    smarm::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0; i < 5; ++i) (void)tx.send(std::make_unique<int>(i));
    }).detach();
    int sum = 0;
    for (auto& p : rx) {
      std::unique_ptr<int> mine = std::move(p);  // the iterator's value may be moved from
      sum += *mine;
    }
    return sum;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 10);
}

TEST(PipeOutsideActor, ReceiverRangeOutsideAnActorIsEmpty) {
  auto [tx, rx] = smarm::channel<int>();
  (void)tx.send(1);  // never parks on an unbounded channel
  int n = 0;
  for (int v : rx) n += v + 1;
  EXPECT_EQ(n, 0);  // recv() said NotInActor: the range ends at once
}

// --- basic pipelines -------------------------------------------------------------------------

TEST_P(PipeTest, MapFilterCollectKeepsOrder) {
  auto r = run([] {
    const std::vector<int> in = iota_vec(1000);
    return pipe::from(in) | pipe::map([](int x) { return std::int64_t{x} * x; }) |
           pipe::filter([](std::int64_t x) { return x % 2 == 0; }) | pipe::collect();
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  const std::vector<std::int64_t>& got = **r;
  ASSERT_EQ(got.size(), 500u);
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], std::int64_t(2 * i) * std::int64_t(2 * i));
}

TEST_P(PipeTest, W5PipelineComputesThePlainLoopsSum) {
  constexpr std::int64_t kN = 20'000;
  std::int64_t expected = 0;
  for (std::int64_t x = 0; x < kN; ++x)
    if (x * x % 1'000'003 % 2 == 0) expected += x * x % 1'000'003;
  auto r = run([] {
    return pipe::from(ranges::views::iota(std::int64_t{0}, kN)) |
           pipe::map([](std::int64_t x) { return x * x % 1'000'003; }) |
           pipe::filter([](std::int64_t x) { return x % 2 == 0; }) |
           pipe::fold(std::int64_t{0}, [](std::int64_t a, std::int64_t x) { return a + x; });
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, expected);
}

TEST_P(PipeTest, ForEachSeesEveryItemInOrder) {
  auto r = run([] {
    std::vector<std::string> seen;
    auto res = pipe::from(std::vector<std::string>{"a", "b", "c"}) |
               pipe::map([](std::string s) { return s + s; }) |
               pipe::for_each([&seen](std::string s) { seen.push_back(std::move(s)); });
    EXPECT_TRUE(is_ok(res));
    return seen;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<std::string>{"aa", "bb", "cc"}));
}

TEST_P(PipeTest, EmptySourceGivesEmptyResults) {
  auto r = run([] {
    const std::vector<int> none;
    auto c = pipe::from(none) | pipe::map([](int x) { return x + 1; }) | pipe::collect();
    EXPECT_TRUE(is_ok(c));
    if (c) {
      EXPECT_TRUE(c->empty());
    }
    auto f = pipe::from(none) | pipe::fold(7, [](int a, int x) { return a + x; });
    EXPECT_TRUE(is_ok(f));
    if (f) {
      EXPECT_EQ(*f, 7);
    }
    auto b = pipe::from(none) | pipe::batch(3) | pipe::collect();
    EXPECT_TRUE(is_ok(b));
    if (b) {  // no empty batch
      EXPECT_TRUE(b->empty());
    }
    auto p = pipe::from(none) | pipe::par_map(3, [](int x) { return x; }) | pipe::collect();
    EXPECT_TRUE(is_ok(p));
    if (p) {
      EXPECT_TRUE(p->empty());
    }
    // An already-closed channel, not feed({}): a detached feeder may still be on its way out
    // (alive in stats()) after its Sender closed the channel, and the baseline check below
    // would see it.
    auto [none_tx, rx] = smarm::channel<int>();
    none_tx.close();
    auto fromrx = pipe::from(std::move(rx)) | pipe::collect();
    EXPECT_TRUE(is_ok(fromrx));
    if (fromrx) {
      EXPECT_TRUE(fromrx->empty());
    }
    EXPECT_TRUE(at_baseline());
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(PipeTest, MoveOnlyItemsMoveThroughAnOwnedSource) {
  auto r = run([] {
    std::vector<std::unique_ptr<int>> v;
    for (int i = 1; i <= 4; ++i) v.push_back(std::make_unique<int>(i));
    return pipe::from(std::move(v)) | pipe::map([](std::unique_ptr<int> p) {
             *p *= 10;
             return p;
           }) |
           pipe::fold(0, [](int a, std::unique_ptr<int> p) { return a + *p; });
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, 100);
}

TEST_P(PipeTest, FragmentsCompose) {
  auto r = run([] {
    auto clean = pipe::map([](int x) { return x - 1; }) | pipe::filter([](int x) { return x > 0; });
    auto twice = std::move(clean) | pipe::map([](int x) { return 2 * x; });
    return pipe::from(std::vector<int>{0, 1, 2, 3}) | std::move(twice) | pipe::collect();
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, (std::vector<int>{2, 4}));
}

TEST_P(PipeTest, StatefulMapRunsOnOneActor) {
  auto r = run([] {
    return pipe::from(iota_vec(5)) | pipe::map([n = 0](int x) mutable { return x + n++; }) |
           pipe::collect();
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, (std::vector<int>{0, 2, 4, 6, 8}));
}

// --- capacity --------------------------------------------------------------------------------

TEST_P(PipeTest, CapacityOneAndRendezvousGiveTheSameResult) {
  auto r = run([] {
    const std::vector<int> in = iota_vec(300);
    for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
      auto c = pipe::from(in, {.capacity = cap}) | pipe::map([](int x) { return x * 3; }) |
               pipe::par_map(3, [](int x) { return x + 1; }) |
               pipe::filter([](int x) { return x % 2 == 0; }) | pipe::batch(7) |
               pipe::map([](std::vector<int> b) {
                 return std::accumulate(b.begin(), b.end(), std::int64_t{0});
               }) |
               pipe::fold(std::int64_t{0}, std::plus<>{});
      std::int64_t want = 0;
      for (int x : in)
        if ((3 * x + 1) % 2 == 0) want += 3 * x + 1;
      EXPECT_TRUE(is_ok(c)) << "capacity " << cap;
      if (c) {
        EXPECT_EQ(*c, want) << "capacity " << cap;
      }
    }
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

// --- par_map ---------------------------------------------------------------------------------

// delay_for(x) is a pseudo-random 0-199 µs, a pure function of x (no shared RNG state).
std::chrono::microseconds delay_for(int x) {
  std::uint32_t h = static_cast<std::uint32_t>(x) * 2654435761u;
  h ^= h >> 15;
  return std::chrono::microseconds(h % 200);
}

TEST(PipeParMap, OrderIsKeptUnderTwoWorkersWithRandomDelays) {
  auto r = smarm::test::run_on(2, [] {
    const std::vector<int> in = iota_vec(400);
    auto out = pipe::from(in, {.capacity = 4}) |
               pipe::par_map(4,
                             [](int x) {
                               (void)smarm::sleep_for(delay_for(x));  // items finish out of order
                               return x * 10;
                             }) |
               pipe::collect();
    EXPECT_TRUE(at_baseline());
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  const std::vector<int>& got = **r;
  ASSERT_EQ(got.size(), 400u);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int>(i) * 10);
}

TEST(PipeParMap, UnorderedDeliversEveryResultOnce) {
  auto r = smarm::test::run_on(2, [] {
    const std::vector<int> in = iota_vec(400);
    auto out = pipe::from(in, {.capacity = 4}) |
               pipe::par_map_unordered(4,
                                       [](int x) {
                                         (void)smarm::sleep_for(delay_for(x));
                                         return x * 10;
                                       }) |
               pipe::collect();
    EXPECT_TRUE(at_baseline());
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  std::vector<int> got = **r;
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), 400u);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int>(i) * 10);
}

TEST_P(PipeTest, ParMapRunsItsWorkersConcurrently) {
  // Item x's f reports at a gate, then waits for its own "go", which the opener sends only
  // once all four items are inside f: so four actors run f at once (with one worker
  // thread too: a parked f lets the others run). The 30 s wait only turns a broken
  // par_map into a failure instead of a hang; it is not a timing check.
  auto r = run([] {
    constexpr int kWorkers = 4;
    auto [gate_tx, gate_rx] = smarm::channel<int>();
    std::vector<smarm::Sender<int>> go_tx;
    std::vector<smarm::Receiver<int>> go_rx;
    for (int i = 0; i < kWorkers; ++i) {
      auto [t, x] = smarm::channel<int>();
      go_tx.push_back(std::move(t));
      go_rx.push_back(std::move(x));
    }
    auto opener = smarm::spawn([rx = std::move(gate_rx), tx = std::move(go_tx)]() mutable {
      for (int i = 0; i < kWorkers; ++i) (void)rx.recv();
      for (auto& t : tx) (void)t.send(1);
    });
    auto out = pipe::from(iota_vec(kWorkers), {.capacity = 1}) |
               pipe::par_map(kWorkers,
                             [gate = &gate_tx, go = &go_rx](int x) {
                               (void)gate->send(x);
                               auto g = (*go)[static_cast<std::size_t>(x)].recv_for(30s);
                               return g ? x : -1;
                             }) |
               pipe::collect();
    gate_tx.close();
    EXPECT_TRUE(is_ok(opener.join()));
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, (std::vector<int>{0, 1, 2, 3}));
}

// --- batch -----------------------------------------------------------------------------------

TEST_P(PipeTest, BatchEdgeCases) {
  auto r = run([] {
    using Batches = std::vector<std::vector<int>>;
    auto batches = [](int n, std::size_t k) {
      return pipe::from(iota_vec(n)) | pipe::batch(k) | pipe::collect();
    };
    auto exact = batches(6, 3);
    EXPECT_TRUE(is_ok(exact));
    if (exact) {
      EXPECT_EQ(*exact, (Batches{{0, 1, 2}, {3, 4, 5}}));
    }
    auto partial = batches(7, 3);
    EXPECT_TRUE(is_ok(partial));
    if (partial) {
      EXPECT_EQ(*partial, (Batches{{0, 1, 2}, {3, 4, 5}, {6}}));
    }
    auto ones = batches(3, 1);
    EXPECT_TRUE(is_ok(ones));
    if (ones) {
      EXPECT_EQ(*ones, (Batches{{0}, {1}, {2}}));
    }
    auto bigger = batches(3, 1'000'000'000);  // does not reserve k slots up front
    EXPECT_TRUE(is_ok(bigger));
    if (bigger) {
      EXPECT_EQ(*bigger, (Batches{{0, 1, 2}}));
    }
    auto zero = batches(3, 0);
    EXPECT_TRUE(has_errc(zero, Errc::InvalidArgument));
    if (!zero) {
      EXPECT_EQ(zero.error().message(),
                "stage 1 (batch): batch(0): the batch size must be at least 1");
    }
    EXPECT_TRUE(at_baseline());
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

// --- take and early ends ---------------------------------------------------------------------

TEST_P(PipeTest, TakeCancelsAnInfiniteSource) {
  auto r = run([] {
    auto out = pipe::from(ranges::views::iota(0)) | pipe::map([](int x) { return x * 2; }) |
               pipe::take(5) | pipe::collect();
    EXPECT_TRUE(at_baseline());
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, (std::vector<int>{0, 2, 4, 6, 8}));
}

TEST_P(PipeTest, TakeZeroEndsAtOnce) {
  auto r = run([] {
    auto out = pipe::from(ranges::views::iota(0)) | pipe::par_map(2, [](int x) { return x; }) |
               pipe::take(0) | pipe::collect();
    EXPECT_TRUE(at_baseline());
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_TRUE((*r)->empty());
}

TEST_P(PipeTest, TakeCancelsAStageParkedOnABorrowedChannel) {
  // The map stage reads the caller's own channel, whose sender stays open: after take(3)
  // only cancellation can free it. The channel stays usable.
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    for (int i = 0; i < 5; ++i) (void)tx.send(i);
    auto out =
        pipe::from(rx) | pipe::map([](int x) { return x + 100; }) | pipe::take(3) | pipe::collect();
    EXPECT_TRUE(at_baseline());
    EXPECT_FALSE(tx.is_closed());  // borrowed: still open
    (void)tx.send(99);
    std::vector<int> left;
    while (auto v = rx.try_recv()) left.push_back(*v);
    EXPECT_FALSE(left.empty());
    if (!left.empty()) {
      EXPECT_EQ(left.back(), 99);
    }
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, (std::vector<int>{100, 101, 102}));
}

TEST_P(PipeTest, AnOwnedChannelIsClosedWhenThePipelineEnds) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    for (int i = 0; i < 5; ++i) (void)tx.send(i);
    auto out = pipe::from(std::move(rx)) | pipe::take(2) | pipe::collect();
    EXPECT_TRUE(tx.is_closed());  // its senders learn the reader is gone
    EXPECT_TRUE(has_errc(tx.send(1), Errc::Closed));
    EXPECT_TRUE(at_baseline());
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ(**r, (std::vector<int>{0, 1}));
}

// Probe counts the live iterators of a borrowed range and fails the test if one is used
// after the range has gone.
struct Probe {
  std::atomic<int> live_iterators{0};
  std::atomic<bool> destroyed{false};
};

// ProbedRange is an infinite range 0, 1, 2, ... whose iterators count themselves in a Probe.
class ProbedRange {
 public:
  struct Sentinel {};
  class Iterator {
   public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    Iterator() = default;
    explicit Iterator(Probe* p) : probe_(p) { probe_->live_iterators.fetch_add(1); }
    Iterator(const Iterator& o) : probe_(o.probe_), i_(o.i_) { add(1); }
    Iterator& operator=(const Iterator& o) {
      add(-1);
      probe_ = o.probe_;
      i_ = o.i_;
      add(1);
      return *this;
    }
    ~Iterator() { add(-1); }
    int operator*() const {
      EXPECT_FALSE(probe_->destroyed.load()) << "borrowed range read after it was gone";
      return i_;
    }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    friend bool operator==(const Iterator&, Sentinel) noexcept { return false; }

   private:
    void add(int d) {
      if (probe_) probe_->live_iterators.fetch_add(d);
    }
    Probe* probe_ = nullptr;
    int i_ = 0;
  };

  explicit ProbedRange(Probe* p) : probe_(p) {}
  Iterator begin() const { return Iterator(probe_); }
  Sentinel end() const { return {}; }

 private:
  Probe* probe_;
};
static_assert(ranges::input_range<ProbedRange&>);

TEST_P(PipeTest, BorrowedRangeOutlivesEveryReader) {
  auto r = run([] {
    Probe probe;
    smarm::Result<std::vector<int>> out = smarm::Error(Errc::Closed);
    {
      ProbedRange range(&probe);  // borrowed by the source actor
      out =
          pipe::from(range) | pipe::map([](int x) { return x; }) | pipe::take(10) | pipe::collect();
      // The source may have been parked on a full channel mid-iteration when take(10)
      // ended; the sink returned only after it let go of its iterator.
      EXPECT_EQ(probe.live_iterators.load(), 0);
      probe.destroyed = true;
    }
    EXPECT_TRUE(at_baseline());
    return out;
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_TRUE(is_ok(*r));
  EXPECT_EQ((*r)->size(), 10u);
}

// --- failures --------------------------------------------------------------------------------

struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};

// expect_failure checks a pipeline's result: Panicked, naming the stage, and every actor
// of the pipeline gone.
template <class T>
void expect_failure(const smarm::Result<T>& r, const std::string& message) {
  EXPECT_TRUE(has_errc(r, Errc::Panicked));
  if (!r) {
    EXPECT_EQ(r.error().message(), message);
    // The exception itself travels with the error, to be caught by type.
    ASSERT_TRUE(r.error().exception());
    if (message.ends_with("boom")) {
      EXPECT_THROW(std::rethrow_exception(r.error().exception()), Boom);
    } else {
      EXPECT_THROW(std::rethrow_exception(r.error().exception()), int);
    }
  }
  EXPECT_TRUE(at_baseline());
}

auto throws_at(int n) {
  return [n](int x) {
    if (x == n) throw Boom();
    return x;
  };
}

TEST_P(PipeTest, ExceptionInTheSourceNamesStageZero) {
  auto r = run([] {
    auto src = ranges::views::iota(0) | ranges::views::transform(throws_at(100));
    expect_failure(pipe::from(src) | pipe::map([](int x) { return x; }) | pipe::collect(),
                   "stage 0 (from): boom");
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(PipeTest, ExceptionInEachStageKindEndsThePipeline) {
  auto r = run([] {
    auto inf = [] { return ranges::views::iota(0); };  // the failure must end an infinite run
    expect_failure(pipe::from(inf()) | pipe::map(throws_at(50)) | pipe::collect(),
                   "stage 1 (map): boom");
    expect_failure(pipe::from(inf()) | pipe::map([](int x) { return x; }) |
                       pipe::filter([](int x) -> bool { return throws_at(70)(x) >= 0; }) |
                       pipe::collect(),
                   "stage 2 (filter): boom");
    expect_failure(pipe::from(inf()) | pipe::par_map(3, throws_at(200)) | pipe::collect(),
                   "stage 1 (par_map): boom");
    expect_failure(pipe::from(inf()) | pipe::par_map_unordered(3, throws_at(200)) | pipe::collect(),
                   "stage 1 (par_map_unordered): boom");
    expect_failure(pipe::from(inf()) | pipe::batch(4) |
                       pipe::map([](std::vector<int> b) { return throws_at(8)(b.front()); }) |
                       pipe::take(100) | pipe::collect(),
                   "stage 2 (map): boom");
    expect_failure(pipe::from(inf()) | pipe::map([](int x) { return x; }) |
                       pipe::fold(0, [](int a, int x) { return a + throws_at(30)(x); }),
                   "stage 2 (fold): boom");
    expect_failure(pipe::from(inf()) | pipe::for_each([](int x) { (void)throws_at(30)(x); }),
                   "stage 1 (for_each): boom");
    expect_failure(pipe::from(inf()) | pipe::map([](int x) {
                     if (x == 5) throw 42;  // not a std::exception
                     return x;
                   }) | pipe::collect(),
                   "stage 1 (map): unknown exception");
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(PipeTest, BadParametersFailBeforeAnythingStarts) {
  auto r = run([] {
    auto spawned = smarm::stats().total().spawned;
    auto p = pipe::from(iota_vec(3)) | pipe::map([](int x) { return x; }) |
             pipe::par_map(0, [](int x) { return x; }) | pipe::collect();
    EXPECT_TRUE(has_errc(p, Errc::InvalidArgument));
    if (!p) {
      EXPECT_EQ(p.error().message(), "stage 2 (par_map): par_map(0, f): needs at least one worker");
    }
    auto u = pipe::from(iota_vec(3)) | pipe::par_map_unordered(0, [](int x) { return x; }) |
             pipe::collect();
    EXPECT_TRUE(has_errc(u, Errc::InvalidArgument));
    EXPECT_EQ(smarm::stats().total().spawned, spawned);  // nothing was started
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(PipeOutsideActor, SinkOutsideAnActorIsNotInActor) {
  auto out = pipe::from(iota_vec(3)) | pipe::collect();
  EXPECT_TRUE(has_errc(out, Errc::NotInActor));
}

TEST_P(PipeTest, CancellingTheCallerEndsThePipeline) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();  // never closed: only cancellation ends the run
    auto [started_tx, started_rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = &rx, started = std::move(started_tx)]() mutable {
      return pipe::from(*rx) | pipe::map([](int x) { return x; }) |
             pipe::for_each([&started](int) { (void)started.send(1); });
    });
    (void)tx.send(1);
    EXPECT_TRUE(is_ok(started_rx.recv()));  // the pipeline runs and its sink waits
    EXPECT_TRUE(is_ok(h.cancel()));
    auto out = h.join();
    EXPECT_TRUE(is_ok(out));
    if (out) {
      EXPECT_TRUE(has_errc(*out, Errc::Cancelled));
    }
    EXPECT_TRUE(at_baseline());
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(PipeTest, AStageCancelledFromOutsideIsAFailure) {
  // A quietly shortened result would look whole: a stage cancelled by someone else fails
  // the pipeline, naming it. The stage's pid comes from debug info: the one actor
  // named "pipe stage 1 (map)".
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [pid_tx, pid_rx] = smarm::channel<smarm::Pid>();
    auto h = smarm::spawn([rx = &rx, pid_tx = std::move(pid_tx)]() mutable {
      return pipe::from(*rx) | pipe::map([pid_tx](int x) mutable {
               (void)pid_tx.send(smarm::self());  // tell the test who runs this stage
               return x;
             }) |
             pipe::collect();
    });
    (void)tx.send(1);
    auto pid = pid_rx.recv();
    EXPECT_TRUE(is_ok(pid));
    if (pid) {
      EXPECT_TRUE(is_ok(smarm::cancel(*pid)));
    }
    auto out = h.join();
    EXPECT_TRUE(is_ok(out));
    if (out) {
      EXPECT_TRUE(has_errc(*out, Errc::Cancelled));
      if (!*out) {
        EXPECT_EQ(out->error().message(), "stage 1 (map): cancelled from outside the pipeline");
      }
    }
    EXPECT_TRUE(at_baseline());
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

}  // namespace
