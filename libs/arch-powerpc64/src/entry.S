# PowerPC 64-bit (book3s_64, bare metal: the kernel runs in hypervisor mode, as
# powernv does) entry glue: the real-mode exception vectors the CPU model
# delivers (DSI 0x300, ISI 0x400, external 0x500 with HSRRs, program 0x700,
# system call 0xc00, emulation assist 0xe40 with HSRRs), their common prolog
# building pt_regs, system_call_common / .Lsyscall_exit, interrupt_return_srr
# and _hsrr (user and kernel), ret_from_fork, ret_from_kernel_user_thread,
# _switch, the MMU set-up of early boot, and the vDSO's
# __kernel_start_sigtramp_rt64. GNU as syntax (-a64 -mregnames -mpower10),
# the kernel built for the ELFv2 ABI (PPC64_BIG_ENDIAN_ELF_ABI_V2, default y).
#
# Follows arch/powerpc/kernel/exceptions-64s.S, interrupt_64.S and switch.S
# of Linux 6.18 with CONFIG_INTERRUPT_SANITIZE_REGISTERS (powernv's default:
# user registers are zeroed once saved, the non-volatiles restored on every
# exit). The C half (entry.ts) is system_call_exception(), syscall_exit_prepare()
# and interrupt_exit_{user,kernel}_prepare() with powerpc's own exit loop.
# Left out, as the kit does not model them: KVM tests, the PPR, CFAR (orig_gpr3
# of an exception is 0), KUAP/AMR, L1D/entry flushes, the TOC (nothing here is
# TOC-relative), and the lazy (soft) interrupt mask: local_irq_disable() acts
# on MSR[EE] itself, so irq_soft_mask/irq_happened, the masked-interrupt
# handlers and the exit restart tables have nothing to do; the exits take the
# path Linux takes when interrupt_exit_not_reentrant is set (EE and RI hard
# disabled by prep_irq_for_enabled_exit() before the rfid).
#
# r13 is the PACA (HSPRG0 in hypervisor mode) while in the kernel; the user's
# r13 (its TLS pointer) lives in pt_regs. The kernel and the user region are
# identity mapped by a radix tree (the kernel's pages privileged): the real-mode
# vectors and the virtual-mode code see the same addresses.

    .abiversion 2

# asm/reg.h
.equ MSR_EE, 0x8000
.equ MSR_PR, 0x4000
.equ MSR_RI, 0x2
.equ SPRN_XER, 1
.equ SPRN_DSISR, 18
.equ SPRN_DAR, 19
.equ SPRN_SRR0, 26
.equ SPRN_SRR1, 27
.equ SPRN_PID, 48
.equ SPRN_SPRG_SCRATCH0, 274        # SPRG2
.equ SPRN_SPRG_HPACA, 304           # HSPRG0
.equ SPRN_HSRR0, 314
.equ SPRN_HSRR1, 315
.equ SPRN_LPCR, 318
.equ SPRN_LPID, 319
.equ SPRN_PTCR, 464
.equ DSISR_SRR1_MATCH_64S, 0x40000000 | 0x10000000 | 0x08000000 | 0x00200000 | 0x00080000
.equ IRQS_ENABLED, 0
.equ IRQS_DISABLED, 1

# asm/interrupt.h
.equ INTERRUPT_DATA_STORAGE, 0x300
.equ INTERRUPT_INST_STORAGE, 0x400
.equ INTERRUPT_EXTERNAL, 0x500
.equ INTERRUPT_PROGRAM, 0x700
.equ INTERRUPT_SYSCALL, 0xc00
.equ INTERRUPT_H_EMUL_ASSIST, 0xe40

