// SPDX-License-Identifier: Apache-2.0
// stack.cpp — StackAllocator (see stack.hpp for the geometry and the policy).
#include "core/stack.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
// Exited stacks collect in a batch; a full batch has its pages dropped together by the
// thread that filled it. While one batch is being dropped the next keeps collecting, up
// to kReleaseCapacity. TL1M (a million exits in 3 s, T=2): median lateness 0.25-0.71 s
// with 256 (3.6-5.6 s with one madvise per range); 1,024 gave 0.06-0.19 s but leaves up
// to 2,048 exited stacks holding their pages (W8's RSS-returns check fails). Deferring
// full batches to idle workers was no better: in such a burst no worker is idle.
constexpr std::size_t kReleaseBatch = 256;
constexpr std::size_t kReleaseCapacity = 1024;
constexpr std::size_t kMaxRangesPerCall = 1024;  // the kernel's UIO_MAXIOV

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
// The calling thread's own process, without a pidfd (Linux >= 6.14; <linux/pidfd.h> of
// older headers lacks the name). A descriptor would be one more for the program to lose.
constexpr int kPidfdSelfThread = -10000;

// process_madvise(MADV_DONTNEED) of our own process drops many ranges with one TLB
// shootdown instead of one per range: measured here, 65,536 scattered stacks with a
// second thread running, 9.6 us per stack with madvise, 2.0-2.8 us in batches of 64 to
// 1,024. Kernels before 6.14 refuse it (EINVAL, EBADF, ENOSYS): then madvise per range.
std::atomic<bool> g_batched_drop_unsupported{false};

void drop_pages(const iovec* ranges, std::size_t n) noexcept {
  while (n > 0) {
    const std::size_t k = std::min(n, kMaxRangesPerCall);
    bool done = false;
    if (k > 1 && !g_batched_drop_unsupported.load(std::memory_order_relaxed) &&
        !sanitizer::running_on_valgrind()) {
      std::size_t total = 0;
      for (std::size_t i = 0; i < k; ++i) total += ranges[i].iov_len;
      const long r = syscall(SYS_process_madvise, kPidfdSelfThread, ranges, k, MADV_DONTNEED, 0);
      done = r >= 0 && static_cast<std::size_t>(r) == total;
      if (r < 0 && errno != EINTR && errno != EAGAIN && errno != ENOMEM)
        g_batched_drop_unsupported.store(true, std::memory_order_relaxed);
    }
    // Refused or partly done: one by one (dropping a range twice is harmless).
    if (!done)
      for (std::size_t i = 0; i < k; ++i)
        madvise(ranges[i].iov_base, ranges[i].iov_len, MADV_DONTNEED);
    ranges += k;
    n -= k;
  }
}

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
  for (ReleaseBatch& b : batches_) {
    b.slots.reserve(kReleaseCapacity);
    b.ranges.reserve(kReleaseCapacity);
  }
  collecting_ = &batches_[0];
  spare_.reserve(kReleaseBatches);
  for (std::size_t i = 1; i < kReleaseBatches; ++i) spare_.push_back(&batches_[i]);
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
    if (auto& warm = collecting_->slots; !warm.empty()) {
      slot = {warm.back(), true};  // still warm: its pages were not dropped yet
      warm.pop_back();
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
  if (collecting_->slots.size() < kReleaseCapacity) {
    collecting_->slots.push_back(slot);
    if (collecting_->slots.size() < kReleaseBatch || spare_.empty()) return;
    // A full batch, and a spare to collect the next: this thread flushes the full one
    // unlocked (with more workers than spares, the others keep collecting meanwhile).
    ReleaseBatch* full = collecting_;
    collecting_ = spare_.back();
    spare_.pop_back();
    lock.unlock();
    flush(*full);
    return;
  }
  // Every batch is full or being flushed (flushes are that slow): this slot goes back on its own
  // rather than growing a list (no allocation here).
  lock.unlock();
  madvise(slot + guard_size_, stack_size_, MADV_DONTNEED);
  lock.lock();
  free_.push_back({slot, true});  // free_ has room for every slot (grow_locked)
}

void StackAllocator::flush(ReleaseBatch& batch) noexcept {
  // Give the memory back but keep the slots (and their guards, which MADV_DONTNEED leaves
  // in place). Adjacent slots form one range, and all ranges go in one call where the
  // kernel allows (drop_pages): one TLB shootdown per batch. None of these slots can be
  // handed out meanwhile: the batch is on no list.
  auto& slots = batch.slots;
  std::sort(slots.begin(), slots.end());
  batch.ranges.clear();
  std::size_t i = 0;
  while (i < slots.size()) {
    std::size_t j = i + 1;
    while (j < slots.size() && slots[j] == slots[j - 1] + slot_size_) ++j;
    // From the first stack's low end to the last one's top (inner guards included).
    char* lo = slots[i] + guard_size_;
    char* hi = slots[j - 1] + slot_size_;
    batch.ranges.push_back({lo, static_cast<std::size_t>(hi - lo)});
    i = j;
  }
  drop_pages(batch.ranges.data(), batch.ranges.size());
  std::lock_guard lock(mu_);
  for (char* slot : slots) free_.push_back({slot, true});
  slots.clear();
  spare_.push_back(&batch);  // room reserved for every batch
}

}  // namespace smarm::detail
