| Motorola 680x0 entry glue (68040, MMU kernel, not ColdFire), GNU as MIT syntax:
| system_call (the trap #0 vector), the exception exit and its work loop, the
| switch_stack wrappers of fork, clone, vfork and the sigreturns, the trap and
| bus error handlers, ret_from_fork, ret_from_kernel_thread and resume.
|
| Follows arch/m68k/kernel/entry.S and arch/m68k/include/asm/entry.h of Linux
| 6.18. m68k has no GENERIC_ENTRY: the work loop is this assembly
| (resume_userspace -> exit_work -> schedule or do_signal_return ->
| do_notify_resume -> resume_userspace), and a handler-less restart rewinds the
| pc in C (signal.c handle_restart) and returns to user mode.
|
| One deviation from 6.18, marked "closed window" below: 6.18 tests the work
| flags and returns with interrupts enabled (the `oriw #0x0700,%sr` of
| ret_from_syscall is commented out, ret_from_exception enables them before
| resume_userspace), so an interrupt between the test and the rte leaves its work
| for the next entry. Here the flags are tested with interrupts masked (IPL 7)
| and the work itself runs with them enabled, as in 6.18.
|
| %a2 is curptr, current's task_struct, throughout the kernel (a global register
| variable in m68k Linux), set by GET_CURRENT on entry and by resume. The kit
| keeps thread_info.flags in the task_struct (TI_FLAGS), where m68k reads them
| through task->stack (TINFO_FLAGS): the tests read %a2@(TI_FLAGS+2/+3), the
| same low word and low byte of the big-endian flags word.
|
| Constants (PT_*, SW_*, THREAD_*, TIF_*, __NR_*, NR_syscalls, ENOSYS, SIGTRAP,
| TI_FLAGS, TASK_THREAD, THREAD_SIZE) come from the asm-offsets prelude; C
| functions are externs at stub addresses, called with their arguments on the
| stack (m68k C passes every argument there).

| asm/entry.h
.equ ALLOWINT, ~0x700
| asm/traps.h
.equ VEC_SPUR, 24
| asm-offsets names of m68k's entry.S
.equ PT_OFF_D0, PT_D0
.equ PT_OFF_ORIG_D0, PT_ORIG_D0
.equ PT_OFF_SR, PT_SR
.equ PT_OFF_PC, PT_PC
.equ PT_OFF_FORMATVEC, PT_FORMATVEC

.if (PT_D1 != 0) || (PT_A0 != 20) || (PT_D0 != 32) || (PT_ORIG_D0 != 36) || (PT_STKADJ != 40) || (PT_SR != 44) || (PT_PC != 46) || (PT_FORMATVEC != 50) || (PT_REGS_SIZE != 52)
.error "pt_regs is not the layout SAVE_ALL_SYS builds"
.endif
.if (SW_D6 != 0) || (SW_A3 != 8) || (SW_A6 != 20) || (SW_RETPC != 24) || (SWITCH_STACK_SIZE != 28)
.error "switch_stack is not the layout SAVE_SWITCH_STACK builds"
.endif
| tstb of the flags' second byte tests TIF_SYSCALL_TRACE through its sign
.if (TIF_SYSCALL_TRACE != 15) || (TIF_DELAYED_TRACE != 14) || (TIF_NEED_RESCHED != 7)
.error "the syscall exit tests shift TIF_SYSCALL_TRACE, TIF_DELAYED_TRACE and TIF_NEED_RESCHED out of the flags word"
.endif

| a -1 in orig_d0 says the frame is not a syscall's
.macro SAVE_ALL_INT
	clrl	%sp@-			| stkadj
	pea	-1:w			| orig_d0
	movel	%d0,%sp@-		| d0
	moveml	%d1-%d5/%a0-%a2,%sp@-
.endm

.macro SAVE_ALL_SYS
	clrl	%sp@-			| stkadj
	movel	%d0,%sp@-		| orig_d0
	movel	%d0,%sp@-		| d0
	moveml	%d1-%d5/%a0-%a2,%sp@-
.endm

.macro RESTORE_ALL
	moveml	%sp@+,%a0-%a2/%d1-%d5
	movel	%sp@+,%d0
	addql	#4,%sp			| orig_d0
	addl	%sp@+,%sp		| stkadj
	rte
.endm

| struct switch_stack, below pt_regs; with the return address above it
.macro SAVE_SWITCH_STACK
	moveml	%a3-%a6/%d6-%d7,%sp@-
.endm

.macro RESTORE_SWITCH_STACK
	moveml	%sp@+,%a3-%a6/%d6-%d7
