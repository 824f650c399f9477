// SPDX-License-Identifier: Apache-2.0
// own_allocator.cpp — a program with its own global operator new/delete, as one built on
// jemalloc or mimalloc would have: it links smarm::smarm_no_alloc_hook (which replaces no
// allocation function, so the two cannot clash) and calls smarm::preempt_hook() at the
// top of every operator new. Allocation-driven preemption must then work as with
// smarm::smarm: allocator_hook_installed() is true, and on one worker an allocating,
// CPU-bound actor is switched out so that a second actor runs (preempt_probe.hpp).
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

#include <smarm/smarm.hpp>

#include "preempt_probe.hpp"

// ---- the program's allocator: malloc, plus the hook -----------------------------------
namespace {

std::atomic<std::size_t> g_allocations{0};

void* allocate(std::size_t n) {
  smarm::preempt_hook();
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) return p;
    std::new_handler h = std::get_new_handler();
    if (!h) throw std::bad_alloc();
    h();
  }
}

void* allocate_aligned(std::size_t n, std::align_val_t al) {
  smarm::preempt_hook();
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  std::size_t align = static_cast<std::size_t>(al);
  if (align < sizeof(void*)) align = sizeof(void*);
  for (;;) {
    void* p = nullptr;
    if (posix_memalign(&p, align, n) == 0) return p;
    std::new_handler h = std::get_new_handler();
    if (!h) throw std::bad_alloc();
    h();
  }
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al) { return allocate_aligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return allocate_aligned(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

// ---- the checks ---------------------------------------------------------------------------
int main() {
  const std::size_t before = g_allocations.load();
  if (!smarm::debug::allocator_hook_installed()) {
    std::fprintf(stderr,
                 "own allocator: allocator_hook_installed() is false although operator new "
                 "calls smarm::preempt_hook()\n");
    return 1;
  }
  if (g_allocations.load() == before) {
    std::fprintf(stderr, "own allocator: the program's operator new was never called\n");
    return 1;
  }
  const auto o = consumer::allocating_spinner(std::chrono::seconds(30));
  if (!o.ran || !o.setter_ran_first || o.preemptions == 0) {
    std::fprintf(stderr,
                 "own allocator: an allocating actor on one worker was not preempted "
                 "(ran=%d, second actor ran first=%d, preemptions=%llu; gave up after 30 s)\n",
                 o.ran, o.setter_ran_first, static_cast<unsigned long long>(o.preemptions));
    return 1;
  }
  std::printf("own allocator: preempt_hook() drives preemption (%llu preemptions)\n",
              static_cast<unsigned long long>(o.preemptions));
  return 0;
}
