! SPARC V8 (sparc32) entry glue, GNU as syntax (sparc64-linux-gnu-as -32 -Av8).
!
! Follows Linux 6.18's arch/sparc/kernel/{head_32.S trap table, etrap_32.S, rtrap_32.S,
! wof.S, wuf.S, entry.S, windows.c flush_user_windows} and asm/switch_to_32.h. sparc does
! not select GENERIC_ENTRY: the trap return (ret_trap_entry) calls schedule() and loops
! over the C do_notify_resume(regs, orig_i0, flags) itself (model "arch").
!
! Register windows are the CPU's own (Unicorn runs save/restore/rett and raises window
! overflow/underflow traps); the CPU model only performs the V8 trap entry Unicorn skips.
! The trap window's locals hold what the trap entry leaves: %l0 psr (read by the vector),
! %l1 pc, %l2 npc (written by the trap), %l3 wim (read by the vector).
!
! The kit's layout, where it differs from Linux's: current (%g6 in the kernel, as Linux's
! curptr) is the task_struct, which starts with thread_info.flags (TI_FLAGS); uwinmask and
! the switch state ksp/kpc/kpsr/kwim are in the arch's thread part of it; the rest of
! Linux's thread_info (the window buffer reg_window[], rwbuf_stkptrs[], w_saved) sits at
! the bottom of the kernel stack, where Linux keeps all of thread_info. The MMU is off: the
! SRMMU "no-fault" stack probes are a range check of the user %sp against the user region.
!
! Constants (PT_*, THREAD_*, TASK_*, TIF_*, __NR_*, ...) come from the asm-offsets prelude;
! C functions are externs at stub addresses, called with `call` (the C side returns to
! %o7 + 8, past the delay slot).

! ------------------------------------------------------------------ asm/psr.h, ptrace.h
.equ PSR_CWP, 0x0000001f
.equ PSR_ET, 0x00000020
.equ PSR_PS, 0x00000040
.equ PSR_S, 0x00000080
.equ PSR_PIL, 0x00000f00
.equ PSR_C, 0x00100000
.equ PSR_SYSCALL, 0x00004000
.equ STACKFRAME_SZ, 96
.equ TRACEREG_SZ, PT_REGS_SIZE
.equ NWINDOWS, 8
! struct reg_window32
.equ RW_L0, 0x00
.equ RW_L2, 0x08
.equ RW_L4, 0x10
.equ RW_L6, 0x18
.equ RW_I0, 0x20
.equ RW_I2, 0x28
.equ RW_I4, 0x30
.equ RW_I6, 0x38
.equ ERESTART_RESTARTBLOCK, 516

! thread_info fields, kit layout (see the header)
.equ TI_UWINMASK, TASK_THREAD + THREAD_UWINMASK
.equ TI_KSP, TASK_THREAD + THREAD_KSP
.equ TI_KPSR, TASK_THREAD + THREAD_KPSR
.equ TI_FORK_KPSR, TASK_THREAD + THREAD_FORK_KPSR
.equ NSWINS, 8
.equ KSTK_REG_WINDOW, 0
.equ KSTK_RWIN_SPTRS, NSWINS * 64
.equ KSTK_W_SAVED, KSTK_RWIN_SPTRS + NSWINS * 4
.equ STACK_OFFSET, THREAD_SIZE - TRACEREG_SZ - STACKFRAME_SZ

! ('!' starts a comment in SPARC GNU as: not-equal is '<>')
.if (PT_PSR <> 0) || (PT_I0 <> 0x30) || (TRACEREG_SZ <> 0x50) || (TI_KSP & 7) || (TI_KPSR & 7) || (TI_FORK_KPSR & 7) || (THREAD_KPC <> THREAD_KSP + 4)
.error "pt_regs / thread layout is not the one this glue assumes"
.endif

! ------------------------------------------------------------------ asm/winmacro.h
.macro STORE_WINDOW reg
	std	%l0, [%\reg + RW_L0]
	std	%l2, [%\reg + RW_L2]
	std	%l4, [%\reg + RW_L4]
	std	%l6, [%\reg + RW_L6]
	std	%i0, [%\reg + RW_I0]
	std	%i2, [%\reg + RW_I2]
	std	%i4, [%\reg + RW_I4]
	std	%i6, [%\reg + RW_I6]
.endm
.macro LOAD_WINDOW reg
	ldd	[%\reg + RW_L0], %l0
	ldd	[%\reg + RW_L2], %l2
	ldd	[%\reg + RW_L4], %l4
	ldd	[%\reg + RW_L6], %l6
	ldd	[%\reg + RW_I0], %i0
	ldd	[%\reg + RW_I2], %i2
	ldd	[%\reg + RW_I4], %i4
	ldd	[%\reg + RW_I6], %i6
.endm
.macro LOAD_PT_INS base
	ldd	[%\base + STACKFRAME_SZ + PT_I0], %i0
	ldd	[%\base + STACKFRAME_SZ + PT_I2], %i2
	ldd	[%\base + STACKFRAME_SZ + PT_I4], %i4
	ldd	[%\base + STACKFRAME_SZ + PT_I6], %i6
.endm
.macro LOAD_PT_GLOBALS base
	ld	[%\base + STACKFRAME_SZ + PT_G1], %g1
	ldd	[%\base + STACKFRAME_SZ + PT_G2], %g2
	ldd	[%\base + STACKFRAME_SZ + PT_G4], %g4
	ldd	[%\base + STACKFRAME_SZ + PT_G6], %g6
