// arch/arm64/include/asm/syscall.h and asm/ptrace.h: the syscall a frame belongs to is
// syscallno (an s32; NO_SYSCALL = -1 when it is none), the result is x0, what x0 held
// before is orig_x0, and forget_syscall() marks a frame consumed. A tracer's syscall
// number goes to syscallno (NT_ARM_SYSTEM_CALL: x8 alone was never picked up).

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';

export const NO_SYSCALL = -1n;

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => regs.gets('syscallno'),
  syscall_set_nr: (_k, regs, nr) => regs.set('syscallno', nr),
  in_syscall: (_k, regs) => regs.gets('syscallno') !== NO_SYSCALL,
  forget_syscall: (_k, regs) => regs.set('syscallno', NO_SYSCALL),
  syscall_rollback: (_k, regs) => regs.set('x0', regs.get('orig_x0')),
  // setup_restart_syscall(): the restart goes through restart_syscall, whose number user mode then sees in x8
  set_restart_syscall: (k, regs) => regs.set('x8', BigInt(k.desc.syscall.numbers['restart_syscall']!)),
};
