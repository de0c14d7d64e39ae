// arch/arm/include/asm/syscall.h (Linux 6.18, EABI without OABI compat): the syscall a
// task is in is thread_info.abi_syscall, which vector_swi stores (and stores again before
// an in-kernel restart) and a tracer's PTRACE_SET_SYSCALL writes; -1 skips the call and
// makes its result -ENOSYS. The result is r0, what r0 held at entry is ORIG_r0, and
// ORIG_r0 is the first argument a tracer sees and sets. A handler-less restart needs no
// hook of the rewinding kind: do_signal() returns it to the asm, which re-enters the call
// (arm has no forget_syscall(): `why` in the asm and `syscall` in do_work_pending() are
// its guards). arm's own sigreturn (non-rt frames) is here too.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { sysSigreturn } from './signal.ts';

/** The task whose kernel stack holds this pt_regs frame. */
export function taskOf(k: KernelApi, regs: PtRegs) {
  const t = k.tasks.find((x) => regs.base >= x.stackBase && regs.base < x.stackTop);
  if (!t) throw new Error(`arm: pt_regs at 0x${regs.base.toString(16)} is on no task's kernel stack`);
  return t;
}

const abiSyscall = (k: KernelApi, regs: PtRegs) => k.threadSlot(taskOf(k, regs), 'abi_syscall');

const ARGS = ['r1', 'r2', 'r3', 'r4', 'r5'];

export const hooks: SyscallHooks = {
  syscall_get_nr: (k, regs) => BigInt.asIntN(32, k.readWord(abiSyscall(k, regs))),
  syscall_set_nr(k, regs, nr) {
    k.writeWord(abiSyscall(k, regs), nr);
    // a skipped call returns -ENOSYS unless the tracer sets a result, not the first argument
    if (nr === -1n) regs.set('r0', -k.abi.errno.ENOSYS);
  },
  syscall_rollback: (_k, regs) => regs.set('r0', regs.get('orig_r0')),
  syscall_get_arguments: (_k, regs) => [regs.get('orig_r0'), ...ARGS.map((r) => regs.get(r))],
  syscall_set_arguments(_k, regs, args) {
    ['r0', ...ARGS].forEach((r, i) => regs.set(r, args[i]!));
    // so that syscall_get_arguments() returns the new first argument
    regs.set('orig_r0', args[0]!);
  },
  arch_syscalls: { sigreturn: (k) => sysSigreturn(k) },
};
