# PowerPC 32-bit (book3s_32) entry glue: the exception vectors the CPU model
# delivers (DSI 0x300, ISI 0x400, external 0x500, program 0x700, system call
# 0xc00), transfer_to_syscall / ret_from_syscall, interrupt_return,
# ret_from_fork, ret_from_kernel_user_thread, _switch, the MMU set-up head.S
# does at boot, and the vDSO's __kernel_sigtramp_rt32. GNU as syntax
# (-a32 -mregnames -m7400).
#
# Follows arch/powerpc/kernel/head_32.h, head_book3s_32.S, entry_32.S and
# switch.S of Linux 6.18. powerpc has no GENERIC_ENTRY: the asm saves struct
# pt_regs, system_call_exception() (C) runs the syscall, syscall_exit_prepare()
# (C) converts the result (CR0.SO and a positive errno) and runs the exit work
# loop, and returns non-zero when every register must come back from pt_regs
# (_TIF_RESTOREALL: a signal frame, sigreturn, a tracer); the asm restores
# and leaves with rfi. Left out, as config options the kit does not model:
# KUEP/KUAP segment switching, the 603 software TLB and hash_page fast paths,
# NAP/DOZE, the 44x icache flush, VMAP_STACK.
#
# The kernel text starts at physical 0, as the vectors are architectural
# (MSR[IP] = 0). Memory is identity mapped: kernel BATs for the kernel, a user
# BAT for the user region (see load_up_mmu), so physical and virtual addresses
# are the same and the real-mode prologs need no tophys/tovirt.
#
# In the kernel r2 is current (task_struct); SPRG3 (SPRG_THREAD) holds
# &current->thread for the exception prologs. C functions are externs at stub
# addresses (asm-offsets prelude: PT_*, SF_*, THREAD_*, TASK_*, __NR_*).

# asm/reg.h (book3s_32)
.equ MSR_EE, 0x8000
.equ MSR_PR, 0x4000
.equ MSR_ME, 0x1000
.equ MSR_IR, 0x20
.equ MSR_DR, 0x10
.equ MSR_RI, 0x2
.equ MSR_KERNEL, MSR_ME | MSR_RI | MSR_IR | MSR_DR
.equ SPRN_XER, 1
.equ SPRN_DSISR, 18
.equ SPRN_DAR, 19
.equ SPRN_SDR1, 25
.equ SPRN_SRR0, 26
.equ SPRN_SRR1, 27
.equ SPRN_SPRG_SCRATCH0, 272
.equ SPRN_SPRG_SCRATCH1, 273
.equ SPRN_SPRG_SCRATCH2, 274
.equ SPRN_SPRG_THREAD, 275
.equ SPRN_IBAT0U, 528
.equ SPRN_IBAT0L, 529
.equ SPRN_IBAT1U, 530
.equ SPRN_IBAT1L, 531
.equ SPRN_DBAT0U, 536
.equ SPRN_DBAT0L, 537
.equ SPRN_DBAT1U, 538
.equ SPRN_DBAT1L, 539
.equ DSISR_SRR1_MATCH_32S, 0x40000000 | 0x10000000 | 0x08000000

# asm/interrupt.h
.equ INTERRUPT_DATA_STORAGE, 0x300
.equ INTERRUPT_INST_STORAGE, 0x400
.equ INTERRUPT_EXTERNAL, 0x500
.equ INTERRUPT_PROGRAM, 0x700
.equ INTERRUPT_SYSCALL, 0xc00

# asm/ptrace.h (32-bit): a 16-byte minimal frame (back chain, LR save, marker)
# above which an interrupt frame keeps struct pt_regs; the user interrupt
# frame ends at the top of the kernel stack (current_pt_regs()).
.equ STACK_FRAME_MIN_SIZE, 16
.equ STACK_INT_FRAME_REGS, STACK_FRAME_MIN_SIZE
.equ STACK_INT_FRAME_MARKER, STACK_FRAME_MIN_SIZE - 8
.equ INT_FRAME_SIZE, PT_REGS_SIZE + STACK_FRAME_MIN_SIZE
.equ STACK_SWITCH_FRAME_REGS, STACK_FRAME_MIN_SIZE
.equ STACK_SWITCH_FRAME_SIZE, PT_REGS_SIZE + STACK_FRAME_MIN_SIZE
.equ STACK_FRAME_REGS_MARKER, 0x52454753      # "REGS"

