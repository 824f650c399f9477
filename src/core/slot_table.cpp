// SPDX-License-Identifier: Apache-2.0
// slot_table.cpp — SlotTable (see slot_table.hpp).
#include "core/slot_table.hpp"

#include <new>
#include <string>

#include <smarm/config.hpp>

#include "core/sanitizer.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

static_assert(SlotTable::kMaxActors == Config::kMaxActors);

namespace {
constexpr std::uint32_t kBatch = 64;  // slots moved between a worker cache and the table
}

SlotTable::~SlotTable() {
  for (auto& c : chunks_) delete[] c.load(std::memory_order_relaxed);
}

Actor* SlotTable::make_chunk(std::uint32_t c) {
  Actor* chunk = chunks_[c].load(std::memory_order_acquire);
  if (chunk) return chunk;
  chunk = new Actor[kChunkSize];
  for (std::uint32_t i = 0; i < kChunkSize; ++i) {
    chunk[i].index = (c << kChunkBits) | i;
    chunk[i].sched = &sched_;
  }
  chunks_[c].store(chunk, std::memory_order_release);
  return chunk;
}

// Worker-confined cache; the global list is under mu_.
SMARM_NO_TSAN Result<void> SlotTable::refill(Worker* w) {
  std::lock_guard lock(mu_);
  while (!free_.empty() && w->slot_cache_size < kBatch) {
    w->slot_cache[w->slot_cache_size++] = free_.back();
    free_.pop_back();
  }
  if (w->slot_cache_size > 0) return {};
  std::uint32_t first = next_fresh_.load(std::memory_order_relaxed);
  if (first >= kMaxActors)
    return Error(Errc::ResourceExhausted,
                 "actor table full (" + std::to_string(kMaxActors) + " actors)");
  try {
    make_chunk(first >> kChunkBits);  // kBatch divides kChunkSize: one chunk per batch
  } catch (const std::bad_alloc&) {
    return Error(Errc::ResourceExhausted, "actor table: out of memory for a chunk of " +
                                              std::to_string(kChunkSize) + " actor slots");
  }
  next_fresh_.store(first + kBatch, std::memory_order_relaxed);
  // Reverse order so that slots are handed out in increasing index order.
  for (std::uint32_t i = kBatch; i-- > 0;) w->slot_cache[w->slot_cache_size++] = first + i;
  return {};
}

SMARM_NO_TSAN Result<Actor*> SlotTable::allocate(Worker* w) {
  if (w->slot_cache_size == 0) {
    if (auto r = refill(w); !r) return std::move(r).error();
  }
  return get(w->slot_cache[--w->slot_cache_size]);
}

SMARM_NO_TSAN void SlotTable::free(Worker* w, Actor* a) noexcept {
  if (w->slot_cache_size == Worker::kSlotCache) {
    std::lock_guard lock(mu_);
    for (std::uint32_t i = 0; i < Worker::kSlotCache / 2; ++i)
      free_.push_back(w->slot_cache[--w->slot_cache_size]);
  }
  w->slot_cache[w->slot_cache_size++] = a->index;
}

void SlotTable::for_each(const std::function<void(Actor&)>& f) const {
  std::uint32_t end;
  {
    std::lock_guard lock(const_cast<RuntimeMutex&>(mu_));
    end = next_fresh_.load(std::memory_order_relaxed);
  }
  for (std::uint32_t i = 0; i < end; ++i) {
    if (Actor* a = get(i)) f(*a);
  }
}

}  // namespace smarm::detail
