// The C half of the arm64 entry code (Linux 6.18): arch/arm64/kernel/entry-common.c
// (el0t_64_sync_handler, el0_svc, el0_undef, asm_exit_to_user_mode,
// arch_exit_to_user_mode_work) and arch/arm64/kernel/syscall.c (el0_svc_common).
//
// Model "arch" is 6.18's: arm64's own syscall entry (el0_svc_common) and the generic exit
// (exit_to_user_mode_prepare). Model "generic-entry" is the GENERIC_ENTRY conversion: the
// generic syscall_enter_from_user_mode() / syscall_exit_to_user_mode() around the same
// dispatch; what user mode sees is the same.

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { ERESTARTNOINTR } from '@archkit/generic-core/kernel/abi';
import { NO_SYSCALL } from './syscall.ts';

const ESR_ELx_EC_SHIFT = 26n;
const ESR_ELx_EC_UNKNOWN = 0x00n;
const ESR_ELx_EC_SVC64 = 0x15n;
const ESR_ELx_EC_SYS64 = 0x18n;

/** invoke_syscall(): scno outside the table is do_ni_syscall (-ENOSYS). */
function* invokeSyscall(k: KernelApi, regs: PtRegs, scno: bigint): Gen {
  yield* k.invokeSyscall(regs, BigInt.asUintN(32, scno));
}

/** el0_svc_common(regs, scno): 6.18's own syscall entry, traced or not. */
function* el0SvcCommon(k: KernelApi, regs: PtRegs, scno: bigint): Gen {
  const t = k.current();
  regs.set('orig_x0', regs.get('x0'));
  regs.set('syscallno', scno);
  if (k.testTif(t, 'MTE_ASYNC_FAULT')) {
    // handle the asynchronous tag check fault first: its signal goes out before the restart
    k.syscallSetReturnValue(regs, -ERESTARTNOINTR, 0n);
    return;
  }
  const traced = k.hasSyscallWork(t);
  if (traced) {
    // a user-issued syscall(-1) must see -ENOSYS when the tracer does not skip it
    if (scno === NO_SYSCALL) k.syscallSetReturnValue(regs, -k.abi.errno.ENOSYS, 0n);
    // syscall_trace_enter(): the tracer may rewrite syscallno and the arguments
    scno = k.ptraceReportSyscallEntry(regs) ? NO_SYSCALL : regs.gets('syscallno');
    if (scno === NO_SYSCALL) {
      k.ptraceReportSyscallExit(regs);
      return;
    }
  }
  yield* invokeSyscall(k, regs, scno);
  if (traced || k.hasSyscallWork(t)) k.ptraceReportSyscallExit(regs);
}

/** The syscall of model "generic-entry": the generic entry and exit around invoke_syscall. */
function* el0SvcGeneric(k: KernelApi, regs: PtRegs): Gen {
  const scno = BigInt.asIntN(32, regs.get('x8'));
  regs.set('orig_x0', regs.get('x0'));
  regs.set('syscallno', scno);
  if (scno === NO_SYSCALL && k.hasSyscallWork(k.current())) k.syscallSetReturnValue(regs, -k.abi.errno.ENOSYS, 0n);
  const nr = yield* k.syscallEnterFromUserMode(regs, scno);
  if (nr !== NO_SYSCALL) yield* invokeSyscall(k, regs, nr);
  yield* k.syscallExitToUserMode(regs);
}

/** arm64_exit_to_user_mode(): irqs off, the generic exit work, DAIF masked for the eret. */
function* arm64ExitToUserMode(k: KernelApi, regs: PtRegs): Gen {
  k.localIrqDisable();
  yield* k.exitToUserModePrepare(regs);
}

function* el0Svc(k: KernelApi, regs: PtRegs): Gen {
  k.irqentryEnterFromUserMode(regs);
  k.localIrqEnable(); // local_daif_restore(DAIF_PROCCTX)
  if (k.entryModel === 'generic-entry') {
    k.localIrqDisable();
    yield* el0SvcGeneric(k, regs);
    return;
  }
  yield* el0SvcCommon(k, regs, BigInt.asIntN(32, regs.get('x8')));
  yield* arm64ExitToUserMode(k, regs);
}

