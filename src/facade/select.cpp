// SPDX-License-Identifier: Apache-2.0
// select.cpp — the non-template parts of smarm::select (select.hpp): the random order of
// each poll and the timed park. The claim protocol itself lives in the template.
#include <atomic>
#include <cstdint>
#include <utility>

#include <smarm/select.hpp>

#include "core/timer_wheel.hpp"
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

// One generator state per OS thread. select_shuffle never switches, so the thread_local
// is the current thread's for the whole call (the migration hazard of LOOM.md
// "thread_local inside an actor" needs a switch between taking the address and using
// it). Several actors on one worker touch it in turn: a relaxed atomic, as the TSan rules
// ask for fiber-shared worker state (TSan sees each fiber as a thread). Constant-
// initialised (no guard variable); 0 means "not seeded yet".
thread_local std::atomic<std::uint64_t> tl_select_state{0};

std::uint64_t next_random() noexcept {
  std::uint64_t s = tl_select_state.load(std::memory_order_relaxed);
  if (s == 0) s = reinterpret_cast<std::uintptr_t>(&tl_select_state);  // differs per thread
  s += 0x9e3779b97f4a7c15ULL;  // the splitmix64 increment (odd: never returns to 0 soon)
  tl_select_state.store(s, std::memory_order_relaxed);
  return splitmix64(s);
}
}  // namespace

void select_shuffle(std::uint8_t* order, std::size_t n) noexcept {
  // Fisher-Yates, drawing the indices from one 64-bit random number as the digits of a
  // mixed-radix number (i, i-1, ..., 2), so a typical select costs one draw. A fresh draw
  // comes when fewer than 32 bits of slack remain, which keeps each digit's modulo bias
  // below 2^-32.
  std::uint64_t r = next_random();
  std::uint64_t left = ~std::uint64_t{0};  // how much randomness r still has
  for (std::size_t i = n; i > 1; --i) {
    if (left / i < (std::uint64_t{1} << 32)) {
      r = next_random();
      left = ~std::uint64_t{0};
    }
    const std::size_t j = static_cast<std::size_t>(r % i);
    r /= i;
    left /= i;
    std::swap(order[i - 1], order[j]);
  }
}

void select_park(const void* object, std::int64_t deadline_ns) noexcept {
  const bool timed = deadline_ns != kNoDeadline;
  TimerEntry timer{deadline_ns, current_waiter(), TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  park(WaitKind::Select, object, deadline_ns);
  if (timed) TimerWheel::remove(&timer);
}

}  // namespace smarm::detail
