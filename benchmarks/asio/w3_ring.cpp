// SPDX-License-Identifier: Apache-2.0
// w3_ring.cpp — W3 ring (message passing), BENCHMARKS.md, with Asio coroutines.
//
// 1,000 coroutines in a ring, member k receiving from channel k and sending to channel
// k+1 (mod 1,000); every channel has capacity 1 (only one token exists, so async_send
// never waits). The root coroutine injects a token (int64 0) into channel 0; it goes
// around the ring 1,000 times, each hop incrementing it, 1,000,000 hops in all. Every
// member receives exactly `laps` times; the very last hop (member 999, last lap) sends
// the token to the root's `done` channel instead of around again. Expected final value:
// 1,000,000. Metric: ns per hop, timed in the root from the injection to the token's
// return; the ring is co_spawned (and, at T=1, parked on its channels: the root yields
// once behind them) before the clock starts. Smoke: 100 coroutines x 10 laps.
#include <cstdint>
#include <deque>
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

// member runs one ring member: `laps` times receive, increment, forward; the last
// member's last forward goes to `done`.
template <class Ch>
net::awaitable<void> member(Ch& in, Ch& next, Ch& done, int laps, bool last) {
  for (int lap = 0; lap < laps; ++lap) {
    const std::int64_t v = co_await in.async_receive(net::use_awaitable) + 1;
    Ch& out = last && lap == laps - 1 ? done : next;
    co_await out.async_send(boost::system::error_code{}, v, net::use_awaitable);
  }
}

template <class Ch>
Sample run_once(std::size_t threads, int members, int laps) {
  Sample s;
  net::io_context ctx(static_cast<int>(threads));
  std::deque<Ch> ring;  // a deque: the coroutines hold references into it
  for (int k = 0; k < members; ++k) ring.emplace_back(ctx, 1);
  Ch done(ctx, 1);
  Errors errors;
  double elapsed = 0;
  std::int64_t token = -1;
  auto root = [&]() -> net::awaitable<void> {
    const auto ex = co_await net::this_coro::executor;
    for (int k = 0; k < members; ++k) {
      const auto here = static_cast<std::size_t>(k);
      const auto next = static_cast<std::size_t>((k + 1) % members);
      net::co_spawn(ex, member(ring[here], ring[next], done, laps, k == members - 1),
                    errors.handler());
    }
    co_await net::post(ex, net::use_awaitable);  // behind every member's first receive
    const auto t0 = Clock::now();
    co_await ring[0].async_send(boost::system::error_code{}, std::int64_t{0}, net::use_awaitable);
    token = co_await done.async_receive(net::use_awaitable);
    elapsed = seconds_since(t0);
  };
  net::co_spawn(ctx, root(), errors.handler());
  run_context(ctx, threads);
  s.failure = errors.first();
  s.result = token;
  s.metric = elapsed * 1e9 / (static_cast<double>(members) * laps);
  return s;
}

}  // namespace

void run_w3_ring(Reporter& rep, std::size_t threads) {
  const int members = rep.smoke() ? 100 : 1'000;
  const int laps = rep.smoke() ? 10 : 1'000;
  const std::vector<Case> cases{
      {"W3", "asio", threads, "ns/hop", std::int64_t{members} * laps, [threads, members, laps] {
         return threads == 1 ? run_once<Channel>(threads, members, laps)
                             : run_once<ConcurrentChannel>(threads, members, laps);
       }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench::vs_asio
