// SPDX-License-Identifier: Apache-2.0
// switch.cpp — switch_context (see switch.hpp).
#include "core/switch.hpp"

#include <cxxabi.h>

#include "core/context.hpp"
#include "core/sanitizer.hpp"

namespace smarm::detail {

namespace {

// Worker-confined: the thread's exception globals are touched by every fiber of a worker.
SMARM_NO_TSAN void swap_exception_state(EhState* g, EhState& save, const EhState& load) noexcept {
  save = *g;
  *g = load;
}

}  // namespace

// abi::__cxa_get_globals() is declared `const` in <cxxabi.h>: the compiler may assume it
// returns the same pointer forever and cache it across a switch that moves the actor to
// another thread. The opaque wrapper forbids that (and it is called once per worker).
SMARM_OPAQUE EhState* thread_exception_state() noexcept {
  void* g = abi::__cxa_get_globals();
  asm volatile("" : "+r"(g));
  return static_cast<EhState*>(g);
}

SMARM_NO_TSAN void switch_context(Context& from, Context& to, EhState* thread_eh, bool from_exiting,
                                  const void* exit_token) noexcept {
  swap_exception_state(thread_eh, from.eh, to.eh);
#if defined(SMARM_ASAN)
  __sanitizer_start_switch_fiber(from_exiting ? nullptr : &from.asan_fake_stack, to.stack_bottom,
                                 to.stack_size);
#else
  (void)from_exiting;
#endif
#if defined(SMARM_TSAN)
  if (from_exiting) {
    if (exit_token) __tsan_release(const_cast<void*>(exit_token));
    // The stack's last writes are this fiber's; its next user may be a new fiber (a stack
    // released to the allocator loses its fiber). Pairs with the acquire in
    // StackAllocator::allocate() (and with the pool's, for a pooled stack).
    if (from.stack_bottom) __tsan_release(const_cast<void*>(from.stack_bottom));
  }
  __tsan_switch_to_fiber(to.tsan_fiber, __tsan_switch_to_fiber_no_sync);
#else
  (void)exit_token;
#endif
  smarm_context_switch(&from.sp, to.sp);
#if defined(SMARM_ASAN)
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, nullptr, nullptr);
#endif
}

void first_entry_done() noexcept {
#if defined(SMARM_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

}  // namespace smarm::detail
