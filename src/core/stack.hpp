// SPDX-License-Identifier: Apache-2.0
// stack.hpp — StackAllocator: guarded actor stacks carved from large lazy mappings.
//
// Geometry of one slot (addresses grow upwards):
//
//   slot base                                                 slot end = stack top
//   | guard (guard_size, inaccessible) | stack (stack_size, committed on first touch) |
//
// Slots of the default size are carved from slabs: single MAP_NORESERVE mappings of many
// slots with transparent huge pages disabled (a fresh huge page would commit 2 MiB per
// stack). The guard of each slot is installed the first time the slot is used, by
// madvise(MADV_GUARD_INSTALL) — no memory, no extra mapping — or, where the kernel lacks
// it, by mprotect(PROT_NONE), which splits the mapping (so vm.max_map_count bounds the
// number of stacks, and spawn fails cleanly at that bound). A guard that cannot be
// installed fails the allocation: a stack is never handed out unguarded.
//
// Freed stacks go to a per-worker pool (Worker::stack_pool) while it has room, hot and
// ready; beyond it they are collected here and their pages given back in batches of 256:
// the batch is sorted by address and all its ranges are dropped with one
// process_madvise(MADV_DONTNEED) (one TLB shootdown per batch; guards stay in place).
// Full batches queue for the reclaimer, a thread of the allocator's own at SCHED_IDLE
// priority: pages go back on CPU time nothing else wants, so a burst of exits (a million
// timers firing) does not put the drops between the workers and their next timers. A
// queued batch is kept in the memory of one of its own stacks, so the queue needs no
// allocation and has no fixed length; it holds at most what the exited actors held
// while alive, and spawns reuse queued stacks first (still warm). A batch that has
// waited kMaxHoldNs (the machine so busy that the idle-priority thread got nothing) is
// dropped by the next thread that fills a batch. A batch's slots are free again only
// once its drop returned, and no drop runs under the allocator's lock. Stacks of a
// non-default size get a mapping of their own, unmapped when freed.
#pragma once

#include <sys/uio.h>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <smarm/config.hpp>
#include <smarm/error.hpp>

#include "core/runtime_mutex.hpp"
#include "core/sanitizer.hpp"

namespace smarm::detail {

struct Stack {
  char* lo = nullptr;        // lowest usable byte (just above the guard)
  std::size_t size = 0;      // usable bytes; the top is lo + size
  std::size_t guard = 0;     // guard bytes directly below lo
  bool own_mapping = false;  // a custom-size stack with its own mmap
  void* tsan_fiber = nullptr;
  unsigned valgrind_id = 0;

  char* top() const noexcept { return lo + size; }
  char* guard_lo() const noexcept { return lo - guard; }
  explicit operator bool() const noexcept { return lo != nullptr; }
};

// kStackScale is how much larger than asked stacks are made: ASan's redzones make every
// frame larger. Config::max_stack_memory counts the size asked for.
#if defined(SMARM_ASAN)
inline constexpr std::size_t kStackScale = 2;
#else
inline constexpr std::size_t kStackScale = 1;
#endif

enum class ResolvedGuardMode : std::uint8_t { GuardInstall, Mprotect };
const char* guard_mode_name(ResolvedGuardMode m) noexcept;

class StackAllocator {
 public:
  // Resolves GuardMode::Auto (and the SMARM_GUARD_MODE environment override) by probing
  // the kernel once.
  explicit StackAllocator(const Config& config);
  ~StackAllocator();
  StackAllocator(const StackAllocator&) = delete;
  StackAllocator& operator=(const StackAllocator&) = delete;

  // allocate(size) returns a guarded stack of at least `size` usable bytes (0 = default)
  // or ResourceExhausted with the failing call and errno.
  Result<Stack> allocate(std::size_t size);
  // release(stack) gives a stack back for good: slot reusable, its pages dropped with
  // the rest of its batch (by the reclaimer, or by a releasing thread when the batch is
  // overdue; never under the allocator's lock).
  void release(Stack stack) noexcept;
  // discard_releases() is for a runtime's teardown: the slabs are about to be unmapped,
  // so stacks released from now on are not worth a drop.
  void discard_releases() noexcept;

