// arch/arm64/kernel/process.c (Linux 6.18): copy_thread(), start_thread() and the TLS part
// of __switch_to(). The switch frame is thread.cpu_context {x19..x28, fp, sp, pc}
// (arch.json switchFrame); cpu_switch_to loads it and returns into its pc.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';

export const PSR_MODE_EL0t = 0x0n;
export const PSR_MODE_EL1h = 0x5n;
export const PSR_IL_BIT = 1n << 20n;
export const FRAME_META_TYPE_FINAL = 1n;

function tpValue(k: KernelApi, t: Task): bigint {
  return k.threadSlot(t, 'tp_value');
}

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const sf = k.desc.switchFrame;
    k.m.write(k.taskThread(p) + BigInt(sf.offset), new Uint8Array(sf.size));
    const childregs = k.taskPtRegs(p);
    if (args.fn === null) {
      // fork/clone (and fork_idle's zero-filled regs): the parent's frame, x0 = 0; the
      // TLS register may be newer than its saved copy, so the live one is read.
      if (regs!.base !== childregs.base) childregs.copyFrom(regs!);
      childregs.set('x0', 0n);
      k.writeWord(tpValue(k, p), k.m.reg('tpidr_el0'));
      if (args.stack !== 0n) childregs.sp = args.stack;
      if (args.flags & CLONE_SETTLS) k.writeWord(tpValue(k, p), args.tls);
    } else {
      // A kthread has no context to eret to: any stray eret is an illegal exception return.
      childregs.zero();
      childregs.set('pstate', PSR_MODE_EL1h | PSR_IL_BIT);
      childregs.set('stackframe_type', FRAME_META_TYPE_FINAL);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
    }
    k.writeWord(k.switchFrameSlot(p, 'pc'), k.sym(k.desc.symbols.retFromFork));
    k.writeWord(k.switchFrameSlot(p, 'sp'), childregs.base);
    // the final frame for unwinders
    k.writeWord(k.switchFrameSlot(p, 'fp'), childregs.base + BigInt(k.desc.ptRegs.fields.find((f) => f.name === 'stackframe_fp')!.offset));
  },

  start_thread(k, regs, pc, sp) {
    void k;
    // start_thread_common(): every user register zero, pc and pstate set; syscallno is
    // kept (the execve exit tracepoint), orig_x0 cleared; the final frame record stays.
    for (let i = 0; i < 31; i++) regs.set(`x${i}`, 0n);
    regs.set('pstate', PSR_MODE_EL0t);
    regs.pc = pc;
    regs.sp = sp;
    regs.set('orig_x0', 0n);
  },

  __switch_to(k, prev, next) {
    // tls_thread_switch(): save the outgoing TPIDR_EL0, load the incoming one
    k.writeWord(tpValue(k, prev), k.m.reg('tpidr_el0'));
    k.m.setReg('tpidr_el0', k.readWord(tpValue(k, next)));
  },
};
