// arch/powerpc/kernel/process.c (Linux 6.18): copy_thread() and start_thread(). The new
// task's stack, from the top: the user interrupt frame (a 16-byte header with the back
// chain, the LR save word holding the first function and the "REGS" marker, then pt_regs
// at the very top: current_pt_regs()), and under it _switch's frame (a back chain and a
// pt_regs-shaped frame whose nip is where _switch returns and whose r13..r31 it loads).
// thread.ksp points at that frame. 32-bit has no TLS register apart from r2 (in pt_regs),
// so __switch_to has no C half here.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { MSR, MSR_USER } from './cpu.ts';

/** STACK_FRAME_MIN_SIZE and the offsets in it (asm/ptrace.h, 32-bit). */
const FRAME_MIN = 16n;
const LR_SAVE = 4n;
const INT_FRAME_MARKER = 8n;
const STACK_FRAME_REGS_MARKER = 0x52454753n; // "REGS"
const MSR_VEC = 0x2000000n;
const MSR_VSX = 0x800000n;

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    // the user interrupt frame: STACK_USER_INT_FRAME_SIZE below the stack top, pt_regs at its +16
    let sp = childregs.base - FRAME_MIN;
    k.writeWord(sp + INT_FRAME_MARKER, STACK_FRAME_REGS_MARKER);
    let f: bigint;
    if (args.fn !== null) {
      // A task that first runs fn in the kernel and may then return to user mode as from
      // execve (user_mode_thread(): the kit's kernel_thread() may exec, kernel_init does):
      // zeroed user registers for kernel_execve() to fill.
      k.writeWord(sp, 0n);
      childregs.zero();
      f = k.sym(k.desc.symbols['retFromKernelUserThread']!);
    } else {
      // fork/clone: a copy of the parent's current_pt_regs() (fork_idle: zero-filled ones),
      // the new stack and TLS (r2 on 32-bit) when asked; fork's 0 is ret_from_fork's
      const parent = regs ?? k.currentPtRegs();
      if (parent.base !== childregs.base) childregs.copyFrom(parent);
      if (args.stack !== 0n) childregs.sp = args.stack;
      k.writeWord(sp, childregs.sp);
      if (args.flags & CLONE_SETTLS) childregs.set('gpr2', args.tls);
      f = k.sym(k.desc.symbols.retFromFork);
    }
    childregs.set('msr', childregs.get('msr') & ~(MSR.FP | MSR_VEC | MSR_VSX));
    k.writeWord(k.threadSlot(p, 'regs'), childregs.base);
    // _switch's frame: it returns to f; a kernel thread's fn and argument in r14/r15
    k.writeWord(sp + LR_SAVE, f);
    const switchFrameSize = BigInt(k.desc.switchFrame.size) - FRAME_MIN;
    sp -= switchFrameSize;
    k.writeWord(sp, sp + switchFrameSize);
    k.writeWord(k.switchFrameSlot(p, 'nip'), f);
    if (args.fn !== null) {
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
    }
    if (k.switchFrameSlot(p, 'backchain') !== sp) k.bug('C1', 'powerpc: arch.json switchFrame does not end at the user interrupt frame');
    k.writeWord(k.threadSlot(p, 'sp'), sp); // thread.ksp
  },

  start_thread(k, regs, pc, sp) {
    void k;
    // every gpr but r0, ctr, link, xer, ccr zeroed in pt_regs; the 32-bit syscall exit
    // restores only r1, r2, r3, cr and lr from there, so the non-volatiles the old image
    // had survive into the new one
    for (let i = 1; i < 32; i++) regs.set(`gpr${i}`, 0n);
    for (const f of ['ctr', 'link', 'xer', 'ccr', 'mq']) regs.set(f, 0n);
    regs.sp = sp;
    regs.pc = pc;
    regs.set('msr', MSR_USER);
  },
};
