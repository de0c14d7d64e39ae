// kernel/ptrace.c, reduced: a tracer attached with PTRACE_SYSCALL stops the task at syscall
// entry and exit and may read and write its registers there. Whether a task is traced is a
// TIF bit on ports whose asm tests it (_TIF_SYSCALL_WORK), else the generic-entry
// syscall_work word, which only C reads.

import type { PtRegs } from './ptregs.ts';
import type { KernelApi, Task, Tracer, TraceeView } from './types.ts';

const SYSCALL_WORK = new WeakMap<Task, boolean>();

export function hasSyscallWork(k: KernelApi, t: Task): boolean {
  if (k.hasTif('SYSCALL_TRACE')) return k.testTif(t, 'SYSCALL_TRACE');
  return SYSCALL_WORK.get(t) === true;
}

/** PTRACE_SEIZE + PTRACE_SYSCALL: stops at every syscall entry and exit of `t`. */
export function attach(k: KernelApi, t: Task, tracer: Tracer): void {
  t.tracer = tracer;
  t.ptraced = true;
  if (k.hasTif('SYSCALL_TRACE')) k.setTif(t, 'SYSCALL_TRACE');
  else SYSCALL_WORK.set(t, true);
}

export function traceeView(k: KernelApi, t: Task): TraceeView {
  const regs = k.taskPtRegs(t);
  // A register pt_regs has no slot for lives in the switch_stack saved just below pt_regs
  // (alpha, m68k: ptrace's regoff with SW_REG offsets; the entry code saves it around every
  // place a tracer can stop the task).
  const sw = k.desc.switchStack;
  const swSlot = (r: string) => {
    const f = regs.has(r) || !sw ? undefined : sw.fields.find((x) => x.reg === r);
    return f && { addr: regs.base - BigInt(sw!.size) + BigInt(f.offset), size: f.size };
  };
  return {
    regs,
    get: (r) => {
      const s = swSlot(r);
      return s ? k.m.readUint(s.addr, s.size) : regs.get(r);
    },
    set: (r, v) => {
      const s = swSlot(r);
      if (s) k.m.writeUint(s.addr, s.size, BigInt.asUintN(s.size * 8, v));
      else regs.set(r, v);
    },
    nr: () => k.syscallGetNr(regs),
    setNr: (nr) => k.syscallSetNr(regs, nr),
    args: () => k.syscallGetArguments(regs),
    setArgs: (args) => k.syscallSetArguments(regs, args),
    setReturn: (val) => (val < 0n && val >= -4095n ? k.syscallSetReturnValue(regs, val, 0n) : k.syscallSetReturnValue(regs, 0n, val)),
  };
}

/** ptrace_report_syscall_entry(): true when the syscall must not run (the tracer killed the task). */
export function reportSyscallEntry(k: KernelApi, regs: PtRegs): boolean {
  void regs;
  const t = k.current();
  if (!t.tracer || !hasSyscallWork(k, t)) return false;
  k.trace.push(`${t.pid}:ptrace-stop entry`);
  const act = t.tracer.onSyscallEntry?.(t, traceeView(k, t));
  if (act?.kill) {
    k.sendSignal(t, k.abi.sig.SIGKILL);
    return true;
  }
  return k.fatalSignalPending(t);
}

export function reportSyscallExit(k: KernelApi, regs: PtRegs): void {
  void regs;
  const t = k.current();
  if (!t.tracer || !hasSyscallWork(k, t)) return;
  k.trace.push(`${t.pid}:ptrace-stop exit`);
  t.tracer.onSyscallExit?.(t, traceeView(k, t));
}
