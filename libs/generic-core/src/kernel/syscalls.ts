// The syscalls of the model kernel, generic C with the real semantics that matter here
// (which -ERESTART* code each returns when a signal interrupts it), and the two ways an
// arch reaches them: a sys_call_table slot called from asm with the arguments in the C
// calling convention, or the C dispatch of generic-entry arches with the arguments in
// pt_regs.

import type { PtRegs } from './ptregs.ts';
import type { CGen, Gen, KernelApi, SyscallEntry } from './types.ts';
import { CLONE_VFORK, CLONE_VM, ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTSYS, SIG_DFL, SIG_IGN, sigmask } from './abi.ts';
import { readSigset, sysRtSigreturn, writeSigset } from './signal.ts';
import { guestCall } from './bridge.ts';
import { KERNEL_BOUNCE_OFFSET } from './layout.ts';

type Impl = (k: KernelApi, ...args: bigint[]) => CGen | bigint;

const fatal = (k: KernelApi) => sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP);

function* sleepUntil(k: KernelApi, deadline: bigint, rem: bigint): CGen {
  const r = yield* k.waitEventInterruptible(() => k.clock >= deadline);
  if (r === 0n) return 0n;
  const t = k.current();
  const left = deadline - k.clock;
  if (rem) {
    k.writeWord(rem, left / 1_000_000_000n);
    k.writeWord(rem + BigInt(k.wordSize), left % 1_000_000_000n);
  }
  t.restartBlock = { deadline, rem };
  return -ERESTART_RESTARTBLOCK;
}

/** copy_to_user(): through the port's asm routine when arch.json names one (symbols.copyToUser); the bytes not copied. */
export function* copyToUser(k: KernelApi, to: bigint, data: Uint8Array): Gen<bigint> {
  const fn = k.desc.symbols.copyToUser;
  if (fn === undefined) {
    k.m.write(to, data);
    return 0n;
  }
  const bounce = k.desc.memory.kernelData + KERNEL_BOUNCE_OFFSET;
  k.m.write(bounce, data);
  const left = yield* guestCall(k.sym(fn), [to, bounce, BigInt(data.length)]);
  if (left > BigInt(data.length)) k.bug('C12', `copy_to_user(${data.length} bytes) returned ${left} bytes not copied`);
  return left;
}

