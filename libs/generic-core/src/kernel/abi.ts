// The user-visible numbers of the kernel ABI: errno values, signal numbers, sigaction flags
// and layout, sigprocmask `how` values. Most arches use include/uapi/asm-generic's; some
// (MIPS, SPARC, Alpha, PA-RISC) have their own, which their arch.json gives in "abi". The
// core always speaks the arch's numbers, so what user mode sees is what that Linux gives.

import type { FrameLayout } from '../contracts/descriptor.ts';

/** include/uapi/asm-generic/errno-base.h, errno.h */
export const GENERIC_ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EBADF: 9, ECHILD: 10, EAGAIN: 11, EFAULT: 14,
  EINVAL: 22, ENOSYS: 38,
} as const;
export type ErrnoName = keyof typeof GENERIC_ERRNO;

/** include/uapi/asm-generic/signal.h */
export const GENERIC_SIGNALS = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
} as const;
export type SignalName = keyof typeof GENERIC_SIGNALS;

/** include/uapi/asm-generic/signal-defs.h and signal.h */
export const GENERIC_SA = {
  SA_NOCLDSTOP: 0x1, SA_NOCLDWAIT: 0x2, SA_SIGINFO: 0x4, SA_RESTORER: 0x04000000, SA_ONSTACK: 0x08000000,
  SA_RESTART: 0x10000000, SA_NODEFER: 0x40000000, SA_RESETHAND: 0x80000000,
} as const;
export type SaName = keyof typeof GENERIC_SA;

/** include/uapi/asm-generic/signal-defs.h */
export const GENERIC_SIGPROCMASK = { SIG_BLOCK: 0, SIG_UNBLOCK: 1, SIG_SETMASK: 2 } as const;
export type SigprocmaskName = keyof typeof GENERIC_SIGPROCMASK;

/** include/linux/errno.h: kernel-internal, never seen by user space, the same on every arch. */
export const ERESTARTSYS = 512n;
export const ERESTARTNOINTR = 513n;
export const ERESTARTNOHAND = 514n;
export const ERESTART_RESTARTBLOCK = 516n;
export const RESTART_CODES = [ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK];

/** include/uapi/linux/sched.h: the same on every arch. */
export const CLONE_VM = 0x100n;
export const CLONE_VFORK = 0x4000n;
export const CLONE_SETTLS = 0x80000n;
export const CLONE_PARENT_SETTID = 0x100000n;
export const CLONE_CHILD_SETTID = 0x1000000n;
export const CSIGNAL = 0xffn;

export const SIG_DFL = 0n;
export const SIG_IGN = 1n;

export interface Abi {
  errno: Record<ErrnoName, bigint>;
  sig: Record<SignalName, number>;
  sa: Record<SaName, bigint>;
  how: Record<SigprocmaskName, bigint>;
  /** struct sigaction as rt_sigaction reads it (fields handler, flags, mask; restorer where the arch has one). */
  sigaction: FrameLayout;
  /** _NSIG */
  nsig: number;
  /** Default action "ignore" (sig_kernel_ignore) and "stop" (sig_kernel_stop), by number. */
  kernelIgnore: number[];
  kernelStop: number[];
}

