/* SPDX-License-Identifier: Apache-2.0 */
/*
 * context_x86_64_sysv.S — the context switch of smarm (x86-64, System V ABI, ELF, GAS).
 *
 * Frame left below a suspended context's stack pointer (offsets match context.hpp):
 *
 *        +----------------------+  higher addresses
 *   +56  | return address       |  where smarm_context_switch was called from
 *   +48  | rbp                  |
 *   +40  | rbx                  |
 *   +32  | r12                  |
 *   +24  | r13                  |
 *   +16  | r14                  |
 *    +8  | r15                  |
 *    +4  | x87 control word     |  (2 bytes, 2 bytes padding)
 *    +0  | MXCSR                |  <- saved sp
 *        +----------------------+  lower addresses
 *
 * Only callee-saved state is saved: everything caller-saved is dead across the call by
 * the ABI. The direction flag is clear at every call by the ABI, so it needs no saving.
 */

    .text
    .globl  smarm_context_switch
    .type   smarm_context_switch, @function
    .p2align 4
/* void smarm_context_switch(void** save_sp /rdi/, void* load_sp /rsi/) */
smarm_context_switch:
    .cfi_startproc
    pushq   %rbp                    /* callee-saved registers of the current context */
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    subq    $8, %rsp                /* room for the two FPU control words */
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)                  /* save SSE control/status (rounding, masks) */
    fnstcw  4(%rsp)                 /* save x87 control word (precision, rounding) */

    movq    %rsp, (%rdi)            /* publish the suspended context's sp */
    movq    %rsi, %rsp              /* adopt the other context's stack */

    ldmxcsr (%rsp)                  /* restore its SSE control/status */
    fldcw   4(%rsp)                 /* restore its x87 control word */
    addq    $8, %rsp
    popq    %r15                    /* and its callee-saved registers */
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret                             /* resume where it called smarm_context_switch */
    .cfi_endproc
    .size   smarm_context_switch, .-smarm_context_switch

    .globl  smarm_context_entry
    .type   smarm_context_entry, @function
    .p2align 4
/* First entry of a fresh context: make_context put entry in r12 and its argument in r13,
 * and arranged the stack so that rsp is 16-byte aligned here, as a call requires. */
smarm_context_entry:
    .cfi_startproc
    .cfi_undefined rip              /* outermost frame: unwinders and debuggers stop here */
    movq    %r13, %rdi              /* arg */
    callq   *%r12                   /* entry(arg); never returns */
    ud2                             /* trap if it ever does */
    .cfi_endproc
    .size   smarm_context_entry, .-smarm_context_entry

    .section .note.GNU-stack,"",@progbits   /* the stack need not be executable */
