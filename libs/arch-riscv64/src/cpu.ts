// The RISC-V 64 CPU on Unicorn 2.0.1 (QEMU 5.0's RV64GC, SiFive U54: M, S and U modes,
// Sv39): its register table, the privilege level, and what Unicorn does not do by itself:
// the trap entry into S-mode. Unicorn reports every exception through UC_HOOK_INTR and never
// vectors it (an `ecall` arrives as 8 whatever the mode, with pc already 4 past the trapping
// instruction, whatever its length); the hook performs what the privileged spec (1.11, 3.1.6
// and 4.1) says a trap delegated to S-mode does. Everything else is the emulator's own: sret
// back to U-mode, the privilege checks on CSRs and sret, and Sv39 translation with its U
// bit, which is what keeps user mode out of kernel memory and kernel text.
//
// Privilege: QEMU 5.0 keeps it in env->priv, read at every TB lookup and CSR access, with no
// cached copy and no register id in Unicorn 2.0.1. It is patched in a saved uc_context at an
// offset found once per process by calibration on scratch engines, which also finds the CSR
// words the trap entry writes. The register API cannot do it: uc_reg_read/uc_reg_write of a
// CSR obey the *current* privilege and fail silently (a U-mode hook reading sstatus gets
// stack garbage), so every S-mode CSR here is read and written through the context.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { MemoryRegion } from '@archkit/generic-core/contracts/descriptor';
import { ARCH_DATA_OFFSET, KERNEL_DATA_SIZE, KERNEL_TEXT_SIZE, MAX_TASKS, STUBS_SIZE, TASK_THREAD, THREAD_SIZE } from '@archkit/generic-core/kernel/layout';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, riscv.h)

const UC_ARCH_RISCV = 8;
const UC_MODE_RISCV64 = 1 << 3;
const UC_RISCV_REG_X0 = 1;
const UC_RISCV_REG_PC = 190;
const UC_RISCV_REG_MSTATUS = 116;
const UC_RISCV_REG_MEPC = 128;
const UC_RISCV_REG_STVEC = 137;
const UC_RISCV_REG_SSCRATCH = 139;
const UC_RISCV_REG_SEPC = 140;
const UC_RISCV_REG_SCAUSE = 141;
const UC_RISCV_REG_STVAL = 142;
const UC_RISCV_REG_SATP = 146;

// ------------------------------------------------------------------ architecture facts

/** env->priv values (privileged spec 1.1): U, S, M. */
export const PRV_U = 0;
export const PRV_S = 1;
export const PRV_M = 3;

/** mstatus / sstatus bits (asm/csr.h). */
export const SR = {
  SIE: 0x2n, MIE: 0x8n, SPIE: 0x20n, MPIE: 0x80n, SPP: 0x100n, MPP: 0x1800n, FS: 0x6000n, FS_INITIAL: 0x2000n,
  XS: 0x18000n, SUM: 0x40000n, MXR: 0x80000n, UXL_64: 0x200000000n, SD: 1n << 63n,
} as const;
/** The mstatus bits sstatus shows (QEMU 5.0 sstatus_v1_10_mask: SIE SPIE UIE UPIE SPP FS XS SUM MXR SD; UXL reads 0). */
const SSTATUS_MASK = SR.SIE | SR.SPIE | 0x1n | 0x10n | SR.SPP | SR.FS | SR.XS | SR.SUM | SR.MXR | SR.SD;

/** scause exception codes (privileged spec table 4.2, asm/csr.h EXC_*). */
export const EXC = {
  INST_MISALIGNED: 0, INST_ACCESS: 1, INST_ILLEGAL: 2, BREAKPOINT: 3, LOAD_MISALIGNED: 4, LOAD_ACCESS: 5,
  STORE_MISALIGNED: 6, STORE_ACCESS: 7, SYSCALL: 8, SUPERVISOR_SYSCALL: 9, MACHINE_SYSCALL: 11,
  INST_PAGE_FAULT: 12, LOAD_PAGE_FAULT: 13, STORE_PAGE_FAULT: 15,
} as const;
const EXC_NAME: Record<number, string> = Object.fromEntries(Object.entries(EXC).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, ' ')]));
export const CAUSE_IRQ = 1n << 63n;
/** Interrupt codes: supervisor software, timer, external. */
export const IRQ_S_SOFT = 1n;
export const IRQ_S_TIMER = 5n;
export const IRQ_S_EXT = 9n;

