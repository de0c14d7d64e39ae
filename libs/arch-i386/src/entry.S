# i386 entry glue: entry_INT80_32 (the int $0x80 gate), the idtentry stubs and
# handle_exception, the external interrupts (irq_entries_start,
# asm_common_interrupt), the common ways back (restore_all_switch_stack:
# RESTORE_REGS and iret, to user mode or to the kernel), ret_from_fork_asm,
# __switch_to_asm, __copy_to_user and the vDSO's sigreturn trampolines. GNU as,
# AT&T syntax, as the kernel writes it.
#
# Follows arch/x86/entry/entry_32.S of Linux 6.18, a GENERIC_ENTRY arch: the asm
# saves struct pt_regs (SAVE_ALL) and calls C with the regs in %eax
# (do_int80_syscall_32, the exc_* handlers, common_interrupt, ret_from_fork:
# -mregparm=3), which
# does the entry and exit work, the restart decision and the exit work loop and
# returns with interrupts disabled; the asm restores the registers and returns
# to user mode with iret.
#
# Left out, as config options or CPU features the model does not have: the
# entry trampoline stack (SWITCH_TO_KERNEL_STACK / SWITCH_TO_ENTRY_STACK: the
# TSS's esp0 is the task stack itself), PTI's CR3 switches, ESPFIX, SMAP's
# clac, STACKLEAK, CLEAR_CPU_BUFFERS, the sysenter path (user code here enters
# with int $0x80), frame-pointer encoding, the iret exception-table fixup.
#
# Constants (PT_*, SF_*, THREAD_*, TASK_THREAD, ENOSYS, __NR_*) come from the
# asm-offsets prelude; the C functions are externs at stub addresses.

	.code32

# asm/segment.h
	.equ __KERNEL_CS, 0x60
	.equ __KERNEL_DS, 0x68
	.equ __USER_CS, 0x73
	.equ __USER_DS, 0x7b
	.equ __KERNEL_PERCPU, 0xd8
	.equ SEGMENT_RPL_MASK, 0x3
	.equ USER_SEGMENT_RPL_MASK, 0x2
	.equ USER_RPL, 0x3

# asm/trapnr.h
	.equ X86_TRAP_DE, 0
	.equ X86_TRAP_BP, 3
	.equ X86_TRAP_OF, 4
	.equ X86_TRAP_BR, 5
	.equ X86_TRAP_UD, 6
	.equ X86_TRAP_NP, 11
	.equ X86_TRAP_GP, 13
	.equ X86_TRAP_PF, 14

# Flag kept above the 16-bit selector in pt_regs' CS slot: a frame FIXUP_FRAME completed.
	.equ CS_FROM_KERNEL, 1 << 29

# asm-offsets under the kernel's names
	.equ PT_EBX, PT_BX
	.equ PT_EAX, PT_AX
	.equ PT_ORIG_EAX, PT_ORIG_AX
	.equ PT_EFLAGS, PT_FLAGS
	.equ PT_OLDESP, PT_SP
	.equ TASK_threadsp, TASK_THREAD + THREAD_SP

# struct pt_regs is the order this glue pushes in, bx at the bottom.
.if (PT_BX != 0) || (PT_AX != 6 * 4) || (PT_GS != 10 * 4) || (PT_ORIG_AX != 11 * 4) || (PT_IP != 12 * 4) || (PT_SS != 16 * 4) || (PT_REGS_SIZE != 17 * 4)
.error "pt_regs layout is not the SAVE_ALL push order"
.endif

# An exception taken in kernel mode pushes no esp/ss: build the full frame (the
# original 6 words stay below as a gap) so that pt_regs->sp is right, and mark
# the CS word. Entered with fs, gs/function, orig_eax, ip, cs, flags on the
# stack.
.macro FIXUP_FRAME
	andl	$0x0000ffff, 4*4(%esp)		# clear the CS_FROM_* bits
	testl	$USER_SEGMENT_RPL_MASK, 4*4(%esp)
	jnz	.Lfrom_usermode_no_fixup_\@
	orl	$CS_FROM_KERNEL, 4*4(%esp)
	pushl	%ss				# new frame, top word: ss
	pushl	%esp				# esp before this push: the ss word's address
	addl	$7*4, (%esp)			# + 7 words: the interrupted code's esp
	pushl	7*4(%esp)			# flags, copied below the new sp/ss
	pushl	7*4(%esp)			# cs, copied
	pushl	7*4(%esp)			# ip, copied
	pushl	7*4(%esp)			# orig_eax, copied
	pushl	7*4(%esp)			# gs slot (0 or the C handler), copied
	pushl	7*4(%esp)			# fs, copied
.Lfrom_usermode_no_fixup_\@:
.endm

