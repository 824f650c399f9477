// SPDX-License-Identifier: Apache-2.0
// stack.cpp — StackAllocator (see stack.hpp for the geometry and the policy).
#include "core/stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "core/sanitizer.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux >= 6.13; older headers lack the name
#endif

namespace smarm::detail {

namespace {

constexpr std::size_t kSlabBytes = std::size_t{256} << 20;  // VA per slab: no memory cost
constexpr std::size_t kReleaseBatch = 64;  // stacks whose pages are dropped together

std::size_t round_up(std::size_t v, std::size_t to) noexcept { return (v + to - 1) / to * to; }

// strerror_r (GNU: returns the text), not strerror, which glibc documents as MT-Unsafe.
Error sys_error(const char* what, int err) {
  char text[64];
  return Error(Errc::ResourceExhausted, std::string(what) +
                                            " failed: " + strerror_r(err, text, sizeof text) +
                                            " (errno " + std::to_string(err) + ")");
}

// probe_guard_install says whether this kernel accepts MADV_GUARD_INSTALL.
bool probe_guard_install() noexcept {
  const std::size_t page = page_size();
  void* p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = madvise(p, page, MADV_GUARD_INSTALL) == 0;
  munmap(p, 2 * page);
  return ok;
}

ResolvedGuardMode resolve_mode(GuardMode requested) {
  if (requested == GuardMode::Auto) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read as a runtime starts; smarm never writes env
    if (const char* env = std::getenv("SMARM_GUARD_MODE")) {
      if (std::strcmp(env, "mprotect") == 0) requested = GuardMode::Mprotect;
      if (std::strcmp(env, "madvise") == 0 || std::strcmp(env, "guard-install") == 0)
        requested = GuardMode::GuardInstall;
    }
  }
  switch (requested) {
    case GuardMode::Mprotect:
      return ResolvedGuardMode::Mprotect;
    case GuardMode::GuardInstall:
      // Forced but unsupported: fall back rather than run unguarded; guard_mode_name()
      // in dump_actors() says which mode is in force.
      return probe_guard_install() ? ResolvedGuardMode::GuardInstall : ResolvedGuardMode::Mprotect;
    case GuardMode::Auto:
      break;
  }
  return probe_guard_install() ? ResolvedGuardMode::GuardInstall : ResolvedGuardMode::Mprotect;
}

}  // namespace

std::size_t page_size() noexcept {
  static const std::size_t kSize = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return kSize;
}

const char* guard_mode_name(ResolvedGuardMode m) noexcept {
  return m == ResolvedGuardMode::GuardInstall ? "madvise(MADV_GUARD_INSTALL)"
                                              : "mprotect(PROT_NONE)";
}

StackAllocator::StackAllocator(const Config& config) : mode_(resolve_mode(config.guard_mode())) {
  const std::size_t page = page_size();
  // Rounded, then scaled: Scheduler::release_ended divides the scale out again.
  stack_size_ = round_up(config.stack_size(), page) * kStackScale;
  // The same guard in both modes: with mprotect a larger guard costs only address space
  // (one PROT_NONE mapping either way), and a 4 KiB one let a 12 KiB frame jump it.
  std::size_t guard = config.guard_size();
  if (guard == 0) guard = Config::kDefaultGuardSize;
  guard_size_ = round_up(guard, page);
  slot_size_ = guard_size_ + stack_size_;
  slots_per_slab_ = kSlabBytes / slot_size_ ? kSlabBytes / slot_size_ : 1;
  // release() is noexcept and may run when memory is short: its lists never grow past this.
  released_.reserve(kReleaseBatch);
  flushing_.reserve(kReleaseBatch);
}

StackAllocator::~StackAllocator() {
  for (auto& [base, bytes] : slabs_) munmap(base, bytes);
}

std::size_t StackAllocator::slabs() const {
  std::lock_guard lock(mu_);
  return slabs_.size();
}

Result<void> StackAllocator::install_guard(char* lo, std::size_t bytes) const noexcept {
  int rc = mode_ == ResolvedGuardMode::GuardInstall ? madvise(lo, bytes, MADV_GUARD_INSTALL)
                                                    : mprotect(lo, bytes, PROT_NONE);
  if (rc != 0) {
    int err = errno;  // saved at once: nothing below may clobber it
    return sys_error(mode_ == ResolvedGuardMode::GuardInstall ? "madvise(MADV_GUARD_INSTALL)"
                                                              : "mprotect(guard page)",
                     err);
  }
  return {};
}