/**
 * The exceptions a U-mode instruction can raise on this CPU model, by QEMU's exception
 * number (which is the scause code; every ecall arrives as 8, right for U-mode), with what
 * stval gets. ebreak is missing: Unicorn 2.0.1 ends the run with UC_ERR_INSN_INVALID instead
 * of reporting it. Misaligned accesses do not trap (QEMU 5.0 performs them).
 */
const USER_TRAPS: Record<number, 'zero' | 'epc' | 'badaddr'> = {
  [EXC.INST_MISALIGNED]: 'epc',
  [EXC.INST_ACCESS]: 'epc',
  // QEMU 5.0 writes 0 here too; Linux reads it only for the vector first-use check.
  [EXC.INST_ILLEGAL]: 'zero',
  [EXC.LOAD_MISALIGNED]: 'badaddr',
  [EXC.LOAD_ACCESS]: 'badaddr',
  [EXC.STORE_MISALIGNED]: 'badaddr',
  [EXC.STORE_ACCESS]: 'badaddr',
  [EXC.SYSCALL]: 'zero',
  // the faulting fetch address is the pc the jump went to
  [EXC.INST_PAGE_FAULT]: 'epc',
  [EXC.LOAD_PAGE_FAULT]: 'badaddr',
  [EXC.STORE_PAGE_FAULT]: 'badaddr',
};

/** Sv39 (privileged spec 4.4): satp.MODE = 8; leaf PTE bits. */
export const SATP_MODE_SV39 = 8n << 60n;
export const PTE = { V: 0x1n, R: 0x2n, W: 0x4n, X: 0x8n, U: 0x10n, G: 0x20n, A: 0x40n, D: 0x80n } as const;
const GIGAPAGE = 1n << 30n;

export const SRET = 0x10200073;
/** The 32-bit `unimp` (csrrw x0, cycle, x0). */
export const UNIMP = 0xc0001073;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ calibration