# asm/ptrace.h, ELFv2: a 32-byte minimal frame and 16 more bytes under pt_regs;
# the user interrupt frame ends at the stack top; a kernel interrupt frame
# also leaves the kernel's 288-byte red zone.
.equ STACK_FRAME_MIN_SIZE, 32
.equ STACK_FRAME_LR_SAVE, 16
.equ STACK_INT_FRAME_REGS, STACK_FRAME_MIN_SIZE + 16
.equ STACK_INT_FRAME_MARKER, STACK_FRAME_MIN_SIZE
.equ STACK_USER_INT_FRAME_SIZE, PT_REGS_SIZE + STACK_FRAME_MIN_SIZE + 16
.equ KERNEL_REDZONE_SIZE, 288
.equ INT_FRAME_SIZE, KERNEL_REDZONE_SIZE + STACK_USER_INT_FRAME_SIZE
.equ STACK_SWITCH_FRAME_REGS, STACK_FRAME_MIN_SIZE + 16
.equ STACK_SWITCH_FRAME_SIZE, PT_REGS_SIZE + STACK_FRAME_MIN_SIZE + 16
.equ __SIGNAL_FRAMESIZE, 128
.equ STACK_FRAME_REGS_MARKER, 0x52454753      # "REGS"
.equ THREAD_SHIFT, 14

# asm-offsets.c: pt_regs slots relative to the frame pointer (r1)
.equ GPR0, STACK_INT_FRAME_REGS + PT_GPR0
.equ GPR1, STACK_INT_FRAME_REGS + PT_GPR1
.equ GPR2, STACK_INT_FRAME_REGS + PT_GPR2
.equ GPR3, STACK_INT_FRAME_REGS + PT_GPR3
.equ GPR9, STACK_INT_FRAME_REGS + PT_GPR9
.equ GPR10, STACK_INT_FRAME_REGS + PT_GPR10
.equ GPR11, STACK_INT_FRAME_REGS + PT_GPR11
.equ GPR12, STACK_INT_FRAME_REGS + PT_GPR12
.equ GPR13, STACK_INT_FRAME_REGS + PT_GPR13
.equ _NIP, STACK_INT_FRAME_REGS + PT_NIP
.equ _MSR, STACK_INT_FRAME_REGS + PT_MSR
.equ ORIG_GPR3, STACK_INT_FRAME_REGS + PT_ORIG_GPR3
.equ _CTR, STACK_INT_FRAME_REGS + PT_CTR
.equ _LINK, STACK_INT_FRAME_REGS + PT_LINK
.equ _XER, STACK_INT_FRAME_REGS + PT_XER
.equ _CCR, STACK_INT_FRAME_REGS + PT_CCR
.equ SOFTE, STACK_INT_FRAME_REGS + PT_SOFTE
.equ _TRAP, STACK_INT_FRAME_REGS + PT_TRAP
.equ _DAR, STACK_INT_FRAME_REGS + PT_DAR
.equ _DSISR, STACK_INT_FRAME_REGS + PT_DSISR
.equ RESULT, STACK_INT_FRAME_REGS + PT_RESULT
.equ THREAD, TASK_THREAD
.equ KSP, THREAD_SP

# The PACA (struct paca_struct), reduced to what the glue uses, at the start
# of the arch's kernel data: the kernel stack of the next entry from user mode,
# current, the MSR the kernel runs with, r1 at the exit, the save area of the
# exception prologs (exception-64s.h EX_*).
.equ PACAKSAVE, 0
.equ PACACURRENT, 8
.equ PACAKMSR, 16
.equ PACA_EXIT_SAVE_R1, 24
.equ PACA_EXGEN, 32
.equ EX_R9, 0
.equ EX_R10, 8
.equ EX_R11, 16
.equ EX_R12, 24
.equ EX_R13, 32
.equ EX_DAR, 40
.equ EX_DSISR, 48
.equ EX_CTR, 72

.if (PT_GPR31 != 31 * 8) || (PT_GPR0 != 0) || (STACK_SWITCH_FRAME_REGS != STACK_INT_FRAME_REGS)
.error "pt_regs layout is not the gpr order this glue assumes"
.endif
.if (SF_GPR14 != STACK_SWITCH_FRAME_REGS + PT_GPR14) || (SF_NIP != STACK_SWITCH_FRAME_REGS + PT_NIP) || (SF_CCR != STACK_SWITCH_FRAME_REGS + PT_CCR)
.error "arch.json switchFrame is not _switch's frame"
.endif
# (the prelude's SWITCH_FRAME_SIZE is arch.json's switchFrame.size)
.if (STACK_SWITCH_FRAME_SIZE + STACK_INT_FRAME_REGS != SWITCH_FRAME_SIZE) || (SF_INT_MARKER != STACK_SWITCH_FRAME_SIZE + STACK_INT_FRAME_MARKER)
.error "arch.json switchFrame must cover _switch's frame and the header of the user interrupt frame above it"
.endif

