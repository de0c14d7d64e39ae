// arch/sparc/include/asm/syscall.h and asm/ptrace.h (Linux 6.18, sparc64): the syscall a
// frame belongs to is %g1, as long as the saved tstate carries the software TSTATE_SYSCALL
// bit etrap_syscall sets; the result is %o0 (pt_regs i0) with xcc.C and icc.C set on error
// and a positive errno. syscall_rollback() does nothing: sparc keeps no orig_o0 in pt_regs
// (the entry code holds it in %l5 and hands it to do_notify_resume). pt_regs_clear_syscall()
// is sparc's guard against restarting twice. rt_sigaction is sparc's own (sys_sparc_64.c):
// the restorer is its fourth argument.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { SIG_DFL, SIG_IGN, sigmask } from '@archkit/generic-core/kernel/abi';
import { TSTATE } from './cpu.ts';
import { sparcSignal } from './signal.ts';

/** pt_regs_is_syscall() */
export const ptRegsIsSyscall = (regs: { get(n: string): bigint }) => (regs.get('tstate') & TSTATE.SYSCALL) !== 0n;

/** SYSCALL_DEFINE5(rt_sigaction, sig, act, oact, restorer, sigsetsize): ka_restorer from the argument. */
function rt_sigaction(k: KernelApi, sig: bigint, act: bigint, oact: bigint, restorer: bigint, sigsetsize: bigint): bigint {
  if (sigsetsize !== 8n) return -k.abi.errno.EINVAL;
  const s = Number(sig);
  if (s < 1 || s > k.abi.nsig || ((s === k.abi.sig.SIGKILL || s === k.abi.sig.SIGSTOP) && act !== 0n)) return -k.abi.errno.EINVAL;
  const t = k.current();
  if (oact) k.writeSigAction(oact, t.sigactions[s]!);
  if (act) {
    const a = k.readSigAction(act);
    a.mask &= ~(sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP));
    a.restorer = restorer;
    t.sigactions[s] = a;
    if (a.handler === SIG_IGN || (a.handler === SIG_DFL && k.abi.kernelIgnore.includes(s))) {
      t.pending &= ~sigmask(s);
      k.recalcSigpending(t);
    }
  }
  return 0n;
}

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => (ptRegsIsSyscall(regs) ? BigInt.asIntN(64, regs.get('g1')) : -1n),
  syscall_set_nr: (_k, regs, nr) => regs.set('g1', nr),
  in_syscall: (_k, regs) => ptRegsIsSyscall(regs),
  // pt_regs_clear_syscall()
  forget_syscall: (_k, regs) => regs.set('tstate', regs.get('tstate') & ~TSTATE.SYSCALL),
  syscall_rollback: () => {},
  // syscall_get_return_value(), syscall_set_return_value(): the error flag is the carry in
  // pt_regs tstate (TSTATE_XCARRY | TSTATE_ICARRY), with a positive errno in i0
  syscall_get_return_value: (_k, regs) => {
    const v = BigInt.asIntN(64, regs.get('i0'));
    return regs.get('tstate') & (TSTATE.XCARRY | TSTATE.ICARRY) ? -v : v;
  },
  syscall_set_return_value: (_k, regs, error, val) => {
    const carry = TSTATE.XCARRY | TSTATE.ICARRY;
    if (error) {
      regs.set('tstate', regs.get('tstate') | carry);
      regs.set('i0', -error);
    } else {
      regs.set('tstate', regs.get('tstate') & ~carry);
      regs.set('i0', val);
    }
  },
  arch_syscalls: {
    rt_sigaction: (k, sig, act, oact, restorer, sigsetsize) => rt_sigaction(k, sig!, act!, oact!, restorer!, sigsetsize!),
    // syscalls.S sys_rt_sigreturn -> do_rt_sigreturn (entry.ts) -> here
    rt_sigreturn: (k) => sparcSignal(k).sparc_do_rt_sigreturn(k),
  },
};
