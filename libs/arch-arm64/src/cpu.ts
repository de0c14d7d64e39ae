// The AArch64 CPU on Unicorn 2: its register table (SP banking included), the exception
// level Unicorn caches, and what Unicorn does not do by itself: taking a synchronous
// exception from EL0 to EL1 (Unicorn stops at `svc`, or at an undefined or trapped
// instruction, with an interrupt hook instead of vectoring, and never writes ESR_EL1), and
// the boot-time system register state. Written from the Arm ARM (D1.10 "Exception entry",
// D17 ESR_ELx encoding, the SCTLR_EL1 EL0 trap controls); everything after the vector
// fetch (MRS/MSR of the banked registers, DAIF changes, ERET back to EL0) is Unicorn's own.
//
// Exception level: Unicorn 2.0.1 translates with QEMU's cached TB flags (the MMU index),
// which a PSTATE write does not refresh. setPrivilege patches them in a saved uc_context
// at an offset found once per process by calibration (EL1 at start, EL0 after a native
// eret, diffed on a scratch engine), verified by an EL1-only register read after the patch.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { perCpuBase } from '@archkit/generic-core/kernel/layout';
import { CalibrationError, UcEngine, dataView, findWords } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, arm64.h)

const UC_ARCH_ARM64 = 2;
const UC_MODE_ARM = 0;
const UC_ARM64_REG_X29 = 1;
const UC_ARM64_REG_X30 = 2;
const UC_ARM64_REG_NZCV = 3;
const UC_ARM64_REG_SP = 4;
const UC_ARM64_REG_X0 = 199;
const UC_ARM64_REG_PC = 260;
const UC_ARM64_REG_PSTATE = 265;
const UC_ARM64_REG_SP_EL0 = 270;
const UC_ARM64_REG_CP_REG = 290;

/** An AArch64 system register selector (MRS/MSR encoding). */
export interface SysRegId {
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
}

/** uc_arm64_cp_reg {u32 crn, crm, op0, op1, op2; u64 val}: a system register by encoding. */
function sysreg(r: SysRegId): RegAccess {
  const what = `system register S${r.op0}_${r.op1}_C${r.crn}_C${r.crm}_${r.op2}`;
  const fill = (b: Buffer, v: bigint) => {
    b.writeUInt32LE(r.crn, 0);
    b.writeUInt32LE(r.crm, 4);
    b.writeUInt32LE(r.op0, 8);
    b.writeUInt32LE(r.op1, 12);
    b.writeUInt32LE(r.op2, 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, v), 24);
  };
  return {
    read: (uc) => uc.regReadStruct(UC_ARM64_REG_CP_REG, (b) => fill(b, 0n), what).readBigUInt64LE(24),
    write: (uc, v) => uc.regWriteStruct(UC_ARM64_REG_CP_REG, (b) => fill(b, v), what),
  };
}

/** Index of the SP_ELx bank that the live SP currently stands for. */
function liveSpBank(pstate: bigint): number {
  const el = Number((pstate >> 2n) & 3n);
  return el !== 0 && (pstate & 1n) !== 0n ? el : 0;
}

/**
 * SP_EL0 / SP_EL1 as the architecture defines them: Unicorn keeps the live SP in its own
 * register and writes the bank back only on exception entry/return, so the bank that is
 * live reads (and writes) the live SP.
 */
function bankedSp(bank: number): RegAccess {
  return {
    read: (uc) => (liveSpBank(uc.regRead(UC_ARM64_REG_PSTATE)) === bank ? uc.regRead(UC_ARM64_REG_SP) : uc.regRead(UC_ARM64_REG_SP_EL0 + bank)),
    write: (uc, v) => {
      if (liveSpBank(uc.regRead(UC_ARM64_REG_PSTATE)) === bank) uc.regWrite(UC_ARM64_REG_SP, v);
      uc.regWrite(UC_ARM64_REG_SP_EL0 + bank, v);
    },
  };
}

/** PSTATE: a change of mode (EL / SPSel) must bank SP and refresh the cached EL too. */
const pstateAccess: RegAccess = {
  read: (uc) => uc.regRead(UC_ARM64_REG_PSTATE),
  write: (uc, v) => {
    if ((uc.regRead(UC_ARM64_REG_PSTATE) & 0xfn) !== (v & 0xfn)) setMode(uc, calibrate(), Number(v & 0xfn));
    uc.regWrite(UC_ARM64_REG_PSTATE, v);
  },
};

