// arch/s390/include/asm/syscall.h (Linux 6.18): which syscall a frame belongs to is the
// low half of int_code (the svc immediate, or r1 for `svc 0`, which __do_syscall copies
// there), and only while PIF_SYSCALL is set in pt_regs.flags; that flag is s390's
// "in a syscall whose restart is still to be decided", cleared by arch_do_signal_or_restart
// on its first pass and by the sigreturns. The result is r2 (negative errno); what r2
// held at entry is orig_gpr2, which is also the first argument.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';

/** pt_regs.flags bits (asm/ptrace.h). */
export const PIF = { SYSCALL: 1n << 0n, SYSCALL_RET_SET: 1n << 2n, GUEST_FAULT: 1n << 3n } as const;

export const testPif = (regs: PtRegs, bit: bigint) => (regs.get('flags') & bit) !== 0n;
export const setPif = (regs: PtRegs, bit: bigint) => regs.set('flags', regs.get('flags') | bit);
export const clearPif = (regs: PtRegs, bit: bigint) => regs.set('flags', regs.get('flags') & ~bit);

const ARGS = ['r3', 'r4', 'r5', 'r6', 'r7'];

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => (testPif(regs, PIF.SYSCALL) ? regs.get('int_code') & 0xffffn : -1n),
  // only at the entry stop (the kernel's comment): the number __do_syscall dispatches on
  syscall_set_nr: (_k, regs, nr) => regs.set('int_code', (regs.get('int_code') & ~0xffffn) | (nr & 0xffffn)),
  in_syscall: (_k, regs) => testPif(regs, PIF.SYSCALL),
  forget_syscall: (_k, regs) => clearPif(regs, PIF.SYSCALL),
  syscall_rollback: (_k, regs) => regs.set('r2', regs.get('orig_gpr2')),
  // ptrace set a result: __do_syscall skips the call (PIF_SYSCALL_RET_SET)
  syscall_set_return_value: (_k, regs, error, val) => {
    setPif(regs, PIF.SYSCALL_RET_SET);
    regs.set('r2', error !== 0n ? error : val);
  },
  syscall_get_arguments: (_k, regs) => [regs.get('orig_gpr2'), ...ARGS.map((r) => regs.get(r))],
  syscall_set_arguments: (_k, regs, args) => {
    regs.set('orig_gpr2', args[0]!);
    ARGS.forEach((r, i) => regs.set(r, args[i + 1]!));
  },
};
