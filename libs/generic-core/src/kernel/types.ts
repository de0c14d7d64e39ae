// Declarations shared by the kernel's files and the arch ports: the kit's include/linux.
// Each kernel file (sched.ts, fork.ts, exec.ts, exit.ts, signal.ts, ptrace.ts, entry/*)
// implements part of KernelApi as functions of a KernelApi; kernel.ts puts them together.
// Nothing here imports an implementation, so the files never import each other in circles.

import type { ArchDescriptor, EntryModel } from '../contracts/descriptor.ts';
import type { CpuMachine, CpuModel } from '../contracts/cpu.ts';
import type { ArchPort, CloneArgs } from '../contracts/port.ts';
import type { PtRegs } from './ptregs.ts';
import type { Abi } from './abi.ts';
import type { Bridge, CGen } from './bridge.ts';

export type { CGen } from './bridge.ts';
export type { CloneArgs } from '../contracts/port.ts';

/** A C function of the kernel that may call guest code (switch_to) and so suspend. */
export type Gen<T = void> = Generator<{ call: bigint; args: bigint[] }, T, bigint>;

export interface SigAction {
  handler: bigint; // SIG_DFL, SIG_IGN or a user address
  flags: bigint;
  restorer: bigint;
  mask: bigint;
}

/** struct ksignal: the signal get_signal() picked and its action. */
export interface KSignal {
  sig: number;
  ka: SigAction;
  /** the blocked mask to save in the frame (the one in force before delivery) */
  oldset: bigint;
}

export type TaskState = 'running' | 'interruptible' | 'stopped' | 'zombie' | 'dead';

/**
 * struct mm_struct, reduced: the user address space as a byte image (no MMU is modelled),
 * in 4 KiB pages. A page is never written in place (saving a loaded mm makes new pages of
 * the ones that changed), so mms share the pages they have in common.
 */
export interface Mm {
  id: number;
  pages: readonly Uint8Array[];
  users: number;
}

/** A pending ERESTART_RESTARTBLOCK continuation (struct restart_block, nanosleep's). */
export interface RestartBlock {
  deadline: bigint;
  rem: bigint;
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
  restartBlock?: RestartBlock;
  tracer?: Tracer;
  ptraced?: boolean;
  vforkParent?: Task;
  vforkWait?: boolean;
  scheduleTailDone?: boolean;
  /** port-private per-task state */
  arch: Record<string, bigint>;
}

/** A tracer attached with PTRACE_SYSCALL; runs at the tracee's syscall stops. */
export interface Tracer {
  onSyscallEntry?(t: Task, view: TraceeView): { kill?: boolean } | void;
  onSyscallExit?(t: Task, view: TraceeView): void;
}

/** What a tracer may do at a stop: PTRACE_GETREGS/SETREGS, and PTRACE_GET/SET_SYSCALL_INFO's number and arguments. */
export interface TraceeView {
  regs: PtRegs;
  get(reg: string): bigint;
  set(reg: string, v: bigint): void;
  nr(): bigint;
  setNr(nr: bigint): void;
  args(): bigint[];
  setArgs(args: bigint[]): void;
  /** The result user mode will see, in the arch's convention (a tracer skipping a call sets it). */
  setReturn(val: bigint): void;
}

/** The world outside the CPU: events that happen while everything sleeps. */
export interface World {
  /** One event per idle tick, in order (a signal arrives, data arrives, time passes). */
  events: Array<(k: KernelApi) => void>;
  /** Hooks at interesting points of a syscall ("fork" before the point of no return, ...). */
  at?: (k: KernelApi, point: string, t: Task) => void;
}

export interface SyscallEntry {
  pid: number;
  name: string;
  nr: number;
  args: bigint[];
  /** user-mode instructions this task ran since its previous syscall entry */
  userInsns: number;
  /** the last user instruction before the entry (the trap instruction) */
  userPc: bigint;
  /** what the syscall returned in C (an -ERESTART* code too), once it has */
  result?: bigint;
}

/** One return to user mode, seen at the instruction that did it. */
export interface ExitToUser {
  pid: number;
  irqsOn: boolean;
  /** kernel sp minus what the CPU model says it must be at that instruction: 0 when nothing but pt_regs was on the stack */
  spDelta: bigint;
  /** the user pc it returned to */
  pc: bigint;
  /** entry.S symbol+offset of the returning instruction */
  at: string;
}

/** What an interrupt does once handled: a scheduler tick, or a device whose handler signals the interrupted task. */
export type IrqSource = { kind: 'tick' } | { kind: 'signal'; sig: number };

/** When a scenario's interrupt line rises (run instruction indices, as the machine counts them). */
export interface IrqPlan {
  source: IrqSource;
  /** before these instruction indices of the run (each stays pending until the CPU can take it) */
  at?: number[];
  /** or every `every` instructions after the previous one was taken */
  every?: number;
  /** or once, after the instruction at this address ran (user or kernel) */
  afterPc?: bigint;
  /** at most this many interrupts */
  limit?: number;
}

