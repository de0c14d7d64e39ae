// The CPU model an arch lib provides (its src/cpu.ts): everything about one CPU that the
// emulator does not do by itself, behind one interface, so the generic core never names a
// CPU. Privilege levels, banked registers, interrupt-enable bits and return-from-exception
// instructions stay the emulator's own; the model adds what it lacks (exception entry on a
// trap instruction, the privilege level Unicorn caches and register writes do not refresh)
// and the boot-time state Linux sets up.

import type { UnicornCpu, UnicornMachine } from '../machine/unicorn/machine.ts';
import type { KernelApi } from '../kernel/types.ts';

/** The machine a CPU model works on (Unicorn: register ids and uc_context patching). */
export type CpuMachine = UnicornMachine;

export interface CpuModel {
  /** e.g. "x86-64", "AArch64" (messages) */
  readonly name: string;
  /** What the Unicorn backend needs: uc_arch, uc_mode, the register table. */
  readonly unicorn: UnicornCpu & {
    /** The Unicorn release this model's calibration was made against (arch.json pins it too). */
    readonly calibratedWith: string;
    /**
     * Finds the emulator-internal state the model patches (once per process and library,
     * on a scratch engine); throws CalibrationError naming the version when it cannot.
     */
    calibrate?(): void;
  };
  /** The level user mode runs at (x86 CPL 3, AArch64 EL0). */
  readonly userPrivilege: number;
  /** One no-op instruction as it sits in memory (the bench's bare-engine floor runs a few). */
  readonly nop: Uint8Array;
  /**
   * An instruction that ends a translation block at once, to fill the page of C stub
   * addresses: a call into C stops there (the hook takes over) instead of making the
   * emulator translate a long block of whatever the page held.
   */
  readonly stubFill: Uint8Array;
  /** The level in force now. */
  privilege(m: CpuMachine): number;
  /** Change the level the CPU translates and checks with (trap entry; boot). */
  setPrivilege(m: CpuMachine, level: number): void;
  /** Maskable interrupts enabled (x86 RFLAGS.IF, AArch64 !PSTATE.I, ...). */
  irqsEnabled(m: CpuMachine): boolean;
  /** local_irq_enable()/local_irq_disable() done by the TypeScript "C" parts. */
  setIrqsEnabled(m: CpuMachine, on: boolean): void;
  /**
   * Boot-time CPU state (descriptor tables, vector base, system registers) and the hooks
   * that stand in for what the emulator does not do (exception entry on a trap). Called once
   * per machine, after kernel text is loaded.
   */
  boot(m: CpuMachine, k: KernelApi): void;
  /** The instructions that return from the kernel to user mode, checked where they execute (C2, C5). */
  readonly returnToUser: ReturnToUser;
  /** How the CPU takes an external interrupt (C12); absent: the port has no irq entry yet. */
  readonly irq?: IrqModel;
}

/**
 * An external interrupt (a timer), entered the way the CPU enters it. Both methods run
 * between two instructions, from a code hook at the next instruction (the one the
 * interrupt arrives before: the pc), whether the CPU is in user or kernel mode.
 */
export interface IrqModel {
  /**
   * Whether the CPU would take a pending interrupt before this instruction: interrupts
   * enabled (always in user mode on most CPUs), and no architectural shadow (x86: the
   * instruction after `sti` or `mov ss`, m.lastInstruction(); a branch delay slot).
   */
  canTake(m: CpuMachine): boolean;
  /**
   * Take it as the hardware does (save the return state where the CPU saves it, switch
   * privilege and stack, mask interrupts, jump to the vector the boot state set up). The
   * interrupted instruction is the pc; it runs after the return from the interrupt.
   */
  take(m: CpuMachine, k: KernelApi): void;
}

/**
 * How the core recognises the CPU's return-to-user instructions (x86 iretq/sysretq,
 * AArch64 eret, RISC-V sret, ...). Every place in kernel text where one of the byte
 * patterns occurs gets a hook; `check` runs there just before the instruction executes,
 * whichever path reached it, and says whether it is about to enter user mode.
 */
export interface ReturnToUser {
  /** Byte patterns of the instructions (as they sit in memory, the CPU's byte order). */
  readonly patterns: readonly Uint8Array[];
  /**
   * At such an instruction (`size` bytes at `addr`): whether it returns to user mode now,
   * the user pc it returns to, and the kernel stack pointer there with the value it has
   * when nothing but pt_regs was left on the task's kernel stack (`stackTop`), or null when
   * this instruction does not return to user mode (a return to the kernel, or a pattern
   * match that is no instruction start).
   */
  check(m: CpuMachine, addr: bigint, size: number, stackTop: bigint, ptRegsSize: number): ReturnToUserState | null;
}

export interface ReturnToUserState {
  /** the user pc it returns to */
  pc: bigint;
  /** the kernel stack pointer now, and what it is when nothing but pt_regs is left */
  sp: bigint;
  expectedSp: bigint;
  /**
   * CPU state kernel and user must not share, found live at the return (x86-64: the
   * kernel's GS base, a missing swapgs): the contract and what was seen.
   */
  violation?: { contract: string; message: string };
}