# asm-offsets.c: pt_regs slots relative to the frame pointer (r1)
.equ GPR0, STACK_INT_FRAME_REGS + PT_GPR0
.equ GPR1, STACK_INT_FRAME_REGS + PT_GPR1
.equ GPR2, STACK_INT_FRAME_REGS + PT_GPR2
.equ GPR3, STACK_INT_FRAME_REGS + PT_GPR3
.equ GPR9, STACK_INT_FRAME_REGS + PT_GPR9
.equ GPR10, STACK_INT_FRAME_REGS + PT_GPR10
.equ GPR11, STACK_INT_FRAME_REGS + PT_GPR11
.equ GPR12, STACK_INT_FRAME_REGS + PT_GPR12
.equ _NIP, STACK_INT_FRAME_REGS + PT_NIP
.equ _MSR, STACK_INT_FRAME_REGS + PT_MSR
.equ ORIG_GPR3, STACK_INT_FRAME_REGS + PT_ORIG_GPR3
.equ _CTR, STACK_INT_FRAME_REGS + PT_CTR
.equ _LINK, STACK_INT_FRAME_REGS + PT_LINK
.equ _XER, STACK_INT_FRAME_REGS + PT_XER
.equ _CCR, STACK_INT_FRAME_REGS + PT_CCR
.equ _TRAP, STACK_INT_FRAME_REGS + PT_TRAP
.equ _DAR, STACK_INT_FRAME_REGS + PT_DAR
.equ _DSISR, STACK_INT_FRAME_REGS + PT_DSISR
# task_struct.thread, thread_struct.ksp
.equ THREAD, TASK_THREAD
.equ KSP, THREAD_SP

# The gprs are 4-byte words from pt_regs' start, and the switch frame is a
# pt_regs-shaped frame at the same offset as the interrupt frame's: arch.json
# describes both, the macros below rely on it.
.if (PT_GPR31 != 31 * 4) || (PT_GPR0 != 0) || (STACK_SWITCH_FRAME_REGS != STACK_INT_FRAME_REGS)
.error "pt_regs layout is not the gpr order this glue assumes"
.endif
.if (SF_GPR14 != STACK_SWITCH_FRAME_REGS + PT_GPR14) || (SF_NIP != STACK_SWITCH_FRAME_REGS + PT_NIP) || (SF_CCR != STACK_SWITCH_FRAME_REGS + PT_CCR)
.error "arch.json switchFrame is not _switch's frame"
.endif
# (the prelude's SWITCH_FRAME_SIZE is arch.json's switchFrame.size)
.if (STACK_SWITCH_FRAME_SIZE + STACK_FRAME_MIN_SIZE != SWITCH_FRAME_SIZE) || (SF_INT_MARKER != STACK_SWITCH_FRAME_SIZE + STACK_INT_FRAME_MARKER)
.error "arch.json switchFrame must cover _switch's frame and the header of the interrupt frame above it"
.endif

# ppc_asm.h
.macro SAVE_GPRS start, end, base
    .Lreg = \start
    .rept (\end - \start + 1)
    stw .Lreg, GPR0 + 4 * .Lreg(\base)
    .Lreg = .Lreg + 1
    .endr
.endm
.macro REST_GPRS start, end, base
    .Lreg = \start
    .rept (\end - \start + 1)
    lwz .Lreg, GPR0 + 4 * .Lreg(\base)
    .Lreg = .Lreg + 1
    .endr
.endm
.macro SAVE_GPR n, base
    SAVE_GPRS \n, \n, \base
.endm
.macro REST_GPR n, base
    REST_GPRS \n, \n, \base
.endm
# 32-bit: r13 (the small data anchor) is saved with the non-volatiles
.macro SAVE_NVGPRS base
    SAVE_GPRS 13, 31, \base
.endm
.macro REST_NVGPRS base
    REST_GPRS 13, 31, \base
.endm
.macro LOAD_REG_IMMEDIATE reg, expr
    lis \reg, (\expr)@h
    ori \reg, \reg, (\expr)@l