/** One interrupt the CPU took. */
export interface IrqRecord {
  /** run index of the instruction it arrived before (that instruction ran after the return) */
  index: number;
  /** run index where the line rose (index - raised: instructions it waited, masked) */
  raised: number;
  pc: bigint;
  user: boolean;
  /** "user 0x..." or the kernel symbol+offset */
  at: string;
  pid: number;
  source: IrqSource;
  /** handle_irq() ran for it */
  handled: boolean;
}

/** An executable of the little filesystem (user/compile.ts makes them). */
export interface UserImage {
  base: bigint;
  entry: bigint;
  bytes: Uint8Array;
  symbols: Map<string, bigint>;
  /** results slot name -> index (8-byte slots from the results page) */
  slots: Map<string, number>;
  /** storeRegs prefix -> the registers stored, in slot order */
  regSets: Map<string, string[]>;
  data: Map<string, bigint>;
  /** initial data bytes by address */
  dataInit: Array<[bigint, Uint8Array]>;
  source: string;
}

/** Everything the kernel's files and the arch ports use of the kernel. */
export interface KernelApi {
  readonly m: CpuMachine;
  readonly cpu: CpuModel;
  readonly desc: ArchDescriptor;
  readonly port: ArchPort;
  readonly abi: Abi;
  readonly wordSize: number;
  readonly entryModel: EntryModel;
  /** entry.S labels, C stubs and vdso symbols (user addresses) */
  readonly symbols: ReadonlyMap<string, bigint>;
  readonly bridge: Bridge;
  readonly tasks: Task[];
  readonly world: World;
  readonly programs: Record<string, UserImage>;

  // observations, read by scenarios
  readonly syscalls: SyscallEntry[];
  readonly exits: ExitToUser[];
  readonly trace: string[];
  readonly results: Map<number, ReadonlyMap<bigint, bigint>>;
  readonly output: string[];
  readonly handledWork: Record<string, number>;
  /** interrupts the CPU took, in order (C12) */
  readonly irqs: IrqRecord[];
  /** taken, not yet handled */
  readonly irqsInFlight: IrqRecord[];
  /** set before run(): when the scenario's interrupt line rises */
  irqPlan?: IrqPlan;
  /** scenario hook: runs at every syscall entry, before the implementation */
  onSyscall?: (name: string, t: Task, args: bigint[]) => void;
  /** simulated time, ns; advanced by world events */
  clock: bigint;
  inputQueue: Uint8Array[];

  // ---- basics (kernel.ts)
  sym(name: string): bigint;
  current(): Task;
  /** set `current` (schedule() does it before switch_to) */
  setCurrent(t: Task): void;
  readonly idleTask: Task;
  task(pid: number): Task | undefined;
  taskPtRegs(t: Task): PtRegs;
  currentPtRegs(): PtRegs;
  ptRegsAt(addr: bigint): PtRegs;
  /** guest address of t's thread struct */
  taskThread(t: Task): bigint;
  /** guest address of t's thread.<name> (a field of arch.json thread) */
  threadSlot(t: Task, name: string): bigint;
  /** t's thread.<name>, read in the field's own size */
  readThread(t: Task, name: string): bigint;
  /** t's thread.<name> = v, written in the field's own size */
  writeThread(t: Task, name: string, v: bigint): void;
  /** guest address of the slot of `reg` in p's switch frame (arch.json switchFrame) */
  switchFrameSlot(p: Task, reg: string): bigint;
  readWord(addr: bigint): bigint;
  writeWord(addr: bigint, v: bigint): void;
  readCString(addr: bigint, max?: number): string;
  /** access_ok(): [addr, addr + size) lies in the user address space. */
  accessOk(addr: bigint, size: bigint): boolean;
  /** Where `pc` is, the way an oops names it: an entry.S symbol+offset, a C function, a user address. */
  describePc(pc: bigint): string;
  /** A kernel bug or a contract violation: stops the run and fails the scenario. */
  bug(contract: string, message: string): never;
  /** Stop the run: the scenario is over. */
  halt(): void;
  irqsEnabled(): boolean;
  localIrqEnable(): void;
  localIrqDisable(): void;
  /** Entry glue must hand C the task's own pt_regs (C4). */
  expectCurrentRegs(fn: string, regsAddr: bigint): PtRegs;

  // ---- thread flags
  tifBit(name: string): bigint;
  hasTif(name: string): boolean;
  tiFlags(t: Task): bigint;
  setTif(t: Task, name: string): void;
  clearTif(t: Task, name: string): void;
  testTif(t: Task, name: string): boolean;
  count(what: string): void;

