// AArch64 exception vectors, EL0 syscall entry/exit glue, ret_from_fork,
// cpu_switch_to and the vDSO rt_sigreturn trampoline (Keystone AArch64 syntax).
//
// Modelled on Linux arch/arm64/kernel/entry.S: v3.8 for the assembly-level
// el0_svc dispatch (sys_call_table indexed by w8, arguments in x0-x5), v6.18
// for the pt_regs layout and the stackframe marker, and the ARM exit work loop
// of the 2012 signal rework (C5): the loop itself is C (do_work_pending), this
// file only decides whether to call it and re-dispatches a handler-less
// restart without a trip through user mode.
//
// Constants (PT_*, TI_FLAGS, TASK_THREAD, TIF_* / _TIF_*, __NR_*,
// NR_syscalls, PCPU_*) come from the asm-offsets prelude; sys_call_table and
// the C stubs (schedule_tail, do_work_pending, syscall_trace_enter/exit,
// sys_ni_syscall, do_user_fault) are externs. Everything sits below 4 GiB,
// so an absolute address is built with movz/movk (Keystone has no literal
// pools and no :lo12: relocations).
//
// Register use between kernel_entry and ret_to_user (callee-saved, so they
// survive every C call, including one that schedules):
//   sp  = pt_regs base of the current task
//   x21 = why: 1 on the syscall return path, 0 on a first return from fork
//         or from a user fault
//   x26 = scno (syscall number, zero-extended from w8)
//   x28 = tsk (current task_struct, from the per-cpu word)

.equ ESR_ELx_EC_SHIFT, 26
.equ ESR_ELx_EC_SVC64, 0x15
.equ SIGILL, 4
.equ NO_SYSCALL, -1
.equ ENOSYS, 38
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

// get_current reg: current task_struct (the core keeps the per-cpu word up to date).
.macro get_current reg
    mov_abs \reg, PCPU_CURRENT_TASK
    ldr \reg, [\reg]
.endm

