# x86-64 entry glue: entry_SYSCALL_64, the #GP idtentry, the common return to user mode,
# ret_from_fork_asm and __switch_to_asm. Intel syntax as Keystone accepts it.
#
# Follows arch/x86/entry/entry_64.S of Linux 6.18, a GENERIC_ENTRY arch: the asm saves
# struct pt_regs and calls C (do_syscall_64, exc_general_protection, ret_from_fork),
# which does the entry and exit work, the restart decision and the exit work loop, and
# returns with interrupts disabled; the asm restores the registers and returns to user
# mode with iretq (sysretq needs EFER.SCE, which Unicorn 2.0.1 drops).
#
# Constants (PT_*, SF_*, THREAD_*, TASK_THREAD, ENOSYS, PCPU_*) come from the asm-offsets
# prelude; the C functions are externs. PCPU_* are absolute addresses and the kernel GS
# base is 0, so gs:[riz*1 + PCPU_X] after swapgs is the per-cpu word (Keystone encodes a
# bare gs:[X] RIP-relative, hence riz*1).

.equ __USER_DS, 0x2b
.equ __USER_CS, 0x33
# Keystone turns an immediate written as -SYM into a RIP-relative memory operand, so the
# negative errno is a constant of its own.
.equ NEG_ENOSYS, -ENOSYS
# Keystone keeps only the last of several symbols in a memory operand: one constant.
.equ TASK_THREAD_SP, TASK_THREAD + THREAD_SP

# The general registers of pt_regs below orig_ax, di first (PUSH_AND_CLEAR_REGS); `ax`
# is what goes in the ax slot (the syscall path stores -ENOSYS there).
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

# ---------------------------------------------------------------------------
# SYSCALL lands here (MSR_LSTAR). The CPU has put the user rip in rcx and the
# user rflags in r11, masked rflags with MSR_FMASK (IF clear) and loaded the
# kernel CS/SS; rsp is still the user's.
entry_SYSCALL_64:
    swapgs
    mov qword ptr gs:[riz*1 + PCPU_SCRATCH], rsp
    mov rsp, qword ptr gs:[riz*1 + PCPU_TOP_OF_STACK]

    # struct pt_regs, from the top down (ss first): the iret frame, the
    # syscall number as orig_ax, then every general register.
    push __USER_DS                              # ss
    push qword ptr gs:[riz*1 + PCPU_SCRATCH]    # sp
    push r11                                    # flags
    push __USER_CS                              # cs
    push rcx                                    # ip
    push rax                                    # orig_ax = nr
    PUSH_REGS NEG_ENOSYS                        # ax = -ENOSYS until the call returns

    # do_syscall_64(regs, nr): syscall numbers are int, sign-extended from eax.
    mov rdi, rsp
    movsxd rsi, eax
    call do_syscall_64                          # returns with irqs disabled

# Every return to user mode: irqs off, nothing on the kernel stack but pt_regs.
swapgs_restore_regs_and_return_to_usermode:
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
    iretq                       # ip cs flags sp ss

# ---------------------------------------------------------------------------
# #GP from user mode (IDT vector 13, an interrupt gate). The CPU model did what
# the CPU does: rsp = TSS.sp0 (the per-cpu top of stack), pushed ss, sp, flags,
# cs, ip (of the faulting instruction) and the error code, CPL0, IF clear; GS
# is still the user's. As idtentry + error_entry: the hardware frame is the top
# of pt_regs and the error code sits in the orig_ax slot; orig_ax then becomes
# -1: this frame is no syscall, so nothing can ever restart it. Only ever
# entered from CPL3 (a kernel #GP stops the run in cpu.ts), hence the
# unconditional swapgs.
asm_exc_general_protection:
    swapgs
    PUSH_REGS rax
    mov rsi, qword ptr [rsp + PT_ORIG_AX]       # error code
    mov qword ptr [rsp + PT_ORIG_AX], -1
    mov rdi, rsp
    call exc_general_protection                 # returns with irqs disabled
    jmp swapgs_restore_regs_and_return_to_usermode

# ---------------------------------------------------------------------------
# First return of every new task: copy_thread's inactive_task_frame returns
# here from __switch_to_asm with rax = prev, rsp = pt_regs base, rbx = fn (0
# for a user fork) and r12 = its argument. ret_from_fork(prev, regs, fn, arg)
# is C: schedule_tail, fn(arg), the exit work.
ret_from_fork_asm:
    mov rdi, rax
    mov rsi, rsp
    mov rdx, rbx
    mov rcx, r12
    call ret_from_fork                          # returns with irqs disabled
    jmp swapgs_restore_regs_and_return_to_usermode

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
    mov qword ptr [rdi + TASK_THREAD_SP], rsp
    mov rsp, qword ptr [rsi + TASK_THREAD_SP]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    mov rax, rdi
    ret
