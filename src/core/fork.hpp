// SPDX-License-Identifier: Apache-2.0
// fork.hpp (private) — what a child forked from a process running a runtime may do.
//
// fork() copies only the calling thread. Its runtime's other workers, the actors they
// ran and the locks they held do not exist in the child, but their memory does: an actor
// there that made a blocking call used to switch into the copied scheduler and run the
// parent's other actors again (their side effects twice). So the child handler
// (pthread_atfork, registered by the first runtime) marks the child as forked when any
// runtime was alive at the fork, and detaches the surviving thread from its worker:
// from then on every smarm call there sees no actor and, before touching any lock,
// returns Errc::Forked; nothing switches; the allocator hook is off; an actor body that
// returns ends the child with _exit(1) after one line on stderr. fork() followed by exec
// is unaffected. A child forked while no runtime is alive is not marked and may start
// runtimes as usual.
#pragma once

#include <string>

#include <smarm/error.hpp>

namespace smarm::detail {

// runtime_born / runtime_gone count the runtimes alive in the process (the Scheduler's
// constructor and destructor); the first birth registers the fork handler.
void runtime_born() noexcept;
void runtime_gone() noexcept;

// in_forked_child() says whether this process is a child forked while a runtime ran.
bool in_forked_child() noexcept;

// end_forked_actor() is what an actor body's return does in such a child: one line on
// stderr, then _exit(1) (its runtime, which would take the actor back, is not here).
[[noreturn]] void end_forked_actor() noexcept;

}  // namespace smarm::detail
