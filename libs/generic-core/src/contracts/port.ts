// The contract between the generic core and an arch lib. The seams are Linux's own: the
// hooks an arch provides are named as the kernel names them (copy_thread, start_thread,
// setup_rt_frame, arch_do_signal_or_restart, syscall_get_nr, syscall_rollback, ...) and
// live in files split the way Linux splits them:
//
//   src/cpu.ts      the CPU on the emulator (contracts/cpu.ts)
//   src/entry.ts    the C half of the entry code: the functions entry.S calls
//                   (arch/x86/entry/syscall_64.c, arch/arm64/kernel/entry-common.c, ...)
//   src/process.ts  process.c: copy_thread, start_thread, the C half of __switch_to
//   src/signal.ts   signal.c: signal frames, rt_sigreturn, arch_do_signal_or_restart
//   src/syscall.ts  asm/syscall.h: how the registers say which syscall, its result, its restart
//
// A hook the arch does not define takes the generic default (kernel/defaults.ts), which
// works from the facts in arch.json; a port writes only what is really its own.

import type { AsmSource } from '../asm/assembler.ts';
import type { ArchDescriptor, EntryModel } from './descriptor.ts';
import type { CpuModel } from './cpu.ts';
import type { PtRegs } from '../kernel/ptregs.ts';
import type { CGen } from '../kernel/bridge.ts';
import type { Gen, KernelApi, KSignal, Task } from '../kernel/types.ts';

/** Sources an arch lib hands to the core; a mutant replaces one of them. */
export interface PortSources {
  /** src/entry.S: entry/exit glue, ret_from_fork, switch_to, sigreturn trampoline */
  entry: AsmSource;
  /** src/user.hbs: Handlebars partials compiling the arch-neutral user-program ops */
  userTemplates: { file: string; text: string };
}

/** struct kernel_clone_args, the part copy_thread reads. */
export interface CloneArgs {
  flags: bigint;
  /** new user stack pointer (clone's newsp), 0 to keep the parent's */
  stack: bigint;
  tls: bigint;
  /** kernel thread payload: fn != null means a kernel thread (regs are NULL) */
  fn: bigint | null;
  fnArg: bigint;
}

/** asm/syscall.h and the ptrace accessors: which syscall a frame is in, its result, its restart. */
export interface SyscallHooks {
  /** syscall_get_nr(): the syscall this frame belongs to (signed, the arch's width). */
  syscall_get_nr(k: KernelApi, regs: PtRegs): bigint;
  /** What a tracer's write of the syscall number does (x86 orig_ax, arm64 syscallno). */
  syscall_set_nr(k: KernelApi, regs: PtRegs, nr: bigint): void;
  /** Put back what the return value overwrote, so the syscall can run again (orig_ax -> ax, orig_x0 -> x0). */
  syscall_rollback(k: KernelApi, regs: PtRegs): void;
  /** "Is this frame a syscall whose restart is still to be decided?" Default: syscall_get_nr != -1. */
  in_syscall?(k: KernelApi, regs: PtRegs): boolean;
  /** Mark the frame "not a syscall" so nothing restarts it again. Default: nothing (x86 keeps orig_ax). */
  forget_syscall?(k: KernelApi, regs: PtRegs): void;
  /** Default: the return register read through arch.json's error convention (negative errno on error). */
  syscall_get_return_value?(k: KernelApi, regs: PtRegs): bigint;
  /** Default: error != 0 writes it in the arch's convention, else val. */
  syscall_set_return_value?(k: KernelApi, regs: PtRegs, error: bigint, val: bigint): void;
  /** Point the frame at restart_syscall for an ERESTART_RESTARTBLOCK restart. Default: the nr register. */
  set_restart_syscall?(k: KernelApi, regs: PtRegs): void;
  /** syscall_get_arguments(): the six arguments the syscall runs with. Default: arch.json syscall.args from pt_regs (riscv: orig_a0 for the first). */
  syscall_get_arguments?(k: KernelApi, regs: PtRegs): bigint[];
  /** syscall_set_arguments() (PTRACE_SET_SYSCALL_INFO). Default: arch.json syscall.args in pt_regs. */
  syscall_set_arguments?(k: KernelApi, regs: PtRegs, args: bigint[]): void;
  /**
   * The arch's own syscalls, by the name arch.json numbers them under (x86-64 arch_prctl,
   * arm set_tls): C of the arguments, like the generic ones. One with a generic name
   * replaces the generic one (sparc rt_sigaction: the restorer is an argument).
   */
  arch_syscalls?: Record<string, (k: KernelApi, ...args: bigint[]) => CGen | bigint>;
}

