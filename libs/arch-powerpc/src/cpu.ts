// The PowerPC 32-bit CPU on Unicorn 2.0.1: a 7400 ("G4", book3s_32 with the hash MMU
// Linux expects), its register table, the privilege level (MSR[PR]), and what Unicorn does
// not do by itself: the interrupt entry. Unicorn reports every exception through
// UC_HOOK_INTR and never vectors it, with the pc already 4 past the instruction that
// raised it (cpu-exec.c adds 4 for every PowerPC exception); the hook performs what the
// architecture (Book III-S, "Interrupt Processing") does: SRR0 = where to resume, SRR1 =
// the MSR with the interrupt's cause bits, MSR = ME (translation, EE and PR off), pc =
// the vector. Everything else is the emulator's own: rfi back to user mode, the privilege
// checks on mfmsr/mtmsr/mtspr, and the BATs that keep user mode out of kernel memory.
//
// Privilege needs no patching on PowerPC: Unicorn's MSR write (uc_ppc_store_msr) recomputes
// QEMU's hflags and MMU index, so a privileged instruction after it faults at once. What
// has no register id is SRR0/SRR1, the SPRGs, DAR and DSISR: they are read and written in
// a saved uc_context at env->spr[], found once per process by calibration on a scratch
// engine, which also finds env->error_code (the program-check cause Unicorn leaves there)
// and checks that a patched entry and the BATs behave as the architecture says.
//
// The 7400 model is set at uc_open (UnicornCpu.model): Unicorn's default 7457A uses the
// 745x software-TLB MMU, on which a BAT miss is a TLB-miss exception Linux book3s_32 has
// no handler for; the 7400 walks a hashed page table, so a miss is a DSI/ISI.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { MemoryRegion } from '@archkit/generic-core/contracts/descriptor';
import { KERNEL_DATA_SIZE, KERNEL_TEXT_SIZE, MAX_TASKS, STUBS_SIZE, TASK_STACK, TASK_STRUCT_SIZE, TASK_THREAD, THREAD_SIZE, taskStructsBase } from '@archkit/generic-core/kernel/layout';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, ppc.h)

const UC_ARCH_PPC = 5;
const UC_MODE_PPC32 = 1 << 2;
const UC_MODE_BIG_ENDIAN = 1 << 30;
/** UC_CPU_PPC32_7400_V2_9 */
export const UC_CPU_PPC32_7400_V2_9 = 249;
const UC_PPC_REG_PC = 1;
const UC_PPC_REG_0 = 2;
const UC_PPC_REG_LR = 74;
const UC_PPC_REG_XER = 75;
const UC_PPC_REG_CTR = 76;
const UC_PPC_REG_MSR = 77;
const UC_PPC_REG_CR = 79;

// ------------------------------------------------------------------ architecture facts

/** MSR bits (asm/reg.h). */
export const MSR = {
  EE: 0x8000n, PR: 0x4000n, FP: 0x2000n, ME: 0x1000n, IP: 0x40n, IR: 0x20n, DR: 0x10n, RI: 0x2n, LE: 0x1n, ILE: 0x10000n,
} as const;
/** book3s_32 (asm/reg.h): MSR_KERNEL = ME|RI|IR|DR, MSR_USER = MSR_KERNEL|PR|EE. */
export const MSR_KERNEL = MSR.ME | MSR.RI | MSR.IR | MSR.DR;
export const MSR_USER = MSR_KERNEL | MSR.PR | MSR.EE;
/** The SRR1 bits an interrupt replaces with its cause (IBM bits 1-4 and 10-15). */
const SRR1_CAUSE_MASK = 0x783f0000n;
/** Program interrupt causes in SRR1 (asm/reg.h SRR1_PROG*, REASON_*). */
export const SRR1_PROG = { FPE: 0x00100000n, ILL: 0x00080000n, PRIV: 0x00040000n, TRAP: 0x00020000n } as const;

