// SPDX-License-Identifier: Apache-2.0
// detail/ring_queue.hpp — RingQueue<T>, the FIFO that holds a channel's values.
//
// A power-of-two ring that allocates nothing until the first push (a parked actor's idle
// channel costs no buffer) and doubles when full. Values are moved, never copied, so
// move-only types work. Not thread-safe: the channel's lock guards it.
//
// It also gives memory back: once the live count has stayed below a quarter of the
// capacity for shrink_after_pops(cap) pops in a row, wants_shrink() says so and
// shrink_target() is a ring of at most twice the live count (never below kKeepBytes).
// The channel allocates that ring without its lock, swaps it in under the lock
// (shrink_into) and frees the old one after unlocking, so no allocator call is made with
// the lock held on that path. The bytes all rings hold are counted process-wide, on grow
// and shrink only (stats(): channel_buffer_bytes).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace smarm::detail {

// note_channel_buffer(delta) adds delta bytes to the process-wide count of channel buffer
// memory (and raises its peak); src/core/channel.cpp.
void note_channel_buffer(std::ptrdiff_t delta) noexcept;
// channel_buffer_bytes() / channel_buffer_peak(): that count now, and its highest value.
std::uint64_t channel_buffer_bytes() noexcept;
std::uint64_t channel_buffer_peak() noexcept;

