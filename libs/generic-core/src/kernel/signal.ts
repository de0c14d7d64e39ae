// kernel/signal.c, reduced, plus the two shapes every arch's arch_do_signal_or_restart()
// takes: the restart decided after get_signal() (x86, MIPS, PowerPC) or prepared before it
// so a debugger sees the rewound pc (arm64, RISC-V: forget_syscall() first). The arch says
// how its registers express a restart through its syscall hooks; the decision (C6) is here.

import type { PtRegs } from './ptregs.ts';
import type { Gen, KernelApi, KSignal, SigAction, Task } from './types.ts';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, SIG_DFL, SIG_IGN, sigmask } from './abi.ts';

export function signalPending(t: Task): boolean {
  return (t.pending & ~t.blocked) !== 0n;
}

export function fatalSignalPending(k: KernelApi, t: Task): boolean {
  return (t.pending & sigmask(k.abi.sig.SIGKILL)) !== 0n;
}

export function recalcSigpending(k: KernelApi, t: Task): void {
  if (signalPending(t)) k.setTif(t, 'SIGPENDING');
  else k.clearTif(t, 'SIGPENDING');
}

function sigIgnored(k: KernelApi, t: Task, sig: number): boolean {
  if (t.blocked & sigmask(sig)) return false;
  if (t.ptraced) return false;
  const h = t.sigactions[sig]!.handler;
  return h === SIG_IGN || (h === SIG_DFL && k.abi.kernelIgnore.includes(sig));
}

/** force_sig(): a synchronous signal for the current task (a fault); blocked or ignored, it is delivered anyway. */
export function forceSig(k: KernelApi, sig: number): void {
  const t = k.current();
  const ka = t.sigactions[sig]!;
  if (ka.handler === SIG_IGN || t.blocked & sigmask(sig)) {
    if (ka.handler === SIG_IGN) ka.handler = SIG_DFL;
    t.blocked &= ~sigmask(sig);
  }
  k.trace.push(`${t.pid}:fault sig${sig}`);
  t.pending |= sigmask(sig);
  recalcSigpending(k, t);
}

/** send_signal() + signal_wake_up(). */
export function sendSignal(k: KernelApi, t: Task, sig: number): void {
  if (t.state === 'zombie' || t.state === 'dead') return;
  const S = k.abi.sig;
  k.trace.push(`signal ${sig} -> ${t.pid}`);
  if (sig === S.SIGCONT) {
    t.pending &= ~k.abi.kernelStop.reduce((a, s) => a | sigmask(s), 0n);
    if (t.state === 'stopped') t.state = 'running';
  }
  if (k.abi.kernelStop.includes(sig)) t.pending &= ~sigmask(S.SIGCONT);
  if (sig === S.SIGKILL && t.state === 'stopped') t.state = 'running';
  if (sigIgnored(k, t, sig)) return;
  t.pending |= sigmask(sig);
  if (signalPending(t)) {
    k.setTif(t, 'SIGPENDING');
    k.wakeUp(t);
  }
}

/** get_signal(): the next signal with a handler, after carrying out default actions. */
export function* getSignal(k: KernelApi): Gen<KSignal | null> {
  const t = k.current();
  for (;;) {
    const ready = t.pending & ~t.blocked;
    if (ready === 0n) {
      recalcSigpending(k, t);
      return null;
    }
    let sig = 1;
    while (!(ready & sigmask(sig))) sig++;
    t.pending &= ~sigmask(sig);
    recalcSigpending(k, t);
    const ka = t.sigactions[sig]!;
    if (ka.handler === SIG_IGN) continue;
    if (ka.handler !== SIG_DFL) return { sig, ka: { ...ka }, oldset: t.blocked };
    if (k.abi.kernelIgnore.includes(sig)) continue;
    if (k.abi.kernelStop.includes(sig)) {
      k.trace.push(`${t.pid}:stopped by ${sig}`);
      t.state = 'stopped';
      yield* k.schedule();
      continue;
    }
    yield* k.doExit(0, sig);
  }
}

/**
 * The generic part of delivering a signal to a handler: the arch's setup_rt_frame(), then
 * signal_setup_done(): a frame that could not be written means SIGSEGV (force_sigsegv),
 * else the handler's mask is blocked and SA_RESETHAND honoured.
 */
