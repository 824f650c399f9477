// SPDX-License-Identifier: Apache-2.0
// w9_switch.cpp — W9 context switch, BENCHMARKS.md, with Asio coroutines.
//
// Two coroutines yield to each other, 10,000,000 switches in all (5,000,000 yields each).
// Asio has no yield of its own; the plain one is `co_await post(ex, use_awaitable)`: the
// coroutine's continuation goes to the back of the io_context's queue, so the other
// coroutine (already queued) runs first. (dispatch() would not do: called from inside
// the io_context it resumes the caller at once, without switching.) Metric: ns per
// switch = elapsed / total yields, timed on the calling thread from just before the two
// coroutines are co_spawned to just after the io_context has run out of work (one
// co_spawn each and one run() against 10,000,000 switches).
//
// Result: the number of yields made (expected 10,000,000; each coroutine counts a yield
// just before making it). As in smarm-bench's W9, the run also fails unless at least 99%
// of the yields were followed by progress of the other coroutine (each counts its own
// yields; after each yield it checks whether the other's count moved).
// Smoke: 100,000 switches.
#include <atomic>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "asio_workloads.hpp"

namespace smarm::bench::vs_asio {
namespace {

namespace net = boost::asio;

// Counters of one yielding coroutine. Only its owner writes them; the other reads
// `yields` (relaxed: at T=1 both run on one thread, the io_context orders everything).
struct Yielder {
  std::atomic<std::int64_t> yields{0};
  std::int64_t progressed = 0;  // yields after which the other's count had moved
};

// yield_loop makes `count` yields, counting in `me` and watching `other`.
net::awaitable<void> yield_loop(Yielder& me, const Yielder& other, std::int64_t count) {
  const auto ex = co_await net::this_coro::executor;
  for (std::int64_t i = 0; i < count; ++i) {
    me.yields.store(i + 1, std::memory_order_relaxed);  // counted before it happens
    const std::int64_t seen = other.yields.load(std::memory_order_relaxed);
    co_await net::post(ex, net::use_awaitable);
    if (other.yields.load(std::memory_order_relaxed) != seen) ++me.progressed;
  }
}

Sample run_once(std::size_t threads, std::int64_t switches) {
  Sample s;
  const std::int64_t each = switches / 2;
  net::io_context ctx(static_cast<int>(threads));
  Errors errors;
  Yielder a;
  Yielder b;
  const auto t0 = Clock::now();
  net::co_spawn(ctx, yield_loop(a, b, each), errors.handler());
  net::co_spawn(ctx, yield_loop(b, a, each), errors.handler());
  run_context(ctx, threads);
  const double elapsed = seconds_since(t0);
  const std::int64_t done = a.yields.load() + b.yields.load();
  const std::int64_t progressed = a.progressed + b.progressed;
  s.result = done;
  s.metric = elapsed * 1e9 / static_cast<double>(done > 0 ? done : 1);
  s.failure = errors.first();
  if (s.failure.empty() && static_cast<double>(progressed) < 0.99 * static_cast<double>(done))
    s.failure = "only " + std::to_string(progressed) + " of " + std::to_string(done) +
                " yields let the other coroutine run";
  return s;
}

}  // namespace

void run_w9_switch(Reporter& rep, std::size_t threads) {
  const std::int64_t switches = rep.smoke() ? 100'000 : 10'000'000;
  const std::vector<Case> cases{{"W9", "asio", threads, "ns/switch", switches,
                                 [threads, switches] { return run_once(threads, switches); }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench::vs_asio
