// SPDX-License-Identifier: Apache-2.0
// shared_lib.hpp — the API of libconsumer_shared.so, a shared library with smarm inside.
// Plain C++: the executable that calls it includes no smarm header and links no smarm.
#pragma once

namespace consumer_shared {

// sum_of_squares(n, workers) sums i*i for i in 1..n, one actor per term, on a runtime of
// `workers` workers run inside the library; -1 if the runtime failed.
__attribute__((visibility("default"))) long long sum_of_squares(int n, int workers);

// allocator_hook_installed() is smarm::debug::allocator_hook_installed(), asked in the .so.
__attribute__((visibility("default"))) bool allocator_hook_installed();

// allocation_preempts() runs preempt_probe.hpp's spinner inside the library: true if the
// allocating actor was switched out so that a second actor ran.
__attribute__((visibility("default"))) bool allocation_preempts();

}  // namespace consumer_shared
