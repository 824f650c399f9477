// SPDX-License-Identifier: Apache-2.0
// w4_primes.cpp — W4 primes fan-out/fan-in (compute), BENCHMARKS.md, with Asio coroutines.
//
// The chunks, their expected count, the threads and serial baselines and how the three
// lines are measured and printed are common/primes.hpp's, the same code as smarm-bench's
// W4 (so the serial and threads lines of the two programs show how much the machine
// drifted between them). Here:
//   asio     the root coroutine co_spawns one coroutine per chunk on the io_context; each
//            sends its count to one result channel (capacity 200: a send never waits);
//            the root receives the 200 counts and sums them.
// Expected: 148933. Metric: wall time in ms, from before the io_context is created to
// after its threads have stopped. The line carries vs_serial= and vs_threads= (asio
// median / that median).
#include <cstddef>
#include <cstdint>
#include <exception>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "asio_workloads.hpp"
#include "common/primes.hpp"

namespace smarm::bench::vs_asio {
namespace {

namespace net = boost::asio;

// chunk is one chunk's coroutine: count, then send the count to the root.
template <class Ch>
net::awaitable<void> chunk(std::uint32_t c, Ch& results) {
  co_await results.async_send(boost::system::error_code{}, primes::count_chunk(c),
                              net::use_awaitable);
}

// root co_spawns the chunks and sums their counts.
template <class Ch>
net::awaitable<std::int64_t> root(std::uint32_t chunks, Errors& errors) {
  const auto ex = co_await net::this_coro::executor;
  Ch results(ex, chunks);
  for (std::uint32_t c = 0; c < chunks; ++c) net::co_spawn(ex, chunk(c, results), errors.handler());
  std::int64_t total = 0;
  for (std::uint32_t c = 0; c < chunks; ++c)
    total += co_await results.async_receive(net::use_awaitable);
  co_return total;
}

template <class Ch>
Sample run_asio(std::size_t threads, std::uint32_t chunks) {
  Sample s;
  const auto t0 = Clock::now();
  std::int64_t total = -1;
  Errors errors;
  {
    net::io_context ctx(static_cast<int>(threads));
    net::co_spawn(ctx, root<Ch>(chunks, errors), [&](std::exception_ptr e, std::int64_t v) {
      if (e) errors.record(e);
      total = v;
    });
    run_context(ctx, threads);
  }
  s.metric = seconds_since(t0) * 1e3;
  s.failure = errors.first();
  s.result = total;
  return s;
}

}  // namespace

void run_w4_primes(Reporter& rep, std::size_t threads) {
  primes::run_w4(rep, threads, "asio", [](std::size_t t, std::uint32_t chunks) {
    return t == 1 ? run_asio<Channel>(t, chunks) : run_asio<ConcurrentChannel>(t, chunks);
  });
}

}  // namespace smarm::bench::vs_asio
