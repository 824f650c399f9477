// select.cpp — the non-template parts of smarm::select (select.hpp): the random start of
// each poll and the timed park. The claim protocol itself lives in the template.
#include <cstdint>

#include <smarm/select.hpp>

#include "core/timer_heap.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {
// splitmix64: a cheap, well-mixed step of a 64-bit state.
std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

std::size_t select_start(std::size_t n) noexcept {
  // One generator per OS thread. This function never switches, so the thread_local it
  // reads is the current thread's for the whole call (the migration hazard of LOOM.md
  // "thread_local inside an actor" needs a switch between address and use). Seeded from
  // the variable's own address so that workers do not walk the same sequence.
  thread_local std::uint64_t state = reinterpret_cast<std::uintptr_t>(&state);
  return static_cast<std::size_t>(splitmix64(state) % n);
}

void select_park(const void* object, std::int64_t deadline_ns) noexcept {
  const bool timed = deadline_ns != kNoDeadline;
  TimerEntry timer{deadline_ns, current_waiter(), TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  park(WaitKind::Select, object, deadline_ns);
  if (timed) TimerHeap::remove(&timer);
}

}  // namespace smarm::detail
