// arch/m68k/include/asm/syscall.h (Linux 6.18): the syscall a frame belongs to is orig_d0
// (-1 for "not a syscall": SAVE_ALL_INT, and both sigreturns), the result is d0, and what
// the result overwrote was the syscall number, put back from orig_d0 for a restart. Nothing
// marks a restart consumed: once rewound, d0 no longer holds an -ERESTART value.
//
// syscall_get_arguments()/syscall_set_arguments() give the arguments the syscall really
// runs with, d1-d5 and a0. 6.18's asm/syscall.h puts orig_d0 (the number) in args[0] and
// drops a0, so a tracer setting the number and then the arguments overwrites the number:
// the port keeps the contract (C8) and the mutant linux-6.18-syscall-arguments is 6.18's
// code, which ptrace.entry-modify-args kills (README).

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { THREAD_INFO } from './process.ts';

/** The C arguments of a syscall, in pt_regs (entry.S system_call). */
const ARGS = ['d1', 'd2', 'd3', 'd4', 'd5', 'a0'];

/** current_thread_info(): the thread_info at the bottom of the kernel stack. */
const tpValue = (k: KernelApi) => k.current().stackBase + THREAD_INFO.tpValue;

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => regs.gets('orig_d0'),
  syscall_set_nr: (_k, regs, nr) => regs.set('orig_d0', nr),
  // handle_signal()/do_signal(): a syscall frame has orig_d0 >= 0 (-1 marks the others)
  in_syscall: (_k, regs) => regs.gets('orig_d0') >= 0n,
  syscall_rollback: (_k, regs) => regs.set('d0', regs.get('orig_d0')),
  // handle_restart(): d0 = __NR_restart_syscall
  set_restart_syscall: (k, regs) => regs.set('d0', BigInt(k.desc.syscall.numbers['restart_syscall']!)),
  // the six arguments system_call passes to C: d1-d5, a0 (see the header comment)
  syscall_get_arguments: (_k, regs) => ARGS.map((r) => regs.get(r)),
  syscall_set_arguments: (_k, regs, args) => ARGS.forEach((r, i) => regs.set(r, args[i]!)),
  // arch/m68k/kernel/sys_m68k.c: the thread pointer lives in thread_info.tp_value
  arch_syscalls: {
    set_thread_area(k, tp) {
      k.writeWord(tpValue(k), tp!);
      return 0n;
    },
    get_thread_area: (k) => k.readWord(tpValue(k)),
  },
};
