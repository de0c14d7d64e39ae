# MIPS32 (o32) entry glue: the general exception vector, handle_sys with the o32
# syscall dispatch and its asm table entries, the exception handlers that call C
# (BUILD_HANDLER, tlb_do_page_fault), handle_int, the way back out to user mode and its
# work loop, ret_from_fork / ret_from_kernel_thread, resume (switch_to),
# copy_to_user and the vDSO's __vdso_rt_sigreturn. GNU as syntax (mips32r2, o32);
# every delay slot is filled by hand (.set noreorder), $at only where written.
#
# Follows Linux 6.18: arch/mips/kernel/genex.S (except_vec3_generic, handle_int,
# BUILD_HANDLER), scall32-o32.S (handle_sys), entry.S (the exit work loop in
# assembly: syscall_exit_partial, work_pending, work_resched, work_notifysig),
# r4k_switch.S (resume), asm/stackframe.h (SAVE_SOME/RESTORE_SOME...),
# asm/sim.h (save_static_function), mm/tlbex-fault.S (tlb_do_page_fault). The C
# it calls is src/entry.ts (do_notify_resume, syscall_trace_enter/leave,
# plat_irq_dispatch, do_page_fault, do_ri, do_cpu...) and the core's
# schedule/schedule_tail and the sys_call_table routines.
#
# Differences the kit's core imposes (README.md): the kernel runs in kseg2; $28
# (thread_info) is the head of the core's task_struct, found through the per-cpu
# word PCPU_CURRENT_TASK instead of sp & ~THREAD_MASK; pt_regs sit at the very top
# of the kernel stack (no 32-byte gap), so kernelsp = stack top; the core's
# sys_call_table is indexed by the full o32 number.
#
# Constants (PT_*, THREAD_*, TI_FLAGS, TASK_STACK, TASK_THREAD, THREAD_SIZE,
# _TIF_*, __NR_*, NR_syscalls, ENOSYS, EFAULT, PCPU_*) come from the asm-offsets
# prelude; the C functions and sys_call_table are externs at stub addresses.

    .set noreorder
    .set noat
    .set mips32r2

# asm/mipsregs.h, asm/stackframe.h
.equ ST0_IE, 0x1
.equ ST0_EXL, 0x2
.equ KU_USER, 0x10
.equ STATMASK, 0x1f
.equ ST0_IM, 0xff00
.equ ST0_FR, 0x04000000
.equ ST0_CU0, 0x10000000
.equ ST0_CU1, 0x20000000
# asm/unistd.h, uapi/asm/errno.h
.equ __NR_O32_Linux, __NR_syscall
.equ __NR_O32_Linux_syscalls, NR_syscalls - __NR_O32_Linux
.equ EMAXERRNO, 1133
# thread_info: the core's task_struct starts with its flags; the arch's thread
# part holds tp_value and syscall (Linux's TI_TP_VALUE, TI_SYSCALL).
.equ TI_TP_VALUE, TASK_THREAD + THREAD_TI_TP_VALUE
.equ TI_SYSCALL, TASK_THREAD + THREAD_TI_SYSCALL
.equ TI_REGS, TASK_THREAD + THREAD_TI_REGS
# asm/irq.h
.equ _IRQ_STACK_START, THREAD_SIZE - 16
# Linux's THREAD_* offsets are from task_struct (asm-offsets.c)
.equ TASK_REG16, TASK_THREAD + THREAD_REG16
.equ TASK_REG17, TASK_THREAD + THREAD_REG17
.equ TASK_REG18, TASK_THREAD + THREAD_REG18
.equ TASK_REG19, TASK_THREAD + THREAD_REG19
.equ TASK_REG20, TASK_THREAD + THREAD_REG20
.equ TASK_REG21, TASK_THREAD + THREAD_REG21
.equ TASK_REG22, TASK_THREAD + THREAD_REG22
.equ TASK_REG23, TASK_THREAD + THREAD_REG23
.equ TASK_REG29, TASK_THREAD + THREAD_REG29
.equ TASK_REG30, TASK_THREAD + THREAD_REG30
.equ TASK_REG31, TASK_THREAD + THREAD_REG31
.equ TASK_STATUS, TASK_THREAD + THREAD_CP0_STATUS
# Linux's sys_call_table starts at __NR_O32_Linux; the core's at 0
.equ o32_sys_call_table, sys_call_table + __NR_O32_Linux * 4

