// kernel/fork.c, reduced: task allocation, kernel_clone() (the one fork path for fork,
// vfork, clone and kernel_thread), fork_idle().

import type { PtRegs } from './ptregs.ts';
import type { CloneArgs, Gen, KernelApi, Task } from './types.ts';
import { CLONE_VFORK, CLONE_VM, ERESTARTNOINTR, SIG_DFL } from './abi.ts';
import { MAX_TASKS, TASK_STACK, TASK_STRUCT_SIZE, THREAD_SIZE, taskStructsBase } from './layout.ts';

/** zeros for a new task_struct and kernel stack (never written) */
const ZEROS = new Uint8Array(Number(THREAD_SIZE > TASK_STRUCT_SIZE ? THREAD_SIZE : TASK_STRUCT_SIZE));

export function allocTask(k: KernelApi, comm: string, kthread: boolean): Task {
  const pid = k.tasks.length;
  if (pid >= MAX_TASKS) k.bug('fork', `out of task slots (${MAX_TASKS})`);
  const addr = taskStructsBase(k.desc) + BigInt(pid) * TASK_STRUCT_SIZE;
  const stackBase = k.desc.memory.stacks + BigInt(pid) * THREAD_SIZE;
  const t: Task = {
    pid,
    comm,
    addr,
    stackBase,
    stackTop: stackBase + THREAD_SIZE,
    kthread,
    idle: false,
    state: 'running',
    mm: null,
    parent: k.tasks.length ? k.current() : null,
    exitCode: 0,
    killedBy: 0,
    sigactions: Array.from({ length: k.abi.nsig + 1 }, () => ({ handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n })),
    pending: 0n,
    blocked: 0n,
    arch: {},
  };
  k.m.write(addr, ZEROS.subarray(0, Number(TASK_STRUCT_SIZE)));
  k.m.write(stackBase, ZEROS.subarray(0, Number(THREAD_SIZE)));
  k.writeWord(addr + TASK_STACK, stackBase);
  k.tasks.push(t);
  return t;
}

/**
 * kernel_clone() / copy_process(): `regs` are the parent's current_pt_regs(), or null for
 * a kernel thread (args.fn set). A signal already pending when the fork starts makes it
 * restart (-ERESTARTNOINTR, so the signal is handled first); one that arrives while it
 * copies is held for later, and only a fatal one makes it fail (-EINTR).
 */
export function* kernelClone(k: KernelApi, args: CloneArgs, regs: PtRegs | null, comm?: string): Gen<bigint> {
  const parent = k.current();
  if (regs !== null) {
    k.world.at?.(k, 'fork', parent);
    k.recalcSigpending(parent);
    if (k.signalPending(parent)) {
      k.trace.push(`${parent.pid}:fork-restart`);
      return -ERESTARTNOINTR;
    }
  }
  const p = k.allocTask(comm ?? parent.comm, regs === null);
  p.parent = parent;
  p.sigactions = parent.sigactions.map((a) => ({ ...a }));
  p.blocked = parent.blocked;
  if (regs !== null && parent.mm) {
    if (args.flags & CLONE_VM) {
      p.mm = parent.mm;
      parent.mm.users++;
    } else {
      p.mm = k.newMm(k.mmPages(parent.mm));
    }
  }
  dirtyPtRegs(k, p);
  const err = k.port.process.copy_thread(k, p, args, regs);
  if (typeof err === 'bigint' && err < 0n) {
    p.state = 'dead';
    if (p.mm) p.mm.users--;
    k.trace.push(`${parent.pid}:copy_thread ${err}`);
    return err;
  }
  if (regs !== null) {
    k.world.at?.(k, 'fork-copied', parent);
    if (k.fatalSignalPending(parent)) {
      p.state = 'dead';
      if (p.mm) p.mm.users--;
      k.trace.push(`${parent.pid}:fork-fatal-signal`);
      return -k.abi.errno.EINTR;
    }
  }
  k.trace.push(`${parent.pid}:fork ${p.pid}`);
  p.state = 'running';
  if (args.flags & CLONE_VFORK) {
    p.vforkParent = parent;
    parent.vforkWait = true;
    while (parent.vforkWait) {
      parent.state = 'interruptible';
      yield* k.schedule();
    }
    parent.state = 'running';
  }
  return BigInt(p.pid);
}

/** kernel_thread(fn, arg): fn/arg travel untouched to copy_thread, regs NULL. */
export function* kernelThread(k: KernelApi, fnName: string, arg: bigint): Gen<bigint> {
  const fn = k.bridge.addr(`kfn_${fnName}`);
  return yield* kernelClone(k, { flags: CLONE_VM, stack: 0n, tls: 0n, fn, fnArg: arg }, null, fnName);
}

/**
 * The new task's pt_regs start as garbage: copy_thread() must define every byte (the
 * parent's registers, or zeroes for a kernel thread), not rely on a clean stack.
 */
export function dirtyPtRegs(k: KernelApi, p: Task): void {
  k.m.write(k.taskPtRegs(p).base, new Uint8Array(k.desc.ptRegs.size).fill(0xa5));
}

/**
 * fork_idle() (6.18 kernel/fork.c): a kernel thread with fn = idle_dummy, which is never
 * called: the idle task of another CPU starts in its bring-up code, never through
 * ret_from_fork. (In 2012 it was copy_thread() with a zero-filled regs struct; both
 * leave zeroed pt_regs.)
 */
export function forkIdle(k: KernelApi): Task {
  const p = k.allocTask('swapper/1', true);
  p.idle = true;
  p.state = 'interruptible';
  dirtyPtRegs(k, p);
  k.port.process.copy_thread(k, p, { flags: CLONE_VM, stack: 0n, tls: 0n, fn: k.bridge.addr('idle_dummy'), fnArg: 0n }, null);
  return p;
}
