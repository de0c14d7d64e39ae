// arch/sparc/kernel/process_64.c and asm/processor_64.h (Linux 6.18): copy_thread(),
// start_thread(), and the window flush of prepare_arch_switch (asm/switch_to_64.h).
//
// A new task's kernel stack holds a 192-byte stack frame (its register window save area)
// under pt_regs; thread.ksp = that frame - STACK_BIAS. switch_to gives it the CWP and WSTATE
// of its thread_info bytes and, as new_child is set, jumps to ret_from_fork. A kernel
// thread has fn in pt_regs g1, its argument in g2 and i0 = 0; a fork child gets the
// parent's trap frame (window and pt_regs), the CWP one above the parent's trap window,
// and the SunOS two-register return: %o0 = the parent's pid, %o1 = 1 in the child, %o1 = 0
// in the parent.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import { STACK_BIAS, STACKFRAME_SZ, TSTATE } from './cpu.ts';
import { REG_WINDOW_SIZE, setWsaved, tiByte, TI_BYTE } from './signal.ts';

/** WSTATE of a 64-bit task in the kernel: other = 1 (its user windows spill through 0xa4), normal = 0 */
const KERNEL_WSTATE = 1n << 3n;
/** ASI_PNF: the primary no-fault ASI a new image starts with (start_thread) */
const ASI_PNF = 0x82n;

const setByte = (k: KernelApi, p: Task, field: keyof typeof TI_BYTE, v: bigint) => k.m.writeUint(tiByte(k, p.addr, field), 1, v);

/**
 * clone_stackframe(csp, psp): the caller's frame, [psp, its frame pointer), copied below the
 * new stack, its saved frame pointer pointing at the new stack; 0 when a copy fails.
 */
function cloneStackframe(k: KernelApi, csp: bigint, psp: bigint): bigint {
  csp += STACK_BIAS;
  psp += STACK_BIAS;
  if (!k.accessOk(psp, REG_WINDOW_SIZE)) return 0n;
  const fp = k.m.readUint(psp + 0x70n, 8) + STACK_BIAS;
  csp &= ~15n;
  const distance = BigInt.asUintN(64, fp - psp);
  const rval = BigInt.asUintN(64, csp - distance);
  if (!k.accessOk(psp, distance) || !k.accessOk(rval, distance) || distance < REG_WINDOW_SIZE) return 0n;
  k.m.write(rval, k.m.read(psp, Number(distance)));
  k.m.writeUint(rval + 0x70n, 8, csp - STACK_BIAS);
  return rval - STACK_BIAS;
}

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    const frame = childregs.base - STACKFRAME_SZ;
    k.m.writeUint(k.threadSlot(p, 'new_child'), 1, 1n);
    k.m.writeUint(k.threadSlot(p, 'ksp'), 8, frame - STACK_BIAS);
    k.m.writeUint(k.threadSlot(p, 'kregs'), 8, childregs.base);
    setByte(k, p, 'wstate', KERNEL_WSTATE);
    if (args.fn !== null) {
      // a kernel thread: zeroed frame and pt_regs (i0 = 0 tells ret_from_fork), fn and its
      // argument in g1/g2, the window above the creator's trap window
      k.m.write(frame, new Uint8Array(Number(STACKFRAME_SZ) + k.desc.ptRegs.size));
      setByte(k, p, 'cwp', (k.currentPtRegs().get('tstate') + 1n) & TSTATE.CWP);
      childregs.set('g1', args.fn);
      childregs.set('g2', args.fnArg);
      return;
    }
    // fork/vfork/clone (and fork_idle's zero-filled regs): the parent's trap frame, the
    // window save area under it included (sys_fork flushed the windows there)
    const parent = regs ?? k.currentPtRegs();
    if (parent.base !== childregs.base) k.m.write(frame, k.m.read(parent.base - STACKFRAME_SZ, Number(STACKFRAME_SZ) + k.desc.ptRegs.size));
    const cur = k.current();
    const sp = args.stack !== 0n ? args.stack : parent.get('i6');
    childregs.set('i6', sp);
    setByte(k, p, 'cwp', (parent.get('tstate') + 1n) & TSTATE.CWP);
    if (sp !== parent.get('i6')) {
      // clone() with a stack of its own: the caller's frame goes with it
      const csp = cloneStackframe(k, sp, parent.get('i6'));
      if (!csp) {
        k.trace.push(`${cur.pid}:clone_stackframe failed`);
        return -k.abi.errno.EFAULT;
      }
      childregs.set('i6', csp);
    }
    // the SunOS return values: the child sees the parent's pid and 1, the parent 0 in %o1
    childregs.set('i0', BigInt(cur.pid));
    childregs.set('i1', 1n);
    parent.set('i1', 0n);
    if (args.flags & CLONE_SETTLS) childregs.set('g7', args.tls);
  },

  start_thread(k, regs, pc, sp) {
    // flush_thread(): no windows left in the buffer of the old image
    setWsaved(k, 0);
    regs.set('tstate', (regs.get('tstate') & TSTATE.CWP) | TSTATE.IE | (ASI_PNF << 24n));
    regs.pc = (pc & ~3n) - 4n;
    regs.set('tnpc', regs.pc + 4n);
    regs.set('y', 0n);
    setByte(k, k.current(), 'wstate', KERNEL_WSTATE);
    for (const r of ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i7']) regs.set(r, 0n);
    // the user %sp leaves room for one register window save area, and is biased
    regs.set('i6', sp - REG_WINDOW_SIZE - STACK_BIAS);
  },

  // prepare_arch_switch(): flushw_all(), every window to its stack while prev's memory is mapped
  *prepare_arch_switch(k) {
    yield* guestCall(k.sym(k.desc.symbols['flushAllWindows']!), []);
    return 0n;
  },
};
