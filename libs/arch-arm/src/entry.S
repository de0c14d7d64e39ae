@ 32-bit ARM entry glue (ARMv7-A, ARM state, EABI, little endian), GNU as syntax:
@ vector_swi with the fast and slow syscall return paths and the in-kernel restart,
@ ret_to_user, ret_from_fork, __switch_to, the vectors and stubs pages (vector_stub,
@ __irq_usr, __irq_svc, __und_usr), call_with_stack and the IRQ stack, copy_to_user and
@ the sigpage's sigreturn_codes.
@
@ Follows arch/arm/kernel/entry-common.S, entry-armv.S and entry-header.S of Linux 6.18
@ for a multi_v7 kernel without OABI compat, tracing, context tracking, KSTACK_ERASE,
@ VMAP_STACK, spectre/BHB hardening or Thumb-2 kernel: the asm saves struct pt_regs,
@ dispatches through sys_call_table with the C calling convention (5th and 6th
@ arguments pushed below pt_regs), and on the way out tests the work flags with irqs off
@ and calls do_work_pending(), whose non-zero result is a handler-less restart this glue
@ carries out without returning to user mode.
@
@ Constants (PT_*, SF_*, THREAD_*, TIF_*, _TIF_*, __NR_*, NR_syscalls, TASK_THREAD,
@ PCPU_*) come from the asm-offsets prelude; the C functions are externs at stub
@ addresses, reached with bl/b (the stub page is within branch range).

	.syntax	unified
	.arch	armv7-a
	.arm

@ arch/arm/include/uapi/asm/ptrace.h
	.equ	USR_MODE, 0x10
	.equ	FIQ_MODE, 0x11
	.equ	IRQ_MODE, 0x12
	.equ	SVC_MODE, 0x13
	.equ	ABT_MODE, 0x17
	.equ	UND_MODE, 0x1b
	.equ	PSR_T_BIT, 0x20
	.equ	PSR_I_BIT, 0x80
	.equ	PSR_ISETSTATE, 0

@ entry-header.S names over the kit's asm-offsets. thread_info is the start of
@ task_struct; its cpu_context, abi_syscall and tp_value live in the arch part of the
@ kit's task_struct (TASK_THREAD).
	.equ	S_R0, PT_R0
	.equ	S_SP, PT_SP
	.equ	S_PC, PT_PC
	.equ	S_PSR, PT_CPSR
	.equ	S_OLD_R0, PT_ORIG_R0
	.equ	S_OFF, 8			@ the two stacked syscall arguments sit under pt_regs
	.equ	SVC_REGS_SIZE, PT_REGS_SIZE + 8	@ struct svc_pt_regs: pt_regs, dacr, ttbcr
	.equ	TI_CPU_SAVE, TASK_THREAD + THREAD_CPU_CONTEXT
	.equ	TI_ABI_SYSCALL, TASK_THREAD + THREAD_ABI_SYSCALL
	.equ	TI_TP_VALUE, TASK_THREAD + THREAD_TP_VALUE
	.equ	__NR_SYSCALL_BASE, 0
	.equ	__ARM_NR_BASE, 0x0f0000
	.equ	__NR_OABI_SYSCALL_BASE, 0x900000
	.equ	SYS_ERROR0, 0x9f0000
	.equ	BUG_INSTR_VALUE, 0xe7f001f2	@ asm/bug.h, ARM state

.if (PT_REGS_SIZE != 72) || (S_R0 != 0) || (S_PC != 60) || (PT_REGS_SIZE & 7)
.error "pt_regs is not the uregs[18] layout this glue assumes"
.endif
.if (SF_R4 != 0) || (SF_SP != 32) || (SF_PC != 36)
.error "cpu_context_save is not {r4-r9, sl, fp, sp, pc, extra[2]}"
.endif

scno	.req	r7		@ r7: where EABI passes the number
tbl	.req	r8		@ base of sys_call_table
why	.req	r8		@ nonzero while a syscall is returning
tsk	.req	r9		@ thread_info of current

