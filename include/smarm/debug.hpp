// debug.hpp — introspection for humans: what every actor is doing right now.
#pragma once

#include <string>

namespace smarm::debug {

// dump_actors() lists every live actor of the caller's runtime, one line each: pid, name,
// state (running / runnable / parked) and, for a parked actor, what it waits for and on
// which object. Outside a runtime it returns an empty string. Meant for hang reports: it
// takes no lock an actor could hold.
std::string dump_actors();

}  // namespace smarm::debug