/** SPR numbers. */
export const SPRN = { XER: 1, DSISR: 18, DAR: 19, SDR1: 25, SRR0: 26, SRR1: 27, SPRG0: 272, SPRG1: 273, SPRG2: 274, SPRG3: 275 } as const;

/** Interrupt vectors (asm/interrupt.h, head_book3s_32.S) and the entry.S label at each. */
export const VECTOR = { DSI: 0x300n, ISI: 0x400n, EXTERNAL: 0x500n, PROGRAM: 0x700n, SYSCALL: 0xc00n } as const;
const VECTOR_LABEL: Record<string, bigint> = { DataAccess: VECTOR.DSI, InstructionAccess: VECTOR.ISI, HardwareInterrupt: VECTOR.EXTERNAL, ProgramCheck: VECTOR.PROGRAM, SystemCall: VECTOR.SYSCALL };

/** QEMU's exception numbers as Unicorn hands them to UC_HOOK_INTR (target/ppc/cpu.h POWERPC_EXCP_*). */
export const EXCP = { DSI: 2, ISI: 3, EXTERNAL: 4, ALIGN: 5, PROGRAM: 6, FPU: 7, SYSCALL: 8, HV_EMU: 96 } as const;
const EXCP_NAME: Record<number, string> = Object.fromEntries(Object.entries(EXCP).map(([k, v]) => [v, k]));

/** POWERPC_EXCP_* program-check subtypes in env->error_code (high nibble), and the SRR1 bit each becomes. */
function programCause(errorCode: number): bigint {
  switch (errorCode & ~0xf) {
    case 0x10: return SRR1_PROG.FPE;
    case 0x20: return SRR1_PROG.ILL;
    case 0x30: return SRR1_PROG.PRIV;
    case 0x40: return SRR1_PROG.TRAP;
    default: return 0n;
  }
}

/** rfi. */
export const RFI = 0x4c000064;
/** `b .`: one instruction, a block of its own. */
const B_SELF = 0x48000000;

/** BAT register pairs (MPC7400 manual 5.3): 128 KiB granules, BL = blocks - 1; Vs/Vp = valid in supervisor/problem state; PP 2 = read/write. */
export interface BatPair {
  upper: bigint;
  lower: bigint;
}
const BAT_VS = 2n;
const BAT_VP = 1n;
const BAT_PP_RW = 2n;
const BAT_MIN = 0x20000n;
const BAT_MAX = 0x10000000n;

/** The BAT pair mapping [base, base + size) to itself; `user`: valid in problem state too. */
export function batPair(base: bigint, size: bigint, user: boolean): BatPair {
  let len = BAT_MIN;
  while (len < size) len <<= 1n;
  if (len > BAT_MAX) throw new Error(`powerpc: a BAT maps at most 256 MiB, ${hex(size)} asked`);
  if (base % len !== 0n) throw new Error(`powerpc: a BAT of ${hex(len)} bytes must start on a multiple of its size, not ${hex(base)}`);
  const bl = len / BAT_MIN - 1n;
  return { upper: base | (bl << 2n) | BAT_VS | (user ? BAT_VP : 0n), lower: base | BAT_PP_RW };
}

/** Where a BAT pair maps. */
function batRange(b: BatPair): [bigint, bigint] {
  const base = b.upper & 0xfffe0000n;
  const len = (((b.upper >> 2n) & 0x7ffn) + 1n) * BAT_MIN;
  return [base, base + len];
}

/**
 * The kernel BAT (supervisor only, every kernel region) and the user BAT (the user region)
 * for the kit's memory map, identity mapped (Unicorn 2.0.1 checks its memory map on the
 * virtual address). A user BAT that would also cover kernel memory is refused.
 */
