// arch/x86/include/asm/syscall.h: the syscall a frame belongs to is orig_ax (an int; -1
// for "not a syscall"), the result is ax (negative errno), and what the result
// overwrote was the syscall number, back in ax from orig_ax for a restart. Nothing marks a
// restart consumed: once rewound, ax no longer holds an -ERESTART value.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';

/** __X32_SYSCALL_BIT: an x32 task's restart keeps it (get_nr_restart_syscall). */
const X32_SYSCALL_BIT = 0x40000000n;

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => BigInt.asIntN(32, regs.get('orig_ax')),
  syscall_set_nr: (_k, regs, nr) => regs.set('orig_ax', nr),
  syscall_rollback: (_k, regs) => regs.set('ax', regs.get('orig_ax')),
  // arch_do_signal_or_restart(): ax = get_nr_restart_syscall(regs)
  set_restart_syscall: (k, regs) => regs.set('ax', BigInt(k.desc.syscall.numbers['restart_syscall']!) | (regs.get('orig_ax') & X32_SYSCALL_BIT)),
};