# ppc_asm.h (64-bit), CONFIG_INTERRUPT_SANITIZE_REGISTERS
.macro SAVE_GPRS start, end, base
    .Lreg = \start
    .rept (\end - \start + 1)
    std .Lreg, GPR0 + 8 * .Lreg(\base)
    .Lreg = .Lreg + 1
    .endr
.endm
.macro REST_GPRS start, end, base
    .Lreg = \start
    .rept (\end - \start + 1)
    ld .Lreg, GPR0 + 8 * .Lreg(\base)
    .Lreg = .Lreg + 1
    .endr
.endm
.macro ZEROIZE_GPRS start, end
    .Lreg = \start
    .rept (\end - \start + 1)
    li .Lreg, 0
    .Lreg = .Lreg + 1
    .endr
.endm
.macro SAVE_NVGPRS base
    SAVE_GPRS 14, 31, \base
.endm
.macro REST_NVGPRS base
    REST_GPRS 14, 31, \base
.endm
.macro LOAD_REG_IMMEDIATE reg, expr
    lis \reg, (\expr)@highest
    ori \reg, \reg, (\expr)@higher
    rldicr \reg, \reg, 32, 31
    oris \reg, \reg, (\expr)@h
    ori \reg, \reg, (\expr)@l
.endm

# call_c sym: a call into C. Linux writes `bl CFUNC(sym)`; the C functions
# here are absolute symbols at stub addresses, which GNU as does not relocate
# in a pc-relative `bl`: `bla` (branch absolute and link) reaches them from
# anywhere, whatever the base.
.macro call_c sym
    bla \sym
.endm

# ---------------------------------------------------------------------------
# GEN_INT_ENTRY (exceptions-64s.S), the real-mode part in the vector: r13 =
# the PACA, r9-r13 and CTR in its save area, r9 = CR, r11/r12 = [H]SRR0/1,
# then on to the common part.
.macro GEN_INT_ENTRY name, hsrr=0, dar=0, dsisr=0
    mtspr SPRN_SPRG_SCRATCH0, r13   # SET_SCRATCH0
    mfspr r13, SPRN_SPRG_HPACA      # GET_PACA (hypervisor mode: HSPRG0)
    std r9, PACA_EXGEN + EX_R9(r13)
    std r10, PACA_EXGEN + EX_R10(r13)
    mfctr r10
    std r10, PACA_EXGEN + EX_CTR(r13)
    mfcr r9
    std r11, PACA_EXGEN + EX_R11(r13)
    std r12, PACA_EXGEN + EX_R12(r13)
    mfspr r10, SPRN_SPRG_SCRATCH0   # GET_SCRATCH0
    std r10, PACA_EXGEN + EX_R13(r13)
    .if \dar
    mfspr r10, SPRN_DAR
    std r10, PACA_EXGEN + EX_DAR(r13)
    .endif
    .if \dsisr
    mfspr r10, SPRN_DSISR
    stw r10, PACA_EXGEN + EX_DSISR(r13)
    .endif
    .if \hsrr
    mfspr r11, SPRN_HSRR0
    mfspr r12, SPRN_HSRR1
    .else
    mfspr r11, SPRN_SRR0
    mfspr r12, SPRN_SRR1
    .endif
    LOAD_REG_IMMEDIATE r10, \name\()_common_real
    mtctr r10
    bctr
.endm

# __GEN_COMMON_ENTRY + __GEN_COMMON_BODY: relocation on (MSR[RI] clear while
# the SRRs are live), the stack (the task's kernel stack from user mode, under
# r1 past the red zone from the kernel), pt_regs, the registers sanitized once
# saved, the trap word and the REGS marker; r3 = regs for the handler.
.macro GEN_COMMON name, vec, hsrr=0, dar=0, dsisr=0, iside=0
\name\()_common_real:
    ld r10, PACAKMSR(r13)           # MSR value for the kernel
    .if ! \hsrr
    xori r10, r10, MSR_RI
    .endif
    mtmsrd r10
    andi. r10, r12, MSR_PR          # from user mode?
    mr r10, r1
    subi r1, r1, INT_FRAME_SIZE     # from the kernel: a frame on its stack
    beq- 100f
    ld r1, PACAKSAVE(r13)           # the kernel stack to use
