! SPARC V9 (sparc64) entry glue, GNU as syntax (sparc64-linux-gnu-as -64 -Av9).
!
! Follows Linux 6.18's arch/sparc/kernel/{ttable_64.S and asm/ttable.h (the trap table,
! the spill/fill handlers), etrap_64.S, rtrap_64.S, syscalls.S, winfixup.S, urtt_fill.S}
! and asm/switch_to_64.h. sparc64 does not select GENERIC_ENTRY: rtrap loops over
! _TIF_USER_WORK_MASK itself, calling schedule(), do_notify_resume(regs, orig_i0, flags) and
! fault_in_user_windows() (model "arch").
!
! The CPU does the V9 trap (the CPU model calls QEMU's own trap entry, which Unicorn skips):
! TL + 1, TSTATE/TPC/TNPC/TT of the new level, PSTATE = PRIV|PEF|AG (the alternate globals:
! the trap-time globals stay untouched), pc = %tba + TT * 32. Register windows are the
! CPU's: save/restore raise the spill/fill traps handled here, `done`/`retry` go back.
!
! The kit's layout, where it differs from Linux's: %g6 in the kernel is current's
! task_struct, which starts with thread_info's flags word (TI_FLAGS) and its byte fields
! (TI_WSTATE, TI_SYS_NOERROR, TI_FPDEPTH, TI_CWP, TI_WSAVED; %g4, Linux's current task, is
! the same address); ksp, kregs and new_child are in the arch's thread part of it; the
! window buffer (reg_window[], rwbuf_stkptrs[]) sits at the bottom of the kernel stack,
! where Linux keeps all of thread_info. The MMU is off (no ASI_AIUP/ASI_AIUS faults to
! fix up): a user stack access in a spill/fill handler is a range check of the user %sp
! against the user region first, and the fault paths are winfixup.S's. No FPU state is
! ever live (user PSTATE.PEF is cleared at exec), so the VIS/FPU save and restore paths
! keep only their bookkeeping. No sun4v, no MMU contexts, no per-cpu base in %g5.
!
! Constants (PT_*, THREAD_*, TASK_*, TIF_*, __NR_*, ...) come from the asm-offsets prelude;
! C functions are externs at stub addresses, called with `call` (the C side returns to
! %o7 + 8, past the delay slot).

! ------------------------------------------------------------------ asm/pstate.h, ptrace.h, head_64.h
.equ PSTATE_AG, 0x001
.equ PSTATE_IE, 0x002
.equ PSTATE_PRIV, 0x004
.equ PSTATE_PEF, 0x010
.equ PSTATE_TSO, 0x000
.equ TSTATE_CWP, 0x1f
.equ TSTATE_SYSCALL, 0x20
.equ TSTATE_IE, 0x200
.equ TSTATE_PRIV, 0x400
.equ TSTATE_PEF, 0x1000
.equ TSTATE_TSO, 0x0
.equ ETRAP_PSTATE1, PSTATE_TSO | PSTATE_PRIV
.equ RTRAP_PSTATE, PSTATE_TSO | PSTATE_PEF | PSTATE_PRIV | PSTATE_IE
.equ RTRAP_PSTATE_IRQOFF, PSTATE_TSO | PSTATE_PEF | PSTATE_PRIV
.equ RTRAP_PSTATE_AG_IRQOFF, PSTATE_TSO | PSTATE_PEF | PSTATE_PRIV | PSTATE_AG
.equ PT_REGS_MAGIC, 0x57ac6c00
.equ PIL_NORMAL_MAX, 14
.equ ASI_P, 0x80
.equ ASI_AIUS, 0x11
.equ FPRS_FEF, 0x4
.equ STACK_BIAS, 2047
.equ STACKFRAME_SZ, 192
.equ TRACEREG_SZ, PT_REGS_SIZE
.equ PTREGS_OFF, STACK_BIAS + STACKFRAME_SZ
.equ TASK_REGOFF, THREAD_SIZE - TRACEREG_SZ - STACKFRAME_SZ
.equ NWINDOWS, 8
.equ ERESTART_RESTARTBLOCK, 516
.equ ENOSYS, 90
! asm/thread_info_64.h fault codes
.equ FAULT_CODE_WRITE, 0x01
.equ FAULT_CODE_DTLB, 0x02
.equ FAULT_CODE_WINFIXUP, 0x08

! thread_info, kit layout (see the header): the byte fields of the big-endian flags word
.equ TI_FAULT_CODE, TI_FLAGS + 0
.equ TI_WSTATE, TI_FLAGS + 1
.equ TI_SYS_NOERROR, TI_FLAGS + 2
.equ TI_FPDEPTH, TI_FLAGS + 3
.equ TI_CWP, TI_FLAGS + 4
.equ TI_WSAVED, TI_FLAGS + 5
.equ TI_KSP, TASK_THREAD + THREAD_KSP
.equ TI_KREGS, TASK_THREAD + THREAD_KREGS
.equ TI_NEW_CHILD, TASK_THREAD + THREAD_NEW_CHILD
.equ NSWINS, 7
.equ KSTK_REG_WINDOW, 0
.equ KSTK_RWIN_SPTRS, NSWINS * 128
! _TIF_USER_WORK_MASK: the wsaved byte too (rtrap faults the buffered windows in)
.equ USER_WORK_MASK, (0xff << 16) | _TIF_USER_WORK_MASK
.equ SYSCALL_WORK, _TIF_SYSCALL_TRACE | _TIF_SECCOMP | _TIF_SYSCALL_AUDIT | _TIF_SYSCALL_TRACEPOINT | _TIF_NOHZ

! ('!' starts a comment in SPARC GNU as: not-equal is '<>')
.if (PT_I0 <> 0x40) || (PT_TSTATE <> 0x80) || (PT_TPC <> 0x88) || (PT_TNPC <> 0x90) || (PT_Y <> 0x98) || (PT_MAGIC <> 0x9c) || (TRACEREG_SZ <> 0xa0) || (TI_FLAGS <> 0) || (TI_KSP & 7)
.error "pt_regs / thread layout is not the one this glue assumes"
.endif

! ------------------------------------------------------------------ helpers
! TRAP_LOAD_THREAD_REG: current, from the kit's per-cpu current_task word
.macro LOAD_CURRENT dest, tmp
	sethi	%hi(PCPU_CURRENT_TASK), %\tmp
	ldx	[%\tmp + %lo(PCPU_CURRENT_TASK)], %\dest
.endm
! The MMU is off: where Linux stores a user window with ASI_AIUP/ASI_AIUS and fixes up the
! fault, a user %sp must first leave an aligned window save area at %sp + STACK_BIAS inside
! the user region (branches to `bad` otherwise). 12 instructions, two scratch registers.
.macro USER_STACK_CHECK reg, t1, t2, bad
	add	%\reg, STACK_BIAS, %\t1
	andcc	%\t1, 7, %g0
	bne,pn	%xcc, \bad
	 sethi	%hi(USER_START), %\t2
	or	%\t2, %lo(USER_START), %\t2
	cmp	%\t1, %\t2
	blu,pn	%xcc, \bad
	 sethi	%hi(USER_END - 128), %\t2
	or	%\t2, %lo(USER_END - 128), %\t2
	cmp	%\t1, %\t2
	bgu,pn	%xcc, \bad
	 nop
.endm
.macro STORE_WINDOW base, off
	stx	%l0, [%\base + \off + 0x00]
	stx	%l1, [%\base + \off + 0x08]
	stx	%l2, [%\base + \off + 0x10]
	stx	%l3, [%\base + \off + 0x18]
	stx	%l4, [%\base + \off + 0x20]
	stx	%l5, [%\base + \off + 0x28]
	stx	%l6, [%\base + \off + 0x30]
	stx	%l7, [%\base + \off + 0x38]
	stx	%i0, [%\base + \off + 0x40]
	stx	%i1, [%\base + \off + 0x48]
	stx	%i2, [%\base + \off + 0x50]
	stx	%i3, [%\base + \off + 0x58]
	stx	%i4, [%\base + \off + 0x60]
	stx	%i5, [%\base + \off + 0x68]
	stx	%i6, [%\base + \off + 0x70]
	stx	%i7, [%\base + \off + 0x78]
.endm
.macro LOAD_WINDOW base, off
	ldx	[%\base + \off + 0x00], %l0
	ldx	[%\base + \off + 0x08], %l1
	ldx	[%\base + \off + 0x10], %l2
	ldx	[%\base + \off + 0x18], %l3
	ldx	[%\base + \off + 0x20], %l4
	ldx	[%\base + \off + 0x28], %l5
	ldx	[%\base + \off + 0x30], %l6
	ldx	[%\base + \off + 0x38], %l7
	ldx	[%\base + \off + 0x40], %i0
	ldx	[%\base + \off + 0x48], %i1
	ldx	[%\base + \off + 0x50], %i2
	ldx	[%\base + \off + 0x58], %i3
	ldx	[%\base + \off + 0x60], %i4
	ldx	[%\base + \off + 0x68], %i5
	ldx	[%\base + \off + 0x70], %i6
	ldx	[%\base + \off + 0x78], %i7
.endm
! The window at %sp into current's window buffer (the kit's: at the bottom of the kernel
! stack); wsaved + 1. %g6 = current; uses %g1, %g3.
.macro BUFFER_WINDOW
	ldub	[%g6 + TI_WSAVED], %g1
	ldx	[%g6 + TASK_STACK], %g3
	sllx	%g1, 3, %g1
	add	%g3, %g1, %g3
	stx	%sp, [%g3 + KSTK_RWIN_SPTRS]
	sub	%g3, %g1, %g3
	sllx	%g1, 4, %g1
	add	%g3, %g1, %g3
	STORE_WINDOW g3, KSTK_REG_WINDOW
	ldub	[%g6 + TI_WSAVED], %g1
	add	%g1, 1, %g1
	stb	%g1, [%g6 + TI_WSAVED]
