// The C half of the powerpc entry code (Linux 6.18, no GENERIC_ENTRY): what entry.S calls.
// arch/powerpc/kernel/syscall.c (system_call_exception), arch/powerpc/kernel/interrupt.c
// (syscall_exit_prepare, interrupt_exit_user_prepare, interrupt_exit_kernel_prepare and
// their common loop interrupt_exit_user_prepare_main), arch/powerpc/kernel/ptrace/ptrace.c
// (do_syscall_trace_enter/leave), arch/powerpc/kernel/traps.c (program_check_exception),
// arch/powerpc/mm/fault.c (do_page_fault).
//
// Model "arch": powerpc's own exit loop in C. It returns a non-zero value (the
// _TIF_RESTOREALL bit) when the asm must reload every register from pt_regs: a signal was
// handled, a tracer stopped the task, sigreturn restored a frame. Otherwise the syscall
// exit restores only r1, r2, r3, cr and lr, and the volatile registers keep what the
// kernel left in them.

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { handled, stuck } from '@archkit/generic-core/kernel/entry/common';
import { MSR, SRR1_PROG } from './cpu.ts';

/** user_mode(regs) (asm/ptrace.h): MSR[PR] in the saved MSR. */
export const userMode = (regs: PtRegs) => (regs.get('msr') & MSR.PR) !== 0n;

const MAX_ERRNO = 4095n;
const mask = (k: KernelApi, bits: string[]) => bits.reduce((m, b) => m | k.tifBit(b), 0n);
const USER_WORK = (k: KernelApi) => mask(k, k.desc.workMasks['_TIF_USER_WORK_MASK']!);
const SYSCALL_DOTRACE = (k: KernelApi) => mask(k, k.desc.workMasks['_TIF_SYSCALL_DOTRACE']!);
const PERSYSCALL = (k: KernelApi) => mask(k, k.desc.workMasks['_TIF_PERSYSCALL_MASK']!);

/** NR_syscalls: the table covers the highest number the arch lists. */
const nrSyscalls = (k: KernelApi) => BigInt(Math.max(...Object.values(k.desc.syscall.numbers)) + 1);

/**
 * do_syscall_trace_enter(regs): the tracer's entry stop, then the (possibly changed) number
 * from gpr[0]. A skip (or a number out of range) leaves -ENOSYS in gpr[3] and returns -1:
 * on powerpc a tracer sets a skipped call's result at the exit stop, not at the entry stop.
 */
function do_syscall_trace_enter(k: KernelApi, regs: PtRegs): bigint {
  const flags = k.tiFlags(k.current()) & mask(k, ['SYSCALL_EMU', 'SYSCALL_TRACE']);
  const skip = () => {
    regs.set('gpr3', -k.abi.errno.ENOSYS);
    return -1n;
  };
  if (flags) {
    const rc = k.ptraceReportSyscallEntry(regs);
    if (flags & k.tifBit('SYSCALL_EMU')) return -1n;
    if (rc) return skip();
  }
  // no seccomp filter is modelled
  if (regs.get('gpr0') >= nrSyscalls(k)) return skip();
  return regs.get('gpr0');
}

/** system_call_exception(regs, r0): the syscall, entered with irqs off; returns its result (r3). */
function* system_call_exception(k: KernelApi, regsAddr: bigint, r0: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('system_call_exception', regsAddr);
  if (!userMode(regs)) k.bug('cpu', 'system_call_exception: the frame is not from user mode (BUG_ON(!user_mode(regs)))');
  if (!(regs.get('msr') & MSR.EE)) k.bug('C5', 'system_call_exception: user mode ran with interrupts disabled (BUG_ON(arch_irq_disabled_regs(regs)))');
  k.localIrqEnable();
  let nr = BigInt.asUintN(32, r0);
  if (k.tiFlags(k.current()) & SYSCALL_DOTRACE(k)) {
    // the number the tracer left (or -1: skipped, with the result already in gpr[3])
    nr = BigInt.asUintN(32, do_syscall_trace_enter(k, regs));
    if (nr >= nrSyscalls(k)) return regs.get('gpr3');
  } else if (nr >= nrSyscalls(k)) {
    return -k.abi.errno.ENOSYS;
  }
  // sys_call_table[r0](regs): the syscall wrapper reads its arguments from gpr[3..8]
  const args = [3, 4, 5, 6, 7, 8].map((i) => regs.get(`gpr${i}`));
  return yield* k.callSyscall(Number(nr), args);
}