# The way back to a kernel-mode frame FIXUP_FRAME built: a 3-word iret frame
# right below the (possibly edited) regs->sp, then iret from there.
.macro IRET_FRAME
	testl	$CS_FROM_KERNEL, 1*4(%esp)
	jz	.Lfinished_frame_\@
	pushl	%eax
	pushl	%ecx
	movl	5*4(%esp), %eax			# where the kernel code resumes its stack
	movl	4*4(%esp), %ecx			# eflags, 1 word under it
	movl	%ecx, -1*4(%eax)
	movl	3*4(%esp), %ecx			# cs, marker bits dropped, 2 under
	andl	$0x0000ffff, %ecx
	movl	%ecx, -2*4(%eax)
	movl	2*4(%esp), %ecx			# eip, 3 under
	movl	%ecx, -3*4(%eax)
	movl	1*4(%esp), %ecx			# the saved eax, 4 under, popped before iret
	movl	%ecx, -4*4(%eax)
	popl	%ecx
	lea	-4*4(%eax), %esp
	popl	%eax
.Lfinished_frame_\@:
.endm

# struct pt_regs below what the CPU (and orig_eax) already pushed. The gs slot
# is 0 (6.18 no longer saves %gs) unless the caller pushed the C function
# there (skip_gs). The kernel runs with fs = __KERNEL_PERCPU and flat user
# data segments in ds and es.
.macro SAVE_ALL pt_regs_ax=%eax skip_gs=0
	cld
.if \skip_gs == 0
	pushl	$0
.endif
	pushl	%fs
	pushl	%eax
	movl	$(__KERNEL_PERCPU), %eax
	movl	%eax, %fs
	popl	%eax
	FIXUP_FRAME
	pushl	%es
	pushl	%ds
	pushl	\pt_regs_ax
	pushl	%ebp
	pushl	%edi
	pushl	%esi
	pushl	%edx
	pushl	%ecx
	pushl	%ebx
	movl	$(__USER_DS), %edx
	movl	%edx, %ds
	movl	%edx, %es
.endm

.macro RESTORE_INT_REGS
	popl	%ebx
	popl	%ecx
	popl	%edx
	popl	%esi
	popl	%edi
	popl	%ebp
	popl	%eax
.endm

# Everything but the iret frame; `pop` more bytes after the gs slot (orig_eax).
.macro RESTORE_REGS pop=0
	RESTORE_INT_REGS
	popl	%ds
	popl	%es
	popl	%fs
	addl	$(4 + \pop), %esp		# past the gs slot nobody restores
	IRET_FRAME
.endm

# ---------------------------------------------------------------------------
# int $0x80 lands here (IDT vector 0x80: an interrupt gate with DPL 3, so IF is
# clear). The CPU switched to TSS.ss0:esp0 and pushed the user's ss, esp,
# eflags, cs and eip (the instruction after the int). eax is the syscall
# number, ebx ecx edx esi edi ebp its arguments.
entry_INT80_32:
	pushl	%eax				# pt_regs->orig_ax
	SAVE_ALL pt_regs_ax=$-ENOSYS		# ax = -ENOSYS until the call returns
	movl	%esp, %eax
	call	do_int80_syscall_32		# returns with irqs disabled
.Lsyscall_32_done:

# Every return to user mode: irqs off, nothing on the kernel stack but pt_regs.
restore_all_switch_stack:
	RESTORE_REGS pop=4			# and orig_eax
.Lirq_return:
	iret

# ---------------------------------------------------------------------------
# The exception stubs: the error code slot (orig_eax) filled when the CPU
# pushes none, the C handler's address in the gs slot, then the common entry.
.macro idtentry vector asmsym cfunc has_error_code:req
\asmsym:
	cld
.if \has_error_code == 0
	pushl	$0				# dummy error code for orig_eax
.endif
	pushl	$\cfunc				# the C function, in the gs slot
	jmp	handle_exception
.endm

	idtentry X86_TRAP_DE	asm_exc_divide_error		exc_divide_error		has_error_code=0
	idtentry X86_TRAP_BP	asm_exc_int3			exc_int3			has_error_code=0
	idtentry X86_TRAP_OF	asm_exc_overflow		exc_overflow			has_error_code=0
	idtentry X86_TRAP_BR	asm_exc_bounds			exc_bounds			has_error_code=0
	idtentry X86_TRAP_UD	asm_exc_invalid_op		exc_invalid_op			has_error_code=0
	idtentry X86_TRAP_NP	asm_exc_segment_not_present	exc_segment_not_present		has_error_code=1
	idtentry X86_TRAP_GP	asm_exc_general_protection	exc_general_protection		has_error_code=1
	idtentry X86_TRAP_PF	asm_exc_page_fault		exc_page_fault			has_error_code=1

