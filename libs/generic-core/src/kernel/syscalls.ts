// The syscalls of the model kernel, generic C with the real semantics that matter here:
// which -ERESTART* code each returns when a signal interrupts it.

import type { CFunction, CGen } from './bridge.ts';
import type { Kernel } from './kernel.ts';
import * as E from './errno.ts';
import { SIG_DFL, SIG_IGN } from './types.ts';

const fatal = E.sigmask(E.SIGKILL) | E.sigmask(E.SIGSTOP);

export function syscallTable(k: Kernel): Record<string, CFunction> {
  const w = () => BigInt(k.wordSize);
  return {
    getpid: () => BigInt(k.current().pid),
    gettid: () => BigInt(k.current().pid),

    *write(fd: bigint, buf: bigint, count: bigint): CGen {
      const n = Number(count > 4096n ? 4096n : count);
      k.output.push(new TextDecoder().decode(k.m.read(buf, n)));
      void fd;
      return BigInt(n);
    },

    /** fd 0 is a pipe whose data arrives through world events; -ERESTARTSYS when a signal comes first. */
    *read(fd: bigint, buf: bigint, count: bigint): CGen {
      if (fd !== 0n) return -E.EBADF;
      const r = yield* k.waitEventInterruptible(() => k.inputQueue.length > 0);
      if (r) return r;
      const chunk = k.inputQueue.shift()!;
      const n = Math.min(chunk.length, Number(count));
      k.m.write(buf, chunk.subarray(0, n));
      return BigInt(n);
    },

    /** ppoll with no fds and no timeout: sleeps until a signal; -ERESTARTNOHAND. */
    *ppoll(): CGen {
      const r = yield* k.waitEventInterruptible(() => false);
      return r === -E.ERESTARTSYS ? -E.ERESTARTNOHAND : r;
    },

    /** nanosleep: -ERESTART_RESTARTBLOCK with the remaining time in the restart block. */
    *nanosleep(req: bigint, rem: bigint): CGen {
      const ns = k.readWord(req) * 1_000_000_000n + k.readWord(req + w());
      return yield* sleepUntil(k, k.clock + ns, rem);
    },

    *restart_syscall(): CGen {
      const t = k.current();
      const rb = t.restartBlock as { deadline: bigint; rem: bigint } | undefined;
      t.restartBlock = undefined;
      if (!rb) return -E.EINTR;
      k.trace.push(`${t.pid}:restart_block`);
      return yield* sleepUntil(k, rb.deadline, rb.rem);
    },

    *sched_yield(): CGen {
      yield* k.schedule();
      return 0n;
    },

    *exit(code: bigint): CGen {
      yield* k.doExit(Number(code & 0xffn) << 8);
      return 0n;
    },
    *exit_group(code: bigint): CGen {
      yield* k.doExit(Number(code & 0xffn) << 8);
      return 0n;
    },

    kill(pid: bigint, sig: bigint): bigint {
      const t = k.task(Number(pid));
      if (!t || t.state === 'dead' || t.idle) return -E.ESRCH;
      if (sig < 0n || sig > BigInt(E.NSIG)) return -E.EINVAL;
      if (sig !== 0n) k.sendSignal(t, Number(sig));
      return 0n;
    },

    rt_sigaction(sig: bigint, act: bigint, oact: bigint): bigint {
      const s = Number(sig);
      if (s < 1 || s > E.NSIG || s === E.SIGKILL || s === E.SIGSTOP) return -E.EINVAL;
      const t = k.current();
      if (oact) k.writeSigAction(oact, t.sigactions[s]!);
      if (act) {
        const a = k.readSigAction(act);
        a.mask &= ~fatal;
        t.sigactions[s] = a;
        if (a.handler === SIG_IGN || (a.handler === SIG_DFL && E.KERNEL_IGNORE.includes(s))) {
          t.pending &= ~E.sigmask(s);
          k.recalcSigpending(t);
        }
      }
      return 0n;
    },

    rt_sigprocmask(how: bigint, set: bigint, oset: bigint): bigint {
      const t = k.current();
      if (oset) k.writeWord(oset, t.blocked);
      if (set) {
        const v = k.readWord(set) & ~fatal;
        if (how === E.SIG_BLOCK) t.blocked |= v;
        else if (how === E.SIG_UNBLOCK) t.blocked &= ~v;
        else if (how === E.SIG_SETMASK) t.blocked = v;
        else return -E.EINVAL;
        k.recalcSigpending(t);
      }
      return 0n;
    },

    /** rt_sigreturn: every register back from the frame; returns the restored return register. */
    rt_sigreturn(): bigint {
      const t = k.current();
      const regs = k.currentPtRegs();
      const { blocked } = k.port.c.restoreRtFrame(k, regs);
      t.blocked = blocked & ~fatal;
      k.recalcSigpending(t);
      k.trace.push(`${t.pid}:sigreturn`);
      return k.port.c.restart.returnValue(regs);
    },

    *fork(): CGen {
      return yield* k.kernelClone(BigInt(E.SIGCHLD), 0n, 0n, k.currentPtRegs(), 0n);
    },
    *vfork(): CGen {
      return yield* k.kernelClone(E.CLONE_VM | E.CLONE_VFORK | BigInt(E.SIGCHLD), 0n, 0n, k.currentPtRegs(), 0n);
    },
    /** clone(flags, newsp, parent_tid, a3, a4): the TLS argument position is per arch. */
    *clone(flags: bigint, newsp: bigint, ptid: bigint, a3: bigint, a4: bigint): CGen {
      void ptid;
      const tls = (k.desc.syscall as { cloneTlsArg?: number }).cloneTlsArg === 4 ? a4 : a3;
      return yield* k.kernelClone(flags, newsp, 0n, k.currentPtRegs(), tls);
    },

    execve(path: bigint): bigint {
      return k.execImage(k.readCString(path));
    },

    *wait4(pid: bigint, status: bigint): CGen {
      const me = k.current();
      const want = BigInt.asIntN(64, pid);
      for (;;) {
        const kids = k.tasks.filter((t) => t.parent === me && t.state !== 'dead' && (want <= 0n || BigInt(t.pid) === want));
        if (kids.length === 0) return -E.ECHILD;
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
}

function* sleepUntil(k: Kernel, deadline: bigint, rem: bigint): CGen {
  const r = yield* k.waitEventInterruptible(() => k.clock >= deadline);
  if (r === 0n) return 0n;
  const t = k.current();
  const left = deadline - k.clock;
  if (rem) {
    k.writeWord(rem, left / 1_000_000_000n);
    k.writeWord(rem + BigInt(k.wordSize), left % 1_000_000_000n);
  }
  t.restartBlock = { deadline, rem };
  return -E.ERESTART_RESTARTBLOCK;
}
