// The PowerPC 64-bit CPU on Unicorn 2.0.1: its only 64-bit model, POWER10 (book3s_64,
// ISA 3.1), run as a bare-metal (powernv) machine: the kernel in hypervisor mode with the
// radix MMU, user code in problem state. What Unicorn does not do by itself is the
// interrupt entry: every exception reaches UC_HOOK_INTR with the pc 4 past the instruction
// that raised it and is never vectored; the hook does what Book III says an interrupt does
// (SRR0/SRR1, or HSRR0/HSRR1 for the hypervisor interrupts, MSR = SF|HV|ME with translation,
// EE, RI and PR off, pc = the real-mode vector). The rest is the emulator's own: rfid and
// hrfid back to problem state, the privilege checks of mfmsr/mtmsrd/mtspr, and radix
// translation with privileged pages, which keeps user mode out of kernel memory.
//
// Three things need more than the register API (the research notes' recipe, each checked by
// the start-up calibration on a scratch engine, which refuses to run otherwise):
// - MSR[HV]: Unicorn's reset drops it (hreg_store_msr refuses to set HV unless already set)
//   and no MSR write can set it, and with HV = 0 even a real-mode fetch faults (guest real
//   mode needs a VRMA). It is set once per machine in a saved uc_context: env->msr, the HV
//   bit of env->hflags and the MMU indexes (+4), whose offsets the calibration finds; after
//   that every MSR write, rfid and hrfid keep it.
// - SRR0/SRR1, HSRR0/HSRR1, the SPRGs, DAR and DSISR have no register ids: they are words of
//   env->spr[] in the context (calibrated), as is env->error_code (the program-check cause).
// - Problem state forces EE, IR and DR on (Book3S 2.x rule in Unicorn's MSR write and in
//   rfid): user mode needs translation, so the boot state builds a radix tree (partition
//   table, process table, a root, two directory levels, 2 MiB leaves), identity mapped
//   (Unicorn 2.0.1 checks its memory map on the virtual address), kernel pages privileged,
//   and sets PTCR/LPCR/PIDR natively (early_setup in entry.S): side-effecting SPRs.
// Never call uc_ctl_set_cpu_model in PPC64 mode: 2.0.1 indexes the 32-bit table with it.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { ArchDescriptor, MemoryRegion } from '@archkit/generic-core/contracts/descriptor';
import { ARCH_DATA_OFFSET, KERNEL_DATA_SIZE, KERNEL_TEXT_SIZE, MAX_TASKS, STUBS_SIZE, TASK_STRUCT_SIZE, TASK_THREAD, THREAD_SIZE, taskStructsBase } from '@archkit/generic-core/kernel/layout';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, ppc.h)

const UC_ARCH_PPC = 5;
const UC_MODE_PPC64 = 1 << 3;
const UC_MODE_BIG_ENDIAN = 1 << 30;
const UC_PPC_REG_PC = 1;
const UC_PPC_REG_0 = 2;
const UC_PPC_REG_LR = 74;
const UC_PPC_REG_XER = 75;
const UC_PPC_REG_CTR = 76;
const UC_PPC_REG_MSR = 77;
const UC_PPC_REG_CR = 79;

// ------------------------------------------------------------------ architecture facts

/** MSR bits (asm/reg.h, 64-bit). */
export const MSR = {
  SF: 1n << 63n, HV: 1n << 60n, EE: 0x8000n, PR: 0x4000n, FP: 0x2000n, ME: 0x1000n, IR: 0x20n, DR: 0x10n, RI: 0x2n, LE: 0x1n,
} as const;
/** book3s_64 BE (asm/reg.h): MSR_KERNEL = SF|HV|ME|RI|IR|DR, MSR_USER64 = MSR_KERNEL|PR|EE. */
export const MSR_KERNEL = MSR.SF | MSR.HV | MSR.ME | MSR.RI | MSR.IR | MSR.DR;
export const MSR_USER64 = MSR_KERNEL | MSR.PR | MSR.EE;
/** The SRR1 bits an interrupt replaces with its cause (bits 33-36 and 42-47). */
const SRR1_CAUSE_MASK = 0x783f0000n;
/** Program interrupt causes in SRR1 (SRR1_PROG*). */
export const SRR1_PROG = { FPE: 0x00100000n, ILL: 0x00080000n, PRIV: 0x00040000n, TRAP: 0x00020000n } as const;
/** SPR numbers. */
export const SPRN = {
  DSISR: 18, DAR: 19, SRR0: 26, SRR1: 27, PID: 48, SPRG0: 272, SPRG1: 273, SPRG2: 274, SPRG3: 275,
  HSPRG0: 304, HSPRG1: 305, HSRR0: 314, HSRR1: 315, LPCR: 318, LPID: 319, PTCR: 464,
} as const;
/** LPCR[HR] (radix host), LPCR[UPRT] (use the process table). */
export const LPCR_HR = 1n << 20n;
export const LPCR_UPRT = 1n << 22n;

