// SPDX-License-Identifier: Apache-2.0
// stack.cpp — StackAllocator (see stack.hpp for the geometry and the policy).
#include "core/stack.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
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
#include "core/timer_wheel.hpp"  // now_ns

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux >= 6.13; older headers lack the name
#endif

namespace smarm::detail {

namespace {

constexpr std::size_t kSlabBytes = std::size_t{256} << 20;  // VA per slab: no memory cost
constexpr std::size_t kMaxRangesPerCall = 1024;             // the kernel's UIO_MAXIOV

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
  collecting_.reserve(kReleaseBatch);
  reclaimer_scratch_.slots.reserve(kReleaseBatch);
  reclaimer_scratch_.ranges.reserve(kReleaseBatch);
  spare_scratch_.reserve(kHelperScratches);
  for (DropScratch& d : helper_scratch_) {
    d.slots.reserve(kReleaseBatch);
    d.ranges.reserve(kReleaseBatch);
    spare_scratch_.push_back(&d);
  }
}

StackAllocator::~StackAllocator() {
  if (reclaimer_thread_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;  // batches still queued are not dropped: the slabs go below
      reclaimer_waiting_ = false;
    }
    work_.notify_one();
    reclaimer_thread_.join();
  }
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
    if (!collecting_.empty()) {
      slot = {collecting_.back(), true};  // still warm: its pages were not dropped yet
      collecting_.pop_back();
    } else if (QueuedBatch* newest = newest_) {  // the warmest of those waiting for a drop
      if (newest->count > 0) {
        slot = {newest->slots[--newest->count], true};
      } else {  // the holder goes last: the batch lives in its memory
        slot = {holder_of(newest), true};
        newest_ = newest->older;
        if (newest_)
          newest_->newer = nullptr;
        else
          oldest_ = nullptr;
      }
      --queued_slots_;
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
  // The stack's last writes were its actor's (its final switch released this token): a
  // queued batch is written into it below.
  sanitizer::handoff_acquire(stack.lo);
  char* slot = stack.guard_lo();
  std::unique_lock lock(mu_);
  if (discard_) {
    free_.push_back({slot, true});  // free_ has room for every slot (grow_locked)
    return;
  }
  collecting_.push_back(slot);  // reserved: never past kReleaseBatch
  if (collecting_.size() < kReleaseBatch) return;

  const std::int64_t queued_ns = queue_collecting_locked()->queued_ns;
  if (reclaimer_ == Reclaimer::NotStarted) {
    reclaimer_ = Reclaimer::Running;  // claimed under the lock: one thread starts it
    lock.unlock();
    const bool started = start_reclaimer();
    lock.lock();
    if (!started) reclaimer_ = Reclaimer::Unavailable;
    if (!oldest_) return;  // taken for reuse meanwhile
  }
  // Drop the oldest batch here when no reclaimer runs, or when it has waited too long
  // (a thread at idle priority gets nothing on a machine kept busy).
  const bool overdue =
      reclaimer_ == Reclaimer::Unavailable || queued_ns - oldest_->queued_ns >= kMaxHoldNs;
  if (overdue && !spare_scratch_.empty()) {
    DropScratch* scratch = spare_scratch_.back();
    spare_scratch_.pop_back();
    QueuedBatch* oldest = pop_oldest_locked();
    lock.unlock();
    drop(oldest, *scratch);
    lock.lock();
    spare_scratch_.push_back(scratch);  // room reserved for every scratch
    return;
  }
  if (reclaimer_waiting_) {
    reclaimer_waiting_ = false;
    lock.unlock();
    work_.notify_one();
  }
}

StackAllocator::QueuedBatch* StackAllocator::queue_collecting_locked() noexcept {
  // The batch moves into the top of its last stack's slot: that page is resident (the
  // actor's first frame was there) and nothing else uses it until the batch is dropped.
  char* holder = collecting_.back();
  collecting_.pop_back();
  char* record = holder + slot_size_ - sizeof(QueuedBatch);
  sanitizer::make_writable(record, sizeof(QueuedBatch));
  auto* b = new (record) QueuedBatch;
  b->older = newest_;
  b->newer = nullptr;
  b->queued_ns = now_ns();
  b->count = static_cast<std::uint32_t>(collecting_.size());
  std::copy(collecting_.begin(), collecting_.end(), b->slots);
  collecting_.clear();
  if (newest_)
    newest_->newer = b;
  else
    oldest_ = b;
  newest_ = b;
  queued_slots_ += b->count + 1;
  return b;
}

StackAllocator::QueuedBatch* StackAllocator::pop_oldest_locked() noexcept {
  QueuedBatch* b = oldest_;
  oldest_ = b->newer;
  if (oldest_)
    oldest_->older = nullptr;
  else
    newest_ = nullptr;
  queued_slots_ -= b->count + 1;
  dropping_ += b->count + 1;
  return b;
}

void StackAllocator::discard_releases() noexcept {
  std::lock_guard lock(mu_);
  discard_ = true;
}

std::size_t StackAllocator::held_exited() const {
  std::lock_guard lock(mu_);
  return collecting_.size() + queued_slots_ + dropping_;
}

bool StackAllocator::start_reclaimer() noexcept {
  try {
    reclaimer_thread_ = std::thread([this] { reclaim_loop(); });
    return true;
  } catch (...) {  // std::system_error (EAGAIN: no threads left), std::bad_alloc
    return false;
  }
}

void StackAllocator::reclaim_loop() noexcept {
  pthread_setname_np(pthread_self(), "smarm-reclaim");
  // Signals are for the program's threads: a process-directed one must not land here.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  // Idle priority: the drops use CPU time no worker wants. Refused (a seccomp profile):
  // a normal thread still takes the drops off the workers.
  sched_param param{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  std::unique_lock lock(mu_);
  for (;;) {
    while (!stopping_ && !oldest_) {
      reclaimer_waiting_ = true;
      work_.wait(lock);
    }
    if (stopping_) return;  // what is still queued goes with the slabs
    QueuedBatch* oldest = pop_oldest_locked();
    lock.unlock();
    drop(oldest, reclaimer_scratch_);
    lock.lock();
  }
}

void StackAllocator::drop(QueuedBatch* batch, DropScratch& scratch) noexcept {
  // Give the memory back but keep the slots (and their guards, which MADV_DONTNEED leaves
  // in place). The batch is on no list: none of its slots can be handed out meanwhile
  // (they are counted in dropping_). Its own record is copied out first: it lives in the
  // holder's stack, which is dropped with the rest. Adjacent slots form one range, and all
  // ranges go in one call where the kernel allows (drop_pages): one TLB shootdown.
  auto& slots = scratch.slots;
  slots.assign(batch->slots, batch->slots + batch->count);
  slots.push_back(holder_of(batch));
  std::sort(slots.begin(), slots.end());
  scratch.ranges.clear();
  std::size_t i = 0;
  while (i < slots.size()) {
    std::size_t j = i + 1;
    while (j < slots.size() && slots[j] == slots[j - 1] + slot_size_) ++j;
    // From the first stack's low end to the last one's top (inner guards included).
    char* lo = slots[i] + guard_size_;
    char* hi = slots[j - 1] + slot_size_;
    scratch.ranges.push_back({lo, static_cast<std::size_t>(hi - lo)});
    i = j;
  }
  drop_pages(scratch.ranges.data(), scratch.ranges.size());
  std::lock_guard lock(mu_);
  dropping_ -= slots.size();
  for (char* slot : slots) free_.push_back({slot, true});
  slots.clear();
}

}  // namespace smarm::detail