.endm

| curptr = thread_info.task, from the stack base
.macro GET_CURRENT reg
	movel	%sp,\reg
	andl	#-THREAD_SIZE,\reg
	movel	\reg,%a2
	movel	%a2@,%a2
.endm

	.text
| ---------------------------------------------------------------------------
| Syscalls that need every register in memory: the switch_stack is pushed
| next to pt_regs (the return address into system_call is its retpc), so
| copy_thread can copy it into the child and the sigreturns can fill it.
__sys_fork:
	SAVE_SWITCH_STACK
	jbsr	sys_fork
	lea	%sp@(24),%sp
	rts

__sys_clone:
	SAVE_SWITCH_STACK
	pea	%sp@(SWITCH_STACK_SIZE)	| pt_regs: m68k_clone reads its arguments there
	jbsr	m68k_clone
	lea	%sp@(28),%sp
	rts

__sys_vfork:
	SAVE_SWITCH_STACK
	jbsr	sys_vfork
	lea	%sp@(24),%sp
	rts

sys_sigreturn:
	SAVE_SWITCH_STACK
	movel	%sp,%a1			| a1 = &switch_stack
	lea	%sp@(SWITCH_STACK_SIZE),%a0	| a0 = &pt_regs, right above it
	lea	%sp@(-84),%sp		| room to move both down for a longer frame format
	movel	%a1,%sp@-
	movel	%a0,%sp@-
	jbsr	do_sigreturn
	jra	1f			| the tail is common to both sigreturns

| Linux names this sys_rt_sigreturn; in the kit that is the C syscall's stub
__sys_rt_sigreturn:
	SAVE_SWITCH_STACK
	movel	%sp,%a1			| a1 = &switch_stack
	lea	%sp@(SWITCH_STACK_SIZE),%a0	| a0 = &pt_regs, right above it
	lea	%sp@(-84),%sp		| room to move both down for a longer frame format
	movel	%a1,%sp@-
	movel	%a0,%sp@-
	| from %sp up: &pt_regs, &switch_stack, 84 free bytes, switch_stack, pt_regs, CPU frame
	jbsr	do_rt_sigreturn
1:
	| d0: the switch_stack, moved down if the restored frame is a longer format
	movel	%d0,%sp			| drops the two arguments and what is left of the gap
	RESTORE_SWITCH_STACK
	| now the return into system_call, pt_regs, the CPU frame; returning
	| pt_regs.d0 makes system_call's store of %d0 keep the restored value
	movel	%sp@(PT_OFF_D0+4),%d0
	rts

| ---------------------------------------------------------------------------
| Exceptions other than the syscall and the interrupts (vectors.c: trap for
| every vector below VEC_USER, buserr for VEC_BUSERR).
buserr:
	SAVE_ALL_INT
	GET_CURRENT %d0
	movel	%sp,%sp@-		| the handler's only argument: &pt_regs
	jbsr	buserr_c
	addql	#4,%sp
	jra	ret_from_exception

trap:
	SAVE_ALL_INT
	GET_CURRENT %d0
	movel	%sp,%sp@-		| the handler's only argument: &pt_regs
	jbsr	trap_c
	addql	#4,%sp
	jra	ret_from_exception

