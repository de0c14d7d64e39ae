// kernel/exit.c, reduced: do_exit(), the vfork release, and what the task leaves behind
// for the scenarios (its results page).

import type { Gen, KernelApi, Task } from './types.ts';
import { USER_RESULTS } from './layout.ts';

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
  const img = loaded ? k.m.read(k.desc.memory.user + USER_RESULTS, 0x1000) : k.mmImage(t.mm).subarray(Number(USER_RESULTS), Number(USER_RESULTS) + 0x1000);
  const slots = new Map<bigint, bigint>();
  const base = 0;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const le = k.desc.endian === 'little';
  for (let off = 0; off < 0x1000; off += 8) {
    slots.set(BigInt(off / 8), k.wordSize === 8 ? dv.getBigUint64(base + off, le) : BigInt(dv.getUint32(base + off, le)));
  }
  k.results.set(t.pid, slots);
}
