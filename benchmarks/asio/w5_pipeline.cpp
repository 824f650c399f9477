// SPDX-License-Identifier: Apache-2.0
// w5_pipeline.cpp — W5 pipeline (typed channels), BENCHMARKS.md, with Asio coroutines.
//
// The pipeline as Asio users write it: one io_context, a coroutine per stage
// (co_spawn + use_awaitable), joined by channels of capacity 64 — source -> map
// (x*x mod 1,000,003) -> filter (even) -> sink (sum). At T=1 the channels are
// experimental::channel and everything runs on the io_context; at T=2 every stage is
// co_spawned on its own strand, and the channels, which two strands then touch from two
// threads, are experimental::concurrent_channel (the plain channel is not thread-safe).
// The end of the stream is a -1 sent after the last item (all items are >= 0): Asio's
// channel close() drops whatever is still buffered, so it cannot end a stream.
// Metric: ns per source item, timed from before the stages are spawned to after the sum.
// Smoke: 10,000 items.
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "asio_workloads.hpp"
#include "common/w5.hpp"

namespace smarm::bench::vs_asio {
namespace {

namespace net = boost::asio;
constexpr std::int64_t kEnd = -1;

template <class Ch>
net::awaitable<void> source(Ch& out, std::int64_t n) {
  for (std::int64_t x = 0; x < n; ++x)
    co_await out.async_send(boost::system::error_code{}, x, net::use_awaitable);
  co_await out.async_send(boost::system::error_code{}, kEnd, net::use_awaitable);
}

template <class Ch>
net::awaitable<void> map_stage(Ch& in, Ch& out) {
  for (;;) {
    const std::int64_t x = co_await in.async_receive(net::use_awaitable);
    const std::int64_t y = x == kEnd ? kEnd : w5::square_mod(x);
    co_await out.async_send(boost::system::error_code{}, y, net::use_awaitable);
    if (x == kEnd) co_return;
  }
}

template <class Ch>
net::awaitable<void> filter_stage(Ch& in, Ch& out) {
  for (;;) {
    const std::int64_t x = co_await in.async_receive(net::use_awaitable);
    if (x == kEnd || w5::is_even(x))
      co_await out.async_send(boost::system::error_code{}, x, net::use_awaitable);
    if (x == kEnd) co_return;
  }
}

template <class Ch>
net::awaitable<void> sink(Ch& in, std::int64_t& sum) {
  for (;;) {
    const std::int64_t x = co_await in.async_receive(net::use_awaitable);
    if (x == kEnd) co_return;
    sum += x;
  }
}

template <class Ch>
Sample run_once(std::size_t threads, std::int64_t n) {
  Sample s;
  net::io_context ctx(static_cast<int>(threads));
  Ch a(ctx, w5::kCapacity), b(ctx, w5::kCapacity), c(ctx, w5::kCapacity);
  Errors errors;
  std::int64_t sum = 0;
  const auto t0 = Clock::now();
  // spawn(stage) runs a stage on its own strand when several threads run the context.
  auto spawn = [&](net::awaitable<void> stage) {
    if (threads > 1)
      net::co_spawn(net::make_strand(ctx), std::move(stage), errors.handler());
    else
      net::co_spawn(ctx, std::move(stage), errors.handler());
  };
  spawn(sink(c, sum));
  spawn(filter_stage(b, c));
  spawn(map_stage(a, b));
  spawn(source(a, n));
  run_context(ctx, threads);
  const double elapsed = seconds_since(t0);
  s.failure = errors.first();
  s.result = sum;
  s.metric = elapsed * 1e9 / static_cast<double>(n);
  return s;
}

}  // namespace

void run_w5_pipeline(Reporter& rep, std::size_t threads) {
  const std::int64_t n = rep.smoke() ? w5::kSmokeItems : w5::kItems;
  const std::vector<Case> cases{{"W5", "asio", threads, "ns/item", w5::expected(n), [threads, n] {
                                   return threads == 1 ? run_once<Channel>(threads, n)
                                                       : run_once<ConcurrentChannel>(threads, n);
                                 }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench::vs_asio
