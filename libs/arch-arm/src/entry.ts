// The C functions arm's entry.S calls (Linux 6.18), besides the ones the do-work-pending
// model's core provides (do_work_pending, syscall_trace_enter, syscall_trace_exit):
// arch/arm/kernel/traps.c do_undefinstr() (the __und_usr path) and arm_syscall() (the
// private __ARM_NR_* calls vector_swi sends there), kernel/irq/handle.c
// generic_handle_arch_irq() (__irq_usr, __irq_svc), and user_mode() of asm/ptrace.h.

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';

/** user_mode(regs): processor_mode(regs) == USR_MODE (asm/ptrace.h). */
export const userMode = (regs: PtRegs) => (regs.get('cpsr') & 0xfn) === 0n;

/** __ARM_NR_BASE and the private calls (uapi/asm/unistd.h). */
const ARM_NR_BASE = 0x0f0000n;
const ARM_NR = { cacheflush: 2n, set_tls: 5n, get_tls: 6n } as const;

/** arm_notify_die() for a user-mode fault: the thread's trap_no / error_code, then the signal. */
function armNotifyDie(k: KernelApi, regs: PtRegs, what: string, sig: number, err: bigint, trap: bigint): void {
  if (!userMode(regs)) k.bug('cpu', `${what} in kernel mode at 0x${regs.pc.toString(16)} (die)`);
  const t = k.current();
  t.arch['error_code'] = err;
  t.arch['trap_no'] = trap;
  k.forceSig(sig);
}

/** do_undefinstr(regs): nothing claims the instruction (no undef hook matches a cp15 access): SIGILL. */
function do_undefinstr(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('do_undefinstr', regsAddr);
  armNotifyDie(k, regs, 'Oops - undefined instruction', k.abi.sig.SIGILL, 0n, 6n);
  return 0n;
}

/** arm_syscall(no, regs): the ARM-private syscalls at __ARM_NR_BASE and up. */
function arm_syscall(k: KernelApi, no: bigint, regsAddr: bigint): bigint {
  const regs = k.expectCurrentRegs('arm_syscall', regsAddr);
  const tp = k.threadSlot(k.current(), 'tp_value');
  if (no >> 16n === ARM_NR_BASE >> 16n) {
    switch (no & 0xffffn) {
      case ARM_NR.cacheflush:
        return 0n; // no caches to keep coherent here
      case ARM_NR.set_tls:
        // set_tls(): tp_value[0]; TPIDRURO is written on the way out to user mode (defer_tls_reg_update)
        k.writeWord(tp, regs.get('r0'));
        return 0n;
      case ARM_NR.get_tls:
        return k.readWord(tp);
      default:
        // breakpoint, usr26 and usr32 are not modelled: they answer like an unknown call
        if ((no & 0xffffn) <= 0x7ffn) return -k.abi.errno.ENOSYS;
    }
  }
  // bad_syscall(): "Oops - bad syscall", SIGILL, and r0 as it was
  armNotifyDie(k, regs, 'Oops - bad syscall', k.abi.sig.SIGILL, no, 0n);
  return regs.get('r0');
}

/**
 * generic_handle_arch_irq(regs): irq_enter, the interrupt controller's handler, irq_exit.
 * The exit work of an interrupt from user mode is the asm's (ret_to_user_from_irq ->
 * do_work_pending); from the kernel, __irq_svc goes straight back.
 */
function generic_handle_arch_irq(k: KernelApi, regsAddr: bigint): bigint {
  const regs = k.ptRegsAt(regsAddr);
  if (userMode(regs)) k.irqentryEnterFromUserMode(regs);
  k.handleIrq(regs);
  return 0n;
}

const functions: EntryFunctions = { do_undefinstr, arm_syscall, generic_handle_arch_irq };

export const hooks: EntryHooks = {
  models: { 'do-work-pending': functions },
  user_mode: (_k, regs) => userMode(regs),
};
