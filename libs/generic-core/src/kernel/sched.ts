// kernel/sched/core.c, reduced: schedule() with the arch's switch_to, schedule_tail(),
// wake-ups, wait_event_interruptible(), the boot CPU's idle loop, and switching the user
// address space (no MMU: an mm is a byte image swapped in and out of the user region).

import { guestCall } from './bridge.ts';
import { ERESTARTSYS } from './abi.ts';
import type { Gen, KernelApi, Mm, Task } from './types.ts';

function pickNext(k: KernelApi, prev: Task): Task {
  const n = k.tasks.length;
  for (let i = 1; i <= n; i++) {
    const t = k.tasks[(prev.pid + i) % n]!;
    if (!t.idle && t.state === 'running') return t;
  }
  return k.idleTask;
}

export function anyRunnable(k: KernelApi): boolean {
  return k.tasks.some((t) => !t.idle && t.state === 'running');
}

/** schedule(): pick the next task and switch to it with the arch's switch_to. */
export function* schedule(k: KernelApi): Gen {
  // __schedule(): interrupts off until finish_task_switch() (the runqueue lock is taken
  // with them off): no interrupt may arrive inside switch_to
  k.localIrqDisable();
  const prev = k.current();
  // clear_tsk_need_resched(): both the eager and the lazy request
  for (const b of ['NEED_RESCHED', 'NEED_RESCHED_LAZY']) if (k.hasTif(b)) k.clearTif(prev, b);
  const next = pickNext(k, prev);
  if (next === prev) {
    k.localIrqEnable();
    return;
  }
  k.trace.push(`switch ${prev.pid}->${next.pid}`);
  const prepare = k.port.process.prepare_arch_switch;
  if (prepare) yield* prepare(k, prev, next) as Gen;
  switchMm(k, next);
  k.port.process.__switch_to?.(k, prev, next);
  k.setCurrent(next);
  const last = yield* guestCall(k.sym(k.desc.symbols.switchTo), [prev.addr, next.addr]);
  // we are prev again; `last` is the task we came from
  finishTaskSwitch(k, last);
}

/** finish_task_switch(): the runqueue lock is released with irqs on, in the task switched to. */
function finishTaskSwitch(k: KernelApi, lastAddr: bigint): void {
  k.localIrqEnable();
  const last = k.tasks.find((t) => t.addr === lastAddr);
  if (!last) k.bug('C1', `switch_to returned prev=0x${lastAddr.toString(16)}, which is no task_struct`);
  if (last.state === 'zombie' && last.kthread) last.state = 'dead';
  // an exited task left its last frame in the switch_to it never returns from
  if (last.state === 'zombie' || last.state === 'dead') k.dropSuspendedFrames(last);
}

/** schedule_tail(prev): the first C a newborn runs, from ret_from_fork. */
export function* scheduleTail(k: KernelApi, prev: bigint): Gen<bigint> {
  k.trace.push(`${k.current().pid}:schedule_tail`);
  finishTaskSwitch(k, prev);
  k.current().scheduleTailDone = true;
  return 0n;
}

function switchMm(k: KernelApi, next: Task): void {
  if (next.mm) k.loadMm(next.mm);
}

export const USER_PAGE = 0x1000;
const ZERO_PAGE = new Uint8Array(USER_PAGE);

/** The pages of an image of `size` bytes, zero but for these parts (byte offset, bytes); untouched pages are one shared zero page. */
export function pagesWith(size: number, parts: Array<[number, Uint8Array]>): Uint8Array[] {
  const pages: Uint8Array[] = Array.from({ length: Math.ceil(size / USER_PAGE) }, () => ZERO_PAGE);
  for (const [at, bytes] of parts) {
    for (let off = 0; off < bytes.length; ) {
      const i = Math.floor((at + off) / USER_PAGE);
      const inPage = (at + off) % USER_PAGE;
      const n = Math.min(USER_PAGE - inPage, bytes.length - off);
      if (pages[i] === ZERO_PAGE) pages[i] = new Uint8Array(USER_PAGE);
      pages[i]!.set(bytes.subarray(off, off + n), inPage);
      off += n;
    }
  }
  return pages;
}