.endm

# call_c sym: a call into C. Linux writes `bl sym`; the C functions here are
# absolute symbols at stub addresses, and GNU as encodes `bl` to an absolute
# symbol as a pc-relative offset from section offset 0 without a relocation,
# which is right only while the kernel text sits at 0. `bla` (branch absolute
# and link) reaches them from anywhere in the low 32 MiB, whatever the base.
.macro call_c sym
    bla \sym
.endm

# ---------------------------------------------------------------------------
# Exception prologs (head_32.h), in three parts: the real-mode part in the
# vector saves SRR0/SRR1 (and DAR/DSISR) in current->thread and picks the
# stack (the task's kernel stack top from user mode, below r1 from the
# kernel), rfi turns the MMU on, and \name\()_virt builds pt_regs.
.macro EXCEPTION_PROLOG_0 handle_dar_dsisr=0
    mtspr SPRN_SPRG_SCRATCH0, r10
    mtspr SPRN_SPRG_SCRATCH1, r11
    mfspr r10, SPRN_SPRG_THREAD
    .if \handle_dar_dsisr
    mfspr r11, SPRN_DAR
    stw r11, THREAD_DAR(r10)
    mfspr r11, SPRN_DSISR
    stw r11, THREAD_DSISR(r10)
    .endif
    mfspr r11, SPRN_SRR0
    stw r11, THREAD_SRR0(r10)
    mfspr r11, SPRN_SRR1            # user or kernel?
    stw r11, THREAD_SRR1(r10)
    mfcr r10
    andi. r11, r11, MSR_PR
.endm

.macro EXCEPTION_PROLOG_1
    mtspr SPRN_SPRG_SCRATCH2, r1
    subi r1, r1, INT_FRAME_SIZE     # from the kernel: below the interrupted frame
    beq 1f
    mfspr r1, SPRN_SPRG_THREAD
    lwz r1, TASK_STACK - THREAD(r1)
    addi r1, r1, THREAD_SIZE - INT_FRAME_SIZE
1:
.endm

.macro EXCEPTION_PROLOG_2 name
    LOAD_REG_IMMEDIATE r11, MSR_KERNEL & ~MSR_RI    # re-enable the MMU
    mtspr SPRN_SRR1, r11
    LOAD_REG_IMMEDIATE r11, \name\()_virt
    mtspr SPRN_SRR0, r11
    mfspr r11, SPRN_SPRG_SCRATCH2
    rfi
.endm

.macro EXCEPTION_PROLOG_VIRT trapno, name, handle_dar_dsisr=0
\name\()_virt:
    stw r11, GPR1(r1)
    stw r11, 0(r1)
    mr r11, r1
    stw r10, _CCR(r11)              # the CR the prolog saved in r10
    stw r12, GPR12(r11)
    stw r9, GPR9(r11)
    mfspr r10, SPRN_SPRG_SCRATCH0
    mfspr r12, SPRN_SPRG_SCRATCH1
    stw r10, GPR10(r11)
    stw r12, GPR11(r11)
    mflr r10
    stw r10, _LINK(r11)
    mfspr r12, SPRN_SPRG_THREAD
    .if \handle_dar_dsisr
    lwz r10, THREAD_DAR(r12)
    stw r10, _DAR(r11)
    lwz r10, THREAD_DSISR(r12)
    stw r10, _DSISR(r11)
    .endif
    lwz r9, THREAD_SRR1(r12)
    lwz r12, THREAD_SRR0(r12)
    li r10, MSR_KERNEL              # MMU on, recoverable
    mtmsr r10
    # COMMON_EXCEPTION_PROLOG_END
    stw r0, GPR0(r1)
    lis r10, STACK_FRAME_REGS_MARKER@ha
    addi r10, r10, STACK_FRAME_REGS_MARKER@l
    stw r10, STACK_INT_FRAME_MARKER(r1)
    li r10, \trapno
    stw r10, _TRAP(r1)
    SAVE_GPRS 3, 8, r1
    SAVE_NVGPRS r1
    stw r2, GPR2(r1)
    stw r12, _NIP(r1)
    stw r9, _MSR(r1)
    mfctr r10
    mfspr r2, SPRN_SPRG_THREAD
    stw r10, _CTR(r1)
    mfspr r10, SPRN_XER
    addi r2, r2, -THREAD            # current
    stw r10, _XER(r1)
    addi r3, r1, STACK_INT_FRAME_REGS
