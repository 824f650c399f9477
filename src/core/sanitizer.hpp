// SPDX-License-Identifier: Apache-2.0
// sanitizer.hpp — what ASan, TSan and Valgrind must be told about our stacks and switches.
//
// Every hook compiles to nothing in a build without the tool, so the switch path pays
// nothing for them. Kept in one place so that no switch can forget one.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define SMARM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMARM_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define SMARM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SMARM_TSAN 1
#endif
#endif

#if defined(SMARM_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(SMARM_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SMARM_HAVE_VALGRIND 1
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SMARM_HAVE_MEMCHECK 1
#endif
#endif

// SMARM_NO_TSAN marks runtime bookkeeping that only ever runs on one worker thread but
// from several fibers (actors) of it. TSan, told that fibers do not synchronise by
// switching (so that races between actors on one worker still show), would otherwise
// report these worker-confined accesses.
#if defined(SMARM_TSAN)
#define SMARM_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define SMARM_NO_TSAN
#endif

// SMARM_OPAQUE makes a function a black box to the optimiser: never inlined, and no
// inter-procedural assumption (purity, constant result) may be drawn from it. GCC has
// noipa for that; Clang lacks it, but a non-inlined function containing `asm volatile`
// (which every SMARM_OPAQUE function here has) cannot be treated as pure either.
#if defined(__clang__)
#define SMARM_OPAQUE __attribute__((noinline))
#else
#define SMARM_OPAQUE __attribute__((noipa))
#endif

// SMARM_ASM_VISIBLE keeps a variable that inline asm names (and nothing else in C++ does
// outside its file) in the symbol table under its own name: link-time optimisation would
// otherwise see no reference and make it local, and the asm would not link.
#if defined(__clang__)
#define SMARM_ASM_VISIBLE __attribute__((used))
#else
#define SMARM_ASM_VISIBLE __attribute__((used, externally_visible))
#endif

namespace smarm::detail::sanitizer {

// Stack memory reused from the pool may still carry ASan poison from its last actor.
inline void unpoison_stack(void* lo, std::size_t size) noexcept {
#if defined(SMARM_ASAN)
  __asan_unpoison_memory_region(lo, size);
#else
  (void)lo;
  (void)size;
#endif
}

// handoff_release / handoff_acquire tell TSan that memory last touched by one fiber is
// handed to another: a stack moving through the pool, a runtime torn down after its
// actors ended. These are real orderings that TSan cannot see because fiber switches are
// annotated as non-synchronising.
inline void handoff_release(const void* token) noexcept {
#if defined(SMARM_TSAN)
  __tsan_release(const_cast<void*>(token));
#else
  (void)token;
#endif
}
inline void handoff_acquire(const void* token) noexcept {
#if defined(SMARM_TSAN)
  __tsan_acquire(const_cast<void*>(token));
#else
  (void)token;
#endif
}

inline void* create_fiber() noexcept {
#if defined(SMARM_TSAN)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
inline void destroy_fiber(void* fiber) noexcept {
#if defined(SMARM_TSAN)
  if (fiber) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}
inline void* current_fiber() noexcept {
#if defined(SMARM_TSAN)
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}

// running_on_valgrind: memcheck does not know every newer system call (it warns and
// fails them); callers with a fallback skip such calls under it.
inline bool running_on_valgrind() noexcept {
#if defined(SMARM_HAVE_VALGRIND)
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

inline unsigned register_stack(void* lo, void* hi) noexcept {
#if defined(SMARM_HAVE_VALGRIND)
  return VALGRIND_STACK_REGISTER(lo, hi);
#else
  (void)lo;
  (void)hi;
  return 0;
#endif
}
// make_writable tells memcheck that bytes of a stack no fiber runs on any more may be
// written again: it marked them inaccessible as the stack pointer left them, and the
// allocator keeps a queued batch's record there (StackAllocator::release).
inline void make_writable(void* p, std::size_t n) noexcept {
#if defined(SMARM_HAVE_MEMCHECK)
  VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#else
  (void)p;
  (void)n;
#endif
}

inline void deregister_stack(unsigned id) noexcept {
#if defined(SMARM_HAVE_VALGRIND)
  if (id) VALGRIND_STACK_DEREGISTER(id);
#else
  (void)id;
#endif
}

}  // namespace smarm::detail::sanitizer
