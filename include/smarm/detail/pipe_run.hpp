// SPDX-License-Identifier: Apache-2.0
// detail/pipe_run.hpp — PipeRun, the state one running pipeline shares between its actors.
//
// A PipeRun lives on the stack of the actor that called the sink, which does not return
// before every actor of the pipeline has ended (join_all()); so the stage actors may keep
// a plain reference to it, and to the stage descriptors and borrowed source range that
// live in the same frame.
//
// It records three things:
//   - the first failure (an exception in a stage, a stage cancelled from outside, a spawn
//     that failed), as the Error the sink returns. The first one wins; it is written once
//     by the actor that won `failed_` and read by the sink only after joining every
//     actor, so the join orders the two.
//   - the pids of the pipeline's actors with their stage numbers, so that any actor can
//     cancel the others: every stage upstream of a take() that is done, or all of them
//     after a failure.
//   - the cut: stages numbered below it are being shut down on purpose. A stage that
//     finds itself cancelled checks it: below the cut it ends quietly, otherwise someone
//     outside the pipeline cancelled it and that is reported as the pipeline's failure
//     (a quietly shortened result would be taken for the whole one).
//
// Pids are published by the spawning actor while the first stages already run (a spawned
// child runs first), so publish() and cut() take one SpinLock: a pid published after a
// cut that covers it is cancelled by its publisher, one published before is cancelled by
// the cutter. The lock is held for a few instructions and never across a call into the
// runtime; SpinLock also keeps the allocator hook from preempting while it is held.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <smarm/detail/spinlock.hpp>
#include <smarm/error.hpp>
#include <smarm/pid.hpp>
#include <smarm/spawn.hpp>

namespace smarm::detail {

class PipeRun {
 public:
  // kAll is a cut that covers every stage: the pipeline is being torn down.
  static constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

  // `actors` is how many actors the pipeline will spawn (never more).
  explicit PipeRun(std::size_t actors) : actors_(actors), slots_(std::make_unique<Slot[]>(actors)) {
    handles_.reserve(actors);
  }
  PipeRun(const PipeRun&) = delete;
  PipeRun& operator=(const PipeRun&) = delete;
  // Never leaves an actor running with a reference into the frame that owns this.
  ~PipeRun() { join_all(); }

  // spawn(stage, kind, body) starts body on a new actor belonging to stage number
  // `stage`. A spawn that fails is recorded as the pipeline's failure (body is dropped).
  template <class F>
  void spawn(std::size_t stage, const char* kind, F&& body) {
    if (handles_.size() == actors_) {  // the count given to the constructor was wrong
      fail(stage, kind, Errc::InvalidArgument, "internal error: more actors than counted");
      return;
    }
    SpawnOptions options;
    options.name = "pipe stage " + std::to_string(stage) + " (" + kind + ")";
    auto h = try_spawn(options, std::forward<F>(body));
    if (!h) {
      fail(stage, kind, h.error().code(), "could not start an actor: " + h.error().message());
      return;
    }
    publish(stage, h->pid());
    handles_.push_back(std::move(*h));
  }

  // guard(stage, kind, body) runs a stage actor's body, turning an exception into the
  // pipeline's failure. Used inside every stage actor.
  template <class F>
  void guard(std::size_t stage, const char* kind, F&& body) noexcept {
    try {
      body();
    } catch (const std::exception& e) {
      fail(stage, kind, Errc::Panicked, e.what(), std::current_exception());
    } catch (...) {
      fail(stage, kind, Errc::Panicked, "unknown exception", std::current_exception());
    }
  }

  // stopped(stage, e) handles a receive or send of stage `stage` that failed with e:
  // returns true (the stage must end) after recording a failure if the cause was not
  // the pipeline's own doing. Closed is never a failure: on a receive it is the normal
  // end of the input, on a send the stage downstream has ended (take, or a failure
  // already recorded).
  bool stopped(std::size_t stage, const char* kind, const Error& e) {
    if (e.code() == Errc::Cancelled && !is_cut(stage))
      fail(stage, kind, Errc::Cancelled, "cancelled from outside the pipeline");
    else if (e.code() != Errc::Closed && e.code() != Errc::Cancelled)
      fail(stage, kind, e.code(), e.message());
    return true;
  }

  // fail(stage, kind, code, what, exception) records "stage <n> (<kind>): <what>" (and,
  // for a panic, the exception) if nothing failed before, then tears the whole pipeline
  // down.
  void fail(std::size_t stage, const char* kind, Errc code, const std::string& what,
            std::exception_ptr exception = nullptr) {
    if (!failed_.exchange(true, std::memory_order_acq_rel))
      error_.emplace(code, "stage " + std::to_string(stage) + " (" + kind + "): " + what,
                     std::move(exception));
    cut(kAll);
  }

  // cut(below) cancels every actor of a stage numbered below `below` (kAll: every one).
  void cut(std::size_t below) noexcept {
    lock_.lock();
    if (below > cut_) cut_ = below;
    lock_.unlock();
    for (std::size_t i = 0; i < actors_; ++i) {
      lock_.lock();
      const bool published = i < published_;
      const Slot s = published ? slots_[i] : Slot{};
      lock_.unlock();
      if (!published) break;                         // later ones are cancelled by their publisher
      if (s.stage < below) (void)cancel_pid(s.pid);  // StalePid: it has ended already
    }
  }

  bool is_cut(std::size_t stage) noexcept {
    lock_.lock();
    const bool cut = stage < cut_;
    lock_.unlock();
    return cut;
  }

  // join_all() waits for every actor spawned so far, even if the caller is cancelled:
  // they may refer to its stack. Idempotent.
  void join_all() noexcept {
    for (auto& h : handles_) {
      auto r = HandleAccess::join(h, JoinMode::IgnoreCancel);
      // Stage bodies catch everything; a panic here is the pipeline's own bug.
      if (!r && r.error().code() == Errc::Panicked)
        fail(0, "pipe", Errc::Panicked, r.error().message(), r.error().exception());
    }
    handles_.clear();
  }

  // error() is the first failure, if any; read it only after join_all().
  const std::optional<Error>& error() const noexcept { return error_; }

 private:
  struct Slot {
    std::size_t stage = 0;
    Pid pid{};
  };

  void publish(std::size_t stage, Pid pid) noexcept {
    lock_.lock();
    slots_[published_++] = Slot{stage, pid};
    const bool cut = stage < cut_;
    lock_.unlock();
    if (cut) (void)cancel_pid(pid);
  }

  const std::size_t actors_;
  std::unique_ptr<Slot[]> slots_;  // [0, published_) guarded by lock_
  std::size_t published_ = 0;      // guarded by lock_
  std::size_t cut_ = 0;            // guarded by lock_
  SpinLock lock_;
  std::atomic<bool> failed_{false};
  std::optional<Error> error_;             // written once, by the winner of failed_
  std::vector<JoinHandle<void>> handles_;  // the spawning actor's only
};

}  // namespace smarm::detail
