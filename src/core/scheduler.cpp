// SPDX-License-Identifier: Apache-2.0
// scheduler.cpp — Scheduler: building a runtime, waking workers, shutting down.
#include "core/scheduler.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <string>

#include <smarm/detail/ring_queue.hpp>

#include "core/context.hpp"
#include "core/fork.hpp"
#include "core/lock_bias.hpp"
#include "core/sanitizer.hpp"
#include "core/timer_wheel.hpp"
#include "core/trace.hpp"
#include "io/backend.hpp"
#include "io/blocking_pool.hpp"

namespace smarm::detail {

namespace {

// Runtime numbers start at 1 (0 is "no runtime" in a Pid) and are never reused within
// a process, so a Pid of a finished runtime is stale in every later one.
std::atomic<std::uint32_t> g_next_runtime_id{1};

// Live runtimes by number, so that cancel(pid) works from threads that are not workers.
RuntimeMutex g_registry_mu;
std::vector<Scheduler*> g_registry;  // guarded by g_registry_mu

}  // namespace

Scheduler* find_scheduler_locked(std::uint32_t id) noexcept {
  for (Scheduler* s : g_registry)
    if (s->id() == id) return s;
  return nullptr;
}
RuntimeMutex& scheduler_registry_mutex() noexcept { return g_registry_mu; }

Scheduler::Scheduler(const Config& config)
    : stacks(config),
      slots(*this),
      monitor(*this),
      config_(config),
      id_(g_next_runtime_id.fetch_add(1, std::memory_order_relaxed)),
      limit_actors_(config.max_actors() < Config::kMaxActors),
      limit_stacks_(config.max_stack_memory() != Config::kNoStackMemoryLimit),
      max_stack_pages_(config.max_stack_memory() / page_size()) {
  // Before any worker exists, under no lock: the channel locks' slow path only reads the
  // answer (core/lock_bias.hpp). Once per process; later runtimes find it cached.
  (void)probe_lock_bias();
  for (unsigned i = 0; i < config.workers(); ++i)
    workers.push_back(std::make_unique<Worker>(*this, i));
  if (workers.size() == 1) {
    workers[0]->queue.set_private(true);
    workers[0]->fresh.set_private(true);
  }
  blocking_pool = std::make_unique<io::BlockingPool>(config.blocking_threads());
  trace_runtime_start(*this);
  runtime_born();  // a child forked from now on must not use this runtime (fork.hpp)
  std::lock_guard lock(g_registry_mu);
  g_registry.push_back(this);
}

Scheduler::~Scheduler() {
  // Every actor fiber released this token as its last act (switch_context).
  sanitizer::handoff_acquire(this);
  {
    std::lock_guard lock(g_registry_mu);
    g_registry.erase(std::remove(g_registry.begin(), g_registry.end(), this), g_registry.end());
  }
  if (watchdog_.joinable()) watchdog_.join();
  blocking_pool.reset();      // joins its threads (idle: every job's actor waited for it)
  stacks.discard_releases();  // the slabs are unmapped next: dropping pages first is waste
  workers.clear();            // returns pooled stacks before the allocator unmaps its slabs
  runtime_gone();
}

Result<void> Scheduler::reserve_limits(std::uint32_t pages) noexcept {
  // Relaxed: the counts order nothing; a spawn racing an exit may see the older count
  // and fail, as if it had come first.
  if (limit_actors_) {
    const std::size_t max = config_.max_actors();
    if (limited_actors_.fetch_add(1, std::memory_order_relaxed) >= max) {
      limited_actors_.fetch_sub(1, std::memory_order_relaxed);
      char buf[120];
      std::snprintf(buf, sizeof buf, "spawn(): actor limit reached (Config::max_actors = %zu)",
                    max);
      return Error(Errc::ResourceExhausted, buf);
    }
  }
  if (limit_stacks_) {
    const std::size_t held = limited_stack_pages_.fetch_add(pages, std::memory_order_relaxed);
    if (held + pages > max_stack_pages_) {
      limited_stack_pages_.fetch_sub(pages, std::memory_order_relaxed);
      if (limit_actors_) limited_actors_.fetch_sub(1, std::memory_order_relaxed);
      const std::size_t page = page_size();
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "spawn(): stack memory limit reached (Config::max_stack_memory = %zu "
                    "bytes; %zu in use, %zu requested)",
                    config_.max_stack_memory(), held * page, std::size_t{pages} * page);
      return Error(Errc::ResourceExhausted, buf);
    }
  }
  return {};
}