  // ---- sched.ts
  schedule(): Gen;
  scheduleTail(prev: bigint): Gen<bigint>;
  wakeUp(t: Task): void;
  waitEventInterruptible(cond: () => boolean): Gen<bigint>;
  anyRunnable(): boolean;
  mmImage(mm: Mm): Uint8Array;
  /** The pages of an mm as they are now (shared, never to be written). */
  mmPages(mm: Mm): readonly Uint8Array[];
  newMm(pages?: readonly Uint8Array[]): Mm;
  loadMm(mm: Mm): void;
  dropSuspendedFrames(t: Task): void;

  // ---- fork.ts
  allocTask(comm: string, kthread: boolean): Task;
  kernelClone(args: CloneArgs, regs: PtRegs | null, comm?: string): Gen<bigint>;
  kernelThread(fnName: string, arg: bigint): Gen<bigint>;
  forkIdle(): Task;

  // ---- exec.ts
  execImage(path: string): bigint;
  kernelExecve(path: string): bigint;

  // ---- exit.ts
  doExit(code: number, killedBy?: number): Gen<never>;
  snapshotResults(t: Task): void;
  vforkRelease(t: Task): void;

  // ---- signal.ts
  signalPending(t: Task): boolean;
  fatalSignalPending(t: Task): boolean;
  recalcSigpending(t: Task): void;
  sendSignal(t: Task, sig: number): void;
  forceSig(sig: number): void;
  getSignal(): Gen<KSignal | null>;
  /** signal_setup_done() after the arch set up (or failed to set up) the frame. */
  handleSignal(ksig: KSignal, regs: PtRegs): void;
  readSigAction(addr: bigint): SigAction;
  writeSigAction(addr: bigint, a: SigAction): void;

  // ---- syscall.h through the port (with generic defaults)
  syscallGetNr(regs: PtRegs): bigint;
  syscallSetNr(regs: PtRegs, nr: bigint): void;
  inSyscall(regs: PtRegs): boolean;
  forgetSyscall(regs: PtRegs): void;
  syscallRollback(regs: PtRegs): void;
  /** The result as a libc-style wrapper sees it: negative errno on error. */
  syscallGetReturnValue(regs: PtRegs): bigint;
  syscallSetReturnValue(regs: PtRegs, error: bigint, val: bigint): void;
  setRestartSyscall(regs: PtRegs): void;
  syscallGetArguments(regs: PtRegs): bigint[];
  syscallSetArguments(regs: PtRegs, args: bigint[]): void;
  /** The pc of the trap instruction, given the pc after it. */
  restartPc(pc: bigint): bigint;

  // ---- ptrace.ts
  /** ptrace_report_syscall_entry(): true when the tracer asked to skip (or killed) */
  ptraceReportSyscallEntry(regs: PtRegs): boolean;
  ptraceReportSyscallExit(regs: PtRegs): void;
  /** the task is traced at syscall stops (TIF_SYSCALL_TRACE / SYSCALL_WORK_SYSCALL_TRACE) */
  hasSyscallWork(t: Task): boolean;

  // ---- syscalls.ts
  /** Run syscall `nr` with the arguments in pt_regs (the C dispatch of generic-entry arches); -ENOSYS for an unknown number. */
  invokeSyscall(regs: PtRegs, nr: bigint): Gen<bigint>;
  /** Run syscall `nr` with explicit arguments (what a sys_call_table slot called from asm does). */
  callSyscall(nr: number, args: bigint[]): Gen<bigint>;

  // ---- entry/*: the return-to-user models
  syscallEnterFromUserMode(regs: PtRegs, nr: bigint): Gen<bigint>;
  syscallExitToUserMode(regs: PtRegs): Gen;
  /** the syscall_exit_work part of syscall_exit_to_user_mode (ptrace exit report), irqs on */
  syscallExitWork(regs: PtRegs): Gen;
  exitToUserModePrepare(regs: PtRegs): Gen;
  irqentryEnterFromUserMode(regs: PtRegs): void;
  irqentryExitToUserMode(regs: PtRegs): Gen;
  /** arch_do_signal_or_restart through the port (or the generic default). */
  archDoSignalOrRestart(regs: PtRegs): Gen;
  /** The rewinding restart decision, taken after get_signal (x86, MIPS, PowerPC style). */
  signalRestartAfterGetSignal(regs: PtRegs): Gen;
  /** The rewinding restart decision, prepared before get_signal so a debugger sees it (arm64, RISC-V style). */
  signalRestartBeforeGetSignal(regs: PtRegs): Gen;

  // ---- irq.ts (C12)
  /** user_mode(regs) through the port */
  userMode(regs: PtRegs): boolean;
  /** handle_irq(regs): the handler of the interrupt the CPU took (a tick: NEED_RESCHED; a signal source) */
  handleIrq(regs: PtRegs): void;
  irqentryEnter(regs: PtRegs): { user: boolean };
  irqentryExit(regs: PtRegs, state: { user: boolean }): Gen;
}
