// SPDX-License-Identifier: Apache-2.0
// w2_ping_pong.cpp — W2 ping-pong (context switch + channel), BENCHMARKS.md, with Asio
// coroutines.
//
// Two coroutines, two channels of int64 (experimental::channel<void(error_code, int64_t)>,
// capacity 1: at most one value is ever in flight per channel, so async_send never waits,
// as with smarm's unbounded channel). A sends i on `ping` and awaits the echo on `pong`;
// B receives each value and sends it back, 1,000,000 round trips. The result is the
// number of round trips whose echo equalled what was sent (expected 1,000,000). Metric:
// ns per round trip, timed in A from the first send to the last receive (B is co_spawned
// first and is parked on its receive before the clock starts). B makes exactly `rounds`
// echoes and ends. Smoke: 10,000 round trips.
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

constexpr std::size_t kCapacity = 1;

// echo receives `rounds` values on `in` and sends each back on `out`.
template <class Ch>
net::awaitable<void> echo(Ch& in, Ch& out, std::int64_t rounds) {
  for (std::int64_t i = 0; i < rounds; ++i) {
    const std::int64_t v = co_await in.async_receive(net::use_awaitable);
    co_await out.async_send(boost::system::error_code{}, v, net::use_awaitable);
  }
}

// pinger sends 0 .. rounds-1 and counts the echoes that came back right.
template <class Ch>
net::awaitable<std::int64_t> pinger(Ch& ping, Ch& pong, std::int64_t rounds, double& elapsed) {
  const auto ex = co_await net::this_coro::executor;
  co_await net::post(ex, net::use_awaitable);  // let B start and park on its receive
  std::int64_t good = 0;
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < rounds; ++i) {
    co_await ping.async_send(boost::system::error_code{}, i, net::use_awaitable);
    if (co_await pong.async_receive(net::use_awaitable) == i) ++good;
  }
  elapsed = seconds_since(t0);
  co_return good;
}

template <class Ch>
Sample run_once(std::size_t threads, std::int64_t rounds) {
  Sample s;
  net::io_context ctx(static_cast<int>(threads));
  Ch ping(ctx, kCapacity);
  Ch pong(ctx, kCapacity);
  Errors errors;
  double elapsed = 0;
  std::int64_t good = -1;
  net::co_spawn(ctx, echo(ping, pong, rounds), errors.handler());
  net::co_spawn(ctx, pinger(ping, pong, rounds, elapsed),
                [&](std::exception_ptr e, std::int64_t v) {
                  if (e) errors.record(e);
                  good = v;
                });
  run_context(ctx, threads);
  s.failure = errors.first();
  s.result = good;
  s.metric = elapsed * 1e9 / static_cast<double>(rounds);
  return s;
}

}  // namespace

void run_w2_ping_pong(Reporter& rep, std::size_t threads) {
  const std::int64_t rounds = rep.smoke() ? 10'000 : 1'000'000;
  const std::vector<Case> cases{{"W2", "asio", threads, "ns/rtt", rounds, [threads, rounds] {
                                   return threads == 1
                                              ? run_once<Channel>(threads, rounds)
                                              : run_once<ConcurrentChannel>(threads, rounds);
                                 }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench::vs_asio