// kernel_entry: build struct pt_regs at the top of the kernel stack. On entry
// from EL0, SP_EL1 is the task's kernel stack top (left there by the eret of
// kernel_exit), x0-x30 are the user's, SP_EL0 / ELR_EL1 / SPSR_EL1 hold the
// user sp, pc and pstate.
.macro kernel_entry
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
    mrs x21, sp_el0
    stp x30, x21, [sp, #PT_X30]         // x30, then the user sp
    mrs x22, elr_el1
    mrs x23, spsr_el1
    stp x22, x23, [sp, #PT_PC]          // pc, pstate
    // Not a syscall until el0_svc says so.
    mov w21, #NO_SYSCALL
    str w21, [sp, #PT_SYSCALLNO]
    // Final frame record for unwinders: a walk that reaches it stops here.
    stp xzr, xzr, [sp, #PT_STACKFRAME_FP]
    mov x21, #FRAME_META_TYPE_FINAL
    str x21, [sp, #PT_STACKFRAME_TYPE]
    add x29, sp, #PT_STACKFRAME_FP
.endm

// ---------------------------------------------------------------------------
// Exception vector table (VBAR_EL1): 16 entries of 0x80 bytes, 2 KiB aligned.
// Only a synchronous exception from 64-bit EL0 is expected; everything else
// is a kernel bug.
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
    b el1h_bad              //   irq
    .balign 128
    b el1h_bad              //   fiq
    .balign 128
    b el1h_bad              //   serror
    .balign 128
    b el0_sync              // lower EL, AArch64: sync (+0x400)
    .balign 128
    b el0_bad               //   irq
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
// Synchronous exception from EL0: save the user state, then dispatch on the
// exception class (el0t_64_sync_handler): SVC64 is a syscall; every other
// class is a user fault. The CPU model takes svc and undefined or trapped
// instructions here (EC 0x15, 0x00, 0x18); it stops the run on the rest.
el0_sync:
    kernel_entry
    mrs x25, esr_el1
    lsr x24, x25, #ESR_ELx_EC_SHIFT
    cmp x24, #ESR_ELx_EC_SVC64
    b.eq el0_svc
    // fall through: el0_undef

// Undefined instruction (EC 0x00, do_el0_undef), trapped MSR/MRS/SYS (EC
// 0x18, do_el0_sys: no emulation hook here, so it falls back to the undef
// handler) and any other class (el0_inv, bad_el0_sync): SIGILL for current.
// kernel_entry saved the frame with pc = the faulting instruction and
// syscallno = NO_SYSCALL, so the exit work can never restart it. The C half
// runs with irqs on (local_daif_restore(DAIF_PROCCTX)), then the common
// return-to-user work check with why = 0 (not a syscall), irqs off again.
el0_undef:
    get_current x28
    mov x21, #0                         // why: not a syscall
    msr daifclr, #2                     // enable irqs
    mov x0, sp
    mov w1, #SIGILL
    call_c do_user_fault
    msr daifset, #2                     // disable irqs (exit_to_user_mode)
    b ret_to_user_work

// SVC from EL0. The syscall marker first (orig_x0 = x0, syscallno = w8),
// then irqs on. x0-x5 are still the user's arguments on the fast path.
el0_svc:
    get_current x28
    mov x21, #1                         // why = syscall
    uxtw x26, w8                        // scno
    str x0, [sp, #PT_ORIG_X0]
    str w26, [sp, #PT_SYSCALLNO]
    msr daifclr, #2                     // enable irqs

// Re-entered by a handler-less restart with scno and x0-x5 reloaded.
local_restart:
    ldr x16, [x28, #TI_FLAGS]
    mov_abs x17, _TIF_SYSCALL_WORK
    tst x16, x17
    b.ne .Ltrace_enter

.Ldispatch:
    cmp x26, #NR_syscalls
    b.hs .Lni_sys                       // unsigned: w8 = -1 lands here too
    mov_abs x16, sys_call_table
    ldr x16, [x16, x26, lsl #3]
    blr x16
    b .Lsyscall_ret
.Lni_sys:
    call_c sys_ni_syscall
.Lsyscall_ret:
    str x0, [sp, #PT_X0]

// Syscall exit: irqs off, trace-exit if asked, then the work check.
.Lsyscall_exit:
    msr daifset, #2                     // disable irqs
    ldr x16, [x28, #TI_FLAGS]
    mov_abs x17, _TIF_SYSCALL_WORK
    tst x16, x17
    b.eq ret_to_user_work
    mov x0, sp
    call_c syscall_trace_exit

// Return-to-user work check, shared with ret_from_fork (x21 = why, x28 =
// tsk, irqs off). do_work_pending(regs, flags, why) loops in C.
ret_to_user_work:
    ldr x1, [x28, #TI_FLAGS]
    mov_abs x17, _TIF_WORK_MASK
    tst x1, x17
    b.eq ret_to_user
    mov x0, sp
    mov x2, x21
    call_c do_work_pending
    cbz w0, ret_to_user                 // no work left, irqs still off
    // Handler-less restart (irqs on): the core has put orig_x0 back into
    // x0; take the number from x8 again, or restart_syscall for a
    // -ERESTART_RESTARTBLOCK (negative return), and re-enter the syscall.
    ldr w26, [sp, #PT_X8]
    tbz w0, #31, .Lrestart_args
    mov x26, #__NR_restart_syscall
.Lrestart_args:
    ldp x0, x1, [sp, #PT_X0]
    ldp x2, x3, [sp, #PT_X2]
    ldp x4, x5, [sp, #PT_X4]
    str x0, [sp, #PT_ORIG_X0]
    str w26, [sp, #PT_SYSCALLNO]
    b local_restart

// syscall_trace_enter(regs) -> nr (a tracer may have changed it, and the
// arguments in pt_regs). -1: skip the call, x0 in pt_regs is the result.
.Ltrace_enter:
    mov x0, sp
    call_c syscall_trace_enter
    cmn w0, #1
    b.eq .Lsyscall_exit
    uxtw x26, w0
    ldp x0, x1, [sp, #PT_X0]            // reload the (possibly new) arguments
    ldp x2, x3, [sp, #PT_X2]
    ldp x4, x5, [sp, #PT_X4]
    b .Ldispatch

// All work done, irqs off, sp = pt_regs base and nothing else on the kernel
// stack (C2). kernel_exit: restore everything and eret to EL0; SP_EL1 is left
// at the stack top for the next exception entry.
ret_to_user:
    ldp x21, x22, [sp, #PT_SP]          // user sp, pc
    ldr x23, [sp, #PT_PSTATE]
    msr sp_el0, x21
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

// ---------------------------------------------------------------------------
// First return of every new task (cpu_context.pc). x0 = prev, sp = pt_regs
// base; x19 = fn (0 for a user fork/clone child), x20 = arg.
ret_from_fork:
    call_c schedule_tail
    cbz x19, .Lfork_user
    mov x0, x20
    blr x19
    // fn returned: kernel_execve filled pt_regs through start_thread; go to
    // user mode by the normal return path.
.Lfork_user:
    get_current x28
    mov x21, #0                         // why: not returning from a syscall here
    msr daifset, #2
    b ret_to_user_work

// ---------------------------------------------------------------------------
// cpu_switch_to(prev = x0, next = x1) -> prev. Saves the callee-saved
// registers, sp and the return address as struct cpu_context {x19..x28, fp,
// sp, pc} at prev + TASK_THREAD and loads next's. x0 is left untouched, so a
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
