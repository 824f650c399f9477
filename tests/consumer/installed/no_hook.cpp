// SPDX-License-Identifier: Apache-2.0
// no_hook.cpp — smarm::smarm_no_alloc_hook without an operator new of the program's own:
// the standard library's allocator runs, nobody calls smarm::preempt_hook(), so
// allocator_hook_installed() is false and allocation does not preempt. The second part is
// the control for own_allocator.cpp: the same spinner, given 300 ms, is never switched
// out — which shows that the probe can fail.
#include <chrono>
#include <cstdio>

#include <smarm/smarm.hpp>

#include "preempt_probe.hpp"

int main() {
  if (smarm::debug::allocator_hook_installed()) {
    std::fprintf(stderr,
                 "no hook: allocator_hook_installed() is true, but this program links "
                 "smarm_no_alloc_hook and has no operator new of its own\n");
    return 1;
  }
  const auto o = consumer::allocating_spinner(std::chrono::milliseconds(300));
  if (!o.ran || o.setter_ran_first || o.preemptions != 0) {
    std::fprintf(stderr,
                 "no hook: without any allocator hook the spinner was preempted anyway "
                 "(ran=%d, second actor ran first=%d, preemptions=%llu)\n",
                 o.ran, o.setter_ran_first, static_cast<unsigned long long>(o.preemptions));
    return 1;
  }
  std::printf("no hook: allocation does not preempt, as expected\n");
  return 0;
}
