// SPDX-License-Identifier: Apache-2.0
// slot_table.hpp — SlotTable: the runtime's actors, indexed by Pid::index.
//
// Actor objects are allocated in chunks of kChunkSize and never moved or freed before
// the runtime ends (type-stable memory), so a Pid's index always leads to a valid Actor
// and its generation decides whether that Actor is still the one the Pid names.
// Free slots are cached per worker (no lock on the spawn path) and overflow to a
// locked global list.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include <smarm/error.hpp>

#include "core/actor.hpp"
#include "core/runtime_mutex.hpp"

namespace smarm::detail {

class Worker;

class SlotTable {
 public:
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 8192;  // 32M actors
  static constexpr std::uint32_t kMaxActors = kChunkSize * kMaxChunks;

  explicit SlotTable(Scheduler& sched) noexcept : sched_(sched) {}
  ~SlotTable();
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;

  // get(index) is the Actor in slot `index`, or null if no such slot was ever made.
  Actor* get(std::uint32_t index) const noexcept {
    std::uint32_t c = index >> kChunkBits;
    if (c >= kMaxChunks) return nullptr;
    Actor* chunk = chunks_[c].load(std::memory_order_acquire);
    return chunk ? chunk + (index & (kChunkSize - 1)) : nullptr;
  }

  // allocate() finds a free slot (from w's cache when w is non-null).
  Result<Actor*> allocate(Worker* w);
  // free(a) returns a's slot; a's generation must already have moved on.
  void free(Worker* w, Actor* a) noexcept;

  // for_each visits every slot ever made (live or not).
  void for_each(const std::function<void(Actor&)>& f) const;

 private:
  Result<void> refill(Worker* w);
  Actor* make_chunk(std::uint32_t c);

  Scheduler& sched_;
  std::atomic<Actor*> chunks_[kMaxChunks] = {};
  std::atomic<std::uint32_t> next_fresh_{0};
  RuntimeMutex mu_;
  std::vector<std::uint32_t> free_;  // guarded by mu_
};

}  // namespace smarm::detail