/**
 * The pages of `mm` as they are now: for the loaded mm, its stored pages where memory still
 * holds them and copies of the pages that changed (which become its stored pages).
 */
export function mmPages(k: KernelApi & { loadedMm: Mm | null }, mm: Mm): readonly Uint8Array[] {
  if (mm !== k.loadedMm) return mm.pages;
  const mem = k.desc.memory;
  const live = k.m.peek(mem.user, Number(mem.userSize));
  const pages = mm.pages.map((old, i) => {
    const now = live.subarray(i * USER_PAGE, (i + 1) * USER_PAGE);
    return Buffer.compare(old, now) === 0 ? old : now.slice();
  });
  mm.pages = pages;
  return pages;
}

/** Puts `mm`'s image in the user region (saving the one there). */
export function loadMm(k: KernelApi & { loadedMm: Mm | null }, mm: Mm): void {
  if (mm === k.loadedMm) return;
  const mem = k.desc.memory;
  if (k.loadedMm) mmPages(k, k.loadedMm);
  // only the pages that differ: a write to the user region drops the translations of the
  // code on it, and a forked child's image is mostly its parent's
  const live = k.m.peek(mem.user, Number(mem.userSize));
  const pages = mm.pages;
  for (let i = 0; i < pages.length; i++) {
    let j = i;
    while (j < pages.length && Buffer.compare(pages[j]!, live.subarray(j * USER_PAGE, (j + 1) * USER_PAGE)) !== 0) j++;
    if (j > i) {
      const run = j - i === 1 ? pages[i]! : Buffer.concat(pages.slice(i, j));
      k.m.write(mem.user + BigInt(i * USER_PAGE), run);
    }
    i = j;
  }
  k.loadedMm = mm;
}

/** The current contents of an mm, in one piece (live memory when it is loaded). */
export function mmImage(k: KernelApi & { loadedMm: Mm | null }, mm: Mm): Uint8Array {
  const mem = k.desc.memory;
  return mm === k.loadedMm ? k.m.read(mem.user, Number(mem.userSize)) : Buffer.concat(mm.pages);
}

/** A new mm holding these pages (all zero when absent): fork's child shares the parent's. */
export function newMm(k: KernelApi & { nextMmId: number }, pages?: readonly Uint8Array[]): Mm {
  const n = Number(k.desc.memory.userSize) / USER_PAGE;
  if (!Number.isInteger(n)) k.bug('mm', `memory.userSize ${k.desc.memory.userSize} is not a whole number of 4 KiB pages`);
  return { id: k.nextMmId++, pages: pages ? [...pages] : Array.from({ length: n }, () => ZERO_PAGE), users: 1 };
}

/** Idle loop of the boot CPU: run tasks, let the world move when all sleep, stop when nothing is left. */
export function* cpuStartupEntry(k: KernelApi): Gen<bigint> {
  // the guest budget cannot see a loop that stays in TypeScript: bound it here
  let idlePasses = 0;
  let lastCount = -1;
  for (;;) {
    const n = k.m.instructionCount();
    idlePasses = n === lastCount ? idlePasses + 1 : 0;
    lastCount = n;
    if (idlePasses > 10_000) k.bug('sched', 'the idle loop went round 10000 times without any guest instruction running');
    if (anyRunnable(k)) {
      yield* schedule(k);
      continue;
    }
    const ev = k.world.events.shift();
    if (ev) {
      ev(k);
      continue;
    }
    k.halt();
    return 0n;
  }
}

export function wakeUp(t: Task): void {
  if (t.state === 'interruptible') t.state = 'running';
}

/** wait_event_interruptible(): 0 when cond holds, -ERESTARTSYS when a signal came first. */
export function* waitEventInterruptible(k: KernelApi, cond: () => boolean): Gen<bigint> {
  for (;;) {
    if (cond()) return 0n;
    if (k.signalPending(k.current())) return -ERESTARTSYS;
    k.current().state = 'interruptible';
    yield* schedule(k);
    if (k.current().state === 'interruptible') k.current().state = 'running';
  }
}