export function batsFor(memory: Record<MemoryRegion, bigint>): { kernel: BatPair; user: BatPair } {
  const regions: Array<[string, bigint, bigint]> = [
    ['kernelText', memory.kernelText, BigInt(KERNEL_TEXT_SIZE)],
    ['stubs', memory.stubs, BigInt(STUBS_SIZE)],
    ['kernelData', memory.kernelData, BigInt(KERNEL_DATA_SIZE)],
    ['stacks', memory.stacks, THREAD_SIZE * BigInt(MAX_TASKS)],
  ];
  const lo = regions.reduce((a, [, b]) => (b < a ? b : a), regions[0]![1]);
  const hi = regions.reduce((a, [, b, s]) => (b + s > a ? b + s : a), 0n);
  if (lo !== 0n) throw new Error(`powerpc memory map: the kernel must start at 0 (the vectors are at physical 0x100..0xf00), not ${hex(lo)}`);
  const kernel = batPair(0n, hi, false);
  const user = batPair(memory.user, memory.userSize, true);
  const [ks, ke] = batRange(kernel);
  const [us, ue] = batRange(user);
  if (us < ke && ks < ue) throw new Error(`powerpc memory map: the user BAT ${hex(us)}..${hex(ue)} overlaps the kernel BAT ${hex(ks)}..${hex(ke)}`);
  return { kernel, user };
}

