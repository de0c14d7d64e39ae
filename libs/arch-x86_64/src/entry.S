# x86-64 syscall entry/exit glue, ret_from_fork, __switch_to_asm and the
# rt_sigreturn trampoline. Intel syntax as Keystone accepts it.
#
# Follows arch/x86/entry/entry_64.S (entry_SYSCALL_64, ret_from_fork,
# __switch_to_asm) with the exit work loop of the ARM model (C5): the loop
# itself is C (do_work_pending); this file only decides whether to call it and
# re-dispatches a handler-less restart without going back to user mode.
#
# Constants (PT_*, TI_FLAGS, TASK_THREAD, _TIF_*, __NR_*, NR_syscalls,
# PCPU_*) come from the asm-offsets prelude; sys_call_table and the C stubs
# are externs. PCPU_* are absolute addresses and the kernel GS base is 0, so
# gs:[riz*1 + PCPU_X] after swapgs is the per-cpu word (Keystone encodes a
# bare gs:[X] RIP-relative, hence riz*1).
#
# Register use inside the kernel: rsp = pt_regs base from the end of the
# pushes to restoreUserRegs; rbx = current task (callee-saved, survives C
# calls); every other register is dead across a call.

.equ __KERNEL_CS, 0x10
.equ __USER_DS, 0x2b
.equ __USER_CS, 0x33
# Keystone turns an immediate written as -SYM into a RIP-relative memory
# operand, so the negative errno is a constant of its own.
.equ NEG_ENOSYS, -38

# The general registers of pt_regs below orig_ax, di first; `ax` is what goes in
# the ax slot (the syscall path stores -ENOSYS there until the call returns).
.macro PUSH_REGS ax
    push rdi
    push rsi
    push rdx
    push rcx
    push \ax
    push r8
    push r9
    push r10
    push r11
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
.endm
.equ SIGSEGV, 11

# ---------------------------------------------------------------------------
# SYSCALL lands here (MSR_LSTAR). The CPU has put the user rip in rcx and the
# user rflags in r11, masked rflags with MSR_FMASK (IF clear) and loaded the
# kernel CS/SS; rsp is still the user's.
entry_SYSCALL_64:
    swapgs
    mov qword ptr gs:[riz*1 + PCPU_SCRATCH], rsp
    mov rsp, qword ptr gs:[riz*1 + PCPU_TOP_OF_STACK]

    # struct pt_regs, from the top down (ss first): the iretq frame, the
    # syscall marker, then every general register.
    push __USER_DS                              # ss
    push qword ptr gs:[riz*1 + PCPU_SCRATCH]    # sp
    push r11                                    # flags
    push __USER_CS                              # cs
    push rcx                                    # ip
    push rax                                    # orig_ax = nr
    PUSH_REGS NEG_ENOSYS                        # ax = -ENOSYS until the call returns

    sti
    mov rbx, qword ptr gs:[riz*1 + PCPU_CURRENT_TASK]
    test qword ptr [rbx + TI_FLAGS], _TIF_SYSCALL_WORK
    jnz .Ltrace_enter
    # Fast path: the user's argument registers are still live.
    mov rcx, r10
    jmp .Ldispatch

# Handler-less restart (C5): rax = nr to run again. The frame is marked as a
# syscall again, then the entry path is re-run from the trace check on.
.Lrestart:
    mov qword ptr [rsp + PT_ORIG_AX], rax
    mov qword ptr [rsp + PT_AX], NEG_ENOSYS
    test qword ptr [rbx + TI_FLAGS], _TIF_SYSCALL_WORK
    jz local_restart

.Ltrace_enter:
    mov rdi, rsp
    call syscall_trace_enter
    # rax = nr to run (a tracer may have changed it; -1 skips the call)

# A tracer or a restart may have changed the arguments: take them from
# pt_regs, r10 going to rcx for the C convention.
local_restart:
    mov rdi, qword ptr [rsp + PT_DI]
    mov rsi, qword ptr [rsp + PT_SI]
    mov rdx, qword ptr [rsp + PT_DX]
    mov rcx, qword ptr [rsp + PT_R10]
    mov r8, qword ptr [rsp + PT_R8]
    mov r9, qword ptr [rsp + PT_R9]

.Ldispatch:
    cmp rax, NR_syscalls
    jae .Lsyscall_exit          # unsigned: -1 (skip) too; ax keeps its value
    call qword ptr [rax*8 + sys_call_table]
    mov qword ptr [rsp + PT_AX], rax