const SYSCALLS: Record<string, Impl> = {
  getpid: (k) => BigInt(k.current().pid),
  gettid: (k) => BigInt(k.current().pid),

  *write(k, fd, buf, count) {
    void fd;
    const n = Number(count > 4096n ? 4096n : count);
    k.output.push(new TextDecoder().decode(k.m.read(buf!, n)));
    return BigInt(n);
  },

  /**
   * fd 0 is a pipe whose data arrives through world events; -ERESTARTSYS when a signal
   * comes first. The data reaches user memory through the port's copy_to_user (asm in
   * Linux too: arch/x86/lib/copy_user_64.S, arch/arm64/lib/copy_to_user.S, ...), which
   * runs with interrupts enabled.
   */
  *read(k, fd, buf, count) {
    if (fd !== 0n) return -k.abi.errno.EBADF;
    const r = yield* k.waitEventInterruptible(() => k.inputQueue.length > 0);
    if (r) return r;
    const chunk = k.inputQueue.shift()!;
    const n = Math.min(chunk.length, Number(count), 0x1000);
    if (!k.accessOk(buf!, BigInt(n))) return -k.abi.errno.EFAULT;
    const left = yield* copyToUser(k, buf!, chunk.subarray(0, n));
    return left === BigInt(n) ? -k.abi.errno.EFAULT : BigInt(n) - left;
  },

  /** ppoll with no fds and no timeout: sleeps until a signal; -ERESTARTNOHAND. */
  *ppoll(k) {
    const r = yield* k.waitEventInterruptible(() => false);
    return r === -ERESTARTSYS ? -ERESTARTNOHAND : r;
  },

  /** nanosleep: -ERESTART_RESTARTBLOCK with the remaining time in the restart block. */
  *nanosleep(k, req, rem) {
    const ns = k.readWord(req!) * 1_000_000_000n + k.readWord(req! + BigInt(k.wordSize));
    return yield* sleepUntil(k, k.clock + ns, rem!);
  },

  /** restart_syscall: runs the restart block's continuation; none (cancelled by sigreturn) is -EINTR. */
  *restart_syscall(k) {
    const t = k.current();
    const rb = t.restartBlock;
    t.restartBlock = undefined;
    if (!rb) return -k.abi.errno.EINTR;
    k.trace.push(`${t.pid}:restart_block`);
    return yield* sleepUntil(k, rb.deadline, rb.rem);
  },

  *sched_yield(k) {
    yield* k.schedule();
    return 0n;
  },

  *exit(k, code) {
    yield* k.doExit(Number(code! & 0xffn) << 8);
    return 0n;
  },
  *exit_group(k, code) {
    yield* k.doExit(Number(code! & 0xffn) << 8);
    return 0n;
  },

  kill(k, pid, sig) {
    const t = k.task(Number(pid));
    if (!t || t.state === 'dead' || t.idle) return -k.abi.errno.ESRCH;
    if (sig! < 0n || sig! > BigInt(k.abi.nsig)) return -k.abi.errno.EINVAL;
    if (sig !== 0n) k.sendSignal(t, Number(sig));
    return 0n;
  },

  rt_sigaction(k, sig, act, oact) {
    const s = Number(sig);
    if (s < 1 || s > k.abi.nsig || s === k.abi.sig.SIGKILL || s === k.abi.sig.SIGSTOP) return -k.abi.errno.EINVAL;
    const t = k.current();
    if (oact) k.writeSigAction(oact, t.sigactions[s]!);
    if (act) {
      const a = k.readSigAction(act);
      a.mask &= ~fatal(k);
      t.sigactions[s] = a;
      if (a.handler === SIG_IGN || (a.handler === SIG_DFL && k.abi.kernelIgnore.includes(s))) {
        t.pending &= ~sigmask(s);
        k.recalcSigpending(t);
      }
    }
    return 0n;
  },

  rt_sigprocmask(k, how, set, oset) {
    const t = k.current();
    if (oset) writeSigset(k, oset, t.blocked);
    if (set) {
      const v = readSigset(k, set) & ~fatal(k);
      if (how === k.abi.how.SIG_BLOCK) t.blocked |= v;
      else if (how === k.abi.how.SIG_UNBLOCK) t.blocked &= ~v;
      else if (how === k.abi.how.SIG_SETMASK) t.blocked = v;
      else return -k.abi.errno.EINVAL;
      k.recalcSigpending(t);
    }
    return 0n;
  },

  /** rt_sigreturn: every register back from the frame (signal.ts). */
  rt_sigreturn: (k) => sysRtSigreturn(k),

  *fork(k) {
    return yield* k.kernelClone({ flags: BigInt(k.abi.sig.SIGCHLD), stack: 0n, tls: 0n, fn: null, fnArg: 0n }, k.currentPtRegs());
  },
  *vfork(k) {
    return yield* k.kernelClone({ flags: CLONE_VM | CLONE_VFORK | BigInt(k.abi.sig.SIGCHLD), stack: 0n, tls: 0n, fn: null, fnArg: 0n }, k.currentPtRegs());
  },
  /**
   * clone(flags, newsp, ...): the argument positions are the arch's (CLONE_BACKWARDS
   * variants; s390's CLONE_BACKWARDS2 swaps flags and newsp).
   */
  *clone(k, a0, a1, a2, a3, a4) {
    const a = [a0!, a1!, a2!, a3!, a4!];
    const sc = k.desc.syscall;
    const flags = a[sc.cloneFlagsArg ?? 0]!;
    const newsp = a[sc.cloneStackArg ?? 1]!;
    const tls = a[sc.cloneTlsArg] ?? 0n;
    return yield* k.kernelClone({ flags, stack: newsp, tls, fn: null, fnArg: 0n }, k.currentPtRegs());
  },

  execve: (k, path) => k.execImage(k.readCString(path!)),

  *wait4(k, pid, status) {
    const me = k.current();
    const want = BigInt.asIntN(k.wordSize * 8, pid!);
    for (;;) {
      const kids = k.tasks.filter((t) => t.parent === me && t.state !== 'dead' && (want <= 0n || BigInt(t.pid) === want));
      if (kids.length === 0) return -k.abi.errno.ECHILD;
      const z = kids.find((t) => t.state === 'zombie');
      if (z) {
        z.state = 'dead';
        if (status) k.m.writeUint(status, 4, BigInt(z.killedBy ? z.killedBy : z.exitCode));
        return BigInt(z.pid);
      }
      const r = yield* k.waitEventInterruptible(() => kids.some((t) => t.state === 'zombie'));
      if (r) return r;
    }
  },
};