@ BUG(): an undefined instruction the CPU model reports as a kernel bug at this site
	.macro	bug, msg
	.inst	BUG_INSTR_VALUE
	.endm

	.macro	disable_irq_notrace
	cpsid	i
	.endm

	.macro	enable_irq_notrace
	cpsie	i
	.endm

	.macro	mov_l, dst, imm
	movw	\dst, #:lower16:\imm
	movt	\dst, #:upper16:\imm
	.endm

@ CONFIG_CURRENT_POINTER_IN_TPIDRURO: in the kernel, TPIDRURO holds current
	.macro	get_thread_info, rd
	mrc	p15, 0, \rd, c13, c0, 3
	.endm

	.macro	set_current, rn
	mcr	p15, 0, \rn, c13, c0, 3
	.endm

@ __entry_task is the core's per-cpu current_task (written before switch_to runs)
	.macro	reload_current, t1, t2
	mov_l	\t1, PCPU_CURRENT_TASK
	ldr	\t1, [\t1]
	mcr	p15, 0, \t1, c13, c0, 3
	.endm

	.macro	zero_fp
	mov	fp, #0
	.endm

@ Back to user mode from the pt_regs at sp + offset: the user TLS value goes back into
@ TPIDRURO (deferred until here), user r0/r1 - lr through the user bank, pc and cpsr by
@ the exception return. fast = 1 keeps r0 (the syscall result, not stored in pt_regs).
	.macro	restore_user_regs, fast = 0, offset = 0
	mrc	p15, 0, r1, c13, c0, 3		@ current task (TPIDRURO)
	ldr	r1, [r1, #TI_TP_VALUE]
	mcr	p15, 0, r1, c13, c0, 3		@ user TLS value back in TPIDRURO
	mov	r2, sp
	ldr	r1, [r2, #\offset + S_PSR]	@ the cpsr to return with
	ldr	lr, [r2, #\offset + S_PC]!	@ user pc; r2 -> its slot
	tst	r1, #PSR_I_BIT | 0x0f
	bne	1f
	msr	spsr_cxsf, r1			@ the exception return takes cpsr from here
	strex	r1, r2, [r2]			@ drop any ldrex reservation left behind
	.if	\fast
	ldmdb	r2, {r1 - lr}^			@ user-bank r1-lr (r0 holds the result)
	.else
	ldmdb	r2, {r0 - lr}^			@ user-bank r0-lr
	.endif
	mov	r0, r0				@ spacer after ldm ^ (pre-ARMv6 cores need one)
	add	sp, sp, #\offset + PT_REGS_SIZE
	movs	pc, lr				@ to user: pc from lr, cpsr from spsr
1:	bug	"bad PSR for a return to user mode"
	.endm

@ NR_syscalls is the kit's table length, which need not be an ARM immediate: through tmp
	.macro	invoke_syscall, table, nr, tmp, ret, reload=0
	movw	\tmp, #NR_syscalls
	cmp	\nr, \tmp			@ in the table? (cc: yes)
	adr	lr, \ret			@ the call comes back to \ret
	.if	\reload
	add	r1, sp, #S_R0 + S_OFF		@ the saved r0 in pt_regs
	ldmiacc	r1, {r0 - r6}			@ the tracer may have changed the args
	stmiacc	sp, {r4, r5}			@ args 5-6 in their stack slots too
	.endif
	ldrcc	pc, [\table, \nr, lsl #2]	@ indexed call; out of range falls through
	.endm

@ An exception from user mode: r0 points at the mode stack {r0, lr_<exc>, spsr_<exc>}
@ that vector_stub filled; build pt_regs with orig_r0 = -1 (not a syscall).
	.macro	usr_entry
	sub	sp, sp, #PT_REGS_SIZE
	stmib	sp, {r1 - r12}
	ldmia	r0, {r3 - r5}
	add	r0, sp, #S_PC			@ scheduled between the load and its use
	mov	r6, #-1
	str	r3, [sp]			@ r0 as it was before vector_stub borrowed it
	stmia	r0, {r4 - r6}			@ pc, cpsr and orig_r0 slots
	stmdb	r0, {sp, lr}^			@ the user-bank sp and lr
	reload_current r7, r8
	zero_fp
	.endm

@ An exception from SVC mode: an svc_pt_regs frame on this stack (8-byte aligned, as
@ EABI wants), holding the interrupted r0-r12, sp_svc, lr_svc, pc and cpsr.
	.macro	svc_entry
	sub	sp, sp, #SVC_REGS_SIZE
	tst	sp, #4				@ 8-byte align the frame (EABI)
	subne	sp, sp, #4
	stmib	sp, {r1 - r12}
	ldmia	r0, {r3 - r5}
	add	r7, sp, #S_SP			@ scheduled between the load and its use
	mov	r6, #-1
	add	r2, sp, #SVC_REGS_SIZE
	addne	r2, r2, #4			@ sp_svc before the alignment pad
	str	r3, [sp]			@ r0 as it was before vector_stub borrowed it
	mov	r3, lr
	stmia	r7, {r2 - r6}			@ sp, lr, pc, cpsr and orig_r0 slots
	get_thread_info tsk
	.endm

@ Back to the interrupted kernel code: everything from the frame, cpsr from rpsr.
	.macro	svc_exit, rpsr, irq = 0
	.if	\irq == 0
	disable_irq_notrace			@ nothing may interrupt while the frame is unstacked
	.endif
	msr	spsr_cxsf, \rpsr
	sub	r0, sp, #4			@ a word nobody uses, for the dummy strex
	strex	r1, r2, [r0]			@ drop any ldrex reservation left behind
	ldmia	sp, {r0 - pc}^			@ every register, and cpsr from spsr, at once
	.endm

@ generic_handle_arch_irq(regs) on this CPU's IRQ stack (CONFIG_IRQSTACKS): from the
@ kernel it may already be on it (sp within THREAD_SIZE below irq_stack_ptr).
	.macro	irq_handler, from_user
	mov	r1, sp
	mov_l	r2, irq_stack_ptr		@ one CPU: no per-cpu offset to add
	ldr	r2, [r2]
	.if	\from_user == 0
	subs	r3, r2, r1			@ sp at or under the IRQ stack top?
	rsbscs	r3, r3, #THREAD_SIZE		@ and within THREAD_SIZE of it?
	bcc	0f				@ no: not on it yet, so switch
	mov	r0, r1
	bl	generic_handle_arch_irq
	b	1f
0:
	.endif
	mov_l	r0, generic_handle_arch_irq
	bl	call_with_stack
1:
	.endm

	.text
@ ============================================================================ entry-common.S
	.align	5
@ The fast syscall return path: nothing pending, r0 stays in the register.
ret_fast_syscall:
__ret_fast_syscall:
	disable_irq_notrace			@ the flag test and the return run with irqs off
	ldr	r1, [tsk, #TI_FLAGS]		@ work may have been flagged meanwhile
	movs	r1, r1, lsl #16			@ any of bits 0-15; r1 stays shifted
	bne	fast_work_pending
	restore_user_regs fast = 1, offset = S_OFF

	@ Work pending: the result goes into pt_regs and the slow path runs.
fast_work_pending:
	str	r0, [sp, #S_R0 + S_OFF]!	@ result into pt_regs; sp skips the args
	tst	r1, #_TIF_SYSCALL_WORK		@ (r1 is flags << 16, as in Linux)
	bne	__sys_trace_return_nosave
slow_work_pending:
	mov	r0, sp				@ arg 1: pt_regs (r1 already holds arg 2)
	mov	r2, why				@ arg 3: nonzero for a syscall
	bl	do_work_pending
	cmp	r0, #0
	beq	no_work_pending
	movlt	scno, #(__NR_restart_syscall - __NR_SYSCALL_BASE)
	str	scno, [tsk, #TI_ABI_SYSCALL]	@ ptrace reads the number from here
	ldmia	sp, {r0 - r6}			@ the original args again for the rerun
	b	local_restart			@ rerun it without leaving the kernel

@ The slow return path, irqs possibly on; "why" is nonzero only on a syscall's way out.
ret_to_user:
ret_slow_syscall:
	disable_irq_notrace			@ the flag test and the return run with irqs off
ret_to_user_from_irq:
	ldr	r1, [tsk, #TI_FLAGS]
	movs	r1, r1, lsl #16
	bne	slow_work_pending
no_work_pending:
	restore_user_regs fast = 0, offset = 0

@ First return of a new task (cpu_context.pc): r0 = prev, sp = its pt_regs;
@ r5 = fn and r4 = its argument for a kernel thread, 0 for a fork child.
ret_from_fork:
	bl	schedule_tail
	cmp	r5, #0
	movne	r0, r4
	adrne	lr, 1f
	bxne	r5
1:	get_thread_info tsk
	b	ret_slow_syscall

@ ---------------------------------------------------------------------------- SWI handler
	.align	5
vector_swi:
	sub	sp, sp, #PT_REGS_SIZE
	stmia	sp, {r0 - r12}			@ user r0-r12
	add	r8, sp, #S_PC
	stmdb	r8, {sp, lr}^			@ user-bank sp and lr
	mrs	r8, spsr			@ the user cpsr (svc is never taken from FIQ)
	str	lr, [sp, #S_PC]			@ user pc, just past the svc
	str	r8, [sp, #S_PSR]		@ user cpsr
	str	r0, [sp, #S_OLD_R0]		@ first arg kept for a restart
	reload_current r10, ip
	zero_fp
	enable_irq_notrace

	@ EABI only: the number arrives in r7 (scno), never in the svc immediate.
	get_thread_info tsk
	mov_l	tbl, sys_call_table		@ the table to index
	str	scno, [tsk, #TI_ABI_SYSCALL]

local_restart:
	ldr	r10, [tsk, #TI_FLAGS]		@ flags, for the work test below
	stmdb	sp!, {r4, r5}			@ args 5 and 6 go on the stack (AAPCS)

	tst	r10, #_TIF_SYSCALL_WORK		@ entry work (ptrace) wanted?
	bne	__sys_trace

	invoke_syscall tbl, scno, r10, __ret_fast_syscall

	add	r1, sp, #S_OFF
2:	cmp	scno, #(__ARM_NR_BASE - __NR_SYSCALL_BASE)
	eor	r0, scno, #__NR_SYSCALL_BASE	@ r0 = the number, for arm_syscall
	bcs	arm_syscall
	mov	why, #0				@ beyond the table: no restart handling
	b	sys_ni_syscall			@ answers -ENOSYS

	@ The really slow path: the tracer may change the number and the arguments at the
	@ entry stop, so both come back from syscall_trace_enter() and pt_regs.
__sys_trace:
	add	r0, sp, #S_OFF
	bl	syscall_trace_enter
	mov	scno, r0
	invoke_syscall tbl, scno, r10, __sys_trace_return, reload=1
	cmp	scno, #-1			@ did the tracer cancel it?
	bne	2b
	add	sp, sp, #S_OFF			@ drop the stacked args

__sys_trace_return_nosave:
	enable_irq_notrace
	mov	r0, sp
	bl	syscall_trace_exit
	b	ret_slow_syscall

__sys_trace_return:
	str	r0, [sp, #S_R0 + S_OFF]!	@ result into pt_regs; sp skips the args
	mov	r0, sp
	bl	syscall_trace_exit
	b	ret_slow_syscall

@ sys_call_table slots (arch.json symbols.sys_*): sigreturn must never restart
@ anything because of the r0 it restores.
sys_sigreturn_wrapper:
	add	r0, sp, #S_OFF
	mov	why, #0				@ the r0 it restores is no -ERESTART* code
	b	sys_sigreturn

sys_rt_sigreturn_wrapper:
	add	r0, sp, #S_OFF
	mov	why, #0				@ the r0 it restores is no -ERESTART* code
	b	sys_rt_sigreturn

@ ============================================================================ entry-armv.S
@ Undefined instruction from user mode: the pc goes back to the faulting instruction,
@ do_undefinstr() decides (SIGILL here), out through ret_from_exception.
	.align	5
__und_usr:
	usr_entry
	cpsie	i				@ enable_irq: reading the insn may fault
	tst	r5, #PSR_T_BIT			@ T bit of the user cpsr
	mov	r1, #2				@ lr_und is 2 past a Thumb insn
	bne	0f
	mov	r1, #4				@ and 4 past an ARM one
0:	mov	r0, sp
	bl	__und_fault
	b	ret_from_exception

__und_fault:
	@ Rewind the saved pc by the size in r1, back onto the undefined instruction.
	ldr	r2, [r0, #S_PC]
	sub	r2, r2, r1
	str	r2, [r0, #S_PC]
	b	do_undefinstr

@ The return to user mode for exception handlers.
ret_from_exception:
	get_thread_info tsk
	mov	why, #0
	b	ret_to_user

@ Interrupt from user mode: the exit is ret_to_user_from_irq's flag check (irqs still off).
	.align	5
__irq_usr:
	usr_entry
	irq_handler from_user = 1
	get_thread_info tsk
	mov	why, #0
	b	ret_to_user_from_irq

@ Interrupt from kernel mode: back to the interrupted code (no kernel preemption here).
	.align	5
__irq_svc:
	svc_entry
	irq_handler from_user = 0
	svc_exit r5, irq = 1			@ r5: the interrupted cpsr

@ call_with_stack(fn, arg, sp) (arch/arm/lib/call_with_stack.S): fn(arg) on another stack.
call_with_stack:
	push	{fp, lr}
	mov	fp, sp
	mov	sp, r2
	mov	r2, r0
	mov	r0, r1
	blx	r2
	mov	sp, fp
	pop	{fp, pc}

@ copy_to_user(to, from, n) -> bytes not copied: arm_copy_to_user (arch/arm/lib/
@ copy_to_user.S) as a byte loop. No MMU here, so no fault fixup and no PAN domain switch
@ (uaccess_save_and_enable is a DACR write with CONFIG_CPU_SW_DOMAIN_PAN).
copy_to_user:
	mov	ip, r0				@ the destination cursor (ip: scratch, as copy_template's)
	cmp	r2, #0
	beq	2f
1:	ldrb	r3, [r1], #1
	strb	r3, [ip], #1
	subs	r2, r2, #1
	bne	1b
2:	mov	r0, r2
	bx	lr

@ Modes and exceptions the kernel does not expect (bad_mode() in Linux).
__und_invalid:
__und_svc:
__irq_invalid:
__dabt_invalid:
__dabt_svc:
__dabt_usr:
__pabt_invalid:
__pabt_svc:
__pabt_usr:
__fiq_usr:
__fiq_svc:
__fiq_abt:
	bug	"unexpected exception"

@ __switch_to(prev, prev_ti, next_ti) -> prev. switch_to is the C macro's call of it
@ (asm/switch_to.h) with the kit's two arguments; thread_info is the start of
@ task_struct. The caller has already set __entry_task to next.
switch_to:
	mov	r2, r1				@ task_thread_info(next)
	mov	r1, r0				@ task_thread_info(prev)
__switch_to:
	add	ip, r1, #TI_CPU_SAVE
	stmia	ip!, {r4 - sl, fp, sp, lr}	@ prev: callee-saved regs, sp, return address
	ldr	r4, [r2, #TI_TP_VALUE]
	ldr	r5, [r2, #TI_TP_VALUE + 4]
	@ switch_tls_v6k: the user r/w TLS register now, TPIDRURO on the way to user mode
	mrc	p15, 0, r7, c13, c0, 2		@ prev's TPIDRURW
	mcr	p15, 0, r5, c13, c0, 2		@ next's TPIDRURW
	str	r7, [r1, #TI_TP_VALUE + 4]	@ into prev's tp_value[1]
	mov	r7, r2				@ next, for set_current
	add	r4, r2, #TI_CPU_SAVE
	set_current r7
	ldmia	r4, {r4 - sl, fp, sp, pc}	@ next resumes where it last switched out

@ ============================================================================ data
	.data
	.align	2
@ this CPU's IRQ stack top (init_irq_stacks() sets it at boot: the CPU model)
irq_stack_ptr:
	.word	0
	.text

@ ============================================================================ sigpage
@ The per-mm signal return page (get_signal_page): poisoned with an undefined
@ instruction, sigreturn_codes at signal_return_offset (0x200 here: Linux adds a random
@ word offset below 0x800). Copied into every new mm at the vdso address; setup_return
@ points lr at slot idx * 4 (+1 for Thumb) when the handler has no SA_RESTORER.
	.balign	4
__vdso_start:
	.rept	0x200 / 4
	.inst	0xe7fddef1
	.endr
sigreturn_codes:
	mov	r7, #(__NR_sigreturn - __NR_SYSCALL_BASE)		@ word 0: non-rt, ARM state
	svc	#(__NR_sigreturn | __NR_OABI_SYSCALL_BASE)
	.thumb
	movs	r7, #(__NR_sigreturn - __NR_SYSCALL_BASE)		@ word 2: non-rt, Thumb
	svc	#0
	.arm
	mov	r7, #(__NR_rt_sigreturn - __NR_SYSCALL_BASE)		@ word 3: rt, ARM state
	svc	#(__NR_rt_sigreturn | __NR_OABI_SYSCALL_BASE)
	.thumb
	movs	r7, #(__NR_rt_sigreturn - __NR_SYSCALL_BASE)		@ word 5: rt, Thumb
	svc	#0
	.arm
	.space	4				@ setup_return copies two words from any slot
__vdso_end:

@ ============================================================================ vectors
@ early_trap_init() copies __vectors_start to 0xffff0000 and __stubs_start to
@ 0xffff1000: the branches below span exactly that page distance.
	.balign	0x1000
__vectors_start:
	b	vector_rst
	b	vector_und
	ldr	pc, .L__vector_swi		@ vector_swi's address: word 0 of the stubs page
	b	vector_pabt
	b	vector_dabt
	b	vector_addrexcptn
	b	vector_irq
	b	vector_fiq
__vectors_end:

@ Common stub entry: in the exception's mode, lr = parent pc (+ correction),
@ spsr = parent cpsr, sp = this mode's 12-byte stack. Saves {r0, lr, spsr} there and
@ moves to SVC mode through the handler table after the stub, indexed by parent mode.
	.macro	vector_stub, name, mode, correction=0
	.align	5
vector_\name:
	.if \correction
	sub	lr, lr, #\correction
	.endif
	stmia	sp, {r0, lr}			@ r0 and the return pc on the mode stack
	mrs	lr, spsr
	str	lr, [sp, #8]			@ parent cpsr
	mrs	r0, cpsr			@ spsr = cpsr with the mode turned to SVC, IRQs still masked
	eor	r0, r0, #(\mode ^ SVC_MODE | PSR_ISETSTATE)
	msr	spsr_cxsf, r0
	and	lr, lr, #0x0f			@ parent mode indexes the table just after the stub
	mov	r0, sp
	ldr	lr, [pc, lr, lsl #2]
	movs	pc, lr				@ jump, entering SVC mode
	.endm

	.balign	0x1000
__stubs_start:
.L__vector_swi:
	.word	vector_swi

vector_rst:
	svc	#SYS_ERROR0
	b	vector_und

	vector_stub	irq, IRQ_MODE, 4
	.long	__irq_usr			@ from USR
	.long	__irq_invalid			@ from FIQ
	.long	__irq_invalid			@ from IRQ
	.long	__irq_svc			@ from SVC
	.rept	12
	.long	__irq_invalid			@ from any other mode
	.endr

	vector_stub	dabt, ABT_MODE, 8
	.long	__dabt_usr			@ from USR
	.long	__dabt_invalid			@ from FIQ
	.long	__dabt_invalid			@ from IRQ
	.long	__dabt_svc			@ from SVC
	.rept	12
	.long	__dabt_invalid			@ from any other mode
	.endr

	vector_stub	pabt, ABT_MODE, 4
	.long	__pabt_usr			@ from USR
	.long	__pabt_invalid			@ from FIQ
	.long	__pabt_invalid			@ from IRQ
	.long	__pabt_svc			@ from SVC
	.rept	12
	.long	__pabt_invalid			@ from any other mode
	.endr

	vector_stub	und, UND_MODE
	.long	__und_usr			@ from USR
	.long	__und_invalid			@ from FIQ
	.long	__und_invalid			@ from IRQ
	.long	__und_svc			@ from SVC
	.rept	12
	.long	__und_invalid			@ from any other mode
	.endr

	.align	5
vector_addrexcptn:
	b	vector_addrexcptn

	vector_stub	fiq, FIQ_MODE, 4
	.long	__fiq_usr			@ from USR
	.rept	6
	.long	__fiq_svc			@ modes 1-6
	.endr
	.long	__fiq_abt			@ mode 7 (ABT)
	.rept	8
	.long	__fiq_svc			@ modes 8-f
	.endr
__stubs_end:
