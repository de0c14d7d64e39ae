// The little language scenarios are written in: arch-neutral user-program ops, checks that
// read real state back from the emulated machine, and failures that name the contract.

import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import type { Kernel, World } from '@archkit/generic-core/kernel/kernel';
import type { CGen } from '@archkit/generic-core/kernel/bridge';
import type { Op, UserImage, UserProgram, Val } from '@archkit/generic-core/user/compile';
import type { ScenarioInfo } from '../types.ts';

export class ScenarioFailure extends Error {
  constructor(
    readonly contract: string,
    message: string,
  ) {
    super(`${contract}: ${message}`);
    this.name = 'ScenarioFailure';
  }
}

export class Unsupported extends Error {}

export interface Env {
  k: Kernel;
  d: ArchDescriptor;
  images: Record<string, UserImage>;
  /** what the check reports as `observed` */
  observed: Record<string, unknown>;
  state: Record<string, unknown>;
}

export interface ScenarioDef extends ScenarioInfo {
  /** user programs by path; '/init' is what the default init execs */
  programs?(d: ArchDescriptor): Record<string, UserProgram>;
  /** kernel functions kthreads can run */
  kfns?: Record<string, (k: Kernel, arg: bigint) => CGen>;
  /** the kthread that boot starts as pid 1 (default: kernel_init, which execs /init) */
  init?: { fn: string; arg?: bigint };
  /** events that happen while every task sleeps, in order */
  world?(env: Env): World['events'];
  /** hooks installed after boot, before the run */
  setup?(env: Env): void;
  /** why this scenario cannot run on this arch, if it cannot */
  unsupported?(d: ArchDescriptor): string | undefined;
  check(env: Env): void;
  budget?: number;
}

export function expect(cond: unknown, contract: string, message: string): asserts cond {
  if (!cond) throw new ScenarioFailure(contract, message);
}

export function hex(v: bigint | number | undefined): string {
  if (v === undefined) return 'nothing';
  const b = BigInt(v);
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}

// ----------------------------------------------------------------- ops

export const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
export const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
export const label = (name: string): Op => ({ op: 'label', name });
export const inc = (slot: string): Op => ({ op: 'inc', slot });
export const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
export const exit = (code = 0): Op[] => [sys('exit', code)];

/** rt_sigaction(sig, {handler, flags, restorer 0, mask}) built in result slots at run time. */
export function sigaction(sig: number, handler: string, flags: bigint = 0n, mask: bigint = 0n): Op[] {
  const tag = `sa${sig}`;
  return [
    set('arg1', { label: handler }),
    store('arg1', `${tag}.handler`),
    set('arg1', flags),
    store('arg1', `${tag}.flags`),
    set('arg1', 0),
    store('arg1', `${tag}.restorer`),
    set('arg1', mask),
    store('arg1', `${tag}.mask`),
    sys('rt_sigaction', sig, { slot: `${tag}.handler` }, 0, 8),
  ];
}

/** A handler that counts its runs in slot `h.<name>` and returns to the restorer. */
export function handler(name: string, body: Op[] = []): Op[] {
  return [label(name), ...body, inc(`h.${name}`), { op: 'ret' }];
}

/** fork(), or clone(SIGCHLD) on arches without fork. */
export function forkOp(d: ArchDescriptor): Op {
  return d.syscall.numbers['fork'] !== undefined ? sys('fork') : sys('clone', 17, 0, 0, 0, 0);
}

/**
 * After a fork-like op: the child (return value 0) runs `child` and exits 0; the parent runs
 * `parent`, reaps the child and exits 0.
 */
export function forkSplit(parent: Op[] = [], child: Op[] = []): Op[] {
  return [
    { op: 'beqz', reg: 'ret', label: 'child' },
    ...parent,
    sys('wait4', -1, 0, 0, 0),
    ...exit(0),
    label('child'),
    ...child,
    ...exit(0),
  ];
}

/** The one child of `pid`, failing the contract when there is none. */
export function childOf(env: Env, pid: number, contract: string): number {
  const kids = env.k.tasks.filter((t) => t.parent?.pid === pid && !t.idle).map((t) => t.pid);
  expect(kids.length >= 1, contract, `task ${pid} made no child`);
  return kids[kids.length - 1]!;
}

export function vforkOp(d: ArchDescriptor): Op {
  return d.syscall.numbers['vfork'] !== undefined ? sys('vfork') : sys('clone', 0x4000 | 0x100 | 17, 0, 0, 0, 0);
}

/** A NUL-terminated string as data words in the arch's byte order. */
export function strWords(s: string, d: ArchDescriptor): bigint[] {
  const bytes = new TextEncoder().encode(s + '\0');
  const words: bigint[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    let w = 0n;
    for (let j = 0; j < 8; j++) {
      const b = BigInt(bytes[i + j] ?? 0);
      w |= d.endian === 'little' ? b << BigInt(8 * j) : b << BigInt(8 * (7 - j));
    }
    words.push(w);
  }
  return words;
}

export function prog(name: string, ops: Op[], data?: Record<string, bigint[]>): UserProgram {
  return { name, ops: [label('_start'), ...ops], data };
}

// ----------------------------------------------------------------- reading results

/** Value of a results slot as the task `pid` left it (signed). */
export function slot(env: Env, pid: number, name: string, path = '/init'): bigint | undefined {
  const img = env.images[path];
  const i = img?.slots.get(name);
  if (i === undefined) throw new Error(`scenario bug: program ${path} has no slot ${name}`);
  const v = env.k.results.get(pid)?.get(BigInt(i));
  return v === undefined ? undefined : BigInt.asIntN(env.d.wordSize * 8, v);
}

export function entries(env: Env, name: string, pid?: number) {
  return env.k.syscalls.filter((s) => s.name === name && (pid === undefined || s.pid === pid));
}

/** pid of the first task that exec'd `path`. */
export function pidOf(env: Env, path = '/init'): number {
  const t = env.k.trace.find((l) => l.endsWith(`:exec ${path}`));
  if (!t) throw new ScenarioFailure('C2', `no task ever exec'd ${path}`);
  return Number(t.split(':')[0]);
}

export function children(env: Env, pid: number): number[] {
  return env.k.tasks.filter((t) => t.parent?.pid === pid).map((t) => t.pid);
}

/** A signal sent to `pid` as a world event. */
export function signalEvent(pid: () => number, sig: number): (k: Kernel) => void {
  return (k) => k.sendSignal(k.task(pid())!, sig);
}

export function inputEvent(text: string): (k: Kernel) => void {
  return (k) => {
    k.inputQueue.push(new TextEncoder().encode(text));
    for (const t of k.tasks) k.wakeUp(t);
  };
}

export function clockEvent(ns: bigint): (k: Kernel) => void {
  return (k) => {
    k.clock += ns;
    for (const t of k.tasks) k.wakeUp(t);
  };
}

export const SA_RESTART = 0x10000000n;
export const EINTR = -4n;
export const SIGUSR1 = 10;
export const SIGUSR2 = 12;
export const SIGSTOP = 19;
export const SIGCONT = 18;
export const SIGKILL = 9;
export const SIGSEGV = 11;
export const SIGILL = 4;
