// SPDX-License-Identifier: Apache-2.0
// w1_skynet.cpp — W1 skynet (spawn/join), BENCHMARKS.md, with Asio coroutines.
//
// The root coroutine co_spawns 10 children; every child co_spawns 10, down to depth 6, so
// the last level holds 1,000,000 leaves (1,111,111 coroutines with the root). A leaf's
// value is its ordinal number; every parent sums its 10 children's values. Two lines,
// measured interleaved:
//   asio      every parent co_spawns its 10 children first (so they run concurrently —
//             at T=2 on both threads) and then receives their 10 values from its own
//             channel of capacity 10 (one slot per child, so a child's async_send never
//             waits), sums them and sends the sum to its own parent's channel the same
//             way. This is the smarm version's spawn-all-then-join, with the channel in
//             place of join(). The io_context's FIFO queue makes it breadth-first: all
//             1,000,000 leaves are queued before the first one runs, so the whole tree
//             is alive at once (about 1.3 KB of heap per coroutine).
//   asio-seq  every parent awaits its children one at a time,
//             `sum += co_await co_spawn(ex, child, use_awaitable)`: the same 1,111,111
//             co_spawns and values, but depth-first, at most one coroutine per level
//             alive, and no two ever runnable at once (so T=2 cannot help).
// Expected: 499999500000. Metric: wall time of the whole tree, in ms, measured inside the
// root coroutine (io_context creation and thread start/stop excluded).
// Smoke: depth 3 (1,000 leaves, expected 499500).
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "asio_workloads.hpp"

namespace smarm::bench::vs_asio {
namespace {

namespace net = boost::asio;

constexpr int kFanOut = 10;

template <class Ch>
net::awaitable<void> node(Ch& out, std::int64_t num, std::int64_t size, Errors& errors);

// subtree returns the sum of the leaf ordinals num .. num+size-1 (size a power of 10,
// at least 10), co_spawning one node coroutine per child.
template <class Ch>
net::awaitable<std::int64_t> subtree(std::int64_t num, std::int64_t size, Errors& errors) {
  const auto ex = co_await net::this_coro::executor;
  Ch results(ex, kFanOut);
  const std::int64_t child_size = size / kFanOut;
  for (int i = 0; i < kFanOut; ++i)
    net::co_spawn(ex, node(results, num + i * child_size, child_size, errors), errors.handler());
  std::int64_t sum = 0;
  for (int i = 0; i < kFanOut; ++i) sum += co_await results.async_receive(net::use_awaitable);
  co_return sum;
}

// node is one non-root coroutine of the tree: a leaf (size 1) sends its ordinal, an inner
// node the sum of its subtree, to its parent's channel `out`.
template <class Ch>
net::awaitable<void> node(Ch& out, std::int64_t num, std::int64_t size, Errors& errors) {
  std::int64_t value = num;
  if (size > 1) value = co_await subtree<Ch>(num, size, errors);
  co_await out.async_send(boost::system::error_code{}, value, net::use_awaitable);
}

template <class Ch>
Sample run_concurrent(std::size_t threads, std::int64_t leaves) {
  Sample s;
  net::io_context ctx(static_cast<int>(threads));
  Errors errors;
  double elapsed = 0;
  std::int64_t sum = -1;
  auto root = [&]() -> net::awaitable<void> {
    const auto t0 = Clock::now();
    sum = co_await subtree<Ch>(0, leaves, errors);
    elapsed = seconds_since(t0);
  };
  net::co_spawn(ctx, root(), errors.handler());
  run_context(ctx, threads);
  s.failure = errors.first();
  s.result = sum;
  s.metric = elapsed * 1e3;
  return s;
}

// seq_node returns the sum of the leaf ordinals num .. num+size-1, awaiting one
// co_spawned child coroutine after the other.
net::awaitable<std::int64_t> seq_node(std::int64_t num, std::int64_t size) {
  if (size == 1) co_return num;
  const auto ex = co_await net::this_coro::executor;
  const std::int64_t child_size = size / kFanOut;
  std::int64_t sum = 0;
  for (int i = 0; i < kFanOut; ++i)
    sum +=
        co_await net::co_spawn(ex, seq_node(num + i * child_size, child_size), net::use_awaitable);
  co_return sum;
}

Sample run_sequential(std::size_t threads, std::int64_t leaves) {
  Sample s;
  net::io_context ctx(static_cast<int>(threads));
  Errors errors;
  double elapsed = 0;
  std::int64_t sum = -1;
  auto root = [&]() -> net::awaitable<void> {
    const auto t0 = Clock::now();
    sum = co_await seq_node(0, leaves);
    elapsed = seconds_since(t0);
  };
  net::co_spawn(ctx, root(), errors.handler());
  run_context(ctx, threads);
  s.failure = errors.first();
  s.result = sum;
  s.metric = elapsed * 1e3;
  return s;
}

}  // namespace

void run_w1_skynet(Reporter& rep, std::size_t threads) {
  const int depth = rep.smoke() ? 3 : 6;
  std::int64_t leaves = 1;
  for (int i = 0; i < depth; ++i) leaves *= kFanOut;
  const std::int64_t expected = leaves * (leaves - 1) / 2;
  const std::vector<Case> cases{
      {"W1", "asio", threads, "ms", expected,
       [threads, leaves] {
         return threads == 1 ? run_concurrent<Channel>(threads, leaves)
                             : run_concurrent<ConcurrentChannel>(threads, leaves);
       }},
      {"W1", "asio-seq", threads, "ms", expected,
       [threads, leaves] { return run_sequential(threads, leaves); }},
  };
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench::vs_asio