/** Byte offsets in the uc_context (header included) of the CPURISCVState words patched here. */
export interface Offsets {
  priv: number;
  pc: number;
  mstatus: number;
  sepc: number;
  scause: number;
  stval: number;
  stvec: number;
  sscratch: number;
  /** env->badaddr: the fault address QEMU records for a page fault before its own (pre-empted) trap entry */
  badaddr: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

const word = (dv: DataView, o: number) => dv.getBigUint64(o, true);

/** Offsets (4-byte steps) of 8-byte words for which `pred` holds. */
function findWords64(a: Uint8Array, pred: (dv: DataView, o: number) => boolean): number[] {
  const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const out: number[] = [];
  for (let o = 0; o + 8 <= a.length; o += 4) if (pred(dv, o)) out.push(o);
  return out;
}

function putWords(uc: UcEngine, addr: bigint, words: number[]): void {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  uc.memWrite(addr, b);
}

/** Instructions of the calibration runs. */
const I = {
  mret: 0x30200073, sret: SRET, ecall: 0x00000073, nop: 0x00000013,
  csrrA0Sstatus: 0x10002573, csrrA0Scause: 0x14202573, csrrA1Sepc: 0x141025f3, csrrA2Sstatus: 0x10002673,
  ldA0A1: 0x0005b503, jrA2: 0x00060067,
};
const A0 = UC_RISCV_REG_X0 + 10;
const A1 = UC_RISCV_REG_X0 + 11;
const A2 = UC_RISCV_REG_X0 + 12;

/**
 * Run 1: M -> S by mret, S -> U by sret (both native), a CSR read in U that must fault, the
 * trap entry patched in with the offsets found, S-mode code that must see the patched CSRs
 * and may read sstatus. Run 2: Sv39 with a kernel gigapage and a user gigapage; a U-mode load
 * from the kernel page and a U-mode jump into it must both page-fault (the fault address
 * locates env->badaddr). Any surprise is a CalibrationError: the kit refuses to run with a
 * privilege level that is not enforced.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  let uc = UcEngine.open(UC_ARCH_RISCV, UC_MODE_RISCV64);
  const version = uc.version;
  const fail = (detail: string) => new CalibrationError('RISC-V 64', detail, CALIBRATED_WITH, version);
  const unique = (a: Uint8Array, what: string, pred: (dv: DataView, o: number) => boolean): number => {
    const c = findWords64(a, pred);
    if (c.length !== 1) throw fail(`${what} not found (${c.length} candidates)`);
    return c[0]!;
  };
  try {
    uc.memMap(0n, 0x10000, 7);
    putWords(uc, 0x1000n, [I.mret]);
    putWords(uc, 0x1100n, [I.sret]);
    putWords(uc, 0x1200n, [I.csrrA0Sstatus, I.nop]);
    putWords(uc, 0x1300n, [I.csrrA0Scause, I.csrrA1Sepc, I.csrrA2Sstatus, I.ecall, I.nop]);

    // Unicorn starts in M-mode, where the register API reaches every CSR: distinctive values find them.
    const probe: Array<[keyof Offsets, number, bigint]> = [
      ['stvec', UC_RISCV_REG_STVEC, 0x7a7a7a7a7a7a00n],
      ['sepc', UC_RISCV_REG_SEPC, 0x5e5e5e5e5e5e00n],
      ['scause', UC_RISCV_REG_SCAUSE, 0x0c0c0c0c0c0c0cn],
      ['stval', UC_RISCV_REG_STVAL, 0x7b7b7b7b7b7b7bn],
      ['sscratch', UC_RISCV_REG_SSCRATCH, 0x5c5c5c5c5c5c00n],
      ['pc', UC_RISCV_REG_PC, 0x1234560n],
      ['mstatus', UC_RISCV_REG_MSTATUS, SR.SUM | SR.MPIE | SR.SPIE | SR.SPP],
    ];
    for (const [, id, v] of probe) uc.regWrite(id, v);
    const d = uc.snapshot();
    const found: Partial<Offsets> = {};
    for (const [name, , v] of probe) found[name] = unique(d, name, (dv, o) => word(dv, o) === v);

    // M -> S at 0x1100 -> U at 0x1200 (SPIE set: U runs with SIE), stvec 0x1300.
    uc.regWrite(UC_RISCV_REG_MSTATUS, (1n << 11n) | SR.SPIE);
    uc.regWrite(UC_RISCV_REG_MEPC, 0x1100n);
    uc.regWrite(UC_RISCV_REG_SEPC, 0x1200n);
    uc.regWrite(UC_RISCV_REG_STVEC, 0x1300n);
    for (const id of [UC_RISCV_REG_SCAUSE, UC_RISCV_REG_STVAL, UC_RISCV_REG_SSCRATCH]) uc.regWrite(id, 0n);
    const A = uc.snapshot();
    let B: Uint8Array | null = null;
    let C: Uint8Array | null = null;
    uc.onCode(0x1100n, 0x1100n, () => (B = uc.snapshot()));
    uc.onCode(0x1200n, 0x1200n, () => (C = uc.snapshot()));
    const intrs: number[] = [];
    let failure: Error | null = null;
    let verified = false;
    uc.onInterrupt((intno) => {
      intrs.push(intno);
      try {
        if (intrs.length === 1) {
          if (intno !== EXC.INST_ILLEGAL || !B || !C) throw fail(`csrr sstatus in U-mode: expected an illegal instruction (2), got [${intrs.join(',')}]`);
          found.priv = unique(A, 'env->priv', (dv, o) => word(dv, o) === 3n && word(new DataView(B!.buffer), o) === 1n && word(new DataView(C!.buffer), o) === 0n);
          const pc = uc.regRead(UC_RISCV_REG_PC);
          if (pc !== 0x1204n) throw fail(`pc at the hook is ${hex(pc)}, expected the faulting instruction + 4 (0x1204)`);
          patchTrapEntry(uc, found as Offsets, BigInt(EXC.INST_ILLEGAL), 0x1200n, 0n);
        } else if (intrs.length === 2 && intno === EXC.SYSCALL) {
          const dv = uc.saveContext();
          const priv = word(dv, found.priv!);
          const [a0, a1, a2] = [uc.regRead(A0), uc.regRead(A1), uc.regRead(A2)];
          if (priv !== BigInt(PRV_S) || a0 !== 2n || a1 !== 0x1200n || (a2 & (SR.SPP | SR.SIE)) !== 0n || (a2 & SR.SPIE) === 0n) {
            throw fail(`after the patched trap entry: priv=${priv} scause=${hex(a0)} sepc=${hex(a1)} sstatus=${hex(a2)}`);
          }
          verified = true;
          uc.stop();
        } else {
          throw fail(`unexpected exception ${intno} in the privilege run`);
        }
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    });
    const err = uc.start(0x1000n, 0xffffn, 2_000_000n, 100);
    if (failure) throw failure;
    if (!verified) throw fail(`privilege run ended early (err=${err}, exceptions=[${intrs.join(',')}])`);
    uc.close();

    // Run 2: Sv39 enforcement of the U bit, and env->badaddr.
    uc = UcEngine.open(UC_ARCH_RISCV, UC_MODE_RISCV64);
    const USER = GIGAPAGE;
    uc.memMap(0n, 0x10000, 7);
    uc.memMap(USER, 0x1000, 7);
    const pt = Buffer.alloc(16);
    pt.writeBigUInt64LE(kernelPte(0n), 0);
    pt.writeBigUInt64LE(userPte(USER), 8);
    uc.memWrite(0x4000n, pt);
    putWords(uc, 0x1000n, [I.mret]);
    putWords(uc, USER, [I.ldA0A1, I.jrA2, I.nop]);
    uc.regWrite(A1, 0x2468n);
    uc.regWrite(A2, 0x3000n);
    uc.regWrite(UC_RISCV_REG_SATP, SATP_MODE_SV39 | (0x4000n >> 12n));
    if (uc.regRead(UC_RISCV_REG_SATP) >> 60n !== 8n) throw fail('satp does not take Sv39');
    uc.regWrite(UC_RISCV_REG_MSTATUS, 0n); // MPP = U
    uc.regWrite(UC_RISCV_REG_MEPC, USER);
    let P: Uint8Array | null = null;
    uc.onCode(USER, USER, () => (P = uc.snapshot()));
    const faults: Array<[number, bigint]> = [];
    failure = null;
    uc.onInterrupt((intno) => {
      faults.push([intno, uc.regRead(UC_RISCV_REG_PC)]);
      try {
        if (faults.length === 1) {
          if (intno !== EXC.LOAD_PAGE_FAULT || !P) throw fail(`a U-mode load from a kernel (non-U) page did not page-fault (exception ${intno})`);
          const Q = uc.snapshot();
          const p = new DataView(P.buffer);
          found.badaddr = unique(Q, 'env->badaddr', (dv, o) => word(dv, o) === 0x2468n && word(p, o) !== 0x2468n);
          if (word(new DataView(Q.buffer), found.priv!) !== BigInt(PRV_U)) throw fail('the load fault was not taken in U-mode');
          uc.regWrite(UC_RISCV_REG_PC, USER + 4n);
        } else {
          if (intno !== EXC.INST_PAGE_FAULT || faults[1]![1] !== 0x3004n) {
            throw fail(`a U-mode jump into a kernel (non-U) page: expected an instruction page fault at 0x3000 (+4), got exception ${intno} at ${hex(faults[1]![1])}`);
          }
          uc.stop();
        }
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    });
    const err2 = uc.start(0x1000n, 0xffffffffn, 2_000_000n, 100);
    if (failure) throw failure;
    if (faults.length !== 2) throw fail(`Sv39 run: U-mode reached kernel memory without a page fault (err=${err2}, exceptions=[${faults.map((f) => f[0]).join(',')}])`);
    offsets = found as Offsets;
    return offsets;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ the architecture's own steps

/**
 * A trap taken into S-mode (privileged spec 4.1.1, 4.1.9-4.1.11): SPP = the previous mode,
 * SPIE = SIE, SIE = 0, sepc, scause, stval, S-mode, pc = stvec (direct; vectored adds
 * 4 * code for an interrupt). One context save/patch/restore: it works whatever the mode
 * it is entered from. Returns the new pc.
 */
function patchTrapEntry(uc: UcEngine, off: Offsets, cause: bigint, epc: bigint, tval: bigint): bigint {
  const dv = uc.saveContext();
  const prv = word(dv, off.priv);
  let s = word(dv, off.mstatus);
  s = (s & ~SR.SPIE) | (s & SR.SIE ? SR.SPIE : 0n);
  s = (s & ~SR.SPP) | (prv !== BigInt(PRV_U) ? SR.SPP : 0n);
  s &= ~SR.SIE;
  const stvec = word(dv, off.stvec);
  const target = (stvec & ~3n) + ((cause & CAUSE_IRQ) !== 0n && (stvec & 3n) === 1n ? 4n * (cause & ~CAUSE_IRQ) : 0n);
  dv.setBigUint64(off.mstatus, s, true);
  dv.setBigUint64(off.scause, BigInt.asUintN(64, cause), true);
  dv.setBigUint64(off.sepc, epc, true);
  dv.setBigUint64(off.stval, tval, true);
  dv.setBigUint64(off.priv, BigInt(PRV_S), true);
  dv.setBigUint64(off.pc, target, true);
  uc.restoreContext();
  // A register write of pc makes Unicorn leave the current block; a restore alone does not.
  uc.regWrite(UC_RISCV_REG_PC, target);
  return target;
}

export function trapEntry(m: CpuMachine, cause: bigint, epc: bigint, tval: bigint): bigint {
  return patchTrapEntry(m.uc, calibrate(), cause, epc, tval);
}

/**
 * An S-mode interrupt at the next instruction, from a code hook there: taken when the CPU
 * is in U-mode or in S-mode with SIE set (sie is not modelled: every source is enabled).
 * sepc = that instruction, not yet executed. Returns whether it was taken.
 */
export function interruptEntry(m: CpuMachine, code: bigint): boolean {
  const off = calibrate();
  const dv = m.uc.saveContext();
  const prv = Number(word(dv, off.priv));
  if (prv === PRV_S && (word(dv, off.mstatus) & SR.SIE) === 0n) return false;
  if (prv === PRV_M) return false;
  patchTrapEntry(m.uc, off, CAUSE_IRQ | code, word(dv, off.pc), 0n);
  return true;
}

// ------------------------------------------------------------------ registers

/** A CSR word of the context (any privilege). */
function ctxCsr(name: keyof Offsets): RegAccess {
  return {
    read: (uc) => word(uc.saveContext(), calibrate()[name]),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setBigUint64(calibrate()[name], BigInt.asUintN(64, v), true);
      uc.restoreContext();
    },
  };
}

