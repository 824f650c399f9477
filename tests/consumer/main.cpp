// SPDX-License-Identifier: Apache-2.0
#include <smarm/smarm.hpp>

int main() {
  auto r = smarm::run([] {
    // Compiles either way: a user event with tracing, nothing at all without.
    SMARM_TRACE("consumer", 41);
    return 41 + 1;
  });
  return (r && *r == 42) ? 0 : 1;
}