/** Interrupt vectors (asm/interrupt.h, exceptions-64s.S), the entry.S label at each, and whether it uses the HSRRs in hypervisor mode. */
export const VECTOR = { DSI: 0x300n, ISI: 0x400n, EXTERNAL: 0x500n, PROGRAM: 0x700n, SYSCALL: 0xc00n, HEAI: 0xe40n } as const;
const VECTOR_LABEL: Record<string, bigint> = {
  data_access: VECTOR.DSI, instruction_access: VECTOR.ISI, hardware_interrupt: VECTOR.EXTERNAL,
  program_check: VECTOR.PROGRAM, system_call: VECTOR.SYSCALL, emulation_assist: VECTOR.HEAI,
};

/** QEMU's exception numbers as Unicorn hands them to UC_HOOK_INTR (POWERPC_EXCP_*). */
export const EXCP = { DSI: 2, ISI: 3, PROGRAM: 6, FPU: 7, SYSCALL: 8, HISI: 70, HV_EMU: 96 } as const;
const EXCP_NAME: Record<number, string> = Object.fromEntries(Object.entries(EXCP).map(([k, v]) => [v, k]));

function programCause(errorCode: number): bigint {
  switch (errorCode & ~0xf) {
    case 0x10: return SRR1_PROG.FPE;
    case 0x20: return SRR1_PROG.ILL;
    case 0x30: return SRR1_PROG.PRIV;
    case 0x40: return SRR1_PROG.TRAP;
    default: return 0n;
  }
}

export const RFID = 0x4c000024;
export const HRFID = 0x4c000224;
const B_SELF = 0x48000000;

// ------------------------------------------------------------------ the radix tree

/** Radix PTE bits (Book III 6.7.10): valid, leaf, reference, change, EAA privileged/read/write/execute. */
export const R_PTE = { V: 1n << 63n, L: 1n << 62n, R: 0x100n, C: 0x80n, PRIV: 0x8n, RWX: 0x7n } as const;
const PAGE_2M = 0x200000n;
/** A 52-bit tree: RTS = 52 - 31 = 21, split over two fields; the root has 2^13 entries. */
const RTS_BITS = (2n << 61n) | (5n << 5n);
const ROOT_BITS = 13n;
const DIR_BITS = 9n;
/** PID of the user address space (PIDR): 0 is the kernel's in Linux. */
export const USER_PID = 1n;

/** Where the tables live in kernel data, and the PACA. */
export function layoutFor(memory: Record<MemoryRegion, bigint>) {
  const d = memory.kernelData;
  const l = { paca: d + ARCH_DATA_OFFSET, root: d + 0xe0000n, patb: d + 0xf0000n, prtb: d + 0xf1000n, l2: d + 0xf2000n, l3: d + 0xf3000n, end: d + 0xf4000n };
  const tasksEnd = taskStructsBase({ memory } as ArchDescriptor) + BigInt(MAX_TASKS) * TASK_STRUCT_SIZE;
  if (l.root % 0x10000n !== 0n || l.root < tasksEnd || l.end > d + BigInt(KERNEL_DATA_SIZE)) throw new Error(`powerpc64 memory map: no room for the radix tables in kernel data at ${hex(d)}`);
  return l;
}

/** A 2 MiB leaf mapping `pa` to itself; kernel pages are privileged (problem state faults on them). */
export function leafPte(pa: bigint, user: boolean): bigint {
  return R_PTE.V | R_PTE.L | (pa & ~(PAGE_2M - 1n)) | R_PTE.R | R_PTE.C | (user ? 0n : R_PTE.PRIV) | R_PTE.RWX;
}

/**
 * The words of the tables for the kit's memory map, by address: every kernel region in
 * privileged 2 MiB pages, the user region in user pages; all below 1 GiB (one directory
 * entry of each level). A 2 MiB page holding both is refused.
 */