# ---------------------------------------------------------------------------
# stackframe.h

.macro SAVE_AT
    sw $1, PT_R1($sp)
.endm

.macro SAVE_TEMP
    mfhi $v1
    sw $8, PT_R8($sp)
    sw $9, PT_R9($sp)
    sw $10, PT_R10($sp)
    sw $11, PT_R11($sp)
    sw $12, PT_R12($sp)
    sw $v1, PT_HI($sp)
    mflo $v1
    sw $13, PT_R13($sp)
    sw $14, PT_R14($sp)
    sw $15, PT_R15($sp)
    sw $24, PT_R24($sp)
    sw $v1, PT_LO($sp)
.endm

.macro SAVE_STATIC
    sw $16, PT_R16($sp)
    sw $17, PT_R17($sp)
    sw $18, PT_R18($sp)
    sw $19, PT_R19($sp)
    sw $20, PT_R20($sp)
    sw $21, PT_R21($sp)
    sw $22, PT_R22($sp)
    sw $23, PT_R23($sp)
    sw $30, PT_R30($sp)
.endm

# get_saved_sp tosp=1: k0 = the interrupted sp, sp = kernelsp
.macro get_saved_sp
    lui $k1, %hi(kernelsp)
    move $k0, $sp
    lw $sp, %lo(kernelsp)($k1)
.endm

# SAVE_SOME: Status.CU0 set means "already on the kernel stack" (the kernel runs
# with CU0, user mode without); from user mode, switch to kernelsp and load
# thread_info into $28. regs[0] = $0: no syscall restart pending in this frame.
.macro SAVE_SOME
    mfc0 $k0, $12                       # CP0_STATUS
    sll $k0, 3                          # CU0 into the sign bit
    bltz $k0, 8f
     move $k0, $sp
    get_saved_sp
8:  addiu $sp, $sp, -PT_REGS_SIZE
    sw $k0, PT_R29($sp)
    sw $3, PT_R3($sp)
    sw $0, PT_R0($sp)
    mfc0 $v1, $12                       # CP0_STATUS
    sw $2, PT_R2($sp)
    sw $v1, PT_STATUS($sp)
    sw $4, PT_R4($sp)
    mfc0 $v1, $13                       # CP0_CAUSE
    sw $5, PT_R5($sp)
    sw $v1, PT_CAUSE($sp)
    sw $6, PT_R6($sp)
    sw $31, PT_R31($sp)
    mfc0 $ra, $14                       # CP0_EPC
    sw $7, PT_R7($sp)
    sw $ra, PT_EPC($sp)
    sw $25, PT_R25($sp)
    sw $28, PT_R28($sp)
    mfc0 $k0, $12
    sll $k0, 3
    bltz $k0, 9f
     nop
    lui $28, %hi(PCPU_CURRENT_TASK)
    lw $28, %lo(PCPU_CURRENT_TASK)($28)
9:
.endm

.macro SAVE_ALL
    SAVE_SOME
    SAVE_AT
    SAVE_TEMP
    SAVE_STATIC
.endm

.macro RESTORE_AT
    lw $1, PT_R1($sp)
.endm

.macro RESTORE_TEMP
    lw $24, PT_LO($sp)
    lw $15, PT_HI($sp)
    lw $8, PT_R8($sp)
    lw $9, PT_R9($sp)
    lw $10, PT_R10($sp)
    lw $11, PT_R11($sp)
    lw $12, PT_R12($sp)
    mtlo $24
    mthi $15
    lw $13, PT_R13($sp)
    lw $14, PT_R14($sp)
    lw $15, PT_R15($sp)
    lw $24, PT_R24($sp)
.endm

