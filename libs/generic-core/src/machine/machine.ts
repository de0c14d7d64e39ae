// The one CPU interface the generic core and every arch lib talk to.
// Backends: Unicorn 2 (in-process, through koffi). A QEMU/gdbstub backend can
// implement the same interface later for CPUs Unicorn lacks.

export type Perm = number; // bit mask of PROT_READ | PROT_WRITE | PROT_EXEC
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const PROT_ALL = 7;

/** Which CPU a machine emulates; names follow arch.json `emulator` fields. */
export interface MachineSpec {
  /** Unicorn arch: "x86" | "arm64" | "arm" | "mips" | ... */
  arch: string;
  /** Unicorn mode: "64" | "32" | "arm" | "thumb" | ... combined with endianness. */
  mode: string;
  /** "little" | "big" */
  endian: 'little' | 'big';
  /** Optional CPU model name understood by the backend (e.g. "cortex-a72"). */
  cpuModel?: string;
}

export interface RunLimits {
  /** Hard cap on guest instructions for this run; exceeding it is a BudgetExceededError. */
  instructions: number;
  /** Wall-clock backstop in milliseconds (default 10000). */
  timeoutMs?: number;
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

/** AArch64 system register selector (MRS/MSR encoding). */
export interface SysRegId {
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
}

export interface Machine {
  readonly spec: MachineSpec;
  /** e.g. "unicorn 2.0.1" */
  readonly backendName: string;

  map(base: bigint, size: number, perms?: Perm): void;
  read(addr: bigint, len: number): Uint8Array;
  write(addr: bigint, data: Uint8Array): void;
  /** Word access in the guest's endianness; size in bytes (1, 2, 4, 8). */
  readUint(addr: bigint, size: number): bigint;
  writeUint(addr: bigint, size: number, value: bigint): void;

  /** Registers by their architectural lower-case names ("rax", "x0", "sp", "pc", "rflags", "nzcv", "sp_el0"...). */
  reg(name: string): bigint;
  setReg(name: string, value: bigint): void;
  /** True when the register name is known to the backend for this arch. */
  hasReg(name: string): boolean;

  /** AArch64 system registers (ELR_EL1, SPSR_EL1, VBAR_EL1, ...). */
  sysReg(id: SysRegId): bigint;
  setSysReg(id: SysRegId, value: bigint): void;
  /** x86 model-specific registers. */
  msr(index: number): bigint;
  setMsr(index: number, value: bigint): void;
  /** x86 descriptor-table registers: "gdtr" | "idtr" */
  setTableReg(name: 'gdtr' | 'idtr', base: bigint, limit: number): void;

  /**
   * Set the privilege level the CPU translates and executes with
   * (x86: CPL 0..3 together with CS/SS; AArch64: EL0/EL1 in PSTATE).
   * Unicorn 2.0.1 caches this in hflags, which plain register writes do not refresh.
   */
  setPrivilege(level: number): void;
  /** The privilege level currently in force (x86 CPL, AArch64 EL). */
  privilege(): number;
  /** The level user mode runs at (x86 CPL 3, AArch64 EL0). */
  readonly userPrivilege: number;
  /** Whether maskable interrupts are enabled (x86 RFLAGS.IF, AArch64 !PSTATE.I). */
  irqsEnabled(): boolean;
  /** local_irq_enable()/local_irq_disable() done by the TypeScript "C" parts. */
  setIrqsEnabled(on: boolean): void;

  /** Called before the instruction at any address in [begin, end] executes. */
  hookCode(begin: bigint, end: bigint, cb: (addr: bigint, size: number) => void): HookHandle;
  /** CPU exceptions/interrupts (AArch64 svc -> intno 2, x86 #GP -> 13, ...). */
  hookInterrupt(cb: (intno: number) => void): HookHandle;
  /** x86 `syscall` instruction (UC_HOOK_INSN). */
  hookSyscallInsn(cb: () => void): HookHandle;
  /** Fetch/read/write of unmapped memory; return nothing: the run stops with an error naming the address. */

  /** Runs from `pc` until stop() is called, `until` is reached, or the budget runs out. */
  run(pc: bigint, limits: RunLimits, until?: bigint): RunResult;
  /** Ask the current run to end after the current instruction/hook. */
  stop(): void;
  /** Instructions executed so far in the current (or last) run. */
  instructionCount(): number;

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