template <class T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;
  ~RingQueue() {
    clear();
    release(slots_, cap_);
  }

  bool empty() const noexcept { return head_ == tail_; }
  std::size_t size() const noexcept { return tail_ - head_; }

  template <class U>
  void push(U&& v) {
    if (size() == cap_) grow();
    new (slot(tail_)) T(std::forward<U>(v));
    ++tail_;
  }
  // pop() moves the front value out; the queue must not be empty.
  T pop() {
    T* p = slot(head_);
    T v(std::move(*p));
    p->~T();
    ++head_;
    count_low_pops(1);
    return v;
  }
  // Bulk moves, for channel bursts: one bounds computation per contiguous run of slots
  // instead of one per value, and a plain memmove for trivially copyable T.
  //
  // reserve_for(n) makes room for n more values without a later push() growing the ring;
  // it may throw (allocation), before anything has moved.
  void reserve_for(std::size_t n) {
    while (cap_ - size() < n) grow();
  }
  // push_moved(first, n) moves n values in after the last one; room must have been made
  // (reserve_for, or capacity known to suffice). T's move must not throw.
  void push_moved(T* first, std::size_t n) noexcept {
    static_assert(std::is_nothrow_move_constructible_v<T>);
    while (n != 0) {
      const std::size_t at = tail_ & (cap_ - 1);
      const std::size_t run = std::min(n, cap_ - at);
      std::uninitialized_move_n(first, run, slots_ + at);
      first += run;
      tail_ += run;
      n -= run;
    }
  }
  // pop_into(out, n) moves the n oldest values (n <= size()) to the end of the vector out,
  // which must already have room for them (it must not reallocate: no throwing here).
  template <class Vector>
  void pop_into(Vector& out, std::size_t n) noexcept {
    static_assert(std::is_nothrow_move_constructible_v<T>);
    while (n != 0) {
      const std::size_t at = head_ & (cap_ - 1);
      const std::size_t run = std::min(n, cap_ - at);
      T* first = slots_ + at;
      out.insert(out.end(), std::make_move_iterator(first), std::make_move_iterator(first + run));
      std::destroy_n(first, run);
      head_ += run;
      count_low_pops(run);
      n -= run;
    }
  }

  // --- Giving memory back (see the top of this file).
  //
  // wants_shrink() says whether the live count has stayed low long enough.
  bool wants_shrink() const noexcept { return low_pops_ >= shrink_after_pops(cap_); }
  // shrink_target() is the capacity to shrink to: the smallest power of two that holds
  // the live count, at most twice it, and not below what kKeepBytes holds.
  std::size_t shrink_target() const noexcept {
    return std::max(std::bit_floor(2 * size()), keep_capacity());
  }
  // allocate(cap) / release(p, cap) are the ring's own allocation (and counting), for a
  // channel that prepares a smaller ring outside its lock and frees the old one after.
  static T* allocate(std::size_t cap) {
    T* p = static_cast<T*>(::operator new (cap * sizeof(T), std::align_val_t{alignof(T)}));
    note_channel_buffer(static_cast<std::ptrdiff_t>(cap * sizeof(T)));
    return p;
  }
  static void release(T* p, std::size_t cap) noexcept {
    if (!p) return;
    ::operator delete (p, std::align_val_t{alignof(T)});
    note_channel_buffer(-static_cast<std::ptrdiff_t>(cap * sizeof(T)));
  }
  // shrink_into(fresh, cap) moves the values into `fresh` (from allocate(cap)) and makes it
  // the ring, if the ring still wants that (values may have arrived since): it returns
  // the buffer the caller must release() after unlocking, with its capacity in *old_cap —
  // the old ring, or `fresh` itself when nothing was done. Needs a noexcept move.
  T* shrink_into(T* fresh, std::size_t cap, std::size_t* old_cap) noexcept {
    static_assert(std::is_nothrow_move_constructible_v<T>);
    if (!wants_shrink() || cap < size() || cap >= cap_) {
      *old_cap = cap;
      return fresh;
    }
    const std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i) {
      T* p = slot(head_ + i);
      new (fresh + i) T(std::move(*p));
      p->~T();
    }
    T* old = std::exchange(slots_, fresh);
    *old_cap = std::exchange(cap_, cap);
    head_ = 0;
    tail_ = n;
    low_pops_ = 0;
    return old;
  }
  std::size_t capacity() const noexcept { return cap_; }

  void clear() noexcept {
    while (!empty()) {
      slot(head_)->~T();
      ++head_;
    }
  }
  // swap lets a caller move every value out under a lock and destroy them outside it.
  void swap(RingQueue& o) noexcept {
    std::swap(slots_, o.slots_);
    std::swap(cap_, o.cap_);
    std::swap(head_, o.head_);
    std::swap(tail_, o.tail_);
    std::swap(low_pops_, o.low_pops_);
  }

  // A ring this small is never shrunk: reallocating it would cost more than it frees.
  static constexpr std::size_t kKeepBytes = 4096;
  // How many pops in a row must find the live count below a quarter of the capacity
  // before the ring shrinks: an eighth of the capacity (so the values moved by a shrink,
  // at most a quarter of the capacity, cost at most two moves per pop that paid for it),
  // and at least 1024 (a short lull in a steady stream does not reallocate).
  static constexpr std::size_t shrink_after_pops(std::size_t cap) noexcept {
    return std::max<std::size_t>(1024, cap / 8);
  }

 private:
  T* slot(std::size_t i) noexcept { return slots_ + (i & (cap_ - 1)); }
  static constexpr std::size_t keep_capacity() noexcept {
    return std::bit_floor(std::max<std::size_t>(4, kKeepBytes / sizeof(T)));
  }
  // count_low_pops(n) notes n pops: they count towards a shrink while the ring is worth
  // shrinking and the live count is below a quarter of it; any pop above that resets.
  void count_low_pops(std::size_t n) noexcept {
    if (cap_ > keep_capacity() && size() < cap_ / 4)
      low_pops_ += n;
    else
      low_pops_ = 0;
  }
  void grow() {
    std::size_t cap = cap_ ? cap_ * 2 : 4;
    T* fresh = allocate(cap);
    std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i) {
      T* p = slot(head_ + i);
      new (fresh + i) T(std::move(*p));
      p->~T();
    }
    release(slots_, cap_);
    slots_ = fresh;
    cap_ = cap;
    head_ = 0;
    tail_ = n;
    low_pops_ = 0;
  }

  T* slots_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;  // monotonically increasing; masked on access
  std::size_t tail_ = 0;
  std::size_t low_pops_ = 0;  // pops in a row that found the ring under a quarter full
};

}  // namespace smarm::detail