.macro RESTORE_STATIC
    lw $16, PT_R16($sp)
    lw $17, PT_R17($sp)
    lw $18, PT_R18($sp)
    lw $19, PT_R19($sp)
    lw $20, PT_R20($sp)
    lw $21, PT_R21($sp)
    lw $22, PT_R22($sp)
    lw $23, PT_R23($sp)
    lw $30, PT_R30($sp)
.endm

# RESTORE_SOME: kernel mode with interrupts off while the frame is unloaded, then
# the saved Status (EXL set: still kernel, interrupts masked) with the live IM,
# CU1 and FR; EPC; the registers SAVE_SOME saved.
.macro RESTORE_SOME
    mfc0 $a0, $12
    ori $a0, STATMASK
    xori $a0, STATMASK
    mtc0 $a0, $12
    li $v1, ST0_CU1 | ST0_FR | ST0_IM
    and $a0, $v1
    lw $v0, PT_STATUS($sp)
    nor $v1, $0, $v1
    and $v0, $v1
    or $v0, $a0
    mtc0 $v0, $12
    lw $v1, PT_EPC($sp)
    mtc0 $v1, $14                       # CP0_EPC
    lw $31, PT_R31($sp)
    lw $28, PT_R28($sp)
    lw $25, PT_R25($sp)
    lw $7, PT_R7($sp)
    lw $6, PT_R6($sp)
    lw $5, PT_R5($sp)
    lw $4, PT_R4($sp)
    lw $3, PT_R3($sp)
    lw $2, PT_R2($sp)
.endm

.macro RESTORE_SP_AND_RET
    lw $sp, PT_R29($sp)
    eret
.endm

# CLI / STI / KMODE: kernel mode, EXL/ERL clear, CU0 set ("on the kernel stack"),
# interrupts off / on / as they were.
.macro CLI
    mfc0 $t0, $12
    li $t1, ST0_CU0 | STATMASK
    or $t0, $t1
    xori $t0, STATMASK
    mtc0 $t0, $12
    ehb
.endm

.macro STI
    mfc0 $t0, $12
    li $t1, ST0_CU0 | STATMASK
    or $t0, $t1
    xori $t0, STATMASK & ~1
    mtc0 $t0, $12
    ehb
.endm

.macro KMODE
    mfc0 $t0, $12
    li $t1, ST0_CU0 | (STATMASK & ~1)
    or $t0, $t1
    xori $t0, STATMASK & ~1
    mtc0 $t0, $12
    ehb
.endm

.macro local_irq_enable
    ei
    ehb
.endm

.macro local_irq_disable
    di
    ehb
.endm

# ---------------------------------------------------------------------------
# General exception vector (genex.S), copied by boot to EBase + 0x180 (and, with
# no page tables for a refill handler to walk, to EBase + 0x000): dispatch on
# Cause.ExcCode through exception_handlers. At most 128 bytes, position
# independent.
    .text
    .balign 4
except_vec3_generic:
    mfc0 $k1, $13                       # CP0_CAUSE
    andi $k1, $k1, 0x7c
    lui $k0, %hi(exception_handlers)
    addu $k0, $k0, $k1
    lw $k0, %lo(exception_handlers)($k0)
    jr $k0
     nop
except_vec3_generic_end:

# ---------------------------------------------------------------------------
# System call (scall32-o32.S). Only SAVE_SOME's registers are in pt_regs here;
# the static ones (s0-s7, fp) follow where C needs them.
    .balign 32
handle_sys:
    SAVE_SOME
    STI

    lw $t1, PT_EPC($sp)                 # eret lands past the syscall insn
    addiu $t1, 4
    sw $t1, PT_EPC($sp)

    sw $a3, PT_R26($sp)                 # a restart must give back the caller's a3

    # Arguments 5-8 from the user stack into pt_regs.args[4..7], which the C
    # callee finds at 16..28(sp). A bad user sp is EFAULT; a load that faults
    # takes its __ex_table fixup (0).
    lw $t0, PT_R29($sp)
    addu $t4, $t0, 32
    bltz $t4, bad_stack
     nop
