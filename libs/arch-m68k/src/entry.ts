// The C half of the m68k entry code (Linux 6.18, no GENERIC_ENTRY): the functions
// entry.S calls. arch/m68k/kernel/ptrace.c (syscall_trace_enter, syscall_trace_leave),
// signal.c (do_notify_resume, do_sigreturn, do_rt_sigreturn), traps.c (trap_c, buserr_c),
// ints.c (handle_badint), process.c (m68k_clone). The work loop itself is entry.S's.

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import type { SignalName } from '@archkit/generic-core/kernel/abi';
import { handled } from '@archkit/generic-core/kernel/entry/common';
import { SR, TIMER_LEVEL, VEC } from './cpu.ts';
import { restoreSigframe, SWITCH_STACK_SIZE } from './signal.ts';

/** user_mode(regs) (asm/ptrace.h): the saved SR has S clear. */
export const userMode = (regs: PtRegs) => (regs.get('sr') & BigInt(SR.S)) === 0n;

/**
 * syscall_trace_enter(): the tracer's entry stop. Returns what ptrace_report_syscall_entry()
 * does, 1 when the tracer killed the task (a fatal signal is pending), or -1 from seccomp
 * (not modelled). entry.S skips the syscall for either (6.18 only for -1: see README).
 */
function syscall_trace_enter(k: KernelApi): bigint {
  let ret = 0n;
  if (k.testTif(k.current(), 'SYSCALL_TRACE')) ret = k.ptraceReportSyscallEntry(k.currentPtRegs()) ? 1n : 0n;
  return ret;
}

/** syscall_trace_leave(): the tracer's exit stop. */
function syscall_trace_leave(k: KernelApi): void {
  if (k.testTif(k.current(), 'SYSCALL_TRACE')) k.ptraceReportSyscallExit(k.currentPtRegs());
}

/**
 * do_notify_resume(regs), from do_signal_return with the switch_stack pushed below regs:
 * signals (and task work) through do_signal(), then resume_user_mode_work().
 */
function* do_notify_resume(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_notify_resume', regsAddr);
  const t = k.current();
  if (k.testTif(t, 'NOTIFY_SIGNAL') || k.testTif(t, 'SIGPENDING')) yield* k.archDoSignalOrRestart(regs);
  if (k.testTif(t, 'NOTIFY_RESUME')) handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
  return 0n;
}

/** m68k_clone(regs): clone's arguments from pt_regs, flags d1, newsp d2, parent_tid d3, child_tid d4, tls d5. */
function* m68k_clone(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('m68k_clone', regsAddr);
  return yield* k.callSyscall(k.desc.syscall.numbers['clone']!, ['d1', 'd2', 'd3', 'd4', 'd5', 'a0'].map((r) => regs.get(r)));
}

/**
 * do_rt_sigreturn(regs, sw): the rt frame at usp - 4 back into pt_regs, the switch_stack
 * and the usp (signal.ts restore_rt_frame, through the generic rt_sigreturn). Returns
 * where the switch_stack is now: sw, since only format-0 frames are modelled.
 */
function* do_rt_sigreturn(k: KernelApi, regsAddr: bigint, sw: bigint): Gen<bigint> {
  k.expectCurrentRegs('do_rt_sigreturn', regsAddr);
  if (sw !== regsAddr - SWITCH_STACK_SIZE) k.bug('C7', `do_rt_sigreturn got switch_stack 0x${sw.toString(16)}, not the one below pt_regs`);
  yield* k.callSyscall(k.desc.syscall.numbers['rt_sigreturn']!, []);
  return sw;
}