function arm64Registers(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i <= 28; i++) t[`x${i}`] = UC_ARM64_REG_X0 + i;
  Object.assign(t, {
    x29: UC_ARM64_REG_X29, fp: UC_ARM64_REG_X29, x30: UC_ARM64_REG_X30, lr: UC_ARM64_REG_X30,
    nzcv: UC_ARM64_REG_NZCV, sp: UC_ARM64_REG_SP, pc: UC_ARM64_REG_PC,
    cpacr_el1: 261, tpidr_el0: 262, tpidrro_el0: 263, tpidr_el1: 264,
    pstate: pstateAccess, elr_el1: 267, sp_el0: bankedSp(0), sp_el1: bankedSp(1),
    ttbr0_el1: 274, ttbr1_el1: 275, esr_el1: 277, far_el1: 281, par_el1: 284, mair_el1: 285, vbar_el1: 287,
    fpcr: 291, fpsr: 292,
    // Not in Unicorn 2.0.1's register enum: reached by MRS/MSR encoding.
    spsr_el1: sysreg({ op0: 3, op1: 0, crn: 4, crm: 0, op2: 0 }),
    sctlr_el1: sysreg({ op0: 3, op1: 0, crn: 1, crm: 0, op2: 0 }),
    tcr_el1: sysreg({ op0: 3, op1: 0, crn: 2, crm: 0, op2: 2 }),
  });
  return t;
}

// ------------------------------------------------------------------ exception level (calibrated)

