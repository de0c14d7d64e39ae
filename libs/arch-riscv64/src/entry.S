# RISC-V 64 entry glue: handle_exception (the stvec target) with the exception
# vector table, ret_from_exception, ret_from_fork_{kernel,user}_asm, __switch_to
# and the vDSO's __vdso_rt_sigreturn. GNU as syntax (rv64gc, lp64d).
#
# Follows arch/riscv/kernel/entry.S of Linux 6.18, a GENERIC_ENTRY arch: the asm
# saves struct pt_regs and calls C through excp_vect_table (do_trap_ecall_u for
# a syscall, src/entry.ts), which runs the syscall, the exit work loop and the
# restart decision and returns with interrupts disabled; ret_from_exception
# restores everything and goes back with sret. Left out, as config options the
# kit does not model: new_vmalloc_check, VMAP_STACK overflow check, shadow call
# stacks, vector context nesting, load_global_pointer (nothing here is
# gp-relative).
#
# tp is the kernel's `current` (task_struct) while in the kernel; sscratch holds
# it while user mode runs and is 0 in the kernel, so the trap entry can tell
# where it came from. The task_struct starts with thread_info.
#
# Constants (PT_*, SF_*, THREAD_*, TASK_THREAD, __NR_*, ENOSYS) come from the
# asm-offsets prelude; C functions are externs at stub addresses.

# asm/csr.h
.equ SR_SIE, 0x2
.equ SR_SPP, 0x100
.equ SR_FS_VS, 0x6600
.equ SR_SUM, 0x40000

# thread_info.kernel_sp / user_sp (Linux's TASK_TI_KERNEL_SP, TASK_TI_USER_SP);
# the core's thread_info holds only flags, so they live in the arch's thread part.
.equ TASK_TI_KERNEL_SP, TASK_THREAD + THREAD_KERNEL_SP
.equ TASK_TI_USER_SP, TASK_THREAD + THREAD_USER_SP

# struct pt_regs keeps x1..x31 at 8 * n (epc in the x0 slot): the .irp loops
# below rely on it, and on a frame that keeps sp 16-byte aligned.
.equ PT_SIZE_ON_STACK, PT_REGS_SIZE
.if (PT_RA != 8) || (PT_T6 != 31 * 8) || (PT_EPC != 0) || (PT_SIZE_ON_STACK % 16)
.error "pt_regs layout is not the x-register order this glue assumes"
.endif
# __switch_to addresses the switch frame (ra, sp, s[12]) from the thread start.
.if THREAD_SWITCH_FRAME != 0
.error "the switch frame must start thread_struct"
.endif

# call_c sym: call a C function at its stub address through t1. Linux writes
# `call sym`; with the externs being absolute symbols, llvm-mc 19 emits that
# call's R_RISCV_CALL_PLT without a symbol and ld.lld 19 then links it to
# pc + address, so the alternative assembler needs the address in a register
# (la gives it with either toolchain). t1 is free at every call site.
.macro call_c sym
    la t1, \sym
    jalr t1
.endm

# ---------------------------------------------------------------------------
# __asm_copy_to_user(to = a0, from = a1, n = a2) -> bytes not copied
# (arch/riscv/lib/uaccess.S, byte by byte here): the kernel runs with SUM clear, so
# the copy opens user memory for itself and closes it again. Interrupts stay enabled;
# a trap in between saves SUM in pt_regs' status and the sret puts it back.
__asm_copy_to_user:
    li t6, SR_SUM
    csrs sstatus, t6
    beqz a2, .Lcopy_done
.Lcopy_byte:
    lb t0, 0(a1)
    sb t0, 0(a0)
    addi a0, a0, 1
    addi a1, a1, 1
    addi a2, a2, -1
    bnez a2, .Lcopy_byte
.Lcopy_done:
    csrc sstatus, t6
    mv a0, a2
    ret

# ---------------------------------------------------------------------------
# Every trap and interrupt lands here (stvec, direct mode). The CPU has set
# sepc, scause, stval, SPP/SPIE, cleared SIE and switched to S-mode; every
# general register is still the interrupted context's.
    .balign 4
handle_exception:
    csrrw tp, sscratch, tp
    bnez tp, .Lsave_context
    # From the kernel: sscratch was 0, tp is current again, stay on this stack.
    csrr tp, sscratch
    sd sp, TASK_TI_KERNEL_SP(tp)
.Lsave_context:
    sd sp, TASK_TI_USER_SP(tp)
    ld sp, TASK_TI_KERNEL_SP(tp)
    addi sp, sp, -PT_SIZE_ON_STACK
    sd x1, PT_RA(sp)
    sd x3, PT_GP(sp)
    .irp n, 5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\n, (\n * 8)(sp)
    .endr

    # No user memory access and no FP/vector in the kernel until asked for.
    li t0, SR_SUM | SR_FS_VS
    ld s0, TASK_TI_USER_SP(tp)
    csrrc s1, sstatus, t0
    csrr s2, sepc
    csrr s3, stval
    csrr s4, scause
    csrr s5, sscratch
    sd s0, PT_SP(sp)
    sd s1, PT_STATUS(sp)
    sd s2, PT_EPC(sp)
    sd s3, PT_BADADDR(sp)
    sd s4, PT_CAUSE(sp)
    sd s5, PT_TP(sp)

    # A trap taken from here on came from the kernel.
    csrw sscratch, x0

    mv a0, sp                       # pt_regs
    # scause bit 63: an interrupt
    bge s4, zero, 1f
    call_c do_irq
    j ret_from_exception