void Scheduler::release_limits(std::uint32_t pages) noexcept {
  if (limit_actors_) limited_actors_.fetch_sub(1, std::memory_order_relaxed);
  if (limit_stacks_) limited_stack_pages_.fetch_sub(pages, std::memory_order_relaxed);
}

Result<Actor*> Scheduler::create_actor(TaskBase& task, const SpawnOptions& options, Worker* w,
                                       bool is_root) {
  const bool default_size = options.stack_size == 0 || options.stack_size == config_.stack_size();
  std::uint32_t pages = 0;
  if (limit_actors_ || limit_stacks_) [[unlikely]] {
    if (limit_stacks_) {
      const std::size_t page = page_size();
      const std::size_t bytes = default_size ? config_.stack_size() : options.stack_size;
      // Larger than any cap can allow (and than a stack can be): the reservation fails.
      pages = static_cast<std::uint32_t>(
          std::min<std::size_t>((bytes + page - 1) / page, UINT32_MAX / 2));
    }
    if (auto r = reserve_limits(pages); !r) return std::move(r).error();
  }
  auto slot = slots.allocate(w);
  if (!slot) {
    release_limits(pages);
    return std::move(slot).error();
  }
  Actor* a = *slot;
  // acquire: pairs with the release that freed the slot (Worker::release_actor), so the
  // writes below are ordered after the previous occupant's.
  const std::uint32_t gen = a->generation();

  Stack st;
  if (default_size) st = w->take_pooled_stack();
  if (st) {
    sanitizer::unpoison_stack(st.lo, st.size);
  } else {
    auto fresh = stacks.allocate(default_size ? 0 : options.stack_size);
    if (!fresh) {
      slots.free(w, a);
      release_limits(pages);
      return std::move(fresh).error();
    }
    st = *fresh;
  }

  a->stack = st;
  a->ctx = Context{};
  a->ctx.sp = make_context(st.top(), &actor_entry, a);
  a->ctx.tsan_fiber = st.tsan_fiber;
  a->ctx.stack_bottom = st.lo;
  a->ctx.stack_size = st.size;
  a->task = &task;
  task.pid_ = Pid{id_, a->index, gen};
  a->is_root = is_root;
  a->migrate_on_preempt.store(options.migrate_on_preempt, std::memory_order_relaxed);
  a->slices_used.store(0, std::memory_order_relaxed);
  a->wait_kind.store(WaitKind::None, std::memory_order_relaxed);
  if (!options.name.empty()) {
    std::lock_guard lock(names_mu);
    std::string& stored = names[a->index];
    stored = options.name;
    a->name.store(stored.c_str(), std::memory_order_relaxed);
    a->has_name = true;
  }
  // Actors born during shutdown are cancelled from the start.
  const std::uint64_t flags = state::kLive | (shutting_down() ? state::kCancel : 0);
  // release: publishes every field above to the actor's first run (see actor_entry).
  a->state.store(state::make(gen, flags), std::memory_order_release);
  return a;
}

