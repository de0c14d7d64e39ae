// arch/riscv/include/asm/syscall.h and kernel/signal.c: the syscall a frame belongs to is
// a7 (an int), the result is a0 (negative errno), what a0 held at entry is orig_a0. Whether
// a frame is a syscall whose restart is still to be decided is its cause (EXC_SYSCALL); the
// restart decision and rt_sigreturn set cause = -1, riscv's guard against a second rewind.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import { EXC } from './cpu.ts';

const ARGS = ['a1', 'a2', 'a3', 'a4', 'a5'];

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => BigInt.asIntN(32, regs.get('a7')),
  syscall_set_nr: (_k, regs, nr) => regs.set('a7', nr),
  in_syscall: (_k, regs) => regs.gets('cause') === BigInt(EXC.SYSCALL),
  forget_syscall: (_k, regs) => regs.set('cause', -1n),
  syscall_rollback: (_k, regs) => regs.set('a0', regs.get('orig_a0')),
  // arch_do_signal_or_restart(): a restart through restart_syscall, whose number user mode then sees in a7
  set_restart_syscall: (k, regs) => regs.set('a7', BigInt(k.desc.syscall.numbers['restart_syscall']!)),
  // the first argument is orig_a0: do_trap_ecall_u has put -ENOSYS in a0 by the time the
  // syscall runs (asm/syscall_wrapper.h SC_RISCV_REGS_TO_ARGS); a tracer reaches it only
  // through PTRACE_SET_SYSCALL_INFO, not by writing a0
  syscall_get_arguments: (_k, regs) => [regs.get('orig_a0'), ...ARGS.map((r) => regs.get(r))],
  syscall_set_arguments: (_k, regs, args) => {
    regs.set('orig_a0', args[0]!);
    ARGS.forEach((r, i) => regs.set(r, args[i + 1]!));
  },
};