.endm

# ---------------------------------------------------------------------------
# The vectors (head_book3s_32.S), at their architectural offsets. The CPU
# model delivers only these; any other exception stops the run.
    .text
_stext:

    .org INTERRUPT_DATA_STORAGE
DataAccess:
    EXCEPTION_PROLOG_0 handle_dar_dsisr=1
    EXCEPTION_PROLOG_1
    EXCEPTION_PROLOG_2 DataAccess

    .org INTERRUPT_INST_STORAGE
InstructionAccess:
    EXCEPTION_PROLOG_0
    EXCEPTION_PROLOG_1
    EXCEPTION_PROLOG_2 InstructionAccess

    .org INTERRUPT_EXTERNAL
HardwareInterrupt:
    EXCEPTION_PROLOG_0
    EXCEPTION_PROLOG_1
    EXCEPTION_PROLOG_2 HardwareInterrupt

    .org INTERRUPT_PROGRAM
ProgramCheck:
    EXCEPTION_PROLOG_0
    EXCEPTION_PROLOG_1
    EXCEPTION_PROLOG_2 ProgramCheck

# SYSCALL_ENTRY (head_32.h): r9 = SRR1, r12 = SRR0, r11 = the user r1, r10 =
# &current->thread; the kernel stack top; rfi turns the MMU on.
    .org INTERRUPT_SYSCALL
SystemCall:
    mfspr r9, SPRN_SRR1
    mfspr r12, SPRN_SRR0
    LOAD_REG_IMMEDIATE r11, MSR_KERNEL  # MMU on, recoverable
    lis r10, 1f@h
    ori r10, r10, 1f@l
    mtspr SPRN_SRR1, r11
    mtspr SPRN_SRR0, r10
    mfspr r10, SPRN_SPRG_THREAD
    mr r11, r1
    lwz r1, TASK_STACK - THREAD(r10)
    addi r1, r1, THREAD_SIZE - INT_FRAME_SIZE
    rfi
1:
    stw r12, _NIP(r1)
    mfcr r12
    rlwinm r12, r12, 0, 4, 2        # clear SO in the saved CR
    stw r12, _CCR(r1)
    b transfer_to_syscall

    .org 0x3000

# ---------------------------------------------------------------------------
# The virtual-mode halves of the exception prologs, then the C handler and the
# common way out.
    EXCEPTION_PROLOG_VIRT INTERRUPT_DATA_STORAGE, DataAccess, handle_dar_dsisr=1
    call_c do_page_fault
    b interrupt_return

    EXCEPTION_PROLOG_VIRT INTERRUPT_INST_STORAGE, InstructionAccess
    andis. r5, r9, DSISR_SRR1_MATCH_32S@h   # the SRR1 bits that mirror DSISR
    stw r5, _DSISR(r11)
    stw r12, _DAR(r11)
    call_c do_page_fault
    b interrupt_return

    EXCEPTION_PROLOG_VIRT INTERRUPT_EXTERNAL, HardwareInterrupt
    call_c do_IRQ
    b interrupt_return

    EXCEPTION_PROLOG_VIRT INTERRUPT_PROGRAM, ProgramCheck
    call_c program_check_exception
    b interrupt_return

# ---------------------------------------------------------------------------
# entry_32.S. r1 = the interrupt frame at the top of the kernel stack, r9 =
# the user MSR, r10 = &current->thread, r11 = the user r1, r0 = the syscall
# number, r3..r8 its arguments.
transfer_to_syscall:
    stw r3, ORIG_GPR3(r1)
    stw r11, GPR1(r1)
    stw r11, 0(r1)
    mflr r12
    stw r12, _LINK(r1)
    lis r12, STACK_FRAME_REGS_MARKER@ha    # tags the frame as pt_regs
    SAVE_GPR 2, r1
    addi r12, r12, STACK_FRAME_REGS_MARKER@l
    stw r9, _MSR(r1)
    li r2, INTERRUPT_SYSCALL
    stw r12, STACK_INT_FRAME_MARKER(r1)
    stw r2, _TRAP(r1)
    SAVE_GPR 0, r1
    SAVE_GPRS 3, 8, r1
    addi r2, r10, -THREAD           # current
    SAVE_NVGPRS r1

    # system_call_exception(regs, r0)
    addi r3, r1, STACK_INT_FRAME_REGS
    mr r4, r0
    call_c system_call_exception

