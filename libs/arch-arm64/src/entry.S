// AArch64 exception vectors, kernel_entry / kernel_exit, el0t_64_sync, ret_to_user,
// ret_from_fork, cpu_switch_to and the vDSO rt_sigreturn trampoline (Keystone AArch64
// syntax).
//
// Follows arch/arm64/kernel/entry.S of Linux 6.18: the vector saves struct pt_regs and
// calls C (el0t_64_sync_handler, in src/entry.ts), which dispatches on the exception
// class, runs the syscall and the exit work (the generic exit_to_user_mode_loop) and
// returns with interrupts masked; ret_to_user restores every register and erets to EL0.
//
// Constants (PT_*, SF_*, THREAD_*, TI_FLAGS, TASK_THREAD, __NR_*, PCPU_*) come from the
// asm-offsets prelude; the C functions are externs at stub addresses. Everything sits
// below 4 GiB, so an absolute address is built with movz/movk (Keystone has no literal
// pools and no :lo12: relocations).

.equ NO_SYSCALL, -1
.equ FRAME_META_TYPE_FINAL, 1
.equ BUG_BRK_IMM, 0x800

// mov_abs reg, value: a 32-bit absolute address or mask into reg.
.macro mov_abs reg, val
    movz \reg, #((\val) & 0xffff)
    movk \reg, #(((\val) >> 16) & 0xffff), lsl #16
.endm

// call_c sym: call a C function at its stub address through x16 (IP0), the way a
// linker veneer reaches a far target. A plain `bl sym` is not usable: Keystone encodes
// a branch to an absolute symbol with the wrong pc once any .balign/.skip precedes it.
.macro call_c sym
    mov_abs x16, \sym
    blr x16
.endm

