// SPDX-License-Identifier: Apache-2.0
// join_all.hpp — waiting for a group of actors.
//
//   std::vector<smarm::JoinHandle<int>> hs;                 // a range of handles ...
//   for (int i = 0; i < 10; ++i) hs.push_back(smarm::spawn([i] { return i * i; }));
//   std::vector<smarm::Result<int>> rs = smarm::join_all(hs);
//
//   auto [a, b] = smarm::join_all(h1, h2);                  // ... or a few of any types
//
// join_all joins every handle, in order, and returns every result in the same order:
// one that failed (Panicked, a spawn failure, AlreadyJoined) does not stop the others
// from being joined, so no actor of the group is left running unobserved. The only early
// end is the caller's own cancellation: from then on every remaining join returns
// Cancelled at once (the strict rule of spawn.hpp) and those handles stay joinable.
// Outside an actor every result is NotInActor. To learn of failures as they happen rather
// than in order, spawn with spawn_linked() and read signals() instead.
#pragma once

#include <cstddef>
#include <iterator>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <vector>

#include <smarm/error.hpp>
#include <smarm/spawn.hpp>

namespace smarm {

namespace detail {
template <class T>
struct IsJoinHandle : std::false_type {};
template <class R>
struct IsJoinHandle<JoinHandle<R>> : std::true_type {
  using value_type = R;
};
}  // namespace detail

// join_handle_range: a range whose elements are JoinHandle<R> (a vector, an array, a span).
template <class Range>
concept join_handle_range = std::ranges::range<Range> &&
    detail::IsJoinHandle<std::remove_cvref_t<std::ranges::range_reference_t<Range>>>::value &&
    !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Range>>>;

// join_all(handles) joins every handle of the range; result i is handle i's join().
template <join_handle_range Range>
auto join_all(Range&& handles) {
  using R = typename detail::IsJoinHandle<
      std::remove_cvref_t<std::ranges::range_reference_t<Range>>>::value_type;
  std::vector<Result<R>> results;
  if constexpr (std::ranges::sized_range<Range>)
    results.reserve(static_cast<std::size_t>(std::ranges::size(handles)));
  for (auto& h : handles) results.push_back(h.join());
  return results;
}

// join_all(h1, h2, ...) joins each handle, left to right; returns their results as a tuple.
template <class... R>
std::tuple<Result<R>...> join_all(JoinHandle<R>&... handles) {
  // Braced initialisation evaluates left to right.
  return std::tuple<Result<R>...>{handles.join()...};
}

}  // namespace smarm