Result<void> Scheduler::run(TaskBase& root) {
  // Every worker's I/O backend first: if one cannot start, nothing has run yet.
  for (auto& w : workers) {
    auto b = io::Backend::create(*w);
    if (!b) return std::move(b).error();
    w->io = std::move(*b);
  }
  Worker& w0 = *workers[0];
  root.add_ref();  // the root actor's reference (released when it exits)
  auto a = create_actor(root, SpawnOptions{.stack_size = 0, .name = "root"}, &w0, true);
  if (!a) {
    root.release();
    return std::move(a).error();
  }
  w0.spawned.add();
  trace_spawn(&w0, *a, nullptr);
  w0.queue.push_back(*a);

  // Before the worker threads: stats() reads the pointer from any of them.
  if (config_.stall_detector()) stall_detector_ = std::make_unique<StallDetector>(*this);
  // No actor runs until every runtime thread exists and has set itself up: the root may
  // take the process's last descriptors or lower its limits (a test of accept under
  // EMFILE does), and setting a thread up briefly holds descriptors (glibc reads
  // /proc/self/maps to find the main thread's stack; ASan probes memory through a pipe),
  // so none of it may overlap the first actor. Also, every thread is named before then.
  const bool with_monitor = workers.size() > 1;
  std::latch started(static_cast<std::ptrdiff_t>(workers.size() + (with_monitor ? 1 : 0)));
  for (std::size_t i = 1; i < workers.size(); ++i) {
    Worker* w = workers[i].get();
    w->thread = std::thread([w, &started] { w->run_loop(started); });
  }
  if (with_monitor) monitor.start(started);
  w0.run_loop(started);
  for (std::size_t i = 1; i < workers.size(); ++i) workers[i]->thread.join();
  monitor.stop();
  if (stall_detector_) stalls_after_run_ = stall_detector_->stalls();
  stall_detector_.reset();
  // Every actor fiber released this token as its last act (switch_context): what they
  // did (the root started the watchdog, say) is visible here.
  sanitizer::handoff_acquire(this);
  {
    std::lock_guard lock(shutdown_mu_);
    shutdown_cv_.notify_all();
  }
  if (watchdog_.joinable()) watchdog_.join();
  trace_runtime_end(*this);
  return {};
}

// ---------------------------------------------------------------------------------------
// Waking workers.

Worker* Scheduler::least_loaded_other(const Worker* w) noexcept {
  Worker* best = nullptr;
  std::size_t best_load = 0;
  for (auto& v : workers) {
    if (v.get() == w) continue;
    const std::size_t l = v->load();
    if (!best || l < best_load) {
      best = v.get();
      best_load = l;
    }
  }
  return best;
}

void Scheduler::notify_work() noexcept {
  // seq_cst fence: orders the push we just made before the reads below (see the idle
  // protocol in scheduler.hpp); pairs with the sleeper's seq_cst increment.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (spinning.load(std::memory_order_relaxed) > 0) return;
  if (sleepers.load(std::memory_order_relaxed) == 0) return;
  wake_one();
}

void Scheduler::inject(Actor* a) noexcept {
  inject_queue.push_back(a);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleepers.load(std::memory_order_relaxed) > 0) wake_one();
}

void Scheduler::wake_one() noexcept {
  for (auto& w : workers)
    if (w->wake_from_sleep()) return;
}

void Scheduler::wake_all() noexcept {
  for (auto& w : workers) {
    const std::uint32_t was = w->sleep_word.exchange(0, std::memory_order_seq_cst);
    if (was == Worker::kSleepIo)
      w->io->wake();
    else
      futex_wake(&w->sleep_word);
  }
}

// ---------------------------------------------------------------------------------------
// Shutdown.

std::uint64_t Scheduler::live_actors() const noexcept {
  std::uint64_t spawned = 0, exited = 0;
  // Exits are read first: an actor counted as exited was spawned before, so the
  // difference never underflows.
  for (auto& w : workers) exited += w->exited.get();
  for (auto& w : workers) spawned += w->spawned.get();
  return spawned >= exited ? spawned - exited : 0;
}

void Scheduler::begin_shutdown() noexcept {
  if (shutting_down_.exchange(true, std::memory_order_acq_rel)) return;
  Worker* here = current_worker();
  const Actor* root = here ? here->current.load(std::memory_order_relaxed) : nullptr;
  std::uint64_t others = 0;
  slots.for_each([&](Actor& a) {
    std::uint64_t s = a.state.load(std::memory_order_acquire);
    if (!state::alive(s) || &a == root) return;
    if (cancel_actor(&a, state::generation(s), here)) ++others;
  });
  if (others > 0) {
    auto deadline = std::chrono::steady_clock::now() + config_.shutdown_grace();
    watchdog_ = std::thread([this, deadline] { watchdog(deadline); });
  }
}