/** sstatus: a masked view of mstatus; SD follows FS/XS as QEMU's write_mstatus computes it. */
const sstatusAccess: RegAccess = {
  read: (uc) => word(uc.saveContext(), calibrate().mstatus) & SSTATUS_MASK,
  write: (uc, v) => {
    const off = calibrate();
    const dv = uc.saveContext();
    let s = (word(dv, off.mstatus) & ~(SSTATUS_MASK & ~SR.SD)) | (v & SSTATUS_MASK & ~SR.SD);
    const dirty = (s & SR.FS) === SR.FS || (s & SR.XS) === SR.XS;
    s = dirty ? s | SR.SD : s & ~SR.SD;
    dv.setBigUint64(off.mstatus, s, true);
    uc.restoreContext();
  },
};

const ABI_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];

function riscvRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  ABI_NAMES.forEach((n, i) => {
    t[n] = UC_RISCV_REG_X0 + i;
    t[`x${i}`] = UC_RISCV_REG_X0 + i;
  });
  t['fp'] = UC_RISCV_REG_X0 + 8;
  for (let i = 0; i < 32; i++) t[`f${i}`] = 158 + i;
  Object.assign(t, {
    pc: UC_RISCV_REG_PC,
    // through the context: readable and writable in every mode
    mstatus: ctxCsr('mstatus'), sstatus: sstatusAccess, sepc: ctxCsr('sepc'), scause: ctxCsr('scause'),
    stval: ctxCsr('stval'), stvec: ctxCsr('stvec'), sscratch: ctxCsr('sscratch'),
    // through the register API: only while the CPU is at the CSR's privilege level or above
    satp: UC_RISCV_REG_SATP, sie: 136, sip: 143, scounteren: 138, medeleg: 118, mideleg: 119, mie: 120, mip: 131,
    mtvec: 121, mepc: UC_RISCV_REG_MEPC, mcause: 129, mtval: 130, mscratch: 127, misa: 117, fcsr: 43,
    cycle: 44, instret: 46,
  });
  return t;
}

