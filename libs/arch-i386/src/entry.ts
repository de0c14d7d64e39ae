// The C half of the i386 entry code (Linux 6.18, GENERIC_ENTRY, CONFIG_X86_32 without
// IA32_EMULATION): what entry.S calls. arch/x86/entry/syscall_32.c (do_int80_syscall_32,
// do_syscall_32_irqs_on), arch/x86/kernel/traps.c (the exc_* handlers), arch/x86/mm/fault.c
// (exc_page_fault), arch/x86/kernel/irq.c (common_interrupt), arch/x86/kernel/process.c
// (ret_from_fork), arch/x86/include/asm/ptrace.h (user_mode).

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import type { SignalName } from '@archkit/generic-core/kernel/abi';
import { guestCall } from '@archkit/generic-core/kernel/bridge';

/** user_mode(regs): the frame came from CPL 3 (CS RPL; no vm86 here). */
export const userMode = (regs: PtRegs) => (regs.get('cs') & 3n) === 3n;

/** IA32_NR_syscalls: the table covers the highest number the arch lists. */
const nrSyscalls = (k: KernelApi) => BigInt(Math.max(...Object.values(k.desc.syscall.numbers)) + 1);

/**
 * do_int80_syscall_32(regs): the number is (int)orig_ax; the entry work (a tracer may
 * change it, or skip with -1), the call, the exit work. Entered and left with irqs off.
 */
function* do_int80_syscall_32(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('do_int80_syscall_32', regsAddr);
  let nr = BigInt.asIntN(32, regs.get('orig_ax')); // syscall_32_enter()
  nr = yield* k.syscallEnterFromUserMode(regs, nr);
  // do_syscall_32_irqs_on(): negative numbers compare as very large unsigned ones
  const unr = BigInt.asUintN(32, nr);
  if (unr < nrSyscalls(k)) yield* k.invokeSyscall(regs, unr);
  else if (nr !== -1n) regs.set('ax', -k.abi.errno.ENOSYS); // __ia32_sys_ni_syscall
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

/**
 * A trap that becomes a signal (do_error_trap / do_trap, gp_user_force_sig_segv): from
 * user mode, with irqs on as user mode had them, thread.trap_nr and error_code recorded
 * (they go into the signal frame's sigcontext), the signal forced on current, irqs off,
 * the exit work. A kernel-mode one is an oops (die()).
 */
function userFault(name: string, trapNr: number, sig: SignalName, cr2 = false) {
  return function* (k: KernelApi, regsAddr: bigint, errorCode: bigint): Gen<bigint> {
    const regs = k.expectCurrentRegs(name, regsAddr);
    if (!userMode(regs)) k.bug('cpu', `${name}: Oops in kernel mode at 0x${regs.pc.toString(16)}`);
    k.irqentryEnterFromUserMode(regs);
    const t = k.current();
    // exc_page_fault reads CR2 first thing, before anything can fault again
    if (cr2) k.writeWord(k.threadSlot(t, 'cr2'), k.m.reg('cr2'));
    k.localIrqEnable(); // cond_local_irq_enable(): user mode had them on
    k.writeWord(k.threadSlot(t, 'trap_nr'), BigInt(trapNr));
    k.writeWord(k.threadSlot(t, 'error_code'), errorCode);
    k.forceSig(k.abi.sig[sig]);
    k.localIrqDisable();
    yield* k.irqentryExitToUserMode(regs);
    return 0n;
  };
}

/**
 * exc_general_protection(regs, error_code) from user mode: SIGSEGV (a CLI, HLT or a
 * privileged segment load in user mode lands here). Written out rather than through
 * userFault(): it is the path the user-fault scenario takes.
 */
function* exc_general_protection(k: KernelApi, regsAddr: bigint, errorCode: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('exc_general_protection', regsAddr);
  if (!userMode(regs)) k.bug('cpu', `exc_general_protection: general protection fault in kernel mode at 0x${regs.pc.toString(16)}`);
  k.irqentryEnterFromUserMode(regs);
  k.localIrqEnable(); // cond_local_irq_enable()
  const t = k.current();
  k.writeWord(k.threadSlot(t, 'error_code'), errorCode);
  k.writeWord(k.threadSlot(t, 'trap_nr'), 13n);
  k.forceSig(k.abi.sig.SIGSEGV); // gp_user_force_sig_segv()
  k.localIrqDisable(); // cond_local_irq_disable()
  yield* k.irqentryExitToUserMode(regs);
  return 0n;
}

/**
 * common_interrupt(regs, vector) (DEFINE_IDTENTRY_IRQ): irqentry_enter(), the vector's
 * handler (the core's interrupt controller: handle_irq()), irqentry_exit(): the exit work
 * to user mode, or back to the interrupted kernel code as it was. No separate irq stack.
 */
function* common_interrupt(k: KernelApi, regsAddr: bigint, vector: bigint): Gen<bigint> {
  void vector; // one vector is modelled: the timer's
  const regs = k.ptRegsAt(regsAddr);
  const state = k.irqentryEnter(regs);
  k.handleIrq(regs);
  yield* k.irqentryExit(regs, state);
  return 0n;
}

/**
 * ret_from_fork(prev, regs, fn, fn_arg): the first C of every new task. A kernel thread
 * runs fn(arg); if that returns, kernel_execve() filled regs and the task leaves for user
 * mode with 0 in ax, by the syscall exit path.
 */
function* ret_from_fork(k: KernelApi, prev: bigint, regsAddr: bigint, fn: bigint, arg: bigint): Gen<bigint> {
  yield* k.scheduleTail(prev);
  const regs = k.expectCurrentRegs('ret_from_fork', regsAddr);
  if (fn !== 0n) {
    yield* guestCall(fn, [arg]);
    regs.set('ax', 0n);
  }
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

const functions: EntryFunctions = {
  do_int80_syscall_32,
  exc_general_protection,
  exc_divide_error: userFault('exc_divide_error', 0, 'SIGFPE'),
  exc_int3: userFault('exc_int3', 3, 'SIGTRAP'),
  exc_overflow: userFault('exc_overflow', 4, 'SIGSEGV'),
  exc_bounds: userFault('exc_bounds', 5, 'SIGSEGV'),
  exc_invalid_op: userFault('exc_invalid_op', 6, 'SIGILL'),
  exc_segment_not_present: userFault('exc_segment_not_present', 11, 'SIGBUS'),
  // no demand paging to do: a user fault is always a bad area (SIGSEGV)
  exc_page_fault: userFault('exc_page_fault', 14, 'SIGSEGV', true),
  common_interrupt,
  ret_from_fork,
};

export const hooks: EntryHooks = {
  models: { 'generic-entry': functions },
  user_mode: (_k, regs) => userMode(regs),
};