export interface AbiOverrides {
  errno?: Partial<Record<ErrnoName, number>>;
  signals?: Partial<Record<SignalName, number>>;
  sa?: Partial<Record<SaName, number | null>>;
  how?: Partial<Record<SigprocmaskName, number>>;
  sigaction?: FrameLayout;
  nsig?: number;
  /** libc (glibc) installs handlers with SA_RESTORER and its own __restore_rt on this arch */
  libcRestorer?: boolean;
  /** execve leaves the general registers as they were (riscv: no ELF_PLAT_INIT, start_thread sets pc, sp, status only) */
  execKeepsRegisters?: boolean;
  /**
   * a tracer that skips a syscall at the entry stop (number -1) can set its result only at the
   * exit stop: the kernel writes -ENOSYS over it when it skips (powerpc do_syscall_trace_enter())
   */
  ptraceSkipResultAtExit?: boolean;
  /** with execKeepsRegisters: the registers exec zeroes all the same (s390 ELF_PLAT_INIT: r14, the atexit pointer) */
  execClearsRegisters?: string[];
  /**
   * where a handler installed without SA_RESTORER returns: the vDSO's trampoline, a
   * trampoline the kernel writes into the signal frame on the user stack (m68k retcode),
   * nowhere (the frame is refused: SIGSEGV), or address 0 (the kernel sets the return
   * address to the restorer whatever it is, sparc64 %i7 = ka_restorer: the handler runs,
   * and its return faults: SIGSEGV)
   */
  restorerFallback?: 'vdso' | 'stack' | 'none' | 'zero';
  /** rt_sigaction(sig, act, oact, restorer, sigsetsize): the restorer is an argument, not a struct field (sparc __ARCH_HAS_KA_RESTORER) */
  restorerArg?: boolean;
  /** start_thread puts the user sp this far below the stack top exec hands it (sparc32: 64, one register window save area; sparc64: 128 + the stack bias 2047) */
  execSpOffset?: number;
  /** rt_sigreturn leaves a pending restart block alone: restart_syscall afterwards still runs it (sparc32's do_rt_sigreturn) */
  sigreturnKeepsRestartBlock?: boolean;
  /**
   * restart_syscall goes on at restart_block.arch_data when that is even (s390 __do_syscall:
   * the return address the vDSO restart saved); pid 1 inherits init_task's 0 (copy_thread
   * sets 1 only for user forks), so a restart_syscall it makes itself returns to address 0
   */
  restartSyscallReturnsToArchData?: boolean;
}

/** The asm-generic struct sigaction for a word size: handler, flags, restorer, mask. */
export function genericSigaction(wordSize: number): FrameLayout {
  return {
    size: 4 * wordSize,
    fields: [
      { name: 'handler', offset: 0, size: wordSize },
      { name: 'flags', offset: wordSize, size: wordSize },
      { name: 'restorer', offset: 2 * wordSize, size: wordSize },
      { name: 'mask', offset: 3 * wordSize, size: 8 },
    ],
  };
}

const abis = new WeakMap<AbiOverrides, Map<number, Abi>>();
const NO_OVERRIDES: AbiOverrides = {};

/** The arch's ABI constants, built once per descriptor's overrides (every Kernel asks). */
export function makeAbi(wordSize: number, o: AbiOverrides = NO_OVERRIDES): Abi {
  let byWord = abis.get(o);
  if (!byWord) abis.set(o, (byWord = new Map()));
  let abi = byWord.get(wordSize);
  if (!abi) byWord.set(wordSize, (abi = buildAbi(wordSize, o)));
  return abi;
}

function buildAbi(wordSize: number, o: AbiOverrides): Abi {
  const errno = Object.fromEntries(Object.entries({ ...GENERIC_ERRNO, ...o.errno }).map(([k, v]) => [k, BigInt(v!)])) as Abi['errno'];
  const sig = { ...GENERIC_SIGNALS, ...o.signals } as Abi['sig'];
  const saAll = { ...GENERIC_SA, ...o.sa } as Record<SaName, number | null>;
  // an arch without a flag (MIPS has no SA_RESTORER) gets 0: never set, never tested true
  const sa = Object.fromEntries(Object.entries(saAll).map(([k, v]) => [k, BigInt(v ?? 0)])) as Abi['sa'];
  const how = Object.fromEntries(Object.entries({ ...GENERIC_SIGPROCMASK, ...o.how }).map(([k, v]) => [k, BigInt(v!)])) as Abi['how'];
  return {
    errno,
    sig,
    sa,
    how,
    sigaction: o.sigaction ?? genericSigaction(wordSize),
    nsig: o.nsig ?? 64,
    kernelIgnore: [sig.SIGCHLD, sig.SIGCONT, sig.SIGURG, sig.SIGWINCH],
    kernelStop: [sig.SIGSTOP, sig.SIGTSTP, sig.SIGTTIN, sig.SIGTTOU],
  };
}

export function sigmask(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}