interface Offsets {
  hflags: number; // u32 TBFLAGS cache
  /** Bits of hflags that differ between EL0 and EL1 (MMU index and friends). */
  mask: number;
  /** hflags & mask as computed natively at EL0 / EL1. */
  byEl: [number, number];
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

/**
 * Sets PSTATE.M[3:0] (0b0000 EL0t, 0b0100 EL1t, 0b0101 EL1h), banking SP as an
 * exception entry/return does, and patches hflags so translation uses the new EL.
 * Other PSTATE bits (NZCV, DAIF) are left alone.
 */
function setMode(uc: UcEngine, off: Offsets, mode: number): void {
  const el = (mode >> 2) & 3;
  if (el > 1 || (el === 0 && mode !== 0)) throw new RangeError(`AArch64 mode 0x${mode.toString(16)} not supported (EL0t, EL1t, EL1h only)`);
  const pstate = uc.regRead(UC_ARM64_REG_PSTATE);
  const sp = uc.regRead(UC_ARM64_REG_SP);
  uc.regWrite(UC_ARM64_REG_SP_EL0 + liveSpBank(pstate), sp);
  const next = (pstate & ~0xfn) | BigInt(mode & 0xf);
  uc.regWrite(UC_ARM64_REG_PSTATE, next);
  uc.regWrite(UC_ARM64_REG_SP, uc.regRead(UC_ARM64_REG_SP_EL0 + liveSpBank(next)));
  const dv = uc.saveContext();
  const h = dv.getUint32(off.hflags, true);
  dv.setUint32(off.hflags, ((h & ~off.mask) | off.byEl[el]!) >>> 0, true);
  uc.restoreContext();
}

const A64 = { eret: 0xd69f03e0, nop: 0xd503201f, svc0: 0xd4000001, mrsX0ElrEl1: 0xd5384020 };

function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_ARM64, UC_MODE_ARM);
  const version = uc.version;
  const fail = (detail: string) => new CalibrationError('AArch64', detail, CALIBRATED_WITH, version);
  const el = () => Number((uc.regRead(UC_ARM64_REG_PSTATE) >> 2n) & 3n);
  try {
    uc.memMap(0n, 0x10000, 7);
    const put = (addr: bigint, insns: number[]) => {
      const b = Buffer.alloc(insns.length * 4);
      insns.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
      uc.memWrite(addr, b);
    };
    put(0x1000n, [A64.eret]);
    put(0x2000n, [A64.nop, A64.svc0, A64.nop]);
    put(0x3000n, [A64.mrsX0ElrEl1, A64.nop]);
    if (el() !== 1) throw fail(`Unicorn starts at EL${el()}, expected EL1`);
    uc.regWrite(UC_ARM64_REG_SP, 0x7000n);
    uc.regWrite(UC_ARM64_REG_SP_EL0, 0x8000n);
    uc.regWrite(267, 0x2000n); // ELR_EL1
    (sysreg({ op0: 3, op1: 0, crn: 4, crm: 0, op2: 0 }) as Exclude<RegAccess, number>).write(uc, 0n); // SPSR_EL1 = EL0t
    const A = uc.snapshot();

    let B: Uint8Array | null = null;
    let off: Offsets | null = null;
    let failure: Error | null = null;
    const intrs: number[] = [];
    uc.onCode(0x2000n, 0x2000n, () => {
      B = uc.snapshot();
    });
    uc.onInterrupt((intno) => {
      intrs.push(intno);
      try {
        if (intrs.length !== 1 || intno !== 2 || !B) throw fail(`expected svc (intno 2) once at EL0, got [${intrs.join(',')}]`);
        if (el() !== 0) throw fail('eret did not reach EL0');
        const a = dataView(A);
        const b = dataView(B);
        const cand = findWords(A, (o) => {
          const x = a.getUint32(o, true);
          const y = b.getUint32(o, true);
          return (x & 0x80000000) !== 0 && (y & 0x80000000) !== 0 && ((x ^ y) & 0x0f000000) !== 0;
        });
        if (cand.length !== 1) throw fail(`hflags not found (${cand.length} candidates)`);
        const o = cand[0]!;
        const h1 = a.getUint32(o, true);
        const h0 = b.getUint32(o, true);
        const mask = (h1 ^ h0) >>> 0;
        off = { hflags: o, mask, byEl: [(h0 & mask) >>> 0, (h1 & mask) >>> 0] };
        setMode(uc, off, 0b0101);
        uc.regWrite(UC_ARM64_REG_PC, 0x3000n);
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    });
    const err = uc.start(0x1000n, 0x3004n, 2_000_000n, 1000);
    if (failure) throw failure;
    const pc = uc.regRead(UC_ARM64_REG_PC);
    const x0 = uc.regRead(UC_ARM64_REG_X0);
    if (err || !off || pc !== 0x3004n || x0 !== 0x2000n || el() !== 1) {
      throw fail(`verification run failed (err=${err}, pc=0x${pc.toString(16)}, x0=0x${x0.toString(16)})`);
    }
    offsets = off;
    return off;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ architecture facts

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

function insnAt(m: CpuMachine, addr: bigint): number | undefined {
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
export function takeSyncFromEl0(m: CpuMachine, esr: bigint, elr: bigint): void {
  const spsr = m.reg('pstate');
  m.setReg('elr_el1', elr);
  m.setReg('spsr_el1', spsr);
  m.setReg('esr_el1', esr);
  // Mask D, A, I, F first (still EL0t: the mode bits are left alone), then let the
  // machine move to EL1h: it banks SP (SP_EL0 keeps the user sp, sp becomes SP_EL1)
  // and refreshes Unicorn's cached translation state.
  m.setReg('pstate', spsr | DAIF_MASK);
  cpu.setPrivilege(m, 1);
  m.setReg('pc', m.reg('vbar_el1') + VECTOR_EL0_SYNC);
}

/** VBAR_EL1 offsets of the IRQ vectors, by where the interrupt came from (Arm ARM D1.10.2). */
const VECTOR_IRQ_EL1T = 0x080n;
const VECTOR_IRQ_EL1H = 0x280n;
const VECTOR_IRQ_EL0_64 = 0x480n;

/**
 * IRQ exception (Arm ARM D1.10, asynchronous): ELR_EL1 = the instruction not yet run,
 * SPSR_EL1 = PSTATE, PSTATE.DAIF all masked, EL1 with SP_EL1 selected, pc = VBAR_EL1 + the
 * offset for the source (current EL with SP_EL0, current EL with SP_ELx, lower EL AArch64).
 * ESR_EL1 is not written.
 */
export function takeIrq(m: CpuMachine): void {
  const spsr = m.reg('pstate');
  const el = cpu.privilege(m);
  const offset = el === 0 ? VECTOR_IRQ_EL0_64 : (spsr & PSR_MODE_MASK) === PSR_MODE_EL1h ? VECTOR_IRQ_EL1H : VECTOR_IRQ_EL1T;
  m.setReg('elr_el1', m.reg('pc'));
  m.setReg('spsr_el1', spsr);
  m.setReg('pstate', spsr | DAIF_MASK);
  if (el === 0) cpu.setPrivilege(m, 1);
  m.setReg('pc', m.reg('vbar_el1') + offset);
}

/** The per-cpu area of each booted machine (TPIDR_EL1), whose current_task word the entry reads. */
const perCpuArea = new WeakMap<CpuMachine, bigint>();

export const cpu: CpuModel = {
  name: 'AArch64',
  irq: {
    canTake: (m) => cpu.irqsEnabled(m),
    take: (m) => takeIrq(m),
  },
  returnToUser: {
    patterns: [Uint8Array.from([0xe0, 0x03, 0x9f, 0xd6])], // eret
    check(m, addr, size, stackTop) {
      if (size !== 4 || m.readUint(addr, 4) !== BigInt(A64.eret)) return null;
      // eret goes to user mode when SPSR_EL1 says EL0t; SP_EL1 must be back at the stack top
      if ((m.reg('spsr_el1') & PSR_MODE_MASK) !== PSR_MODE_EL0t) return null;
      // SP_EL0 is `current` in the kernel and the user sp in user mode: kernel_exit swaps it back
      const spEl0 = m.reg('sp_el0');
      const area = perCpuArea.get(m);
      const current = area !== undefined ? m.readUint(area, 8) : -1n;
      const violation =
        spEl0 === current
          ? { contract: 'C12', message: `user mode would run with SP_EL0 = current (task_struct 0x${spEl0.toString(16)}), the kernel's value: kernel_exit did not restore the user sp` }
          : undefined;
      return { pc: m.reg('elr_el1'), sp: m.reg('sp'), expectedSp: stackTop, ...(violation ? { violation } : {}) };
    },
  },
  unicorn: {
    arch: UC_ARCH_ARM64,
    mode: UC_MODE_ARM,
    registers: arm64Registers(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  userPrivilege: 0,
  nop: Uint8Array.from([0x1f, 0x20, 0x03, 0xd5]),
  stubFill: Uint8Array.from([0x00, 0x00, 0x20, 0xd4]), // brk #0

  privilege(m) {
    return Number((m.reg('pstate') >> 2n) & 3n);
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`AArch64 privilege must be 0 (EL0) or 1 (EL1), got ${level}`);
    setMode(m.uc, calibrate(), level === 1 ? 0b0101 : 0b0000);
    m.leaveBlock();
  },

  irqsEnabled(m) {
    return (m.reg('pstate') & PSR_I_BIT) === 0n;
  },

  setIrqsEnabled(m, on) {
    const p = m.reg('pstate');
    m.setReg('pstate', on ? p & ~PSR_I_BIT : p | PSR_I_BIT);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const vectors = k.symbols.get('vectors');
    if (vectors === undefined) throw new Error('arm64 cpu model: entry.S defines no "vectors" label');
    if (vectors & 0x7ffn) throw new Error(`arm64 cpu model: vectors at ${hex(vectors)} are not 2 KiB aligned (VBAR_EL1 bits [10:0] are RES0)`);

    // Boot state: EL1h, every exception masked, VBAR_EL1 at the table, EL0 barred from DAIF.
    if (cpu.privilege(m) !== 1) cpu.setPrivilege(m, 1);
    m.setReg('pstate', (m.reg('pstate') & ~PSR_MODE_MASK) | PSR_MODE_EL1h | DAIF_MASK);
    m.setReg('vbar_el1', vectors);
    // this CPU's per-cpu offset (arm64 keeps it in TPIDR_EL1): the kernel's, never the user's
    perCpuArea.set(m, perCpuBase(k.desc));
    m.setReg('tpidr_el1', perCpuBase(k.desc));
    const sctlr = m.reg('sctlr_el1');
    if (sctlr & SCTLR_UMA) m.setReg('sctlr_el1', sctlr & ~SCTLR_UMA);

    m.hookInterrupt((intno) => {
      const el = cpu.privilege(m);
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
