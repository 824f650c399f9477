// SPDX-License-Identifier: Apache-2.0
// shared_lib.cpp — libconsumer_shared.so: smarm::smarm (static, PIC) linked into a shared
// library, so the runtime, its initial-exec TLS and its operator new live in the .so,
// which the executable loads at start-up (never dlopen'ed: README).
#include "shared_lib.hpp"

#include <chrono>
#include <vector>

#include <smarm/smarm.hpp>

#include "preempt_probe.hpp"

namespace consumer_shared {

long long sum_of_squares(int n, int workers) {
  auto r = smarm::runtime::init(smarm::Config::exact(static_cast<std::size_t>(workers))).run([n] {
    auto [tx, rx] = smarm::channel<long long>();
    std::vector<smarm::JoinHandle<void>> senders;
    for (int i = 1; i <= n; ++i)
      senders.push_back(smarm::spawn([i, tx = tx]() mutable { (void)tx.send(1LL * i * i); }));
    tx = {};  // the receiver sees Closed once every sender's copy is gone
    for (auto& h : senders) (void)h.join();
    long long sum = 0;
    while (auto v = rx.recv()) sum += *v;
    return sum;
  });
  return r ? *r : -1;
}

bool allocator_hook_installed() { return smarm::debug::allocator_hook_installed(); }

bool allocation_preempts() {
  const auto o = consumer::allocating_spinner(std::chrono::seconds(30));
  return o.ran && o.setter_ran_first && o.preemptions > 0;
}

}  // namespace consumer_shared
