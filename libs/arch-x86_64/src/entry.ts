// The C half of the x86-64 entry code (Linux 6.18, GENERIC_ENTRY): what entry.S calls.
// arch/x86/entry/syscall_64.c (do_syscall_64), arch/x86/kernel/traps.c
// (exc_general_protection, sync_regs), arch/x86/kernel/irq.c (common_interrupt),
// arch/x86/kernel/process.c (ret_from_fork).

import type { EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import { FIRST_EXTERNAL_VECTOR } from './cpu.ts';

/** do_syscall_64(regs, nr): nr is an int; returns with irqs disabled (0: leave through iret). */
function* do_syscall_64(k: KernelApi, regsAddr: bigint, nrArg: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_syscall_64', regsAddr);
  let nr = BigInt.asIntN(32, nrArg);
  nr = yield* k.syscallEnterFromUserMode(regs, nr);
  // do_syscall_x64(): negative numbers compare as very large unsigned ones
  const unr = BigInt.asUintN(32, nr);
  if (unr <= BigInt(Math.max(...Object.values(k.desc.syscall.numbers)))) yield* k.invokeSyscall(regs, unr);
  else if (nr !== -1n) regs.set('ax', -k.abi.errno.ENOSYS); // invalid, but still a syscall
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

/** exc_general_protection(regs, error_code) from user mode: SIGSEGV for the task, then the exit work. */
function* exc_general_protection(k: KernelApi, regsAddr: bigint, errorCode: bigint): Gen<bigint> {
  void errorCode;
  const regs = k.expectCurrentRegs('exc_general_protection', regsAddr);
  k.irqentryEnterFromUserMode(regs);
  k.localIrqEnable(); // cond_local_irq_enable(): user mode had them on
  k.forceSig(k.abi.sig.SIGSEGV);
  k.localIrqDisable();
  yield* k.irqentryExitToUserMode(regs);
  return 0n;
}

/**
 * sync_regs(eregs): an entry from user mode saved pt_regs on the per-cpu entry stack; they
 * belong at the top of the task's stack (current_top_of_stack() - 1), where everything
 * after expects them. Returns where they are now.
 */
function sync_regs(k: KernelApi, eregs: bigint): bigint {
  const regs = k.currentPtRegs();
  if (regs.base !== eregs) regs.copyFrom(k.ptRegsAt(eregs));
  return regs.base;
}

/**
 * common_interrupt(regs, vector) (DEFINE_IDTENTRY_IRQ): the vector arrives as the error
 * code; irqentry_enter, the handler, irqentry_exit (to user mode: the exit work loop).
 */
function* common_interrupt(k: KernelApi, regsAddr: bigint, errorCode: bigint): Gen<bigint> {
  const regs = k.ptRegsAt(regsAddr);
  const vector = Number(errorCode & 0xffn);
  if (vector !== FIRST_EXTERNAL_VECTOR) k.bug('C12', `common_interrupt got vector 0x${vector.toString(16)}, the CPU delivered 0x${FIRST_EXTERNAL_VECTOR.toString(16)}`);
  const state = k.irqentryEnter(regs);
  k.handleIrq(regs);
  yield* k.irqentryExit(regs, state);
  return 0n;
}

/**
 * ret_from_fork(prev, regs, fn, fn_arg): the first C of every new task. A kernel thread
 * runs fn(arg); if that returns, kernel_execve() filled regs and the task leaves for user
 * mode with 0 in ax, by the syscall exit path.
 */
function* ret_from_fork(k: KernelApi, prev: bigint, regsAddr: bigint, fn: bigint, arg: bigint): Gen<bigint> {
  yield* k.scheduleTail(prev);
  const regs = k.expectCurrentRegs('ret_from_fork', regsAddr);
  if (fn !== 0n) {
    yield* guestCall(fn, [arg]);
    regs.set('ax', 0n);
  }
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

export const hooks: EntryHooks = {
  models: { 'generic-entry': { do_syscall_64, exc_general_protection, common_interrupt, sync_regs, ret_from_fork } },
  // user_mode(): the privilege level of the saved cs
  user_mode: (_k, regs) => (regs.get('cs') & 3n) === 3n,
};
