#include <smarm/smarm.hpp>

int main() {
  auto r = smarm::run([] { return 41 + 1; });
  return (r && *r == 42) ? 0 : 1;
}
