// The C half of the sparc64 entry code (Linux 6.18, model "arch"): what entry.S calls.
// arch/sparc/kernel/signal_64.c (do_notify_resume), ptrace_64.c (syscall_trace_enter,
// syscall_trace_leave), traps_64.c (bad_trap, do_illegal_instruction, do_privop, the
// mem_address_unaligned path, spitfire_insn_access_exception), process_64.c (fault_in_user_windows), mm/fault_64.c
// (do_sparc64_fault, for the window fixups), time_64.c (timer_interrupt), and the C side of
// syscalls.S's sys_rt_sigreturn (do_rt_sigreturn).

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { handled } from '@archkit/generic-core/kernel/entry/common';
import { TSTATE } from './cpu.ts';
import { sparcSignal, tiByte } from './signal.ts';

/** user_mode(regs): TSTATE.PRIV of the trap is clear. */
export const userMode = (regs: PtRegs) => (regs.get('tstate') & TSTATE.PRIV) === 0n;

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** do_notify_resume(regs, orig_i0, flags): rtrap calls it while _TIF_DO_NOTIFY_RESUME_MASK has bits, PSTATE.IE on. */
function* do_notify_resume(k: KernelApi, regsAddr: bigint, origI0: bigint, flags: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_notify_resume', regsAddr);
  const has = (b: string) => (flags & k.tifBit(b)) !== 0n;
  k.trace.push(`${k.current().pid}:do_notify_resume 0x${(flags & 0xffffn).toString(16)}`);
  if (has('UPROBE')) handled(k, 'UPROBE', 'uprobe_notify_resume');
  if (has('SIGPENDING') || has('NOTIFY_SIGNAL')) {
    // get_signal() runs task_work first, which clears TIF_NOTIFY_SIGNAL
    if (has('NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
    yield* sparcSignal(k).sparc_do_signal(k, regs, origI0);
  }
  if (has('NOTIFY_RESUME')) handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
  return 0n;
}

/** syscall_trace_enter(regs): the ptrace stop at entry; non-zero skips the call (-ENOSYS). */
function syscall_trace_enter(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('syscall_trace_enter', regsAddr);
  if (!k.testTif(k.current(), 'SYSCALL_TRACE')) return 0n;
  return k.ptraceReportSyscallEntry(regs) ? 1n : 0n;
}

/** syscall_trace_leave(regs): the ptrace stop at exit. */
function syscall_trace_leave(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('syscall_trace_leave', regsAddr);
  if (k.testTif(k.current(), 'SYSCALL_TRACE')) k.ptraceReportSyscallExit(regs);
  return 0n;
}

/** syscalls.S sys_rt_sigreturn -> do_rt_sigreturn(regs): the syscall itself (syscall.ts, signal.ts). */
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

/** bad_trap(regs, lvl): a trap nobody handles; a software trap (lvl >= 0x100) from user mode is SIGILL (ILL_ILLTRP). */
function bad_trap(k: KernelApi, regsAddr: bigint, lvl: bigint): void {
  const regs = k.expectCurrentRegs('bad_trap', regsAddr);
  if (lvl < 0x100n || !userMode(regs)) k.bug('cpu', `sparc64: unexpected trap 0x${lvl.toString(16)} at ${hex(regs.pc)} (${k.describePc(regs.pc)})`);
  k.forceSig(k.abi.sig.SIGILL);
}

/**
 * do_sparc64_fault(regs): here only for the window fixups (FAULT_CODE_WINFIXUP in the flags
 * word's top byte): a user stack a spill or fill could not use. There is no MMU to fault
 * the page in: it is not user memory, SIGSEGV.
 */
function do_sparc64_fault(k: KernelApi, regsAddr: bigint): void {
  const regs = k.expectCurrentRegs('do_sparc64_fault', regsAddr);
  const t = k.current();
  const code = k.m.readUint(tiByte(k, t.addr, 'faultCode'), 1);
  k.m.writeUint(tiByte(k, t.addr, 'faultCode'), 1, 0n);
  if (!userMode(regs) && !(code & 0x08n)) k.bug('cpu', `sparc64: kernel fault at ${hex(regs.pc)} (${k.describePc(regs.pc)})`);
  k.trace.push(`${t.pid}:window fault code 0x${code.toString(16)} sp=${hex(regs.get('i6'))}`);
  k.forceSig(k.abi.sig.SIGSEGV);
}

/** fault_in_user_windows(regs): the windows waiting in the buffer go to the user stack (signal.ts). */
function* fault_in_user_windows(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  k.expectCurrentRegs('fault_in_user_windows', regsAddr);
  yield* sparcSignal(k).sparc_fault_in_user_windows(k);
  return 0n;
}

/**
 * timer_interrupt(irq, regs): the tick, at %pil PIL_NORMAL_MAX. The way back is entry.S's
 * (rtrap_irq: the exit work for a return to user mode).
 */
function timer_interrupt(k: KernelApi, irq: bigint, regsAddr: bigint): void {
  const regs = k.ptRegsAt(regsAddr);
  if (userMode(regs)) {
    k.expectCurrentRegs('timer_interrupt', regsAddr);
    k.irqentryEnterFromUserMode(regs);
  }
  if (irq !== 14n) k.bug('C12', `timer_interrupt: interrupt level ${irq}`);
  k.handleIrq(regs);
}

const functions: EntryFunctions = {
  timer_interrupt,
  do_notify_resume,
  syscall_trace_enter,
  syscall_trace_leave,
  do_rt_sigreturn,
  bad_trap,
  do_illegal_instruction: userTrap('do_illegal_instruction', 'SIGILL'),
  do_privop: userTrap('do_privop', 'SIGILL'),
  do_mna: userTrap('do_mna', 'SIGBUS'),
  spitfire_insn_access_exception: userTrap('spitfire_insn_access_exception', 'SIGSEGV'),
  do_sparc64_fault,
  fault_in_user_windows,
};

export const hooks: EntryHooks = {
  models: { arch: functions },
  user_mode: (_k, regs) => userMode(regs),
};
