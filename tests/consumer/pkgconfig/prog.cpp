// SPDX-License-Identifier: Apache-2.0
// prog.cpp — a consumer built without CMake, by scripts/consumer-check.sh (check 2):
//
//   g++ -std=c++20 prog.cpp $(pkg-config --cflags --libs smarm)
//   ./a.out <pkg-config --modversion smarm> hook
//
// and again against smarm_no_alloc_hook.pc (argument no-hook). Checks that the headers'
// version is the .pc file's, that the allocator hook is linked exactly with smarm.pc, and
// runs a few actors on two workers.
#include <cstdio>
#include <cstring>
#include <vector>

#include <smarm/smarm.hpp>

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[2], "hook") != 0 && std::strcmp(argv[2], "no-hook") != 0)) {
    std::fprintf(stderr, "usage: %s <expected version> hook|no-hook\n", argv[0]);
    return 2;
  }
  if (std::strcmp(SMARM_VERSION_STRING, argv[1]) != 0) {
    std::fprintf(stderr, "pkg-config consumer: <smarm/version.hpp> says %s, the .pc file %s\n",
                 SMARM_VERSION_STRING, argv[1]);
    return 1;
  }
  const bool want_hook = std::strcmp(argv[2], "hook") == 0;
  if (smarm::debug::allocator_hook_installed() != want_hook) {
    std::fprintf(stderr, "pkg-config consumer: allocator_hook_installed() is %s, expected %s\n",
                 want_hook ? "false" : "true", want_hook ? "true" : "false");
    return 1;
  }
  auto r = smarm::runtime::init(smarm::Config::exact(2)).run([] {
    auto [tx, rx] = smarm::channel<int>();
    std::vector<smarm::JoinHandle<void>> senders;
    for (int i = 1; i <= 10; ++i)
      senders.push_back(smarm::spawn([i, tx = tx]() mutable { (void)tx.send(i); }));
    tx = {};
    for (auto& h : senders) (void)h.join();
    int sum = 0;
    while (auto v = rx.recv()) sum += *v;
    return sum;
  });
  if (!r || *r != 55) {
    std::fprintf(stderr, "pkg-config consumer: run() did not return 55: %s\n",
                 r ? "wrong sum" : r.error().message().c_str());
    return 1;
  }
  std::printf("pkg-config consumer: smarm %s ok (%s)\n", SMARM_VERSION_STRING, argv[2]);
  return 0;
}