ret_from_syscall:
    # syscall_exit_prepare(r3, regs, scv = 0): non-zero means restore everything
    addi r4, r1, STACK_INT_FRAME_REGS
    li r5, 0
    call_c syscall_exit_prepare
    lwz r4, _LINK(r1)
    lwz r5, _CCR(r1)
    mtlr r4
    lwz r7, _NIP(r1)
    lwz r8, _MSR(r1)
    cmpwi r3, 0
    REST_GPR 3, r1
syscall_exit_finish:
    mtspr SPRN_SRR0, r7
    mtspr SPRN_SRR1, r8
    bne 3f
    mtcr r5
1:  REST_GPR 2, r1
    REST_GPR 1, r1
    rfi

3:  mtcr r5
    lwz r4, _CTR(r1)
    lwz r5, _XER(r1)
    REST_NVGPRS r1
    mtctr r4
    mtxer r5
    REST_GPR 0, r1
    REST_GPRS 3, 12, r1
    b 1b

# First return of a forked child (the switch frame's _NIP): prev in r3, r1
# at the interrupt frame copy_thread built; the tracer may have changed the
# non-volatiles, and r3 = 0 is fork's result in the child.
ret_from_fork:
    REST_NVGPRS r1
    call_c schedule_tail
    li r3, 0
    b ret_from_syscall

# A task started by kernel_thread (user_mode_thread() in Linux: it may exec
# and then return to user mode as from execve): fn in r14, its argument in
# r15 (the switch frame copy_thread left).
ret_from_kernel_user_thread:
    call_c schedule_tail
    mtctr r14
    mr r3, r15
    bctrl
    li r3, 0
    b ret_from_syscall

# ---------------------------------------------------------------------------
# The common return from an exception or interrupt (r1 = its frame).
interrupt_return:
    lwz r4, _MSR(r1)
    addi r3, r1, STACK_INT_FRAME_REGS
    andi. r0, r4, MSR_PR
    beq .Lkernel_interrupt_return
    call_c interrupt_exit_user_prepare
    cmpwi r3, 0
    bne- .Lrestore_nvgprs

.Lfast_user_interrupt_return:
    lwz r11, _NIP(r1)
    lwz r12, _MSR(r1)
    mtspr SPRN_SRR0, r11
    mtspr SPRN_SRR1, r12
    stwcx. r0, 0, r1                # drop any lwarx reservation
    lwz r3, _CCR(r1)
    lwz r4, _LINK(r1)
    lwz r5, _CTR(r1)
    lwz r6, _XER(r1)
    li r0, 0
    # a stale exception marker would confuse the unwinder
    stw r0, STACK_INT_FRAME_MARKER(r1)
    REST_GPRS 7, 12, r1
    mtcr r3
    mtlr r4
    mtctr r5
    mtspr SPRN_XER, r6
    REST_GPRS 2, 6, r1
    REST_GPR 0, r1
    REST_GPR 1, r1
    rfi

.Lrestore_nvgprs:
    REST_NVGPRS r1
    b .Lfast_user_interrupt_return

.Lkernel_interrupt_return:
    call_c interrupt_exit_kernel_prepare
    lwz r11, _NIP(r1)
    lwz r12, _MSR(r1)
    mtspr SPRN_SRR0, r11
    mtspr SPRN_SRR1, r12
    stwcx. r0, 0, r1                # drop any lwarx reservation
    lwz r3, _LINK(r1)
    lwz r4, _CTR(r1)
    lwz r5, _XER(r1)
    lwz r6, _CCR(r1)
    li r0, 0
    REST_GPRS 7, 12, r1
    mtlr r3
    mtctr r4
    mtspr SPRN_XER, r5
    stw r0, STACK_INT_FRAME_MARKER(r1)
    REST_GPRS 2, 5, r1
    mtcr r6
    REST_GPR 6, r1
    REST_GPR 0, r1
    REST_GPR 1, r1
    rfi

