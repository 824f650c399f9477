// SPDX-License-Identifier: Apache-2.0
// overflow.cpp — the SIGSEGV handler that reports actor stack overflows (overflow.hpp).
#include "core/overflow.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/actor.hpp"
#include "core/scheduler.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {

// 64 KiB: SIGSTKSZ is not a constant on this glibc, and sanitizer runtimes want room.
constexpr std::size_t kAltStackSize = std::size_t{64} * 1024;

struct sigaction g_previous;  // the SIGSEGV action installed before ours (process-wide)
std::once_flag g_install_once;

// Appenders for a message built without allocating (we are in a signal handler).
struct Msg {
  char buf[512];
  std::size_t n = 0;
  void put(const char* s) noexcept {
    while (*s && n < sizeof buf - 1) buf[n++] = *s++;
  }
  void put(const char* s, std::size_t len) noexcept {
    for (std::size_t i = 0; i < len && n < sizeof buf - 1; ++i) buf[n++] = s[i];
  }
  void put_u(std::uint64_t v) noexcept {
    char tmp[24];
    int i = 0;
    do {
      tmp[i++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (i) put(&tmp[--i], 1);
  }
  void put_hex(std::uintptr_t v) noexcept {
    put("0x");
    char tmp[20];
    int i = 0;
    do {
      tmp[i++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v);
    while (i) put(&tmp[--i], 1);
  }
};

void chain_to_previous(int sig, siginfo_t* info, void* uctx) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) {
      g_previous.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction faults again and
  // the kernel delivers the default (core dump).
  signal(sig, SIG_DFL);
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  Worker* w = current_worker();
  Actor* a = w ? w->current.load(std::memory_order_relaxed) : nullptr;
  auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (a && a->stack) {
    auto lo = reinterpret_cast<std::uintptr_t>(a->stack.guard_lo());
    auto hi = reinterpret_cast<std::uintptr_t>(a->stack.lo);
    if (addr >= lo && addr < hi) {
      Msg m;
      Pid pid = a->pid();
      m.put("smarm: stack overflow in actor <");
      m.put_u(pid.runtime);
      m.put(".");
      m.put_u(pid.index);
      m.put(".");
      m.put_u(pid.generation);
      m.put("> '");
      if (const char* name = a->name.load(std::memory_order_relaxed)) m.put(name);
      m.put("' (stack ");
      m.put_u(a->stack.size);
      m.put(" bytes, guard ");
      m.put_u(a->stack.guard);
      m.put(" bytes at [");
      m.put_hex(lo);
      m.put(", ");
      m.put_hex(hi);
      m.put("), fault at ");
      m.put_hex(addr);
      m.put("); raise SpawnOptions::stack_size or Config::stack_size. Aborting.\n");
      ssize_t ignored = write(STDERR_FILENO, m.buf, m.n);
      (void)ignored;
      // abort() would run on this alternate stack fine; reset SIGABRT first so a user
      // handler cannot resume the overflowed actor.
      signal(SIGABRT, SIG_DFL);
      abort();
    }
  }
  chain_to_previous(sig, info, uctx);
}

void install_handler() noexcept {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_previous);
}

}  // namespace

AltStack install_altstack() noexcept {
  std::call_once(g_install_once, install_handler);
  AltStack alt;
  void* mem =
      mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return alt;  // no alternate stack: overflows die without a message
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  if (sigaltstack(&ss, &alt.previous) != 0) {
    munmap(mem, kAltStackSize);
    return alt;
  }
  alt.mem = mem;
  alt.size = kAltStackSize;
  alt.installed = true;
  return alt;
}

void remove_altstack(AltStack& alt) noexcept {
  if (!alt.installed) return;
  if (alt.previous.ss_sp != nullptr && !(alt.previous.ss_flags & SS_DISABLE)) {
    sigaltstack(&alt.previous, nullptr);
  } else {
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
  }
  munmap(alt.mem, alt.size);
  alt = {};
}

}  // namespace smarm::detail