# Return-from-syscall path, shared by ret_from_fork. rsp = pt_regs base.
.Lsyscall_exit:
    cli
    mov rbx, qword ptr gs:[riz*1 + PCPU_CURRENT_TASK]
    test qword ptr [rbx + TI_FLAGS], _TIF_SYSCALL_WORK
    jz .Lwork_check
    sti
    mov rdi, rsp
    call syscall_trace_exit
    cli

.Lwork_check:
    mov rsi, qword ptr [rbx + TI_FLAGS]
    test rsi, _TIF_WORK_MASK
    jnz .Lwork_pending

# All work done, irqs off, nothing on the kernel stack but pt_regs.
restoreUserRegs:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    pop r11
    pop r10
    pop r9
    pop r8
    pop rax
    pop rcx
    pop rdx
    pop rsi
    pop rdi
    add rsp, 8                  # orig_ax
    swapgs
    iretq                       # ip cs flags sp ss; sysretq is unusable here

# do_work_pending(regs, flags, syscall=1): loops in C with irqs off on entry.
# 0: done, irqs still off. Non-zero: restart the syscall without a trip to
# user mode (irqs on); negative means through restart_syscall.
.Lwork_pending:
    mov rdi, rsp
    mov edx, 1
    call do_work_pending
    test rax, rax
    jz restoreUserRegs
    js .Lrestart_block
    mov rax, qword ptr [rsp + PT_AX]    # the core put orig_ax back into ax
    jmp .Lrestart
.Lrestart_block:
    mov eax, __NR_restart_syscall
    jmp .Lrestart

# ---------------------------------------------------------------------------
# #GP from user mode (IDT vector 13, an interrupt gate). cpu.ts's exceptionEntry
# did what the CPU does: rsp = TSS.sp0 (the per-cpu top of stack), pushed ss,
# sp, flags, cs, ip (of the faulting instruction) and the error code, CPL0, IF
# clear; GS is still the user's. As idtentry + error_entry
# (arch/x86/entry/entry_64.S): the hardware frame is the top of pt_regs and the
# error code sits in the orig_ax slot; the registers go below it in the
# syscall path's order. orig_ax then becomes -1: this frame is no syscall, so
# the exit work can never restart it. Only ever entered from CPL3 (a kernel
# #GP stops the run in cpu.ts), hence the unconditional swapgs.
asm_exc_general_protection:
    swapgs
    PUSH_REGS rax
    mov qword ptr [rsp + PT_ORIG_AX], -1        # the error code's slot: no syscall

    # exc_general_protection(): irqs back on as the user had them (always on in
    # user mode), force_sig(SIGSEGV) on current, irqs off for the exit.
    sti
    mov rdi, rsp
    mov esi, SIGSEGV
    call do_user_fault
    cli

# Return-from-exception path: the syscall exit's work check without the
# syscall-only parts (no trace-exit, no restart). rsp = pt_regs base.
.Lexc_exit:
    mov rbx, qword ptr gs:[riz*1 + PCPU_CURRENT_TASK]
    mov rsi, qword ptr [rbx + TI_FLAGS]
    test rsi, _TIF_WORK_MASK
    jz restoreUserRegs
    mov rdi, rsp
    xor edx, edx                # do_work_pending(regs, flags, syscall=0)
    call do_work_pending
    test rax, rax
    jz restoreUserRegs
    ud2                         # BUG(): a restart asked for on a non-syscall frame

# ---------------------------------------------------------------------------
# First return of every new task (copy_thread's inactive_task_frame has this
# as its return address). rax = prev; rsp = pt_regs base; rbx = fn or 0,
# r12 = arg.
ret_from_fork:
    mov rdi, rax
    call schedule_tail
    test rbx, rbx
    jnz .Lkernel_thread
    jmp .Lsyscall_exit

# Kernel thread: fn(arg). If fn returns (after kernel_execve filled pt_regs
# through start_thread) the task goes to user mode by the syscall exit path.
.Lkernel_thread:
    mov rdi, r12
    call rbx
    jmp .Lsyscall_exit

# ---------------------------------------------------------------------------
# __switch_to_asm(prev = rdi, next = rsi) -> prev. Saves the callee-saved
# registers as struct inactive_task_frame (r15 r14 r13 r12 bx bp ret_addr from
# the bottom) and keeps the stack pointer in prev->thread.sp.
__switch_to_asm:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov qword ptr [rdi + TASK_THREAD], rsp
    mov rsp, qword ptr [rsi + TASK_THREAD]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    mov rax, rdi
    ret

# ---------------------------------------------------------------------------
# vDSO: copied to every new mm. The core hands its address to the signal code
# as the restorer when user space gives no SA_RESTORER.
__vdso_start:
__kernel_rt_sigreturn:
    mov eax, __NR_rt_sigreturn
    syscall
__vdso_end:
