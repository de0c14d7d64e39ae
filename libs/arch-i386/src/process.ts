// arch/x86/kernel/process.c and process_32.c (Linux 6.18): copy_thread(), start_thread()
// with ELF_PLAT_INIT, and the C half of __switch_to().
//
// A newborn's struct inactive_task_frame (arch.json switchFrame: flags si di bx bp
// ret_addr) sits just below its pt_regs (struct fork_frame) and thread.sp points at it, so
// __switch_to_asm pops it and returns into ret_from_fork_asm with esp at the
// pt_regs base.

import type { ProcessHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { EFLAGS, GDT_ENTRY_TLS_ENTRIES, GDT_ENTRY_TLS_MIN, GDT_OFFSET, TSS, USER_CS, USER_DS, tssAddress } from './cpu.ts';

/**
 * load_TLS(t): the task's TLS descriptors (thread.tls_array) into the CPU's GDT entries
 * GDT_ENTRY_TLS_MIN.. (arch/x86/include/asm/desc.h native_load_tls). A %gs that selects one
 * picks the new base up at its next load.
 */
export function loadTLS(k: KernelApi, t: Task): void {
  const tls = k.threadSlot(t, 'tls_array');
  const gdt = k.desc.memory.kernelData + GDT_OFFSET + BigInt(GDT_ENTRY_TLS_MIN * 8);
  k.m.write(gdt, k.m.read(tls, GDT_ENTRY_TLS_ENTRIES * 8));
}

/** encode_frame_pointer() (CONFIG_FRAME_POINTER, 32-bit): the regs address, top bit clear. */
const encodeFramePointer = (regs: bigint) => regs & ~0x80000000n;

export const hooks: ProcessHooks = {
  copy_thread(k, p, args, regs) {
    const childregs = k.taskPtRegs(p);
    const frame = childregs.base - BigInt(k.desc.switchFrame.size);
    k.m.write(frame, new Uint8Array(k.desc.switchFrame.size));
    k.writeWord(k.switchFrameSlot(p, 'bp'), encodeFramePointer(childregs.base));
    k.writeWord(k.switchFrameSlot(p, 'ret_addr'), k.sym(k.desc.symbols.retFromFork));
    k.writeWord(k.threadSlot(p, 'sp'), frame);
    // thread.sp0 = childregs + 1: the top of stack the CPU switches to from user mode
    k.writeWord(k.threadSlot(p, 'sp0'), childregs.base + BigInt(k.desc.ptRegs.size));
    k.writeWord(k.threadSlot(p, 'gs'), k.m.reg('gs')); // savesegment(gs, p->thread.gs)
    // all status flags clear, IF included: the newborn starts with irqs off
    k.writeWord(k.switchFrameSlot(p, 'flags'), EFLAGS.FIXED);
    // dup_task_struct() copied the parent's task_struct: its TLS descriptors too
    k.m.write(k.threadSlot(p, 'tls_array'), k.m.read(k.threadSlot(k.current(), 'tls_array'), GDT_ENTRY_TLS_ENTRIES * 8));

    if (args.fn !== null) {
      // Kernel thread: zeroed pt_regs, fn/arg in the frame's bx/di (kthread_frame_init).
      childregs.zero();
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.fn), args.fn);
      k.writeWord(k.switchFrameSlot(p, k.desc.kthread.arg), args.fnArg);
      return;
    }
    // User fork/clone: the parent's registers with ax = 0; bx = 0 in the frame tells
    // ret_from_fork there is no kernel function to call. CLONE_SETTLS (set_new_tls: a
    // struct user_desc into the task's GDT TLS entries) is not modelled.
    k.writeWord(k.switchFrameSlot(p, 'bx'), 0n);
    if (childregs.base !== regs!.base) childregs.copyFrom(regs!);
    childregs.set('ax', 0n);
    if (args.stack !== 0n) childregs.set('sp', args.stack);
  },

  /**
   * __switch_to(prev_p, next_p), the C half (process_32.c), which the core runs from
   * schedule() right before __switch_to_asm (Linux tail-calls it from there: the same
   * steps, after the stack switch): %gs saved in prev and loaded for next
   * (the kernel does not use it) after next's TLS descriptors went into the GDT, and TSS.esp0 set to next's top of stack
   * (update_task_stack()), where the CPU's next entry from user mode puts next's pt_regs.
   */
  __switch_to(k, prev, next) {
    k.writeWord(k.threadSlot(prev, 'gs'), k.m.reg('gs')); // savesegment(gs, prev->gs)
    loadTLS(k, next);
    // 6.18 writes tss.sp1 for the entry trampoline stack; without that stack (not
    // modelled) the CPU's own stack switch uses esp0, as load_sp0() did
    k.writeWord(tssAddress(k.desc) + TSS.esp0, k.readWord(k.threadSlot(next, 'sp0')));
    const prevGs = k.readWord(k.threadSlot(prev, 'gs'));
    const nextGs = k.readWord(k.threadSlot(next, 'gs'));
    if (prevGs | nextGs) k.m.setReg('gs', nextGs); // loadsegment(gs, next->gs)
  },

  start_thread(k, regs, pc, sp) {
    // ELF_PLAT_INIT (asm/elf.h, 32-bit) clears the general registers; start_thread()
    // loads the user segments (gs = 0 in the CPU, fs = 0 in the frame), ip, sp and IF.
    // orig_ax is left for the execve exit stop.
    for (const f of ['bx', 'cx', 'dx', 'si', 'di', 'bp', 'ax']) regs.set(f, 0n);
    // flush_thread() (begin_new_exec): no TLS descriptors in the new image
    const t = k.current();
    k.m.write(k.threadSlot(t, 'tls_array'), new Uint8Array(GDT_ENTRY_TLS_ENTRIES * 8));
    loadTLS(k, t);
    k.m.setReg('gs', 0n);
    k.writeWord(k.threadSlot(t, 'gs'), 0n);
    regs.set('fs', 0n);
    regs.set('ds', BigInt(USER_DS));
    regs.set('es', BigInt(USER_DS));
    regs.set('ss', BigInt(USER_DS));
    regs.set('cs', BigInt(USER_CS));
    regs.set('ip', pc);
    regs.set('sp', sp);
    regs.set('flags', EFLAGS.IF);
  },
};
