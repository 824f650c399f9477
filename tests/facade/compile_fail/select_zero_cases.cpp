// expect: needs at least one case
// select() with no case cannot ever complete: a compile error, not a hang.
#include <smarm/select.hpp>

void f() { (void)smarm::select(); }
