// The C half of the sparc32 entry code (Linux 6.18, model "arch"): what entry.S calls.
// arch/sparc/kernel/signal_32.c (do_notify_resume), ptrace_32.c (syscall_trace),
// traps_32.c (do_hw_interrupt, do_illegal_instruction, do_priv_instruction,
// do_memaccess_unaligned), windows.c (try_to_clear_window_buffer), mm/fault_32.c
// (window_overflow_fault, window_underflow_fault, window_ret_fault), and the C side of
// entry.S's sys_rt_sigreturn (do_rt_sigreturn).

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { handled } from '@archkit/generic-core/kernel/entry/common';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import { PSR } from './cpu.ts';
import { KSTK, REG_WINDOW_SIZE, sparcSignal, wSavedAddr } from './signal.ts';

/** user_mode(regs): the previous-supervisor bit of the saved psr is clear. */
export const userMode = (regs: PtRegs) => (regs.get('psr') & PSR.PS) === 0n;

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** do_notify_resume(regs, orig_i0, flags): rtrap_32.S calls it while _TIF_DO_NOTIFY_RESUME_MASK has bits, traps and interrupts on. */
function* do_notify_resume(k: KernelApi, regsAddr: bigint, origI0: bigint, flags: bigint): Gen<bigint> {
  // traps on; interrupts on after a syscall, masked (PIL 15) after an interrupt
  const regs = k.expectCurrentRegs('do_notify_resume', regsAddr);
  const has = (b: string) => (flags & k.tifBit(b)) !== 0n;
  k.trace.push(`${k.current().pid}:do_notify_resume 0x${flags.toString(16)}`);
  if (has('SIGPENDING') || has('NOTIFY_SIGNAL')) {
    // get_signal() runs task_work first, which clears TIF_NOTIFY_SIGNAL
    if (has('NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
    yield* sparcSignal(k).sparc_do_signal(k, regs, BigInt.asUintN(32, origI0));
  }
  if (has('NOTIFY_RESUME')) handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
  return 0n;
}

/** syscall_trace(regs, syscall_exit_p): the ptrace stops; non-zero at entry skips the call (-ENOSYS). */
function syscall_trace(k: KernelApi, regsAddr: bigint, exitP: bigint): bigint {
  const regs = k.expectCurrentRegs('syscall_trace', regsAddr);
  if (!k.testTif(k.current(), 'SYSCALL_TRACE')) return 0n;
  if (exitP) {
    k.ptraceReportSyscallExit(regs);
    return 0n;
  }
  return k.ptraceReportSyscallEntry(regs) ? 1n : 0n;
}

/** entry.S sys_rt_sigreturn -> do_rt_sigreturn(regs): the syscall itself (syscall.ts, signal.ts). */
function* do_rt_sigreturn(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  k.expectCurrentRegs('do_rt_sigreturn', regsAddr);
  yield* k.callSyscall(k.desc.syscall.numbers['rt_sigreturn']!, []);
  return 0n;
}

/** A trap from user mode that becomes a signal; one from the kernel is an oops (die_if_kernel). */
function userTrap(name: string, sig: 'SIGILL' | 'SIGBUS' | 'SIGSEGV') {
  return function (k: KernelApi, regsAddr: bigint): void {
    const regs = k.expectCurrentRegs(name, regsAddr);
    if (!userMode(regs)) k.bug('cpu', `${name}: trap in kernel mode at ${hex(regs.pc)} (${k.describePc(regs.pc)})`);
    k.forceSig(k.abi.sig[sig]);
  };
}

/** do_hw_interrupt(regs, type): a trap nobody handles; from user mode SIGILL (ILL_ILLTRP). */
function do_hw_interrupt(k: KernelApi, regsAddr: bigint, type: bigint): void {
  const regs = k.expectCurrentRegs('do_hw_interrupt', regsAddr);
  if (type < 0x80n || !userMode(regs)) k.bug('cpu', `sparc: unexpected trap 0x${type.toString(16)} at ${hex(regs.pc)} (${k.describePc(regs.pc)})`);
  k.forceSig(k.abi.sig.SIGILL);
}

/**
 * try_to_clear_window_buffer(regs, who): the windows parked in the buffer go to the user
 * stack (after flush_user_windows); one that cannot is the end of the task (SIGILL).
 */
function* try_to_clear_window_buffer(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  k.expectCurrentRegs('try_to_clear_window_buffer', regsAddr);
  yield* guestCall(k.sym(k.desc.symbols['flushUserWindows']!), []);
  const t = k.current();
  const w = Number(k.m.readUint(wSavedAddr(k), 4));
  for (let i = 0; i < w; i++) {
    const sp = k.m.readUint(t.stackBase + KSTK.rwinSptrs + BigInt(i * 4), 4);
    if (sp & 7n || !k.accessOk(sp, REG_WINDOW_SIZE)) {
      k.trace.push(`${t.pid}:bad user stack 0x${sp.toString(16)}`);
      // force_exit_sig(SIGILL)
      yield* k.doExit(0, k.abi.sig.SIGILL);
      return 0n;
    }
    k.m.write(sp, k.m.read(t.stackBase + KSTK.regWindow + BigInt(i) * REG_WINDOW_SIZE, Number(REG_WINDOW_SIZE)));
  }
  k.m.writeUint(wSavedAddr(k), 4, 0n);
  return 0n;
}

/** The user stack a window trap needed is not in user memory: SIGSEGV (force_user_fault fails). */
function stackFault(name: string) {
  return function (k: KernelApi, sp: bigint): void {
    k.trace.push(`${k.current().pid}:${name} sp=0x${sp.toString(16)}`);
    k.forceSig(k.abi.sig.SIGSEGV);
  };
}

/**
 * handler_irq(pil, regs) (irq_32.c): the device's handler, PIL 15. The way back is entry.S's
 * (RESTORE_ALL: the exit work through rtrap for a return to user mode).
 */
function handler_irq(k: KernelApi, pil: bigint, regsAddr: bigint): void {
  const regs = k.ptRegsAt(regsAddr);
  if (userMode(regs)) {
    k.expectCurrentRegs('handler_irq', regsAddr);
    k.irqentryEnterFromUserMode(regs);
  }
  if (pil > 15n) k.bug('C12', `handler_irq: interrupt level ${pil}`);
  k.handleIrq(regs);
}

const functions: EntryFunctions = {
  handler_irq,
  do_notify_resume,
  syscall_trace,
  do_rt_sigreturn,
  do_hw_interrupt,
  do_illegal_instruction: userTrap('do_illegal_instruction', 'SIGILL'),
  do_priv_instruction: userTrap('do_priv_instruction', 'SIGILL'),
  do_memaccess_unaligned: userTrap('do_memaccess_unaligned', 'SIGBUS'),
  try_to_clear_window_buffer,
  window_overflow_fault: (k) => stackFault('window_overflow_fault')(k, k.m.readUint(k.current().stackBase + KSTK.rwinSptrs, 4)),
  window_underflow_fault: (k, sp) => stackFault('window_underflow_fault')(k, sp!),
  window_ret_fault: (k, regsAddr) => stackFault('window_ret_fault')(k, k.ptRegsAt(regsAddr!).get('i6')),
};

export const hooks: EntryHooks = {
  models: { arch: functions },
  user_mode: (_k, regs) => userMode(regs),
};