.endm

! ------------------------------------------------------------------ asm/ttable.h vectors (8 instructions)
.macro TRAP routine
	sethi	%hi(109f), %g7
	ba,pt	%xcc, etrap
109:	 or	%g7, %lo(109b), %g7
	call	\routine
	 add	%sp, PTREGS_OFF, %o0
	ba,pt	%xcc, rtrap
	 nop
	nop
.endm
.macro BTRAP lvl
	sethi	%hi(109f), %g7
	ba,pt	%xcc, etrap
109:	 or	%g7, %lo(109b), %g7
	add	%sp, PTREGS_OFF, %o0
	call	bad_trap
	 mov	\lvl, %o1
	ba,pt	%xcc, rtrap
	 nop
.endm
.macro SYSCALL_TRAP routine, systbl
	rdpr	%pil, %g2
	mov	TSTATE_SYSCALL, %g3
	sethi	%hi(109f), %g7
	ba,pt	%xcc, etrap_syscall
109:	 or	%g7, %lo(109b), %g7
	sethi	%hi(\systbl), %l7
	ba,pt	%xcc, \routine
	 or	%l7, %lo(\systbl), %l7
.endm
.macro TRAP_IRQ routine, level
	rdpr	%pil, %g2
	wrpr	%g0, PIL_NORMAL_MAX, %pil
	ba,pt	%xcc, etrap_irq
	 rd	%pc, %g7
	mov	\level, %o0
	call	\routine
	 add	%sp, PTREGS_OFF, %o1
	ba,a,pt	%xcc, rtrap_irq
