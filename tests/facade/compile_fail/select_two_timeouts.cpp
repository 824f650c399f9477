// expect: at most one of after
// SPDX-License-Identifier: Apache-2.0
// Two timeouts (or a timeout and otherwise()) would be ambiguous: a compile error.
#include <chrono>

#include <smarm/select.hpp>

void f(smarm::Receiver<int>& rx) {
  using namespace std::chrono_literals;
  (void)smarm::select(smarm::recv(rx), smarm::after(1ms), smarm::otherwise());
}