.endm
.macro LOAD_PT_YREG base, scratch
	ld	[%\base + STACKFRAME_SZ + PT_Y], %\scratch
	wr	%\scratch, 0x0, %y
.endm
.macro LOAD_PT_PRIV base, psr, pc, npc
	ld	[%\base + STACKFRAME_SZ + PT_PSR], %\psr
	ld	[%\base + STACKFRAME_SZ + PT_PC], %\pc
	ld	[%\base + STACKFRAME_SZ + PT_NPC], %\npc
.endm
.macro LOAD_PT_ALL base, psr, pc, npc, scratch
	LOAD_PT_YREG \base, \scratch
	LOAD_PT_INS \base
	LOAD_PT_GLOBALS \base
	LOAD_PT_PRIV \base, \psr, \pc, \npc
.endm
.macro STORE_PT_INS base
	std	%i0, [%\base + STACKFRAME_SZ + PT_I0]
	std	%i2, [%\base + STACKFRAME_SZ + PT_I2]
	std	%i4, [%\base + STACKFRAME_SZ + PT_I4]
	std	%i6, [%\base + STACKFRAME_SZ + PT_I6]
.endm
.macro STORE_PT_GLOBALS base
	st	%g1, [%\base + STACKFRAME_SZ + PT_G1]
	std	%g2, [%\base + STACKFRAME_SZ + PT_G2]
	std	%g4, [%\base + STACKFRAME_SZ + PT_G4]
	std	%g6, [%\base + STACKFRAME_SZ + PT_G6]
.endm
.macro STORE_PT_YREG base, scratch
	rd	%y, %\scratch
	st	%\scratch, [%\base + STACKFRAME_SZ + PT_Y]
.endm
.macro STORE_PT_PRIV base, psr, pc, npc
	st	%\psr, [%\base + STACKFRAME_SZ + PT_PSR]
	st	%\pc, [%\base + STACKFRAME_SZ + PT_PC]
	st	%\npc, [%\base + STACKFRAME_SZ + PT_NPC]
.endm
.macro STORE_PT_ALL base, psr, pc, npc, scratch
	STORE_PT_PRIV \base, \psr, \pc, \npc
	STORE_PT_GLOBALS \base
	STORE_PT_YREG \base, \scratch
	STORE_PT_INS \base
.endm
! The window at %sp into current's window buffer (kit: at the bottom of the kernel stack).
! `cur` is turned into the stack base here; callers restore it (wof: saved_g6).
.macro SAVE_BOLIXED_USER_STACK cur, scratch
	ld	[%\cur + TASK_STACK], %\cur
	ld	[%\cur + KSTK_W_SAVED], %\scratch
	sll	%\scratch, 2, %\scratch
	add	%\scratch, %\cur, %\scratch
	st	%sp, [%\scratch + KSTK_RWIN_SPTRS]
	sub	%\scratch, %\cur, %\scratch
	sll	%\scratch, 4, %\scratch
	add	%\scratch, %\cur, %\scratch
	STORE_WINDOW \scratch
	sub	%\scratch, %\cur, %\scratch
	srl	%\scratch, 6, %\scratch
	add	%\scratch, 1, %\scratch
	st	%\scratch, [%\cur + KSTK_W_SAVED]