/** el0_undef / el0_sys / bad_el0_sync: SIGILL for the task, then the exit work. */
function* el0Undef(k: KernelApi, regs: PtRegs): Gen {
  k.irqentryEnterFromUserMode(regs);
  k.localIrqEnable();
  k.forceSig(k.abi.sig.SIGILL);
  yield* arm64ExitToUserMode(k, regs);
}

/** el0t_64_sync_handler(regs): dispatch on ESR_EL1's exception class. */
function* el0t_64_sync_handler(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('el0t_64_sync_handler', regsAddr);
  checkCurrent(k, 'el0t_64_sync_handler');
  const ec = (k.m.reg('esr_el1') >> ESR_ELx_EC_SHIFT) & 0x3fn;
  if (ec === ESR_ELx_EC_SVC64) yield* el0Svc(k, regs);
  else if (ec === ESR_ELx_EC_UNKNOWN || ec === ESR_ELx_EC_SYS64) yield* el0Undef(k, regs);
  else k.bug('cpu', `el0t_64_sync_handler: exception class 0x${ec.toString(16)} has no handler in this model`);
  return 0n;
}

/** In the kernel SP_EL0 is `current` (kernel_entry from EL0 and cpu_switch_to load it). */
function checkCurrent(k: KernelApi, fn: string): void {
  const spEl0 = k.m.reg('sp_el0');
  if (spEl0 !== k.current().addr) k.bug('C12', `${fn}: SP_EL0 is 0x${spEl0.toString(16)}, not current (0x${k.current().addr.toString(16)}): the entry left the user's value where the kernel keeps its own`);
}

/** el0t_64_irq_handler(regs) (el0_interrupt): user-mode entry work, the handler, the exit work. */
function* el0t_64_irq_handler(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('el0t_64_irq_handler', regsAddr);
  checkCurrent(k, 'el0t_64_irq_handler');
  k.irqentryEnterFromUserMode(regs);
  k.handleIrq(regs);
  yield* arm64ExitToUserMode(k, regs);
  return 0n;
}

/** el1h_64_irq_handler(regs) (el1_interrupt): irqentry_enter, the handler, back to the kernel. */
function* el1h_64_irq_handler(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.ptRegsAt(regsAddr);
  checkCurrent(k, 'el1h_64_irq_handler');
  const state = k.irqentryEnter(regs);
  k.handleIrq(regs);
  yield* k.irqentryExit(regs, state);
  return 0n;
}

/** asm_exit_to_user_mode(regs): ret_from_fork's way out. */
function* asm_exit_to_user_mode(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('asm_exit_to_user_mode', regsAddr);
  yield* arm64ExitToUserMode(k, regs);
  return 0n;
}

const functions: EntryFunctions = { el0t_64_sync_handler, el0t_64_irq_handler, el1h_64_irq_handler, asm_exit_to_user_mode };

export const hooks: EntryHooks = {
  models: { arch: functions, 'generic-entry': functions },
  // user_mode(): PSTATE.M of the saved frame is EL0t
  user_mode: (_k, regs) => (regs.get('pstate') & 0xfn) === 0n,
  // ARCH_EXIT_TO_USER_MODE_WORK (asm/entry-common.h)
  arch_exit_to_user_mode_work(k, regs, ti) {
    void regs;
    const t = k.current();
    if (ti & k.tifBit('MTE_ASYNC_FAULT')) {
      k.clearTif(t, 'MTE_ASYNC_FAULT');
      k.count('mte_async_fault');
      k.sendSignal(t, k.abi.sig.SIGSEGV);
    }
    if (ti & k.tifBit('FOREIGN_FPSTATE')) {
      k.clearTif(t, 'FOREIGN_FPSTATE');
      k.count('fpsimd_restore_current_state');
    }
  },
};