/** The hashed page table SDR1 points at: 64 KiB (the minimum), empty, 64 KiB aligned, at the end of kernel data. */
export function htabBase(memory: Record<MemoryRegion, bigint>): bigint {
  const base = memory.kernelData + BigInt(KERNEL_DATA_SIZE) - 0x10000n;
  const tasksEnd = taskStructsBase({ memory } as never) + BigInt(MAX_TASKS) * TASK_STRUCT_SIZE;
  if (base % 0x10000n !== 0n || base < tasksEnd) throw new Error(`powerpc memory map: no room for a 64 KiB hash table at ${hex(base)}`);
  return base;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ calibration

/** Byte offsets in the uc_context (header included) of the CPUPPCState fields used here. */
export interface Offsets {
  /** env->spr[0]; SPR n is the 4-byte word at spr + 4n */
  spr: number;
  /** env->error_code (int) */
  errorCode: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

const u32 = (dv: DataView, o: number) => dv.getUint32(o, true);

/** PowerPC instructions the calibration runs (big-endian words). */
const I = {
  lis: (rt: number, v: number) => (15 << 26) | (rt << 21) | ((v >>> 16) & 0xffff),
  ori: (ra: number, rs: number, v: number) => (24 << 26) | (rs << 21) | (ra << 16) | (v & 0xffff),
  mtspr: (spr: number, rs: number) => (31 << 26) | (rs << 21) | ((spr & 0x1f) << 16) | (((spr >> 5) & 0x1f) << 11) | (467 << 1),
  mfspr: (rt: number, spr: number) => (31 << 26) | (rt << 21) | ((spr & 0x1f) << 16) | (((spr >> 5) & 0x1f) << 11) | (339 << 1),
  mfmsr: (rt: number) => (31 << 26) | (rt << 21) | (83 << 1),
  lwz: (rt: number, ra: number, d: number) => (32 << 26) | (rt << 21) | (ra << 16) | (d & 0xffff),
  trap: 0x7fe00008,
  sc: 0x44000002,
  isync: 0x4c00012c,
  nop: 0x60000000,
};

function putWords(uc: UcEngine, addr: bigint, words: number[]): void {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  uc.memWrite(addr, b);
}

/** lis/ori a 32-bit constant into rt, then mtspr. */
const setSpr = (spr: number, v: number) => [I.lis(3, v), I.ori(3, 3, v), I.mtspr(spr, 3)];

/**
 * Run 1 (supervisor, real mode): distinctive values moved into SRR0, SRR1, SPRG0-3, DAR and
 * DSISR by native mtspr locate env->spr[]. Run 2: a problem-state mfmsr and a problem-state
 * trap, snapshotted in the interrupt hook, locate env->error_code (0x31 -> 0x40). Run 3: an
 * `sc` from problem state, entered through the patched SRR0/SRR1 + MSR/pc writes, must reach
 * supervisor code that reads them back with mfsrr0/mfsrr1. Run 4: with the BATs set as boot
 * sets them, a problem-state load from kernel memory and a jump into it must fault (DSI,
 * ISI). Anything unexpected is a CalibrationError: the kit refuses to run with a privilege
 * level that is not enforced.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const open = () => UcEngine.open(UC_ARCH_PPC, UC_MODE_PPC32 | UC_MODE_BIG_ENDIAN, UC_CPU_PPC32_7400_V2_9);
  let uc = open();
  const version = uc.version;
  const fail = (detail: string) => new CalibrationError('PowerPC 32 (7400)', detail, CALIBRATED_WITH, version);
  const reg = (id: number) => uc.regRead(id);
  try {
    uc.memMap(0n, 0x20000, 7);
    const vals: Array<[number, number]> = [
      [SPRN.SRR0, 0x5a5a1a1c], [SPRN.SRR1, 0x5a5a1b1b], [SPRN.SPRG0, 0x5a5a2020], [SPRN.SPRG1, 0x5a5a2121],
      [SPRN.SPRG2, 0x5a5a2222], [SPRN.SPRG3, 0x5a5a2323], [SPRN.DAR, 0x5a5a1313], [SPRN.DSISR, 0x5a5a1212],
    ];
    putWords(uc, 0x1000n, [...vals.flatMap(([s, v]) => setSpr(s, v)), I.nop]);
    const end1 = 0x1000n + BigInt(vals.length * 12);
    uc.regWrite(UC_PPC_REG_MSR, MSR.ME);
    let err = uc.start(0x1000n, end1, 2_000_000n, 1000);
    if (err) throw fail(`the mtspr run failed (uc_err ${err})`);
    const a = uc.snapshot();
    const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
    const cands: number[] = [];
    for (let o = 0; o + 4 <= a.length; o += 4) {
      if (u32(dv, o) !== vals[0]![1]) continue;
      const base = o - SPRN.SRR0 * 4;
      if (base >= 0 && vals.every(([s, v]) => base + s * 4 + 4 <= a.length && u32(dv, base + s * 4) === v)) cands.push(base);
    }
    if (cands.length !== 1) throw fail(`env->spr[] not found (${cands.length} candidates)`);
    const found: Offsets = { spr: cands[0]!, errorCode: -1 };

    // Run 2: env->error_code from two program checks in problem state.
    putWords(uc, 0x2000n, [I.mfmsr(9), I.trap, I.nop]);
    const snaps: Uint8Array[] = [];
    const intrs: number[] = [];
    uc.onInterrupt((intno) => {
      intrs.push(intno);
      snaps.push(uc.snapshot());
      uc.stop();
    });
    for (const at of [0x2000n, 0x2004n]) {
      uc.regWrite(UC_PPC_REG_MSR, MSR.PR | MSR.ME);
      err = uc.start(at, at + 4n, 2_000_000n, 10);
      if (err) throw fail(`the program-check run at ${hex(at)} failed (uc_err ${err})`);
    }
    if (intrs.length !== 2 || intrs.some((i) => i !== EXCP.PROGRAM)) throw fail(`a problem-state mfmsr and trap should raise two program checks (6), got [${intrs.join(',')}]`);
    const s0 = new DataView(snaps[0]!.buffer);
    const s1 = new DataView(snaps[1]!.buffer);
    const ec: number[] = [];
    for (let o = 0; o + 4 <= snaps[0]!.length; o += 4) if (s0.getInt32(o, true) === 0x31 && s1.getInt32(o, true) === 0x40) ec.push(o);
    if (ec.length !== 1) throw fail(`env->error_code not found (${ec.length} candidates)`);
    found.errorCode = ec[0]!;
    uc.close();

    // Run 3: sc from problem state, entered through the patched state, read back natively.
    uc = open();
    uc.memMap(0n, 0x20000, 7);
    putWords(uc, 0x2100n, [I.sc, I.nop]);
    putWords(uc, 0x3000n, [I.mfspr(4, SPRN.SRR0), I.mfspr(5, SPRN.SRR1), I.mfmsr(6), I.nop]);
    const seen: number[] = [];
    let failure: Error | null = null;
    uc.onInterrupt((intno) => {
      seen.push(intno);
      try {
        if (intno !== EXCP.SYSCALL || seen.length !== 1) throw fail(`sc in problem state: expected one system call (8), got [${seen.join(',')}]`);
        const pc = reg(UC_PPC_REG_PC);
        if (pc !== 0x2104n) throw fail(`pc at the hook is ${hex(pc)}, expected sc + 4 (0x2104)`);
        patchEntry(uc, found, VECTOR.SYSCALL, 0x3000n, pc, 0n);
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    });
    uc.regWrite(UC_PPC_REG_MSR, MSR.PR | MSR.ME | MSR.EE);
    err = uc.start(0x2100n, 0x300cn, 2_000_000n, 100);
    if (failure) throw failure;
    const [r4, r5, r6] = [reg(UC_PPC_REG_0 + 4), reg(UC_PPC_REG_0 + 5), reg(UC_PPC_REG_0 + 6)];
    if (err || r4 !== 0x2104n || r5 !== (MSR.PR | MSR.ME | MSR.EE) || r6 !== MSR.ME) {
      throw fail(`after the patched entry: uc_err ${err}, SRR0=${hex(r4)} SRR1=${hex(r5)} MSR=${hex(r6)} (expected 0x2104, ${hex(MSR.PR | MSR.ME | MSR.EE)}, ${hex(MSR.ME)})`);
    }
    uc.close();

    // Run 4: the BATs keep problem state out of supervisor-only memory (DSI on a load, ISI on a fetch).
    uc = open();
    const USER = 0x10000000n;
    uc.memMap(0n, 0x40000, 7);
    uc.memMap(USER, 0x20000, 7);
    const k = batPair(0n, 0x40000n, false);
    const u = batPair(USER, 0x20000n, true);
    const setBats = [
      ...setSpr(SPRN.SDR1, 0x30000),
      ...setSpr(528, Number(k.lower)).slice(0, 2), I.mtspr(529, 3), ...setSpr(528, Number(k.upper)),
      ...setSpr(536, Number(k.lower)).slice(0, 2), I.mtspr(537, 3), ...setSpr(536, Number(k.upper)),
      ...setSpr(530, Number(u.lower)).slice(0, 2), I.mtspr(531, 3), ...setSpr(530, Number(u.upper)),
      ...setSpr(538, Number(u.lower)).slice(0, 2), I.mtspr(539, 3), ...setSpr(538, Number(u.upper)),
      I.isync, I.nop,
    ];
    putWords(uc, 0x1000n, setBats);
    putWords(uc, USER, [I.lis(4, 0x1000), I.lwz(5, 4, 0), I.nop]); // r4 = 0x1000, a kernel address
    uc.regWrite(UC_PPC_REG_MSR, MSR.ME);
    err = uc.start(0x1000n, 0x1000n + BigInt((setBats.length - 1) * 4), 2_000_000n, 1000);
    if (err) throw fail(`the BAT set-up run failed (uc_err ${err})`);
    const faults: Array<[number, bigint]> = [];
    uc.onInterrupt((intno) => {
      faults.push([intno, reg(UC_PPC_REG_PC)]);
      uc.stop();
    });
    uc.regWrite(UC_PPC_REG_MSR, MSR_USER);
    err = uc.start(USER, USER + 8n, 2_000_000n, 10);
    uc.regWrite(UC_PPC_REG_MSR, MSR_USER);
    const err2 = uc.start(0x1000n, 0x1004n, 2_000_000n, 10);
    if (err || err2 || faults.length !== 2 || faults[0]![0] !== EXCP.DSI || faults[0]![1] !== USER + 8n || faults[1]![0] !== EXCP.ISI) {
      throw fail(`problem state reached supervisor-only BAT memory without a DSI/ISI (uc_err ${err}/${err2}, exceptions [${faults.map(([i, p]) => `${i}@${hex(p)}`).join(', ')}])`);
    }
    offsets = found;
    return found;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ the architecture's own steps

/**
 * Interrupt entry (Book III-S 32-bit): SRR0 = the resume address, SRR1 = the MSR with the
 * cause bits in place of bits 1-4 and 10-15, MSR = ME (and IP) kept, LE = ILE, everything
 * else off: supervisor, real mode, EE off. Context restore first (it carries SRR0/SRR1),
 * then the MSR write (recomputes hflags and the MMU index) and the pc write (leaves the
 * translated block).
 */
function patchEntry(uc: UcEngine, off: Offsets, vector: bigint, target: bigint, srr0: bigint, cause: bigint): void {
  const msr = uc.regRead(UC_PPC_REG_MSR);
  const dv = uc.saveContext();
  dv.setUint32(off.spr + SPRN.SRR0 * 4, Number(BigInt.asUintN(32, srr0)), true);
  dv.setUint32(off.spr + SPRN.SRR1 * 4, Number((msr & ~SRR1_CAUSE_MASK) | cause), true);
  uc.restoreContext();
  uc.regWrite(UC_PPC_REG_MSR, (msr & (MSR.ME | MSR.IP)) | (msr & MSR.ILE ? MSR.LE : 0n));
  uc.regWrite(UC_PPC_REG_PC, target);
  void vector;
}

/** Take interrupt `vector` with SRR0 = srr0 and these SRR1 cause bits (MSR[IP] = 0: vectors at 0). */
export function takeInterrupt(m: CpuMachine, vector: bigint, srr0: bigint, cause: bigint): void {
  const off = calibrate();
  patchEntry(m.uc, off, vector, vector, srr0, cause);
}

/** env->error_code of the exception being reported. */
function errorCode(m: CpuMachine): number {
  return m.uc.saveContext().getInt32(calibrate().errorCode, true);
}

// ------------------------------------------------------------------ registers

/** An SPR word of the context (SRR0/SRR1, SPRGs, DAR, DSISR: no register ids in Unicorn 2.0.1). */
function ctxSpr(n: number): RegAccess {
  return {
    read: (uc) => BigInt(u32(uc.saveContext(), calibrate().spr + n * 4)),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setUint32(calibrate().spr + n * 4, Number(BigInt.asUintN(32, v)), true);
      uc.restoreContext();
    },
  };
}

function ppcRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i < 32; i++) t[`r${i}`] = UC_PPC_REG_0 + i;
  Object.assign(t, {
    sp: UC_PPC_REG_0 + 1,
    pc: UC_PPC_REG_PC,
    lr: UC_PPC_REG_LR,
    ctr: UC_PPC_REG_CTR,
    // CR as one word; the CR0..CR7 ids are its 4-bit fields
    cr: UC_PPC_REG_CR,
    // XER's SO/OV/CA live outside env->xer in QEMU: through the API only the other bits
    // round-trip (the entry glue saves and restores XER with mfxer/mtxer)
    xer: UC_PPC_REG_XER,
    msr: UC_PPC_REG_MSR,
    srr0: ctxSpr(SPRN.SRR0),
    srr1: ctxSpr(SPRN.SRR1),
    sprg0: ctxSpr(SPRN.SPRG0),
    sprg1: ctxSpr(SPRN.SPRG1),
    sprg2: ctxSpr(SPRN.SPRG2),
    sprg3: ctxSpr(SPRN.SPRG3),
    dar: ctxSpr(SPRN.DAR),
    dsisr: ctxSpr(SPRN.DSISR),
  });
  return t;
}

