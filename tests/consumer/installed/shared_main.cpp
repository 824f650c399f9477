// SPDX-License-Identifier: Apache-2.0
// shared_main.cpp — an executable that links only libconsumer_shared.so and runs smarm
// through it. The test consumer.shared.one_copy checks that no part of smarm (nor a
// second operator new) was linked into this executable itself.
#include <cstdio>
#include <initializer_list>

#include "shared_lib.hpp"

int main() {
  const int n = 100;
  const long long want = 1LL * n * (n + 1) * (2 * n + 1) / 6;
  for (int workers : {1, 2}) {
    const long long got = consumer_shared::sum_of_squares(n, workers);
    if (got != want) {
      std::fprintf(stderr, "shared consumer: %d worker(s): sum %lld, want %lld\n", workers, got,
                   want);
      return 1;
    }
  }
  if (!consumer_shared::allocator_hook_installed()) {
    std::fprintf(stderr, "shared consumer: operator new in the .so is not smarm's\n");
    return 1;
  }
  if (!consumer_shared::allocation_preempts()) {
    std::fprintf(stderr,
                 "shared consumer: an allocating actor was not preempted (gave up after 30 s)\n");
    return 1;
  }
  std::printf("shared consumer: ok\n");
  return 0;
}
