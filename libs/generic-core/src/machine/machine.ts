// The one CPU interface the generic core and every arch lib talk to: memory, registers by
// the names the arch lib's CPU model gives them, hooks, and runs bounded by an instruction
// budget. It knows no CPU: what one CPU is (register table, privilege, interrupts, trap
// entry) is that arch lib's CpuModel (contracts/cpu.ts).

export type Perm = number; // bit mask of PROT_READ | PROT_WRITE | PROT_EXEC
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const PROT_ALL = 7;

export interface RunLimits {
  /** Hard cap on guest instructions for this run; exceeding it is a BudgetExceededError. */
  instructions: number;
  /** Wall-clock backstop in milliseconds (default 10000). */
  timeoutMs?: number;
}

/** A copy of a machine's state (saveState). */
export interface MachineState {
  readonly regions: ReadonlyArray<{ base: bigint; bytes: Uint8Array }>;
  readonly cpu: Uint8Array;
}

export interface InterruptLine {
  at: number;
  take(): boolean;
}

export interface RunResult {
  /** Instructions executed during this run (counted by the backend). */
  instructions: number;
  /** Why the run ended. */
  reason: 'stopped' | 'until';
}

export interface HookHandle {
  remove(): void;
}

export interface Machine {
  /** e.g. "unicorn 2.0.1" */
  readonly backendName: string;
  readonly endian: 'little' | 'big';

  /**
   * Maps [base, base + size). `data`: no code ever runs from this region, so the machine may
   * write it without invalidating translated code (kernel data, kernel stacks).
   */
  map(base: bigint, size: number, perms?: Perm, opts?: { data?: boolean }): void;
  read(addr: bigint, len: number): Uint8Array;
  /** Guest RAM without a copy: a live view (valid until the next write or run; never write to it). Falls back to read(). */
  peek(addr: bigint, len: number): Uint8Array;
  write(addr: bigint, data: Uint8Array): void;
  /** Word access in the guest's endianness; size in bytes (1, 2, 4, 8). */
  readUint(addr: bigint, size: number): bigint;
  writeUint(addr: bigint, size: number, value: bigint): void;

  /** Registers by the names of the CPU model's register table ("rax", "x0", "pc", "sp_el0", ...). */
  reg(name: string): bigint;
  setReg(name: string, value: bigint): void;
  hasReg(name: string): boolean;

  /** Called before the instruction at any address in [begin, end] executes. */
  hookCode(begin: bigint, end: bigint, cb: (addr: bigint, size: number) => void): HookHandle;
  /** CPU exceptions the emulator reports instead of vectoring them (numbers are the backend's). */
  hookInterrupt(cb: (intno: number) => void): HookHandle;
  /** An instruction the emulator reports through an instruction hook (ids are the backend's). */
  hookInsn(insn: number, cb: () => void): HookHandle;

  /** Runs from `pc` until stop() is called, `until` is reached, or the budget runs out. */
  run(pc: bigint, limits: RunLimits, until?: bigint): RunResult;
  /** Ask the current run to end after the current instruction/hook. */
  stop(): void;
  /** Instructions executed so far in the current (or last) run. */
  instructionCount(): number;
  /**
   * The last instruction that ran (address and size), if any in this run. Inside a code
   * hook the hooked instruction counts as running already; inside an interrupt line's
   * `take` it does not (it may never run).
   */
  lastInstruction(): { addr: bigint; size: number } | undefined;
  /** Inside a code hook: the instruction that ran before the hooked one. */
  previousInstruction(): { addr: bigint; size: number } | undefined;
  /**
   * The whole machine state a run can change: every mapped region's bytes and the CPU
   * state. restoreState() puts it back exactly and returns the code regions (not `data`)
   * whose bytes it changed: translated code from them may be stale, and only the caller
   * knows the privilege level their addresses translate under (invalidateCode).
   */
  saveState(): MachineState;
  restoreState(s: MachineState): Array<{ base: bigint; end: bigint }>;
  /** Drops translated code of [begin, end] (virtual addresses, as the CPU translates them now). */
  invalidateCode(begin: bigint, end: bigint): void;
  /**
   * An external interrupt line: from the instruction with index `at` of the current run on
   * (an index already passed: the next instruction), `take` is called before each
   * instruction until it returns true, which means it entered the interrupt (moved the pc):
   * the instruction it was called at then does not run, and no other code hook sees it.
   * `take` may set the next line itself. Undefined lowers the line.
   */
  setInterrupt(line: InterruptLine | undefined): void;
  /**
   * After a code hook changed state the translation depends on (privilege, mode): leave the
   * translated block being executed, so the next instruction is translated afresh.
   */
  leaveBlock(): void;

  close(): void;
}

/** The guest ran past its instruction budget (runaway guest code). */
export class BudgetExceededError extends Error {
  constructor(
    readonly budget: number,
    readonly pc: bigint,
  ) {
    super(`guest code ran past its instruction budget of ${budget} instructions (pc=0x${pc.toString(16)})`);
    this.name = 'BudgetExceededError';
  }
}

/** The run hit its wall-clock backstop (RunLimits.timeoutMs) before its instruction budget. */
export class RunTimeoutError extends BudgetExceededError {
  constructor(
    budget: number,
    pc: bigint,
    readonly timeoutMs: number,
    readonly executed: number,
  ) {
    super(budget, pc);
    this.message = `guest code ran past its wall-clock limit of ${timeoutMs} ms after ${executed} instructions (pc=0x${pc.toString(16)})`;
    this.name = 'RunTimeoutError';
  }
}

/** The emulator reported an error (invalid instruction, unmapped fetch, ...). */
export class GuestFaultError extends Error {
  constructor(
    message: string,
    readonly pc: bigint,
  ) {
    super(message);
    this.name = 'GuestFaultError';
  }
}

/** The emulator library is not installed or cannot be loaded. */
export class EmulatorMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorMissingError';
  }
}