load_a4: lw $t5, 16($t0)
load_a5: lw $t6, 20($t0)
load_a6: lw $t7, 24($t0)
load_a7: lw $t8, 28($t0)
loads_done:
    sw $t5, PT_ARG4($sp)
    sw $t6, PT_ARG5($sp)
    sw $t7, PT_ARG6($sp)
    sw $t8, PT_ARG7($sp)

    # indirect syscall(): v0 holds __NR_syscall and the real number came in a0
    subu $t2, $v0, __NR_O32_Linux
    bnez $t2, 1f
     nop
    b 2f
     sw $a0, TI_SYSCALL($28)
1:  sw $v0, TI_SYSCALL($28)
2:
    lw $t0, TI_FLAGS($28)               # traced, audited, seccomp?
    li $t1, _TIF_WORK_SYSCALL_ENTRY
    and $t0, $t1
    bnez $t0, syscall_trace_entry
     nop
syscall_common:
    subu $v0, $v0, __NR_O32_Linux       # table index; unsigned compare
    sltiu $t0, $v0, __NR_O32_Linux_syscalls
    beqz $t0, illegal_syscall
     sll $t0, $v0, 2
    la $t1, o32_sys_call_table
    addu $t1, $t0
    lw $t2, 0($t1)                      # sys_* entry point
    beqz $t2, illegal_syscall
     nop
    jalr $t2                            # call the handler
     nop

    li $t0, -EMAXERRNO - 1              # -4095..-1 are errnos
    sltu $t0, $t0, $v0
    sw $t0, PT_R7($sp)                  # a3: 1 if v0 is an errno, else 0
    beqz $t0, 1f
     nop
    lw $t1, PT_R2($sp)                  # the number as entered
    negu $v0                            # o32 returns errno positive
    sw $t1, PT_R0($sp)                  # nonzero r0: signal code may restart
1:  sw $v0, PT_R2($sp)                  # v0 for the caller

o32_syscall_exit:
    j syscall_exit_partial
     nop

# A traced task: the tracer may change the number and the arguments at the entry
# stop, so they come back from pt_regs; a negative answer skips the syscall.
syscall_trace_entry:
    SAVE_STATIC
    jal syscall_trace_enter
     move $a0, $sp
    bltz $v0, 1f                        # skip the syscall
     nop
    RESTORE_STATIC
    lw $v0, PT_R2($sp)                  # the tracer may have changed it
    lw $a0, PT_R4($sp)                  # and the arguments too
    lw $a1, PT_R5($sp)
    lw $a2, PT_R6($sp)
    lw $a3, PT_R7($sp)
    j syscall_common
     nop
1:  j syscall_exit
     nop

# The open-coded check of the user stack pointer failed.
bad_stack:
    li $v0, EFAULT
    sw $v0, PT_R2($sp)
    li $t0, 1                           # a3 = 1: v0 is an errno
    sw $t0, PT_R7($sp)
    j o32_syscall_exit
     nop

bad_stack_a4:
    b load_a5
     li $t5, 0
bad_stack_a5:
    b load_a6
     li $t6, 0
bad_stack_a6:
    b load_a7
     li $t7, 0
bad_stack_a7:
    b loads_done
     li $t8, 0

# Number out of range or a hole in the table: ENOSYS.
illegal_syscall:
    li $v0, ENOSYS                      # positive: a3 says error
    sw $v0, PT_R2($sp)
    li $t0, 1                           # a3 = 1: v0 is an errno
    sw $t0, PT_R7($sp)
    j o32_syscall_exit
     nop

    .section __ex_table, "a"
    .balign 4
__start___ex_table:
    .word load_a4, bad_stack_a4
    .word load_a5, bad_stack_a5
    .word load_a6, bad_stack_a6
    .word load_a7, bad_stack_a7
    .word cu_store, cu_fault
__stop___ex_table:
    .previous

# The o32 table's asm entries (arch.json symbols sys_fork, sys_clone,
# sys_rt_sigreturn put them in the core's sys_call_table in place of the C
# routines they wrap). save_static_function (asm/sim.h): fork and clone copy the
# whole pt_regs into the child, static registers included.
__sys_fork:
    SAVE_STATIC
    j sys_fork
     nop

