// arch/powerpc/include/asm/syscall.h and asm/ptrace.h (64-bit): a frame is a syscall's when
// its trap word says 0xc00 (scv's 0x3000 is not modelled; bit 0, TRAP_FLAGS_MASK on 64-bit,
// is the "norestart" flag, set once the restart was decided); the number is gpr[0] (read as
// an int), the arguments gpr[3..8] with the first one reported from orig_gpr3; an error is
// CR0.SO set with a positive errno in gpr[3] (the core's "flag" convention, arch.json
// syscall.error). 64-bit has no sigreturn of its own: only rt_sigreturn.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import { setTrapNorestart, trapIsSyscall, trapNorestart } from './signal.ts';

const ARGS = ['gpr4', 'gpr5', 'gpr6', 'gpr7', 'gpr8'];

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => (trapIsSyscall(regs) ? BigInt.asIntN(32, regs.get('gpr0')) : -1n),
  syscall_set_nr: (_k, regs, nr) => regs.set('gpr0', nr),
  // a syscall whose restart is still to be decided
  in_syscall: (_k, regs) => trapIsSyscall(regs) && !trapNorestart(regs),
  forget_syscall: (_k, regs) => setTrapNorestart(regs),
  syscall_rollback: (_k, regs) => regs.set('gpr3', regs.get('orig_gpr3')),
  set_restart_syscall: (k, regs) => regs.set('gpr0', BigInt(k.desc.syscall.numbers['restart_syscall']!)),
  syscall_get_arguments: (_k, regs) => [regs.get('orig_gpr3'), ...ARGS.map((r) => regs.get(r))],
  // also orig_gpr3 (the first argument as syscall_get_arguments() reports it)
  syscall_set_arguments: (_k, regs, args) => {
    regs.set('gpr3', args[0]!);
    ARGS.forEach((r, i) => regs.set(r, args[i + 1]!));
    regs.set('orig_gpr3', args[0]!);
  },
};