  // held_exited() is how many exited stacks still hold their pages: the batch collecting
  // (kept warm for reuse) and the batches waiting for, or being dropped by, the reclaimer.
  std::size_t held_exited() const;
  // kReleaseBatch is how many exited stacks are dropped together.
  static constexpr std::size_t kReleaseBatch = 256;
  // kMaxHoldNs is how long a full batch may wait for the reclaimer before a thread that
  // fills a batch drops it itself (a machine too busy to give an idle thread anything).
  static constexpr std::int64_t kMaxHoldNs = 5'000'000'000;

  std::size_t guard_size() const noexcept { return guard_size_; }
  ResolvedGuardMode mode() const noexcept { return mode_; }
  std::size_t slabs() const;

 private:
  struct FreeSlot {
    char* base;
    bool guarded;
  };
  // A full batch waiting for the reclaimer, placed at the top of one of its stacks (the
  // holder, whose top page the actor touched first): the holder and `count` others.
  struct QueuedBatch {
    QueuedBatch* older;
    QueuedBatch* newer;
    std::int64_t queued_ns;
    std::uint32_t count;
    char* slots[kReleaseBatch - 1];
  };
  // Room to turn a batch into address ranges: the reclaimer's, and a few for threads
  // that drop an overdue batch themselves.
  struct DropScratch {
    std::vector<char*> slots;
    std::vector<iovec> ranges;
  };
  Result<void> install_guard(char* lo, std::size_t bytes) const noexcept;
  Result<void> grow_locked();
  char* holder_of(QueuedBatch* b) const noexcept {
    return reinterpret_cast<char*>(b + 1) - slot_size_;
  }
  QueuedBatch* queue_collecting_locked() noexcept;  // collecting_ (full) joins the queue
  QueuedBatch* pop_oldest_locked() noexcept;
  // drop(batch, scratch) gives the pages of a popped batch back, outside the lock, and
  // then makes its slots free (under it).
  void drop(QueuedBatch* batch, DropScratch& scratch) noexcept;
  // start_reclaimer() starts the reclaimer thread on the first full batch; false when the
  // thread cannot be created (then the threads that fill batches drop them themselves).
  bool start_reclaimer() noexcept;
  void reclaim_loop() noexcept;

  std::size_t stack_size_;
  std::size_t guard_size_;
  std::size_t slot_size_;
  std::size_t slots_per_slab_;
  ResolvedGuardMode mode_;

  mutable RuntimeMutex mu_;
  std::vector<FreeSlot> free_;                        // guarded by mu_
  std::vector<std::pair<char*, std::size_t>> slabs_;  // guarded by mu_
  // Exited stacks still holding their pages: the batch collecting (reserved once, never
  // reallocated: release() allocates nothing), the queue of full ones (oldest to newest),
  // and those being dropped. Spawns take the collecting batch's, then the newest queued.
  std::vector<char*> collecting_;  // guarded by mu_
  QueuedBatch* oldest_ = nullptr;  // guarded by mu_
  QueuedBatch* newest_ = nullptr;  // guarded by mu_
  std::size_t queued_slots_ = 0;   // guarded by mu_
  std::size_t dropping_ = 0;       // guarded by mu_
  static constexpr std::size_t kHelperScratches = 3;
  DropScratch reclaimer_scratch_;                             // the reclaimer's alone
  std::array<DropScratch, kHelperScratches> helper_scratch_;  // taken under mu_
  std::vector<DropScratch*> spare_scratch_;                   // guarded by mu_

  // The reclaimer: started on the first full batch, stopped by the destructor.
  enum class Reclaimer : std::uint8_t { NotStarted, Running, Unavailable };
  Reclaimer reclaimer_ = Reclaimer::NotStarted;  // guarded by mu_
  bool reclaimer_waiting_ = false;               // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  bool discard_ = false;                         // guarded by mu_
  std::condition_variable_any work_;             // a batch was queued, or stopping_
  std::thread reclaimer_thread_;
};

// page_size() is the system page size (read once).
std::size_t page_size() noexcept;

}  // namespace smarm::detail