| Every autovectored interrupt enters here (the timer's is VEC_SPUR + 6).
| The CPU has stacked a format-0 frame and raised the mask to the interrupt's level.
auto_inthandler:
	SAVE_ALL_INT
	GET_CURRENT %d0
	| d0 = the vector from the frame's format/vector word, less VEC_SPUR
	bfextu	%sp@(PT_OFF_FORMATVEC){#4,#10},%d0
	subw	#VEC_SPUR,%d0

	movel	%sp,%sp@-
	movel	%d0,%sp@-		| do_IRQ(irq, regs): the last push is the first argument
	jsr	do_IRQ
	addql	#8,%sp
	jra	ret_from_exception

| Vectors nobody claimed (spurious and unregistered interrupts).
bad_inthandler:
	SAVE_ALL_INT
	GET_CURRENT %d0
	movel	%sp,%sp@-
	jsr	handle_badint
	addql	#4,%sp
	jra	ret_from_exception

| ---------------------------------------------------------------------------
| The first return of a new task, from resume's rts, with the previous task in
| %d1 and %sp at the child's pt_regs.
ret_from_fork:
	movel	%d1,%sp@-
	jsr	schedule_tail
	addql	#4,%sp
	jra	ret_from_exception

ret_from_kernel_thread:
	| copy_thread put fn in the switch_stack's a3 and its argument in d7;
	| prev's slot is reused for that argument
	movel	%d1,%sp@-
	jsr	schedule_tail
	movel	%d7,(%sp)
	jsr	%a3@
	addql	#4,%sp
	jra	ret_from_exception

| ---------------------------------------------------------------------------
| Syscall tracing: the switch_stack is saved around each stop, so a tracer can
| read and change every register, and the number and arguments are read again
| from pt_regs afterwards.
do_trace_entry:
	movel	#-ENOSYS,%sp@(PT_OFF_D0)| d0 as a tracer sees it at the entry stop
	subql	#4,%sp
	SAVE_SWITCH_STACK
	jbsr	syscall_trace_enter
	RESTORE_SWITCH_STACK
	addql	#4,%sp
	tstl	%d0			| killed by the tracer (1) or seccomp (-1): no syscall
	jne	ret_from_syscall
	movel	%sp@(PT_OFF_ORIG_D0),%d0
	cmpl	#NR_syscalls,%d0
	jcs	syscall
	jra	ret_from_syscall
badsys:
	movel	#-ENOSYS,%sp@(PT_OFF_D0)
	jra	ret_from_syscall

do_trace_exit:
	subql	#4,%sp
	SAVE_SWITCH_STACK
	jbsr	syscall_trace_leave
	RESTORE_SWITCH_STACK
	addql	#4,%sp
	jra	.Lret_from_exception

| ---------------------------------------------------------------------------
| trap #0 (VEC_SYS). The CPU has stacked a format-0 frame on the ISP and left
| the interrupt mask as user mode had it (enabled): the syscall runs with
| interrupts on.
system_call:
	SAVE_ALL_SYS

	GET_CURRENT %d1
	movel	%d1,%a1

	| thread.esp0 = &pt_regs: ptrace finds the user registers there
	movel	%sp,%a2@(TASK_THREAD+THREAD_ESP0)

	| TIF_SYSCALL_TRACE: stop for the tracer before the call
	tstb	%a2@(TI_FLAGS+2)
	jmi	do_trace_entry
	| TIF_SECCOMP: the filter decides first
	btst	#(TIF_SECCOMP-8),%a2@(TI_FLAGS+2)
	bnes	do_trace_entry
	cmpl	#NR_syscalls,%d0
	jcc	badsys
syscall:
	| the pt_regs block is the C argument list: 4(%sp) = d1, ... 24(%sp) = a0
	jbsr	@(sys_call_table,%d0:l:4)@(0)
	movel	%d0,%sp@(PT_OFF_D0)	| the result, reloaded by RESTORE_ALL
ret_from_syscall:
	oriw	#0x0700,%sr		| closed window: commented out in 6.18
	movew	%a2@(TI_FLAGS+2),%d0
	jne	syscall_exit_work
1:	RESTORE_ALL

syscall_exit_work:
	btst	#5,%sp@(PT_OFF_SR)	| S bit of the saved SR: going back to the kernel
	bnes	1b			| which gets no exit work
	andw	#ALLOWINT,%sr		| closed window: the work with interrupts on
	lslw	#1,%d0
	jcs	do_trace_exit
	jmi	do_delayed_trace
	lslw	#8,%d0
	jne	do_signal_return
	pea	resume_userspace
	jra	schedule

| ---------------------------------------------------------------------------
| The common way out of every exception, and of a new task.
ret_from_exception:
.Lret_from_exception:
	btst	#5,%sp@(PT_OFF_SR)	| S bit of the saved SR: going back to the kernel
	bnes	1f			| which gets no exit work
	| interrupts are opened only by an exit to user mode, the bottom frame:
	| nested exits opening them could let an interrupt storm pile frame on
	| frame until the kernel stack overflows
	andw	#ALLOWINT,%sr

resume_userspace:
	oriw	#0x0700,%sr		| closed window: the test and the rte with interrupts masked
	moveb	%a2@(TI_FLAGS+3),%d0
	jne	exit_work
1:	RESTORE_ALL

exit_work:
	andw	#ALLOWINT,%sr		| closed window: the work with interrupts on
	| thread.esp0 = &pt_regs: ptrace finds the user registers there
	movel	%sp,%a2@(TASK_THREAD+THREAD_ESP0)
	lslb	#1,%d0
	jne	do_signal_return
	pea	resume_userspace
	jra	schedule

do_signal_return:
	| interrupts are on: exit_work and syscall_exit_work opened them
	subql	#4,%sp			| the retpc slot of switch_stack, unused here
	SAVE_SWITCH_STACK
	pea	%sp@(SWITCH_STACK_SIZE)
	bsrl	do_notify_resume
	addql	#4,%sp
	RESTORE_SWITCH_STACK
	addql	#4,%sp
	jbra	resume_userspace

do_delayed_trace:
	bclr	#7,%sp@(PT_OFF_SR)	| no T1 in the user SR: SIGTRAP is sent by hand instead
	pea	1			| SIGTRAP to current, priv 1: sent by the kernel
	movel	%a2,%sp@-
	pea	SIGTRAP
	jbsr	send_sig
	addql	#8,%sp
	addql	#4,%sp
	jbra	resume_userspace

| ---------------------------------------------------------------------------
| __copy_to_user(to, from, n) -> bytes not copied: raw_copy_to_user() of
| asm/uaccess.h (__generic_copy_to_user), byte by byte here. User memory is
| reached with moves through the dfc, which holds USER_DATA in the kernel.
| Runs with interrupts as its caller has them (enabled in a syscall).
__copy_to_user:
	movel	%sp@(4),%a0		| to
	movel	%sp@(8),%a1		| from
	movel	%sp@(12),%d0		| n
	jeq	2f
1:	moveb	%a1@+,%d1
	movesb	%d1,%a0@+
	subql	#1,%d0
	jne	1b
2:	rts

| ---------------------------------------------------------------------------
| switch_to(prev, next) -> last, the macro of asm/switch_to.h as a C-callable
| function: prev in %a0, next in %a1, jbsr resume, last back in %d1. The C
| around Linux's switch_to() runs with curptr = prev in %a2; the kit's C is
| TypeScript, so it is set from prev here.
switch_to:
	movel	%sp@(4),%a0
	movel	%sp@(8),%a1
	movel	%a0,%a2
	jbsr	resume
	movel	%d1,%d0
	rts

resume:
	| in: a0 = prev, a1 = next; a0 is reused only once prev is stored
	| prev's SR, so its interrupt mask comes back with it
	movew	%sr,%a0@(TASK_THREAD+THREAD_SR)

	| prev's function code (sfc = dfc): not always USER_DATA
	movec	%sfc,%d0
	movew	%d0,%a0@(TASK_THREAD+THREAD_FC)

	| prev's user stack pointer
	movec	%usp,%d0
	movel	%d0,%a0@(TASK_THREAD+THREAD_USP)

	| prev's callee-saved registers, as a switch_stack
	SAVE_SWITCH_STACK

	| thread.ksp: where the switch back finds that switch_stack
	movel	%sp,%a0@(TASK_THREAD+THREAD_KSP)

	| FPU: fsave, then the registers only if the frame is not null (an idle
	| 68040 FPU writes a null frame, first byte 0)
	fsave	%a0@(TASK_THREAD+THREAD_FPSTATE)
	tstb	%a0@(TASK_THREAD+THREAD_FPSTATE)
	jeq	3f
	fmovemx	%fp0-%fp7,%a0@(TASK_THREAD+THREAD_FP)
	fmoveml	%fpcr/%fpsr/%fpiar,%a0@(TASK_THREAD+THREAD_FPCNTL)
3:
	| d1 = prev: switch_to's last, and schedule_tail's argument in ret_from_fork
	movel	%a2,%d1

	| curptr = next from here on
	movel	%a1,%a2

	| next's FPU: registers if its frame is not null, then frestore
	tstb	%a1@(TASK_THREAD+THREAD_FPSTATE)
	jeq	3f
	fmovemx	%a1@(TASK_THREAD+THREAD_FP),%fp0-%fp7
	fmoveml	%a1@(TASK_THREAD+THREAD_FPCNTL),%fpcr/%fpsr/%fpiar
3:	frestore %a1@(TASK_THREAD+THREAD_FPSTATE)

	| onto next's kernel stack
	movel	%a1@(TASK_THREAD+THREAD_KSP),%sp

	| next's callee-saved registers
	RESTORE_SWITCH_STACK

	| next's usp
	movel	%a1@(TASK_THREAD+THREAD_USP),%a0
	movel	%a0,%usp

	| next's function code, into sfc and dfc
	movew	%a1@(TASK_THREAD+THREAD_FC),%a0
	movec	%a0,%sfc
	movec	%a0,%dfc

	| next's SR at IPL 7: the scheduler opens interrupts after the switch
	movew	%a1@(TASK_THREAD+THREAD_SR),%d0
	oriw	#0x0700,%d0
	movew	%d0,%sr

	rts
