// The C half of the MIPS entry code (Linux 6.18, entry model "arch"): what entry.S calls.
// arch/mips/kernel/signal.c (do_notify_resume), ptrace.c (syscall_trace_enter,
// syscall_trace_leave), traps.c (do_ade, do_bp, do_ri, do_cpu, do_ov, do_tr,
// do_reserved), mm/fault.c (do_page_fault). The syscall dispatch and the return-to-user
// work loop are assembly (scall32-o32.S, entry.S); schedule/schedule_tail and the
// sys_call_table routines are the core's.

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import type { SignalName } from '@archkit/generic-core/kernel/abi';
import { exitWorkMask, handled, stuck } from '@archkit/generic-core/kernel/entry/common';
import { ST0, TIMER_IP } from './cpu.ts';
import { tiSyscall } from './syscall.ts';

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** thread_info->regs: the frame of the interrupt being handled (set_irq_regs()). */
const tiRegs = (k: KernelApi) => k.threadSlot(k.current(), 'ti_regs');

/** user_mode(regs): the saved Status had KSU = user. */
export const userMode = (regs: PtRegs) => (regs.get('status') & ST0.KU_USER) !== 0n;

/** Passes through do_notify_resume without a return to user mode, per task (C9 guard). */
const passes = new WeakMap<object, { exits: number; n: number }>();
const GUARD_PASSES = 32;

/**
 * do_notify_resume(regs, unused, thread_info_flags): work_notifysig calls it with irqs
 * off and the flags it sampled; it enables irqs, handles UPROBE, signals (do_signal,
 * which decides a restart), NOTIFY_RESUME, and returns to resume_userspace_check, which
 * samples the flags again. A bit nobody clears makes that asm loop spin: stopped here
 * after a bound, naming the bits.
 */
