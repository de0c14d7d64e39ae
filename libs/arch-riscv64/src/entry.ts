// The C half of the riscv entry code (Linux 6.18, GENERIC_ENTRY): what entry.S calls.
// arch/riscv/kernel/traps.c (do_trap_ecall_u, do_trap_insn_illegal and the other
// excp_vect_table handlers, do_page_fault, do_irq), arch/riscv/kernel/process.c
// (ret_from_fork_kernel, ret_from_fork_user), arch/riscv/include/asm/syscall.h
// (syscall_handler), arch/riscv/include/asm/entry-common.h (arch_exit_to_user_mode_prepare).

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import type { SignalName } from '@archkit/generic-core/kernel/abi';
import { SR } from './cpu.ts';

/** user_mode(regs): the trap came from U-mode (SPP clear). */
export const userMode = (regs: PtRegs) => (regs.get('status') & SR.SPP) === 0n;

/** NR_syscalls: the table covers the highest number the arch lists. */
const nrSyscalls = (k: KernelApi) => BigInt(Math.max(...Object.values(k.desc.syscall.numbers)) + 1);


/** do_trap_ecall_u(regs): the syscall, entered with irqs off, left with irqs off. */
function* do_trap_ecall_u(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_trap_ecall_u', regsAddr);
  if (!userMode(regs)) k.bug('cpu', 'do_trap_ecall_u: environment call from S-mode (Oops)');
  const scno = BigInt.asIntN(64, regs.get('a7'));
  regs.pc = regs.pc + 4n;
  regs.set('orig_a0', regs.get('a0'));
  regs.set('a0', -k.abi.errno.ENOSYS);
  // a tracer at the entry stop may change the number (a7) or skip the call (-1)
  const nr = yield* k.syscallEnterFromUserMode(regs, scno);
  // syscall_handler(): regs->a0 = sys_call_table[nr](regs), the arguments as syscall_get_arguments() reads them
  if (nr >= 0n && nr < nrSyscalls(k)) yield* k.invokeSyscall(regs, nr);
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

/**
 * A trap that becomes a signal (DO_ERROR_INFO / do_trap_error): from user mode, irqs on,
 * force_sig_fault on current, irqs off, the exit work. A kernel-mode one is die().
 */
function userFault(name: string, sig: SignalName) {
  return function* (k: KernelApi, regsAddr: bigint): Gen<bigint> {
    const regs = k.expectCurrentRegs(name, regsAddr);
    if (!userMode(regs)) k.bug('cpu', `${name}: Oops in kernel mode at 0x${regs.pc.toString(16)}`);
    k.irqentryEnterFromUserMode(regs);
    k.localIrqEnable();
    k.forceSig(k.abi.sig[sig]);
    k.localIrqDisable();
    yield* k.irqentryExitToUserMode(regs);
    return 0n;
  };
}

/**
 * do_trap_insn_illegal: SIGILL (no vector unit, so riscv_v_first_use_handler never takes it).
 * Written out rather than through userFault(): it is the path the user-fault scenario takes.
 */
function* do_trap_insn_illegal(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_trap_insn_illegal', regsAddr);
  if (!userMode(regs)) k.bug('cpu', `do_trap_insn_illegal: Oops - illegal instruction in kernel mode at 0x${regs.pc.toString(16)}`);
  k.irqentryEnterFromUserMode(regs);
  k.localIrqEnable();
  k.forceSig(k.abi.sig.SIGILL);
  k.localIrqDisable();
  yield* k.irqentryExitToUserMode(regs);
  return 0n;
}

/**
 * do_page_fault: no demand paging is modelled (the page tables map all there is), so a
 * user fault is always a bad area: SIGSEGV (handle_page_fault -> do_trap).
 */
const do_page_fault = userFault('do_page_fault', 'SIGSEGV');

/** do_irq(regs): irqentry_enter, the interrupt controller's handler, irqentry_exit. */
function* do_irq(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.ptRegsAt(regsAddr);
  const state = k.irqentryEnter(regs);
  k.handleIrq(regs);
  yield* k.irqentryExit(regs, state);
  return 0n;
}

/** ret_from_fork_kernel(fn_arg, fn, regs): fn returned (kernel_execve filled regs): to user mode. */
function* ret_from_fork_kernel(k: KernelApi, fnArg: bigint, fn: bigint, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('ret_from_fork_kernel', regsAddr);
  yield* guestCall(fn, [fnArg]);
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

/** ret_from_fork_user(regs): a fork child leaves by the syscall exit path. */
function* ret_from_fork_user(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  yield* k.syscallExitToUserMode(k.expectCurrentRegs('ret_from_fork_user', regsAddr));
  return 0n;
}

const functions: EntryFunctions = {
  do_trap_ecall_u,
  do_trap_insn_illegal,
  do_page_fault,
  do_irq,
  do_trap_unknown: userFault('do_trap_unknown', 'SIGILL'),
  do_trap_insn_misaligned: userFault('do_trap_insn_misaligned', 'SIGBUS'),
  do_trap_insn_fault: userFault('do_trap_insn_fault', 'SIGSEGV'),
  do_trap_break: userFault('do_trap_break', 'SIGTRAP'),
  do_trap_load_misaligned: userFault('do_trap_load_misaligned', 'SIGBUS'),
  do_trap_load_fault: userFault('do_trap_load_fault', 'SIGSEGV'),
  do_trap_store_misaligned: userFault('do_trap_store_misaligned', 'SIGBUS'),
  do_trap_store_fault: userFault('do_trap_store_fault', 'SIGSEGV'),
  do_trap_ecall_s: userFault('do_trap_ecall_s', 'SIGILL'),
  do_trap_ecall_m: userFault('do_trap_ecall_m', 'SIGILL'),
  ret_from_fork_kernel,
  ret_from_fork_user,
};

export const hooks: EntryHooks = {
  models: { 'generic-entry': functions },
  user_mode: (_k, regs) => userMode(regs),
  // arch_exit_to_user_mode_prepare(): once after the loop, irqs off; the vector state itself is not modelled
  arch_exit_to_user_mode_prepare(k, regs, tiWork) {
    void regs;
    if (tiWork & k.tifBit('RISCV_V_DEFER_RESTORE')) {
      k.clearTif(k.current(), 'RISCV_V_DEFER_RESTORE');
      k.count('riscv_v_vstate_restore');
    }
  },
};
