// SPDX-License-Identifier: Apache-2.0
// smarm_coro_pipeline.cpp — asio_coro_pipeline.cpp translated to smarm::task, line for
// line: producer -> transform -> consumer, stages joined by bounded channels of capacity
// 64. The two programs print the same line (ctest checks it).
//
// What changes in the translation:
//   net::awaitable<T>                 -> smarm::task<T>
//   co_spawn(ctx, f(...), handler)    -> smarm::spawn(f(...)), a JoinHandle (each stage
//                                        is an actor, on any of the runtime's workers)
//   co_await ch.async_send(ec, v, ..) -> co_await tx.send(v)     (parks while full)
//   co_await ch.async_receive(..)     -> co_await rx.recv()      (Result: value or Closed)
//   in-band eof                       -> the stage ends: its Sender goes with its frame,
//                                        and downstream drains, then sees Closed
//   ctx.run() + completion handlers   -> runtime::init(...).run(...) + join()
// Channels are owned by the stages (moved into the tasks), not shared by reference.
// Every co_await here could be dropped: on a green thread the plain calls park the same
// way (task.hpp). Errors come back as values; exceptions would surface at join().
#include <cstdint>
#include <cstdio>
#include <utility>

#include <smarm/smarm.hpp>

constexpr std::int64_t kItems = 100'000;
constexpr std::size_t kCapacity = 64;

struct Summary {
  std::int64_t count = 0;
  std::int64_t sum = 0;
};

smarm::task<void> produce(smarm::Sender<std::int64_t> out) {
  for (std::int64_t i = 1; i <= kItems; ++i)
    if (!co_await out.send(i)) co_return;  // the consumer side is gone: stop early
}

smarm::task<void> transform(smarm::Receiver<std::int64_t> in, smarm::Sender<std::int64_t> out) {
  for (;;) {
    auto v = co_await in.recv();
    if (!v) co_return;  // Closed: the producer has finished and everything was drained
    if (*v % 3 == 0) continue;
    if (!co_await out.send(*v * *v)) co_return;
  }
}

smarm::task<Summary> consume(smarm::Receiver<std::int64_t> in) {
  Summary s;
  for (;;) {
    auto v = co_await in.recv();
    if (!v) co_return s;
    ++s.count;
    s.sum += *v;
  }
}

int main() {
  auto r = smarm::runtime::init(smarm::Config::exact(2)).run([] {
    auto raw = smarm::bounded_channel<std::int64_t>(kCapacity);
    auto squared = smarm::bounded_channel<std::int64_t>(kCapacity);
    auto producer = smarm::spawn(produce(std::move(raw.tx)));
    auto transformer = smarm::spawn(transform(std::move(raw.rx), std::move(squared.tx)));
    // The last stage runs right here, on the root actor.
    Summary s = consume(std::move(squared.rx)).get().value();
    producer.join().value();
    transformer.join().value();
    return s;
  });
  if (!r) {
    std::fprintf(stderr, "pipeline failed: %s\n", r.error().message().c_str());
    return 1;
  }
  std::printf("pipeline: %lld items, sum of squares %lld\n", static_cast<long long>(r->count),
              static_cast<long long>(r->sum));
  return 0;
}