export function radixTables(memory: Record<MemoryRegion, bigint>): Map<bigint, bigint> {
  const l = layoutFor(memory);
  const regions: Array<[string, bigint, bigint, boolean]> = [
    ['kernelText', memory.kernelText, BigInt(KERNEL_TEXT_SIZE), false],
    ['stubs', memory.stubs, BigInt(STUBS_SIZE), false],
    ['kernelData', memory.kernelData, BigInt(KERNEL_DATA_SIZE), false],
    ['stacks', memory.stacks, THREAD_SIZE * BigInt(MAX_TASKS), false],
    ['user', memory.user, memory.userSize, true],
  ];
  const words = new Map<bigint, bigint>();
  const owner = new Map<bigint, [string, boolean]>();
  for (const [name, base, size, user] of regions) {
    for (let p = base / PAGE_2M; p <= (base + size - 1n) / PAGE_2M; p++) {
      if (p >= 512n) throw new Error(`powerpc64 memory map: ${name} at ${hex(base)} is above the 1 GiB the tables cover`);
      const prev = owner.get(p);
      if (prev && prev[1] !== user) throw new Error(`powerpc64 memory map: ${name} and ${prev[0]} share the 2 MiB page at ${hex(p * PAGE_2M)}; the user region needs pages of its own`);
      owner.set(p, [name, user]);
      words.set(l.l3 + p * 8n, leafPte(p * PAGE_2M, user));
    }
  }
  words.set(l.l2, R_PTE.V | l.l3 | DIR_BITS);
  words.set(l.root, R_PTE.V | l.l2 | DIR_BITS);
  // process table entry USER_PID, partition table entry 0 (host radix: PATE0_HR)
  words.set(l.prtb + USER_PID * 16n, RTS_BITS | l.root | ROOT_BITS);
  words.set(l.patb, (1n << 63n) | RTS_BITS | l.root | ROOT_BITS);
  words.set(l.patb + 8n, l.prtb); // PRTS 0: a 4 KiB process table
  return words;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ calibration

/** Byte offsets in the uc_context (header included) of the CPUPPCState fields used here. */
export interface Offsets {
  msr: number;
  hflags: number;
  immuIdx: number;
  dmmuIdx: number;
  /** env->spr[0]; SPR n is the 8-byte word at spr + 8n */
  spr: number;
  errorCode: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

const u64 = (dv: DataView, o: number) => dv.getBigUint64(o, true);

const I = {
  lis: (rt: number, v: number) => (15 << 26) | (rt << 21) | ((v >>> 16) & 0xffff),
  ori: (ra: number, rs: number, v: number) => (24 << 26) | (rs << 21) | (ra << 16) | (v & 0xffff),
  oris: (ra: number, rs: number, v: number) => (25 << 26) | (rs << 21) | (ra << 16) | (v & 0xffff),
  rldicr32: (ra: number, rs: number) => (30 << 26) | (rs << 21) | (ra << 16) | (0 << 11) | (31 << 6) | (1 << 2) | (1 << 1), // rldicr ra,rs,32,31
  mtspr: (spr: number, rs: number) => (31 << 26) | (rs << 21) | ((spr & 0x1f) << 16) | (((spr >> 5) & 0x1f) << 11) | (467 << 1),
  mfspr: (rt: number, spr: number) => (31 << 26) | (rt << 21) | ((spr & 0x1f) << 16) | (((spr >> 5) & 0x1f) << 11) | (339 << 1),
  mfmsr: (rt: number) => (31 << 26) | (rt << 21) | (83 << 1),
  ld: (rt: number, ra: number, d: number) => (58 << 26) | (rt << 21) | (ra << 16) | (d & 0xfffc),
  mtctr: (rs: number) => (31 << 26) | (rs << 21) | (9 << 16) | (467 << 1),
  bctr: 0x4e800420,
  trap: 0x7fe00008,
  sc: 0x44000002,
  isync: 0x4c00012c,
  nop: 0x60000000,
};

/** lis/ori/rldicr/oris/ori: a 64-bit constant into rt. */
function load64(rt: number, v: bigint): number[] {
  const w = (s: bigint) => Number((v >> s) & 0xffffn);
  return [I.lis(rt, w(48n) << 16), I.ori(rt, rt, w(32n)), I.rldicr32(rt, rt), I.oris(rt, rt, w(16n)), I.ori(rt, rt, w(0n))];
}

function putWords(uc: UcEngine, addr: bigint, words: number[]): void {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  uc.memWrite(addr, b);
}

function put64(uc: UcEngine, addr: bigint, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  uc.memWrite(addr, b);
}

/** MSR[HV] on: env->msr, the HV bit of env->hflags, the MMU indexes (+4: the hypervisor ones). */
function setHv(uc: UcEngine, off: Offsets): void {
  const dv = uc.saveContext();
  const msr = u64(dv, off.msr);
  if (msr & MSR.HV) return;
  dv.setBigUint64(off.msr, msr | MSR.HV, true);
  dv.setBigUint64(off.hflags, u64(dv, off.hflags) | MSR.HV, true);
  dv.setInt32(off.immuIdx, dv.getInt32(off.immuIdx, true) + 4, true);
  dv.setInt32(off.dmmuIdx, dv.getInt32(off.dmmuIdx, true) + 4, true);
  uc.restoreContext();
}

/**
 * Run 1: two MSR values written through the API (which recomputes hflags and the MMU
 * indexes) locate env->msr, env->hflags, immu_idx and dmmu_idx; MSR[HV] patched in, an
 * mfspr of the hypervisor LPCR must run. Run 2: distinctive values moved into SRR0, SRR1,
 * SPRG0-3, DAR, DSISR, HSRR0, HSRR1 by native mtspr locate env->spr[]. With a small radix
 * tree (PTCR/LPCR/PIDR set natively), run 3: a problem-state mfmsr and trap locate
 * env->error_code; run 4: an `sc` from problem state entered through the patched state
 * must reach hypervisor code that reads SRR0/SRR1 back; run 5: a problem-state load from
 * and a jump into a privileged page must fault (DSI, ISI).
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_PPC, UC_MODE_PPC64 | UC_MODE_BIG_ENDIAN);
  const version = uc.version;
  const fail = (detail: string) => new CalibrationError('PowerPC 64 (POWER10)', detail, CALIBRATED_WITH, version);
  const reg = (id: number) => uc.regRead(id);
  const intrs: Array<[number, bigint]> = [];
  let snaps: Uint8Array[] = [];
  let onIntr: ((intno: number) => void) | null = null;
  uc.onInterrupt((intno) => {
    intrs.push([intno, reg(UC_PPC_REG_PC)]);
    if (onIntr) onIntr(intno);
    else {
      snaps.push(uc.snapshot());
      uc.stop();
    }
  });
  try {
    uc.memMap(0n, 0x400000, 7);
    // Run 1: msr, hflags, MMU indexes; then HV
    const A = MSR.SF | MSR.ME | MSR.IR | MSR.DR | MSR.FP;
    const B = MSR.SF | MSR.ME;
    uc.regWrite(UC_PPC_REG_MSR, A);
    const a = uc.snapshot();
    uc.regWrite(UC_PPC_REG_MSR, B);
    const b = uc.snapshot();
    const da = new DataView(a.buffer);
    const db = new DataView(b.buffer);
    let msrOff = -1;
    let hflags = -1;
    for (let o = 0; o + 8 <= a.length; o += 4) {
      const va = u64(da, o);
      const vb = u64(db, o);
      if (msrOff < 0 && va === A && vb === B) {
        msrOff = o;
        continue;
      }
      const m = MSR.SF | MSR.IR | MSR.DR | MSR.FP | MSR.ME;
      if (msrOff >= 0 && hflags < 0 && (va & m) === (MSR.SF | MSR.IR | MSR.DR | MSR.FP) && (vb & m) === MSR.SF && (va ^ vb) === (MSR.IR | MSR.DR | MSR.FP)) hflags = o;
    }
    if (msrOff < 0 || hflags < 0) throw fail(`env->msr / env->hflags not found (${msrOff}, ${hflags})`);
    let idx = -1;
    for (let o = hflags + 8; o < hflags + 64; o += 4) {
      if (da.getInt32(o, true) === 1 && da.getInt32(o + 4, true) === 1 && db.getInt32(o, true) === 3 && db.getInt32(o + 4, true) === 3) {
        idx = o;
        break;
      }
    }
    if (idx < 0) throw fail('env->immu_idx / dmmu_idx not found after env->hflags');
    const found: Offsets = { msr: msrOff, hflags, immuIdx: idx, dmmuIdx: idx + 4, spr: -1, errorCode: -1 };
    setHv(uc, found);
    if ((reg(UC_PPC_REG_MSR) & MSR.HV) === 0n) throw fail('MSR[HV] did not stay set after the context patch');
    putWords(uc, 0x1000n, [I.mfspr(9, SPRN.LPCR), I.nop]);
    let err = uc.start(0x1000n, 0x1004n, 2_000_000n, 10);
    if (err || intrs.length) throw fail(`mfspr LPCR in hypervisor real mode faulted (uc_err ${err}, exceptions [${intrs.map((x) => x[0]).join(',')}])`);
    const lpcr = reg(UC_PPC_REG_0 + 9);

    // Run 2: env->spr[]
    const vals: Array<[number, bigint]> = [
      [SPRN.SRR0, 0x5a5a5a5a00001a1cn], [SPRN.SRR1, 0x5a5a5a5a00001b1bn], [SPRN.SPRG0, 0x5a5a5a5a00002020n], [SPRN.SPRG3, 0x5a5a5a5a00002323n],
      [SPRN.DAR, 0x5a5a5a5a00001313n], [SPRN.HSRR0, 0x5a5a5a5a00003030n], [SPRN.HSRR1, 0x5a5a5a5a00003131n], [SPRN.HSPRG0, 0x5a5a5a5a00004040n],
    ];
    const code2 = vals.flatMap(([s, v]) => [...load64(3, v), I.mtspr(s, 3)]);
    putWords(uc, 0x2000n, [...code2, I.nop]);
    err = uc.start(0x2000n, 0x2000n + BigInt(code2.length * 4), 2_000_000n, 1000);
    if (err || intrs.length) throw fail(`the mtspr run failed (uc_err ${err})`);
    const s = uc.snapshot();
    const ds = new DataView(s.buffer);
    const cands: number[] = [];
    for (let o = 0; o + 8 <= s.length; o += 8) {
      if (u64(ds, o) !== vals[0]![1]) continue;
      const base = o - SPRN.SRR0 * 8;
      if (base >= 0 && vals.every(([n, v]) => base + n * 8 + 8 <= s.length && u64(ds, base + n * 8) === v)) cands.push(base);
    }
    if (cands.length !== 1) throw fail(`env->spr[] not found (${cands.length} candidates)`);
    found.spr = cands[0]!;

    // A radix tree over 0..4 MiB: 0..2 MiB user pages (the test code), 2..4 MiB privileged.
    const [patb, prtb, root, l2, l3] = [0x10000n, 0x11000n, 0x20000n, 0x30000n, 0x31000n];
    put64(uc, patb, (1n << 63n) | RTS_BITS | root | ROOT_BITS);
    put64(uc, patb + 8n, prtb);
    put64(uc, prtb + USER_PID * 16n, RTS_BITS | root | ROOT_BITS);
    put64(uc, root, R_PTE.V | l2 | DIR_BITS);
    put64(uc, l2, R_PTE.V | l3 | DIR_BITS);
    put64(uc, l3, leafPte(0n, true));
    put64(uc, l3 + 8n, leafPte(PAGE_2M, false));
    const setup = [...load64(3, patb), I.mtspr(SPRN.PTCR, 3), ...load64(3, 0n), I.mtspr(SPRN.LPID, 3), ...load64(3, lpcr | LPCR_HR | LPCR_UPRT), I.mtspr(SPRN.LPCR, 3), ...load64(3, USER_PID), I.mtspr(SPRN.PID, 3), I.isync];
    putWords(uc, 0x3000n, [...setup, I.nop]);
    err = uc.start(0x3000n, 0x3000n + BigInt(setup.length * 4), 2_000_000n, 1000);
    if (err || intrs.length) throw fail(`the radix set-up run failed (uc_err ${err})`);

    // Run 3: env->error_code from a problem-state mfmsr (0x31) and trap (0x40)
    putWords(uc, 0x4000n, [I.mfmsr(9), I.trap, I.nop]);
    for (const at of [0x4000n, 0x4004n]) {
      uc.regWrite(UC_PPC_REG_MSR, MSR.SF | MSR.ME | MSR.PR);
      err = uc.start(at, at + 4n, 2_000_000n, 10);
      if (err) throw fail(`the program-check run at ${hex(at)} failed (uc_err ${err})`);
    }
    if (intrs.length !== 2 || intrs.some(([i]) => i !== EXCP.PROGRAM)) throw fail(`a problem-state mfmsr and trap should raise two program checks (6), got [${intrs.map((x) => x[0]).join(',')}]`);
    const s0 = new DataView(snaps[0]!.buffer);
    const s1 = new DataView(snaps[1]!.buffer);
    const ec: number[] = [];
    for (let o = 0; o + 4 <= snaps[0]!.length; o += 4) if (s0.getInt32(o, true) === 0x31 && s1.getInt32(o, true) === 0x40) ec.push(o);
    if (ec.length !== 1) throw fail(`env->error_code not found (${ec.length} candidates)`);
    found.errorCode = ec[0]!;

    // Run 4: sc from problem state through the patched entry, read back in hypervisor state
    intrs.length = 0;
    snaps = [];
    putWords(uc, 0x5000n, [I.sc, I.nop]);
    putWords(uc, 0x6000n, [I.mfspr(4, SPRN.SRR0), I.mfspr(5, SPRN.SRR1), I.mfmsr(6), I.nop]);
    let failure: Error | null = null;
    onIntr = (intno) => {
      try {
        if (intno !== EXCP.SYSCALL || intrs.length !== 1) throw fail(`sc in problem state: expected one system call (8), got [${intrs.map((x) => x[0]).join(',')}]`);
        const pc = reg(UC_PPC_REG_PC);
        if (pc !== 0x5004n) throw fail(`pc at the hook is ${hex(pc)}, expected sc + 4 (0x5004)`);
        patchEntry(uc, found, 0x6000n, pc, 0n, false);
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    };
    uc.regWrite(UC_PPC_REG_MSR, MSR_USER64);
    err = uc.start(0x5000n, 0x600cn, 2_000_000n, 100);
    if (failure) throw failure;
    const [r4, r5, r6] = [reg(UC_PPC_REG_0 + 4), reg(UC_PPC_REG_0 + 5), reg(UC_PPC_REG_0 + 6)];
    if (err || r4 !== 0x5004n || r5 !== MSR_USER64 || r6 !== (MSR.SF | MSR.HV | MSR.ME)) {
      throw fail(`after the patched entry: uc_err ${err}, SRR0=${hex(r4)} SRR1=${hex(r5)} MSR=${hex(r6)} (expected 0x5004, ${hex(MSR_USER64)}, ${hex(MSR.SF | MSR.HV | MSR.ME)})`);
    }

    // Run 5: problem state cannot load from or jump into a privileged page
    intrs.length = 0;
    onIntr = () => uc.stop();
    putWords(uc, 0x7000n, [...load64(4, PAGE_2M), I.ld(5, 4, 0), I.nop]);
    putWords(uc, 0x7100n, [...load64(4, PAGE_2M), I.mtctr(4), I.bctr, I.nop]);
    uc.regWrite(UC_PPC_REG_MSR, MSR_USER64);
    const e1 = uc.start(0x7000n, 0x7018n, 2_000_000n, 100);
    uc.regWrite(UC_PPC_REG_MSR, MSR_USER64);
    const e2 = uc.start(0x7100n, 0x711cn, 2_000_000n, 100);
    if (e1 || e2 || intrs.length !== 2 || intrs[0]![0] !== EXCP.DSI || intrs[0]![1] !== 0x7018n || intrs[1]![0] !== EXCP.ISI) {
      throw fail(`problem state reached a privileged page without a DSI/ISI (uc_err ${e1}/${e2}, exceptions [${intrs.map(([i, p]) => `${i}@${hex(p)}`).join(', ')}])`);
    }
    offsets = found;
    return found;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ the architecture's own steps

/**
 * Interrupt entry (Book III 7.5, bare metal, LPCR[AIL] = 0): [H]SRR0 = the resume address,
 * [H]SRR1 = the MSR with the cause bits in place of bits 33-36 and 42-47, MSR = SF, HV and ME
 * kept, everything else off (real mode, EE, RI, PR), pc = the vector. Context restore first
 * (it carries the SRRs), then the MSR and pc writes.
 */
function patchEntry(uc: UcEngine, off: Offsets, target: bigint, srr0: bigint, cause: bigint, hsrr: boolean): void {
  const msr = uc.regRead(UC_PPC_REG_MSR);
  const dv = uc.saveContext();
  dv.setBigUint64(off.spr + (hsrr ? SPRN.HSRR0 : SPRN.SRR0) * 8, BigInt.asUintN(64, srr0), true);
  dv.setBigUint64(off.spr + (hsrr ? SPRN.HSRR1 : SPRN.SRR1) * 8, (msr & ~SRR1_CAUSE_MASK) | cause, true);
  uc.restoreContext();
  uc.regWrite(UC_PPC_REG_MSR, MSR.SF | (msr & (MSR.HV | MSR.ME)));
  uc.regWrite(UC_PPC_REG_PC, target);
}

/** Take interrupt `vector` (real mode, vectors at 0) with [H]SRR0 = srr0 and these cause bits. */
export function takeInterrupt(m: CpuMachine, vector: bigint, srr0: bigint, cause: bigint, hsrr = false): void {
  patchEntry(m.uc, calibrate(), vector, srr0, cause, hsrr);
}

function errorCode(m: CpuMachine): number {
  return m.uc.saveContext().getInt32(calibrate().errorCode, true);
}

// ------------------------------------------------------------------ registers

function ctxSpr(n: number): RegAccess {
  return {
    read: (uc) => u64(uc.saveContext(), calibrate().spr + n * 8),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setBigUint64(calibrate().spr + n * 8, BigInt.asUintN(64, v), true);
      uc.restoreContext();
    },
  };
}

function ppc64Registers(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i < 32; i++) t[`r${i}`] = UC_PPC_REG_0 + i;
  Object.assign(t, {
    sp: UC_PPC_REG_0 + 1,
    pc: UC_PPC_REG_PC,
    lr: UC_PPC_REG_LR,
    ctr: UC_PPC_REG_CTR,
    cr: UC_PPC_REG_CR,
    // XER's SO/OV/CA live outside env->xer in QEMU: only the glue moves XER (mfxer/mtxer)
    xer: UC_PPC_REG_XER,
    msr: UC_PPC_REG_MSR,
    srr0: ctxSpr(SPRN.SRR0),
    srr1: ctxSpr(SPRN.SRR1),
    hsrr0: ctxSpr(SPRN.HSRR0),
    hsrr1: ctxSpr(SPRN.HSRR1),
    sprg0: ctxSpr(SPRN.SPRG0),
    sprg1: ctxSpr(SPRN.SPRG1),
    sprg2: ctxSpr(SPRN.SPRG2),
    sprg3: ctxSpr(SPRN.SPRG3),
    hsprg0: ctxSpr(SPRN.HSPRG0),
    dar: ctxSpr(SPRN.DAR),
    dsisr: ctxSpr(SPRN.DSISR),
  });
  return t;
}

