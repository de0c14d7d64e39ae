// The C half of the s390 entry code (Linux 6.18, GENERIC_ENTRY): what entry.S calls.
// arch/s390/kernel/syscall.c (__do_syscall), arch/s390/kernel/process.c (__ret_from_fork),
// arch/s390/kernel/traps.c (__do_pgm_check and its pgm_check_table), arch/s390/mm/fault.c
// (do_dat_exception, do_protection_exception), arch/s390/kernel/irq.c (do_ext_irq),
// arch/s390/include/asm/entry-common.h (arch_exit_to_user_mode_work), and
// arch/s390/kernel/guarded_storage.c (gs_load_bc_cb).

import type { EntryFunctions, EntryHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import type { SignalName } from '@archkit/generic-core/kernel/abi';
import { EXT_IRQ_CLK_COMP, LC, PGM, PSW } from './cpu.ts';
import { clearPif, PIF, setPif, testPif } from './syscall.ts';

/** user_mode(regs) (asm/ptrace.h): the old PSW was in problem state. */
export const userMode = (regs: PtRegs) => (regs.get('psw_mask') & PSW.PSTATE) !== 0n;

/** NR_syscalls: the table covers the highest number the arch lists. */
const nrSyscalls = (k: KernelApi) => BigInt(Math.max(...Object.values(k.desc.syscall.numbers)) + 1);

/** task_struct.restart_block.arch_data: port-private task state (the core's task_struct has none). */
export const ARCH_DATA = 'restart_block.arch_data';

/**
 * __do_syscall(regs, per_trap): entered from system_call with interrupts disabled, the
 * user's r0-r15 in pt_regs; left with interrupts disabled and pt_regs.psw the PSW to
 * return to.
 */
function* __do_syscall(k: KernelApi, regsAddr: bigint, perTrap: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('__do_syscall', regsAddr);
  // enter_from_user_mode(); regs->psw = svc_old_psw; regs->int_code = svc_int_code
  regs.set('psw_mask', k.m.readUint(LC.SVC_OLD_PSW, 8));
  regs.pc = k.m.readUint(LC.SVC_OLD_PSW + 8n, 8);
  regs.set('int_code', k.m.readUint(LC.SVC_ILC, 4));
  if (!userMode(regs)) k.bug('cpu', 'system_call entered from supervisor state');
  k.localIrqEnable();
  regs.set('orig_gpr2', regs.get('r2'));
  if (perTrap) k.setTif(k.current(), 'PER_TRAP');
  regs.set('flags', 0n);
  setPif(regs, PIF.SYSCALL);
  // the number: the svc immediate, or r1 for svc 0
  let nr = regs.get('int_code') & 0xffffn;
  if (nr === 0n) {
    nr = regs.get('r1') & 0xffffn;
    regs.set('int_code', (regs.get('int_code') & ~0xffffn) | nr);
  }
  // the s390 ptrace ABI: a tracer reads the number in gpr2 at the entry stop
  regs.set('r2', nr);
  // a restart through the vDSO trampoline returns to where the restarted syscall was made
  const t = k.current();
  if (nr === BigInt(k.desc.syscall.numbers['restart_syscall']!) && ((t.arch[ARCH_DATA] ?? 0n) & 1n) === 0n) {
    regs.pc = t.arch[ARCH_DATA] ?? 0n;
    t.arch[ARCH_DATA] = 1n;
  }
  // the tracer may change the number (int_code) and the arguments, or skip the call
  nr = yield* k.syscallEnterFromUserMode(regs, nr);
  if (testPif(regs, PIF.SYSCALL_RET_SET)) {
    clearPif(regs, PIF.SYSCALL_RET_SET);
  } else {
    regs.set('r2', -k.abi.errno.ENOSYS);
    // sys_call_table[nr](regs): the arguments as syscall_get_arguments() reads them (orig_gpr2 first)
    if (BigInt.asUintN(64, nr) < nrSyscalls(k)) regs.set('r2', yield* k.callSyscall(Number(nr), k.syscallGetArguments(regs)));
  }
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

/**
 * __ret_from_fork(prev, regs): a new task's first C. A kernel thread (its PSW in
 * supervisor state) calls fn(arg) from gprs[9]/gprs[10]; if fn returns (a successful
 * kernel_execve filled pt_regs), it leaves like a fork child, by the syscall exit.
 */
function* __ret_from_fork(k: KernelApi, prev: bigint, regsAddr: bigint): Gen<bigint> {
  yield* k.scheduleTail(prev);
  const regs = k.expectCurrentRegs('__ret_from_fork', regsAddr);
  if (!userMode(regs)) yield* guestCall(regs.get('r9'), [regs.get('r10')]);
  clearPif(regs, PIF.SYSCALL);
  yield* k.syscallExitToUserMode(regs);
  return 0n;
}

/** do_trap() from user mode: force_sig_fault() on current. */
function trap(sig: SignalName) {
  return (k: KernelApi) => k.forceSig(k.abi.sig[sig]);
}

/**
 * do_dat_exception / do_protection_exception (mm/fault.c) from user mode: no VMA is
 * modelled, and everything the user page tables map is the user region, so a translation
 * or protection exception is always a bad area: SIGSEGV (SEGV_MAPERR / SEGV_ACCERR).
 */
const doDatException = trap('SIGSEGV');

/**
 * pgm_check_table (traps.c), by program-interruption code, for what user mode can raise on
 * this CPU model. Not listed: default_trap_handler, SIGSEGV (force_exit_sig).
 */
const PGM_CHECK_TABLE: Record<number, (k: KernelApi) => void> = {
  [PGM.OPERATION]: trap('SIGILL'), // illegal_op (no uprobes, no ptrace breakpoint)
  [PGM.PRIVILEGED_OP]: trap('SIGILL'), // privileged_op, ILL_PRVOPC
  [PGM.EXECUTE]: trap('SIGILL'),
  [PGM.PROTECTION]: doDatException, // do_protection_exception: no write fault to fix up
  [PGM.ADDRESSING]: trap('SIGILL'),
  [PGM.SPECIFICATION]: trap('SIGILL'),
  [PGM.DATA]: trap('SIGILL'), // data_exception with a zero DXC (no FP state modelled)
  0x08: trap('SIGFPE'), // overflow_exception
  0x09: trap('SIGFPE'), // divide_exception
  0x0a: trap('SIGFPE'),
  0x0b: trap('SIGFPE'),
  0x0c: trap('SIGFPE'),
  0x0d: trap('SIGFPE'),
  0x0e: trap('SIGFPE'),
  0x0f: trap('SIGFPE'),
  0x13: trap('SIGILL'), // special_op_exception
  0x15: trap('SIGILL'), // operand_exception
  0x1c: trap('SIGILL'), // space_switch_exception
  0x1d: trap('SIGFPE'), // hfp_sqrt_exception
  [PGM.SEGMENT_TRANS]: doDatException,
  [PGM.PAGE_TRANS]: doDatException,
  [PGM.ASCE_TYPE]: doDatException,
  [PGM.REGION_FIRST_TRANS]: doDatException,
  [PGM.REGION_SECOND_TRANS]: doDatException,
  [PGM.REGION_THIRD_TRANS]: doDatException,
};

/**
 * __do_pgm_check(regs): regs->int_code from the lowcore, the interrupted context's
 * interrupt mask restored, the handler of the code, interrupts off, irqentry_exit().
 */
function* __do_pgm_check(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.expectCurrentRegs('__do_pgm_check', regsAddr);
  const intCode = k.m.readUint(LC.PGM_ILC, 4);
  regs.set('int_code', intCode);
  regs.set('int_parm_long', k.m.readUint(LC.TRANS_EXC_CODE, 8));
  if (!userMode(regs)) k.bug('cpu', `program check ${Number(intCode & 0xffffn).toString(16)} in the kernel at 0x${regs.pc.toString(16)} (die)`);
  k.irqentryEnterFromUserMode(regs);
  // __arch_local_irq_ssm(regs->psw.mask & ~PSW_MASK_PER): user mode ran with interrupts on
  k.cpu.setIrqsEnabled(k.m, (regs.get('psw_mask') & (PSW.IO | PSW.EXT)) !== 0n);
  const trapnr = Number(intCode & 0x7fn);
  if (trapnr) (PGM_CHECK_TABLE[trapnr] ?? trap('SIGSEGV'))(k);
  k.localIrqDisable();
  yield* k.irqentryExitToUserMode(regs);
  return 0n;
}

/**
 * do_ext_irq(regs): an external interruption from user or kernel mode, interrupts masked.
 * The interruption code and parameters into pt_regs, the handler (the tick: handle_irq),
 * irqentry_exit(): the exit work on the way to user mode, a plain return to the kernel.
 */
function* do_ext_irq(k: KernelApi, regsAddr: bigint): Gen<bigint> {
  const regs = k.ptRegsAt(regsAddr);
  const state = k.irqentryEnter(regs);
  regs.set('int_code', k.m.readUint(LC.EXT_CPU_ADDR, 4));
  regs.set('int_parm', k.m.readUint(LC.EXT_PARAMS, 4));
  if (k.m.readUint(LC.EXT_INT_CODE, 2) !== BigInt(EXT_IRQ_CLK_COMP)) k.bug('C12', `do_ext_irq: external interruption code 0x${k.m.readUint(LC.EXT_INT_CODE, 2).toString(16)}, not the clock comparator`);
  // do_irq_async -> do_IRQ: clock_comparator_work(), the tick
  k.handleIrq(regs);
  yield* k.irqentryExit(regs, state);
  return 0n;
}

const functions: EntryFunctions = {
  __do_syscall,
  __ret_from_fork,
  __do_pgm_check,
  do_ext_irq,
};

export const hooks: EntryHooks = {
  models: { 'generic-entry': functions },
  user_mode: (_k, regs) => userMode(regs),
  // arch_exit_to_user_mode_work(): inside the exit loop, for ARCH_EXIT_TO_USER_MODE_WORK
  arch_exit_to_user_mode_work(k, regs, tiWork) {
    void regs;
    const t = k.current();
    if (tiWork & k.tifBit('PER_TRAP')) {
      k.clearTif(t, 'PER_TRAP');
      // do_per_trap(): a SIGTRAP for a traced task; no PER event is modelled
      k.count('do_per_trap');
      if (t.ptraced) k.forceSig(k.abi.sig.SIGTRAP);
    }
    if (tiWork & k.tifBit('GUARDED_STORAGE')) {
      // gs_load_bc_cb(): the broadcast control block is not modelled
      k.clearTif(t, 'GUARDED_STORAGE');
      k.count('gs_load_bc_cb');
    }
  },
};