// ------------------------------------------------------------------ boot-time state

/** A kernel gigapage (no U bit: U-mode can neither run nor touch it) and a user one. */
export function kernelPte(base: bigint): bigint {
  return ((base >> 12n) << 10n) | PTE.V | PTE.R | PTE.W | PTE.X | PTE.G | PTE.A | PTE.D;
}
export function userPte(base: bigint): bigint {
  return ((base >> 12n) << 10n) | PTE.V | PTE.R | PTE.W | PTE.X | PTE.U | PTE.A | PTE.D;
}

/**
 * The Sv39 root table for the kit's memory map, identity mapped (Unicorn checks a virtual
 * address against its own memory map before the MMU, so only VA == PA can work): 1 GiB leaf
 * PTEs, the user region's with U, every kernel region's without. A gigapage that would hold
 * both cannot keep user mode out of the kernel: refused.
 */
export function sv39RootTable(memory: Record<MemoryRegion, bigint>): bigint[] {
  const regions: Array<[string, bigint, bigint, boolean]> = [
    ['kernelText', memory.kernelText, BigInt(KERNEL_TEXT_SIZE), false],
    ['stubs', memory.stubs, BigInt(STUBS_SIZE), false],
    ['kernelData', memory.kernelData, BigInt(KERNEL_DATA_SIZE), false],
    ['stacks', memory.stacks, THREAD_SIZE * BigInt(MAX_TASKS), false],
    ['user', memory.user, memory.userSize, true],
  ];
  const table = new Array<bigint>(512).fill(0n);
  const owner = new Map<number, [string, boolean]>();
  for (const [name, base, size, user] of regions) {
    for (let g = base / GIGAPAGE; g <= (base + size - 1n) / GIGAPAGE; g++) {
      if (g >= 256n) throw new Error(`riscv64 memory map: ${name} at ${hex(base)} is beyond the low half of Sv39 (256 GiB)`);
      const prev = owner.get(Number(g));
      if (prev && prev[1] !== user) {
        throw new Error(`riscv64 memory map: ${name} and ${prev[0]} share the gigapage at ${hex(g * GIGAPAGE)}; the user region needs a 1 GiB page of its own for the U bit to keep user mode out of the kernel`);
      }
      owner.set(Number(g), [name, user]);
      table[Number(g)] = user ? userPte(g * GIGAPAGE) : kernelPte(g * GIGAPAGE);
    }
  }
  return table;
}

