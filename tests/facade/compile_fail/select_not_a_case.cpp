// expect: no matching function for call to.*select
// SPDX-License-Identifier: Apache-2.0
// An argument that is not a case (here a Receiver itself, not recv(rx)) does not compile.
#include <smarm/select.hpp>

void f(smarm::Receiver<int>& rx) { (void)smarm::select(rx); }
