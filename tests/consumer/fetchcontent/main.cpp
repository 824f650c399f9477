// SPDX-License-Identifier: Apache-2.0
// main.cpp — the FetchContent consumer's program (tests/consumer/fetchcontent): smarm
// built as part of this project, used through smarm::smarm like the installed package.
#include <cstdio>

#include <smarm/smarm.hpp>

int main() {
  if (!smarm::debug::allocator_hook_installed()) {
    std::fprintf(stderr, "fetchcontent consumer: operator new is not smarm's\n");
    return 1;
  }
  auto r = smarm::run([] {
    auto h = smarm::spawn([] { return 6 * 7; });
    return h.join().value();
  });
  if (!r || *r != 42) {
    std::fprintf(stderr, "fetchcontent consumer: run() did not return 42\n");
    return 1;
  }
  std::printf("fetchcontent consumer: smarm %s ok\n", SMARM_VERSION_STRING);
  return 0;
}
