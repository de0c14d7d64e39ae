// arch/sparc/kernel/process_32.c and asm/processor_32.h (Linux 6.18): copy_thread(),
// start_thread(), and the window flush of prepare_arch_switch (asm/switch_to_32.h).
//
// A new task's kernel stack holds a 96-byte stack frame (its register window save area)
// under pt_regs; switch_to resumes it at kpc + 8 with %sp = ksp, %psr = kpsr and %wim =
// kwim, loading %l0/%l1 and %i6/%i7 from the window save area at ksp. A kernel thread has
// fn in pt_regs g1 and its argument in g2; a fork child gets the parent's trap frame
// (window and pt_regs) and the SunOS two-register return: %o0 = the parent's pid, %o1 = 1
// in the child, %o1 = 0 in the parent.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import { PSR, STACKFRAME_SZ } from './cpu.ts';
import { KSTK } from './signal.ts';

const NWINDOWS = 8n;

const rd = (k: KernelApi, p: Task, field: string) => k.m.readUint(k.threadSlot(p, field), 4);
const wr = (k: KernelApi, p: Task, field: string, v: bigint) => k.m.writeUint(k.threadSlot(p, field), 4, BigInt.asUintN(32, v));

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    const newStack = childregs.base - STACKFRAME_SZ;
    wr(k, p, 'ksp', newStack);
    if (args.fn !== null) {
      // a kernel thread: zeroed frame and pt_regs, fn and its argument in g1/g2, the
      // current psr; it starts with interrupts off (PIL 15) and the window above invalid
      k.m.write(newStack, new Uint8Array(Number(STACKFRAME_SZ) + k.desc.ptRegs.size));
      wr(k, p, 'kpc', k.sym(k.desc.symbols['retFromKernelThread']!) - 8n);
      childregs.set('g1', args.fn);
      childregs.set('g2', args.fnArg);
      const psr = k.m.reg('psr');
      childregs.set('psr', psr);
      wr(k, p, 'kpsr', psr | PSR.PIL);
      wr(k, p, 'kwim', 1n << (((psr & PSR.CWP) + 1n) % NWINDOWS));
      return;
    }
    // fork/vfork/clone (and fork_idle's zero-filled regs): the parent's trap frame, the
    // window save area under it included (sys_fork flushed the windows there)
    const parent = regs ?? k.currentPtRegs();
    if (parent.base !== childregs.base) k.m.write(newStack, k.m.read(parent.base - STACKFRAME_SZ, Number(STACKFRAME_SZ) + k.desc.ptRegs.size));
    const cur = k.current();
    const sp = args.stack !== 0n ? args.stack : parent.get('i6');
    childregs.set('i6', sp);
    wr(k, p, 'kpc', k.sym(k.desc.symbols.retFromFork) - 8n);
    wr(k, p, 'kpsr', rd(k, cur, 'fork_kpsr') | PSR.PIL);
    wr(k, p, 'kwim', rd(k, cur, 'fork_kwim'));
    if (sp !== parent.get('i6')) {
      // clone() with a stack of its own: the caller's frame, [sp, fp), copied below it
      // (clone_stackframe); a frame pointer that does not lie above sp cannot be copied
      const src = parent.get('i6');
      const fp = k.accessOk(src, 64n) ? k.m.readUint(src + 56n, 4) : 0n;
      const size = BigInt.asUintN(32, fp - src);
      const dst = sp & ~0xfn;
      const childsp = BigInt.asUintN(32, dst - size);
      if (!k.accessOk(src, size) || !k.accessOk(childsp, size)) {
        k.trace.push(`${cur.pid}:clone_stackframe failed (caller's frame pointer 0x${fp.toString(16)})`);
        return -k.abi.errno.EFAULT;
      }
      k.m.write(childsp, k.m.read(src, Number(size)));
      k.m.writeUint(childsp + 56n, 4, dst);
      childregs.set('i6', childsp);
    }
    // the SunOS return values: the child sees the parent's pid and 1, the parent 0 in %o1
    childregs.set('i0', BigInt(cur.pid));
    childregs.set('i1', 1n);
    parent.set('i1', 0n);
    if (args.flags & CLONE_SETTLS) childregs.set('g7', args.tls);
  },

  start_thread(k, regs, pc, sp) {
    // flush_thread(): no windows left in the buffer of the old image
    k.m.writeUint(k.current().stackBase + KSTK.wSaved, 4, 0n);
    regs.set('psr', (regs.get('psr') & PSR.CWP) | PSR.S);
    regs.pc = (pc & ~3n) - 4n;
    regs.set('npc', regs.pc + 4n);
    regs.set('y', 0n);
    for (const r of ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i7']) regs.set(r, 0n);
    // the user %sp leaves room for one register window save area
    regs.set('i6', sp - 64n);
  },

  // prepare_arch_switch(): every window out to its stack, while prev's memory is mapped
  *prepare_arch_switch(k) {
    yield* guestCall(k.sym(k.desc.symbols['flushAllWindows']!), []);
    return 0n;
  },
};
