// arch/s390/kernel/process.c (Linux 6.18): copy_thread(), start_thread()
// (asm/processor.h, with ELF_PLAT_INIT from asm/elf.h) and the C half of __switch_to.
// The switch frame is struct stack_frame just below the child's pt_regs (copy_thread's
// fake_frame): __switch_to_asm reloads r6-r15 from it and branches to r14.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { PSW, PSW_KERNEL_BITS, PSW_USER_BITS } from './cpu.ts';
import { ARCH_DATA } from './entry.ts';

/** save_access_regs(): the live a0-a15 into t->thread.acrs. */
function saveAccessRegs(k: KernelApi, t: Task): void {
  const acrs = k.threadSlot(t, 'acrs');
  for (let i = 0; i < 16; i++) k.m.writeUint(acrs + BigInt(4 * i), 4, k.m.reg(`a${i}`));
}

/** restore_access_regs(): t->thread.acrs into a0-a15. */
function restoreAccessRegs(k: KernelApi, t: Task): void {
  const acrs = k.threadSlot(t, 'acrs');
  for (let i = 0; i < 16; i++) k.m.setReg(`a${i}`, k.m.readUint(acrs + BigInt(4 * i), 4));
}

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    // the switch frame (a struct stack_frame) sits right below childregs: fake_frame
    const frame = childregs.base - BigInt(k.desc.switchFrame.size);
    k.writeWord(k.threadSlot(p, 'sp'), frame);
    // dup_task_struct() copied the parent's task_struct, restart_block included
    const parent = k.current();
    p.arch[ARCH_DATA] = parent.arch[ARCH_DATA] ?? 0n;
    saveAccessRegs(k, p);
    k.writeWord(k.threadSlot(p, 'last_break'), 1n);
    k.m.write(frame, new Uint8Array(k.desc.switchFrame.size));
    k.writeWord(k.switchFrameSlot(p, 'r11'), childregs.base);
    k.writeWord(k.switchFrameSlot(p, 'r12'), p.addr);
    // __switch_to_asm loads these and its br %r14 wakes the child in ret_from_fork
    k.writeWord(k.switchFrameSlot(p, 'r14'), k.sym(k.desc.symbols.retFromFork));
    k.writeWord(k.switchFrameSlot(p, 'r15'), frame);
    if (args.fn !== null) {
      // Kernel thread: zeroed pt_regs with a supervisor PSW, fn and arg in gprs[9]/[10]
      // for __ret_from_fork (not in the switch frame: arch.json kthread.frame).
      childregs.zero();
      childregs.set('psw_mask', PSW_KERNEL_BITS | PSW.IO | PSW.EXT | PSW.MCHECK);
      childregs.set(k.desc.kthread.fn, args.fn);
      childregs.set(k.desc.kthread.arg, args.fnArg);
      childregs.set('orig_gpr2', -1n);
      childregs.set('last_break', 1n);
      return;
    }
    // A fork child: the parent's current_pt_regs() (fork_idle: zero-filled ones), 0 as the
    // result, no flags (no PIF_SYSCALL: nothing to restart), the new stack when asked.
    const parentRegs = regs ?? k.currentPtRegs();
    if (parentRegs.base !== childregs.base) childregs.copyFrom(parentRegs);
    childregs.set('r2', 0n);
    childregs.set('flags', 0n);
    if (args.stack !== 0n) childregs.sp = args.stack;
    childregs.set('psw_mask', childregs.get('psw_mask') & ~PSW.RI);
    // CLONE_SETTLS: the thread pointer is the access-register pair a0:a1
    if (args.flags & CLONE_SETTLS) {
      const acrs = k.threadSlot(p, 'acrs');
      k.m.writeUint(acrs, 4, args.tls >> 32n);
      k.m.writeUint(acrs + 4n, 4, args.tls & 0xffffffffn);
    }
    // the svc return address the vDSO restart stores in arch_data: 1 = none stored
    p.arch[ARCH_DATA] = 1n;
  },

  start_thread(k, regs, pc, sp) {
    void k;
    // ELF_PLAT_INIT: r14 (the atexit function for SVR4/S390) = 0; start_thread: the user
    // PSW (64-bit) and r15. Every other register keeps what the old image had.
    regs.set('r14', 0n);
    regs.set('psw_mask', PSW_USER_BITS | PSW.EA | PSW.BA);
    regs.pc = pc;
    regs.sp = sp;
  },

  // The C half of __switch_to: the user's access registers (the TLS pointer) follow the task.
  __switch_to(k, prev, next) {
    saveAccessRegs(k, prev);
    restoreAccessRegs(k, next);
  },
};
