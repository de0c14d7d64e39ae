// kernel/entry/common.c and syscall-common.c (GENERIC_ENTRY, 6.18), plus the exit work loop
// GENERIC_IRQ_ENTRY arches (arm64) share: syscall_enter_from_user_mode(),
// syscall_exit_to_user_mode(), exit_to_user_mode_prepare() with exit_to_user_mode_loop(),
// irqentry_enter/exit_to_user_mode(). The loop handles every work bit in one pass, irqs on,
// then disables irqs and reads the flags again; it is entered and left with irqs off.

import type { PtRegs } from '../ptregs.ts';
import type { Gen, KernelApi } from '../types.ts';

/** The loop's mask: EXIT_TO_USER_MODE_WORK when the arch names it, else _TIF_WORK_MASK. */
export function exitWorkMask(k: KernelApi): { name: string; bits: string[]; mask: bigint } {
  const name = k.desc.workMasks['EXIT_TO_USER_MODE_WORK'] ? 'EXIT_TO_USER_MODE_WORK' : '_TIF_WORK_MASK';
  const bits = k.desc.workMasks[name];
  if (!bits) return k.bug('C9', `${k.desc.name}: arch.json has neither EXIT_TO_USER_MODE_WORK nor _TIF_WORK_MASK`);
  return { name, bits, mask: bits.reduce((m, b) => m | k.tifBit(b), 0n) };
}

/** syscall_enter_from_user_mode(regs, nr): irqs on, then ptrace's entry stop; the (possibly new) nr, -1 to skip. */
export function* syscallEnterFromUserMode(k: KernelApi, regs: PtRegs, nr: bigint): Gen<bigint> {
  k.localIrqEnable();
  if (k.hasSyscallWork(k.current())) nr = syscallTraceEnter(k, regs);
  return nr;
}

/** syscall_trace_enter(): the tracer may change the number and arguments; they are read again from pt_regs. */
export function syscallTraceEnter(k: KernelApi, regs: PtRegs): bigint {
  if (k.ptraceReportSyscallEntry(regs)) return -1n;
  return k.syscallGetNr(regs);
}

/** syscall_exit_work(): ptrace's exit stop (irqs on). */
export function* syscallExitWork(k: KernelApi, regs: PtRegs): Gen {
  if (!k.irqsEnabled()) k.bug('C5', 'syscall_exit_to_user_mode was entered with interrupts disabled');
  if (k.hasSyscallWork(k.current())) k.ptraceReportSyscallExit(regs);
}

/** syscall_exit_to_user_mode(regs): exit work with irqs on, then irqs off and the exit loop. */
export function* syscallExitToUserMode(k: KernelApi, regs: PtRegs): Gen {
  yield* syscallExitWork(k, regs);
  k.localIrqDisable();
  yield* exitToUserModePrepare(k, regs);
}

/** irqentry_enter_from_user_mode(): nothing observable here (context tracking). */
export function irqentryEnterFromUserMode(k: KernelApi, regs: PtRegs): void {
  void k;
  void regs;
}

/** irqentry_exit_to_user_mode(regs): irqs off, the exit loop. */
export function* irqentryExitToUserMode(k: KernelApi, regs: PtRegs): Gen {
  k.localIrqDisable();
  yield* exitToUserModePrepare(k, regs);
}

/** exit_to_user_mode_prepare(): entered with irqs off; runs the loop when there is work. */
export function* exitToUserModePrepare(k: KernelApi, regs: PtRegs): Gen {
  if (k.irqsEnabled()) k.bug('C5', 'exit_to_user_mode_prepare was entered with interrupts enabled');
  const { mask } = exitWorkMask(k);
  let ti = k.tiFlags(k.current());
  if (ti & mask) ti = yield* exitToUserModeLoop(k, regs, ti);
  k.port.entry.arch_exit_to_user_mode_prepare?.(k, regs, ti);
}

const GUARD_PASSES = 32;

/**
 * exit_to_user_mode_loop(): each pass handles every set work bit; every handler clears its
 * own bit (C9). A bit that stays set makes the loop go round forever on a real kernel (the
 * 2014 TIF_UPROBE hole): stopped here after a bound, naming the bits.
 */
export function* exitToUserModeLoop(k: KernelApi, regs: PtRegs, ti: bigint): Gen<bigint> {
  const { name, mask } = exitWorkMask(k);
  const has = (b: string) => k.hasTif(b) && (ti & k.tifBit(b)) !== 0n;
  let passes = 0;
  k.trace.push(`${k.current().pid}:exit_to_user_mode_loop 0x${ti.toString(16)}`);
  while (ti & mask) {
    if (++passes > GUARD_PASSES) stuck(k, name, ti & mask);
    k.localIrqEnable();
    if (has('NEED_RESCHED') || has('NEED_RESCHED_LAZY')) yield* k.schedule();
    if (has('UPROBE')) handled(k, 'UPROBE', 'uprobe_notify_resume');
    if (has('PATCH_PENDING')) handled(k, 'PATCH_PENDING', 'klp_update_patch_state');
    if (has('SIGPENDING') || has('NOTIFY_SIGNAL')) {
      if (has('NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
      yield* k.archDoSignalOrRestart(regs);
    }
    if (has('NOTIFY_RESUME')) handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
    k.port.entry.arch_exit_to_user_mode_work?.(k, regs, ti);
    k.localIrqDisable();
    ti = k.tiFlags(k.current());
  }
  return ti;
}

/** A work bit's handler ran: it clears the bit, as the kernel function does (scenarios may act there: world.at). */
export function handled(k: KernelApi, bit: string, fn: string): void {
  k.clearTif(k.current(), bit);
  k.count(fn);
  k.world.at?.(k, fn, k.current());
}

export function stuck(k: KernelApi, mask: string, bits: bigint): never {
  const names = Object.keys(k.desc.tif).filter((b) => bits & k.tifBit(b)).map((b) => `TIF_${b}`);
  return k.bug('C9', `the exit work loop went round ${GUARD_PASSES} times: ${names.join(', ')} stay set in ${mask} and nothing clears them`);
}

