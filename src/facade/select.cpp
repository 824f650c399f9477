// SPDX-License-Identifier: Apache-2.0
// select.cpp — the non-template parts of smarm::select (select.hpp): the random start of
// each poll and the timed park. The claim protocol itself lives in the template.
#include <atomic>
#include <cstdint>

#include <smarm/select.hpp>

#include "core/timer_heap.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {
// splitmix64: a cheap, well-mixed step of a 64-bit state.
std::uint64_t splitmix64(std::uint64_t state) noexcept {
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// One generator state per OS thread. select_start never switches, so the thread_local
// is the current thread's for the whole call (the migration hazard of LOOM.md
// "thread_local inside an actor" needs a switch between taking the address and using
// it). Several actors on one worker touch it in turn: a relaxed atomic, as the TSan rules
// ask for fiber-shared worker state (TSan sees each fiber as a thread). Constant-
// initialised (no guard variable); 0 means "not seeded yet".
thread_local std::atomic<std::uint64_t> tl_select_state{0};
}  // namespace

std::size_t select_start(std::size_t n) noexcept {
  std::uint64_t s = tl_select_state.load(std::memory_order_relaxed);
  if (s == 0) s = reinterpret_cast<std::uintptr_t>(&tl_select_state);  // differs per thread
  s += 0x9e3779b97f4a7c15ULL;  // the splitmix64 increment (odd: never returns to 0 soon)
  tl_select_state.store(s, std::memory_order_relaxed);
  return static_cast<std::size_t>(splitmix64(s) % n);
}

void select_park(const void* object, std::int64_t deadline_ns) noexcept {
  const bool timed = deadline_ns != kNoDeadline;
  TimerEntry timer{deadline_ns, current_waiter(), TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  park(WaitKind::Select, object, deadline_ns);
  if (timed) TimerHeap::remove(&timer);
}

}  // namespace smarm::detail