/** Per machine: where a task's saved kernel sp lives (thread_info.kernel_sp), and the kernel. */
const booted = new WeakMap<CpuMachine, { k: KernelApi; kernelSp: bigint }>();

export const cpu: CpuModel = {
  name: 'RISC-V 64',
  returnToUser: {
    patterns: [Uint8Array.from([0x73, 0x00, 0x20, 0x10])], // sret
    check(m, addr, size, stackTop) {
      if (size !== 4 || Number(m.readUint(addr, 4)) !== SRET) return null;
      const off = calibrate();
      const dv = m.uc.saveContext();
      // sret goes to U-mode when SPP is clear
      if (word(dv, off.mstatus) & SR.SPP) return null;
      // The kernel stack pointer: in sp sits the user's now; the one the next trap takes is
      // current's thread_info.kernel_sp, found through sscratch.
      const b = booted.get(m);
      const task = word(dv, off.sscratch);
      if (!b) throw new Error('riscv64: sret before the CPU model booted');
      if (task === 0n) b.k.bug('C2', `sret to user mode at ${hex(addr)} with sscratch = 0: the next trap from user mode cannot find current`);
      return { pc: word(dv, off.sepc), sp: m.readUint(task + TASK_THREAD + b.kernelSp, 8), expectedSp: stackTop };
    },
  },
  unicorn: {
    arch: UC_ARCH_RISCV,
    mode: UC_MODE_RISCV64,
    registers: riscvRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  userPrivilege: PRV_U,
  nop: Uint8Array.from([0x13, 0x00, 0x00, 0x00]), // addi x0, x0, 0
  // Unicorn 2.0.1 calls no code hook on an all-zero halfword (it translates it as an
  // invalid block of size 0): the stub page holds the 32-bit unimp instead
  stubFill: Uint8Array.from([UNIMP & 0xff, (UNIMP >>> 8) & 0xff, (UNIMP >>> 16) & 0xff, UNIMP >>> 24]),

  privilege(m) {
    return Number(word(m.uc.saveContext(), calibrate().priv));
  },

  setPrivilege(m, level) {
    if (level !== PRV_U && level !== PRV_S && level !== PRV_M) throw new RangeError(`RISC-V privilege must be 0 (U), 1 (S) or 3 (M), got ${level}`);
    const off = calibrate();
    const dv = m.uc.saveContext();
    dv.setBigUint64(off.priv, BigInt(level), true);
    m.uc.restoreContext();
    m.leaveBlock();
  },

  irq: {
    // U-mode: always (SIE only masks S-mode); S-mode: SIE. sie is not modelled (all enabled).
    canTake: (m) => cpu.privilege(m) === PRV_U || cpu.irqsEnabled(m),
    // the supervisor timer interrupt (IRQ_S_TIMER)
    take: (m) => void interruptEntry(m, IRQ_S_TIMER),
  },

  irqsEnabled(m) {
    return (m.reg('sstatus') & SR.SIE) !== 0n;
  },

  setIrqsEnabled(m, on) {
    const s = m.reg('sstatus');
    m.setReg('sstatus', on ? s | SR.SIE : s & ~SR.SIE);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const vector = k.symbols.get('handle_exception');
    if (vector === undefined) throw new Error('riscv64 cpu model: entry.S defines no "handle_exception" (the stvec target)');
    if (vector & 3n) throw new Error(`riscv64 cpu model: handle_exception at ${hex(vector)} is not 4-byte aligned (stvec MODE bits)`);
    const kernelSp = k.desc.thread.fields.find((f) => f.name === 'kernel_sp');
    if (!kernelSp) throw new Error('riscv64 cpu model: arch.json thread has no kernel_sp field');

    // What firmware and head.S leave: Sv39 on (identity), stvec, sscratch = 0 in the
    // kernel, interrupts and user access off, FP off; then S-mode. Unicorn starts in M-mode,
    // where the register API reaches satp. medeleg/mideleg play no part: the hook takes
    // every trap before QEMU would route it.
    const root = k.desc.memory.kernelData + ARCH_DATA_OFFSET;
    const table = sv39RootTable(k.desc.memory);
    const bytes = Buffer.alloc(table.length * 8);
    table.forEach((pte, i) => bytes.writeBigUInt64LE(pte, i * 8));
    m.write(root, bytes);
    const satp = SATP_MODE_SV39 | (root >> 12n);
    if (cpu.privilege(m) === PRV_U) cpu.setPrivilege(m, PRV_S);
    m.setReg('satp', satp);
    if (m.reg('satp') !== satp) throw new Error(`riscv64 cpu model: satp did not take ${hex(satp)} (reads ${hex(m.reg('satp'))})`);
    m.setReg('stvec', vector);
    m.setReg('sscratch', 0n);
    m.setReg('sstatus', m.reg('sstatus') & ~(SR.SIE | SR.SPIE | SR.SPP | SR.SUM | SR.FS));
    cpu.setPrivilege(m, PRV_S);
    booted.set(m, { k, kernelSp: BigInt(kernelSp.offset) });

    m.hookInterrupt((intno) => {
      const off = calibrate();
      const dv = m.uc.saveContext();
      const prv = Number(word(dv, off.priv));
      // Unicorn adds 4 to pc before the hook, for every exception and instruction length.
      const epc = word(dv, off.pc) - 4n;
      const what = EXC_NAME[intno] ?? `exception ${intno}`;
      if (prv !== PRV_U) {
        k.bug('cpu', `riscv64: ${what} in ${prv === PRV_S ? 'S' : 'M'}-mode at ${hex(epc)}: the kernel must not trap (an oops; no SBI calls are modelled)`);
      }
      const tval = USER_TRAPS[intno];
      if (tval === undefined) k.bug('cpu', `riscv64: ${what} from U-mode at ${hex(epc)} is not delivered by this CPU model`);
      trapEntry(m, BigInt(intno), epc, tval === 'zero' ? 0n : tval === 'epc' ? epc : word(dv, off.badaddr));
    });
  },
};