100:
    std r9, _CCR(r1)
    std r11, _NIP(r1)
    std r12, _MSR(r1)
    std r10, 0(r1)                  # back chain
    std r0, GPR0(r1)
    std r10, GPR1(r1)
    li r0, 0                        # SANITIZE_GPR(0)
    ld r9, PACA_EXGEN + EX_R9(r13)
    ld r10, PACA_EXGEN + EX_R10(r13)
    std r9, GPR9(r1)
    std r10, GPR10(r1)
    ld r9, PACA_EXGEN + EX_R11(r13)
    ld r10, PACA_EXGEN + EX_R12(r13)
    ld r11, PACA_EXGEN + EX_R13(r13)
    std r9, GPR11(r1)
    std r10, GPR12(r1)
    std r11, GPR13(r1)
    ZEROIZE_GPRS 9, 12
    SAVE_NVGPRS r1
    ZEROIZE_GPRS 14, 31
    .if \dar
    .if \iside
    ld r10, _NIP(r1)
    .else
    ld r10, PACA_EXGEN + EX_DAR(r13)
    .endif
    std r10, _DAR(r1)
    .endif
    .if \dsisr
    .if \iside
    ld r10, _MSR(r1)
    lis r11, DSISR_SRR1_MATCH_64S@h
    and r10, r10, r11
    .else
    lwz r10, PACA_EXGEN + EX_DSISR(r13)
    .endif
    std r10, _DSISR(r1)
    .endif
    li r10, 0                       # no CFAR: orig_gpr3 0
    std r10, ORIG_GPR3(r1)
    ld r10, PACA_EXGEN + EX_CTR(r13)
    std r10, _CTR(r1)
    SAVE_GPRS 2, 8, r1
    ZEROIZE_GPRS 2, 8
    mflr r9
    std r9, _LINK(r1)
    # softe: the soft mask the model does not keep, as the interrupted MSR[EE] implies it
    ld r10, _MSR(r1)
    rldicl r10, r10, 49, 63         # MSR[EE]
    xori r10, r10, 1                # IRQS_ENABLED (0) / IRQS_DISABLED (1)
    mfspr r11, SPRN_XER
    std r10, SOFTE(r1)
    std r11, _XER(r1)
    li r9, \vec
    std r9, _TRAP(r1)
    li r10, 0
    LOAD_REG_IMMEDIATE r11, STACK_FRAME_REGS_MARKER
    std r10, RESULT(r1)             # no result yet
    std r11, STACK_INT_FRAME_MARKER(r1)
    addi r3, r1, STACK_INT_FRAME_REGS
.endm

# ---------------------------------------------------------------------------
# The real-mode vectors (LPCR[AIL] = 0), at their architectural offsets. The
# CPU model delivers only these; anything else stops the run.
    .text
_stext:

    .org INTERRUPT_DATA_STORAGE
data_access:
    GEN_INT_ENTRY data_access, dar=1, dsisr=1

    .org INTERRUPT_INST_STORAGE
instruction_access:
    GEN_INT_ENTRY instruction_access

# in hypervisor mode the external interrupt uses HSRR0/HSRR1 (IHSRR_IF_HVMODE)
    .org INTERRUPT_EXTERNAL
hardware_interrupt:
    GEN_INT_ENTRY hardware_interrupt, hsrr=1

    .org INTERRUPT_PROGRAM
program_check:
    GEN_INT_ENTRY program_check

# SYSTEM_CALL 0: r9 = the user r13, r13 = the PACA, r11/r12 = SRR0/SRR1
    .org INTERRUPT_SYSCALL