# ---------------------------------------------------------------------------
# The external interrupt vectors (asm/idtentry.h irq_entries_start): the IDT gate
# of each points at its stub in this table, which pushes the vector (into the
# orig_eax slot; push imm8, sign-extended as in Linux) and joins the common
# entry. One vector is modelled: FIRST_EXTERNAL_VECTOR, the scenarios' timer.
# Interrupt gates: IF is clear. From CPL 3 the CPU switched to TSS.esp0, from
# CPL 0 it pushed eflags, cs and eip on the stack in use (FIXUP_FRAME completes
# that frame).
irq_entries_start:
	.byte	0x6a, 0x20			# pushl $FIRST_EXTERNAL_VECTOR
	jmp	asm_common_interrupt

# idtentry_irq: pt_regs (the gs slot 0), the vector from orig_eax as the
# second argument, orig_eax = -1 (no syscall to restart), common_interrupt(regs,
# vector), then back the way handle_exception goes: the exit work to user mode
# or a plain return to the interrupted kernel code.
asm_common_interrupt:
	SAVE_ALL
	movl	%esp, %eax			# pt_regs
	movl	PT_ORIG_EAX(%esp), %edx		# the vector
	movl	$-1, PT_ORIG_EAX(%esp)		# not a syscall frame
	call	common_interrupt		# returns with irqs disabled
	jmp	handle_exception_return

# pt_regs with the function in the gs slot and the error code in orig_eax; the
# frame is no syscall (orig_eax = -1), so nothing can ever restart it. The C
# handler gets (regs, error_code).
handle_exception:
	SAVE_ALL skip_gs=1
	movl	PT_GS(%esp), %edi		# handler that the stub left in the gs slot
	movl	PT_ORIG_EAX(%esp), %edx		# 2nd argument: error code
	movl	$-1, PT_ORIG_EAX(%esp)		# not a syscall frame
	movl	%esp, %eax			# pt_regs
	call	*%edi				# returns with irqs disabled

handle_exception_return:
	movl	PT_CS(%esp), %eax
	andl	$SEGMENT_RPL_MASK, %eax
	cmpl	$USER_RPL, %eax			# returning to user mode?
	jnb	ret_to_user
	RESTORE_REGS 4
	jmp	.Lirq_return

ret_to_user:
	movl	%esp, %eax
	jmp	restore_all_switch_stack

# ---------------------------------------------------------------------------
# __switch_to_asm(prev = eax, next = edx) -> prev: the callee-saved registers
# and the flags as struct inactive_task_frame (flags si di bx bp ret_addr from
# the bottom), the stack pointer in prev->thread.sp; next's back, and prev
# returned into next's ret_addr. Linux ends with `jmp __switch_to`, the C half;
# here the core has run that C half already, from schedule() just before.
__switch_to_asm:
	pushl	%ebp
	pushl	%ebx
	pushl	%edi
	pushl	%esi
	pushfl
	movl	%esp, TASK_threadsp(%eax)
	movl	TASK_threadsp(%edx), %esp
	popfl
	popl	%esi
	popl	%edi
	popl	%ebx
	popl	%ebp
	ret					# eax is still prev

# ---------------------------------------------------------------------------
# First return of every new task: copy_thread's inactive_task_frame returns
# here from __switch_to_asm with eax = prev, esp = the pt_regs base, ebx = fn (0
# for a user fork) and edi = its argument. ret_from_fork(prev, regs, fn,
# fn_arg) is C (fn_arg on the stack): schedule_tail, fn(arg), the exit work;
# it returns to .Lsyscall_32_done, the syscall return path.
ret_from_fork_asm:
	movl	%esp, %edx			# regs
	pushl	$.Lsyscall_32_done		# return address for the unwinder, and ours
	movl	%ebx, %ecx			# fn
	pushl	%edi				# fn_arg
	call	ret_from_fork
	addl	$4, %esp
	ret

# ---------------------------------------------------------------------------
# __copy_to_user(to = eax, from = edx, n = ecx) -> bytes not copied:
# raw_copy_to_user() -> __copy_user_ll(), a string move through the flat user
# data segments the kernel runs with (ds = es = __USER_DS; no SMAP to open).
# Runs with interrupts enabled: an interrupt between two iterations of rep movsb
# returns to the rep movsb with ecx counting what is left. edi and esi are the
# caller's (callee-saved in the C ABI).
__copy_to_user:
	pushl	%edi
	pushl	%esi
	movl	%eax, %edi
	movl	%edx, %esi
	rep movsb
	movl	%ecx, %eax
	popl	%esi
	popl	%edi
	ret

# ---------------------------------------------------------------------------
# vDSO (arch/x86/entry/vdso/vdso32/sigreturn.S): position independent, copied
# into every new mm. A handler installed without SA_RESTORER returns into one
# of these.
	.balign 16
__vdso_start:
	nop
__kernel_sigreturn:
	popl	%eax
	movl	$__NR_sigreturn, %eax
	int	$0x80
	nop
	.balign 4
__kernel_rt_sigreturn:
	movl	$__NR_rt_sigreturn, %eax
	int	$0x80
	nop
__vdso_end:
