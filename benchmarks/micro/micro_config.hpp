// SPDX-License-Identifier: Apache-2.0
// micro_config.hpp — the Config every micro-benchmark's runtime starts from.
//
// Most timed loops here run inside one actor and never reach a scheduling point (an
// uncontended mutex, a zero-length sleep, an allocation loop with preemption off). The
// stall detector rightly reports such an actor after 100 ms — and its SIGURG backtrace
// would land inside the timed loop. Micro-benchmarks measure the loop, so they turn the
// detector off.
#pragma once

#include <cstddef>

#include <smarm/config.hpp>

namespace smarm::bench {

inline Config micro_config(std::size_t threads) {
  return Config::exact(threads).stall_detector(false);
}

}  // namespace smarm::bench
