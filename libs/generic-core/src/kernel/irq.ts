// Asynchronous interrupts (C12): kernel/irq/ and the scheduler tick, reduced. A scenario
// raises the interrupt line (at instruction indices, periodically, or after a user
// instruction); the CPU model enters the interrupt the way the CPU does, through the
// port's real irq glue, whose C half calls handle_irq() here and leaves through
// irqentry_exit() (generic-entry) or its own exit path (the arch's model).

import type { PtRegs } from './ptregs.ts';
import type { Gen, IrqPlan, IrqRecord, KernelApi } from './types.ts';
import { symbolize } from './symbols.ts';

/** The kernel state irq.ts keeps (kernel.ts holds it). */
export interface IrqState {
  readonly irqs: IrqRecord[];
  /** taken, not yet seen by handle_irq(), oldest first */
  readonly irqsInFlight: IrqRecord[];
  irqPlan?: IrqPlan;
}

type K = KernelApi & IrqState;

/** Raises the line for the next interrupt of the plan, from run index `after` on. */
export function armNext(k: K, after: number): void {
  const plan = k.irqPlan;
  if (!plan || !k.cpu.irq) return;
  if (plan.limit !== undefined && k.irqs.length >= plan.limit) return;
  let at: number | undefined;
  if (plan.at) at = plan.at.find((i) => i >= after);
  else if (plan.every) at = after + plan.every;
  if (at !== undefined) raise(k, at);
}

/** The line rises before the instruction with run index `at` (or the next one). */
export function raise(k: K, at: number): void {
  k.m.setInterrupt({ at, take: () => takeIrq(k, at) });
}

/** Called before each instruction while the line is up: enter the interrupt if the CPU would. */
function takeIrq(k: K, raised: number): boolean {
  const irq = k.cpu.irq;
  if (!irq || k.bridge.halted) return false;
  if (!irq.canTake(k.m)) return false;
  const pc = k.m.reg(k.desc.registers.pc);
  const user = k.cpu.privilege(k.m) === k.cpu.userPrivilege;
  const index = k.m.instructionCount();
  const rec: IrqRecord = {
    index,
    raised,
    pc,
    user,
    at: user ? `user 0x${pc.toString(16)}` : symbolize(k.symbols, pc),
    pid: k.current().pid,
    source: k.irqPlan?.source ?? { kind: 'tick' },
    handled: false,
  };
  k.irqs.push(rec);
  k.irqsInFlight.push(rec);
  k.trace.push(`${rec.pid}:irq at ${rec.at}`);
  irq.take(k.m, k);
  armNext(k, index + 1);
  return true;
}

/** user_mode(regs) through the port. */
export function userMode(k: KernelApi, regs: PtRegs): boolean {
  const f = k.port.entry.user_mode;
  if (!f) return k.bug('C12', `${k.desc.name}: src/entry.ts has no user_mode(regs), which the irq path needs`);
  return f(k, regs);
}

/**
 * handle_irq(regs): what the interrupt controller's handler does for the interrupt the CPU
 * took. A tick is the scheduler's: NEED_RESCHED for whatever user or kernel task it
 * interrupted (not the idle task); a signal source sends its signal to the interrupted
 * task. Checks that the port's entry handed over the frame of this interrupt.
 */
export function handleIrq(k: K, regs: PtRegs): void {
  const rec = k.irqsInFlight.shift();
  if (!rec) return k.bug('C12', 'handle_irq ran, but the CPU took no interrupt: the irq glue was reached some other way');
  if (k.irqsEnabled()) k.bug('C12', `handle_irq runs with interrupts enabled (interrupt at ${rec.at}): the entry must keep them masked`);
  const fromUser = userMode(k, regs);
  if (fromUser !== rec.user) {
    k.bug('C12', `the interrupt came from ${rec.user ? 'user' : 'kernel'} mode (${rec.at}), but the pt_regs the irq entry saved say ${fromUser ? 'user' : 'kernel'} mode`);
  }
  if (regs.pc !== rec.pc) {
    k.bug('C12', `the interrupt arrived before pc 0x${rec.pc.toString(16)} (${rec.at}), but the pt_regs the irq entry saved hold pc 0x${regs.pc.toString(16)}`);
  }
  if (fromUser && regs.base !== k.currentPtRegs().base) {
    k.bug('C4', `an interrupt from user mode saved its frame at 0x${regs.base.toString(16)}, not at current_pt_regs() 0x${k.currentPtRegs().base.toString(16)}`);
  }
  const t = k.current();
  k.count('handle_irq');
  if (rec.source.kind === 'tick') {
    if (!t.idle) k.setTif(t, 'NEED_RESCHED');
  } else if (t.mm) {
    k.sendSignal(t, rec.source.sig);
  }
  rec.handled = true;
}

/** irqentry_enter(regs): what exit has to undo; from user mode it is the user-entry work. */
export function irqentryEnter(k: KernelApi, regs: PtRegs): { user: boolean } {
  const user = userMode(k, regs);
  if (user) k.irqentryEnterFromUserMode(regs);
  return { user };
}

/**
 * irqentry_exit(regs, state): to user mode through the exit work loop; to the kernel as it
 * was (this kernel is built without kernel preemption: a tick that interrupted kernel code
 * leaves NEED_RESCHED for the next return to user mode).
 */
export function* irqentryExit(k: KernelApi, regs: PtRegs, state: { user: boolean }): Gen {
  if (state.user !== userMode(k, regs)) k.bug('C12', 'irqentry_exit: the frame changed mode between entry and exit');
  if (state.user) yield* k.irqentryExitToUserMode(regs);
  else if (k.irqsEnabled()) k.bug('C12', 'irqentry_exit to kernel mode with interrupts enabled');
}
