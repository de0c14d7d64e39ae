// The little language scenarios are written in: arch-neutral user-program ops, checks that
// read real state back from the emulated machine, and failures that name the contract.

import type { ArchDescriptor, EntryModel } from '@archkit/generic-core/contracts/descriptor';
import type { CGen, KernelApi, Task, Tracer, World } from '@archkit/generic-core/kernel/types';
import type { DataBlock, DataWord, Op, UserImage, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { makeAbi, sigmask, type Abi, type SignalName } from '@archkit/generic-core/kernel/abi';
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

export interface Env {
  k: KernelApi;
  d: ArchDescriptor;
  abi: Abi;
  model: EntryModel;
  images: Record<string, UserImage>;
  /** what the check reports as `observed` */
  observed: Record<string, unknown>;
  state: Record<string, unknown>;
}

export interface ScenarioDef extends ScenarioInfo {
  /** user programs by path; '/init' is what the default init execs */
  programs?(d: ArchDescriptor): Record<string, UserProgram>;
  /** kernel functions kthreads can run */
  kfns?: Record<string, (k: KernelApi, arg: bigint) => CGen>;
  /** the kthread that boot starts as pid 1 (default: kernel_init, which execs /init) */
  init?: { fn: string; arg?: bigint };
  /** events that happen while every task sleeps, in order */
  world?(env: Env): World['events'];
  /** hooks installed after boot, before the run */
  setup?(env: Env): void;
  /** a tracer attached to pid 1 before it execs /init */
  tracer?(env: Env): Tracer;
  /** why this scenario cannot run on this arch, if it cannot */
  unsupported?(d: ArchDescriptor): string | undefined;
  /** the scenario raises interrupts: the CPU model must have its irq part (C12) */
  needsIrq?: boolean;
  /** run as a sweep: one interrupt at each instruction where interrupts are enabled (C12) */
  sweep?: boolean;
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

const abis = new WeakMap<ArchDescriptor, Abi>();
/** The arch's uapi numbers (signals, errno, sigaction flags). */
export function abiOf(d: ArchDescriptor): Abi {
  let a = abis.get(d);
  if (!a) abis.set(d, (a = makeAbi(d.wordSize, d.abi)));
  return a;
}

export function sig(d: ArchDescriptor, name: SignalName): number {
  return abiOf(d).sig[name];
}

// ----------------------------------------------------------------- ops

export const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
export const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
export const label = (name: string): Op => ({ op: 'label', name });
export const inc = (slot: string): Op => ({ op: 'inc', slot });
export const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
export const exit = (code = 0): Op[] => [sys('exit', code)];

/** The restorer libc passes with SA_RESTORER (glibc's __restore_rt): rt_sigreturn. */
export const RESTORER = '__restore_rt';
export const restorer = (): Op[] => [label(RESTORER), sys('rt_sigreturn')];

/** Whether libc on this arch installs handlers with SA_RESTORER (glibc does on x86). */
export function libcUsesRestorer(d: ArchDescriptor): boolean {
  return d.abi.libcRestorer === true;
}

/** struct sigaction in the arch's layout, as a data block built once the handler address is known. */
export function sigactionData(d: ArchDescriptor, handler: string, flags: bigint, mask: bigint, restorerLabel?: string): DataBlock {
  const lay = abiOf(d).sigaction;
  return {
    size: lay.size,
    build(resolve, desc) {
      const out = new Uint8Array(lay.size);
      const dv = new DataView(out.buffer);
      const le = desc.endian === 'little';
      const put = (name: string, v: bigint) => {
        const f = lay.fields.find((x) => x.name === name);
        if (!f) return;
        if (name === 'mask' && desc.wordSize === 4) {
          // sigset_t: words of the word size, lowest signals first
          for (let i = 0; i * 4 < f.size; i++) dv.setUint32(f.offset + i * 4, Number((v >> BigInt(32 * i)) & 0xffffffffn), le);
          return;
        }
        if (f.size === 8) dv.setBigUint64(f.offset, BigInt.asUintN(64, v), le);
        else dv.setUint32(f.offset, Number(BigInt.asUintN(32, v)), le);
      };
      put('handler', resolve(handler));
      put('flags', flags);
      put('restorer', restorerLabel ? resolve(restorerLabel) : 0n);
      put('mask', mask);
      return out;
    },
  };
}

export interface HandlerSpec {
  sig: number;
  flags?: bigint;
  mask?: bigint;
  body?: Op[];
  /** install without SA_RESTORER even where libc would use it */
  noRestorer?: boolean;
}

/**
 * rt_sigaction(sig, &act, NULL, sizeof(sigset_t)) the way libc makes the call: SA_SIGINFO
 * (handlers may read and edit their context), and SA_RESTORER with __restore_rt where the
 * arch's libc does so. The struct goes in the data page (name `sa<sig>`).
 */
export function installHandler(d: ArchDescriptor, h: HandlerSpec, data: Record<string, DataWord[] | DataBlock>): Op[] {
  const a = abiOf(d);
  const useRestorer = !h.noRestorer && libcUsesRestorer(d);
  const flags = (h.flags ?? 0n) | a.sa.SA_SIGINFO | (useRestorer ? a.sa.SA_RESTORER : 0n);
  data[`sa${h.sig}`] = sigactionData(d, `h${h.sig}`, flags, h.mask ?? 0n, useRestorer ? RESTORER : undefined);
  return [sys('rt_sigaction', ...rtSigactionArgs(d, h.sig, { data: `sa${h.sig}` }, useRestorer ? RESTORER : undefined))];
}

/**
 * rt_sigaction's arguments: (sig, act, oact, sigsetsize), or where the restorer is an
 * argument (arch.json abi.restorerArg, sparc's __ARCH_HAS_KA_RESTORER) (sig, act, oact,
 * restorer, sigsetsize). The kernel puts it in the handler's return-address register, which
 * the handler returns past by callingConvention.returnOffset: glibc passes its stub minus
 * that (sparc: __rt_sigreturn_stub - 8).
 */
export function rtSigactionArgs(d: ArchDescriptor, signo: number, act: Val, restorerLabel?: string): Val[] {
  if (d.abi.restorerArg !== true) return [signo, act, 0, 8];
  const off = d.callingConvention.returnOffset ?? 0;
  return [signo, act, 0, restorerLabel ? { label: off ? `${restorerLabel}-${off}` : restorerLabel } : 0, 8];
}

/** A handler that counts its runs in slot `h.<name>` and returns (to the restorer). */
export function handler(name: string, body: Op[] = []): Op[] {
  return [label(name), ...body, inc(`h.${name}`), { op: 'ret' }];
}

/**
 * A program with handlers: installs them, runs `ops`, and carries the handler bodies and
 * (where libc uses one) the restorer.
 */
export function withHandlers(d: ArchDescriptor, name: string, handlers: HandlerSpec[], ops: Op[], data: Record<string, DataWord[] | DataBlock> = {}): UserProgram {
  const install = handlers.flatMap((h) => installHandler(d, h, data));
  const bodies = handlers.flatMap((h) => handler(`h${h.sig}`, h.body ?? []));
  const rest = libcUsesRestorer(d) ? restorer() : [];
  return prog(name, [...install, ...ops, ...bodies, ...rest], data);
}

/** clone()'s five arguments in the arch's order: flags, new stack and TLS where arch.json puts them (s390 CLONE_BACKWARDS2: newsp first). */
export function cloneArgs(d: ArchDescriptor, flags: Val, stack: Val = 0, tls: Val = 0): Val[] {
  const a: Val[] = [0, 0, 0, 0, 0];
  a[d.syscall.cloneFlagsArg ?? 0] = flags;
  a[d.syscall.cloneStackArg ?? 1] = stack;
  a[d.syscall.cloneTlsArg] = tls;
  return a;
}

/** fork(), or clone(SIGCHLD) on arches without fork. */
export function forkOp(d: ArchDescriptor): Op {
  return d.syscall.numbers['fork'] !== undefined ? sys('fork') : sys('clone', ...cloneArgs(d, sig(d, 'SIGCHLD')));
}

export function vforkOp(d: ArchDescriptor): Op {
  return d.syscall.numbers['vfork'] !== undefined ? sys('vfork') : sys('clone', ...cloneArgs(d, 0x4000 | 0x100 | sig(d, 'SIGCHLD')));
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

/** A NUL-terminated string as data words in the arch's size and byte order. */
export function strWords(s: string, d: ArchDescriptor): bigint[] {
  const bytes = new TextEncoder().encode(s + '\0');
  const w = d.wordSize;
  const words: bigint[] = [];
  for (let i = 0; i < bytes.length; i += w) {
    let v = 0n;
    for (let j = 0; j < w; j++) {
      const b = BigInt(bytes[i + j] ?? 0);
      v |= d.endian === 'little' ? b << BigInt(8 * j) : b << BigInt(8 * (w - 1 - j));
    }
    words.push(v);
  }
  return words;
}

/** A timespec {tv_sec, tv_nsec} as words. */
export function timespec(sec: bigint, nsec = 0n): bigint[] {
  return [sec, nsec];
}

export function prog(name: string, ops: Op[], data?: Record<string, DataWord[] | DataBlock>): UserProgram {
  return { name, ops: [label('_start'), ...ops], data };
}

/**
 * Stores a syscall's result the way libc's wrapper reads it: the return register, and on
 * arches that flag errors (MIPS a3, PowerPC CR0.SO, SPARC carry) the flag register too;
 * result() turns the pair into a negative errno.
 */
export function storeResult(d: ArchDescriptor, name: string): Op[] {
  const e = d.syscall.error;
  return e.convention === 'flag' ? [store('ret', name), store(e.flag, `${name}.flag`)] : [store('ret', name)];
}

// ----------------------------------------------------------------- reading results

/** Value of a results slot as the task `pid` left it (signed, the word size). */
export function slot(env: Env, pid: number, name: string, path = '/init'): bigint | undefined {
  const img = env.images[path];
  const i = img?.slots.get(name);
  if (i === undefined) throw new Error(`scenario bug: program ${path} has no slot ${name}`);
  const v = env.k.results.get(pid)?.get(BigInt(i));
  return v === undefined ? undefined : BigInt.asIntN(env.d.wordSize * 8, v);
}

/** A result stored by storeResult(), as a libc-style wrapper returns it: negative errno on error. */
export function result(env: Env, pid: number, name: string, path = '/init'): bigint | undefined {
  const v = slot(env, pid, name, path);
  const e = env.d.syscall.error;
  if (v === undefined || e.convention === 'negative') return v;
  const f = slot(env, pid, `${name}.flag`, path) ?? 0n;
  const flagged = e.bit === undefined ? f !== 0n : ((f >> BigInt(e.bit)) & 1n) !== 0n;
  return flagged ? -v : v;
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

/** A signal sent to `pid` as a world event. */
export function signalEvent(pid: () => number, signo: number): (k: KernelApi) => void {
  return (k) => k.sendSignal(k.task(pid())!, signo);
}

export function inputEvent(text: string): (k: KernelApi) => void {
  return (k) => {
    k.inputQueue.push(new TextEncoder().encode(text));
    for (const t of k.tasks) k.wakeUp(t);
  };
}

export function clockEvent(ns: bigint): (k: KernelApi) => void {
  return (k) => {
    k.clock += ns;
    for (const t of k.tasks) k.wakeUp(t);
  };
}

export function task(env: Env, pid: number): Task {
  const t = env.k.task(pid);
  if (!t) throw new ScenarioFailure('C1', `there is no task ${pid}`);
  return t;
}

export { sigmask };
