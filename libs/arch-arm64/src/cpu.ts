// The part of an AArch64 CPU that Unicorn 2 does not do by itself: taking a synchronous
// exception from EL0 to EL1 (Unicorn stops at `svc`, or at an undefined or trapped
// instruction, with an interrupt hook instead of vectoring, and never writes ESR_EL1), and
// the boot-time system register state. Written from the Arm ARM (D1.10 "Exception entry",
// D17 ESR_ELx encoding, the SCTLR_EL1 EL0 trap controls); everything after the vector
// fetch (MRS/MSR of the banked registers, DAIF changes, ERET back to EL0) is Unicorn's own.

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
/** Unknown reason: an UNDEFINED instruction (e.g. an EL1 system register accessed at EL0). */
export const ESR_ELx_EC_UNKNOWN = 0x00n;
export const ESR_ELx_EC_SVC64 = 0x15n;
/** MSR, MRS or System instruction trapped by an EL0 control (ISS: Op0, Op2, Op1, CRn, Rt, CRm, Direction). */
export const ESR_ELx_EC_SYS64 = 0x18n;
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
/** SCTLR_EL1.DZE (DC ZVA), UCT (CTR_EL0 reads), UCI (EL0 cache maintenance): the other EL0 trap controls. */
const SCTLR_DZE = 1n << 14n;
const SCTLR_UCT = 1n << 15n;
const SCTLR_UCI = 1n << 26n;

/** A system instruction's operands as the ESR_ELx ISS for EC 0x18 reports them. */
export interface SysInsn {
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
  rt: number;
  /** 1: MRS/SYSL (a read), 0: MSR/SYS */
  read: number;
}

/**
 * The system-instruction class (Arm ARM C4.1.66): MSR (immediate), SYS/SYSL, MRS/MSR
 * (register). MSR (immediate) is reported as the Arm ARM's ISS does: Op0 0, CRn 0b0100,
 * CRm the immediate, Rt 0b11111. Hints, barriers and the rest of the class: undefined here.
 */
export function decodeSysInsn(insn: number): SysInsn | undefined {
  if (((insn & 0xffc00000) >>> 0) !== 0xd5000000) return undefined;
  const read = (insn >>> 21) & 1;
  const op0 = (insn >>> 19) & 3;
  const f = { op1: (insn >>> 16) & 7, crn: (insn >>> 12) & 0xf, crm: (insn >>> 8) & 0xf, op2: (insn >>> 5) & 7, rt: insn & 0x1f };
  if (op0 === 0) {
    if (read || f.crn !== 4 || f.rt !== 31) return undefined; // hints, barriers, CFINV/AXFLAG...
    return { op0: 0, ...f, read: 0 };
  }
  return { op0, ...f, read };
}

/**
 * The EL0 accesses an SCTLR_EL1 control traps to EL1 with EC 0x18 when the control is clear
 * (Arm ARM D17.2.118, SCTLR_EL1 UMA/UCT/DZE/UCI). Every other EL0 access to a system
 * register or instruction that faults is UNDEFINED at EL0 (EL1 and higher encodings) and
 * is reported with EC 0x00.
 */
const EL0_TRAPS: { what: string; control: bigint; match: (i: SysInsn) => boolean }[] = [
  // MSR DAIFSet / DAIFClr, MRS/MSR DAIF (S3_3_C4_C2_1)
  { what: 'DAIF', control: SCTLR_UMA, match: (i) => (i.op0 === 0 && i.op1 === 3 && (i.op2 === 6 || i.op2 === 7)) || (i.op0 === 3 && i.op1 === 3 && i.crn === 4 && i.crm === 2 && i.op2 === 1) },
  // MRS CTR_EL0 (S3_3_C0_C0_1)
  { what: 'CTR_EL0', control: SCTLR_UCT, match: (i) => i.op0 === 3 && i.op1 === 3 && i.crn === 0 && i.crm === 0 && i.op2 === 1 && i.read === 1 },
  // DC ZVA (SYS #3, C7, C4, #1)
  { what: 'DC ZVA', control: SCTLR_DZE, match: (i) => i.op0 === 1 && i.op1 === 3 && i.crn === 7 && i.crm === 4 && i.op2 === 1 && i.read === 0 },
  // DC CVAC/CVAU/CVAP/CVADP/CIVAC, IC IVAU (SYS #3, C7, Cm, #1)
  { what: 'cache maintenance', control: SCTLR_UCI, match: (i) => i.op0 === 1 && i.op1 === 3 && i.crn === 7 && [5, 10, 11, 12, 13, 14].includes(i.crm) && i.op2 === 1 && i.read === 0 },
];

/** ESR_EL1 for an instruction Unicorn reported as UDEF (QEMU EXCP_UDEF) at EL0. */
export function undefSyndrome(insn: number | undefined, sctlr: bigint): bigint {
  const i = insn === undefined ? undefined : decodeSysInsn(insn);
  if (i && EL0_TRAPS.some((t) => (sctlr & t.control) === 0n && t.match(i))) {
    const iss = (i.op0 << 20) | (i.op2 << 17) | (i.op1 << 14) | (i.crn << 10) | (i.rt << 5) | (i.crm << 1) | i.read;
    return (ESR_ELx_EC_SYS64 << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | BigInt(iss);
  }
  return (ESR_ELx_EC_UNKNOWN << ESR_ELx_EC_SHIFT) | ESR_ELx_IL;
}

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
          const group = ['EL1t', 'EL1h', 'EL0 (irq/fiq/serror/aarch32)'][Number(m.reg('x0'))] ?? `x0=${m.reg('x0')}`;
          k.bug('CPU', `arm64 entry.S BUG() at ${hex(pc)}: unexpected exception vector ${group}; ESR_EL1=${hex(m.reg('esr_el1'))} ELR_EL1=${hex(m.reg('elr_el1'))}`);
        }
        const at = insnAt(m, pc);
        k.bug(
          'CPU',
          `arm64: ${what} taken at EL${el} (pc=${hex(pc)}${at !== undefined ? ` insn=${hex(at)}` : ''}): ` +
            `the kernel raised an exception (an oops: only EL0 exceptions are taken to the vectors)`,
        );
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
      if (intno === EXCP.UDEF) {
        // Undefined or trapped instruction: Unicorn reports it with pc at the instruction,
        // which is the preferred return address of a synchronous fault (ELR_EL1 = pc, so a
        // handler can step over it or the task retries it). Unicorn never fills ESR_EL1:
        // the syndrome comes from the instruction and SCTLR_EL1's EL0 trap controls.
        takeSyncFromEl0(m, undefSyndrome(insnAt(m, pc), m.reg('sctlr_el1')), pc);
        return;
      }
      // Breakpoint, abort and the rest from EL0 (Linux: SIGTRAP, SIGSEGV/SIGBUS): entry.S
      // has no path for them, so they stop the run with a precise report.
      const insn = insnAt(m, pc);
      k.bug(
        'CPU',
        `arm64: user fault (${what}) at EL0, pc=${hex(pc)}${insn !== undefined ? ` insn=${hex(insn)}` : ''}: ` +
          `only svc and undefined/trapped instructions (SIGILL) are taken to EL1 by this model`,
      );
    });
  },
};
