// arch/arm/kernel/process.c (Linux 6.18): copy_thread(), and start_thread() from
// asm/processor.h. The switch frame is thread_info.cpu_context {r4-r9, sl, fp, sp, pc,
// extra[2]} (arch.json switchFrame); __switch_to loads it and jumps to its pc. The TLS
// values live in thread_info.tp_value[2] and are switched by the asm (switch_tls_v6k and
// restore_user_regs), so __switch_to has no C half.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import { CLONE_SETTLS } from '@archkit/generic-core/kernel/abi';
import { MODE, PSR_T_BIT } from './cpu.ts';

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    // dup_task_struct() copied the parent's thread_info (abi_syscall, tp_value); the kit
    // allocates a zeroed task_struct, so the copy is made here
    const parent = k.current();
    const thread = k.taskThread(p);
    k.m.write(thread, k.m.read(k.taskThread(parent), k.desc.thread.size));
    const sf = k.desc.switchFrame;
    k.m.write(thread + BigInt(sf.offset), new Uint8Array(sf.size));
    const childregs = k.taskPtRegs(p);
    if (args.fn === null) {
      // fork/clone (fork_idle: zero-filled regs): *childregs = *current_pt_regs(), r0 = 0
      const parentRegs = regs ?? k.currentPtRegs();
      if (parentRegs.base !== childregs.base) childregs.copyFrom(parentRegs);
      childregs.set('r0', 0n);
      if (args.stack !== 0n) childregs.sp = args.stack;
    } else {
      // a kernel thread: zeroed pt_regs in SVC mode (no way to user mode until fn
      // exec's); fn_arg in cpu_context.r4, fn in r5, for ret_from_fork
      childregs.zero();
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      childregs.set('cpsr', MODE.SVC);
    }
    k.writeWord(k.switchFrameSlot(p, 'pc'), k.sym(k.desc.symbols.retFromFork));
    k.writeWord(k.switchFrameSlot(p, 'sp'), childregs.base);
    const tp = k.threadSlot(p, 'tp_value');
    if (args.flags & CLONE_SETTLS) k.writeWord(tp, args.tls);
    // tp_value[1] = get_tpuser(): the live user r/w TLS register
    k.writeWord(tp + 4n, k.m.reg('tpidrurw'));
  },

  start_thread(k, regs, pc, sp) {
    void k;
    // memset(regs->uregs, 0, ...): every register, cpsr and ORIG_r0; then USR mode
    // (Thumb when the entry's bit 0 says so), pc and sp
    regs.zero();
    regs.set('cpsr', MODE.USR | (pc & 1n ? PSR_T_BIT : 0n));
    regs.pc = pc & ~1n;
    regs.sp = sp;
  },
};