__sys_clone:
    SAVE_STATIC
    j sys_clone
     nop

# sys_rt_sigreturn restores the whole frame from the user stack and leaves with
# `move $29, regs; j syscall_exit` (signal.c): never through handle_sys's result
# stores, which would take the restored v0 for its own result.
__sys_rt_sigreturn:
    jal sys_rt_sigreturn
     nop
    j syscall_exit                      # sp is regs
     nop

# ---------------------------------------------------------------------------
# Exceptions that become C calls (genex.S BUILD_HANDLER, tlbex-fault.S).

.macro __build_clear_sti
    STI
.endm

.macro __build_clear_ade
    mfc0 $t0, $8                        # CP0_BADVADDR
    sw $t0, PT_BVADDR($sp)
    KMODE
.endm

.macro BUILD_HANDLER exception, handler, clear
    .balign 32
handle_\exception:
    SAVE_ALL
    __build_clear_\clear
    jal do_\handler
     move $a0, $sp
    j ret_from_exception
     nop
.endm

    BUILD_HANDLER adel, ade, ade                # 4
    BUILD_HANDLER ades, ade, ade                # 5
    BUILD_HANDLER bp, bp, sti                   # 9
    BUILD_HANDLER ri, ri, sti                   # 10
    BUILD_HANDLER cpu, cpu, sti                 # 11
    BUILD_HANDLER ov, ov, sti                   # 12
    BUILD_HANDLER tr, tr, sti                   # 13
    BUILD_HANDLER reserved, reserved, sti       # others

# TLB exceptions: with no page tables the tlbex handlers have nothing to refill,
# so every TLB exception is tlb_do_page_fault (write = 0 for loads and fetches).
.macro tlb_do_page_fault exception, write
    .balign 32
handle_\exception:
    SAVE_ALL
    mfc0 $a2, $8                        # CP0_BADVADDR
    KMODE
    move $a0, $sp
    sw $a2, PT_BVADDR($sp)
    jal do_page_fault
     li $a1, \write
    j ret_from_exception
     nop
.endm

    tlb_do_page_fault tlbl, 0                   # 2
    tlb_do_page_fault tlbs, 1                   # 3
    tlb_do_page_fault mod, 1                    # 1

# Interrupts (genex.S handle_int): the registers, interrupts off, irq regs for
# get_irq_regs(), the IRQ stack unless already on it, plat_irq_dispatch, back
# through ret_from_irq.
    .balign 32
handle_int:
    SAVE_ALL
    CLI
    lw $s0, TI_REGS($28)
    sw $sp, TI_REGS($28)
    move $s1, $sp                       # the frame, kept across the stack swap
    lui $k1, %hi(irq_stack)             # irq_stack[0]: one CPU
    lw $t0, %lo(irq_stack)($k1)
    li $t1, ~(THREAD_SIZE - 1)          # already on the IRQ stack?
    and $t1, $t1, $sp
    beq $t0, $t1, 2f
     nop
    li $t1, _IRQ_STACK_START            # switch to the IRQ stack
    addu $sp, $t0, $t1
    sw $s1, 0($sp)                      # the task's sp, for unwinders
2:  jal plat_irq_dispatch
     nop
    move $sp, $s1                       # restore sp
    j ret_from_irq
     nop

# ---------------------------------------------------------------------------
# Leaving the kernel (entry.S). Without kernel preemption a return to kernel
# mode goes straight to restore_all (resume_kernel).
    .balign 32
ret_from_exception:
    local_irq_disable                   # no irq from here to eret
    b __ret_from_irq
     nop
ret_from_irq:
    sw $s0, TI_REGS($28)                # the interrupted context's irq regs
__ret_from_irq:
resume_userspace_check:
    lw $t0, PT_STATUS($sp)              # frame from kernel mode?
    andi $t0, $t0, KU_USER
    beqz $t0, restore_all               # resume_kernel
     nop

