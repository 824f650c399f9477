// detail/ring_queue.hpp — RingQueue<T>, the FIFO that holds a channel's values.
//
// A power-of-two ring that allocates nothing until the first push (a parked actor's idle
// channel costs no buffer) and doubles when full. Values are moved, never copied, so
// move-only types work. Not thread-safe: the channel's lock guards it.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
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