// ------------------------------------------------------------------ the model

/** The PACA words the model reads (entry.S PACA*). */
export const PACA = { KSAVE: 0n, CURRENT: 8n, KMSR: 16n } as const;

const booted = new WeakMap<CpuMachine, { k: KernelApi; paca: bigint }>();

export const cpu: CpuModel = {
  name: 'PowerPC 64 (POWER10, hypervisor mode)',
  returnToUser: {
    patterns: [Uint8Array.from([0x4c, 0x00, 0x00, 0x24]), Uint8Array.from([0x4c, 0x00, 0x02, 0x24])], // rfid, hrfid
    check(m, addr, size, stackTop, ptRegsSize) {
      const insn = size === 4 ? Number(m.readUint(addr, 4)) : 0;
      if (insn !== RFID && insn !== HRFID) return null;
      const off = calibrate();
      const dv = m.uc.saveContext();
      const h = insn === HRFID;
      const srr1 = u64(dv, off.spr + (h ? SPRN.HSRR1 : SPRN.SRR1) * 8);
      if (!(srr1 & MSR.PR)) return null;
      const b = booted.get(m);
      if (!b) throw new Error('powerpc64: rfid before the CPU model booted');
      // the next entry from user mode takes its stack from PACAKSAVE: the task's stack top
      // less one user interrupt frame (pt_regs + 48); current is the PACA's
      const frame = BigInt(ptRegsSize) + 48n;
      const state = {
        pc: u64(dv, off.spr + (h ? SPRN.HSRR0 : SPRN.SRR0) * 8) & ~3n,
        sp: b.k.readWord(b.paca + PACA.KSAVE),
        expectedSp: stackTop - frame,
      };
      const cur = b.k.current();
      const pacaCurrent = b.k.readWord(b.paca + PACA.CURRENT);
      if (pacaCurrent !== cur.addr) return { ...state, violation: { contract: 'C2', message: `${h ? 'hrfid' : 'rfid'} to user mode with paca->current = ${hex(pacaCurrent)}, not the running task ${hex(cur.addr)}` } };
      if (m.reg('r13') === b.paca) return { ...state, violation: { contract: 'C12', message: `${h ? 'hrfid' : 'rfid'} to user mode with r13 = the PACA (${hex(b.paca)}): user mode gets the kernel's per-cpu pointer for its thread pointer` } };
      return state;
    },
  },
  unicorn: {
    arch: UC_ARCH_PPC,
    mode: UC_MODE_PPC64 | UC_MODE_BIG_ENDIAN,
    registers: ppc64Registers(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
    bare: (uc) => setHv(uc, calibrate()),
  },
  /** MSR[PR]: 0 supervisor (hypervisor), 1 problem state. */
  userPrivilege: 1,
  nop: Uint8Array.from([0x60, 0x00, 0x00, 0x00]),
  stubFill: Uint8Array.from([B_SELF >>> 24, 0, 0, 0]),

  privilege(m) {
    return m.reg('msr') & MSR.PR ? 1 : 0;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`PowerPC privilege must be 0 (supervisor) or 1 (problem state), got ${level}`);
    const msr = m.reg('msr');
    // the MSR write recomputes QEMU's hflags and MMU index; PR also forces EE, IR and DR on
    m.setReg('msr', level ? msr | MSR.PR : msr & ~MSR.PR);
    m.leaveBlock();
  },

  irqsEnabled(m) {
    return (m.reg('msr') & MSR.EE) !== 0n;
  },

  setIrqsEnabled(m, on) {
    const msr = m.reg('msr');
    m.setReg('msr', on ? msr | MSR.EE : msr & ~MSR.EE);
  },

  irq: {
    // MSR[EE] (the soft mask is not modelled: local_irq_disable() clears EE itself)
    canTake: (m) => (m.reg('msr') & MSR.EE) !== 0n,
    // in hypervisor mode the external interrupt saves HSRR0/HSRR1 and goes to 0x500
    take: (m) => takeInterrupt(m, VECTOR.EXTERNAL, m.reg('pc'), 0n, true),
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const text = k.desc.memory.kernelText;
    for (const [label, vector] of Object.entries(VECTOR_LABEL)) {
      const at = k.symbols.get(label);
      if (at !== text + vector) throw new Error(`powerpc64 cpu model: entry.S must put ${label} at the ${hex(vector)} vector (found ${at === undefined ? 'no such label' : hex(at)})`);
    }
    const setup = k.symbols.get('early_setup');
    const done = k.symbols.get('early_setup_done');
    if (setup === undefined || done === undefined) throw new Error('powerpc64 cpu model: entry.S defines no early_setup / early_setup_done');
    const off = calibrate();

    // Bare metal: hypervisor state (the context patch), real mode; the radix tables and the
    // PACA in kernel data; early_setup run natively (PTCR, LPIDR, LPCR[HR|UPRT], PIDR,
    // HSPRG0 = the PACA); then relocation on with MSR_KERNEL, interrupts off, r13 = PACA.
    m.setReg('msr', MSR.SF | MSR.ME);
    setHv(m.uc, off);
    if (!(m.reg('msr') & MSR.HV)) throw new Error('powerpc64 cpu model: MSR[HV] did not take');
    const l = layoutFor(k.desc.memory);
    m.write(l.root, new Uint8Array(Number(l.end - l.root)));
    for (const [addr, v] of radixTables(k.desc.memory)) m.writeUint(addr, 8, v);
    // init_task is the first task_struct slot (the idle task, allocated right after boot)
    const init = taskStructsBase(k.desc);
    m.writeUint(l.paca + PACA.KMSR, 8, MSR_KERNEL);
    m.writeUint(l.paca + PACA.CURRENT, 8, init);
    m.writeUint(l.paca + PACA.KSAVE, 8, k.desc.memory.stacks + THREAD_SIZE - BigInt(k.desc.ptRegs.size) - 48n);
    m.setReg('r3', l.patb);
    m.setReg('r4', LPCR_HR | LPCR_UPRT);
    m.setReg('r5', USER_PID);
    m.setReg('r6', l.paca);
    m.setReg('lr', done);
    m.run(setup, { instructions: 200 }, done);
    m.setReg('r13', l.paca);
    m.setReg('msr', MSR_KERNEL);
    booted.set(m, { k, paca: l.paca });

    m.hookInterrupt((intno) => {
      const pc = m.reg('pc');
      const msr = m.reg('msr');
      const what = EXCP_NAME[intno] ?? `exception ${intno}`;
      if (!(msr & MSR.PR)) {
        let insn = '?';
        try {
          insn = hex(m.readUint(pc - 4n, 4));
        } catch {
          // unmapped
        }
        k.bug('cpu', `powerpc64: ${what} in hypervisor state at ${hex(pc - 4n)} (insn ${insn}): the kernel must not trap (an oops)`);
      }
      // Unicorn has added 4 to the pc for every exception
      switch (intno) {
        case EXCP.SYSCALL:
          return takeInterrupt(m, VECTOR.SYSCALL, pc, 0n);
        case EXCP.PROGRAM:
          return takeInterrupt(m, VECTOR.PROGRAM, pc - 4n, programCause(errorCode(m)));
        case EXCP.HV_EMU:
          // an illegal instruction (rfi, scv 0 included) in hypervisor mode: hypervisor
          // emulation assistance, HSRR0 = the instruction
          return takeInterrupt(m, VECTOR.HEAI, pc - 4n, 0n, true);
        case EXCP.DSI:
          return takeInterrupt(m, VECTOR.DSI, pc - 4n, 0n);
        case EXCP.ISI:
          return takeInterrupt(m, VECTOR.ISI, pc - 4n, BigInt(errorCode(m) >>> 0) & SRR1_CAUSE_MASK);
        default:
          k.bug('cpu', `powerpc64: ${what} from problem state at ${hex(pc - 4n)} is not delivered by this CPU model`);
      }
    });
  },
};

/** The PACA's address for a descriptor (tests). */
export const pacaAddress = (desc: ArchDescriptor) => layoutFor(desc.memory).paca;
