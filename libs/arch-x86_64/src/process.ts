// arch/x86/kernel/process.c, process_64.c (Linux 6.18): copy_thread(), start_thread(), and
// the fs/gs base part of __switch_to() (the user's GS base is MSR_KERNEL_GS_BASE while in
// the kernel).
//
// A newborn's struct inactive_task_frame (arch.json switchFrame) sits just below its
// pt_regs and thread.sp points at it, so __switch_to_asm pops it and returns into
// ret_from_fork_asm with rsp at the pt_regs base.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { EFLAGS, USER_CS, USER_DS } from './cpu.ts';

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    const frame = childregs.base - BigInt(k.desc.switchFrame.size);
    k.m.write(frame, new Uint8Array(k.desc.switchFrame.size));
    k.writeWord(k.switchFrameSlot(p, 'ret_addr'), k.sym(k.desc.symbols.retFromFork));
    k.writeWord(k.threadSlot(p, 'sp'), frame);
    // the child's TLS is the parent's (the live MSR: the parent is running) unless asked
    k.writeWord(k.threadSlot(p, 'fsbase'), k.m.reg('fs_base'));
    k.writeWord(k.threadSlot(p, 'gsbase'), k.m.reg('kernel_gs_base'));

    if (args.fn !== null) {
      // Kernel thread: zeroed pt_regs, fn/arg in the frame's rbx/r12 (kthread_frame_init).
      childregs.zero();
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
      k.writeWord(k.threadSlot(p, 'fsbase'), 0n);
      k.writeWord(k.threadSlot(p, 'gsbase'), 0n);
      return;
    }
    // User fork/clone: the parent's registers with ax = 0; bx = 0 in the frame tells
    // ret_from_fork there is no kernel function to call.
    if (childregs.base !== regs!.base) childregs.copyFrom(regs!);
    childregs.set('ax', 0n);
    if (args.stack !== 0n) childregs.set('sp', args.stack);
    if (args.flags & CLONE_SETTLS) k.writeWord(k.threadSlot(p, 'fsbase'), args.tls);
  },

  start_thread(k, regs, pc, sp) {
    // start_thread_common(): user segments, IF; ELF_PLAT_INIT (elf_common_init) clears the
    // general registers. orig_ax is left for the execve exit stop.
    for (const f of ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di']) regs.set(f, 0n);
    regs.set('ip', pc);
    regs.set('sp', sp);
    regs.set('cs', BigInt(USER_CS));
    regs.set('ss', BigInt(USER_DS));
    regs.set('flags', EFLAGS.IF | EFLAGS.FIXED);
    k.writeWord(k.threadSlot(k.current(), 'fsbase'), 0n);
    k.m.setReg('fs_base', 0n);
    k.writeWord(k.threadSlot(k.current(), 'gsbase'), 0n);
    k.m.setReg('kernel_gs_base', 0n);
  },

  __switch_to(k, prev, next) {
    // save_fsgs()/x86_fsgsbase_load(): the user's fs base, and its gs base, which in the
    // kernel is the inactive one
    k.writeWord(k.threadSlot(prev, 'fsbase'), k.m.reg('fs_base'));
    k.writeWord(k.threadSlot(prev, 'gsbase'), k.m.reg('kernel_gs_base'));
    k.m.setReg('fs_base', k.readWord(k.threadSlot(next, 'fsbase')));
    k.m.setReg('kernel_gs_base', k.readWord(k.threadSlot(next, 'gsbase')));
  },
};