resume_userspace:
    local_irq_disable                   # irqs off from the flag test to eret, or a
                                        # wakeup after the test goes unseen
    lw $a2, TI_FLAGS($28)               # the thread's TIF_* bits
    andi $t0, $a2, _TIF_WORK_MASK       # trace bits matter only at syscall exit
    bnez $t0, work_pending
     nop
    j restore_all
     nop

# A kernel thread's first return from resume: s0 = fn, s1 = its argument.
ret_from_kernel_thread:
    jal schedule_tail                   # a0 = struct task_struct *prev
     nop
    jalr $s0
     move $a0, $s1
    j syscall_exit
     nop

# A forked child's first return from resume.
ret_from_fork:
    jal schedule_tail                   # a0 = struct task_struct *prev
     nop

syscall_exit:
    local_irq_disable                   # freeze TI_FLAGS: nothing may set a work
                                        # bit between this test and eret
    lw $a2, TI_FLAGS($28)               # the thread's TIF_* bits
    li $t0, _TIF_ALLWORK_MASK
    and $t0, $a2, $t0
    bnez $t0, syscall_exit_work
     nop

restore_all:                            # every register from pt_regs
    RESTORE_TEMP
    RESTORE_AT
    RESTORE_STATIC
restore_partial:                        # what a syscall may have changed
    RESTORE_SOME
    RESTORE_SP_AND_RET

work_pending:
    andi $t0, $a2, _TIF_NEED_RESCHED    # a2: the flags the caller just read
    beqz $t0, work_notifysig
     nop
work_resched:
    jal schedule
     nop
    local_irq_disable                   # schedule() returns with irqs on; close
                                        # them again before rereading the flags
    lw $a2, TI_FLAGS($28)
    andi $t0, $a2, _TIF_WORK_MASK       # anything left besides the trace bits
                                        # (those are only for syscall exit)?
    beqz $t0, restore_all
     nop
    andi $t0, $a2, _TIF_NEED_RESCHED
    bnez $t0, work_resched
     nop

work_notifysig:                         # signals, TIF_NOTIFY_RESUME and the
                                        # like, then test everything again
    move $a0, $sp
    jal do_notify_resume                # a2 = flags from the last read
     li $a1, 0
    j resume_userspace_check
     nop

syscall_exit_partial:
    local_irq_disable                   # the flag test below must hold until
                                        # eret, so no irq may slip in
    lw $a2, TI_FLAGS($28)               # the thread's TIF_* bits
    li $t0, _TIF_ALLWORK_MASK
    and $t0, $a2
    beqz $t0, restore_partial
     nop
    SAVE_STATIC
syscall_exit_work:
    lw $t0, PT_STATUS($sp)              # frame from kernel mode?
    andi $t0, $t0, KU_USER
    beqz $t0, restore_all               # resume_kernel
     nop
    li $t0, _TIF_WORK_SYSCALL_EXIT
    and $t0, $a2                        # a2: TI_FLAGS as read on the way here
    beqz $t0, work_pending              # not traced: the common work loop
     nop
    local_irq_enable                    # the tracer may sleep; irqs on for
                                        # syscall_trace_leave()
    jal syscall_trace_leave
     move $a0, $sp
    b resume_userspace
     nop

# ---------------------------------------------------------------------------
# resume(prev = a0, next = a1) -> prev (r4k_switch.S): the callee-saved registers,
# sp, ra and Status into prev->thread, next's back; $28 = next's thread_info
# (Linux passes it in a2: here it heads next's task_struct); kernelsp = the top
# of next's stack, where its pt_regs end.
    .balign 32
