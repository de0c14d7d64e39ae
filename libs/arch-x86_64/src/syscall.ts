// arch/x86/include/asm/syscall.h: the syscall a frame belongs to is orig_ax (an int; -1
// for "not a syscall"), the result is ax (negative errno), and what the result
// overwrote was the syscall number, back in ax from orig_ax for a restart. Nothing marks a
// restart consumed: once rewound, ax no longer holds an -ERESTART value.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';

/** __X32_SYSCALL_BIT: an x32 task's restart keeps it (get_nr_restart_syscall). */
const X32_SYSCALL_BIT = 0x40000000n;

/** arch/x86/include/uapi/asm/prctl.h */
const ARCH_SET_GS = 0x1001n;
const ARCH_GET_GS = 0x1004n;

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => BigInt.asIntN(32, regs.get('orig_ax')),
  syscall_set_nr: (_k, regs, nr) => regs.set('orig_ax', nr),
  syscall_rollback: (_k, regs) => regs.set('ax', regs.get('orig_ax')),
  // arch_do_signal_or_restart(): ax = get_nr_restart_syscall(regs)
  set_restart_syscall: (k, regs) => regs.set('ax', BigInt(k.desc.syscall.numbers['restart_syscall']!) | (regs.get('orig_ax') & X32_SYSCALL_BIT)),
  arch_syscalls: {
    /**
     * arch_prctl(ARCH_SET_GS / ARCH_GET_GS) (arch/x86/kernel/process_64.c do_arch_prctl_64):
     * in the kernel the user's GS base is the inactive one, MSR_KERNEL_GS_BASE.
     */
    arch_prctl(k, option, arg2) {
      if (option === ARCH_SET_GS) {
        if (arg2! >= 1n << 47n) return -k.abi.errno.EPERM;
        k.m.setReg('kernel_gs_base', arg2!);
        return 0n;
      }
      if (option === ARCH_GET_GS) {
        if (!k.accessOk(arg2!, 8n)) return -k.abi.errno.EFAULT;
        k.writeWord(arg2!, k.m.reg('kernel_gs_base'));
        return 0n;
      }
      return -k.abi.errno.EINVAL;
    },
  },
};
