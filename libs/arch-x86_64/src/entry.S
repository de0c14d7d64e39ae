# x86-64 entry glue: entry_SYSCALL_64, the idtentry path (#GP, the external interrupts
# of irq_entries_start through asm_common_interrupt), both returns (to user mode with
# swapgs, to the kernel without), ret_from_fork_asm and __switch_to_asm. Intel syntax as
# Keystone accepts it.
#
# Follows arch/x86/entry/entry_64.S of Linux 6.18, a GENERIC_ENTRY arch: the asm saves
# struct pt_regs and calls C (do_syscall_64, exc_general_protection, common_interrupt,
# ret_from_fork), which does the entry and exit work, the restart decision and the exit
# work loop, and returns with interrupts disabled; the asm restores the registers and
# returns with iretq (sysretq needs EFER.SCE, which Unicorn 2.0.1 drops).
#
# Constants (PT_*, SF_*, THREAD_*, TASK_THREAD, ENOSYS, PCPU_OFF_*) come from the
# asm-offsets prelude; the C functions are externs. Per-cpu data is reached through GS:
# in the kernel the GS base is this CPU's per-cpu area, in user mode it is the task's own
# (arch_prctl(ARCH_SET_GS)); swapgs exchanges them on every crossing. Keystone encodes a
# bare gs:[X] RIP-relative, hence gs:[riz*1 + X].

.equ __USER_DS, 0x2b
.equ __USER_CS, 0x33
# Keystone turns an immediate written as -SYM into a RIP-relative memory operand, so the
# negative errno is a constant of its own.
.equ NEG_ENOSYS, -ENOSYS
# Keystone keeps only the last of several symbols in a memory operand: one constant.
.equ TASK_THREAD_SP, TASK_THREAD + THREAD_SP

# The general registers of pt_regs below orig_ax, di first (PUSH_AND_CLEAR_REGS); `ax`
# is what goes in the ax slot (the syscall path stores -ENOSYS there). POP_REGS undoes it.
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

.macro POP_REGS
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
.endm

# idtentry's body, once the hardware frame and the orig_ax slot (error code or vector)
# are on the stack: save the registers, let error_entry put the frame on the task stack
# (from user mode), call cfunc(regs, error_code) with orig_ax = -1 (no syscall: nothing
# restarts this frame), and leave through error_return.
.macro IDTENTRY_BODY cfunc
    PUSH_REGS rax
    call error_entry
    mov rsp, rax                                # the task stack when from user mode
    mov rdi, rsp
    mov rsi, qword ptr [rsp + PT_ORIG_AX]       # error code / vector
    mov qword ptr [rsp + PT_ORIG_AX], -1
    call \cfunc                                 # returns with irqs disabled
    jmp error_return
.endm

# ---------------------------------------------------------------------------
# SYSCALL lands here (MSR_LSTAR). The CPU has put the user rip in rcx and the
# user rflags in r11, masked rflags with MSR_FMASK (IF clear) and loaded the
# kernel CS/SS; rsp is still the user's.
entry_SYSCALL_64:
    swapgs
    mov qword ptr gs:[riz*1 + PCPU_OFF_SCRATCH], rsp
    mov rsp, qword ptr gs:[riz*1 + PCPU_OFF_TOP_OF_STACK]

    # struct pt_regs, from the top down (ss first): the iret frame, the
    # syscall number as orig_ax, then every general register.
    push __USER_DS                              # ss
    push qword ptr gs:[riz*1 + PCPU_OFF_SCRATCH] # sp
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
    POP_REGS
    add rsp, 8                  # orig_ax
    swapgs
    iretq                       # ip cs flags sp ss

# An interrupt or exception that came from kernel mode returns there: GS stays the kernel's.
restore_regs_and_return_to_kernel:
    POP_REGS
    add rsp, 8
    iretq

# ---------------------------------------------------------------------------
# Exceptions and interrupts enter through IDT gates (interrupt gates: IF clear). From
# CPL3 the CPU switched to TSS.sp0, the top of this CPU's entry stack, and pushed ss, sp,
# flags, cs, ip there; from CPL0 it pushed them on the stack in use. GS is untouched
# either way.

# error_entry: pt_regs sit just above the return address. From user mode: swapgs, then
# sync_regs() copies them to the top of the task stack and returns that address (a tail
# call: it returns to error_entry's caller). From kernel mode they stay where they are.
error_entry:
    lea rax, [rsp + 8]
    test byte ptr [rax + PT_CS], 3
    jz .Lerror_kernelspace
    swapgs
    mov rdi, rax
    jmp sync_regs
.Lerror_kernelspace:
    ret

# error_return: back where the frame came from.
error_return:
    test byte ptr [rsp + PT_CS], 3
    jz restore_regs_and_return_to_kernel
    jmp swapgs_restore_regs_and_return_to_usermode

# #GP (vector 13): the CPU pushed an error code into the orig_ax slot.
asm_exc_general_protection:
    IDTENTRY_BODY exc_general_protection

# The external interrupt vectors: the IDT gate of each points at its stub in this table,
# which pushes the vector (into the orig_ax slot) and joins asm_common_interrupt. One
# vector is modelled: FIRST_EXTERNAL_VECTOR, the timer of the scenarios.
irq_entries_start:
    push 0x20
    jmp asm_common_interrupt

asm_common_interrupt:
    IDTENTRY_BODY common_interrupt

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

# ---------------------------------------------------------------------------
# copy_to_user(to = rdi, from = rsi, n = rdx) -> bytes not copied: raw_copy_to_user() ->
# copy_user_generic(), rep movsb (X86_FEATURE_FSRM; arch/x86/include/asm/uaccess_64.h).
# Runs with interrupts enabled: an interrupt between two iterations of rep movsb returns
# to the rep movsb with rcx counting what is left.
__copy_to_user:
    mov rcx, rdx
    rep movsb
    mov rax, rcx
    ret
