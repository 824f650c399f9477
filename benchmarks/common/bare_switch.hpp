// SPDX-License-Identifier: Apache-2.0
// bare_switch.hpp — the bare context switch, measured on its own.
//
// Two contexts: the calling thread's own stack and one fresh stack mmap'd here, switching
// back and forth with smarm_context_switch (src/core/context_x86_64_sysv.S). No scheduler,
// no actor, no exception-state save: this is the floor every smarm switch stands on. Both
// smarm-micro (BM_BareSwitch) and smarm-bench (W9's `bare=` field) measure it with this
// code, so the two figures are the same thing.
//
// Under ASan and TSan the switch is annotated (as the runtime's own switch is): without
// the annotations the sanitizers' shadow stacks would be corrupted by the stack change.
// The annotations cost time, so sanitizer builds measure more than the bare switch.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/context.hpp"  // src/ is on the benchmarks' include path

#if defined(__SANITIZE_ADDRESS__)
#define SMARM_BENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMARM_BENCH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SMARM_BENCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SMARM_BENCH_TSAN 1
#endif
#endif

#if defined(SMARM_BENCH_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(SMARM_BENCH_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace smarm::bench {

// BareSwitchPair is the calling thread's context plus one mmap'd context that does nothing
// but switch straight back. round_trip() is two switches: there and back. The second
// context is left suspended inside its loop when the pair is destroyed; it owns nothing,
// so unmapping its stack is all the cleanup it needs. Not copyable or movable (the other
// context holds `this`). Aborts if the stack cannot be mapped.
class BareSwitchPair {
 public:
  static constexpr std::size_t kStackSize = 256 * 1024;
  static constexpr std::size_t kGuardSize = 4096;

  BareSwitchPair() {
    void* p = mmap(nullptr, kStackSize + kGuardSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("bare switch: mmap");
      std::abort();
    }
    if (mprotect(p, kGuardSize, PROT_NONE) != 0) {
      std::perror("bare switch: mprotect");
      std::abort();
    }
    mapping_ = p;
    stack_bottom_ = static_cast<char*>(p) + kGuardSize;
#if defined(SMARM_BENCH_TSAN)
    main_fiber_ = __tsan_get_current_fiber();
    other_fiber_ = __tsan_create_fiber(0);
#endif
    other_sp_ = smarm::detail::make_context(stack_bottom_ + kStackSize, &entry, this);
  }
  BareSwitchPair(const BareSwitchPair&) = delete;
  BareSwitchPair& operator=(const BareSwitchPair&) = delete;
  ~BareSwitchPair() {
#if defined(SMARM_BENCH_TSAN)
    __tsan_destroy_fiber(other_fiber_);
#endif
    munmap(mapping_, kStackSize + kGuardSize);
  }

  // round_trip() switches to the other context and back: two switches.
  void round_trip() noexcept {
#if defined(SMARM_BENCH_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, stack_bottom_, kStackSize);
#endif
#if defined(SMARM_BENCH_TSAN)
    __tsan_switch_to_fiber(other_fiber_, 0);
#endif
    smarm::detail::smarm_context_switch(&main_sp_, other_sp_);
#if defined(SMARM_BENCH_ASAN)
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  }

  // round_trips(n) makes n round trips (2n switches).
  void round_trips(std::uint64_t n) noexcept {
    for (std::uint64_t i = 0; i < n; ++i) round_trip();
  }

 private:
  [[noreturn]] static void entry(void* arg) {
    auto* self = static_cast<BareSwitchPair*>(arg);
#if defined(SMARM_BENCH_ASAN)
    // First entry: learn the main stack's bounds so switches back can name them.
    __sanitizer_finish_switch_fiber(nullptr, &self->main_bottom_, &self->main_size_);
#endif
    for (;;) {
#if defined(SMARM_BENCH_ASAN)
      void* fake = nullptr;
      __sanitizer_start_switch_fiber(&fake, self->main_bottom_, self->main_size_);
#endif
#if defined(SMARM_BENCH_TSAN)
      __tsan_switch_to_fiber(self->main_fiber_, 0);
#endif
      smarm::detail::smarm_context_switch(&self->other_sp_, self->main_sp_);
#if defined(SMARM_BENCH_ASAN)
      __sanitizer_finish_switch_fiber(fake, &self->main_bottom_, &self->main_size_);
#endif
    }
  }

  void* mapping_ = nullptr;
  char* stack_bottom_ = nullptr;
  void* main_sp_ = nullptr;
  void* other_sp_ = nullptr;
#if defined(SMARM_BENCH_ASAN)
  const void* main_bottom_ = nullptr;
  std::size_t main_size_ = 0;
#endif
#if defined(SMARM_BENCH_TSAN)
  void* main_fiber_ = nullptr;
  void* other_fiber_ = nullptr;
#endif
};

}  // namespace smarm::bench