# ---------------------------------------------------------------------------
# __switch_to(prev, next) -> last: the tail of C __switch_to(), which calls
# _switch(&prev->thread, &next->thread) with interrupts disabled.
__switch_to:
    addi r3, r3, THREAD
    addi r4, r4, THREAD
# _switch (switch.S): the non-volatiles, CR and the return address go to a
# switch frame on the old stack, whose address is the old thread.ksp; the new
# thread's frame gives them back. Also switches current (r2) and SPRG_THREAD.
_switch:
    stwu r1, -STACK_SWITCH_FRAME_SIZE(r1)     # PPC_CREATE_STACK_FRAME
    mflr r0
    stw r0, STACK_SWITCH_FRAME_SIZE + 4(r1)
    stw r1, KSP(r3)                 # prev->thread.ksp: where it resumes
    SAVE_NVGPRS r1
    stw r0, _NIP(r1)                # prev comes back out through its lr
    mfcr r0
    stw r0, _CCR(r1)
    # do_switch_32
    mtspr SPRN_SPRG_THREAD, r4      # next's thread, for the entry prologs
    lwz r1, KSP(r4)                 # now on next's switch frame
    mr r3, r2                       # the old current: the return value
    addi r2, r4, -THREAD            # r2 = next: the new current
    lwz r0, _CCR(r1)
    mtcrf 0xff, r0
    REST_NVGPRS r1
    lwz r0, _NIP(r1)                # next goes on where its own _switch left off
    mtlr r0
    addi r1, r1, STACK_SWITCH_FRAME_SIZE
    blr

# ---------------------------------------------------------------------------
# __copy_tofrom_user(to = r3, from = r4, n = r5) -> r3 = the bytes not copied
# (lib/copy_32.S, reduced to a byte loop: the callers checked access_ok, the
# user BAT is valid in supervisor state, and no fault can occur). Runs with
# interrupts enabled.
__copy_tofrom_user:
    cmplwi r5, 0
    beq 2f
    mtctr r5
    addi r4, r4, -1
    addi r6, r3, -1
1:  lbzu r0, 1(r4)
    stbu r0, 1(r6)
    bdnz 1b
2:  li r3, 0
    blr

# ---------------------------------------------------------------------------
# load_up_mmu (head_book3s_32.S), run once by the CPU model at boot in real
# mode: r3 = SDR1 (an empty hash table: nothing maps through the segments),
# r4/r5 = the kernel BAT pair (supervisor only), r6/r7 = the user BAT pair.
# The segment registers keep VSID 0 (no hash PTE will match).
load_up_mmu:
    sync
    mtspr SPRN_SDR1, r3
    li r0, 0
    mtspr SPRN_IBAT0U, r0           # invalidate before loading
    mtspr SPRN_DBAT0U, r0
    mtspr SPRN_IBAT1U, r0
    mtspr SPRN_DBAT1U, r0
    isync
    mtspr SPRN_IBAT0L, r5
    mtspr SPRN_IBAT0U, r4
    mtspr SPRN_DBAT0L, r5
    mtspr SPRN_DBAT0U, r4
    mtspr SPRN_IBAT1L, r7
    mtspr SPRN_IBAT1U, r6
    mtspr SPRN_DBAT1L, r7
    mtspr SPRN_DBAT1U, r6
    isync
    blr
load_up_mmu_done:
    nop

# ---------------------------------------------------------------------------
# vDSO (vdso/sigtramp32.S): position independent, copied into every new mm.
# The return address (LR) of a signal handler (sigreturn for the old frame,
# rt_sigreturn for SA_SIGINFO): the kernel never uses sa_restorer. The nop in
# front of each extends the unwind range over the "call".
    .balign 16
__vdso_start:
    nop
__kernel_sigtramp32:
    li r0, __NR_sigreturn
    sc
    nop
__kernel_sigtramp_rt32:
    li r0, __NR_rt_sigreturn
    sc
__vdso_end:
