# s390x entry glue: system_call (the svc new PSW), pgm_check_handler (the
# program new PSW), ext_int_handler (the external new PSW), ret_from_fork,
# __switch_to_asm, copy_to_user and the vDSO's syscall trampolines. GNU as
# syntax (s390x-linux-gnu-as -march=z10).
#
# Follows arch/s390/kernel/entry.S of Linux 6.18, a GENERIC_ENTRY arch: the
# CPU has stored the old PSW and the interruption code in the lowcore and
# loaded the new PSW (here the CPU model's interrupt hook does that PSW swap,
# which Unicorn leaves out); the glue saves r8-r15 in the lowcore save area,
# switches to the task's kernel stack (lowcore kernel_stack), builds struct
# pt_regs below a 160-byte stack frame and calls C (__do_syscall,
# __do_pgm_check, do_ext_irq, __ret_from_fork in src/entry.ts), which runs the syscall,
# the exit work and the restart decision and comes back with interrupts
# masked; the glue copies pt_regs.psw to the lowcore return PSW, reloads
# every register and goes back with lpswe.
#
# Left out, as facilities or config options the kit does not model: BEAR
# (facility 193: STBEAR/LBEAR/MBEAR are nops without it), branch-prediction
# blocking (facility 82: BPOFF/BPON/BPENTER are nops), CHECK_VMAP_STACK,
# KVM/SIE exits, STACKLEAK_ERASE, the relocated lowcore (MFEATURE_LOWCORE),
# single-stepped svc (PER). LPSWEY without facility 193 is `b
# __LC_RETURN_LPSWE`, an lpswe of the return PSW kept in the lowcore; here the
# same lpswe sits in kernel text, where the core looks for return-to-user
# instructions.
#
# The lowcore is at absolute 0 (prefix 0): GET_LC is `lghi %r13,0`, and
# lowcore fields are addressed with base register 0 or %r13, as Linux does.
#
# Constants (PT_*, SF_*, THREAD_*, TASK_*, THREAD_SIZE, __NR_*) come from the
# asm-offsets prelude; C functions are externs at stub addresses.

# arch/s390/include/asm/lowcore.h
.equ __LC_PGM_LAST_BREAK, 0x110
.equ __LC_EXT_OLD_PSW, 0x130
.equ __LC_PGM_OLD_PSW, 0x150
.equ __LC_SAVE_AREA, 0x200
.equ __LC_RETURN_PSW, 0x290
.equ __LC_SYS_ENTER_TIMER, 0x2b8
.equ __LC_EXIT_TIMER, 0x2c8
.equ __LC_INT_CLOCK, 0x318
.equ __LC_CURRENT, 0x340
.equ __LC_KERNEL_STACK, 0x348

# asm-offsets names over the prelude's
.equ __PT_PSW, PT_PSW_MASK
.equ __PT_R0, PT_R0
.equ __PT_R8, PT_R8
.equ __PT_FLAGS, PT_FLAGS
.equ __PT_LAST_BREAK, PT_LAST_BREAK
.equ __PT_SIZE, PT_REGS_SIZE
.equ STACK_FRAME_OVERHEAD, SWITCH_FRAME_SIZE
.equ __SF_GPRS, SF_R6
.equ __SF_BACKCHAIN, SF_BACK_CHAIN
.equ __TASK_stack, TASK_STACK
.equ __TASK_thread, TASK_THREAD
.equ __THREAD_ksp, THREAD_SP
# asm/thread_info.h
.equ STACK_INIT_OFFSET, THREAD_SIZE - STACK_FRAME_OVERHEAD - __PT_SIZE

# stmg/lmg move r0..r15 in one go and mvc copies the PSW as 16 bytes: pt_regs
# must keep Linux's order.
.if (PT_R15 - PT_R0 != 120) || (PT_PSW_ADDR - PT_PSW_MASK != 8) || (__PT_R8 - __PT_R0 != 64) || (__PT_SIZE != 192)
.error "pt_regs layout is not the one this glue assumes (asm/ptrace.h)"
.endif
.if (SF_R15 - SF_R6 != 72) || (STACK_FRAME_OVERHEAD != 160)
.error "the switch frame must be struct stack_frame (asm/stacktrace.h)"
.endif

# call_c sym: call a C function at its stub address. Linux writes `brasl
# %r14,sym`; GNU as encodes a pc-relative operand that names an absolute
# symbol (the externs are `.equiv` constants) relative to the section start
# instead of emitting a relocation, so the address goes through %r1, which is
# free at every call site (system_call clears it anyway).
.macro call_c sym
	llilf	%r1,\sym
	basr	%r14,%r1
.endm

	.text
# ---------------------------------------------------------------------------
# SVC interrupt handler (the svc new PSW: supervisor, 64-bit, I/O and
# external interrupts off). The CPU stored the svc old PSW (problem state,
# the address after the svc) and svc_int_code (ILC << 16 | immediate).
	.balign 8