.endm
.macro FLUSH_WINDOW_TRAP
	ba,pt	%xcc, etrap
	 rd	%pc, %g7
	flushw
	ldx	[%sp + PTREGS_OFF + PT_TNPC], %l1
	add	%l1, 4, %l2
	stx	%l1, [%sp + PTREGS_OFF + PT_TPC]
	ba,pt	%xcc, rtrap
	 stx	%l2, [%sp + PTREGS_OFF + PT_TNPC]
.endm
! 32 instructions: clean_window, and each spill/fill vector
.macro CLEAN_WINDOW
	rdpr	%cleanwin, %l0
	add	%l0, 1, %l0
	wrpr	%l0, 0x0, %cleanwin
	clr	%o0
	clr	%o1
	clr	%o2
	clr	%o3
	clr	%o4
	clr	%o5
	clr	%o6
	clr	%o7
	clr	%l0
	clr	%l1
	clr	%l2
	clr	%l3
	clr	%l4
	clr	%l5
	clr	%l6
	clr	%l7
	retry
.endm
! a kernel window, to or from the kernel stack
.macro SPILL_0_NORMAL
	STORE_WINDOW sp, STACK_BIAS
	saved
	retry
.endm
.macro FILL_0_NORMAL
	LOAD_WINDOW sp, STACK_BIAS
	restored
	retry
.endm
! a 64-bit user window: from user mode (normal) or from the kernel (other)
.macro SPILL_1_GENERIC
	USER_STACK_CHECK sp, g1, g3, spill_fixup
	STORE_WINDOW sp, STACK_BIAS
	saved
	retry
.endm
.macro FILL_1_GENERIC
	USER_STACK_CHECK sp, g1, g3, fill_fixup
	LOAD_WINDOW sp, STACK_BIAS
	restored
	retry
.endm

	.text