/** process.c */
export interface ProcessHooks {
  /**
   * copy_thread(p, args) with the parent's current_pt_regs() in `regs`, or NULL regs for a
   * kernel thread (args.fn != null: fn and its argument travel untouched to the switch
   * frame slots arch.json names in kthread). Prepares p's switch frame so switch_to wakes
   * p in ret_from_fork. A negative errno fails the clone (sparc's clone_stackframe: -EFAULT).
   */
  copy_thread(k: KernelApi, p: Task, args: CloneArgs, regs: PtRegs | null): void | bigint;
  /** start_thread(): regs for the first user instruction of a freshly exec'd image. */
  start_thread(k: KernelApi, regs: PtRegs, pc: bigint, sp: bigint): void;
  /** The C half of __switch_to (TLS: x86 fs_base, AArch64 tpidr_el0), run before the asm switch. */
  __switch_to?(k: KernelApi, prev: Task, next: Task): void;
  /**
   * prepare_arch_switch(next): runs in prev, before the address space changes (sparc32
   * flushes every register window to its stack there, so prev's user windows land in prev's
   * memory). May call guest code. Default: nothing.
   */
  prepare_arch_switch?(k: KernelApi, prev: Task, next: Task): CGen;
}

/** signal.c */
export interface SignalHooks {
  /** setup_rt_frame(): the handler's frame on the user stack, regs pointed at the handler. false: it could not be set up (SIGSEGV). */
  setup_rt_frame(k: KernelApi, ksig: KSignal, regs: PtRegs): boolean;
  /**
   * The body of rt_sigreturn: every register back from the frame at the user sp and the
   * frame marked "not a syscall". Returns the restored signal mask, or null when the frame
   * fails the arch's checks (the caller sends SIGSEGV).
   */
  restore_rt_frame(k: KernelApi, regs: PtRegs): { blocked: bigint } | null;
  /** arch_do_signal_or_restart(regs): deliver one signal or decide a handler-less restart (generic-entry / arch models). */
  arch_do_signal_or_restart?(k: KernelApi, regs: PtRegs): CGen;
  /**
   * do_signal(regs, syscall) of the do-work-pending model (arm's arch/arm/kernel/signal.c):
   * deliver one signal, or decide a handler-less restart and return its code (1, or -1 for
   * restart_syscall) for the glue to carry out in the kernel. Default: the core's
   * (kernel/entry/do-work-pending.ts doSignal). arm has its own so that its restart guards
   * are its own code (and its bug zoo can reach them).
   */
  do_signal?(k: KernelApi, regs: PtRegs, syscall: boolean): Gen<number>;
  /** Offset of a user register's saved value from the ucontext pointer handed to the handler (scenarios edit contexts). */
  ucontext_reg_offset(reg: string): number;
}

/** The C functions entry.S calls, by their kernel names, with the arguments asm passes. */
export type EntryFunctions = Record<string, (k: KernelApi, ...args: bigint[]) => CGen | bigint | number | void>;

/** The C half of the entry code. */
export interface EntryHooks {
  /** The functions entry.S calls, per entry model the port offers. */
  models: Partial<Record<EntryModel, EntryFunctions>>;
  /** user_mode(regs) (asm/ptrace.h): the frame was saved from user mode (x86 cs & 3, arm64 PSTATE.M == EL0t). */
  user_mode?(k: KernelApi, regs: PtRegs): boolean;
  /** arch_exit_to_user_mode_work(regs, ti_work): the arch's own work bits, inside the exit loop (arm64 FOREIGN_FPSTATE, MTE_ASYNC_FAULT). */
  arch_exit_to_user_mode_work?(k: KernelApi, regs: PtRegs, tiWork: bigint): void;
  /** arch_exit_to_user_mode_prepare(regs, ti_work): once after the loop (x86 USER_RETURN_NOTIFY, NEED_FPU_LOAD). */
  arch_exit_to_user_mode_prepare?(k: KernelApi, regs: PtRegs, tiWork: bigint): void;
}

export interface ArchPort {
  readonly descriptor: ArchDescriptor;
  /** Absolute path of the arch lib (messages). */
  readonly dir: string;
  readonly sources: PortSources;
  readonly cpu: CpuModel;
  readonly entry: EntryHooks;
  readonly process: ProcessHooks;
  readonly signal: SignalHooks;
  readonly syscall: SyscallHooks;
  /** The entry model this port object runs (arch.json entry.model unless asked otherwise). */
  readonly entryModel: EntryModel;
  /** Mutant ids available in mutants/ (file names without .patch). */
  readonly mutants: string[];
  /** Set when this port object has a mutant applied. */
  readonly mutant?: string;
  /** The lib files the mutant changed (arch.json, src/entry.S, ...). */
  readonly patched?: readonly string[];
}

export interface PortOptions {
  mutant?: string;
  entryModel?: EntryModel;
}

/** What an arch lib's index.ts exports. */
export interface ArchModule {
  createPort(opts?: PortOptions): Promise<ArchPort>;
}