/**
 * do_notify_resume(regs, thread_info_flags) (kernel/signal.c): the exit loop's work other
 * than rescheduling. Signals go through do_signal(), the port's arch_do_signal_or_restart.
 */
function* do_notify_resume(k: KernelApi, regs: PtRegs, flags: bigint): Gen {
  const has = (b: string) => (flags & k.tifBit(b)) !== 0n;
  if (has('UPROBE')) handled(k, 'UPROBE', 'uprobe_notify_resume');
  if (has('PATCH_PENDING')) handled(k, 'PATCH_PENDING', 'klp_update_patch_state');
  if (has('SIGPENDING') || has('NOTIFY_SIGNAL')) {
    if (regs.base !== k.currentPtRegs().base) k.bug('C4', 'do_notify_resume: regs != current->thread.regs');
    // get_signal() runs the task work first (task_work_run() clears TIF_NOTIFY_SIGNAL)
    if (has('NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
    yield* k.archDoSignalOrRestart(regs);
  }
  if (has('NOTIFY_RESUME')) handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
}

/**
 * interrupt_exit_user_prepare_main(ret, regs): entered with irqs off. Loops over
 * _TIF_USER_WORK_MASK but RESTORE_TM with irqs on: schedule() for NEED_RESCHED(_LAZY), else
 * do_notify_resume(); a pending signal forces the full register restore. Returns `ret`.
 */
function* interrupt_exit_user_prepare_main(k: KernelApi, ret: bigint, regs: PtRegs): Gen<bigint> {
  if (k.irqsEnabled()) k.bug('C5', 'interrupt_exit_user_prepare_main was entered with interrupts enabled');
  const work = USER_WORK(k) & ~k.tifBit('RESTORE_TM');
  let ti = k.tiFlags(k.current());
  let passes = 0;
  if (ti & work) k.trace.push(`${k.current().pid}:interrupt_exit_user_prepare_main 0x${ti.toString(16)}`);
  while (ti & work) {
    // a bit nothing clears makes this loop go round forever (C9): stopped after a bound
    if (++passes > 32) stuck(k, '_TIF_USER_WORK_MASK', ti & work);
    k.localIrqEnable();
    if (ti & (k.tifBit('NEED_RESCHED') | k.tifBit('NEED_RESCHED_LAZY'))) {
      yield* k.schedule();
    } else {
      // SIGPENDING must restore the handler's argument registers and r1: restore all
      if (ti & k.tifBit('SIGPENDING')) ret |= k.tifBit('RESTOREALL');
      yield* do_notify_resume(k, regs, ti);
    }
    k.localIrqDisable();
    ti = k.tiFlags(k.current());
  }
  // 32-bit: no TM or lazy FP state to restore, no soft-masked interrupts to replay
  return ret;
}

/**
 * syscall_exit_prepare(r3, regs, scv): called with the syscall's return value. Records it,
 * turns an error into CR0.SO + a positive errno (unless _TIF_NOERROR/_TIF_RESTOREALL),
 * consumes the per-syscall flags, reports the exit to a tracer, runs the exit work with
 * irqs off. Non-zero: the asm reloads every register from pt_regs.
 */
function* syscall_exit_prepare(k: KernelApi, r3: bigint, regsAddr: bigint, scv: bigint): Gen<bigint> {
  void scv; // 32-bit has no scv
  const regs = k.expectCurrentRegs('syscall_exit_prepare', regsAddr);
  const t = k.current();
  let ret = 0n;
  regs.set('result', r3);
  const ti = k.tiFlags(t);
  const restoreAll = k.tifBit('RESTOREALL');
  if (BigInt.asUintN(32, r3) >= BigInt.asUintN(32, -MAX_ERRNO)) {
    if (!(ti & (k.tifBit('NOERROR') | restoreAll))) {
      r3 = -BigInt.asIntN(32, r3);
      regs.set('ccr', regs.get('ccr') | 0x10000000n); // CR0.SO
    }
  }
  if (ti & PERSYSCALL(k)) {
    if (ti & restoreAll) ret = restoreAll;
    else regs.set('gpr3', r3);
    for (const b of k.desc.workMasks['_TIF_PERSYSCALL_MASK']!) k.clearTif(t, b); // clear_bits(_TIF_PERSYSCALL_MASK)
  } else {
    regs.set('gpr3', r3);
  }
  if (ti & SYSCALL_DOTRACE(k)) {
    // do_syscall_trace_leave(): the tracer may change any register: restore them all
    k.ptraceReportSyscallExit(regs);
    ret |= restoreAll;
  }
  k.localIrqDisable();
  return yield* interrupt_exit_user_prepare_main(k, ret, regs);
}

/** interrupt_exit_user_prepare(regs): the way back to user mode from an interrupt or exception. */
function* interrupt_exit_user_prepare(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('interrupt_exit_user_prepare', regsAddr);
  if (!(regs.get('msr') & MSR.RI)) k.bug('cpu', 'interrupt_exit_user_prepare: returning to an unrecoverable context (MSR[RI] clear)');
  k.localIrqDisable();
  return yield* interrupt_exit_user_prepare_main(k, 0n, regs);
}

/** interrupt_exit_kernel_prepare(regs): back to the interrupted kernel code (no kernel preemption is modelled). */
function interrupt_exit_kernel_prepare(k: KernelApi, regsAddr: bigint): bigint {
  void regsAddr;
  k.localIrqDisable();
  return 0n;
}

/** interrupt_cond_local_irq_enable(regs): irqs back on if the interrupted context had them. */
function condIrqEnable(k: KernelApi, regs: PtRegs): void {
  if (regs.get('msr') & MSR.EE) k.localIrqEnable();
}

/**
 * program_check_exception(regs) (do_program_check): the cause is in the saved MSR (SRR1).
 * A trap is SIGTRAP; a privileged or illegal instruction is SIGILL (no emulation of
 * mfpvr & co. is modelled). A kernel-mode program check is an oops.
 */
function program_check_exception(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('program_check_exception', regsAddr);
  const reason = regs.get('msr');
  if (!userMode(regs)) k.bug('cpu', `program_check_exception: Oops in kernel mode at 0x${regs.pc.toString(16)} (reason 0x${reason.toString(16)})`);
  condIrqEnable(k, regs);
  if (reason & SRR1_PROG.TRAP) k.forceSig(k.abi.sig.SIGTRAP);
  else if (reason & SRR1_PROG.FPE) k.forceSig(k.abi.sig.SIGFPE);
  else k.forceSig(k.abi.sig.SIGILL); // ILL_PRVOPC or ILL_ILLOPC
  return 0n;
}

/**
 * do_page_fault(regs) (DSI and ISI): no demand paging is modelled (the BATs map all there
 * is), so a user fault is always a bad area: SIGSEGV. A kernel fault is an oops.
 */
function do_page_fault(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('do_page_fault', regsAddr);
  if (!userMode(regs)) k.bug('cpu', `do_page_fault: kernel fault at 0x${regs.pc.toString(16)}, DAR 0x${regs.get('dar').toString(16)}`);
  condIrqEnable(k, regs);
  k.forceSig(k.abi.sig.SIGSEGV);
  return 0n;
}

/**
 * do_IRQ(regs): the external interrupt's handler, irqs still off (the interrupt cleared
 * MSR[EE]); the way back is interrupt_return's: the exit work loop to user mode, or the
 * plain return to the interrupted kernel code, whose frame lies further down the stack.
 */
function do_IRQ(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.ptRegsAt(regsAddr);
  if (userMode(regs)) {
    k.expectCurrentRegs('do_IRQ', regsAddr);
    k.irqentryEnterFromUserMode(regs);
  }
  k.handleIrq(regs);
  return 0n;
}

const functions: EntryFunctions = {
  system_call_exception,
  syscall_exit_prepare,
  interrupt_exit_user_prepare,
  interrupt_exit_kernel_prepare,
  program_check_exception,
  do_page_fault,
  do_IRQ,
};

export const hooks: EntryHooks = {
  models: { arch: functions },
  user_mode: (_k, regs) => userMode(regs),
};