1:
    slli t0, s4, 3
    la t1, excp_vect_table
    la t2, excp_vect_table_end
    add t0, t1, t0
    bgeu t0, t2, 3f
    ld t1, 0(t0)
2:
    jalr t1
    j ret_from_exception
3:
    la t1, do_trap_unknown
    j 2b

# ---------------------------------------------------------------------------
# The common way out, with interrupts disabled and sp at pt_regs (from
# handle_exception and the ret_from_fork paths).
ret_from_exception:
    ld s0, PT_STATUS(sp)
    andi s0, s0, SR_SPP
    bnez s0, 1f
    # Back to user mode: the next trap starts from an empty kernel stack and
    # finds current through sscratch.
    addi s0, sp, PT_SIZE_ON_STACK
    sd s0, TASK_TI_KERNEL_SP(tp)
    csrw sscratch, tp
1:
    ld a0, PT_STATUS(sp)
    # Drop any load reservation (an interrupted LR/SC): sc to the frame.
    ld a2, PT_EPC(sp)
    sc.d x0, a2, (sp)               # PT_EPC is 0
    csrw sstatus, a0
    csrw sepc, a2

    ld x1, PT_RA(sp)
    ld x3, PT_GP(sp)
    ld x4, PT_TP(sp)
    .irp n, 5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld x\n, (\n * 8)(sp)
    .endr
    ld x2, PT_SP(sp)
    sret

# ---------------------------------------------------------------------------
# First return of a new task (thread.ra, from __switch_to's ret). a0 = prev,
# sp = its pt_regs. A kernel thread has fn in s0 and its argument in s1.
ret_from_fork_kernel_asm:
    call_c schedule_tail
    mv a0, s1                       # fn_arg
    mv a1, s0                       # fn
    mv a2, sp                       # pt_regs
    call_c ret_from_fork_kernel
    j ret_from_exception

ret_from_fork_user_asm:
    call_c schedule_tail
    mv a0, sp                       # pt_regs
    call_c ret_from_fork_user
    j ret_from_exception

# ---------------------------------------------------------------------------
# __switch_to(prev = a0, next = a1) -> prev: callee-saved registers, ra and sp
# into prev->thread, next's back, tp = next. a0 and a1 survive for
# schedule_tail in a newborn.
__switch_to:
    li a4, TASK_THREAD
    add a3, a0, a4
    add a4, a1, a4
    sd ra, SF_RA(a3)
    sd sp, SF_SP(a3)
    sd s0, SF_S0(a3)
    sd s1, SF_S1(a3)
    sd s2, SF_S2(a3)
    sd s3, SF_S3(a3)
    sd s4, SF_S4(a3)
    sd s5, SF_S5(a3)
    sd s6, SF_S6(a3)
    sd s7, SF_S7(a3)
    sd s8, SF_S8(a3)
    sd s9, SF_S9(a3)
    sd s10, SF_S10(a3)
    sd s11, SF_S11(a3)
    # the user-access flag of prev, and next's back
    csrr s0, sstatus
    sd s0, THREAD_SUM(a3)
    ld s0, THREAD_SUM(a4)
    li s1, SR_SUM
    and s0, s0, s1
    csrs sstatus, s0
    ld ra, SF_RA(a4)
    ld sp, SF_SP(a4)
    ld s0, SF_S0(a4)
    ld s1, SF_S1(a4)
    ld s2, SF_S2(a4)
    ld s3, SF_S3(a4)
    ld s4, SF_S4(a4)
    ld s5, SF_S5(a4)
    ld s6, SF_S6(a4)
    ld s7, SF_S7(a4)
    ld s8, SF_S8(a4)
    ld s9, SF_S9(a4)
    ld s10, SF_S10(a4)
    ld s11, SF_S11(a4)
    mv tp, a1
    ret

# ---------------------------------------------------------------------------
# vDSO: position independent, copied into every new mm. A signal handler
# returns here (ra): riscv has no SA_RESTORER.
    .balign 8
__vdso_start:
__vdso_rt_sigreturn:
    li a7, __NR_rt_sigreturn
    ecall
__vdso_end:

# ---------------------------------------------------------------------------
# Exception vector table, indexed by scause.
    .section .rodata
    .balign 16
excp_vect_table:
    .dword do_trap_insn_misaligned
    .dword do_trap_insn_fault
    .dword do_trap_insn_illegal
    .dword do_trap_break
    .dword do_trap_load_misaligned
    .dword do_trap_load_fault
    .dword do_trap_store_misaligned
    .dword do_trap_store_fault
    .dword do_trap_ecall_u          # system call
    .dword do_trap_ecall_s
    .dword do_trap_unknown
    .dword do_trap_ecall_m
    .dword do_page_fault            # instruction page fault
    .dword do_page_fault            # load page fault
    .dword do_trap_unknown
    .dword do_page_fault            # store page fault
excp_vect_table_end:
