// The part of an AArch64 CPU that Unicorn 2 does not do by itself: taking a synchronous
// exception from EL0 to EL1 (Unicorn stops at `svc` with an interrupt hook instead of
// vectoring), and the boot-time system register state. Written from the Arm ARM
// (D1.10 "Exception entry", D17 ESR_ELx encoding); everything after the vector fetch
// (MRS/MSR of the banked registers, DAIF changes, ERET back to EL0) is Unicorn's own.

import type { CpuModel } from '@archkit/generic-core/contracts/port';
import type { Machine } from '@archkit/generic-core/machine/machine';
import type { KernelApi } from '@archkit/generic-core/kernel/types';

/** QEMU's exception numbers as Unicorn hands them to UC_HOOK_INTR (target/arm/cpu.h). */
export const EXCP = {
  UDEF: 1,
  SWI: 2,
  PREFETCH_ABORT: 3,
  DATA_ABORT: 4,
  IRQ: 5,
  FIQ: 6,
  BKPT: 7,
  HVC: 11,
  SMC: 13,
} as const;

/** ESR_ELx fields (Arm ARM D17.2.40). */
export const ESR_ELx_EC_SHIFT = 26n;
export const ESR_ELx_EC_SVC64 = 0x15n;
export const ESR_ELx_IL = 1n << 25n;

/** PSTATE bits. */
export const PSR_MODE_EL0t = 0x0n;
export const PSR_MODE_EL1h = 0x5n;
export const PSR_MODE_MASK = 0xfn;
export const PSR_F_BIT = 0x40n;
export const PSR_I_BIT = 0x80n;
export const PSR_A_BIT = 0x100n;
export const PSR_D_BIT = 0x200n;
export const PSR_IL_BIT = 1n << 20n;
export const DAIF_MASK = PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;

/** Offset of the "lower EL using AArch64, synchronous" entry in the vector table. */
export const VECTOR_EL0_SYNC = 0x400n;

/** SCTLR_EL1.UMA: EL0 may touch DAIF. Kept clear so `msr daifclr` at EL0 traps. */
const SCTLR_UMA = 1n << 9n;

/** The brk immediate entry.S uses for BUG() (arm64's BUG_BRK_IMM). */
const BUG_BRK_IMM = 0x800;

const EXCP_NAME: Record<number, string> = Object.fromEntries(Object.entries(EXCP).map(([k, v]) => [v, k]));

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function insnAt(m: Machine, addr: bigint): number | undefined {
  try {
    return Number(m.readUint(addr, 4));
  } catch {
    return undefined;
  }
}

/**
 * Synchronous exception entry from EL0 into EL1h, as the hardware does it:
 * ELR_EL1 = preferred return address, SPSR_EL1 = PSTATE, ESR_EL1 = syndrome,
 * PSTATE.DAIF all masked, EL1 with SP_EL1 selected, pc = VBAR_EL1 + 0x400.
 */
export function takeSyncFromEl0(m: Machine, esr: bigint, elr: bigint): void {
  const spsr = m.reg('pstate');
  m.setReg('elr_el1', elr);
  m.setReg('spsr_el1', spsr);
  m.setReg('esr_el1', esr);
  // Mask D, A, I, F first (still EL0t: the mode bits are left alone), then let the
  // machine move to EL1h: it banks SP (SP_EL0 keeps the user sp, sp becomes SP_EL1)
  // and refreshes Unicorn's cached translation state.
  m.setReg('pstate', spsr | DAIF_MASK);
  m.setPrivilege(1);
  m.setReg('pc', m.reg('vbar_el1') + VECTOR_EL0_SYNC);
}

export const cpu: CpuModel = {
  init(m: Machine, symbols: ReadonlyMap<string, bigint>, k: KernelApi): void {
    const vectors = symbols.get('vectors');
    if (vectors === undefined) throw new Error('arm64 cpu model: entry.S defines no "vectors" label');
    if (vectors & 0x7ffn) throw new Error(`arm64 cpu model: vectors at ${hex(vectors)} are not 2 KiB aligned (VBAR_EL1 bits [10:0] are RES0)`);

    // Boot state: EL1h, every exception masked, VBAR_EL1 at the table, EL0 barred from DAIF.
    if (m.privilege() !== 1) m.setPrivilege(1);
    m.setReg('pstate', (m.reg('pstate') & ~PSR_MODE_MASK) | PSR_MODE_EL1h | DAIF_MASK);
    m.setReg('vbar_el1', vectors);
    const sctlr = m.reg('sctlr_el1');
    if (sctlr & SCTLR_UMA) m.setReg('sctlr_el1', sctlr & ~SCTLR_UMA);

    m.hookInterrupt((intno) => {
      const el = m.privilege();
      const pc = m.reg('pc');
      const what = EXCP_NAME[intno] ?? `exception ${intno}`;
      if (el !== 0) {
        // Nothing in the kernel traps on purpose except BUG() (brk #BUG_BRK_IMM in entry.S).
        const brkAt = pc - 4n;
        const insn = intno === EXCP.BKPT ? insnAt(m, pc) ?? insnAt(m, brkAt) : undefined;
        const bug = insn !== undefined && ((insn >>> 5) & 0xffff) === BUG_BRK_IMM && ((insn & 0xffe0001f) >>> 0) === 0xd4200000;
        if (bug) {
          const group = ['EL1t', 'EL1h', 'EL0 (irq/fiq/serror/aarch32)', 'EL0 sync (not an SVC)'][Number(m.reg('x0'))] ?? `x0=${m.reg('x0')}`;
          k.bug('CPU', `arm64 entry.S BUG() at ${hex(pc)}: unexpected exception vector ${group}; ESR_EL1=${hex(m.reg('esr_el1'))} ELR_EL1=${hex(m.reg('elr_el1'))}`);
        }
        k.bug('CPU', `arm64: ${what} taken at EL${el} (pc=${hex(pc)}): the kernel side raised an exception`);
      }
      if (intno === EXCP.SWI) {
        // Unicorn reports svc with pc already past it: that is ELR_EL1 for an SVC.
        const insn = insnAt(m, pc - 4n);
        if (insn === undefined || ((insn & 0xffe0001f) >>> 0) !== 0xd4000001) {
          k.bug('CPU', `arm64: svc exception at pc=${hex(pc)} but no svc instruction at ${hex(pc - 4n)}`);
        }
        const imm16 = BigInt((insn >>> 5) & 0xffff);
        takeSyncFromEl0(m, (ESR_ELx_EC_SVC64 << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | imm16, pc);
        return;
      }
      // Undefined or privileged instruction, breakpoint, abort from EL0: Linux would
      // send SIGILL/SIGTRAP/SIGSEGV. The core's KernelApi has no force_sig yet, so a user
      // fault stops the scenario with a precise report instead of being delivered.
      const insn = insnAt(m, pc);
      k.bug(
        'CPU',
        `arm64: user fault (${what}) at EL0, pc=${hex(pc)}${insn !== undefined ? ` insn=${hex(insn)}` : ''}: ` +
          `undefined or privileged instruction in user mode (SIGILL in Linux; not delivered by this model)`,
      );
    });
  },
};
