// SPDX-License-Identifier: Apache-2.0
// switch.hpp — switch_context: the one place a context switch happens.
//
// Around the bare assembly switch it (1) swaps the C++ exception state, which libstdc++
// keeps per thread but smarm keeps per actor, (2) tells ASan which stack runs next, and
// (3) tells TSan which fiber runs next — without synchronisation, so that races between
// actors that happen to share a worker are still reported.
#pragma once

#include "core/actor.hpp"

namespace smarm::detail {

// thread_exception_state() is the calling thread's C++ exception bookkeeping. It is
// fixed for a thread's life, so a worker looks it up once and passes it to every switch.
EhState* thread_exception_state() noexcept;

// switch_context suspends `from` and resumes `to`, on the thread whose exception state is
// `thread_eh`. When `from_exiting` is set the caller never resumes (ASan then frees its
// fake stack) and `exit_token` is released to TSan as the exiting fiber's last act (see
// sanitizer::handoff_release). Returns when `from` is resumed, possibly on another
// thread.
void switch_context(Context& from, Context& to, EhState* thread_eh, bool from_exiting,
                    const void* exit_token = nullptr) noexcept;

// first_entry_done is called first thing on a fresh context's stack, to complete the
// sanitizer side of the switch that started it.
void first_entry_done() noexcept;

}  // namespace smarm::detail