/** Whether the model kernel implements syscall `name` (generic, or the arch's own). */
export function implemented(k: Pick<KernelApi, 'port'>, name: string): boolean {
  return SYSCALLS[name] !== undefined || k.port.syscall.arch_syscalls?.[name] !== undefined;
}

const byNumber = new WeakMap<object, Map<number, string>>();
function nameOf(k: KernelApi, nr: number): string | undefined {
  let m = byNumber.get(k.desc);
  if (!m) byNumber.set(k.desc, (m = new Map(Object.entries(k.desc.syscall.numbers).map(([n, v]) => [v, n]))));
  return m.get(nr);
}

/** Runs syscall `nr` with these arguments: records the entry for the scenarios, checks irqs (C5). */
export function* callSyscall(k: KernelApi & { userInsnsByPid: Map<number, number>; lastUserPc: Map<number, bigint> }, nr: number, args: bigint[]): Gen<bigint> {
  const name = nameOf(k, nr);
  // the arch's own implementation first: sparc's rt_sigaction takes the restorer as an argument
  const impl = name !== undefined ? (k.port.syscall.arch_syscalls?.[name] ?? SYSCALLS[name]) : undefined;
  if (!name || !impl) return -k.abi.errno.ENOSYS;
  const t = k.current();
  const userInsns = k.userInsnsByPid.get(t.pid) ?? 0;
  k.userInsnsByPid.set(t.pid, 0);
  const entry: SyscallEntry = { pid: t.pid, name, nr, args: args.slice(0, 6), userInsns, userPc: k.lastUserPc.get(t.pid) ?? 0n };
  k.syscalls.push(entry);
  k.trace.push(`${t.pid}:sys_${name}`);
  if (!k.irqsEnabled()) k.bug('C5', `sys_${name} entered with interrupts disabled`);
  k.onSyscall?.(name, t, args);
  const out = impl(k, ...args);
  entry.result = typeof out === 'bigint' ? out : BigInt((yield* out) ?? 0);
  return entry.result;
}

/**
 * The C dispatch of generic-entry arches (x86 do_syscall_x64, riscv syscall_handler, arm64
 * invoke_syscall): the handler reads its arguments from pt_regs and the result is stored
 * back in the arch's convention. A number outside the table gets -ENOSYS. rt_sigreturn's
 * result is the restored register itself: nothing is stored over it.
 */
export function* invokeSyscall(k: KernelApi & { userInsnsByPid: Map<number, number>; lastUserPc: Map<number, bigint> }, regs: PtRegs, nr: bigint): Gen<bigint> {
  const args = k.syscallGetArguments(regs);
  const n = Number(BigInt.asIntN(32, nr));
  const r = yield* callSyscall(k, n, args);
  if (nameOf(k, n) !== 'rt_sigreturn') {
    if (r < 0n && r >= -4095n) k.syscallSetReturnValue(regs, r, 0n);
    else k.syscallSetReturnValue(regs, 0n, r);
  }
  return r;
}