export function handleSignal(k: KernelApi, ksig: KSignal, regs: PtRegs): void {
  const t = k.current();
  const SA = k.abi.sa;
  const ok = k.port.signal.setup_rt_frame(k, ksig, regs);
  if (!ok) {
    k.trace.push(`${t.pid}:sigframe-failed ${ksig.sig}`);
    forceSigsegv(k, ksig.sig);
    return;
  }
  k.trace.push(`${t.pid}:handler ${ksig.sig}`);
  t.blocked |= ksig.ka.mask | (ksig.ka.flags & SA.SA_NODEFER ? 0n : sigmask(ksig.sig));
  t.blocked &= ~(sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP));
  if (ksig.ka.flags & SA.SA_RESETHAND) t.sigactions[ksig.sig] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
  recalcSigpending(k, t);
}

/** force_sigsegv(): a frame could not be set up; a second failure on SIGSEGV itself kills. */
export function forceSigsegv(k: KernelApi, sig: number): void {
  const S = k.abi.sig.SIGSEGV;
  if (sig === S) k.current().sigactions[S] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
  forceSig(k, S);
}

// ---------------------------------------------------------------- sigaction / sigset in guest memory

/** A sigset_t: 64 signals as _NSIG_WORDS words of the word size, lowest signals first. */
export function readSigset(k: KernelApi, addr: bigint): bigint {
  if (k.wordSize === 8) return k.readWord(addr);
  return k.readWord(addr) | (k.readWord(addr + 4n) << 32n);
}

export function writeSigset(k: KernelApi, addr: bigint, v: bigint): void {
  if (k.wordSize === 8) return k.writeWord(addr, v);
  k.writeWord(addr, v & 0xffffffffn);
  k.writeWord(addr + 4n, v >> 32n);
}

function field(k: KernelApi, name: string): { offset: bigint; size: number } | undefined {
  const f = k.abi.sigaction.fields.find((x) => x.name === name);
  return f && { offset: BigInt(f.offset), size: f.size };
}

/** struct sigaction as rt_sigaction reads it, in the arch's layout. */
export function readSigAction(k: KernelApi, addr: bigint): SigAction {
  const get = (name: string): bigint => {
    const f = field(k, name);
    if (!f) return 0n;
    return name === 'mask' ? readSigset(k, addr + f.offset) : k.m.readUint(addr + f.offset, f.size);
  };
  return { handler: get('handler'), flags: get('flags'), restorer: get('restorer'), mask: get('mask') };
}

export function writeSigAction(k: KernelApi, addr: bigint, a: SigAction): void {
  const put = (name: string, v: bigint) => {
    const f = field(k, name);
    if (!f) return;
    if (name === 'mask') writeSigset(k, addr + f.offset, v);
    else k.m.writeUint(addr + f.offset, f.size, v);
  };
  put('handler', a.handler);
  put('flags', a.flags);
  put('restorer', a.restorer);
  put('mask', a.mask);
}

// ---------------------------------------------------------------- arch_do_signal_or_restart

const isRestart = (v: bigint) => v === -ERESTARTSYS || v === -ERESTARTNOINTR || v === -ERESTARTNOHAND || v === -ERESTART_RESTARTBLOCK;

/** arch_do_signal_or_restart(): the port's, or the after-get_signal shape by default. */
export function archDoSignalOrRestart(k: KernelApi, regs: PtRegs): Gen {
  const own = k.port.signal.arch_do_signal_or_restart;
  return own ? (own(k, regs) as Gen) : restartAfterGetSignal(k, regs);
}

/**
 * x86's shape (arch/x86/kernel/signal.c; MIPS and PowerPC decide the same way): get_signal()
 * first; with a handler, -ERESTARTNOHAND / -ERESTART_RESTARTBLOCK / -ERESTARTSYS without
 * SA_RESTART become -EINTR and the rest rewinds to the trap instruction before the frame is
 * written; without one, every restart code rewinds (restart_syscall for RESTARTBLOCK). The
 * rewound frame no longer holds an -ERESTART value, so a second pass cannot rewind again.
 */
