// The contract between the generic core and an arch lib.
// An arch lib exports `createPort(opts)` returning an ArchPort. Everything that is the same for
// every arch (tasks, schedule, fork, execve, do_work_pending, signal delivery, restart decisions,
// ptrace stops, thread-flag masks) lives in generic-core/src/kernel and calls these hooks.

import type { Machine } from '../machine/machine.ts';
import type { AsmSource } from '../asm/assembler.ts';
import type { ArchDescriptor } from './descriptor.ts';
import type { PtRegs } from '../kernel/ptregs.ts';
import type { KernelApi, SigAction, Task } from '../kernel/types.ts';

/** Sources an arch lib hands to the core; a mutant replaces one of them. */
export interface PortSources {
  /** src/entry.S: entry/exit glue, ret_from_fork, ret_from_kernel_thread, switch_to, sigreturn trampoline */
  entry: AsmSource;
  /** src/user.hbs: Handlebars partials compiling the arch-neutral user-program ops */
  userTemplates: { file: string; text: string };
}

/**
 * Only what the emulator does not do itself: architectural exception entry on a trap
 * instruction, and the boot-time CPU state (GDT, MSRs, vector base, ...).
 */
export interface CpuModel {
  /** Called once per machine after kernel text is loaded; installs the trap hooks. */
  init(m: Machine, symbols: ReadonlyMap<string, bigint>, k: KernelApi): void;
}

/** The arch's "C": what is arch code in Linux (process.c, signal.c, ptrace.c). */
export interface PortC {
  /**
   * copy_thread(). `regs === null` means a kernel thread (GENERIC_KERNEL_THREAD):
   * `usp` is fn and `arg` is its argument, passed through untouched.
   * Otherwise `regs` are the parent's current_pt_regs(): copy them into the child's
   * pt_regs (task_pt_regs(p)), return value 0, new user sp / TLS when asked.
   * Also prepares p's saved context (thread.cpu_context / inactive_task_frame) so that
   * switch_to() wakes p in ret_from_fork (or ret_from_kernel_thread).
   */
  copyThread(k: KernelApi, p: Task, cloneFlags: bigint, usp: bigint, arg: bigint, regs: PtRegs | null, tls: bigint): void;

  /** start_thread(): fill regs for the first user instruction of a freshly exec'd image. */
  startThread(k: KernelApi, regs: PtRegs, pc: bigint, sp: bigint): void;

  /**
   * Set up an rt signal frame on the user stack for `sig` with action `ka`;
   * on return regs point at the handler (arg regs: sig, &info, &uc; return to restorer).
   * Every user register must be saved (C7).
   */
  setupRtFrame(k: KernelApi, sig: number, ka: SigAction, regs: PtRegs, blocked: bigint): void;

  /** rt_sigreturn: restore every register from the frame at the user sp; returns the restored mask. Must mark "not in a syscall" (C6). */
  restoreRtFrame(k: KernelApi, regs: PtRegs): { blocked: bigint };

  /** The C half of __switch_to (e.g. TLS: x86 fs_base, AArch64 tpidr_el0), run just before the asm switch_to. */
  switchToC(k: KernelApi, prev: Task, next: Task): void;

  /** Offset of a user register's saved value from the ucontext pointer handed to the handler. */
  ucontextRegOffset(reg: string): number;

  /** The syscall-restart primitives of this arch (its signal.c). */
  restart: RestartHooks;

  /** Normalise the raw syscall result registers to a libc-style value (negative errno on error). */
  normaliseResult(raw: Record<string, bigint>): bigint;
}

/**
 * The arch's syscall-restart register work. The generic core decides *whether* to restart
 * (C6: the four codes, handler / SA_RESTART); the arch says *how* its registers express it.
 */
export interface RestartHooks {
  /** syscall_get_nr(): the syscall this pt_regs frame belongs to, or -1 when "not in a syscall". */
  syscallNr(regs: PtRegs): bigint;
  /** What a tracer's syscall-number write does (x86 orig_ax, arm64 syscallno + x8). */
  setSyscallNr(regs: PtRegs, nr: bigint): void;
  /** The current return value register (signed). */
  returnValue(regs: PtRegs): bigint;
  /** Write the return value (e.g. -EINTR) in the arch's convention. */
  setReturnValue(regs: PtRegs, v: bigint): void;
  /** Put back what the return value overwrote (orig_ax -> ax, orig_x0 -> x0, ...). */
  restoreOrigArg(regs: PtRegs): void;
  /** The pc of the trap instruction (restart address) and the pc after it (continue address). */
  restartAddress(regs: PtRegs): bigint;
  /** forget_syscall(): mark the frame "not in a syscall" so it is never restarted again. */
  forgetSyscall(regs: PtRegs): void;
}

export interface ArchPort {
  readonly descriptor: ArchDescriptor;
  /** Absolute path of the arch lib (for messages and mutant files). */
  readonly dir: string;
  readonly sources: PortSources;
  readonly cpu: CpuModel;
  readonly c: PortC;
  /** Mutant ids available in mutants/ (file names without .patch). */
  readonly mutants: string[];
}

/** What an arch lib's index.ts exports. */
export interface ArchModule {
  createPort(opts?: { mutant?: string }): Promise<ArchPort>;
}