system_call:
    mr r9, r13
    mfspr r13, SPRN_SPRG_HPACA
    mfspr r11, SPRN_SRR0
    mfspr r12, SPRN_SRR1
    LOAD_REG_IMMEDIATE r10, system_call_common_real
    mtctr r10
    bctr

# hypervisor emulation assistance (an illegal instruction in hypervisor mode):
# 0x20 bytes, out of line (EXC_REAL_OOL_HV)
    .org INTERRUPT_H_EMUL_ASSIST
emulation_assist:
    b tramp_real_emulation_assist

    .org 0x3000
tramp_real_emulation_assist:
    GEN_INT_ENTRY emulation_assist, hsrr=1

# ---------------------------------------------------------------------------
    GEN_COMMON data_access, INTERRUPT_DATA_STORAGE, dar=1, dsisr=1
    call_c do_page_fault
    b interrupt_return_srr

    GEN_COMMON instruction_access, INTERRUPT_INST_STORAGE, dar=1, dsisr=1, iside=1
    call_c do_page_fault
    b interrupt_return_srr

    GEN_COMMON hardware_interrupt, INTERRUPT_EXTERNAL, hsrr=1
    call_c do_IRQ
    b interrupt_return_hsrr

    GEN_COMMON program_check, INTERRUPT_PROGRAM
    call_c program_check_exception
    b interrupt_return_srr

    GEN_COMMON emulation_assist, INTERRUPT_H_EMUL_ASSIST, hsrr=1
    call_c emulation_assist_interrupt
    b interrupt_return_hsrr

# ---------------------------------------------------------------------------
# interrupt_64.S. r9 = the user r13, r11 = SRR0, r12 = SRR1, r13 = the PACA,
# r0 = the syscall number, r3..r8 its arguments.
system_call_common_real:
    ld r10, PACAKMSR(r13)           # relocation on
    mtmsrd r10

system_call_common:
    mr r10, r1
    ld r1, PACAKSAVE(r13)
    std r10, 0(r1)
    std r11, _NIP(r1)
    std r12, _MSR(r1)
    std r0, GPR0(r1)
    std r10, GPR1(r1)
    std r2, GPR2(r1)
    mfcr r12
    li r11, 0
    SAVE_GPRS 3, 8, r1              # syscall parameters
    # zero r9-r12: only needed when everything is restored
    std r11, GPR9(r1)
    std r11, GPR10(r1)
    std r11, GPR11(r1)
    std r11, GPR12(r1)
    std r9, GPR13(r1)
    SAVE_NVGPRS r1
    std r11, _XER(r1)
    std r11, _CTR(r1)
    mflr r10
    rldimi r12, r11, 28, (63 - 28)  # clear CR0.SO, the error flag of this call
    li r11, INTERRUPT_SYSCALL
    std r10, _LINK(r1)
    std r11, _TRAP(r1)
    std r12, _CCR(r1)
    std r3, ORIG_GPR3(r1)
    LOAD_REG_IMMEDIATE r11, STACK_FRAME_REGS_MARKER
    std r11, STACK_INT_FRAME_MARKER(r1)
    # system_call_exception(regs, r0)
    addi r3, r1, STACK_INT_FRAME_REGS
    mr r4, r0
    li r0, 0                        # SANITIZE_SYSCALL_GPRS
    ZEROIZE_GPRS 5, 12
    ZEROIZE_GPRS 14, 31
    call_c system_call_exception

.Lsyscall_exit:
    # syscall_exit_prepare(r3, regs, scv = 0): non-zero means restore everything
    addi r4, r1, STACK_INT_FRAME_REGS
    li r5, 0
    call_c syscall_exit_prepare
    std r1, PACA_EXIT_SAVE_R1(r13)
    ld r2, _CCR(r1)
    ld r6, _LINK(r1)
    mtlr r6
    ld r4, _NIP(r1)
    ld r5, _MSR(r1)
    mtspr SPRN_SRR0, r4
    mtspr SPRN_SRR1, r5
    stdcx. r0, 0, r1                # drop any ldarx reservation
    REST_NVGPRS r1                  # SANITIZE_RESTORE_NVGPRS
    cmpdi r3, 0
    bne .Lsyscall_restore_regs
    # zero the volatile registers that may hold kernel data
    li r0, 0
    ZEROIZE_GPRS 4, 12
    mtctr r0
    mtspr SPRN_XER, r0