export function* restartAfterGetSignal(k: KernelApi, regs: PtRegs): Gen {
  const ksig = yield* k.getSignal();
  const syscall = k.inSyscall(regs);
  const err = syscall ? k.syscallGetReturnValue(regs) : 0n;
  if (ksig) {
    if (syscall && isRestart(err)) {
      const eintr = err === -ERESTART_RESTARTBLOCK || err === -ERESTARTNOHAND || (err === -ERESTARTSYS && !(ksig.ka.flags & k.abi.sa.SA_RESTART));
      if (eintr) k.syscallSetReturnValue(regs, -k.abi.errno.EINTR, 0n);
      else rewind(k, regs, false);
      k.forgetSyscall(regs);
    }
    k.handleSignal(ksig, regs);
    return;
  }
  if (syscall) {
    if (isRestart(err)) rewind(k, regs, err === -ERESTART_RESTARTBLOCK);
    k.forgetSyscall(regs);
  }
}

function rewind(k: KernelApi, regs: PtRegs, restartBlock: boolean): void {
  k.syscallRollback(regs);
  if (restartBlock) k.setRestartSyscall(regs);
  regs.pc = k.restartPc(regs.pc);
  k.trace.push(`${k.current().pid}:restart-rewind${restartBlock ? ' restart_syscall' : ''}`);
}

/**
 * arm64's shape (arch/arm64/kernel/signal.c; RISC-V's is modelled on it): the frame is
 * marked "not a syscall" at once (forget_syscall), every restart code pre-rewinds so a
 * debugger sees the restarted state, then get_signal(); a handler turns NOHAND, RESTARTBLOCK
 * and SYS without SA_RESTART back into -EINTR at the continue address, unless the debugger
 * moved the pc; with no handler a RESTARTBLOCK restart goes through restart_syscall.
 */
export function* restartBeforeGetSignal(k: KernelApi, regs: PtRegs): Gen {
  const syscall = k.inSyscall(regs);
  let continueAddr = 0n;
  let restartAddr = 0n;
  let retval = 0n;
  if (syscall) {
    continueAddr = regs.pc;
    restartAddr = k.restartPc(continueAddr);
    retval = k.syscallGetReturnValue(regs);
    k.forgetSyscall(regs);
    if (isRestart(retval)) {
      k.syscallRollback(regs);
      regs.pc = restartAddr;
    }
  }
  const ksig = yield* k.getSignal();
  if (ksig) {
    if (
      regs.pc === restartAddr &&
      (retval === -ERESTARTNOHAND || retval === -ERESTART_RESTARTBLOCK || (retval === -ERESTARTSYS && !(ksig.ka.flags & k.abi.sa.SA_RESTART)))
    ) {
      k.syscallSetReturnValue(regs, -k.abi.errno.EINTR, 0n);
      regs.pc = continueAddr;
    }
    k.handleSignal(ksig, regs);
    return;
  }
  if (syscall && regs.pc === restartAddr && isRestart(retval)) {
    if (retval === -ERESTART_RESTARTBLOCK) k.setRestartSyscall(regs);
    k.trace.push(`${k.current().pid}:restart-rewind${retval === -ERESTART_RESTARTBLOCK ? ' restart_syscall' : ''}`);
  }
}

/**
 * The generic body of rt_sigreturn: the arch restores every register from the frame (and
 * marks the frame "not a syscall", so whatever the return register holds is never taken
 * for a restart); a frame that fails the arch's checks is SIGSEGV. A pending restart block
 * is cancelled: restart_syscall afterwards gives -EINTR.
 */
export function sysRtSigreturn(k: KernelApi): bigint {
  const t = k.current();
  const regs = k.currentPtRegs();
  t.restartBlock = undefined;
  const r = k.port.signal.restore_rt_frame(k, regs);
  if (!r) {
    k.trace.push(`${t.pid}:sigreturn-bad-frame`);
    forceSig(k, k.abi.sig.SIGSEGV);
    return 0n;
  }
  t.blocked = r.blocked & ~(sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP));
  recalcSigpending(k, t);
  k.trace.push(`${t.pid}:sigreturn`);
  // what the return register holds now: an asm store of the "result" changes nothing
  return regs.gets(k.desc.syscall.ret);
}
