// SPDX-License-Identifier: Apache-2.0
// detail/pipe_recv_range.hpp — an lvalue Receiver<T>& as an input range (range-v3 and
// std::ranges alike): begin(rx) / end(rx), found by argument-dependent lookup.
//
//   for (auto& v : rx) use(v);                                   // until Closed
//   auto squares = rx | ranges::views::transform([](int x) { return x * x; });
//
// The iterator refers to the receiver. It receives when the current value is first
// needed — by *it or by it == end, which park the caller like recv() — so a loop, or a
// view that stops early (views::take(n)), takes from the channel exactly the values it
// reads, and the iterator equals end() once a receive fails. That is Closed in the normal case
// (every sender gone and the queue drained); Cancelled and NotInActor end the range too — a range
// has no way to carry an error, so a caller that must tell them apart checks smarm::cancelled()
// afterwards, or calls recv() itself. A range is single-pass: iterating it again goes on from where
// the last pass stopped (the values taken are gone from the channel).
//
// Why a shared cursor: range-v3 (0.12) requires every iterator to be copyable, and a
// Receiver<T> may carry move-only values; so the value just received lives in a small
// heap cursor that every copy of the iterator shares (one allocation per begin(), none
// per value). Copies of an input iterator are not independent positions anyway: once one
// is incremented the others are stale, as for std::istream_iterator.
//
// Why Receiver is marked "not sized" below: it has a size() member (a snapshot of how many
// values are queued), and both range libraries would otherwise take that as the length of the
// range. views::take(n) would then stop at min(n, queued-right-now) — nothing at all when the
// sender has not run yet — instead of waiting for n values.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <utility>

#include <range/v3/range/primitives.hpp>

#include <smarm/channel.hpp>

namespace smarm {

namespace detail {
// RecvCursor holds the receiver being read and the value last received from it. It
// receives lazily, when the value (or whether there is one) is first asked for, so that
// a view which stops after n items (views::take) has taken exactly n from the channel.
template <class T>
struct RecvCursor {
  explicit RecvCursor(Receiver<T>& r) : rx(&r) {}
  // fill() receives the current value if that has not happened yet.
  void fill() {
    if (!pending) return;
    pending = false;
    value.reset();
    if (auto r = rx->recv()) value.emplace(std::move(*r));
  }
  // advance() moves past the current value (receiving it first if nobody looked at it:
  // skipping an item consumes it).
  void advance() {
    fill();
    pending = true;
  }
  Receiver<T>* rx;
  std::optional<T> value;
  bool pending = true;
};
}  // namespace detail

// RecvSentinel is end(rx): an iterator equals it once the receiver has nothing more.
struct RecvSentinel {};

// RecvIterator<T> reads a Receiver<T> one value at a time (see the file comment).
// *it is the value received last, by reference: move from it freely (the next ++
// replaces it).
template <class T>
class RecvIterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  using iterator_concept = std::input_iterator_tag;

  RecvIterator() = default;
  explicit RecvIterator(Receiver<T>& rx) : cursor_(std::make_shared<detail::RecvCursor<T>>(rx)) {}

  // * and == receive the current value on first use (parking the caller until there is
  // one or the end); * requires that there is one (it != end).
  T& operator*() const {
    cursor_->fill();
    return *cursor_->value;
  }
  T* operator->() const { return &**this; }
  RecvIterator& operator++() {
    cursor_->advance();
    return *this;
  }
  void operator++(int) { ++*this; }

  friend bool operator==(const RecvIterator& it, RecvSentinel) {
    if (!it.cursor_) return true;
    it.cursor_->fill();
    return !it.cursor_->value;
  }

 private:
  std::shared_ptr<detail::RecvCursor<T>> cursor_;
};

// begin(rx) is an iterator at the next value (received when first needed); end(rx) is the
// sentinel.
// Only for lvalues: a temporary Receiver would be gone before the loop reads it.
template <class T>
RecvIterator<T> begin(Receiver<T>& rx) {
  return RecvIterator<T>(rx);
}
template <class T>
RecvSentinel end(Receiver<T>&) noexcept {
  return {};
}

}  // namespace smarm

// A Receiver's size() counts what is queued now, not what the range will yield (see the file
// comment): it is not a sized range for either range library.
template <class T>
inline constexpr bool ranges::disable_sized_range<smarm::Receiver<T>> = true;
template <class T>
inline constexpr bool std::ranges::disable_sized_range<smarm::Receiver<T>> = true;
