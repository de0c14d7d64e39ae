// Types shared by the generic kernel and the arch ports.

import type { Machine } from '../machine/machine.ts';
import type { ArchDescriptor } from '../contracts/descriptor.ts';
import type { PtRegs } from './ptregs.ts';

export const SIG_DFL = 0n;
export const SIG_IGN = 1n;

export const SA_RESTART = 0x10000000n;
export const SA_NODEFER = 0x40000000n;
export const SA_RESETHAND = 0x80000000n;
export const SA_SIGINFO = 0x4n;
export const SA_RESTORER = 0x04000000n;

export interface SigAction {
  handler: bigint; // SIG_DFL, SIG_IGN or a user address
  flags: bigint;
  restorer: bigint;
  mask: bigint;
}

export type TaskState = 'running' | 'interruptible' | 'stopped' | 'zombie' | 'dead';

/** struct mm_struct, reduced: the user address space as a byte image (no MMU is modelled). */
export interface Mm {
  id: number;
  image: Uint8Array;
  users: number;
}

export interface Task {
  pid: number;
  comm: string;
  /** guest address of task_struct (thread_info.flags at +TI_FLAGS, thread at +TASK_THREAD) */
  addr: bigint;
  /** guest address range of the kernel stack */
  stackBase: bigint;
  stackTop: bigint;
  kthread: boolean;
  idle: boolean;
  state: TaskState;
  mm: Mm | null;
  parent: Task | null;
  exitCode: number;
  /** signal that killed the task, 0 if it exited */
  killedBy: number;
  sigactions: SigAction[];
  pending: bigint;
  blocked: bigint;
  /** port-private per-task state (tls, ...) */
  arch: Record<string, bigint>;
  [key: string]: unknown;
}

/** What arch ports may use of the generic kernel. */
export interface KernelApi {
  readonly m: Machine;
  readonly desc: ArchDescriptor;
  readonly wordSize: number;
  /** entry.S labels, C stubs and vdso symbols (user addresses) */
  sym(name: string): bigint;
  current(): Task;
  taskPtRegs(t: Task): PtRegs;
  currentPtRegs(): PtRegs;
  /** guest address of t's `thread` struct (the arch's cpu_context / saved switch frame) */
  taskThread(t: Task): bigint;
  readWord(addr: bigint): bigint;
  writeWord(addr: bigint, v: bigint): void;
  /** A kernel bug or a contract violation: stops the run and fails the scenario. */
  bug(contract: string, message: string): never;
  /** force_sig(): a synchronous signal for the current task (a fault); blocked or ignored, it is delivered anyway. */
  forceSig(sig: number): void;
}
