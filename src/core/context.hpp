// SPDX-License-Identifier: Apache-2.0
// context.hpp — the bare x86-64 context switch (context_x86_64_sysv.S) and its frame.
//
// A suspended context is just a stack pointer: everything else it needs to resume sits on
// its own stack, pushed by smarm_context_switch. This file knows nothing about actors,
// sanitizers or exception state; switch.hpp wraps it with those.
//
// Saved by a switch: the System V callee-saved registers rbx, rbp, r12-r15, the stack
// pointer, MXCSR (SSE rounding/exception masks) and the x87 control word — the state a
// function call must preserve. Not saved: caller-saved registers (the compiler already
// spilled the live ones around the call), the x87/SSE data registers, the red zone (the
// switch is a call, so the caller has none live), and fs (TLS base: stays the thread's).
#pragma once

#include <cstddef>
#include <cstdint>

namespace smarm::detail {

extern "C" {
// smarm_context_switch saves the caller's context on its stack, stores the resulting
// stack pointer in *save_sp, and resumes the context whose stack pointer is load_sp.
// It "returns" when some other context switches back to *save_sp.
void smarm_context_switch(void** save_sp, void* load_sp);

// smarm_context_entry is the first-entry stub a fresh context "returns" into: it calls
// entry(arg) (r12 = entry, r13 = arg in the prepared frame) with a 16-byte aligned stack.
// entry must never return (it switches away for good instead).
void smarm_context_entry();
}

// Layout of the frame smarm_context_switch leaves below a suspended context's sp. Shared
// with the assembly, which uses the same numbers; make_context relies on them.
inline constexpr std::size_t kFrameFpuControl = 0;  // MXCSR (4 bytes) + x87 CW (2 bytes)
inline constexpr std::size_t kFrameR15 = 8;
inline constexpr std::size_t kFrameR14 = 16;
inline constexpr std::size_t kFrameR13 = 24;
inline constexpr std::size_t kFrameR12 = 32;
inline constexpr std::size_t kFrameRbx = 40;
inline constexpr std::size_t kFrameRbp = 48;
inline constexpr std::size_t kFrameReturn = 56;
inline constexpr std::size_t kFrameSize = 64;  // through the return address

using ContextEntry = void (*)(void*);

// make_context prepares a fresh stack whose top (highest address, exclusive) is
// stack_top so that switching to the returned sp calls entry(arg) on that stack.
void* make_context(void* stack_top, ContextEntry entry, void* arg) noexcept;

}  // namespace smarm::detail