! ------------------------------------------------------------------ the trap table (%tba)
! TL 0: 512 vectors of 8 instructions (32 KiB aligned, %tba); clean_window and each
! spill/fill vector span four. Software traps are 0x100 + the `ta` number: 0x16d is
! `ta 0x6d`, the 64-bit Linux system call; 0x103 is `ta 3`, flush windows. The TL > 0 table
! behind it is empty: the glue never traps at TL 1 (the CPU model reports one as a kernel
! bug, as Linux's bad_trap_tl1 dies).
	.balign 32768
trapbase:
	.set tt, 0
	.rept 512
	.if ((tt > 0x24) && (tt < 0x28)) || ((tt >= 0x80) && (tt < 0x100) && (tt & 3))
	! inside a four-vector handler
	.else
	.org trapbase + tt * 32
	.if tt == 0x08
	TRAP spitfire_insn_access_exception
	.elseif tt == 0x10
	TRAP do_illegal_instruction
	.elseif tt == 0x11
	TRAP do_privop
	.elseif tt == 0x24
	CLEAN_WINDOW
	.elseif tt == 0x34
	TRAP do_mna
	.elseif tt == 0x4e
	TRAP_IRQ timer_interrupt, 14
	.elseif tt == 0x80
	SPILL_0_NORMAL
	.elseif tt == 0x84
	SPILL_1_GENERIC
	.elseif tt == 0xa4
	SPILL_1_GENERIC
	.elseif tt == 0xc0
	FILL_0_NORMAL
	.elseif tt == 0xc4
	FILL_1_GENERIC
	.elseif tt == 0xe4
	FILL_1_GENERIC
	.elseif tt == 0x103
	FLUSH_WINDOW_TRAP
	.elseif tt == 0x16d
	SYSCALL_TRAP linux_sparc_syscall, sys_call_table
	.else
	BTRAP tt
	.endif
	.endif
	.set tt, tt + 1
	.endr
	.org trapbase + 0x4000
sparc64_ttable_tl1:
	.skip 0x4000

! ------------------------------------------------------------------ etrap_64.S
! From a vector at TL 1 (alternate globals): %g7 = the return address - 4, %g2 = the
! trap-time %pil, %g3 = TSTATE_SYSCALL or 0. Builds pt_regs (on the kernel stack when from
! user mode) with the PIL in TSTATE's unused bits 20-23, takes a window for the kernel
! (spilling one by hand when CANSAVE is 0), moves the user windows to OTHERWIN, and goes
! back to TL 0 with `done`, in the new window, normal globals, PSTATE.IE on.
etrap:
	rdpr	%pil, %g2
etrap_irq:
	clr	%g3
etrap_syscall:
	LOAD_CURRENT g6, g1
	rdpr	%tstate, %g1
	or	%g1, %g3, %g1
	sllx	%g2, 20, %g3
	andcc	%g1, TSTATE_PRIV, %g0
	or	%g1, %g3, %g1
	bne,pn	%xcc, 1f
	 sub	%sp, STACKFRAME_SZ + TRACEREG_SZ - STACK_BIAS, %g2
	wrpr	%g0, 7, %cleanwin
	ldx	[%g6 + TASK_STACK], %g2
	sethi	%hi(TASK_REGOFF), %g3
	or	%g3, %lo(TASK_REGOFF), %g3
	add	%g2, %g3, %g2
	sethi	%hi(TSTATE_PEF), %g3
	and	%g1, %g3, %g3
	brnz,pn	%g3, 1f
	 nop
	wr	%g0, 0, %fprs
1:	rdpr	%tpc, %g3
	stx	%g1, [%g2 + STACKFRAME_SZ + PT_TSTATE]
	rdpr	%tnpc, %g1
	stx	%g3, [%g2 + STACKFRAME_SZ + PT_TPC]
	rd	%y, %g3
	stx	%g1, [%g2 + STACKFRAME_SZ + PT_TNPC]
	rdpr	%tt, %g1
	st	%g3, [%g2 + STACKFRAME_SZ + PT_Y]
	sethi	%hi(PT_REGS_MAGIC), %g3
	or	%g3, %g1, %g1
	st	%g1, [%g2 + STACKFRAME_SZ + PT_MAGIC]

	rdpr	%cansave, %g1
	brnz,pt	%g1, etrap_save
	 nop

	! No window free: spill the oldest one (CWP + 2) by hand first.
	rdpr	%cwp, %g1
	add	%g1, 2, %g1
	wrpr	%g1, %cwp
	be,pt	%xcc, etrap_user_spill		! from user mode: a user window
	 nop
	rdpr	%otherwin, %g3
	brz	%g3, etrap_kernel_spill
	 nop
etrap_user_spill:
	USER_STACK_CHECK sp, g3, g5, etrap_spill_fixup
	STORE_WINDOW sp, STACK_BIAS
	saved
	sub	%g1, 2, %g1
	ba,pt	%xcc, etrap_save
	 wrpr	%g1, %cwp
etrap_kernel_spill:
	STORE_WINDOW sp, STACK_BIAS
	saved
	sub	%g1, 2, %g1
	ba,pt	%xcc, etrap_save
	 wrpr	%g1, %cwp
etrap_spill_fixup:
	! a bad user stack: the window waits in the buffer
	mov	%g1, %g5
	BUFFER_WINDOW
	saved
	sub	%g5, 2, %g1
	ba,pt	%xcc, etrap_save
	 wrpr	%g1, %cwp

etrap_save:
	! (kit) the trap's privilege again: the range checks of the spill paths set the
	! condition codes Linux's spill code leaves alone
	rdpr	%tstate, %g3
	andcc	%g3, TSTATE_PRIV, %g0
	save	%g2, -STACK_BIAS, %sp
	mov	%g6, %l6
	bne,pn	%xcc, 3f
	 nop
	! From user mode: the user windows become OTHERWIN, WSTATE.other = the user's normal
	rdpr	%canrestore, %g3
	rdpr	%wstate, %g2
	wrpr	%g0, 0, %canrestore
	sll	%g2, 3, %g2
	! One halfword store: fpdepth byte = 1, noerror byte = 0.
	mov	1, %l5
	sth	%l5, [%l6 + TI_SYS_NOERROR]
	wrpr	%g3, 0, %otherwin
	wrpr	%g2, 0, %wstate
	mov	ASI_AIUS, %l7
2:	mov	%g4, %l4
	mov	%g5, %l5
	add	%g7, 4, %l2

	! Switch back to the globals that were live at the trap, to store them in pt_regs.
	wrpr	%g0, ETRAP_PSTATE1, %pstate

	stx	%g1, [%sp + PTREGS_OFF + PT_G1]
	stx	%g2, [%sp + PTREGS_OFF + PT_G2]
	sllx	%l7, 24, %l7
	stx	%g3, [%sp + PTREGS_OFF + PT_G3]
	rdpr	%cwp, %l0
	stx	%g4, [%sp + PTREGS_OFF + PT_G4]
	stx	%g5, [%sp + PTREGS_OFF + PT_G5]
	stx	%g6, [%sp + PTREGS_OFF + PT_G6]
	stx	%g7, [%sp + PTREGS_OFF + PT_G7]
	or	%l7, %l0, %l7
	sethi	%hi(TSTATE_TSO | TSTATE_PEF), %l0
	or	%l7, %l0, %l7
	wrpr	%l2, %tnpc
	wrpr	%l7, (TSTATE_PRIV | TSTATE_IE), %tstate
	stx	%i0, [%sp + PTREGS_OFF + PT_I0]
	stx	%i1, [%sp + PTREGS_OFF + PT_I1]
	stx	%i2, [%sp + PTREGS_OFF + PT_I2]
	stx	%i3, [%sp + PTREGS_OFF + PT_I3]
	stx	%i4, [%sp + PTREGS_OFF + PT_I4]
	stx	%i5, [%sp + PTREGS_OFF + PT_I5]
	stx	%i6, [%sp + PTREGS_OFF + PT_I6]
	mov	%l6, %g6
	stx	%i7, [%sp + PTREGS_OFF + PT_I7]
	mov	%g6, %g4			! current task (Linux: ldx [%g6 + TI_TASK], %g4)
	done

3:	! From the kernel: one more FPU depth level (nothing to save: no FPU state is live)
	mov	ASI_P, %l7
	ldub	[%l6 + TI_FPDEPTH], %l5
	add	%l5, 2, %l5
	! The same halfword store, with the bumped depth from %l5.
	ba,pt	%xcc, 2b
	 sth	%l5, [%l6 + TI_SYS_NOERROR]

! ------------------------------------------------------------------ rtrap_64.S
! sp at the trap frame, %g6 current. To user mode with PSTATE.IE off the work loop runs
! until no bit of _TIF_USER_WORK_MASK (the wsaved byte included) is left, each piece of
! work with IE on. Then the registers from pt_regs, TL 1 with the saved trap state, the
! user window back in (from the register file when OTHERWIN had it, from the user stack
! by hand otherwise), `retry`.
__handle_preemption:
	call	schedule
	 wrpr	%g0, RTRAP_PSTATE, %pstate
	ba,pt	%xcc, __handle_preemption_continue
	 wrpr	%g0, RTRAP_PSTATE_IRQOFF, %pstate

__handle_user_windows:
	add	%sp, PTREGS_OFF, %o0
	call	fault_in_user_windows
	 wrpr	%g0, RTRAP_PSTATE, %pstate
	ba,pt	%xcc, __handle_preemption_continue
	 wrpr	%g0, RTRAP_PSTATE_IRQOFF, %pstate

__handle_userfpu:
	rd	%fprs, %l5
	andcc	%l5, FPRS_FEF, %g0
	sethi	%hi(TSTATE_PEF), %o0
	be,a,pn	%icc, __handle_userfpu_continue
	 andn	%l1, %o0, %l1
	ba,a,pt	%xcc, __handle_userfpu_continue

__handle_signal:
	mov	%l5, %o1
	add	%sp, PTREGS_OFF, %o0
	mov	%l0, %o2
	call	do_notify_resume
	 wrpr	%g0, RTRAP_PSTATE, %pstate
	wrpr	%g0, RTRAP_PSTATE_IRQOFF, %pstate

	! A handler frame or sigreturn may have rewritten the saved tstate: read it again.
	ldx	[%sp + PTREGS_OFF + PT_TSTATE], %l1
	sethi	%hi(0xf << 20), %l4
	and	%l1, %l4, %l4
	andn	%l1, %l4, %l1
	ba,pt	%xcc, __handle_preemption_continue
	 srl	%l4, 20, %l4

rtrap_irq:
rtrap:
	ldx	[%sp + PTREGS_OFF + PT_TSTATE], %l1
	sethi	%hi(0xf << 20), %l4
	and	%l1, %l4, %l4
	andn	%l1, %l4, %l1
	srl	%l4, 20, %l4
rtrap_no_irq_enable:
	andcc	%l1, TSTATE_PRIV, %l3
	bne,pn	%icc, to_kernel
	 nop

	! IRQs off (PSTATE.IE, not %pil) while the work bits are tested, and kept off until
	! the return to user mode.
to_user:
	wrpr	%g0, RTRAP_PSTATE_IRQOFF, %pstate
	wrpr	%g0, 0, %pil
__handle_preemption_continue:
	ldx	[%g6 + TI_FLAGS], %l0
	sethi	%hi(USER_WORK_MASK), %o0
	or	%o0, %lo(USER_WORK_MASK), %o0
	andcc	%l0, %o0, %g0
	sethi	%hi(TSTATE_PEF), %o0
	be,pt	%xcc, user_nowork
	 andcc	%l1, %o0, %g0
	andcc	%l0, _TIF_NEED_RESCHED, %g0
	bne,pn	%xcc, __handle_preemption
	 andcc	%l0, _TIF_DO_NOTIFY_RESUME_MASK, %g0
	bne,pn	%xcc, __handle_signal
	 ldub	[%g6 + TI_WSAVED], %o2
	brnz,pn	%o2, __handle_user_windows
	 nop
	sethi	%hi(TSTATE_PEF), %o0
	andcc	%l1, %o0, %g0

	! Back to user: drop the FPU depth (matters after non-syscall traps only).
user_nowork:
	bne,pn	%xcc, __handle_userfpu
	 stb	%g0, [%g6 + TI_FPDEPTH]
__handle_userfpu_continue:

rt_continue:
	ldx	[%sp + PTREGS_OFF + PT_G1], %g1
	ldx	[%sp + PTREGS_OFF + PT_G2], %g2
	ldx	[%sp + PTREGS_OFF + PT_G3], %g3
	ldx	[%sp + PTREGS_OFF + PT_G4], %g4
	ldx	[%sp + PTREGS_OFF + PT_G5], %g5
	mov	%g6, %l2
	ldx	[%sp + PTREGS_OFF + PT_G6], %g6
	ldx	[%sp + PTREGS_OFF + PT_G7], %g7

	! The user's globals are loaded; continue on the alternate set so they stay intact.
	wrpr	%g0, RTRAP_PSTATE_AG_IRQOFF, %pstate
	mov	%l2, %g6

	ldx	[%sp + PTREGS_OFF + PT_I0], %i0
	ldx	[%sp + PTREGS_OFF + PT_I1], %i1
	ldx	[%sp + PTREGS_OFF + PT_I2], %i2
	ldx	[%sp + PTREGS_OFF + PT_I3], %i3
	ldx	[%sp + PTREGS_OFF + PT_I4], %i4
	ldx	[%sp + PTREGS_OFF + PT_I5], %i5
	ldx	[%sp + PTREGS_OFF + PT_I6], %i6
	ldx	[%sp + PTREGS_OFF + PT_I7], %i7
	ldx	[%sp + PTREGS_OFF + PT_TPC], %l2
	ldx	[%sp + PTREGS_OFF + PT_TNPC], %o2

	ld	[%sp + PTREGS_OFF + PT_Y], %o3
	wr	%o3, %g0, %y
	wrpr	%l4, 0x0, %pil
	wrpr	%g0, 0x1, %tl
	andn	%l1, TSTATE_SYSCALL, %l1
	wrpr	%l1, %g0, %tstate
	wrpr	%l2, %g0, %tpc
	wrpr	%o2, %g0, %tnpc

	brnz,pn	%l3, kern_rtt
	 nop
	! To user mode: the windows OTHERWIN counted are the user's again.
	rdpr	%wstate, %l1
	rdpr	%otherwin, %l2
	srl	%l1, 3, %l1
	wrpr	%l2, %g0, %canrestore
	wrpr	%l1, %g0, %wstate
	brnz,pt	%l2, user_rtt_restore
	 wrpr	%g0, %g0, %otherwin

	! None left in the register file: fill the user window below by hand.
	rdpr	%cwp, %g1
	sub	%g1, 1, %g1
	and	%g1, NWINDOWS - 1, %g1		! (kit) QEMU's wrpr %cwp does not wrap a -1
	wrpr	%g1, %cwp
user_rtt_fill_64bit:
	USER_STACK_CHECK sp, g3, g5, user_rtt_fill_fixup
	LOAD_WINDOW sp, STACK_BIAS
	ba,pt	%xcc, user_rtt_pre_restore
	 restored

user_rtt_pre_restore:
	add	%g1, 1, %g1
	wrpr	%g1, 0x0, %cwp

user_rtt_restore:
	restore
	rdpr	%canrestore, %g1
	wrpr	%g1, 0x0, %cleanwin
	retry
	nop

kern_rtt:
	rdpr	%canrestore, %g1
	brz,pn	%g1, kern_rtt_fill
	 nop
kern_rtt_restore:
	stw	%g0, [%sp + PTREGS_OFF + PT_MAGIC]
	restore
	retry

kern_rtt_fill:
	rdpr	%cwp, %g1
	sub	%g1, 1, %g1
	and	%g1, NWINDOWS - 1, %g1		! (kit) as above
	wrpr	%g1, %cwp
	LOAD_WINDOW sp, STACK_BIAS
	restored
	add	%g1, 1, %g1
	ba,pt	%xcc, kern_rtt_restore
	 wrpr	%g1, %cwp

to_kernel:
	! (no CONFIG_PREEMPTION) kern_fpucheck: one FPU depth level less
	ldub	[%g6 + TI_FPDEPTH], %l5
	brz,pt	%l5, rt_continue
	 nop
	sub	%l5, 2, %l5
	ba,pt	%xcc, rt_continue
	 stb	%l5, [%g6 + TI_FPDEPTH]

! ------------------------------------------------------------------ urtt_fill.S
! The user stack of the window rtrap was to fill is bad: back to the kernel window and
! WSTATE, TL 0 with interrupts on, do_sparc64_fault(regs), and rtrap again.
user_rtt_fill_fixup:
	rdpr	%cwp, %g1
	add	%g1, 1, %g1
	wrpr	%g1, 0x0, %cwp
	rdpr	%wstate, %g2
	sll	%g2, 3, %g2
	wrpr	%g2, 0x0, %wstate
	! %canrestore and %otherwin are 0 at this point: nothing else to reset.
	mov	FAULT_CODE_WINFIXUP, %g4
	stb	%g4, [%g6 + TI_FAULT_CODE]
	mov	%g6, %l1
	wrpr	%g0, 0x0, %tl
	wrpr	%g0, RTRAP_PSTATE, %pstate
	mov	%l1, %g6
	mov	%g6, %g4
	call	do_sparc64_fault
	 add	%sp, PTREGS_OFF, %o0
	ba,pt	%xcc, rtrap
	 nop

! ------------------------------------------------------------------ winfixup.S
! A spill/fill handler found the user stack bad (where Linux's ASI_AIUP/AIUS access faults).
! Spill: the window goes to the buffer; from the kernel that is all (rtrap writes it out
! later, or the task dies), from user mode the task gets the fault. Fill: the fault.
fill_fixup:
	LOAD_CURRENT g6, g1
	rdpr	%tstate, %g1
	and	%g1, TSTATE_CWP, %g1
	mov	FAULT_CODE_WINFIXUP, %g4
	stb	%g4, [%g6 + TI_FAULT_CODE]
	wrpr	%g1, %cwp
	ba,pt	%xcc, etrap
	 rd	%pc, %g7
	call	do_sparc64_fault
	 add	%sp, PTREGS_OFF, %o0
	ba,a,pt	%xcc, rtrap

spill_fixup:
	LOAD_CURRENT g6, g1
	BUFFER_WINDOW
	rdpr	%tstate, %g1
	andcc	%g1, TSTATE_PRIV, %g0
	saved
	be,pn	%xcc, 1f
	 and	%g1, TSTATE_CWP, %g1
	retry
1:	mov	FAULT_CODE_WRITE | FAULT_CODE_DTLB | FAULT_CODE_WINFIXUP, %g4
	stb	%g4, [%g6 + TI_FAULT_CODE]
	wrpr	%g1, %cwp
	ba,pt	%xcc, etrap
	 rd	%pc, %g7
	call	do_sparc64_fault
	 add	%sp, PTREGS_OFF, %o0
	ba,a,pt	%xcc, rtrap

! ------------------------------------------------------------------ syscalls.S
! `ta 0x6d`, after etrap: %l7 = sys_call_table (8-byte entries in the kit), the number in
! %g1, the arguments in the user's %o0-%o5 (our %i0-%i5), TSTATE_SYSCALL in pt_regs.
linux_sparc_ni_syscall:
	sethi	%hi(sys_ni_syscall), %l7
	ba,pt	%xcc, 4f
	 or	%l7, %lo(sys_ni_syscall), %l7

linux_syscall_trace:
	call	syscall_trace_enter
	 add	%sp, PTREGS_OFF, %o0
	brnz,pn	%o0, 3f
	 mov	-ENOSYS, %o0

	! The tracer may have changed the number or the arguments: take them from pt_regs.
	ldx	[%sp + PTREGS_OFF + PT_G1], %g1
	sethi	%hi(sys_call_table), %l7
	ldx	[%sp + PTREGS_OFF + PT_I0], %i0
	or	%l7, %lo(sys_call_table), %l7
	ldx	[%sp + PTREGS_OFF + PT_I1], %i1
	ldx	[%sp + PTREGS_OFF + PT_I2], %i2
	ldx	[%sp + PTREGS_OFF + PT_I3], %i3
	ldx	[%sp + PTREGS_OFF + PT_I4], %i4
	ldx	[%sp + PTREGS_OFF + PT_I5], %i5

	cmp	%g1, NR_syscalls
	bgeu,pn	%xcc, 3f
	 mov	-ENOSYS, %o0

	sllx	%g1, 3, %l4
	mov	%i0, %o0
	ldx	[%l7 + %l4], %l7
	mov	%i1, %o1
	mov	%i2, %o2
	mov	%i3, %o3
	ba,pt	%xcc, 2f
	 mov	%i4, %o4

linux_sparc_syscall:
	! The arguments are still in the trap window's %i registers: no pt_regs loads.
	cmp	%g1, NR_syscalls
	bgeu,pn	%xcc, linux_sparc_ni_syscall
	 mov	%i0, %o0
	sllx	%g1, 3, %l4
	mov	%i1, %o1
	ldx	[%l7 + %l4], %l7
4:	mov	%i2, %o2
	ldx	[%g6 + TI_FLAGS], %l0

	mov	%i3, %o3
	mov	%i4, %o4
	andcc	%l0, SYSCALL_WORK, %g0
	bne,pn	%icc, linux_syscall_trace
	 mov	%i0, %l5			! orig_i0, for do_notify_resume
2:	call	%l7
	 mov	%i5, %o5
	nop

3:	stx	%o0, [%sp + PTREGS_OFF + PT_I0]
ret_sys_call:
	ldx	[%sp + PTREGS_OFF + PT_TSTATE], %g3
	mov	0x11, %g2			! TSTATE_XCARRY | TSTATE_ICARRY, >> 32
	sllx	%g2, 32, %g2

	cmp	%o0, -ERESTART_RESTARTBLOCK
	bgeu,pn	%xcc, 1f
	 andcc	%l0, SYSCALL_WORK, %g0
	ldx	[%sp + PTREGS_OFF + PT_TNPC], %l1	! resume after the ta

2:
	! Success: carry clear in both icc and xcc.
	andn	%g3, %g2, %g3
3:
	stx	%g3, [%sp + PTREGS_OFF + PT_TSTATE]
	bne,pn	%icc, linux_syscall_trace2
	 add	%l1, 0x4, %l2			! and the word beyond it
	stx	%l1, [%sp + PTREGS_OFF + PT_TPC]
	ba,pt	%xcc, rtrap
	 stx	%l2, [%sp + PTREGS_OFF + PT_TNPC]

1:
	! An errno-looking value can still be a success if the syscall set TI_SYS_NOERROR.
	ldub	[%g6 + TI_SYS_NOERROR], %l2
	brnz,pn	%l2, 2b
	 ldx	[%sp + PTREGS_OFF + PT_TNPC], %l1	! resume after the ta
	! Failure: carry set, and the user sees the positive errno.
	sub	%g0, %o0, %o0
	stx	%o0, [%sp + PTREGS_OFF + PT_I0]
	ba,pt	%xcc, 3b
	 or	%g3, %g2, %g3

linux_syscall_trace2:
	call	syscall_trace_leave
	 add	%sp, PTREGS_OFF, %o0
	stx	%l1, [%sp + PTREGS_OFF + PT_TPC]
	ba,pt	%xcc, rtrap
	 stx	%l2, [%sp + PTREGS_OFF + PT_TNPC]

! The sys_call_table slots entry.S fills itself (arch.json symbols sys_*), called from
! linux_sparc_syscall like the C functions: in the trap window, the arguments in %o0-%o5,
! %o7 back into it. The kit's C functions take the syscall's own arguments (Linux's
! sparc_fork/sparc_clone read them from pt_regs), so the stubs leave %o0-%o5 alone.

! execve: every window out first (the user windows belong to the old image).
sys64_execve:
	set	sys_execve, %g1
	jmpl	%g1, %g0
	 flushw

! rt_sigreturn: returns straight through rtrap, keeping every restored register (not
! through ret_sys_call, which would take the restored %o0 for a result).
sys_rt_sigreturn_stub:
	add	%sp, PTREGS_OFF, %o0
	call	do_rt_sigreturn
	 add	%o7, 1f-.-4, %o7
	nop
1:	ldx	[%g6 + TI_FLAGS], %l5
	andcc	%l5, SYSCALL_WORK, %g0
	be,pt	%icc, rtrap
	 nop
	call	syscall_trace_leave
	 add	%sp, PTREGS_OFF, %o0
	ba,pt	%xcc, rtrap
	 nop

! fork/vfork/clone: every window out to the stacks (the child gets a copy of the parent's
! memory and of its trap frame; its only window state is the CWP in thread_info).
sys_vfork_stub:
	flushw
	ba,pt	%xcc, sys_vfork
	 nop
sys_fork_stub:
	flushw
	ba,pt	%xcc, sys_fork
	 nop
sys_clone_stub:
	flushw
	ba,pt	%xcc, sys_clone
	 nop

! exit/exit_group: the user windows still in the register file are thrown away.
sparc_exit_group:
	sethi	%hi(sys_exit_group), %g7
	ba,pt	%xcc, 1f
	 or	%g7, %lo(sys_exit_group), %g7
sparc_exit:
	sethi	%hi(sys_exit), %g7
	or	%g7, %lo(sys_exit), %g7
1:	rdpr	%pstate, %g2
	wrpr	%g2, PSTATE_IE, %pstate
	rdpr	%otherwin, %g1
	rdpr	%cansave, %g3
	add	%g3, %g1, %g3
	wrpr	%g3, 0x0, %cansave
	wrpr	%g0, 0x0, %otherwin
	wrpr	%g2, 0x0, %pstate
	jmpl	%g7, %g0
	 stb	%g0, [%g6 + TI_WSAVED]

! A new task, from switch_to: %g7 = the task switched from, %sp = its trap frame. A user
! fork child has the parent's pid in i0 (nonzero): through the syscall return; a kernel
! thread (i0 = 0) runs g1(g2) and, if that returns (it exec'd), goes to user mode.
ret_from_fork:
	stb	%g0, [%g6 + TI_NEW_CHILD]
	call	schedule_tail
	 mov	%g7, %o0
	ldx	[%sp + PTREGS_OFF + PT_I0], %o0
	brnz,pt	%o0, ret_sys_call
	 ldx	[%g6 + TI_FLAGS], %l0
	ldx	[%sp + PTREGS_OFF + PT_G1], %l1
	call	%l1
	 ldx	[%sp + PTREGS_OFF + PT_G2], %o0
	ba,pt	%xcc, ret_sys_call
	 mov	0, %o0

! ------------------------------------------------------------------ asm/switch_to_64.h
! switch_to(prev = %o0, next = %o1) -> the task switched from, in %o0. In a window of its
! own (Linux's runs inline in schedule()): flushw puts every other window on its stack (the
! caller's too), this one's %i6/%i7 go to its save area by hand; prev's %sp, WSTATE and CWP
! into its thread_info, next's back, %i6/%i7 from next's save area. A new task jumps to
! ret_from_fork.
switch_to:
	save	%sp, -STACKFRAME_SZ, %sp
	flushw
	mov	%i0, %g7			! prev (Linux: mov %g4, %g7)
	stx	%i6, [%sp + STACK_BIAS + 0x70]
	stx	%i7, [%sp + STACK_BIAS + 0x78]
	rdpr	%wstate, %o5
	stx	%o6, [%i0 + TI_KSP]
	stb	%o5, [%i0 + TI_WSTATE]
	rdpr	%cwp, %o5
	stb	%o5, [%i0 + TI_CWP]
	wrpr	%g0, 15, %pil
	mov	%i1, %g6
	ldub	[%i1 + TI_CWP], %g1
	wrpr	%g1, %cwp
	ldx	[%g6 + TI_KSP], %o6
	ldub	[%g6 + TI_WSTATE], %o5
	ldub	[%g6 + TI_NEW_CHILD], %o7
	wrpr	%o5, 0x0, %wstate
	ldx	[%sp + STACK_BIAS + 0x70], %i6
	ldx	[%sp + STACK_BIAS + 0x78], %i7
	mov	%g6, %g4			! Linux: ldx [%g6 + TI_TASK], %g4
	wrpr	%g0, 14, %pil
	brz,pt	%o7, switch_to_pc
	 nop
	sethi	%hi(ret_from_fork), %g1
	jmpl	%g1 + %lo(ret_from_fork), %g0
	 nop
switch_to_pc:
	ret
	 restore %g7, %g0, %o0			! last = the task switched from

! ------------------------------------------------------------------ flushw_user, flushw_all
! flush_user_windows(): saves until OTHERWIN is 0 (every user window spilled to its
! stack, or parked in the buffer), then as many restores. C calls it (signal frames,
! sigreturn) to have the user windows on the stack.
flushw_user:
	rdpr	%otherwin, %g1
	brz,pt	%g1, 2f
	 clr	%g2
1:	save	%sp, -128, %sp
	rdpr	%otherwin, %g1
	brnz,pt	%g1, 1b
	 add	%g2, 1, %g2
1:	sub	%g2, 1, %g2
	brnz,pt	%g2, 1b
	 restore %g0, %g0, %g0
2:	retl
	 nop

! prepare_arch_switch(): flushw_all(), every window but the current one to its stack.
flushw_all:
	flushw
	retl
	 nop

! ------------------------------------------------------------------ copy_to_user, reduced
! __copy_to_user(to = %o0, from = %o1, n = %o2) -> bytes not copied. Byte by byte (the MMU
! is off: no fault fixups to take).
__copy_to_user:
	brz,pn	%o2, 2f
	 nop
1:	ldub	[%o1], %g1
	stb	%g1, [%o0]
	add	%o1, 1, %o1
	subcc	%o2, 1, %o2
	bne,pt	%xcc, 1b
	 add	%o0, 1, %o0
2:	retl
	 mov	%o2, %o0

! ------------------------------------------------------------------ head_64.S, reduced
! What the boot code leaves: the trap table in %tba, TL 0, CWP 0 with every other window
! free (CANSAVE = NWINDOWS - 2), no clean_window traps in the kernel (CLEANWIN =
! NWINDOWS - 1), WSTATE 0 (kernel windows spill through vector 0x80), privileged with
! PSTATE.IE on and %pil at PIL_NORMAL_MAX (interrupts masked). The first instruction gives
! the lazy condition codes a defined state (Unicorn never ran QEMU's cpu reset).
sparc64_boot:
	wr	%g0, 0, %ccr
	sethi	%hi(trapbase), %g1
	or	%g1, %lo(trapbase), %g1
	wrpr	%g1, 0, %tba
	wrpr	%g0, PIL_NORMAL_MAX, %pil
	wrpr	%g0, 0, %cwp
	wrpr	%g0, NWINDOWS - 2, %cansave
	wrpr	%g0, 0, %canrestore
	wrpr	%g0, 0, %otherwin
	wrpr	%g0, NWINDOWS - 1, %cleanwin
	wrpr	%g0, 0, %wstate
	wrpr	%g0, 0, %tl
	wrpr	%g0, RTRAP_PSTATE, %pstate
	wr	%g0, 0, %fprs
	mov	0, %g6
sparc64_boot_end:
	nop
