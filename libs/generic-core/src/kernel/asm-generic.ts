// The asm-generic facts every arch that uses the generic headers shares, written once: the
// syscall numbers of include/uapi/asm-generic/unistd.h (the ones the kit's kernel
// implements), the TIF bits of include/asm-generic/thread_info_tif.h, the generic-entry
// exit work mask, struct sigaction without sa_restorer. A new port starts from these
// (tools/generators); an arch with its own numbers lists them in its arch.json.

import type { FrameLayout } from '../contracts/descriptor.ts';

/** include/uapi/asm-generic/unistd.h: the syscalls the kit's kernel implements (no fork/vfork: clone). */
export const GENERIC_SYSCALL_NUMBERS: Readonly<Record<string, number>> = {
  read: 63,
  write: 64,
  ppoll: 73,
  exit: 93,
  exit_group: 94,
  nanosleep: 101,
  sched_yield: 124,
  restart_syscall: 128,
  kill: 129,
  rt_sigaction: 134,
  rt_sigprocmask: 135,
  rt_sigreturn: 139,
  getpid: 172,
  gettid: 178,
  clone: 220,
  execve: 221,
  wait4: 260,
};

/** include/asm-generic/thread_info_tif.h (HAVE_GENERIC_TIF_BITS, with TIF_RESTORE_SIGMASK). */
export const GENERIC_TIF: Readonly<Record<string, number>> = {
  NOTIFY_RESUME: 0,
  SIGPENDING: 1,
  NOTIFY_SIGNAL: 2,
  MEMDIE: 3,
  NEED_RESCHED: 4,
  NEED_RESCHED_LAZY: 5,
  USER_RETURN_NOTIFY: 7,
  UPROBE: 8,
  PATCH_PENDING: 9,
  RESTORE_SIGMASK: 10,
};

/** include/linux/irq-entry-common.h: EXIT_TO_USER_MODE_WORK without ARCH_EXIT_TO_USER_MODE_WORK. */
export const GENERIC_EXIT_TO_USER_MODE_WORK: readonly string[] = ['SIGPENDING', 'NOTIFY_RESUME', 'UPROBE', 'NEED_RESCHED', 'NEED_RESCHED_LAZY', 'PATCH_PENDING', 'NOTIFY_SIGNAL'];

/** include/linux/signal_types.h struct sigaction without sa_restorer (asm-generic: no SA_RESTORER). */
export function genericSigaction(wordSize: 4 | 8): FrameLayout {
  return {
    size: 2 * wordSize + 8,
    fields: [
      { name: 'handler', offset: 0, size: wordSize },
      { name: 'flags', offset: wordSize, size: wordSize },
      { name: 'mask', offset: 2 * wordSize, size: 8 },
    ],
  };
}
