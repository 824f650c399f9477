// SPDX-License-Identifier: Apache-2.0
// preempt_probe.hpp — does allocation preempt a CPU-bound actor in this program?
//
// On one worker (Config::exact(1)) an actor spins, allocating, until a flag is set; the
// flag is set by a second actor that can only run once the spinner gives the worker up.
// spawn() runs the child first, so the root gets the worker back, and spawns the setter,
// only if the spinner is switched out: with allocator-driven preemption it is, within a
// timeslice; without it the spinner spins until its give-up time and then ends unseen.
// The give-up is wall-clock only to end the loop; nothing asserts on time. The stall
// detector is off: a spinner that is never preempted is what the control (no_hook.cpp)
// expects, not news for stderr.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>

#include <smarm/smarm.hpp>

namespace consumer {

struct PreemptOutcome {
  bool ran = false;               // run() returned normally
  bool setter_ran_first = false;  // the flag was set while the spinner still spun
  std::uint64_t preemptions = 0;  // Stats: actors the hook switched out
};

// The allocations escape through here, so that the compiler cannot drop them.
inline std::atomic<void*> g_escape{nullptr};

inline PreemptOutcome allocating_spinner(std::chrono::milliseconds give_up) {
  PreemptOutcome out;
  std::atomic<bool> flag{false};
  auto r = smarm::runtime::init(smarm::Config::exact(1).stall_detector(false)).run([&] {
    auto spinner = smarm::spawn([&] {
      const auto end = std::chrono::steady_clock::now() + give_up;
      std::uint64_t i = 0;
      while (!flag.load(std::memory_order_relaxed)) {
        // A call of ::operator new, unlike a new-expression, may not be elided.
        void* p = ::operator new(64);
        g_escape.store(p, std::memory_order_relaxed);
        ::operator delete(p);
        if (++i % 1024 == 0 && std::chrono::steady_clock::now() > end) break;
      }
      return flag.load();
    });
    // Here only once the spinner has let go of the (only) worker.
    auto setter = smarm::spawn([&] { flag.store(true); });
    (void)setter.join();
    auto saw = spinner.join();
    out.setter_ran_first = saw && *saw;
    out.preemptions = smarm::stats().total().preemptions;
  });
  out.ran = r.has_value();
  return out;
}

}  // namespace consumer
