// arch/m68k/kernel/process.c (Linux 6.18): copy_thread() and start_thread(). A new task's
// kernel stack ends in a fork_frame: its switch_stack, then its pt_regs
// (arch.json switchFrame is the switch_stack); thread.ksp points at it, so resume's
// RESTORE_SWITCH_STACK and rts wake the task in sw.retpc with %sp at its pt_regs.
// The user stack pointer is thread.usp (resume restores it into the usp register), TLS is
// thread_info.tp_value: there is no C half of __switch_to.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { SR } from './cpu.ts';
import { SW } from './signal.ts';

/** Function codes (asm/processor.h): what flush_thread and copy_thread leave in sfc/dfc. */
export const USER_DATA = 1n;
/** struct thread_info at the stack base (asm/thread_info.h): task, flags, preempt_count, cpu, tp_value. */
export const THREAD_INFO = { task: 0n, flags: 4n, preemptCount: 8n, cpu: 12n, tpValue: 16n, size: 20n } as const;

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const frameRegs = k.taskPtRegs(p);
    const sw = frameRegs.base - BigInt(k.desc.switchFrame.size);
    const frameSize = k.desc.switchFrame.size + k.desc.ptRegs.size;
    // setup_thread_stack() (kernel/fork.c): the parent's thread_info (tp_value with it) at
    // the stack base, naming its own task, which is how GET_CURRENT finds current
    k.m.write(p.stackBase, k.m.read(k.current().stackBase, Number(THREAD_INFO.size)));
    k.writeWord(p.stackBase + THREAD_INFO.task, p.addr);
    k.writeThread(p, 'ksp', sw);
    k.writeThread(p, 'esp0', frameRegs.base);
    // dup_task_struct() copied the parent's thread_struct: sr is a supervisor SR
    // (INIT_THREAD's PS_S, or what resume saved), which resume loads with IPL 7
    k.writeThread(p, 'sr', BigInt(SR.S));
    k.writeThread(p, 'fc', USER_DATA);

    if (args.fn !== null) {
      // kernel thread
      k.m.write(sw, new Uint8Array(frameSize));
      frameRegs.set('sr', BigInt(SR.S));
      k.writeWord(sw + SW.a3, args.fn);
      k.writeWord(sw + SW.d7, args.fnArg);
      k.writeWord(sw + SW.retpc, k.sym('ret_from_kernel_thread'));
      k.writeThread(p, 'usp', 0n);
      return;
    }
    // The parent's fork_frame: the switch_stack __sys_fork/__sys_clone/__sys_vfork pushed
    // next to current_pt_regs() (fork_idle: a zero-filled one), and the pt_regs.
    const parent = regs ?? k.currentPtRegs();
    if (parent.base !== frameRegs.base) k.m.write(sw, k.m.read(parent.base - BigInt(k.desc.switchFrame.size), frameSize));
    frameRegs.set('d0', 0n);
    k.writeWord(sw + SW.retpc, k.sym(k.desc.symbols.retFromFork));
    k.writeThread(p, 'usp', args.stack !== 0n ? args.stack : k.m.reg('usp'));
    if (args.flags & CLONE_SETTLS) k.writeWord(p.stackBase + THREAD_INFO.tpValue, args.tls);
  },

  start_thread(k, regs, pc, sp) {
    // ELF_PLAT_INIT (asm/elf.h)
    regs.set('a1', 0n);
    // start_thread(): pc, user mode, the usp; nothing else (setframeformat is ColdFire's)
    regs.pc = pc;
    regs.set('sr', regs.get('sr') & ~BigInt(SR.S));
    k.m.setReg('usp', sp);
  },
};