/** do_sigreturn(regs, sw): the same for the old-style sigframe (a handler without SA_SIGINFO). */
function do_sigreturn(k: KernelApi, regsAddr: bigint, sw: bigint): bigint {
  const regs = k.expectCurrentRegs('do_sigreturn', regsAddr);
  const t = k.current();
  const r = restoreSigframe(k, regs);
  if (!r) {
    k.trace.push(`${t.pid}:sigreturn-bad-frame`);
    k.forceSig(k.abi.sig.SIGSEGV);
    return sw;
  }
  t.blocked = r.blocked & ~((1n << BigInt(k.abi.sig.SIGKILL - 1)) | (1n << BigInt(k.abi.sig.SIGSTOP - 1)));
  k.recalcSigpending(t);
  k.trace.push(`${t.pid}:sigreturn`);
  return sw;
}

/** trap_c(frame): a user-mode exception becomes a signal (traps.c); one in supervisor mode is bad_super_trap(). */
function trap_c(k: KernelApi, fp: bigint): void {
  const regs = k.expectCurrentRegs('trap_c', fp);
  const vector = Number((regs.get('formatvec') & 0xfffn) >> 2n);
  if (!userMode(regs)) k.bug('cpu', `trap_c: bad_super_trap, vector ${vector} at 0x${regs.pc.toString(16)} (an oops)`);
  let sig: SignalName = 'SIGILL';
  if (vector === VEC.ADDRERR) sig = 'SIGBUS';
  else if (vector === VEC.ZERODIV || vector === VEC.CHK || vector === VEC.TRAP) sig = 'SIGFPE';
  else if (vector === VEC.TRACE || vector === VEC.TRAP15) sig = 'SIGTRAP';
  // VEC_ILLEGAL, LINE10/11 (ILL_ILLOPC), VEC_PRIV (ILL_PRVOPC), trap #1-#14 (ILL_ILLTRP), the rest
  k.forceSig(k.abi.sig[sig]);
}

/** buserr_c(frame): access faults arrive in a format-7 frame, which the CPU model does not build. */
function buserr_c(k: KernelApi, fp: bigint): void {
  k.bug('cpu', `buserr_c(0x${fp.toString(16)}): access faults are not modelled (no MMU)`);
}

/**
 * do_IRQ(irq, regs) (kernel/irq.c): irq_enter, the interrupt controller's handler, irq_exit.
 * From user mode the exit work is entry.S's ret_from_exception loop; from the kernel the
 * return is a plain rte (no kernel preemption: m68k selects ARCH_NO_PREEMPT).
 */
function do_IRQ(k: KernelApi, irq: bigint, regsAddr: bigint): void {
  const regs = k.ptRegsAt(regsAddr);
  if (Number(irq) !== TIMER_LEVEL) k.bug('C12', `do_IRQ got irq ${irq}, the CPU delivered the level-${TIMER_LEVEL} autovector`);
  if (userMode(regs)) {
    k.expectCurrentRegs('do_IRQ', regsAddr);
    k.irqentryEnterFromUserMode(regs);
  }
  k.handleIrq(regs);
}

/** handle_badint(regs): an interrupt vector nobody registered. */
function handle_badint(k: KernelApi, regsAddr: bigint): void {
  const vector = Number((k.ptRegsAt(regsAddr).get('formatvec') & 0xfffn) >> 2n);
  k.bug('cpu', `handle_badint: unexpected interrupt from vector ${vector}`);
}

/** send_sig(sig, task, priv): do_delayed_trace's SIGTRAP. */
function send_sig(k: KernelApi, sig: bigint, task: bigint): bigint {
  const t = k.tasks.find((x) => x.addr === task);
  if (!t) k.bug('C4', `send_sig to 0x${task.toString(16)}, which is no task_struct`);
  k.sendSignal(t, Number(sig));
  return 0n;
}

const functions: EntryFunctions = {
  syscall_trace_enter,
  syscall_trace_leave,
  do_notify_resume,
  m68k_clone,
  do_rt_sigreturn,
  do_sigreturn,
  trap_c,
  buserr_c,
  do_IRQ,
  handle_badint,
  send_sig,
};

export const hooks: EntryHooks = {
  models: { arch: functions },
  user_mode: (_k, regs) => userMode(regs),
};