// kernel_entry el: build struct pt_regs below the stack pointer. From EL0 (el = 0)
// SP_EL1 is the task's kernel stack top (left there by the eret of kernel_exit), x0-x30
// are the user's, SP_EL0 / ELR_EL1 / SPSR_EL1 hold the user sp, pc and pstate; once the
// user sp is saved, SP_EL0 holds `current` while in the kernel (get_current()), loaded
// from the per-cpu area TPIDR_EL1 points at. From EL1 (el = 1) the frame goes on the
// interrupted kernel stack and its sp is the one before the frame; SP_EL0 stays current.
.macro kernel_entry el
    sub sp, sp, #PT_REGS_SIZE
    stp x0, x1, [sp, #PT_X0]
    stp x2, x3, [sp, #PT_X2]
    stp x4, x5, [sp, #PT_X4]
    stp x6, x7, [sp, #PT_X6]
    stp x8, x9, [sp, #PT_X8]
    stp x10, x11, [sp, #PT_X10]
    stp x12, x13, [sp, #PT_X12]
    stp x14, x15, [sp, #PT_X14]
    stp x16, x17, [sp, #PT_X16]
    stp x18, x19, [sp, #PT_X18]
    stp x20, x21, [sp, #PT_X20]
    stp x22, x23, [sp, #PT_X22]
    stp x24, x25, [sp, #PT_X24]
    stp x26, x27, [sp, #PT_X26]
    stp x28, x29, [sp, #PT_X28]
    .if \el == 0
    mrs x21, sp_el0
    mrs x20, tpidr_el1                  // ldr_this_cpu tsk, __entry_task
    ldr x28, [x20, #PCPU_OFF_CURRENT_TASK]
    msr sp_el0, x28
    .else
    add x21, sp, #PT_REGS_SIZE
    .endif
    stp x30, x21, [sp, #PT_X30]         // x30, then the interrupted sp
    mrs x22, elr_el1
    mrs x23, spsr_el1
    stp x22, x23, [sp, #PT_PC]          // pc, pstate
    // Not a syscall until el0_svc_common says so.
    mov w21, #NO_SYSCALL
    str w21, [sp, #PT_SYSCALLNO]
    // Final frame record for unwinders: a walk that reaches it stops here.
    stp xzr, xzr, [sp, #PT_STACKFRAME_FP]
    mov x21, #FRAME_META_TYPE_FINAL
    str x21, [sp, #PT_STACKFRAME_TYPE]
    add x29, sp, #PT_STACKFRAME_FP
.endm

// kernel_exit el: restore everything from pt_regs at sp and eret. To EL0 the user sp
// goes back into SP_EL0 (`current` leaves with the kernel) and SP_EL1 is left at the
// stack top for the next exception entry; to EL1 the frame is simply popped.
.macro kernel_exit el
    .if \el == 0
    ldr x21, [sp, #PT_SP]               // user sp
    msr sp_el0, x21
    .endif
    ldp x22, x23, [sp, #PT_PC]          // pc, pstate
    msr elr_el1, x22
    msr spsr_el1, x23
    ldp x0, x1, [sp, #PT_X0]
    ldp x2, x3, [sp, #PT_X2]
    ldp x4, x5, [sp, #PT_X4]
    ldp x6, x7, [sp, #PT_X6]
    ldp x8, x9, [sp, #PT_X8]
    ldp x10, x11, [sp, #PT_X10]
    ldp x12, x13, [sp, #PT_X12]
    ldp x14, x15, [sp, #PT_X14]
    ldp x16, x17, [sp, #PT_X16]
    ldp x18, x19, [sp, #PT_X18]
    ldp x20, x21, [sp, #PT_X20]
    ldp x22, x23, [sp, #PT_X22]
    ldp x24, x25, [sp, #PT_X24]
    ldp x26, x27, [sp, #PT_X26]
    ldp x28, x29, [sp, #PT_X28]
    ldr x30, [sp, #PT_X30]
    add sp, sp, #PT_REGS_SIZE
    eret
.endm

// ---------------------------------------------------------------------------
// Exception vector table (VBAR_EL1): 16 entries of 0x80 bytes, 2 KiB aligned.
// Expected: a synchronous exception from 64-bit EL0, an IRQ from 64-bit EL0 or from
// EL1 with SP_EL1 (the kernel's own); everything else is a kernel bug.
    .balign 2048
vectors:
    b el1t_bad              // current EL with SP_EL0: sync
    .balign 128
    b el1t_bad              //   irq
    .balign 128
    b el1t_bad              //   fiq
    .balign 128
    b el1t_bad              //   serror
    .balign 128
    b el1h_bad              // current EL with SP_ELx: sync
    .balign 128
    b el1h_64_irq           //   irq (+0x280)
    .balign 128
    b el1h_bad              //   fiq
    .balign 128
    b el1h_bad              //   serror
    .balign 128
    b el0t_64_sync          // lower EL, AArch64: sync (+0x400)
    .balign 128
    b el0t_64_irq           //   irq (+0x480)
    .balign 128
    b el0_bad               //   fiq
    .balign 128
    b el0_bad               //   serror
    .balign 128
    b el0_bad               // lower EL, AArch32: sync
    .balign 128
    b el0_bad               //   irq
    .balign 128
    b el0_bad               //   fiq
    .balign 128
    b el0_bad               //   serror
    .balign 128

// Unexpected vectors: BUG() the way arm64 does it, with a brk the CPU model
// reports (x0 = which group: 0 EL1t, 1 EL1h, 2 EL0).
el1t_bad:
    mov x0, #0
    brk #BUG_BRK_IMM
el1h_bad:
    mov x0, #1
    brk #BUG_BRK_IMM
el0_bad:
    mov x0, #2
    brk #BUG_BRK_IMM

// ---------------------------------------------------------------------------
// Synchronous exception from EL0 (el0t_64_sync): save the user state, let C
// dispatch on the exception class (svc: the syscall; undefined or trapped
// instruction: SIGILL), then the common return. C returns with DAIF masked.
el0t_64_sync:
    kernel_entry 0
    mov x0, sp
    call_c el0t_64_sync_handler
    b ret_to_user

// IRQ from EL0 (+0x480) and from the kernel (+0x280): the C handler calls the
// interrupt controller's handler, then leaves as the entry came.
el0t_64_irq:
    kernel_entry 0
    mov x0, sp
    call_c el0t_64_irq_handler
    b ret_to_user

el1h_64_irq:
    kernel_entry 1
    mov x0, sp
    call_c el1h_64_irq_handler
    kernel_exit 1

// ret_to_user: sp = pt_regs base and nothing else on the kernel stack (C2).
ret_to_user:
    kernel_exit 0

// ---------------------------------------------------------------------------
// First return of every new task (cpu_context.pc). x0 = prev, sp = pt_regs
// base; x19 = fn (0 for a user fork/clone child), x20 = arg.
ret_from_fork:
    call_c schedule_tail
    cbz x19, .Lfork_user
    mov x0, x20
    blr x19
    // fn returned: kernel_execve filled pt_regs through start_thread.
.Lfork_user:
    mov x0, sp
    call_c asm_exit_to_user_mode       // returns with DAIF masked
    b ret_to_user

// ---------------------------------------------------------------------------
// cpu_switch_to(prev = x0, next = x1) -> prev. Saves the callee-saved
// registers, sp and the return address as struct cpu_context {x19..x28, fp,
// sp, pc} (arch.json switchFrame, at the start of thread_struct) and loads next's. x0 is left untouched, so a
// newborn finds prev in x0 in ret_from_fork.
cpu_switch_to:
    add x8, x0, #TASK_THREAD
    mov x9, sp
    stp x19, x20, [x8], #16
    stp x21, x22, [x8], #16
    stp x23, x24, [x8], #16
    stp x25, x26, [x8], #16
    stp x27, x28, [x8], #16
    stp x29, x9, [x8], #16
    str x30, [x8]
    add x8, x1, #TASK_THREAD
    ldp x19, x20, [x8], #16
    ldp x21, x22, [x8], #16
    ldp x23, x24, [x8], #16
    ldp x25, x26, [x8], #16
    ldp x27, x28, [x8], #16
    ldp x29, x9, [x8], #16
    ldr x30, [x8]
    mov sp, x9
    msr sp_el0, x1                      // current = next
    ret

// ---------------------------------------------------------------------------
// __arch_copy_to_user(to = x0, from = x1, n = x2) -> bytes not copied
// (arch/arm64/lib/copy_to_user.S, byte by byte here). Runs with interrupts enabled.
__arch_copy_to_user:
    cbz x2, .Lcopy_done
.Lcopy_byte:
    ldrb w3, [x1], #1
    strb w3, [x0], #1
    subs x2, x2, #1
    b.ne .Lcopy_byte
.Lcopy_done:
    mov x0, x2
    ret

// ---------------------------------------------------------------------------
// vDSO: position independent, copied into every new mm at the vdso address.
// The return address of a signal handler when SA_RESTORER is not given.
    .balign 8
__vdso_start:
__kernel_rt_sigreturn:
    mov x8, #__NR_rt_sigreturn
    svc #0
__vdso_end:
