// SPDX-License-Identifier: Apache-2.0
// asio_workloads.hpp — the Boost.Asio comparison workloads of asio-bench, one file each
// (w1_skynet.cpp, ...), and what they share.
//
// Every workload is written with Asio's C++20 coroutines (awaitable, co_spawn,
// use_awaitable) on one io_context: created with concurrency hint T and run by T threads
// (the calling thread and T-1 std::threads), the usual way to run Asio on T cores.
// Coroutines talk through experimental::channel<void(error_code, int64_t)> at T=1 and
// through its thread-safe twin experimental::concurrent_channel at T>1 (a plain channel
// must not be touched by two threads at once), so every workload is a template on the
// channel type and run_<w> picks one by `threads`.
//
// run_<w>(rep, threads) measures and prints the workload's lines (workloads/report.hpp,
// shared with smarm-bench) at `threads` io_context threads; sizes shrink when
// rep.smoke(). main.cpp lists them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "workloads/report.hpp"

namespace smarm::bench::vs_asio {

using ChannelSignature = void(boost::system::error_code, std::int64_t);
// Channel: not thread-safe, for T=1. ConcurrentChannel: guarded by a mutex, for T>1.
using Channel = boost::asio::experimental::channel<ChannelSignature>;
using ConcurrentChannel = boost::asio::experimental::concurrent_channel<ChannelSignature>;

// run_context runs ctx on `threads` threads, the calling thread being one of them, until
// it runs out of work (every coroutine has finished), and joins the others.
inline void run_context(boost::asio::io_context& ctx, std::size_t threads) {
  std::vector<std::thread> others;
  others.reserve(threads > 0 ? threads - 1 : 0);
  for (std::size_t i = 1; i < threads; ++i) others.emplace_back([&ctx] { ctx.run(); });
  ctx.run();
  for (auto& t : others) t.join();
}

// Errors keeps the first exception that escaped a co_spawned coroutine (from any thread),
// so that a run whose coroutine threw fails instead of just computing a wrong result.
class Errors {
 public:
  // handler() is a co_spawn completion handler (for awaitable<void> and awaitable<T>
  // alike) that records the exception, if any.
  auto handler() noexcept {
    return [this](std::exception_ptr e, auto&&...) {
      if (e) record(e);
    };
  }

  void record(std::exception_ptr e) {
    std::string why = "a coroutine threw: ";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      why += x.what();
    } catch (...) {
      why += "unknown exception";
    }
    const std::lock_guard lock(mutex_);
    if (first_.empty()) first_ = std::move(why);
  }

  // first() is the first recorded failure, empty when there was none.
  std::string first() const {
    const std::lock_guard lock(mutex_);
    return first_;
  }

 private:
  mutable std::mutex mutex_;
  std::string first_;
};

void run_w1_skynet(Reporter& rep, std::size_t threads);
void run_w2_ping_pong(Reporter& rep, std::size_t threads);
void run_w3_ring(Reporter& rep, std::size_t threads);
void run_w4_primes(Reporter& rep, std::size_t threads);
void run_w5_pipeline(Reporter& rep, std::size_t threads);
void run_w9_switch(Reporter& rep, std::size_t threads);

}  // namespace smarm::bench::vs_asio
