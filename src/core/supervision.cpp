// SPDX-License-Identifier: Apache-2.0
// supervision.cpp — monitors, links, deadlines and the exit path that sends signals
// (see supervision.hpp for the records and their locking).
#include "core/supervision.hpp"

#include <algorithm>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include <smarm/signal.hpp>

#include "core/scheduler.hpp"
#include "core/worker.hpp"

namespace smarm {

namespace detail {

namespace {

// alive_as says whether `a` is still the live actor of generation `gen` (Actor objects
// are type-stable, so reading a stale one's state is safe).
bool alive_as(const Actor* a, std::uint32_t gen) noexcept {
  const std::uint64_t s = a->state.load(std::memory_order_acquire);
  return state::alive(s) && state::generation(s) == gen;
}

// own_record is the calling actor's record, made if it has none. Only the actor itself
// calls this (so it cannot be exiting, and a plain fetch_or of kWatched is safe); another
// actor may be making one for it concurrently (monitor), hence the lock.
SuperRecord& own_record(Actor* self) {
  // acquire: pairs with the release store of whoever made the record.
  if (SuperRecord* r = self->super.load(std::memory_order_acquire)) return *r;
  auto fresh = std::make_unique<SuperRecord>();  // outside the lock; freed after it if unused
  Supervision& sv = self->sched->supervision;
  SpinLock& lk = sv.stripe(self);
  lk.lock();
  SuperRecord* r = self->super.load(std::memory_order_relaxed);
  if (!r) {
    r = fresh.release();
    self->super.store(r, std::memory_order_release);
    self->state.fetch_or(state::kWatched, std::memory_order_acq_rel);
    sv.record_made();
  }
  lk.unlock();
  return *r;
}

void ensure_channel(SuperRecord& r) {
  if (r.has_channel) return;
  auto ch = channel<Signal>();
  r.tx = std::move(ch.tx);
  r.rx = std::move(ch.rx);
  r.has_channel = true;
}

// make_room_to_watch drops the links to targets that have ended (their exit paths took
// our entries with them) once the list has doubled since the last time, then reserves
// room for one more link, so that recording it later cannot throw.
void make_room_to_watch(SuperRecord& r) {
  if (r.watching.size() >= r.prune_at) {
    std::erase_if(r.watching, [](const WatchLink& l) { return !alive_as(l.target, l.generation); });
    r.prune_at = std::max<std::size_t>(16, 2 * r.watching.size());
  }
  r.watching.reserve(r.watching.size() + 1);
}

// take_entry unlinks and returns the watcher entry `ref` of r, or null. Requires r's
// owner's stripe lock.
WatchEntry* take_entry(SuperRecord& r, std::uint64_t ref) noexcept {
  for (WatchEntry** p = &r.watchers; *p; p = &(*p)->next) {
    if ((*p)->ref == ref) {
      WatchEntry* e = *p;
      *p = e->next;
      return e;
    }
  }
  return nullptr;
}

// unwatch removes our entry `l.ref` from l.target's record, if the target still has it.
// Returns the entry (to be freed by the caller, outside the lock) or null.
WatchEntry* unwatch(Supervision& sv, const WatchLink& l) noexcept {
  WatchEntry* e = nullptr;
  SpinLock& lk = sv.stripe(l.target);
  lk.lock();
  // Under the stripe lock a non-null record of the right generation is that actor's:
  // its exit path takes the record under this lock before the generation moves on.
  if (state::generation(l.target->state.load(std::memory_order_acquire)) == l.generation) {
    if (SuperRecord* r = l.target->super.load(std::memory_order_relaxed)) e = take_entry(*r, l.ref);
  }
  lk.unlock();
  return e;
}

// make_signal describes the end of `pid`.
Signal make_signal(const Pid& pid, const TaskBase& task, TaskBase::Status status,
                   std::uint64_t was) {
  if (was & state::kTimedOut) return Signal{Signal::Timeout{pid}};
  if (status != TaskBase::Status::Panicked) return Signal{Signal::Exit{pid}};
  const std::string& m = task.panic_message();  // "<type>: <what()>"
  const std::size_t n = std::min<std::size_t>(task.panic_type_len_, m.size());
  return Signal{Signal::Panic{pid, m.substr(0, n), m.size() > n + 2 ? m.substr(n + 2) : ""}};
}

}  // namespace

SpawnSupervision::~SpawnSupervision() {
  delete record;
  delete entry;
}

bool prepare_spawn(Actor* parent, Deadline deadline, SpawnLink link, SpawnSupervision& prep) {
  const bool has_deadline = deadline != Deadline{} && deadline != Deadline::max();
  prep.linked = link == SpawnLink::Linked;
  if (!prep.linked && !has_deadline) return false;
  if (has_deadline) prep.deadline_ns = to_deadline_ns(deadline);
  prep.record = new SuperRecord;
  if (prep.linked) {
    SuperRecord& mine = own_record(parent);
    ensure_channel(mine);
    make_room_to_watch(mine);
    prep.entry = new WatchEntry;
    prep.entry->ref = parent->sched->supervision.next_ref();
    prep.entry->to = mine.tx;
  }
  return true;
}

void attach_spawn(Actor* parent, Actor* child, Worker* w, SpawnSupervision& prep) noexcept {
  Supervision& sv = child->sched->supervision;
  const std::uint32_t gen = child->generation();
  const std::uint64_t ref = prep.entry ? prep.entry->ref : 0;
  bool cancel_now = false;
  SpinLock& lk = sv.stripe(child);
  lk.lock();
  // The child has not run yet, so it cannot be exiting; a monitor() that guessed its pid
  // may have made its record already.
  SuperRecord* r = child->super.load(std::memory_order_relaxed);
  if (!r) {
    r = std::exchange(prep.record, nullptr);
    child->super.store(r, std::memory_order_release);
    sv.record_made();
  }
  if (prep.entry) {
    prep.entry->next = r->watchers;
    r->watchers = std::exchange(prep.entry, nullptr);
  }
  if (prep.deadline_ns != kNoDeadline) {
    if (prep.deadline_ns <= now_ns()) {
      cancel_now = true;  // already passed: cancelled before it first runs
    } else {
      r->deadline = TimerEntry{prep.deadline_ns, WaiterId{child, gen}, TimerReason::Cancel};
      w->timers.add(&r->deadline);
    }
  }
  child->state.fetch_or(state::kWatched, std::memory_order_acq_rel);
  lk.unlock();
  if (cancel_now) cancel_actor(child, gen, w, state::kTimedOut);
  if (prep.linked) {
    // Room was reserved by prepare_spawn: this cannot allocate.
    parent->super.load(std::memory_order_relaxed)->watching.push_back(WatchLink{child, gen, ref});
  }
}

void supervision_exit(Actor* self, TaskBase& task, TaskBase::Status status,
                      std::uint64_t was) noexcept {
  Scheduler& sched = *self->sched;
  Supervision& sv = sched.supervision;
  SpinLock& lk = sv.stripe(self);
  lk.lock();
  SuperRecord* r = self->super.exchange(nullptr, std::memory_order_acq_rel);
  WatchEntry* list = r ? std::exchange(r->watchers, nullptr) : nullptr;
  lk.unlock();
  if (!r) return;
  TimerWheel::remove(&r->deadline);  // a no-op if it was never armed or has fired

  if (list) {
    const Pid pid{sched.id(), self->index, state::generation(was)};
    Signal sig{Signal::Exit{pid}};
    try {
      sig = make_signal(pid, task, status, was);
    } catch (...) {
      // Out of memory copying the panic's strings: the watchers still learn of the panic.
      sig = Signal{Signal::Panic{pid, {}, {}}};
    }
    while (list) {
      WatchEntry* e = std::exchange(list, list->next);
      try {
        // A watcher that has ended has dropped its receiver: the send fails, the signal
        // is dropped. An unbounded send never parks.
        if (list)
          (void)e->to.send(sig);  // NOLINT(bugprone-use-after-move): moved only on the last pass
        else
          (void)e->to.send(std::move(sig));
      } catch (...) {
        // Out of memory growing the watcher's channel: that watcher misses the signal.
      }
      delete e;
    }
  }

  // Stop watching: take our entries out of the targets that are still alive.
  for (const WatchLink& l : r->watching) delete unwatch(sv, l);
  delete r;
  sv.record_freed();
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// signal.hpp

Receiver<Signal>& signals() {
  detail::Actor* self = detail::current_actor();
  if (!self) {
    // Not a runtime object: an empty receiver per plain thread (NotInActor / Closed).
    thread_local Receiver<Signal> none;
    return none;
  }
  detail::SuperRecord& r = detail::own_record(self);
  detail::ensure_channel(r);
  return r.rx;
}

Result<MonitorRef> monitor(const Pid& pid) {
  using namespace detail;
  Worker* w = current_worker();
  Actor* self = w ? w->current.load(std::memory_order_relaxed) : nullptr;
  if (!self) return smarm::detail::not_in_actor("monitor() called outside an actor");
  Scheduler& sched = *self->sched;
  auto stale = [&] { return Error(Errc::StalePid, "monitor(): " + to_string(pid) + " has ended"); };
  if (!pid.valid()) return Error(Errc::InvalidArgument, "monitor(): invalid pid");
  if (pid.runtime != sched.id()) {
    std::lock_guard lock(scheduler_registry_mutex());
    if (find_scheduler_locked(pid.runtime))
      return Error(Errc::InvalidArgument,
                   "monitor(): " + to_string(pid) + " belongs to another runtime");
    return stale();
  }
  if (pid == self->pid())
    return Error(Errc::InvalidArgument, "monitor(): an actor cannot monitor itself");
  Actor* t = sched.slots.get(pid.index);
  if (!t || !alive_as(t, pid.generation)) return stale();  // early out, nothing allocated

  SuperRecord& mine = own_record(self);
  ensure_channel(mine);
  make_room_to_watch(mine);
  auto entry = std::make_unique<WatchEntry>();
  entry->ref = sched.supervision.next_ref();
  entry->to = mine.tx;
  const std::uint64_t ref = entry->ref;

  std::unique_ptr<SuperRecord> fresh;  // the target's record, if it has none yet
  SpinLock& lk = sched.supervision.stripe(t);
  lk.lock();
  std::uint64_t s = t->state.load(std::memory_order_acquire);
  for (;;) {
    // Alive, checked under the lock: the target's exit path sets kExiting before it takes
    // this lock, so from here either it sees our entry or we see it ending.
    if (!state::alive(s) || state::generation(s) != pid.generation) {
      lk.unlock();
      return stale();
    }
    if (s & state::kWatched) break;  // it has a record, and its exit path will look
    if (!fresh) {
      lk.unlock();  // allocate outside the lock, then look again
      fresh = std::make_unique<SuperRecord>();
      lk.lock();
      s = t->state.load(std::memory_order_acquire);
      continue;
    }
    // A CAS, not a fetch_or: kWatched must not be set once the target is exiting (its exit
    // path has already decided not to look). Failure reloads s and re-checks.
    if (t->state.compare_exchange_weak(s, s | state::kWatched, std::memory_order_acq_rel)) {
      t->super.store(fresh.release(), std::memory_order_release);
      sched.supervision.record_made();
      break;
    }
  }
  SuperRecord* r = t->super.load(std::memory_order_relaxed);
  entry->next = r->watchers;
  r->watchers = entry.release();
  lk.unlock();
  mine.watching.push_back(WatchLink{t, pid.generation, ref});  // room reserved above
  return MonitorRef{pid, ref};
}

Result<void> demonitor(const MonitorRef& ref) {
  using namespace detail;
  Actor* self = current_actor();
  if (!self) return smarm::detail::not_in_actor("demonitor() called outside an actor");
  SuperRecord* mine = self->super.load(std::memory_order_acquire);
  auto it = mine ? std::find_if(mine->watching.begin(), mine->watching.end(),
                                [&](const WatchLink& l) { return l.ref == ref.id; })
                 : std::vector<WatchLink>::iterator{};
  if (!ref.valid() || !mine || it == mine->watching.end() ||
      it->generation != ref.target.generation) {
    // Dropped from our list because its target ended? Then its signal was sent.
    if (ref.valid() && mine && !is_alive(ref.target))
      return Error(Errc::StalePid, "demonitor(): " + to_string(ref.target) + " has ended");
    return Error(Errc::InvalidArgument, "demonitor(): not a monitor of the calling actor");
  }
  const WatchLink l = *it;
  mine->watching.erase(it);
  if (WatchEntry* e = unwatch(self->sched->supervision, l)) {
    delete e;
    return {};
  }
  return Error(Errc::StalePid, "demonitor(): " + to_string(ref.target) + " has ended");
}

}  // namespace smarm