system_call:
	stmg	%r8,%r15,__LC_SAVE_AREA		# STMG_LC
	lghi	%r13,0				# GET_LC
	stpt	__LC_SYS_ENTER_TIMER(%r13)
	lghi	%r14,0				# per_trap = 0
	lg	%r15,__LC_KERNEL_STACK(%r13)
	xc	__SF_BACKCHAIN(8,%r15),__SF_BACKCHAIN(%r15)
	stmg	%r0,%r7,STACK_FRAME_OVERHEAD+__PT_R0(%r15)
	# leave no user-chosen values in registers C has no use for (speculation)
	xgr	%r0,%r0
	xgr	%r1,%r1
	xgr	%r4,%r4
	xgr	%r5,%r5
	xgr	%r6,%r6
	xgr	%r7,%r7
	xgr	%r8,%r8
	xgr	%r9,%r9
	xgr	%r10,%r10
	xgr	%r11,%r11
	la	%r2,STACK_FRAME_OVERHEAD(%r15)	# first argument: &pt_regs
	mvc	__PT_R8(64,%r2),__LC_SAVE_AREA(%r13)
	lgr	%r3,%r14
	call_c	__do_syscall
	mvc	__LC_RETURN_PSW(16,%r13),STACK_FRAME_OVERHEAD+__PT_PSW(%r15)
	stpt	__LC_EXIT_TIMER(%r13)
	lmg	%r0,%r15,STACK_FRAME_OVERHEAD+__PT_R0(%r15)
	lpswe	__LC_RETURN_PSW

# ---------------------------------------------------------------------------
# A new task's first return (r14 of the switch frame copy_thread built, from
# __switch_to_asm's br): r2 = prev, r11 = its pt_regs, r15 = the frame below
# them.
	.balign 8
ret_from_fork:
	lgr	%r3,%r11
	call_c	__ret_from_fork
	lghi	%r13,0				# GET_LC
	mvc	__LC_RETURN_PSW(16,%r13),STACK_FRAME_OVERHEAD+__PT_PSW(%r15)
	stpt	__LC_EXIT_TIMER(%r13)
	lmg	%r0,%r15,STACK_FRAME_OVERHEAD+__PT_R0(%r15)
	lpswe	__LC_RETURN_PSW

# ---------------------------------------------------------------------------
# Program check handler (the program new PSW). The CPU stored the program old
# PSW (past the instruction when the exception suppresses or ends it, at it
# when it nullifies) and pgm_ilc/pgm_code.
	.balign 8
pgm_check_handler:
	stmg	%r8,%r15,__LC_SAVE_AREA		# STMG_LC
	lghi	%r13,0				# GET_LC
	stpt	__LC_SYS_ENTER_TIMER(%r13)
	lmg	%r8,%r9,__LC_PGM_OLD_PSW(%r13)
	xgr	%r10,%r10			# pt_regs.flags
	tmhh	%r8,0x0001			# old PSW in problem state?
	jo	3f				# then start on the task's kernel stack
	# from the kernel: the new frame goes just below the interrupted one
	aghi	%r15,-(STACK_FRAME_OVERHEAD + __PT_SIZE)
	j	4f
3:	lg	%r15,__LC_KERNEL_STACK(%r13)
4:	la	%r11,STACK_FRAME_OVERHEAD(%r15)
	stg	%r10,__PT_FLAGS(%r11)
	xc	__SF_BACKCHAIN(8,%r15),__SF_BACKCHAIN(%r15)
	stmg	%r0,%r7,__PT_R0(%r11)
	mvc	__PT_R8(64,%r11),__LC_SAVE_AREA(%r13)
	mvc	__PT_LAST_BREAK(8,%r11),__LC_PGM_LAST_BREAK(%r13)
	stmg	%r8,%r9,__PT_PSW(%r11)
	# leave no user-chosen values in registers C has no use for (speculation)
	xgr	%r0,%r0
	xgr	%r1,%r1
	xgr	%r3,%r3
	xgr	%r4,%r4
	xgr	%r5,%r5
	xgr	%r6,%r6
	xgr	%r7,%r7
	xgr	%r12,%r12
	lgr	%r2,%r11
	call_c	__do_pgm_check
	tmhh	%r8,0x0001			# back to problem state: stamp the exit timer
	jno	.Lpgm_exit_kernel
	stpt	__LC_EXIT_TIMER(%r13)
.Lpgm_exit_kernel:
	mvc	__LC_RETURN_PSW(16,%r13),STACK_FRAME_OVERHEAD+__PT_PSW(%r15)
	lmg	%r0,%r15,STACK_FRAME_OVERHEAD+__PT_R0(%r15)
	lpswe	__LC_RETURN_PSW

# ---------------------------------------------------------------------------
# External interrupt handler (INT_HANDLER ext_int_handler, __LC_EXT_OLD_PSW,
# do_ext_irq). Entered through the external new PSW (interrupts masked) from
# problem state (the task's kernel stack, as system_call) or from the kernel
# (a frame below the interrupted one, on the same stack).
	.balign 8
