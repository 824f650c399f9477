// SPDX-License-Identifier: Apache-2.0
// main.cpp — the plainest consumer: smarm::smarm from the installed package.
//
// Checks that the headers' version is the package's (CONSUMER_EXPECTED_VERSION is
// smarm_VERSION from find_package), that SMARM_TRACE compiles whether or not the package
// was built with the tracer, and that smarm's operator new — the preemption hook — is
// what this program allocates with.
#include <cstdio>
#include <cstring>

#include <smarm/smarm.hpp>

static_assert(SMARM_VERSION >= 200, "smarm 0.2.0 or later");
static_assert(SMARM_VERSION ==
              SMARM_VERSION_MAJOR * 10000 + SMARM_VERSION_MINOR * 100 + SMARM_VERSION_PATCH);

int main() {
  if (std::strcmp(SMARM_VERSION_STRING, CONSUMER_EXPECTED_VERSION) != 0) {
    std::fprintf(stderr, "consumer: <smarm/version.hpp> says %s, the CMake package %s\n",
                 SMARM_VERSION_STRING, CONSUMER_EXPECTED_VERSION);
    return 1;
  }
  if (!smarm::debug::allocator_hook_installed()) {
    std::fprintf(stderr, "consumer: smarm::smarm is linked but operator new is not smarm's\n");
    return 1;
  }
  auto r = smarm::run([] {
    // Compiles either way: a user event with tracing, nothing at all without.
    SMARM_TRACE("consumer", 41);
    return 41 + 1;
  });
  if (!r || *r != 42) {
    std::fprintf(stderr, "consumer: run() did not return 42: %s\n",
                 r ? "wrong value" : r.error().message().c_str());
    return 1;
  }
  std::printf("consumer: smarm %s ok\n", SMARM_VERSION_STRING);
  return 0;
}
