// The 2012 model of seed 000 (arch/arm/kernel/signal.c and entry-common.S): the glue tests
// the work flags with irqs off and calls do_work_pending(), which loops in C and returns 0
// (no work left, irqs still off) or a restart code for a handler-less restart, which the
// glue carries out without going back to user mode (negative: through restart_syscall).
// do_signal() pre-rewinds so a debugger sees the restart, and clears `syscall` after the
// first pass: that is this model's guard against restarting twice.

import type { PtRegs } from '../ptregs.ts';
import type { Gen, KernelApi } from '../types.ts';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '../abi.ts';
import { exitWorkMask, handled, stuck } from './common.ts';

/** do_work_pending(regs, thread_flags, syscall): entered and left (with 0) with irqs off. */
export function* doWorkPending(k: KernelApi, regsAddr: bigint, flags: bigint, syscall: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_work_pending', regsAddr);
  if (k.irqsEnabled()) k.bug('C5', 'do_work_pending was entered with interrupts enabled');
  const { name, mask } = exitWorkMask(k);
  const has = (b: string) => k.hasTif(b) && (flags & k.tifBit(b)) !== 0n;
  k.trace.push(`${k.current().pid}:do_work_pending 0x${flags.toString(16)}`);
  let inSyscall = syscall !== 0n;
  let passes = 0;
  do {
    if (++passes > 32) stuck(k, name, flags & mask);
    if (has('NEED_RESCHED')) {
      yield* k.schedule();
    } else {
      // arm 6.18: kernel-mode regs have no work to do here (user_mode(), where the port says)
      if (k.port.entry.user_mode && !k.port.entry.user_mode(k, regs)) return 0n;
      k.localIrqEnable();
      if (has('SIGPENDING') || has('NOTIFY_SIGNAL')) {
        if (has('NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
        const own = k.port.signal.do_signal;
        const restart = own ? yield* own(k, regs, inSyscall) : yield* doSignal(k, regs, inSyscall);
        if (restart) return BigInt(restart);
        inSyscall = false;
      } else if (has('UPROBE')) {
        handled(k, 'UPROBE', 'uprobe_notify_resume');
      } else {
        handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
      }
    }
    k.localIrqDisable();
    flags = k.tiFlags(k.current());
  } while (flags & mask);
  return 0n;
}

/** do_signal(regs, syscall): returns 1 (or -1 for restart_syscall) for a handler-less restart the glue performs. */
export function* doSignal(k: KernelApi, regs: PtRegs, syscall: boolean): Gen<number> {
  let restart = 0;
  let continueAddr = 0n;
  let restartAddr = 0n;
  let retval = 0n;
  if (syscall) {
    continueAddr = regs.pc;
    restartAddr = k.restartPc(continueAddr);
    retval = k.syscallGetReturnValue(regs);
    if (retval === -ERESTART_RESTARTBLOCK || retval === -ERESTARTNOHAND || retval === -ERESTARTSYS || retval === -ERESTARTNOINTR) {
      restart = retval === -ERESTART_RESTARTBLOCK ? -1 : 1;
      k.syscallRollback(regs);
      regs.pc = restartAddr;
    }
  }
  const ksig = yield* k.getSignal();
  if (ksig) {
    if (restart && regs.pc === restartAddr) {
      if (retval === -ERESTARTNOHAND || retval === -ERESTART_RESTARTBLOCK || (retval === -ERESTARTSYS && !(ksig.ka.flags & k.abi.sa.SA_RESTART))) {
        k.syscallSetReturnValue(regs, -k.abi.errno.EINTR, 0n);
        regs.pc = continueAddr;
      }
    }
    k.handleSignal(ksig, regs);
    return 0;
  }
  if (restart && regs.pc === restartAddr) {
    regs.pc = continueAddr;
    k.trace.push(`${k.current().pid}:restart-in-kernel ${restart}`);
    return restart;
  }
  return 0;
}

/** syscall_trace_enter(regs) of this model's glue: the tracer's stop, then the (possibly new) number from pt_regs. */
export function* syscallTraceEnter(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('syscall_trace_enter', regsAddr);
  if (k.ptraceReportSyscallEntry(regs)) return -1n;
  return k.syscallGetNr(regs);
}

export function* syscallTraceExit(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('syscall_trace_exit', regsAddr);
  k.ptraceReportSyscallExit(regs);
  return 0n;
}