Result<void> StackAllocator::grow_locked() {
  const std::size_t bytes = slots_per_slab_ * slot_size_;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return sys_error("mmap(stack slab)", errno);
  // Huge pages would turn the first touch of a stack into a 2 MiB commit.
  madvise(p, bytes, MADV_NOHUGEPAGE);
  auto* base = static_cast<char*>(p);
  try {
    slabs_.emplace_back(base, bytes);
    // Room for every slot of every slab: release() and flush() push freed slots back
    // without allocating (they are noexcept).
    free_.reserve(slabs_.size() * slots_per_slab_);
  } catch (const std::bad_alloc&) {
    if (!slabs_.empty() && slabs_.back().first == base) slabs_.pop_back();
    munmap(p, bytes);
    return Error(Errc::ResourceExhausted, "stack allocator: out of memory for its free list");
  }
  // Pushed in reverse so that slots are handed out in address order.
  for (std::size_t i = slots_per_slab_; i-- > 0;) free_.push_back({base + i * slot_size_, false});
  return {};
}

Result<Stack> StackAllocator::allocate(std::size_t size) {
  const std::size_t page = page_size();
  if (size != 0 && round_up(size, page) * kStackScale != stack_size_) {
    // A custom size: a mapping of its own.
    const std::size_t usable = round_up(size, page) * kStackScale;
    const std::size_t bytes = guard_size_ + usable;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return sys_error("mmap(stack)", errno);
    madvise(p, bytes, MADV_NOHUGEPAGE);
    auto* base = static_cast<char*>(p);
    if (auto g = install_guard(base, guard_size_); !g) {
      munmap(p, bytes);
      return std::move(g).error();
    }
    Stack s{base + guard_size_, usable, guard_size_, true, sanitizer::create_fiber(), 0};
    s.valgrind_id = sanitizer::register_stack(s.lo, s.top());
    return s;
  }

  FreeSlot slot{};
  {
    std::lock_guard lock(mu_);
    if (!released_.empty()) {
      slot = {released_.back(), true};  // still warm: its pages were not dropped yet
      released_.pop_back();
    } else {
      if (free_.empty()) {
        if (auto g = grow_locked(); !g) return std::move(g).error();
      }
      slot = free_.back();
      free_.pop_back();
    }
  }
  if (!slot.guarded) {
    if (auto g = install_guard(slot.base, guard_size_); !g) {
      std::lock_guard lock(mu_);
      free_.push_back(slot);
      return std::move(g).error();
    }
  }
  Stack s{slot.base + guard_size_, stack_size_, guard_size_, false, sanitizer::create_fiber(), 0};
  s.valgrind_id = sanitizer::register_stack(s.lo, s.top());
  // A reused slot was last written by an actor whose fiber is gone: its final switch
  // released this token (switch_context), so the new fiber's writes are ordered after.
  if (slot.guarded) sanitizer::handoff_acquire(s.lo);
  return s;
}

void StackAllocator::release(Stack stack) noexcept {
  if (!stack) return;
  sanitizer::destroy_fiber(stack.tsan_fiber);
  sanitizer::deregister_stack(stack.valgrind_id);
  if (stack.own_mapping) {
    munmap(stack.guard_lo(), stack.guard + stack.size);
    return;
  }
  sanitizer::unpoison_stack(stack.lo, stack.size);
  char* slot = stack.guard_lo();
  std::unique_lock lock(mu_);
  if (released_.size() < kReleaseBatch) {
    released_.push_back(slot);
    if (released_.size() < kReleaseBatch || flush_busy_) return;
    // A full batch, and nobody flushing: this thread takes it (the lists swap, so the
    // next batch collects in the other's reserved buffer) and flushes it unlocked.
    flush_busy_ = true;
    released_.swap(flushing_);
    lock.unlock();
    flush(flushing_);
    return;
  }
  // The batch is full while another thread flushes the previous one: this slot goes
  // back on its own rather than growing the list (no allocation here).
  lock.unlock();
  madvise(slot + guard_size_, stack_size_, MADV_DONTNEED);
  lock.lock();
  free_.push_back({slot, true});  // free_ has room for every slot (grow_locked)
}

void StackAllocator::flush(std::vector<char*>& batch) noexcept {
  // Give the memory back but keep the slots (and their guards, which MADV_DONTNEED leaves
  // in place). Adjacent slots form one range: one syscall, one TLB shootdown. None of
  // these slots can be handed out meanwhile: they are on neither list.
  std::sort(batch.begin(), batch.end());
  std::size_t i = 0;
  while (i < batch.size()) {
    std::size_t j = i + 1;
    while (j < batch.size() && batch[j] == batch[j - 1] + slot_size_) ++j;
    // From the first stack's low end to the last one's top (inner guards included).
    char* lo = batch[i] + guard_size_;
    char* hi = batch[j - 1] + slot_size_;
    madvise(lo, static_cast<std::size_t>(hi - lo), MADV_DONTNEED);
    i = j;
  }
  std::lock_guard lock(mu_);
  for (char* slot : batch) free_.push_back({slot, true});
  batch.clear();
  flush_busy_ = false;
}

}  // namespace smarm::detail