void Scheduler::on_actor_exit() noexcept {
  if (!shutting_down() || stopping()) return;
  if (live_actors() != 0) return;
  stopping_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(shutdown_mu_);
    shutdown_cv_.notify_all();
  }
  wake_all();
}

void Scheduler::watchdog(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(shutdown_mu_);
  if (shutdown_cv_.wait_until(lock, deadline, [this] { return stopping(); })) return;
  std::string report = dump_actors();
  std::fprintf(stderr,
               "smarm: run() cannot finish: %llu actor(s) still running %lld ms after they "
               "were cancelled (Config::shutdown_grace). An actor must return when a "
               "blocking call reports Errc::Cancelled, and long loops must poll "
               "smarm::cancelled(). Aborting.\n%s",
               static_cast<unsigned long long>(live_actors()),
               static_cast<long long>(config_.shutdown_grace().count()), report.c_str());
  std::fflush(stderr);
  std::abort();
}

// ---------------------------------------------------------------------------------------

Actor* Scheduler::lookup(const Pid& pid) const noexcept {
  if (pid.runtime != id_) return nullptr;
  Actor* a = slots.get(pid.index);
  if (!a) return nullptr;
  std::uint64_t s = a->state.load(std::memory_order_acquire);
  if (!state::alive(s) || state::generation(s) != pid.generation) return nullptr;
  return a;
}

Stats Scheduler::stats() const {
  Stats st;
  for (auto& w : workers) st.workers.push_back(w->snapshot());
  st.actors_alive = live_actors();
  slots.for_each([&](Actor& a) {
    std::uint64_t s = a.state.load(std::memory_order_relaxed);
    if ((s & state::kLive) && (s & state::kParkMask) == state::kParked) ++st.actors_parked;
  });
  st.stacks_in_use = st.actors_alive;
  st.stacks_pooled = st.total().stacks_pooled;
  st.stack_slabs = stacks.slabs();
  st.stacks_held_exited = stacks.held_exited();
  for (auto& w : workers) {
    st.timers_pending += w->timers.size();
    st.timer_memory += w->timers.memory_bytes();
  }
  st.stalls = stall_detector_ ? stall_detector_->stalls() : stalls_after_run_;
  for (auto& w : workers)
    if (w->io) st.io_waits += w->io->waiting();
  st.blocking_threads = blocking_pool->threads();
  st.supervision_records = supervision.records();
  st.channel_buffer_bytes = channel_buffer_bytes();
  st.channel_buffer_peak = channel_buffer_peak();
  return st;
}

std::string Scheduler::dump_actors() const {
  std::string out =
      "smarm runtime " + std::to_string(id_) + ": workers=" + std::to_string(workers.size()) +
      " (from: " + workers_source_name(config_.workers_source()) + "), guard mode " +
      guard_mode_name(stacks.mode()) + ", " + std::to_string(live_actors()) + " live actor(s)\n";
  std::lock_guard lock(names_mu);
  slots.for_each([&](Actor& a) {
    std::uint64_t s = a.state.load(std::memory_order_acquire);
    if (!(s & state::kLive)) return;
    Pid pid{id_, a.index, state::generation(s)};
    out += "  " + to_string(pid);
    if (a.has_name) out += std::string(" '") + a.name.load(std::memory_order_relaxed) + "'";
    bool on_cpu = false;
    for (auto& w : workers)
      if (w->current.load(std::memory_order_relaxed) == &a) on_cpu = true;
    if ((s & state::kParkMask) == state::kParked) {
      const void* obj = a.wait_object.load(std::memory_order_relaxed);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%p", obj);
      out += std::string(" parked: waiting for ") +
             wait_kind_name(a.wait_kind.load(std::memory_order_relaxed)) + " on " + buf;
      const std::int64_t until = a.wait_until.load(std::memory_order_relaxed);
      if (until != kNoDeadline) {
        std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(until - now_ns()) / 1e6);
        out += std::string(" until now+") + buf + " ms";
      }
    } else {
      out += on_cpu ? " running" : " runnable";
    }
    if (s & state::kCancel) out += " (cancelled)";
    if (s & state::kExiting) out += " (exiting)";
    out += "\n";
  });
  return out;
}

}  // namespace smarm::detail