function* do_notify_resume(k: KernelApi, regsAddr: bigint, unused: bigint, flags: bigint): Gen<bigint> {
  void unused;
  const regs = k.expectCurrentRegs('do_notify_resume', regsAddr);
  if (k.irqsEnabled()) k.bug('C5', 'do_notify_resume was entered with interrupts enabled: the work flags were sampled with interrupts on');
  const t = k.current();
  const { name, mask } = exitWorkMask(k);
  const p = passes.get(t) ?? { exits: -1, n: 0 };
  p.n = p.exits === k.exits.length ? p.n + 1 : 1;
  p.exits = k.exits.length;
  passes.set(t, p);
  if (p.n > GUARD_PASSES) stuck(k, name, flags & mask);
  k.trace.push(`${t.pid}:do_notify_resume 0x${flags.toString(16)}`);
  k.localIrqEnable();
  const has = (b: string) => (flags & k.tifBit(b)) !== 0n;
  if (has('UPROBE')) handled(k, 'UPROBE', 'uprobe_notify_resume');
  if (has('SIGPENDING') || has('NOTIFY_SIGNAL')) {
    if (has('NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
    yield* k.archDoSignalOrRestart(regs);
  }
  if (has('NOTIFY_RESUME')) handled(k, 'NOTIFY_RESUME', 'resume_user_mode_work');
  return 0n;
}

/**
 * syscall_trace_enter(regs): the tracer's entry stop; the syscall number afterwards is
 * thread_info->syscall (a tracer's new one included), -1 to skip. A negative number was
 * never run, so it gets -ENOSYS now, over whatever the tracer left in v0.
 */
function syscall_trace_enter(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('syscall_trace_enter', regsAddr);
  if (k.testTif(k.current(), 'SYSCALL_TRACE') && k.ptraceReportSyscallEntry(regs)) return -1n;
  const nr = BigInt.asIntN(32, k.readWord(tiSyscall(k)));
  if (nr < 0n) k.syscallSetReturnValue(regs, -k.abi.errno.ENOSYS, 0n);
  return nr;
}

/** syscall_trace_leave(regs): the tracer's exit stop, with irqs on. */
function syscall_trace_leave(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('syscall_trace_leave', regsAddr);
  if (!k.irqsEnabled()) k.bug('C5', 'syscall_trace_leave was entered with interrupts disabled');
  if (k.testTif(k.current(), 'SYSCALL_TRACE')) k.ptraceReportSyscallExit(regs);
  return 0n;
}

/**
 * A trap that becomes a signal for the task (force_sig after the "undo skip-over" of
 * traps.c: epc stays at the faulting instruction); from kernel mode it is die(). The asm
 * returns through ret_from_exception, whose work loop delivers the signal.
 */
function userTrap(name: string, sig: SignalName) {
  return function (k: KernelApi, regsAddr: bigint): bigint {
    const regs = k.expectCurrentRegs(name, regsAddr);
    if (!userMode(regs)) k.bug('cpu', `${name}: Oops in kernel mode at 0x${regs.pc.toString(16)}`);
    k.forceSig(k.abi.sig[sig]);
    return 0n;
  };
}

/**
 * do_cpu(regs): Coprocessor Unusable. CU0 (a privileged instruction) is SIGILL. CU1/CU3
 * would be the lazy FPU switch-on (no FPU context is modelled: SIGILL too); CU2 is
 * notify-chain territory, SIGILL without a COP2 unit.
 */
function do_cpu(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('do_cpu', regsAddr);
  const cpid = (regs.get('cause') >> 28n) & 3n;
  if (!userMode(regs)) k.bug('cpu', `do_cpu invoked from kernel context (CE ${cpid}) at 0x${regs.pc.toString(16)}`);
  k.forceSig(k.abi.sig.SIGILL);
  return 0n;
}

/**
 * do_page_fault(regs, write, address): no VMAs are modelled, so a user fault is a bad
 * area (SIGSEGV). From kernel mode only an access with an __ex_table fixup may fault
 * (fixup_exception: epc = the fixup); anything else is an oops.
 */
function do_page_fault(k: KernelApi, regsAddr: bigint, write: bigint, address: bigint): bigint {
  void write;
  const regs = k.ptRegsAt(regsAddr);
  if (userMode(regs)) {
    k.expectCurrentRegs('do_page_fault', regsAddr);
    k.forceSig(k.abi.sig.SIGSEGV);
    return 0n;
  }
  const epc = regs.pc;
  for (let e = k.sym('__start___ex_table'); e < k.sym('__stop___ex_table'); e += 8n) {
    if (k.readWord(e) === epc) {
      regs.pc = k.readWord(e + 4n);
      k.trace.push(`${k.current().pid}:fixup 0x${epc.toString(16)} (BadVAddr 0x${address.toString(16)})`);
      return 0n;
    }
  }
  return k.bug('cpu', `do_page_fault: unable to handle kernel paging request at 0x${address.toString(16)}, epc 0x${epc.toString(16)}`);
}

/**
 * plat_irq_dispatch(): the pending and unmasked lines of Cause and Status; the CPU timer
 * (IP7) is the only source here. Its handler acknowledges the line (a write of Compare, in
 * the r4k clockevent) and runs the interrupt with the regs handle_int saved
 * (get_irq_regs(): thread_info->regs).
 */
function plat_irq_dispatch(k: KernelApi): bigint {
  const pending = k.m.reg('cause') & k.m.reg('status') & ST0.IM;
  if (!(pending & (1n << BigInt(8 + TIMER_IP)))) return k.bug('C12', `plat_irq_dispatch: no pending interrupt (Cause ${hex(k.m.reg('cause'))}): spurious_interrupt()`);
  k.m.setReg('cause', k.m.reg('cause') & ~(1n << BigInt(8 + TIMER_IP)));
  k.handleIrq(k.ptRegsAt(k.readWord(tiRegs(k))));
  return 0n;
}

/** do_reserved(): "Caught reserved exception - should not happen." (panic). */
function do_reserved(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.ptRegsAt(regsAddr);
  return k.bug('cpu', `do_reserved: caught reserved exception ${(regs.get('cause') >> 2n) & 0x1fn} at 0x${regs.pc.toString(16)}`);
}

const functions: EntryFunctions = {
  do_notify_resume,
  plat_irq_dispatch,
  syscall_trace_enter,
  syscall_trace_leave,
  do_page_fault,
  do_cpu,
  do_reserved,
  // do_ade: no unaligned-access emulation here (TIF_FIXADE): an address error is SIGBUS
  do_ade: userTrap('do_ade', 'SIGBUS'),
  do_bp: userTrap('do_bp', 'SIGTRAP'),
  // do_ri: rdhwr $29 never traps (the CPU has UserLocal), so nothing is emulated
  do_ri: userTrap('do_ri', 'SIGILL'),
  do_ov: userTrap('do_ov', 'SIGFPE'),
  do_tr: userTrap('do_tr', 'SIGTRAP'),
};

export const hooks: EntryHooks = { models: { arch: functions }, user_mode: (_k, regs) => userMode(regs) };