.Lsyscall_restore_regs_cont:
    mtcr r2
    REST_GPRS 2, 3, r1
    REST_GPRS 13, 13, r1
    REST_GPRS 1, 1, r1
    rfid                            # RFI_TO_USER
    b .

.Lsyscall_restore_regs:
    ld r3, _CTR(r1)
    ld r4, _XER(r1)
    mtctr r3
    mtspr SPRN_XER, r4
    REST_GPRS 0, 0, r1
    REST_GPRS 4, 12, r1
    b .Lsyscall_restore_regs_cont

# ---------------------------------------------------------------------------
# interrupt_return_srr / interrupt_return_hsrr (r1 = the frame): the exit work
# and rfid/hrfid to user mode, or back to the interrupted kernel code.
.macro interrupt_return_macro srr
interrupt_return_\srr\():
    ld r4, _MSR(r1)
    andi. r0, r4, MSR_PR
    beq interrupt_return_\srr\()_kernel
interrupt_return_\srr\()_user:
    addi r3, r1, STACK_INT_FRAME_REGS
    call_c interrupt_exit_user_prepare
    std r1, PACA_EXIT_SAVE_R1(r13)
.Lfast_user_interrupt_return_\srr\():
    REST_NVGPRS r1                  # SANITIZE_RESTORE_NVGPRS
    ld r11, _NIP(r1)
    ld r12, _MSR(r1)
    .ifc \srr,srr
    mtspr SPRN_SRR0, r11
    mtspr SPRN_SRR1, r12
    .else
    mtspr SPRN_HSRR0, r11
    mtspr SPRN_HSRR1, r12
    .endif
    stdcx. r0, 0, r1                # drop any ldarx reservation
    ld r3, _CCR(r1)
    ld r4, _LINK(r1)
    ld r5, _CTR(r1)
    ld r6, _XER(r1)
    li r0, 0
    REST_GPRS 7, 13, r1
    mtcr r3
    mtlr r4
    mtctr r5
    mtspr SPRN_XER, r6
    REST_GPRS 2, 6, r1
    REST_GPRS 0, 0, r1
    REST_GPRS 1, 1, r1
    .ifc \srr,srr
    rfid                            # RFI_TO_USER
    .else
    hrfid                           # HRFI_TO_USER
    .endif
    b .

interrupt_return_\srr\()_kernel:
    addi r3, r1, STACK_INT_FRAME_REGS
    call_c interrupt_exit_kernel_prepare
    std r1, PACA_EXIT_SAVE_R1(r13)
    REST_NVGPRS r1                  # SANITIZE_RESTORE_NVGPRS
    ld r11, _NIP(r1)
    ld r12, _MSR(r1)
    .ifc \srr,srr
    mtspr SPRN_SRR0, r11
    mtspr SPRN_SRR1, r12
    .else
    mtspr SPRN_HSRR0, r11
    mtspr SPRN_HSRR1, r12
    .endif
    stdcx. r0, 0, r1                # drop any ldarx reservation
    ld r3, _LINK(r1)
    ld r4, _CTR(r1)
    ld r5, _XER(r1)
    ld r6, _CCR(r1)
    li r0, 0
    REST_GPRS 7, 12, r1
    mtlr r3
    mtctr r4
    mtspr SPRN_XER, r5
    # a stale REGS marker would confuse the reliable unwinder
    std r0, STACK_INT_FRAME_MARKER(r1)
    REST_GPRS 2, 5, r1
    mtcr r6
    REST_GPRS 6, 6, r1
    REST_GPRS 0, 0, r1
    REST_GPRS 1, 1, r1
    .ifc \srr,srr
    rfid                            # RFI_TO_KERNEL
    .else
    hrfid                           # HRFI_TO_KERNEL
    .endif
    b .
.endm

    interrupt_return_macro srr
    interrupt_return_macro hsrr

