// expect: needs at least one case
// SPDX-License-Identifier: Apache-2.0
// select() with no case cannot ever complete: a compile error, not a hang.
#include <smarm/select.hpp>

void f() { (void)smarm::select(); }
