// Kernel-internal and uapi numbers that are the same on every arch modelled here.

export const EPERM = 1n;
export const ENOENT = 2n;
export const ESRCH = 3n;
export const EINTR = 4n;
export const EBADF = 9n;
export const ECHILD = 10n;
export const EAGAIN = 11n;
export const EFAULT = 14n;
export const EINVAL = 22n;
export const ENOSYS = 38n;

// include/linux/errno.h: never seen by user space
export const ERESTARTSYS = 512n;
export const ERESTARTNOINTR = 513n;
export const ERESTARTNOHAND = 514n;
export const ERESTART_RESTARTBLOCK = 516n;

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGILL = 4;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGURG = 23;
export const SIGWINCH = 28;
export const NSIG = 64;

export const CLONE_VM = 0x100n;
export const CLONE_VFORK = 0x4000n;
export const CLONE_SETTLS = 0x80000n;
export const CLONE_PARENT_SETTID = 0x100000n;
export const CLONE_CHILD_SETTID = 0x1000000n;
export const CSIGNAL = 0xffn;

export const SIG_BLOCK = 0n;
export const SIG_UNBLOCK = 1n;
export const SIG_SETMASK = 2n;

export function sigmask(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}

/** Signals whose default action is to do nothing (sig_kernel_ignore). */
export const KERNEL_IGNORE = [SIGCHLD, SIGCONT, SIGURG, SIGWINCH];
/** Signals whose default action is to stop (sig_kernel_stop). */
export const KERNEL_STOP = [SIGSTOP, SIGTSTP, 21, 22];
