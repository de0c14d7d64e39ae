// arch/riscv/kernel/process.c (Linux 6.18): copy_thread() and start_thread(). The switch
// frame is thread_struct {ra, sp, s[12]} (arch.json switchFrame); __switch_to loads it and
// returns into its ra. The TLS pointer is tp, a general register saved in pt_regs, so
// __switch_to has no C half.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { SR } from './cpu.ts';

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    // memset(&p->thread.s, 0, ...)
    for (let i = 0; i < 12; i++) k.writeWord(k.switchFrameSlot(p, `s${i}`), 0n);
    if (args.fn !== null) {
      // Kernel thread: zeroed pt_regs, "Supervisor, irqs on" for a return that never comes
      // unless fn exec's; fn and its argument in thread.s[0] and s[1].
      childregs.zero();
      childregs.set('status', SR.SPP | SR.SPIE);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
      k.writeWord(k.switchFrameSlot(p, 'ra'), k.sym(k.desc.symbols['retFromForkKernel']!));
    } else {
      // User fork/clone: Linux copies current_pt_regs(), which is what the core hands over
      // (fork_idle: a zero-filled frame); a new stack and TLS when asked, 0 for the child.
      const parent = regs ?? k.currentPtRegs();
      if (parent.base !== childregs.base) childregs.copyFrom(parent);
      if (args.stack !== 0n) childregs.sp = args.stack;
      if (args.flags & CLONE_SETTLS) childregs.set('tp', args.tls);
      childregs.set('a0', 0n);
      k.writeWord(k.switchFrameSlot(p, 'ra'), k.sym(k.desc.symbols.retFromFork));
    }
    // the kernel sp __switch_to loads: the child's pt_regs
    k.writeWord(k.switchFrameSlot(p, 'sp'), childregs.base);
  },

  start_thread(k, regs, pc, sp) {
    void k;
    // SPIE (user mode runs with interrupts on), FP usable from its initial state, 64-bit
    // user XLEN. Nothing else: riscv defines no ELF_PLAT_INIT, so the other registers keep
    // whatever the exec'ing image left in pt_regs.
    regs.set('status', SR.SPIE | SR.FS_INITIAL | SR.UXL_64);
    regs.pc = pc;
    regs.sp = sp;
  },
};
