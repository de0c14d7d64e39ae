// asm/syscall.h through the port, with generic defaults that work from arch.json's facts:
// the return register and error convention, the syscall-number register, the trap length.

import type { PtRegs } from './ptregs.ts';
import type { KernelApi } from './types.ts';

export function syscallGetNr(k: KernelApi, regs: PtRegs): bigint {
  return k.port.syscall.syscall_get_nr(k, regs);
}

export function syscallSetNr(k: KernelApi, regs: PtRegs, nr: bigint): void {
  k.port.syscall.syscall_set_nr(k, regs, nr);
}

export function inSyscall(k: KernelApi, regs: PtRegs): boolean {
  const own = k.port.syscall.in_syscall;
  return own ? own(k, regs) : syscallGetNr(k, regs) !== -1n;
}

export function forgetSyscall(k: KernelApi, regs: PtRegs): void {
  k.port.syscall.forget_syscall?.(k, regs);
}

export function syscallRollback(k: KernelApi, regs: PtRegs): void {
  k.port.syscall.syscall_rollback(k, regs);
}

/** The error flag of a `flag` convention (MIPS a3, PowerPC CR0.SO, SPARC PSR.C): set? */
function flagSet(k: KernelApi, regs: PtRegs, flag: string, bit: number | undefined): boolean {
  const v = regs.get(flag);
  return bit === undefined ? v !== 0n : ((v >> BigInt(bit)) & 1n) !== 0n;
}

/** The result as user mode's libc wrapper sees it: a negative errno on error, whatever the convention. */
export function syscallGetReturnValue(k: KernelApi, regs: PtRegs): bigint {
  const own = k.port.syscall.syscall_get_return_value;
  if (own) return own(k, regs);
  const e = k.desc.syscall.error;
  const ret = BigInt.asIntN(k.wordSize * 8, regs.get(k.desc.syscall.ret));
  if (e.convention === 'negative') return ret;
  return flagSet(k, regs, e.flag, e.bit) ? -ret : ret;
}

export function syscallSetReturnValue(k: KernelApi, regs: PtRegs, error: bigint, val: bigint): void {
  const own = k.port.syscall.syscall_set_return_value;
  if (own) return own(k, regs, error, val);
  const e = k.desc.syscall.error;
  const ret = k.desc.syscall.ret;
  if (e.convention === 'negative') {
    regs.set(ret, error !== 0n ? error : val);
    return;
  }
  regs.set(ret, error !== 0n ? -error : val);
  const v = regs.get(e.flag);
  if (e.bit === undefined) regs.set(e.flag, error !== 0n ? 1n : 0n);
  else {
    const m = 1n << BigInt(e.bit);
    regs.set(e.flag, error !== 0n ? v | m : v & ~m);
  }
}

/** An ERESTART_RESTARTBLOCK restart runs restart_syscall: its number goes in the nr register. */
export function setRestartSyscall(k: KernelApi, regs: PtRegs): void {
  const own = k.port.syscall.set_restart_syscall;
  if (own) return own(k, regs);
  regs.set(k.desc.syscall.nr, BigInt(k.desc.syscall.numbers['restart_syscall']!));
}

export function syscallGetArguments(k: KernelApi, regs: PtRegs): bigint[] {
  const own = k.port.syscall.syscall_get_arguments;
  return own ? own(k, regs) : k.desc.syscall.args.map((r) => regs.get(r));
}

export function syscallSetArguments(k: KernelApi, regs: PtRegs, args: bigint[]): void {
  const own = k.port.syscall.syscall_set_arguments;
  if (own) return own(k, regs, args);
  args.forEach((v, i) => regs.set(k.desc.syscall.args[i]!, v));
}

/** A result in the arch's convention, for scenarios comparing what user mode saw. */
export function normaliseResult(k: KernelApi, regs: PtRegs): bigint {
  return syscallGetReturnValue(k, regs);
}
