// SPDX-License-Identifier: Apache-2.0
// asio_coro_pipeline.cpp — a three-stage pipeline in Asio C++20 coroutines, as Asio users
// write it: producer -> transform -> consumer, each stage a coroutine co_spawned on one
// io_context, stages joined by experimental::channel (capacity 64) and awaited with
// use_awaitable. smarm_coro_pipeline.cpp is the same program on smarm::task; the two print
// the same line (ctest checks it).
//
// The producer sends 1..100000; the transform drops multiples of 3 and squares the rest;
// the consumer counts and sums what arrives.
//
// End of stream: the producer sends asio::error::eof in-band rather than closing the
// channel, because in Boost 1.81 channel::close() discards values still buffered — a
// receiver would lose up to 64 items. (smarm's channels drain before reporting Closed.)
#include <cstdint>
#include <cstdio>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace net = boost::asio;
using boost::system::error_code;
using Channel = net::experimental::channel<void(error_code, std::int64_t)>;

constexpr std::int64_t kItems = 100'000;
constexpr std::size_t kCapacity = 64;

struct Summary {
  std::int64_t count = 0;
  std::int64_t sum = 0;
};

net::awaitable<void> produce(Channel& out) {
  for (std::int64_t i = 1; i <= kItems; ++i)
    co_await out.async_send(error_code{}, i, net::use_awaitable);
  co_await out.async_send(net::error::eof, 0, net::use_awaitable);
}

net::awaitable<void> transform(Channel& in, Channel& out) {
  for (;;) {
    // as_tuple: the error code comes back as a value instead of an exception.
    auto [ec, v] = co_await in.async_receive(net::as_tuple(net::use_awaitable));
    if (ec) break;
    if (v % 3 == 0) continue;
    co_await out.async_send(error_code{}, v * v, net::use_awaitable);
  }
  co_await out.async_send(net::error::eof, 0, net::use_awaitable);
}

net::awaitable<void> consume(Channel& in, Summary& s) {
  for (;;) {
    auto [ec, v] = co_await in.async_receive(net::as_tuple(net::use_awaitable));
    if (ec) break;
    ++s.count;
    s.sum += v;
  }
}

int main() {
  net::io_context ctx;
  Channel raw(ctx, kCapacity);
  Channel squared(ctx, kCapacity);
  Summary summary;
  std::exception_ptr failure;
  auto on_done = [&failure](std::exception_ptr e) {
    if (e && !failure) failure = e;
  };
  net::co_spawn(ctx, produce(raw), on_done);
  net::co_spawn(ctx, transform(raw, squared), on_done);
  net::co_spawn(ctx, consume(squared, summary), on_done);
  ctx.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pipeline failed: %s\n", e.what());
    }
    return 1;
  }
  std::printf("pipeline: %lld items, sum of squares %lld\n", static_cast<long long>(summary.count),
              static_cast<long long>(summary.sum));
  return 0;
}