.endm
! current (the kit's per-cpu current_task word)
.macro LOAD_CURRENT dest, idreg
	sethi	%hi(PCPU_CURRENT_TASK), %\idreg
	ld	[%\idreg + %lo(PCPU_CURRENT_TASK)], %\dest
.endm
! The SRMMU stack probes, with the MMU off: a user %sp must leave a whole window save area
! inside the user region (branches to `bad` otherwise). Uses one scratch register.
.macro USER_STACK_CHECK reg, tmp, bad
	sethi	%hi(USER_START), %\tmp
	or	%\tmp, %lo(USER_START), %\tmp
	cmp	%\reg, %\tmp
	blu	\bad
	 sethi	%hi(USER_END - 64), %\tmp
	or	%\tmp, %lo(USER_END - 64), %\tmp
	cmp	%\reg, %\tmp
	bgu	\bad
	 nop
.endm
! asm/asmmacro.h
.macro SAVE_ALL
	sethi	%hi(trap_setup), %l4
	jmpl	%l4 + %lo(trap_setup), %l6
	 nop
.endm
.macro RESTORE_ALL
	b	ret_trap_entry
	 clr	%l6
.endm
.macro WRITE_PAUSE
	nop
	nop
	nop
.endm
! entry.S: every window out to the stacks (7 saves spill everything, 7 restores refill the current one)
.macro FLUSH_ALL_KERNEL_WINDOWS
	.rept NWINDOWS - 1
	save	%sp, -STACKFRAME_SZ, %sp
	.endr
	.rept NWINDOWS - 1
	restore
	.endr
.endm

! ------------------------------------------------------------------ asm/head_32.h trap table entries
.macro TRAP_ENTRY label
	rd	%psr, %l0
	b	\label
	 rd	%wim, %l3
	nop
.endm
.macro BAD_TRAP num
	rd	%psr, %l0
	mov	\num, %l7
	b	bad_trap_handler
	 rd	%wim, %l3
.endm
.macro LINUX_SYSCALL_TRAP
	sethi	%hi(sys_call_table), %l7
	or	%l7, %lo(sys_call_table), %l7
	b	linux_sparc_syscall
	 rd	%psr, %l0
.endm
.macro TRAP_ENTRY_INTERRUPT level
	mov	\level, %l7
	rd	%psr, %l0
	b	real_irq_entry
	 rd	%wim, %l3
.endm
.macro WINDOW_SPILL
	rd	%psr, %l0
	rd	%wim, %l3
	b	spill_window_entry
	 andcc	%l0, PSR_PS, %g0
.endm
.macro WINDOW_FILL
	rd	%psr, %l0
	rd	%wim, %l3
	b	fill_window_entry
	 andcc	%l0, PSR_PS, %g0
.endm

	.text
! ------------------------------------------------------------------ the trap table (%tbr)
! 256 entries of 16 bytes, 4 KiB aligned (TBR.TBA). Software traps are 0x80 + the `ta`
! number: 0x90 is `ta 0x10`, the Linux system call; 0x83 is `ta 3`, flush windows.
	.balign 4096
trapbase:
	.set tt, 0
	.rept 256
	.if tt == 0x02
	TRAP_ENTRY bad_instruction
	.elseif tt == 0x03
	TRAP_ENTRY priv_instruction
	.elseif tt == 0x05
	WINDOW_SPILL
	.elseif tt == 0x06
	WINDOW_FILL
	.elseif tt == 0x07
	TRAP_ENTRY mna_handler
	.elseif (tt > 0x10) && (tt < 0x20)
	TRAP_ENTRY_INTERRUPT (tt - 0x10)
	.elseif tt == 0x83
	TRAP_ENTRY do_flush_windows
	.elseif tt == 0x90
	LINUX_SYSCALL_TRAP
	.else
	BAD_TRAP tt
	.endif
	.set tt, tt + 1
	.endr

! ------------------------------------------------------------------ etrap_32.S
! trap_setup: from the trap window, build pt_regs (on the kernel stack when from user
! mode), spill a window first when the trap window is the invalid one, compute the user
! window mask; return to %l6 + 8 on the new stack. %l4, %l5 scratch, %l7 untouched.
trap_setup:
	mov	1, %l4
	andcc	%l0, PSR_PS, %g0
	be	trap_setup_from_user
	 sll	%l4, %l0, %l4			! twinmask = 1 << CWP

	! From the kernel: a pt_regs frame below the interrupted frame.
	sub	%fp, (STACKFRAME_SZ + TRACEREG_SZ), %l5
	STORE_PT_ALL l5, l0, l1, l2, g2
	andcc	%l4, %l3, %g0
	bne	trap_setup_kernel_spill		! in the invalid window: make room
	 nop
	jmpl	%l6 + 0x8, %g0
	 mov	%l5, %sp

trap_setup_kernel_spill:
	ld	[%g6 + TI_UWINMASK], %g1
	orcc	%g0, %g1, %g0
	bne	trap_setup_user_spill		! user windows among them
	 srl	%l3, 0x1, %g2			! new wim = wim rotated right
	sll	%l3, NWINDOWS - 1, %l3
	or	%l3, %g2, %g2
	and	%g2, 0xff, %g2
	save	%g0, %g0, %g0
	wr	%g2, 0x0, %wim
	STORE_WINDOW sp
	restore	%g0, %g0, %g0
	jmpl	%l6 + 0x8, %g0
	 mov	%l5, %sp

trap_setup_from_user:
	LOAD_CURRENT l5, l4
	ld	[%l5 + TASK_STACK], %l5
	sethi	%hi(STACK_OFFSET), %l4
	or	%l4, %lo(STACK_OFFSET), %l4
	add	%l5, %l4, %l5
	mov	1, %l4
	sll	%l4, %l0, %l4
	STORE_PT_ALL l5, l0, l1, l2, g2
	LOAD_CURRENT g6, g2			! kit: current is the task_struct
	ld	[%g6 + TASK_STACK], %g2
	st	%g0, [%g2 + KSTK_W_SAVED]	! clear w_saved
	andcc	%l4, %l3, %g0
	bne	trap_setup_user_spill		! the trap window was the invalid one
	 orn	%g0, %l4, %g1
	! Every window from the trap-time invalid one up to the one before the trap window
	! is a user window.
	subcc	%l3, %l4, %g2
	bneg,a	1f
	 sub	%g2, 0x1, %g2
1:	andn	%g2, %l4, %g2
	and	%g2, 0xff, %g2
	st	%g2, [%g6 + TI_UWINMASK]
	jmpl	%l6 + 0x8, %g0
	 mov	%l5, %sp

trap_setup_user_spill:
	! Spill the oldest user window (%g1 says which windows still belong to the user).
	and	%g1, 0xff, %g1
	srl	%l3, 0x1, %g2
	sll	%l3, NWINDOWS - 1, %l3
	or	%l3, %g2, %g2
	and	%g2, 0xff, %g2
	andn	%g1, %g2, %g1
	st	%g1, [%g6 + TI_UWINMASK]
	save	%g0, %g0, %g0
	wr	%g2, 0x0, %wim
	andcc	%sp, 0x7, %g0
	bne	trap_setup_user_stack_is_bolixed
	 nop
	USER_STACK_CHECK sp, g1, trap_setup_user_stack_is_bolixed
	STORE_WINDOW sp
	restore	%g0, %g0, %g0
	jmpl	%l6 + 0x8, %g0
	 mov	%l5, %sp

trap_setup_user_stack_is_bolixed:
	! A bad user stack: the window goes to current's window buffer.
	SAVE_BOLIXED_USER_STACK g6, g3
	restore	%g0, %g0, %g0
	LOAD_CURRENT g6, g3
	jmpl	%l6 + 0x8, %g0
	 mov	%l5, %sp

! ------------------------------------------------------------------ rtrap_32.S
! ret_trap_entry: sp at the trap frame, %l0 the trap psr, %l6 orig_i0 (0 but for a
! syscall). Traps are on (ET = 1) until the final wr %psr.
ret_trap_entry:
	andcc	%l0, PSR_PS, %g0
	sethi	%hi(PSR_SYSCALL), %g1
	be	1f
	 andn	%l0, %g1, %l0

	wr	%l0, 0x0, %psr
	b	ret_trap_kernel
	 nop

1:
	ld	[%g6 + TI_FLAGS], %g2
	andcc	%g2, _TIF_NEED_RESCHED, %g0
	be	signal_p
	 nop

	call	schedule
	 nop

	ld	[%g6 + TI_FLAGS], %g2
signal_p:
	andcc	%g2, _TIF_DO_NOTIFY_RESUME_MASK, %g0
	bz,a	ret_trap_continue
	 ld	[%sp + STACKFRAME_SZ + PT_PSR], %l0

	mov	%g2, %o2
	mov	%l6, %o1
	call	do_notify_resume
	 add	%sp, STACKFRAME_SZ, %o0

	b	signal_p
	 ld	[%g6 + TI_FLAGS], %g2

ret_trap_continue:
	sethi	%hi(PSR_SYSCALL), %g1
	andn	%l0, %g1, %l0
	wr	%l0, 0x0, %psr			! traps (and interrupts) off from here
	WRITE_PAUSE

	ld	[%g6 + TASK_STACK], %l4
	ld	[%l4 + KSTK_W_SAVED], %l4
	orcc	%g0, %l4, %g0
	be	ret_trap_nobufwins
	 nop

	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE

	mov	1, %o1
	call	try_to_clear_window_buffer
	 add	%sp, STACKFRAME_SZ, %o0

	b	signal_p
	 ld	[%g6 + TI_FLAGS], %g2

ret_trap_nobufwins:
	! The user's outs into this window's ins, so a user window can be pulled.
	LOAD_PT_INS sp

	! A live user window in the set: rett lands in it.
	ld	[%g6 + TI_UWINMASK], %l4
	orcc	%g0, %l4, %g0
	bne	ret_trap_userwins_ok
	 nop

ret_trap_pull_one_window:
	! None: make the window above valid and fill it from the user stack.
	rd	%wim, %l3
	sll	%l3, 0x1, %l4
	srl	%l3, NWINDOWS - 1, %g4
	or	%g4, %l4, %g4
	and	%g4, 0xff, %g4
	wr	%g4, 0x0, %wim
	WRITE_PAUSE
	andcc	%fp, 0x7, %g0
	bne	ret_trap_user_stack_is_bolixed
	 nop
	USER_STACK_CHECK fp, g1, ret_trap_user_stack_is_bolixed
	restore	%g0, %g0, %g0
	LOAD_WINDOW sp
	save	%g0, %g0, %g0

ret_trap_userwins_ok:
	LOAD_PT_PRIV sp, l0, l1, l2
	or	%l1, %l2, %g2
	andcc	%g2, 0x3, %g0
	sethi	%hi(PSR_SYSCALL), %g2
	be	1f
	 andn	%l0, %g2, %l0

	b	ret_trap_unaligned_pc
	 add	%sp, STACKFRAME_SZ, %o0

1:
	LOAD_PT_YREG sp, g1
	LOAD_PT_GLOBALS sp

	wr	%l0, 0x0, %psr
	WRITE_PAUSE

	jmp	%l1
	 rett	%l2

ret_trap_unaligned_pc:
	ld	[%sp + STACKFRAME_SZ + PT_PC], %o1
	ld	[%sp + STACKFRAME_SZ + PT_NPC], %o2
	ld	[%sp + STACKFRAME_SZ + PT_PSR], %o3
	wr	%l3, 0x0, %wim
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	call	do_memaccess_unaligned
	 nop
	b	signal_p
	 ld	[%g6 + TI_FLAGS], %g2

ret_trap_kernel:
	! If rett's destination (CWP + 1) is marked in %wim, refill that window before leaving.
	mov	2, %g1
	sll	%g1, %l0, %g1
	srl	%g1, NWINDOWS, %g2
	or	%g1, %g2, %g1
	rd	%wim, %g2
	andcc	%g2, %g1, %g0
	be	1f
	 sll	%g2, 0x1, %g1

	srl	%g2, NWINDOWS - 1, %g2
	or	%g1, %g2, %g1
	and	%g1, 0xff, %g1
	wr	%g1, 0x0, %wim
	WRITE_PAUSE
	LOAD_PT_ALL sp, l0, l1, l2, g1
	restore	%g0, %g0, %g0
	LOAD_WINDOW sp
	b	2f
	 save	%g0, %g0, %g0
1:
	LOAD_PT_ALL sp, l0, l1, l2, g1
2:
	sethi	%hi(PSR_SYSCALL), %l4
	andn	%l0, %l4, %l0
	wr	%l0, 0x0, %psr
	WRITE_PAUSE
	jmp	%l1
	 rett	%l2

ret_trap_user_stack_is_bolixed:
	wr	%l3, 0x0, %wim
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	call	window_ret_fault
	 add	%sp, STACKFRAME_SZ, %o0
	b	signal_p
	 ld	[%g6 + TI_FLAGS], %g2

! ------------------------------------------------------------------ wof.S
! Window overflow: a `save` found the next window invalid. We are in that (invalid)
! window; the one to spill is the next one down, the oldest valid window.
spill_window_entry:
	mov	%g5, %l5			! saved_g5
	mov	%g6, %l6			! saved_g6
	srl	%l3, 0x1, %l4			! new wim = wim rotated right
	sll	%l3, NWINDOWS - 1, %g5
	or	%g5, %l4, %g5
	and	%g5, 0xff, %g5
	LOAD_CURRENT g6, l4
	andcc	%l0, PSR_PS, %g0
	be,a	spwin_fromuser			! all user windows
	 save	%g0, %g0, %g0

	ld	[%g6 + TI_UWINMASK], %l4
	orcc	%g0, %l4, %g0
	bne	spwin_exist_uwins
	 andn	%l4, %g5, %l4			! new uwinmask

	! Trapped in kernel mode with no user windows live: spill straight to %sp.
	save	%g0, %g0, %g0			! step into the window being spilled
	wr	%g5, 0x0, %wim
spwin_no_userwins_from_kernel:
	STORE_WINDOW sp
	restore	%g0, %g0, %g0
	mov	%l5, %g5
	mov	%l6, %g6
	wr	%l0, 0x0, %psr			! the condition codes back
	WRITE_PAUSE
	jmp	%l1
	 rett	%l2

spwin_exist_uwins:
	st	%l4, [%g6 + TI_UWINMASK]
	save	%g0, %g0, %g0

spwin_fromuser:
	! In the window to be saved: a user window, its %sp is the user's.
	wr	%g5, 0x0, %wim
	andcc	%sp, 0x7, %g0
	bne	spwin_user_stack_is_bolixed
	 nop
	USER_STACK_CHECK sp, g5, spwin_user_stack_is_bolixed
	STORE_WINDOW sp
spwin_finish_up:
	restore	%g0, %g0, %g0
	mov	%l5, %g5
	mov	%l6, %g6
	wr	%l0, 0x0, %psr
	WRITE_PAUSE
	jmp	%l1
	 rett	%l2

spwin_user_stack_is_bolixed:
	rd	%psr, %g5
	andcc	%g5, PSR_PS, %g0
	bne	spwin_bad_ustack_from_kernel
	 nop
	! From user mode: this window into the first buffer slot, then C shoots the process.
	ld	[%g6 + TASK_STACK], %g5
	st	%sp, [%g5 + KSTK_RWIN_SPTRS]
	STORE_WINDOW g5
	restore	%g0, %g0, %g0
	mov	1, %l4
	ld	[%g6 + TASK_STACK], %g5
	st	%l4, [%g5 + KSTK_W_SAVED]
	! everything but the trap-time invalid window and the one tried is a user window
	rd	%wim, %l4
	or	%l4, %l3, %l4
	not	%l4
	and	%l4, 0xff, %l4
	st	%l4, [%g6 + TI_UWINMASK]
	ld	[%g6 + TASK_STACK], %sp
	sethi	%hi(STACK_OFFSET), %g5
	or	%g5, %lo(STACK_OFFSET), %g5
	add	%sp, %g5, %sp
	mov	%l5, %g5
	mov	%l6, %g6
	STORE_PT_ALL sp, l0, l1, l2, g1
	LOAD_CURRENT g6, g1
	wr	%l0, PSR_ET, %psr
	nop
	call	window_overflow_fault
	 nop
	b	ret_trap_entry
	 clr	%l6

spwin_bad_ustack_from_kernel:
	! The kernel needs a window now: park the user's in the buffer.
	SAVE_BOLIXED_USER_STACK g6, g5
	restore	%g0, %g0, %g0
	mov	%l5, %g5
	mov	%l6, %g6
	wr	%l0, 0x0, %psr
	WRITE_PAUSE
	jmp	%l1
	 rett	%l2

! ------------------------------------------------------------------ wuf.S
! Window underflow: a `restore` found the window above invalid. Windows: T (trap, where
! we are), O (where the restore was tried), W (to load), I (invalid when done).
fill_window_entry:
	sll	%l3, 1, %l4			! new wim = wim rotated left
	srl	%l3, NWINDOWS - 1, %l5
	or	%l4, %l5, %l4
	and	%l4, 0xff, %l4
	wr	%l4, 0x0, %wim			! I is the invalid one now
	WRITE_PAUSE
	andcc	%l0, PSR_PS, %g0
	be	fwin_from_user
	 restore	%g0, %g0, %g0		! to O

fwin_from_kernel:
	restore	%g0, %g0, %g0			! to W
	LOAD_WINDOW sp
	save	%g0, %g0, %g0
	save	%g0, %g0, %g0			! back to T
	wr	%l0, 0x0, %psr
	WRITE_PAUSE
	jmp	%l1
	 rett	%l2

fwin_from_user:
	restore	%g0, %g0, %g0			! to W: its locals are free until loaded
	andcc	%sp, 0x7, %g0
	bne	fwin_user_stack_is_bolixed
	 nop
	USER_STACK_CHECK sp, l5, fwin_user_stack_is_bolixed
	LOAD_WINDOW sp
	save	%g0, %g0, %g0
	save	%g0, %g0, %g0
fwin_user_finish_up:
	wr	%l0, 0x0, %psr
	WRITE_PAUSE
	jmp	%l1
	 rett	%l2

fwin_user_stack_is_bolixed:
	! In W: build pt_regs on the kernel stack; the bad user stack is C's problem.
	LOAD_CURRENT l4, l5
	ld	[%l4 + TASK_STACK], %l5
	sethi	%hi(STACK_OFFSET), %l7
	or	%l7, %lo(STACK_OFFSET), %l7
	add	%l5, %l7, %l5
	STORE_PT_GLOBALS l5
	STORE_PT_YREG l5, g3
	mov	%l4, %g6
	save	%g0, %g0, %g0			! O
	rd	%psr, %g3			! the live user window's psr
	mov	%fp, %g4			! the bogus frame pointer
	save	%g0, %g0, %g0			! T
	ld	[%g6 + TASK_STACK], %sp
	sethi	%hi(STACK_OFFSET), %l5
	or	%l5, %lo(STACK_OFFSET), %l5
	add	%sp, %l5, %sp
	STORE_PT_INS sp
	STORE_PT_PRIV sp, l0, l1, l2
	wr	%l3, 0x0, %wim			! the trap-time wim
	mov	0x1, %g5
	sll	%g5, %g3, %g5
	st	%g5, [%g6 + TI_UWINMASK]	! uwinmask: just the window we return into
	ld	[%g6 + TASK_STACK], %g5
	st	%g0, [%g5 + KSTK_W_SAVED]
	wr	%l0, PSR_ET, %psr
	nop
	call	window_underflow_fault
	 mov	%g4, %o0
	b	ret_trap_entry
	 clr	%l6

! ------------------------------------------------------------------ entry.S: system calls
! `ta 0x10`: %l7 = sys_call_table (from the vector), %l0 = psr. The syscall number in %g1,
! arguments in the user's %o0-%o5 (our %i0-%i5). PSR_SYSCALL marks the saved psr.
linux_sparc_syscall:
	sethi	%hi(PSR_SYSCALL), %l4
	or	%l0, %l4, %l0
	cmp	%g1, NR_syscalls
	bgeu	linux_sparc_ni_syscall
	 sll	%g1, 2, %l4
	ld	[%l7 + %l4], %l7

do_syscall:
	sethi	%hi(trap_setup), %l4
	jmpl	%l4 + %lo(trap_setup), %l6
	 rd	%wim, %l3

	wr	%l0, PSR_ET, %psr		! traps (and interrupts) on
	mov	%i0, %o0
	mov	%i1, %o1
	mov	%i2, %o2

	ld	[%g6 + TI_FLAGS], %l5
	mov	%i3, %o3
	andcc	%l5, _TIF_SYSCALL_TRACE, %g0
	mov	%i4, %o4
	bne	linux_syscall_trace
	 mov	%i0, %l6			! orig_i0, for do_notify_resume
2:
	call	%l7
	 mov	%i5, %o5

3:
	st	%o0, [%sp + STACKFRAME_SZ + PT_I0]

ret_sys_call:
	ld	[%g6 + TI_FLAGS], %l5
	cmp	%o0, -ERESTART_RESTARTBLOCK
	ld	[%sp + STACKFRAME_SZ + PT_PSR], %g3
	set	PSR_C, %g2
	bgeu	1f
	 andcc	%l5, _TIF_SYSCALL_TRACE, %g0

	! success: carry clear
	andn	%g3, %g2, %g3
	st	%g3, [%sp + STACKFRAME_SZ + PT_PSR]
	bne	linux_syscall_trace2
	 ld	[%sp + STACKFRAME_SZ + PT_NPC], %l1	! resume after the ta
	add	%l1, 0x4, %l2				! and the word beyond it
	st	%l1, [%sp + STACKFRAME_SZ + PT_PC]
	b	ret_trap_entry
	 st	%l2, [%sp + STACKFRAME_SZ + PT_NPC]
1:
	! failure: carry set, the positive errno in %o0
	sub	%g0, %o0, %o0
	or	%g3, %g2, %g3
	st	%o0, [%sp + STACKFRAME_SZ + PT_I0]
	st	%g3, [%sp + STACKFRAME_SZ + PT_PSR]
	bne	linux_syscall_trace2
	 ld	[%sp + STACKFRAME_SZ + PT_NPC], %l1
	add	%l1, 0x4, %l2
	st	%l1, [%sp + STACKFRAME_SZ + PT_PC]
	b	ret_trap_entry
	 st	%l2, [%sp + STACKFRAME_SZ + PT_NPC]

linux_syscall_trace2:
	add	%sp, STACKFRAME_SZ, %o0
	mov	1, %o1
	call	syscall_trace
	 add	%l1, 0x4, %l2
	st	%l1, [%sp + STACKFRAME_SZ + PT_PC]
	b	ret_trap_entry
	 st	%l2, [%sp + STACKFRAME_SZ + PT_NPC]

linux_sparc_ni_syscall:
	sethi	%hi(sys_ni_syscall), %l7
	b	do_syscall
	 or	%l7, %lo(sys_ni_syscall), %l7

linux_syscall_trace:
	add	%sp, STACKFRAME_SZ, %o0
	call	syscall_trace
	 mov	0, %o1
	cmp	%o0, 0
	bne	3b
	 mov	-ENOSYS, %o0

	! The tracer may have changed the number and the arguments: from pt_regs again.
	ld	[%sp + STACKFRAME_SZ + PT_G1], %g1
	sethi	%hi(sys_call_table), %l7
	ld	[%sp + STACKFRAME_SZ + PT_I0], %i0
	or	%l7, %lo(sys_call_table), %l7
	ld	[%sp + STACKFRAME_SZ + PT_I1], %i1
	ld	[%sp + STACKFRAME_SZ + PT_I2], %i2
	ld	[%sp + STACKFRAME_SZ + PT_I3], %i3
	ld	[%sp + STACKFRAME_SZ + PT_I4], %i4
	ld	[%sp + STACKFRAME_SZ + PT_I5], %i5
	cmp	%g1, NR_syscalls
	bgeu	3b
	 mov	-ENOSYS, %o0

	sll	%g1, 2, %l4
	mov	%i0, %o0
	ld	[%l7 + %l4], %l7
	mov	%i1, %o1
	mov	%i2, %o2
	mov	%i3, %o3
	b	2b
	 mov	%i4, %o4

! The sys_call_table slots entry.S fills itself (arch.json symbols sys_*). Called from
! do_syscall like the C functions, in the trap window, arguments in %o0-%o5.

! rt_sigreturn: returns straight through ret_trap_entry, keeping every restored register
! (no ret_sys_call: it would take the restored %o0 for a result).
sys_rt_sigreturn_stub:
	call	do_rt_sigreturn
	 add	%sp, STACKFRAME_SZ, %o0

	ld	[%g6 + TI_FLAGS], %l5
	andcc	%l5, _TIF_SYSCALL_TRACE, %g0
	be	1f
	 nop
	add	%sp, STACKFRAME_SZ, %o0
	call	syscall_trace
	 mov	1, %o1
1:
	RESTORE_ALL

! fork/vfork/clone: every window out to the stacks first (the child gets a copy of the
! parent's memory and of its trap frame), and the psr/wim the child's switch frame starts
! from. Then the C function, as a tail call (%o7 back to do_syscall's).
sys_fork_stub:
	mov	%o7, %l5
	FLUSH_ALL_KERNEL_WINDOWS
	rd	%psr, %g4
	WRITE_PAUSE
	rd	%wim, %g5
	WRITE_PAUSE
	std	%g4, [%g6 + TI_FORK_KPSR]
	call	sys_fork
	 mov	%l5, %o7

sys_clone_stub:
	mov	%o7, %l5
	FLUSH_ALL_KERNEL_WINDOWS
	rd	%psr, %g4
	WRITE_PAUSE
	rd	%wim, %g5
	WRITE_PAUSE
	std	%g4, [%g6 + TI_FORK_KPSR]
	call	sys_clone
	 mov	%l5, %o7

sys_vfork_stub:
	mov	%o7, %l5
	FLUSH_ALL_KERNEL_WINDOWS
	rd	%psr, %g4
	WRITE_PAUSE
	rd	%wim, %g5
	WRITE_PAUSE
	std	%g4, [%g6 + TI_FORK_KPSR]
	call	sys_vfork
	 mov	%l5, %o7

! execve: the old image's user windows belong on its stack, not the new one's (Linux
! flushes them in flush_cache_mm when the old mm goes).
sys_execve_stub:
	mov	%o7, %l5
	FLUSH_ALL_KERNEL_WINDOWS
	call	sys_execve
	 mov	%l5, %o7

! ------------------------------------------------------------------ entry.S: fork return
! From switch_to: %g3 = the task switched from, %sp = the child's trap frame.
ret_from_fork:
	call	schedule_tail
	 mov	%g3, %o0
	b	ret_sys_call
	 ld	[%sp + STACKFRAME_SZ + PT_I0], %o0

! A kernel thread: fn in pt_regs g1, its argument in g2. If fn returns (it exec'd), the
! new user state is in pt_regs: into user mode through the syscall return.
ret_from_kernel_thread:
	call	schedule_tail
	 mov	%g3, %o0
	ld	[%sp + STACKFRAME_SZ + PT_G1], %l0
	call	%l0
	 ld	[%sp + STACKFRAME_SZ + PT_G2], %o0
	rd	%psr, %l1
	ld	[%sp + STACKFRAME_SZ + PT_PSR], %l0
	andn	%l0, PSR_CWP, %l0
	nop
	and	%l1, PSR_CWP, %l1
	or	%l0, %l1, %l0
	st	%l0, [%sp + STACKFRAME_SZ + PT_PSR]
	b	ret_sys_call
	 mov	0, %o0

! ------------------------------------------------------------------ entry.S: interrupts
! Interrupt level %l7 (the vector's): a trap frame, PIL raised to 15 before traps go back
! on, handler_irq(level, regs), then the common way out (rtrap: the exit work for a
! return to user mode) with PIL 15 until the final wr %psr.
real_irq_entry:
	SAVE_ALL
	or	%l0, PSR_PIL, %g2
	wr	%g2, 0x0, %psr
	WRITE_PAUSE
	wr	%g2, PSR_ET, %psr
	WRITE_PAUSE
	mov	%l7, %o0
	call	handler_irq
	 add	%sp, STACKFRAME_SZ, %o1
	or	%l0, PSR_PIL, %g2		! PIL back up after handler_irq
	wr	%g2, PSR_ET, %psr		! traps stay on
	WRITE_PAUSE
	RESTORE_ALL

! ------------------------------------------------------------------ entry.S: other traps
bad_trap_handler:
	SAVE_ALL
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	add	%sp, STACKFRAME_SZ, %o0
	call	do_hw_interrupt
	 mov	%l7, %o1
	RESTORE_ALL

! illegal (tt 2) and privileged (tt 3) instructions from user code: SIGILL
bad_instruction:
	SAVE_ALL
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	add	%sp, STACKFRAME_SZ, %o0
	mov	%l1, %o1
	mov	%l2, %o2
	call	do_illegal_instruction
	 mov	%l0, %o3
	RESTORE_ALL

priv_instruction:
	SAVE_ALL
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	add	%sp, STACKFRAME_SZ, %o0
	mov	%l1, %o1
	mov	%l2, %o2
	call	do_priv_instruction
	 mov	%l0, %o3
	RESTORE_ALL

mna_handler:
	SAVE_ALL
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	add	%sp, STACKFRAME_SZ, %o0
	mov	%l1, %o1
	mov	%l2, %o2
	call	do_memaccess_unaligned
	 mov	%l0, %o3
	RESTORE_ALL

! `ta 3`: every user window out to the user stack, then past the trap instruction
do_flush_windows:
	SAVE_ALL
	wr	%l0, PSR_ET, %psr
	WRITE_PAUSE
	andcc	%l0, PSR_PS, %g0
	bne	dfw_kernel
	 nop
	call	flush_user_windows
	 nop
	ld	[%sp + STACKFRAME_SZ + PT_NPC], %l1
	add	%l1, 0x4, %l2
	st	%l1, [%sp + STACKFRAME_SZ + PT_PC]
	st	%l2, [%sp + STACKFRAME_SZ + PT_NPC]
	RESTORE_ALL
dfw_kernel:
	FLUSH_ALL_KERNEL_WINDOWS
	ld	[%sp + STACKFRAME_SZ + PT_NPC], %l1
	add	%l1, 0x4, %l2
	st	%l1, [%sp + STACKFRAME_SZ + PT_PC]
	st	%l2, [%sp + STACKFRAME_SZ + PT_NPC]
	RESTORE_ALL

! ------------------------------------------------------------------ copy_user.S, reduced
! __copy_to_user(to = %o0, from = %o1, n = %o2) -> bytes not copied. Byte by byte, with
! interrupts as the caller has them (the MMU is off: no fault fixups to take).
__copy_to_user:
	cmp	%o2, 0
	be	2f
	 nop
1:	ldub	[%o1], %g1
	stb	%g1, [%o0]
	add	%o1, 1, %o1
	subcc	%o2, 1, %o2
	bne	1b
	 add	%o0, 1, %o0
2:	retl
	 mov	%o2, %o0

! ------------------------------------------------------------------ windows.c
! flush_user_windows(): saves until no user window is left in the CPU, then as many
! restores. C calls it (signal frames, sigreturn) to have the user windows on the stack.
flush_user_windows:
	mov	0, %g5
1:	ld	[%g6 + TI_UWINMASK], %g4
	orcc	%g0, %g4, %g0
	add	%g5, 1, %g5
	bne	1b
	 save	%sp, -64, %sp
2:	subcc	%g5, 1, %g5
	bne	2b
	 restore %g0, %g0, %g0
	retl
	 nop

! prepare_arch_switch(): every window to its stack before the address space changes.
flush_all_windows:
	save	%sp, -STACKFRAME_SZ, %sp
	FLUSH_ALL_KERNEL_WINDOWS
	ret
	 restore

! ------------------------------------------------------------------ asm/switch_to_32.h
! switch_to(prev = %o0, next = %o1) -> the task switched from, in %o0. In a frame of its
! own (Linux's runs in schedule()'s): every window out to the stacks, then prev's %sp,
! resume pc, %psr and %wim into its thread, next's back. A newborn resumes at its kpc + 8
! (ret_from_fork, ret_from_kernel_thread) with %g3 = prev.
switch_to:
	save	%sp, -STACKFRAME_SZ, %sp
	FLUSH_ALL_KERNEL_WINDOWS
	sethi	%hi(here - 0x8), %o7
	mov	%i0, %g3			! prev (Linux: %g6)
	or	%o7, %lo(here - 0x8), %o7
	rd	%psr, %g4
	std	%sp, [%i0 + TI_KSP]		! ksp, kpc
	rd	%wim, %g5
	wr	%g4, 0x20, %psr			! traps off (ET toggled)
	nop
	std	%g4, [%i0 + TI_KPSR]		! kpsr, kwim
	ldd	[%i1 + TI_KPSR], %g4
	mov	%i1, %g6			! current = next
	wr	%g4, 0x20, %psr			! next's CWP, traps off
	nop
	nop
	nop
	ldd	[%g6 + TI_KSP], %sp		! next's ksp, kpc
	wr	%g5, 0x0, %wim
	ldd	[%sp + 0x00], %l0
	ldd	[%sp + 0x38], %i6
	wr	%g4, 0x0, %psr			! next's psr, traps on
	nop
	nop
	jmpl	%o7 + 0x8, %g0
	 nop
here:
	ret
	 restore %g0, %g3, %o0			! last = the task we came from

! ------------------------------------------------------------------ head_32.S, reduced
! What the boot code leaves: the trap table in %tbr, CWP 0 with window 1 invalid,
! supervisor with traps on and interrupts masked (PIL 15). The first instruction gives
! the lazy condition codes a defined state (Unicorn never ran QEMU's cpu reset).
sparc_boot:
	cmp	%g0, %g0
	sethi	%hi(trapbase), %g1
	or	%g1, %lo(trapbase), %g1
	wr	%g1, 0x0, %tbr
	wr	%g0, 0x2, %wim
	wr	%g0, PSR_S | PSR_PS | PSR_PIL | PSR_ET, %psr
	WRITE_PAUSE
	mov	0, %g6
sparc_boot_end:
	nop