resume:
    mfc0 $t1, $12                       # CP0_STATUS
    sw $t1, TASK_STATUS($a0)
    sw $s0, TASK_REG16($a0)             # cpu_save_nonscratch
    sw $s1, TASK_REG17($a0)
    sw $s2, TASK_REG18($a0)
    sw $s3, TASK_REG19($a0)
    sw $s4, TASK_REG20($a0)
    sw $s5, TASK_REG21($a0)
    sw $s6, TASK_REG22($a0)
    sw $s7, TASK_REG23($a0)
    sw $sp, TASK_REG29($a0)
    sw $fp, TASK_REG30($a0)
    sw $ra, TASK_REG31($a0)

    move $28, $a1
    lw $s0, TASK_REG16($a1)             # cpu_restore_nonscratch
    lw $s1, TASK_REG17($a1)
    lw $s2, TASK_REG18($a1)
    lw $s3, TASK_REG19($a1)
    lw $s4, TASK_REG20($a1)
    lw $s5, TASK_REG21($a1)
    lw $s6, TASK_REG22($a1)
    lw $s7, TASK_REG23($a1)
    lw $sp, TASK_REG29($a1)
    lw $fp, TASK_REG30($a1)
    lw $ra, TASK_REG31($a1)

    lw $t0, TASK_STACK($a1)             # Linux: $28 + _THREAD_SIZE - 32
    addiu $t0, $t0, THREAD_SIZE
    lui $t1, %hi(kernelsp)              # set_saved_sp
    sw $t0, %lo(kernelsp)($t1)
    mfc0 $t1, $12                       # keep IM and IE, the rest is next's
    li $a3, 0xff01
    and $t1, $a3
    lw $a2, TASK_STATUS($a1)
    nor $a3, $0, $a3
    and $a2, $a3
    or $a2, $t1
    mtc0 $a2, $12
    jr $ra
     move $v0, $a0

# ---------------------------------------------------------------------------
# copy_to_user(to = a0, from = a1, n = a2) -> v0 = the bytes not copied, with
# interrupts as the caller has them. Linux: raw_copy_to_user -> __copy_user
# (lib/memcpy.S), which moves words when it can and reports the bytes left in
# a2; here a byte loop with the same discipline: the user store is in __ex_table,
# its fixup returns what is left.
    .balign 32
copy_to_user:
    beqz $a2, 2f
     nop
1:  lbu $t0, 0($a1)
cu_store:
    sb $t0, 0($a0)
    addiu $a2, $a2, -1
    addiu $a0, $a0, 1
    bnez $a2, 1b
     addiu $a1, $a1, 1
2:
cu_fault:
    jr $ra
     move $v0, $a2

# ---------------------------------------------------------------------------
# vDSO (arch/mips/vdso/sigreturn.S): position independent, copied into every new
# mm. setup_rt_frame points a handler's ra here: MIPS has no SA_RESTORER.
    .balign 8
__vdso_start:
__vdso_rt_sigreturn:
    li $v0, __NR_rt_sigreturn
    syscall
__vdso_end:

# ---------------------------------------------------------------------------
    .data
    .balign 4096                        # off the text pages (stores here would
                                        # invalidate translated code)
# The kernel stack the next exception from user mode starts on (set_saved_sp).
kernelsp:
    .word 0

# trap_init()'s set_except_vector() table, by Cause.ExcCode. Bus errors (6, 7)
# and the rest are never raised by this model: do_reserved.
    .balign 4
exception_handlers:
    .word handle_int                    # 0 Int
    .word handle_mod                    # 1 TLB modified
    .word handle_tlbl                   # 2 TLB load/fetch
    .word handle_tlbs                   # 3 TLB store
    .word handle_adel                   # 4 address error load/fetch
    .word handle_ades                   # 5 address error store
    .word handle_reserved               # 6 IBE
    .word handle_reserved               # 7 DBE
    .word handle_sys                    # 8 syscall
    .word handle_bp                     # 9 break
    .word handle_ri                     # 10 reserved instruction
    .word handle_cpu                    # 11 coprocessor unusable
    .word handle_ov                     # 12 overflow
    .word handle_tr                     # 13 trap
    .rept 18
    .word handle_reserved               # 14-31
    .endr

# irq_stack[NR_CPUS] (irq.c init_IRQ): one CPU, one THREAD_SIZE-aligned stack.
irq_stack:
    .word irq_stack_area
    .balign THREAD_SIZE
irq_stack_area:
    .space THREAD_SIZE
