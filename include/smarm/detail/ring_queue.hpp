// SPDX-License-Identifier: Apache-2.0
// detail/ring_queue.hpp — RingQueue<T>, the FIFO that holds a channel's values.
//
// A power-of-two ring that allocates nothing until the first push (a parked actor's idle
// channel costs no buffer) and doubles when full. Values are moved, never copied, so
// move-only types work. Not thread-safe: the channel's lock guards it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace smarm::detail {

template <class T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;
  ~RingQueue() {
    clear();
    ::operator delete (slots_, std::align_val_t{alignof(T)});
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
      n -= run;
    }
  }

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
  }

 private:
  T* slot(std::size_t i) noexcept { return slots_ + (i & (cap_ - 1)); }
  void grow() {
    std::size_t cap = cap_ ? cap_ * 2 : 4;
    T* fresh = static_cast<T*>(::operator new (cap * sizeof(T), std::align_val_t{alignof(T)}));
    std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i) {
      T* p = slot(head_ + i);
      new (fresh + i) T(std::move(*p));
      p->~T();
    }
    ::operator delete (slots_, std::align_val_t{alignof(T)});
    slots_ = fresh;
    cap_ = cap;
    head_ = 0;
    tail_ = n;
  }

  T* slots_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;  // monotonically increasing; masked on access
  std::size_t tail_ = 0;
};

}  // namespace smarm::detail
