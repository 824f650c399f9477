// SPDX-License-Identifier: Apache-2.0
// w5.hpp — what every W5 pipeline implementation shares (BENCHMARKS.md W5): the stage
// functions and the expected result, computed once with a plain loop.
//
// Source emits the int64 values 0..n-1 -> stage 1 maps x to x*x mod 1,000,003 -> stage 2
// keeps even values -> the sink sums them. Metric: ns per item emitted by the source.
//
// This header does not depend on smarm (asio-bench does not link it).
#pragma once

#include <cstdint>

namespace smarm::bench::w5 {

inline constexpr std::int64_t kItems = 1'000'000;
inline constexpr std::int64_t kSmokeItems = 10'000;
inline constexpr std::size_t kCapacity = 64;  // of every channel between two stages

inline std::int64_t square_mod(std::int64_t x) { return x * x % 1'000'003; }
inline bool is_even(std::int64_t x) { return x % 2 == 0; }

// expected(n) is the pipeline's result for items 0..n-1, by a plain loop.
inline std::int64_t expected(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t x = 0; x < n; ++x)
    if (const std::int64_t y = square_mod(x); is_even(y)) sum += y;
  return sum;
}

}  // namespace smarm::bench::w5
