// SPDX-License-Identifier: Apache-2.0
// overflow.hpp — turning a stack overflow into a message that names the actor.
//
// A guard region sits below every actor stack. Touching it raises SIGSEGV; the handler,
// running on a per-worker alternate signal stack (the faulting stack has no room left),
// checks whether the fault address lies in the guard of the actor running on this
// worker. If so it writes "stack overflow in actor <pid> '<name>' ..." with write(2) and
// aborts; any other fault goes to the handler that was installed before ours.
#pragma once

#include <signal.h>

#include <cstddef>

namespace smarm::detail {

// AltStack is one thread's alternate signal stack, and the one it replaced.
struct AltStack {
  void* mem = nullptr;
  std::size_t size = 0;
  stack_t previous{};
  bool installed = false;
};

// install_altstack gives the calling worker thread an alternate signal stack (and
// installs the process-wide SIGSEGV handler the first time).
AltStack install_altstack() noexcept;
// remove_altstack restores the thread's previous alternate stack and frees ours.
void remove_altstack(AltStack& alt) noexcept;

}  // namespace smarm::detail
