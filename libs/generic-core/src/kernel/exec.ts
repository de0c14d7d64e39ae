// fs/exec.c, reduced: a fresh mm holding the image and the vDSO, signal handlers reset,
// then the arch's start_thread() fills current_pt_regs() for the first user instruction.
// pt_regs are not cleared first: start_thread decides what survives (x86 keeps orig_ax,
// arm64 syscallno, for the execve exit stop).

import type { KernelApi, UserImage } from './types.ts';
import { SIG_DFL, SIG_IGN } from './abi.ts';
import { USER_STACK_TOP, USER_VDSO } from './layout.ts';
import { pagesWith } from './sched.ts';

/** What exec puts in a new mm, built once per program and vDSO (mm images are never written in place). */
const images = new WeakMap<UserImage, { vdso: Uint8Array; pages: Uint8Array[] }>();
function freshImage(k: KernelApi & { vdso: Uint8Array }, img: UserImage): Uint8Array[] {
  const c = images.get(img);
  // the vDSO bytes of every boot of a port are the same (a new machine reads a new copy)
  if (c && (c.vdso === k.vdso || Buffer.compare(c.vdso, k.vdso) === 0)) return c.pages;
  const mem = k.desc.memory;
  const pages = pagesWith(Number(mem.userSize), [
    [Number(img.base - mem.user), img.bytes],
    [Number(USER_VDSO), k.vdso],
    ...img.dataInit.map(([addr, bytes]): [number, Uint8Array] => [Number(addr - mem.user), bytes]),
  ]);
  images.set(img, { vdso: k.vdso, pages });
  return pages;
}

/** exec of `path` in the current task: 0 or -errno. */
export function execImage(k: KernelApi & { vdso: Uint8Array }, path: string): bigint {
  const img = k.programs[path];
  if (!img) return -k.abi.errno.ENOENT;
  const t = k.current();
  const mem = k.desc.memory;
  const mm = k.newMm(freshImage(k, img));
  if (t.mm) t.mm.users--;
  t.mm = mm;
  k.loadMm(mm);
  t.kthread = false;
  t.comm = path;
  for (const a of t.sigactions) if (a.handler !== SIG_IGN) Object.assign(a, { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n });
  k.port.process.start_thread(k, k.currentPtRegs(), img.entry, mem.user + USER_STACK_TOP);
  k.vforkRelease(t);
  k.trace.push(`${t.pid}:exec ${path}`);
  return 0n;
}

/** kernel_execve(): fills current_pt_regs() and returns 0 normally (C2). */
export function kernelExecve(k: KernelApi & { vdso: Uint8Array }, path: string): bigint {
  return execImage(k, path);
}
