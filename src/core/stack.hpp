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
// ready; beyond it they are collected here and their pages returned in batches: the
// batch is sorted by address and adjacent slots are dropped with one MADV_DONTNEED per
// run (guards stay in place), because each call costs a TLB shootdown. The madvise runs
// after the allocator's lock is released (an exiting actor that completes a batch does
// not hold every spawn up for it), and the batch's slots are free again only once it
// returned. Until a batch is flushed its stacks are still warm, and allocate() reuses
// them first. Stacks of a non-default size
// get a mapping of their own, unmapped when freed.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
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
  // the rest of its batch (by the thread whose release filled it, outside the lock).
  void release(Stack stack) noexcept;

  std::size_t guard_size() const noexcept { return guard_size_; }
  ResolvedGuardMode mode() const noexcept { return mode_; }
  std::size_t slabs() const;

 private:
  struct FreeSlot {
    char* base;
    bool guarded;
  };
  struct ReleaseBatch {  // see batches_
    std::vector<char*> slots;
    std::vector<iovec> ranges;  // flush()'s scratch: the slots' pages as address ranges
  };
  Result<void> install_guard(char* lo, std::size_t bytes) const noexcept;
  Result<void> grow_locked();
  // flush(batch) gives the pages of a batch of released slots back, outside the lock, and
  // then makes the slots free (under it).
  void flush(ReleaseBatch& batch) noexcept;

  std::size_t stack_size_;
  std::size_t guard_size_;
  std::size_t slot_size_;
  std::size_t slots_per_slab_;
  ResolvedGuardMode mode_;

  mutable RuntimeMutex mu_;
  std::vector<FreeSlot> free_;  // guarded by mu_
  // Exited stacks whose pages are still held, in batches: one collects (its slots are
  // handed out first, still warm), the others are spare or being flushed by the thread
  // that filled them, outside the lock. Each is reserved once and never reallocated:
  // release() allocates nothing.
  static constexpr std::size_t kReleaseBatches = 4;
  std::array<ReleaseBatch, kReleaseBatches> batches_;
  ReleaseBatch* collecting_ = nullptr;                // guarded by mu_
  std::vector<ReleaseBatch*> spare_;                  // guarded by mu_
  std::vector<std::pair<char*, std::size_t>> slabs_;  // guarded by mu_
};

// page_size() is the system page size (read once).
std::size_t page_size() noexcept;

}  // namespace smarm::detail