// ------------------------------------------------------------------ the model

/** Per machine: the kernel it boots. */
const booted = new WeakMap<CpuMachine, KernelApi>();

export const cpu: CpuModel = {
  name: 'PowerPC 32 (7400)',
  returnToUser: {
    patterns: [Uint8Array.from([0x4c, 0x00, 0x00, 0x64])], // rfi
    check(m, addr, size, stackTop, ptRegsSize) {
      if (size !== 4 || Number(m.readUint(addr, 4)) !== RFI) return null;
      const off = calibrate();
      const dv = m.uc.saveContext();
      const srr1 = BigInt(u32(dv, off.spr + SPRN.SRR1 * 4));
      // rfi goes to user mode when SRR1 has PR (the prologs' rfi to virtual mode does not)
      if (!(srr1 & MSR.PR)) return null;
      const k = booted.get(m);
      if (!k) throw new Error('powerpc: rfi before the CPU model booted');
      // The next exception from user mode takes its stack from SPRG_THREAD: the task's
      // stack top less one interrupt frame. SPRG_THREAD must be current's thread.
      const thread = BigInt(u32(dv, off.spr + SPRN.SPRG3 * 4));
      const cur = k.current();
      const intFrame = BigInt(ptRegsSize) + 16n;
      const state = {
        pc: BigInt(u32(dv, off.spr + SPRN.SRR0 * 4)),
        sp: k.readWord(thread - TASK_THREAD + TASK_STACK) + THREAD_SIZE - intFrame,
        expectedSp: stackTop - intFrame,
      };
      if (thread !== cur.addr + TASK_THREAD) {
        return { ...state, violation: { contract: 'C2', message: `rfi to user mode with SPRG_THREAD = ${hex(thread)}, not current's thread (${hex(cur.addr + TASK_THREAD)}): the next exception would run on another task's kernel stack` } };
      }
      return state;
    },
  },
  unicorn: {
    arch: UC_ARCH_PPC,
    mode: UC_MODE_PPC32 | UC_MODE_BIG_ENDIAN,
    model: UC_CPU_PPC32_7400_V2_9,
    registers: ppcRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  /** MSR[PR]: 0 supervisor, 1 problem state. */
  userPrivilege: 1,
  nop: Uint8Array.from([0x60, 0x00, 0x00, 0x00]),
  // `b .`: a block of its own; the bridge's hook moves the pc before it ever runs
  stubFill: Uint8Array.from([B_SELF >>> 24, 0, 0, 0]),

  privilege(m) {
    return m.reg('msr') & MSR.PR ? 1 : 0;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`PowerPC privilege must be 0 (supervisor) or 1 (problem state), got ${level}`);
    const msr = m.reg('msr');
    // the MSR write recomputes QEMU's hflags and MMU index: nothing is cached
    m.setReg('msr', level ? msr | MSR.PR : msr & ~MSR.PR);
    m.leaveBlock();
  },

  irq: {
    // MSR[EE]: user mode always runs with it; the kernel only between local_irq_enable()
    // and local_irq_disable(). No instruction on this CPU delays a pending interrupt.
    canTake: (m) => (m.reg('msr') & MSR.EE) !== 0n,
    // External interrupt: SRR0 = the instruction not yet executed, SRR1 = the MSR (no
    // cause bits), MSR = ME, pc = 0x500
    take: (m) => takeInterrupt(m, VECTOR.EXTERNAL, m.reg('pc'), 0n),
  },

  irqsEnabled(m) {
    return (m.reg('msr') & MSR.EE) !== 0n;
  },

  setIrqsEnabled(m, on) {
    const msr = m.reg('msr');
    m.setReg('msr', on ? msr | MSR.EE : msr & ~MSR.EE);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const text = k.desc.memory.kernelText;
    for (const [label, vector] of Object.entries(VECTOR_LABEL)) {
      const at = k.symbols.get(label);
      if (at !== text + vector) throw new Error(`powerpc cpu model: entry.S must put ${label} at the ${hex(vector)} vector (found ${at === undefined ? 'no such label' : hex(at)})`);
    }
    const loadUpMmu = k.symbols.get('load_up_mmu');
    const done = k.symbols.get('load_up_mmu_done');
    if (loadUpMmu === undefined || done === undefined) throw new Error('powerpc cpu model: entry.S defines no load_up_mmu / load_up_mmu_done');

    // What the boot loader and head.S leave: supervisor, real mode, MSR[IP] = 0 (vectors at
    // 0, not 0xfff00000), then load_up_mmu run natively (SDR1 at an empty hash table, the
    // kernel BAT and the user BAT: BATs are not in env->spr[], only mtspr reaches them),
    // then the MMU on with MSR_KERNEL, interrupts off.
    const bats = batsFor(k.desc.memory);
    const htab = htabBase(k.desc.memory);
    m.write(htab, new Uint8Array(0x10000));
    m.setReg('msr', MSR.ME);
    m.setReg('r3', htab);
    m.setReg('r4', bats.kernel.upper);
    m.setReg('r5', bats.kernel.lower);
    m.setReg('r6', bats.user.upper);
    m.setReg('r7', bats.user.lower);
    m.setReg('lr', done);
    m.run(loadUpMmu, { instructions: 200 }, done);
    // init_task: r2 = current, SPRG_THREAD = &current->thread (the idle task, pid 0, is
    // allocated right after the CPU boots, in the first task_struct slot)
    const init = taskStructsBase(k.desc);
    m.setReg('r2', init);
    m.setReg('sprg3', init + TASK_THREAD);
    m.setReg('msr', MSR_KERNEL);
    booted.set(m, k);

    m.hookInterrupt((intno) => {
      const pc = m.reg('pc');
      const msr = m.reg('msr');
      const what = EXCP_NAME[intno] ?? `exception ${intno}`;
      if (!(msr & MSR.PR)) {
        const insn = (() => {
          try {
            return hex(m.readUint(pc - 4n, 4));
          } catch {
            return '?';
          }
        })();
        k.bug('cpu', `powerpc: ${what} in supervisor state at ${hex(pc - 4n)} (insn ${insn}): the kernel must not trap (an oops)`);
      }
      // Unicorn has added 4 to the pc for every exception: sc's SRR0 is the next
      // instruction, every other interrupt resumes at (or reports) the one that raised it.
      switch (intno) {
        case EXCP.SYSCALL:
          return takeInterrupt(m, VECTOR.SYSCALL, pc, 0n);
        case EXCP.PROGRAM:
          return takeInterrupt(m, VECTOR.PROGRAM, pc - 4n, programCause(errorCode(m)));
        case EXCP.HV_EMU:
          // an illegal instruction: QEMU's HV_EMU, converted to a program check only in
          // the vectoring Unicorn skips; the 7400 has no hypervisor
          return takeInterrupt(m, VECTOR.PROGRAM, pc - 4n, SRR1_PROG.ILL);
        case EXCP.DSI:
          // DAR and DSISR are already in env->spr[] (QEMU's MMU code wrote them)
          return takeInterrupt(m, VECTOR.DSI, pc - 4n, 0n);
        case EXCP.ISI:
          // the faulting fetch address is the one the branch went to; the cause goes to SRR1
          return takeInterrupt(m, VECTOR.ISI, pc - 4n, BigInt(errorCode(m) >>> 0) & SRR1_CAUSE_MASK);
        default:
          k.bug('cpu', `powerpc: ${what} from problem state at ${hex(pc - 4n)} is not delivered by this CPU model`);
      }
    });
  },
};
