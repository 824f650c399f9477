// SPDX-License-Identifier: Apache-2.0
// supervision.cpp — hearing how children end, deadlines, and a supervisor that restarts
// a flaky child and gives up on a broken one.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <variant>

#include <smarm/smarm.hpp>

using namespace std::chrono_literals;

int main() {
  auto r = smarm::run([] {
    // 1. A linked child's end arrives on signals(): here a panic, with type and what().
    auto h = smarm::spawn_linked([] { throw std::runtime_error("disk full"); });
    smarm::Signal s = smarm::signals().recv().value();
    if (auto* p = std::get_if<smarm::Signal::Panic>(&s.event))
      std::printf("child %s panicked: %s: %s\n", smarm::to_string(p->pid).c_str(), p->type.c_str(),
                  p->what.c_str());
    (void)h.join();

    // 2. A deadline cancels a child that takes too long; its watcher hears Timeout.
    smarm::SpawnOptions options;
    options.deadline = smarm::Clock::now() + 10ms;
    auto slow = smarm::spawn_linked(options, [] { (void)smarm::sleep_for(1h); });
    if (std::holds_alternative<smarm::Signal::Timeout>(smarm::signals().recv().value().event))
      std::printf("slow child timed out\n");
    (void)slow.join();

    // 3. A supervisor: "flaky" fails twice and then does its job (Transient: a normal end
    //    is final); "broken" always fails, so the fourth restart within 5 s makes the
    //    supervisor stop everything and give up.
    std::atomic<int> attempts{0};
    smarm::SupervisorSpec spec{
        .strategy = smarm::Strategy::OneForOne,
        .intensity = 3,
        .period = 5s,
        .children = {{.name = "flaky",
                      .start =
                          [&attempts] {
                            if (++attempts < 3) throw std::runtime_error("try again");
                            std::printf("flaky: done after %d attempts\n", attempts.load());
                          },
                      .restart = smarm::Restart::Transient},
                     {.name = "broken", .start = [] { throw std::logic_error("bug"); }}}};
    auto result = smarm::Supervisor::run(spec);
    std::printf("supervisor: %s\n", result ? "ok" : result.error().message().c_str());
  });
  return r ? 0 : 1;
}
