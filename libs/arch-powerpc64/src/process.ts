// arch/powerpc/kernel/process.c (Linux 6.18, 64-bit): copy_thread() and start_thread(). The
// new task's stack, from the top: the user interrupt frame (a 48-byte header, ELFv2: the
// back chain, the LR save doubleword at +16 holding the first function, the "REGS" marker
// at +32, then pt_regs at the very top: current_pt_regs()), and under it _switch's frame (a
// back chain and a pt_regs-shaped frame whose nip is where _switch returns and whose
// r14..r31 it loads). thread.ksp points at that frame. The user's TLS pointer is r13 (in
// pt_regs; the kernel's r13 is the PACA), so __switch_to has no C half here.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { MSR, MSR_USER64 } from './cpu.ts';
import { IRQS_ENABLED } from './entry.ts';

/** STACK_INT_FRAME_REGS (ELFv2: STACK_FRAME_MIN_SIZE 32 + 16) and the offsets in the header (asm/ptrace.h). */
const INT_FRAME_REGS = 48n;
const LR_SAVE = 16n;
const INT_FRAME_MARKER = 32n;
const STACK_FRAME_REGS_MARKER = 0x52454753n; // "REGS"
const MSR_VEC = 0x2000000n;
const MSR_VSX = 0x800000n;

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    // the user interrupt frame: STACK_USER_INT_FRAME_SIZE below the stack top, pt_regs at its +48
    let sp = childregs.base - INT_FRAME_REGS;
    k.writeWord(sp + INT_FRAME_MARKER, STACK_FRAME_REGS_MARKER);
    let f: bigint;
    if (args.fn !== null) {
      // A task that first runs fn in the kernel and may then return to user mode as from
      // execve (user_mode_thread(): the kit's kernel_thread() may exec, kernel_init does):
      // zeroed user registers for kernel_execve() to fill.
      k.writeWord(sp, 0n);
      childregs.zero();
      childregs.set('softe', IRQS_ENABLED);
      f = k.sym(k.desc.symbols['retFromKernelUserThread']!);
    } else {
      // fork/clone: a copy of the parent's current_pt_regs() (fork_idle: zero-filled ones),
      // the new stack and TLS (r13 for a 64-bit task) when asked; fork's 0 is ret_from_fork's
      const parent = regs ?? k.currentPtRegs();
      if (parent.base !== childregs.base) childregs.copyFrom(parent);
      if (args.stack !== 0n) childregs.sp = args.stack;
      k.writeWord(sp, childregs.sp);
      if (args.flags & CLONE_SETTLS) childregs.set('gpr13', args.tls);
      f = k.sym(k.desc.symbols.retFromFork);
    }
    childregs.set('msr', childregs.get('msr') & ~(MSR.FP | MSR_VEC | MSR_VSX));
    k.writeWord(k.threadSlot(p, 'regs'), childregs.base);
    // _switch's frame: it returns to f; a kernel thread's fn and argument in r14/r15
    k.writeWord(sp + LR_SAVE, f);
    const switchFrameSize = BigInt(k.desc.switchFrame.size) - INT_FRAME_REGS;
    sp -= switchFrameSize;
    k.writeWord(sp, sp + switchFrameSize);
    k.writeWord(k.switchFrameSlot(p, 'nip'), f);
    if (args.fn !== null) {
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
    }
    if (k.switchFrameSlot(p, 'backchain') !== sp) k.bug('C1', 'powerpc64: arch.json switchFrame does not end at the user interrupt frame');
    k.writeWord(k.threadSlot(p, 'sp'), sp); // thread.ksp
    // setup_ksp_vsid(): hash MMU only (radix: nothing)
  },

  start_thread(k, regs, pc, sp) {
    // every gpr but r0 (still the execve number) zeroed, ctr, link, xer, ccr too; ELFv2
    // (is_elf2_task(): the kit's images are ELFv2, SET_PERSONALITY set TIF_ELF2ABI): the
    // entry also in r12, and _TIF_RESTOREALL so that the exit really loads all of it
    for (let i = 1; i < 32; i++) regs.set(`gpr${i}`, 0n);
    for (const f of ['ctr', 'link', 'xer', 'ccr']) regs.set(f, 0n);
    regs.sp = sp;
    const t = k.current();
    k.setTif(t, 'ELF2ABI');
    regs.set('gpr12', pc);
    k.setTif(t, 'RESTOREALL');
    regs.pc = pc;
    regs.set('msr', MSR_USER64);
  },
};
