// arch/mips/kernel/process.c (Linux 6.18): copy_thread(), start_thread() with the o32
// ELF_PLAT_INIT (asm/elf.h), and the C half of switch_to (asm/switch_to.h: the UserLocal
// register). The switch frame is thread_struct {reg16..reg23, reg29, reg30, reg31,
// cp0_status} (arch.json switchFrame); resume loads it and returns to reg31.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { ST0 } from './cpu.ts';

/** thread_info->tp_value of a task (the arch's part of the core's task_struct). */
export function tpValue(k: KernelApi, t: Task): bigint {
  return k.threadSlot(t, 'ti_tp_value');
}

const slot = (k: KernelApi, p: Task, name: string) => k.switchFrameSlot(p, name);

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    // A child starts with CU1/CU2 off, so its first FPU or COP2 use traps and gets
    // fresh state instead of the parent's; CU0 stays set while it runs in the kernel.
    const status = (k.m.reg('status') & ~(ST0.CU2 | ST0.CU1)) | ST0.CU0;
    k.writeWord(slot(k, p, 'cp0_status'), status);
    if (args.fn !== null) {
      // Kernel thread: zeroed pt_regs with a kernel EXL status; fn and its argument in
      // thread.reg16/reg17, where ret_from_kernel_thread finds them in s0/s1.
      childregs.zero();
      k.writeWord(slot(k, p, k.desc.kthread.fn), args.fn);
      k.writeWord(slot(k, p, k.desc.kthread.arg), args.fnArg);
      k.writeWord(slot(k, p, 'reg29'), childregs.base);
      k.writeWord(slot(k, p, 'reg31'), k.sym(k.desc.symbols['retFromKernelThread']!));
      childregs.set('status', status | ST0.EXL);
      return;
    }
    // User thread: the parent's frame (fork_idle: a zero-filled one), no error flag,
    // 0 as the return value, the new user stack if given.
    const parent = regs ?? k.currentPtRegs();
    if (parent.base !== childregs.base) childregs.copyFrom(parent);
    childregs.set('r7', 0n);
    childregs.set('r2', 0n);
    if (args.stack !== 0n) childregs.sp = args.stack;
    k.writeWord(slot(k, p, 'reg29'), childregs.base);
    k.writeWord(slot(k, p, 'reg31'), k.sym(k.desc.symbols.retFromFork));
    childregs.set('status', childregs.get('status') & ~(ST0.CU2 | ST0.CU1));
    // thread_info is copied from the parent (dup_task_struct): the TLS pointer too
    k.writeWord(tpValue(k, p), args.flags & CLONE_SETTLS ? args.tls : k.readWord(tpValue(k, k.current())));
  },

  start_thread(k, regs, pc, sp) {
    void k;
    // ELF_PLAT_INIT: every general register but sp is cleared
    for (let i = 1; i < 32; i++) if (i !== 29) regs.set(`r${i}`, 0n);
    // the new image loses kernel privileges: CU0/CU1/CU2, FR and KSU cleared, user mode
    regs.set('status', (regs.get('status') & ~(ST0.CU0 | ST0.CU1 | ST0.CU2 | ST0.FR | ST0.KSU)) | ST0.KU_USER);
    regs.pc = pc;
    regs.sp = sp;
  },

  __switch_to(k, prev, next) {
    void prev;
    // The next task's TLS pointer goes into UserLocal, where rdhwr $29 reads it.
    k.m.setReg('userlocal', k.readWord(tpValue(k, next)));
  },
};
