// SPDX-License-Identifier: Apache-2.0
// quick_taste.cpp — the README's first taste of smarm: a pipeline of actors.
//
// Numbers 1..1000 flow through three stages, each its own green thread joined to the
// next by a bounded channel: keep the odd ones, square them on four actors at once
// (order kept), and sum them in the calling actor. Then one plain channel, to show the
// building block underneath.
#include <cstdint>
#include <cstdio>
#include <string>

#include <range/v3/view/iota.hpp>

#include <smarm/smarm.hpp>

int main() {
  auto r = smarm::run([] {
    namespace pipe = smarm::pipe;  // at block scope: `pipe` is also POSIX pipe()
    auto sum = pipe::from(ranges::views::iota(1, 1001))                       // a source
               | pipe::filter([](int n) { return n % 2 == 1; })               // an actor
               | pipe::par_map(4, [](int n) { return std::int64_t{n} * n; })  // four
               | pipe::fold(std::int64_t{0}, [](std::int64_t acc, std::int64_t sq) {
                   return acc + sq;
                 });  // runs here; parks until the pipeline has ended
    std::printf("sum of the odd squares up to 1000: %lld\n", static_cast<long long>(sum.value()));

    auto [tx, rx] = smarm::channel<std::string>();
    auto greeter = smarm::spawn([rx = std::move(rx)]() mutable {
      while (auto msg = rx.recv()) std::printf("got: %s\n", msg->c_str());  // ends at Closed
    });
    tx.send("hello from another green thread").value();
    tx = {};  // drop the sender: the receiver sees Closed
    greeter.join().value();
  });
  return r ? 0 : 1;
}