# ---------------------------------------------------------------------------
# First return of a forked child (the switch frame's _NIP): prev in r3, r1 at
# the frame copy_thread built; fork's 0 in r3. The non-volatiles come back in
# the syscall exit (SANITIZE_RESTORE_NVGPRS).
ret_from_fork:
    call_c schedule_tail
    li r3, 0
    b .Lsyscall_exit

# A task started by kernel_thread (user_mode_thread() in Linux: it may exec and
# return to user mode as from execve): fn in r14 (ELFv2: also r12, its global
# entry), its argument in r15.
ret_from_kernel_user_thread:
    call_c schedule_tail
    mtctr r14
    mr r3, r15
    mr r12, r14
    bctrl
    li r3, 0
    b .Lsyscall_exit

# ---------------------------------------------------------------------------
# __switch_to(prev, next) -> last: the tail of C __switch_to(), which calls
# _switch(&prev->thread, &next->thread) with interrupts disabled.
__switch_to:
    addi r3, r3, THREAD
    addi r4, r4, THREAD
# _switch (switch.S): the non-volatiles, CR and the return address in a switch
# frame on the old stack (thread.ksp); do_switch_64: current and the kernel
# stack of the next entry from user mode in the PACA, the new frame back.
_switch:
    mflr r0                         # PPC_CREATE_STACK_FRAME
    std r0, STACK_FRAME_LR_SAVE(r1)
    stdu r1, -STACK_SWITCH_FRAME_SIZE(r1)
    std r1, KSP(r3)                 # prev->thread.ksp: where it resumes
    SAVE_NVGPRS r1
    std r0, _NIP(r1)                # prev comes back out through its lr
    mfcr r0
    stw r0, _CCR(r1)
    # do_switch_64
    ld r8, KSP(r4)                  # next's switch frame
    addi r3, r3, -THREAD            # old thread -> task_struct: the return value
    addi r6, r4, -THREAD            # next's task_struct
    std r6, PACACURRENT(r13)        # next is now current on this cpu
    clrrdi r7, r8, THREAD_SHIFT     # bottom of next's kernel stack
    addi r7, r7, THREAD_SIZE - STACK_SWITCH_FRAME_SIZE
    std r7, PACAKSAVE(r13)          # next's entries from user mode land here
    mr r1, r8                       # from here on, next's stack
    lwz r0, _CCR(r1)
    mtcrf 0xff, r0
    REST_NVGPRS r1
    ld r0, _NIP(r1)                 # next goes on where its own _switch left off
    mtlr r0
    addi r1, r1, STACK_SWITCH_FRAME_SIZE
    blr

# ---------------------------------------------------------------------------
# __copy_tofrom_user(to = r3, from = r4, n = r5) -> r3 = the bytes not copied
# (lib/copyuser_64.S, reduced to a byte loop: the callers checked access_ok and
# no fault can occur). Runs with interrupts enabled.
__copy_tofrom_user:
    cmpldi r5, 0
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
# early_setup: the MMU and PACA set-up of early boot, run once by the CPU model
# in hypervisor real mode: r3 = PTCR (the partition table), r4 = the LPCR bits
# to set (HR: radix host, UPRT: process table), r5 = PIDR, r6 = the PACA.
early_setup:
    mtspr SPRN_PTCR, r3
    li r0, 0
    mtspr SPRN_LPID, r0
    mfspr r7, SPRN_LPCR
    or r7, r7, r4
    mtspr SPRN_LPCR, r7
    mtspr SPRN_PID, r5
    mtspr SPRN_SPRG_HPACA, r6
    isync
    blr
early_setup_done:
    nop

# ---------------------------------------------------------------------------
# vDSO (vdso/sigtramp64.S): position independent, copied into every new mm.
# The kernel starts a signal handler here with the handler in CTR; the handler
# returns to __kernel_sigtramp_rt64, which pops the dummy caller frame and
# calls rt_sigreturn (sa_restorer is never used).
    .balign 8
__vdso_start:
__kernel_start_sigtramp_rt64:
    bctrl                           # call the handler
__kernel_sigtramp_rt64:
    addi r1, r1, __SIGNAL_FRAMESIZE
    li r0, __NR_rt_sigreturn
    sc
    .long 0, 0, 0
    .quad 0, -21 * 8
__vdso_end:
