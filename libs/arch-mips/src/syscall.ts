// arch/mips/include/asm/syscall.h and the o32 bookkeeping of scall32-o32.S / signal.c.
// The syscall a task is in is thread_info->syscall (handle_sys records it; a tracer's
// new number goes there and into regs[2], which syscall_trace_entry reloads). The result
// is v0 with the error flag in a3 (the default flag convention of arch.json). A frame
// whose restart is still to be decided has regs[0] != 0: handle_sys's error path puts the
// syscall number there (SAVE_SOME stores $0 at every entry); the restart rewind puts it
// back in v0 and the caller's a3, kept in regs[26], back in a3; then regs[0] is cleared
// so a second pass cannot rewind again (handle_signal, do_signal).

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';

/** thread_info->syscall of the current task (the arch's part of the core's task_struct). */
export function tiSyscall(k: KernelApi): bigint {
  return k.threadSlot(k.current(), 'ti_syscall');
}

/** O32 syscall(): mips_syscall_is_indirect(). */
const isIndirect = (k: KernelApi, regs: PtRegs) => regs.get('v0') === BigInt(k.desc.syscall.numbers['syscall']!);

/** mips_get_syscall_arg(): 0-3 in a0-a3, 4-7 in pt_regs.args[] (copied from the user stack). */
const ARG_SLOTS = ['r4', 'r5', 'r6', 'r7', 'arg4', 'arg5', 'arg6', 'arg7'];

export const hooks: SyscallHooks = {
  syscall_get_nr: (k) => BigInt.asIntN(32, k.readWord(tiSyscall(k))),
  syscall_set_nr: (k, regs, nr) => {
    // regs[2] too: syscall_trace_entry loads the number from there
    k.writeWord(tiSyscall(k), nr);
    regs.set('r2', nr);
  },
  in_syscall: (_k, regs) => regs.get('r0') !== 0n,
  forget_syscall: (_k, regs) => regs.set('r0', 0n),
  // what the restart puts back: the number in v0, the caller's a3
  syscall_rollback: (_k, regs) => {
    regs.set('r2', regs.get('r0'));
    regs.set('r7', regs.get('r26'));
  },
  // ERESTART_RESTARTBLOCK without a handler: v0 = current->thread.abi->restart
  set_restart_syscall: (k, regs) => regs.set('r2', BigInt(k.desc.syscall.numbers['restart_syscall']!)),
  syscall_get_arguments: (k, regs) => {
    const first = isIndirect(k, regs) ? 1 : 0;
    return ARG_SLOTS.slice(first, first + 6).map((s) => regs.get(s));
  },
  syscall_set_arguments: (_k, regs, args) => args.slice(0, 6).forEach((v, i) => regs.set(ARG_SLOTS[i]!, v)),
  arch_syscalls: {
    /** set_thread_area(addr) (syscall.c): thread_info->tp_value, and UserLocal now (cpu_has_userlocal). */
    set_thread_area(k, addr) {
      k.writeWord(k.threadSlot(k.current(), 'ti_tp_value'), addr!);
      k.m.setReg('userlocal', addr!);
      return 0n;
    },
  },
};
