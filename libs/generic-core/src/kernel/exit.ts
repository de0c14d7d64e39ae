// kernel/exit.c, reduced: do_exit(), the vfork release, and what the task leaves behind
// for the scenarios (its results page).

import type { Gen, KernelApi, Task } from './types.ts';
import { USER_RESULTS } from './layout.ts';
import { USER_PAGE } from './sched.ts';

export function* doExit(k: KernelApi, code: number, killedBy: number): Gen<never> {
  const t = k.current();
  if (t.idle) k.bug('C1', 'the idle task tried to exit');
  t.exitCode = code;
  t.killedBy = killedBy;
  snapshotResults(k, t);
  k.trace.push(`${t.pid}:exit ${killedBy ? `sig${killedBy}` : code}`);
  vforkRelease(k, t);
  if (t.mm) t.mm.users--;
  t.state = 'zombie';
  const parent = t.parent;
  if (parent && !parent.idle) {
    k.sendSignal(parent, k.abi.sig.SIGCHLD);
    k.wakeUp(parent);
  }
  k.dropSuspendedFrames(t);
  yield* k.schedule();
  return k.bug('C1', `task ${t.pid} ran again after do_exit`);
}

export function vforkRelease(k: KernelApi, t: Task): void {
  const parent = t.vforkParent;
  if (parent) {
    parent.vforkWait = false;
    k.wakeUp(parent);
    t.vforkParent = undefined;
  }
}

/** The task's results page: one word (the guest's size and byte order) every 8 bytes. */
export function snapshotResults(k: KernelApi, t: Task): void {
  if (!t.mm) return;
  // the results page only (the mm's image, or guest memory when it is loaded)
  const loaded = (k as KernelApi & { loadedMm?: unknown }).loadedMm === t.mm;
  // (a copy of guest memory, or a stored page: pages are never written in place)
  const img = loaded ? k.m.read(k.desc.memory.user + USER_RESULTS, USER_PAGE) : t.mm.pages[Number(USER_RESULTS) / USER_PAGE]!;
  const slots = new ResultSlots(img, k.wordSize, k.desc.endian === 'little');
  k.results.set(t.pid, slots);
}

/**
 * One task's results page as slot index -> word, decoded on first use (most runs read a few
 * slots of a few tasks, and every exiting task leaves a page).
 */
export class ResultSlots implements ReadonlyMap<bigint, bigint> {
  private decoded: Map<bigint, bigint> | undefined;
  constructor(
    private readonly page: Uint8Array,
    private readonly wordSize: number,
    private readonly le: boolean,
  ) {}
  /** The word of slot `off / 8`. */
  private word(off: number): bigint {
    const dv = new DataView(this.page.buffer, this.page.byteOffset, this.page.byteLength);
    return this.wordSize === 8 ? dv.getBigUint64(off, this.le) : BigInt(dv.getUint32(off, this.le));
  }
  private map(): Map<bigint, bigint> {
    if (this.decoded) return this.decoded;
    const m = new Map<bigint, bigint>();
    for (let off = 0; off < this.page.length; off += 8) m.set(BigInt(off / 8), this.word(off));
    return (this.decoded = m);
  }
  get size(): number {
    return this.map().size;
  }
  get(i: bigint): bigint | undefined {
    if (this.decoded) return this.decoded.get(i);
    const off = Number(i) * 8;
    return i < 0n || off >= this.page.length ? undefined : this.word(off);
  }
  has(i: bigint): boolean {
    return i >= 0n && Number(i) * 8 < this.page.length;
  }
  forEach(cb: (v: bigint, i: bigint, m: ReadonlyMap<bigint, bigint>) => void): void {
    this.map().forEach((v, i) => cb(v, i, this));
  }
  entries(): MapIterator<[bigint, bigint]> {
    return this.map().entries();
  }
  keys(): MapIterator<bigint> {
    return this.map().keys();
  }
  values(): MapIterator<bigint> {
    return this.map().values();
  }
  [Symbol.iterator](): MapIterator<[bigint, bigint]> {
    return this.map().entries();
  }
}
