// SPDX-License-Identifier: Apache-2.0
// runtime.hpp — starting and stopping a runtime.
//
//   auto r = smarm::run([] { ... });                            // one worker
//   auto r = smarm::runtime::init(smarm::Config{}).run(f);      // one worker per CPU
//
// run(f) runs f as the first actor; the calling thread becomes worker 0 and the other
// workers are new threads. When f returns, every actor still running is cancelled and
// joined; one that does not end within Config::shutdown_grace makes run() abort the
// process with a message naming it. run() returns f's value, or Panicked if f threw, or
// InvalidConfig naming the bad field, or InvalidArgument if called from inside an actor.
// Runtimes share nothing: a program may run one after another, or several at once on
// different threads.
#pragma once

#include <type_traits>
#include <utility>

#include <smarm/config.hpp>
#include <smarm/detail/core.hpp>
#include <smarm/error.hpp>
#include <smarm/spawn.hpp>
#include <smarm/stats.hpp>

namespace smarm {

namespace detail {
// run_root runs task as the root actor of a fresh runtime and returns once it and every
// other actor have ended. The task's status/result say how the root ended.
Result<void> run_root(const Config& config, TaskBase& task, Stats* final_stats);
}  // namespace detail

class Runtime {
 public:
  explicit Runtime(Config config) : config_(std::move(config)) {}

  // run(f) runs f as the root actor and returns its result (see the file comment).
  template <class F>
  auto run(F&& f) -> Result<std::invoke_result_t<std::decay_t<F>>> {
    using Fn = std::decay_t<F>;
    using R = std::invoke_result_t<Fn>;
    auto* task = new detail::JoinState<Fn, R>(std::forward<F>(f));
    struct Release {
      detail::TaskBase* t;
      ~Release() { t->release(); }
    } release{task};
    if (auto r = detail::run_root(config_, *task, &last_stats_); !r)
      return unexpected(std::move(r).error());
    if (task->status() == detail::TaskBase::Status::Panicked)
      return unexpected(Error(Errc::Panicked, task->panic_message(), task->panic_exception()));
    return static_cast<detail::ResultSlot<R>*>(task)->take();
  }

  const Config& config() const noexcept { return config_; }
  // last_stats() are the counters as the last run() ended (every actor gone by then).
  const Stats& last_stats() const noexcept { return last_stats_; }

 private:
  Config config_;
  Stats last_stats_;
};

namespace runtime {
// init(config) makes a runtime; its run() validates config and reports InvalidConfig.
inline Runtime init(Config config) { return Runtime(std::move(config)); }
}  // namespace runtime

// run(f) is runtime::init(Config::exact(1)).run(f).
template <class F>
auto run(F&& f) -> Result<std::invoke_result_t<std::decay_t<F>>> {
  return runtime::init(Config::exact(1)).run(std::forward<F>(f));
}

}  // namespace smarm
