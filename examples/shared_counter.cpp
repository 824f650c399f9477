// SPDX-License-Identifier: Apache-2.0
// shared_counter.cpp — actors updating one value in place through a Mutex<T>.
//
// Eight actors each add 1,000 to a shared total, taking the mutex with a timeout every
// time (the README's "Sharing state with Mutex<T>" snippet). The total must be 8,000.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <smarm/smarm.hpp>

using namespace std::chrono_literals;

struct Totals {
  std::int64_t count = 0;
};

smarm::Result<void> add_one(smarm::Mutex<Totals>& m) {
  auto g = m.lock(10ms);     // Result<MutexGuard<Totals>>: parks the actor, FIFO
  if (!g) return g.error();  // TimedOut, Cancelled or NotInActor
  (*g)->count++;             // the guard reaches the value with * and ->
  return {};                 // the guard unlocks when it goes
}

int main() {
  auto r = smarm::runtime::init(smarm::Config::exact(2)).run([] {
    smarm::Mutex<Totals> totals;  // neither copyable nor movable: share by reference
    std::vector<smarm::JoinHandle<int>> actors;
    for (int a = 0; a < 8; ++a)
      actors.push_back(smarm::spawn([&totals] {
        int timeouts = 0;
        for (int i = 0; i < 1000;) {
          auto done = add_one(totals);
          if (done)
            ++i;
          else if (done.error().code() == smarm::Errc::TimedOut)
            ++timeouts;  // a timeout is an answer, not a crash: try again
          else
            break;  // Cancelled: stop
        }
        return timeouts;
      }));
    int timeouts = 0;
    for (auto& h : actors) timeouts += h.join().value_or(0);
    auto g = totals.lock_until(smarm::Deadline::max());
    const std::int64_t count = g ? (*g)->count : -1;
    std::printf("total %lld (%d lock timeouts retried)\n", static_cast<long long>(count), timeouts);
    return count;
  });
  return r && *r == 8000 ? 0 : 1;
}