ext_int_handler:
	stmg	%r8,%r15,__LC_SAVE_AREA		# STMG_LC
	lghi	%r13,0				# GET_LC
	stckf	__LC_INT_CLOCK(%r13)
	stpt	__LC_SYS_ENTER_TIMER(%r13)
	lmg	%r8,%r9,__LC_EXT_OLD_PSW(%r13)
	tmhh	%r8,0x0001			# old PSW in problem state?
	jnz	1f
	aghi	%r15,-(STACK_FRAME_OVERHEAD + __PT_SIZE)
	j	2f
1:	lg	%r15,__LC_KERNEL_STACK(%r13)
2:	xc	__SF_BACKCHAIN(8,%r15),__SF_BACKCHAIN(%r15)
	la	%r11,STACK_FRAME_OVERHEAD(%r15)
	stmg	%r0,%r7,__PT_R0(%r11)
	# leave no user-chosen values in registers C has no use for (speculation)
	xgr	%r0,%r0
	xgr	%r1,%r1
	xgr	%r3,%r3
	xgr	%r4,%r4
	xgr	%r5,%r5
	xgr	%r6,%r6
	xgr	%r7,%r7
	xgr	%r10,%r10
	xc	__PT_FLAGS(8,%r11),__PT_FLAGS(%r11)
	mvc	__PT_R8(64,%r11),__LC_SAVE_AREA(%r13)
	stmg	%r8,%r9,__PT_PSW(%r11)
	lgr	%r2,%r11			# first argument: &pt_regs
	call_c	do_ext_irq
	mvc	__LC_RETURN_PSW(16,%r13),__PT_PSW(%r11)
	tmhh	%r8,0x0001			# back to problem state: stamp the exit timer
	jno	2f
	stpt	__LC_EXIT_TIMER(%r13)
2:	lmg	%r0,%r15,__PT_R0(%r11)
	lpswe	__LC_RETURN_PSW

# ---------------------------------------------------------------------------
# copy_to_user(to = r2, from = r3, n = r4) -> r2 = the bytes not copied:
# raw_copy_to_user (asm/uaccess.h), mvcos with OAC1 = the secondary space
# (CR7: the user ASCE) for the destination, 4 KiB per instruction (CC 3: more
# to go). Called from C with interrupts enabled; a leaf, it needs no frame.
# Linux's exception-table fixups for a fault are left out: read() checks the
# buffer with access_ok() first.
	.balign 8
copy_to_user:
	lgr	%r5,%r4				# osize = size
	llilh	%r0,0x81			# spec: OAC1 secondary space, valid
	mvcos	0(%r2),0(%r3),%r4
	jno	1f				# CC 0: all of it moved
	aghi	%r4,-4096
	lay	%r2,4096(%r2)
	lay	%r3,4096(%r3)
	j	copy_to_user
1:	lgr	%r2,%r5				# osize - size: 0, nothing left over
	sgr	%r2,%r4
	br	%r14

# ---------------------------------------------------------------------------
# __switch_to_asm(prev = r2, next = r3) -> r2 = prev: the callee-saved r6-r15
# of prev into its current stack frame, its sp into prev->thread.ksp; next's
# kernel stack end and task_struct into the lowcore, next's sp and registers
# back. Called by __switch_to (the core runs its C half first).
	.balign 8
__switch_to_asm:
	stmg	%r6,%r15,__SF_GPRS(%r15)	# prev's callee-saved registers
	lghi	%r4,__TASK_stack
	lghi	%r1,__TASK_thread
	llill	%r5,STACK_INIT_OFFSET
	stg	%r15,__THREAD_ksp(%r1,%r2)	# prev->thread.ksp: its frame
	lg	%r15,0(%r4,%r3)			# next->stack, the stack's base
	agr	%r15,%r5			# + STACK_INIT_OFFSET: user entries' frame, pt_regs above it
	lghi	%r13,0				# GET_LC
	stg	%r3,__LC_CURRENT(%r13)		# current = next
	stg	%r15,__LC_KERNEL_STACK(%r13)	# the next entry from user space starts here
	lg	%r15,__THREAD_ksp(%r1,%r3)	# next's saved frame
	lmg	%r6,%r15,__SF_GPRS(%r15)	# next's registers; r14 is where it resumes
	br	%r14

# ---------------------------------------------------------------------------
# vDSO (arch/s390/kernel/vdso64/vdso_user_wrapper.S): copied into every new
# mm. A handler installed without SA_RESTORER returns through
# __kernel_rt_sigreturn (r14); a handler-less ERESTART_RESTARTBLOCK restart
# sends the task to __kernel_restart_syscall. Each svc is followed by an
# invalid halfword: the syscalls never return here.
	.balign 8
__vdso_start:
__kernel_restart_syscall:
	svc	__NR_restart_syscall
	.short	0
__kernel_sigreturn:
	svc	__NR_sigreturn
	.short	0
__kernel_rt_sigreturn:
	svc	__NR_rt_sigreturn
	.short	0
__vdso_end:
