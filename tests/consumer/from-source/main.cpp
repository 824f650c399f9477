// SPDX-License-Identifier: Apache-2.0
// main.cpp — the sanitizer consumers' program (tests/consumer/from-source), built with
// smarm from source under -fsanitize=address (check 5) or -fsanitize=thread (check 6).
// It must run clean: exit 0 and no sanitizer report.
//
// On two workers:
//   - an actor throws and catches exceptions itself, and inside the handler parks
//     (yield_now) — it may resume on the other worker — then rethrows with `throw;`:
//     the exception being handled belongs to the actor, not to the thread;
//   - another actor lets an exception escape: its join() reports Errc::Panicked with the
//     exception's type and what();
//   - two actors ping-pong over channels, across the workers.
// Also: smarm's operator new (the allocator hook) is linked under ASan and, by design,
// not under TSan, whose runtime owns operator new.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include <smarm/smarm.hpp>

#if defined(__SANITIZE_THREAD__)
#define CONSUMER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONSUMER_TSAN 1
#endif
#endif
#ifndef CONSUMER_TSAN
#define CONSUMER_TSAN 0
#endif

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "from-source consumer: FAILED: %s\n", what);
    ++failures;
  }
}

// Throws, catches, parks inside the handler, rethrows: returns how many rounds kept their
// own exception across the park.
int catch_across_parks(int rounds) {
  int kept = 0;
  for (int i = 0; i < rounds; ++i) {
    const std::string msg = "round " + std::to_string(i);
    try {
      throw std::runtime_error(msg);
    } catch (const std::exception& e) {
      (void)smarm::yield_now();  // another actor runs; this one may come back elsewhere
      if (std::uncaught_exceptions() != 0) continue;
      try {
        throw;  // the exception this actor is handling, whatever ran in between
      } catch (const std::runtime_error& again) {
        if (msg == again.what() && msg == e.what()) ++kept;
      }
    }
  }
  return kept;
}

}  // namespace

int main() {
  expect(smarm::debug::allocator_hook_installed() == !CONSUMER_TSAN,
         CONSUMER_TSAN ? "under TSan operator new must be the sanitizer's, not smarm's"
                       : "operator new must be smarm's (the allocator hook)");

  auto r = smarm::runtime::init(smarm::Config::exact(2)).run([] {
    constexpr int kRounds = 20;
    auto catcher_a = smarm::spawn([] { return catch_across_parks(kRounds); });
    auto catcher_b = smarm::spawn([] { return catch_across_parks(kRounds); });
    auto panicker = smarm::spawn([]() -> int { throw std::logic_error("deliberate panic"); });

    // Ping-pong across the workers.
    auto [ping_tx, ping_rx] = smarm::channel<int>();
    auto [pong_tx, pong_rx] = smarm::channel<int>();
    auto echo = smarm::spawn([rx = std::move(ping_rx), tx = std::move(pong_tx)]() mutable {
      int n = 0;
      while (auto v = rx.recv()) {
        (void)tx.send(*v + 1);
        ++n;
      }
      return n;
    });
    int value = 0;
    for (int i = 0; i < 200; ++i) {
      (void)ping_tx.send(value);
      auto v = pong_rx.recv();
      if (!v) break;
      value = *v;
    }
    ping_tx = {};  // echo sees Closed

    auto a = catcher_a.join();
    auto b = catcher_b.join();
    expect(a && *a == kRounds && b && *b == kRounds,
           "an actor's caught exception must survive a park inside its handler");
    auto p = panicker.join();
    expect(!p && p.error() == smarm::Errc::Panicked, "join() of a panicked actor is Panicked");
    expect(!p && p.error().message().find("deliberate panic") != std::string::npos,
           "the Panicked message carries what()");
    if (!p)
      std::printf("from-source consumer: panic reported as: %s\n", p.error().message().c_str());
    auto e = echo.join();
    expect(e && *e == 200 && value == 200, "200 ping-pongs across two workers");
    return 0;
  });
  expect(r.has_value(), "run() returns normally");
  if (failures != 0) return 1;
  std::printf("from-source consumer: ok (%s)\n", CONSUMER_TSAN ? "TSan" : "not TSan");
  return 0;
}
