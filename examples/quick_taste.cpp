// quick_taste.cpp — the README's first taste of smarm: an actor receives three values.
#include <cstdint>
#include <cstdio>

#include <smarm/smarm.hpp>

int main() {
  auto r = smarm::run([] {
    auto [tx, rx] = smarm::channel<std::int64_t>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable {
      for (int i = 0; i < 3; ++i)
        std::printf("got %lld\n", static_cast<long long>(rx.recv().value()));
    });
    for (std::int64_t v = 1; v <= 3; ++v) tx.send(v).value();
    h.join().value();
  });
  return r ? 0 : 1;
}
