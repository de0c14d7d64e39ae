// The MIPS32 (big-endian, MIPS32r2) CPU on Unicorn 2.0.1: its register table, the CP0
// state Unicorn keeps out of reach, and what Unicorn does not do by itself: taking an
// exception. Unicorn calls the interrupt hook instead of QEMU's mips_cpu_do_interrupt, so
// EPC, Cause.ExcCode/BD/CE, Status.EXL and the vector are set here, as the MIPS32
// Privileged Resource Architecture says; everything after the vector fetch (mfc0/mtc0,
// di/ei, TLB, eret back to user mode) is the emulator's own.
//
// What Unicorn 2.0.1 gets wrong or hides, and how the model copes (calibrated once per
// process on a scratch engine, see calibrate()):
// - EPC, Cause, BadVAddr are not exposed as registers and Cause.ExcCode/BD cannot be
//   written even by mtc0: they are patched in a saved uc_context.
// - At the hook the pc is only right for `syscall` (its address + 4); for every other
//   exception it is stale. The faulting instruction is the last one the machine started
//   (Machine.lastInstruction(); BadVAddr for an instruction fetch that faulted).
// - After an exception in a branch delay slot hflags still says "branch pending", which
//   would make the handler's first instruction a delay slot: the branch bits are cleared.
// - A Status write through the register API refreshes hflags (the privilege level QEMU
//   translates with), so no privilege patch is needed.
// - No interrupt is ever delivered natively (Unicorn has no interrupt controller): the
//   `irq` part takes the timer's line between two instructions, as the CPU would.
// - Unicorn checks a virtual address against its own memory map before the MMU: the
//   kernel runs in kseg2 and the user region in useg, both through wired identity TLB
//   entries that boot() writes with tlbwi (the TLB is not part of a uc_context).

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { CalibrationError, UcEngine, dataView, findWords } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';
import { KERNEL_DATA_SIZE, KERNEL_TEXT_SIZE, MAX_TASKS, STUBS_SIZE, THREAD_SIZE, taskStructsBase } from '@archkit/generic-core/kernel/layout';

// ------------------------------------------------------------------ Unicorn (unicorn.h, mips.h)

const UC_ARCH_MIPS = 3;
const UC_MODE_MIPS32 = 1 << 2;
const UC_MODE_BIG_ENDIAN = 1 << 30;
const UC_MIPS_REG_PC = 1;
const UC_MIPS_REG_0 = 2;
const UC_MIPS_REG_HI = 129;
const UC_MIPS_REG_LO = 130;
const UC_MIPS_REG_CP0_CONFIG3 = 137;
const UC_MIPS_REG_CP0_USERLOCAL = 138;
const UC_MIPS_REG_CP0_STATUS = 139;

export const GPR_NAMES = ['zero', 'at', 'v0', 'v1', 'a0', 'a1', 'a2', 'a3', 't0', 't1', 't2', 't3', 't4', 't5', 't6', 't7',
  's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 't8', 't9', 'k0', 'k1', 'gp', 'sp', 'fp', 'ra'];

// ------------------------------------------------------------------ architecture facts (mipsregs.h)

/** CP0 Status bits. */
export const ST0 = {
  IE: 0x1n, EXL: 0x2n, ERL: 0x4n, KSU: 0x18n, KU_USER: 0x10n, IM: 0xff00n, IM7: 0x8000n, BEV: 0x400000n, FR: 0x4000000n,
  CU0: 0x10000000n, CU1: 0x20000000n, CU2: 0x40000000n,
} as const;
/** CP0 Cause: BD (31), CE (29:28), ExcCode (6:2). */
export const CAUSEF_BD = 1 << 31;
const CAUSE_CE_SHIFT = 28;
/** Config3.ULRI: the UserLocal register is implemented. HWREna bit 29: rdhwr $29 allowed in user mode. */
const CONFIG3_ULRI = 1n << 13n;
const HWRENA_ULR = 1n << 29n;

/** Cause.ExcCode values (mipsregs.h EXCCODE_*). */
export const EXCCODE = { INT: 0, MOD: 1, TLBL: 2, TLBS: 3, ADEL: 4, ADES: 5, SYS: 8, BP: 9, RI: 10, CPU: 11, OV: 12, TR: 13 } as const;

/** QEMU's exception numbers as Unicorn hands them to UC_HOOK_INTR (target/mips/cpu.h). */
export const EXCP = { INTERRUPT: 8, AdEL: 12, AdES: 13, SYSCALL: 17, BREAK: 18, CpU: 19, RI: 20, OVERFLOW: 21, TRAP: 22, LTLBL: 25, TLBL: 26, TLBS: 27 } as const;
const EXCP_NAME: Record<number, string> = Object.fromEntries(Object.entries(EXCP).map(([k, v]) => [v, k]));
/** QEMU exception -> the Cause.ExcCode mips_cpu_do_interrupt would record. */
const EXC_CODE: Record<number, number> = {
  [EXCP.INTERRUPT]: EXCCODE.INT, [EXCP.AdEL]: EXCCODE.ADEL, [EXCP.AdES]: EXCCODE.ADES, [EXCP.SYSCALL]: EXCCODE.SYS,
  [EXCP.BREAK]: EXCCODE.BP, [EXCP.CpU]: EXCCODE.CPU, [EXCP.RI]: EXCCODE.RI, [EXCP.OVERFLOW]: EXCCODE.OV,
  [EXCP.TRAP]: EXCCODE.TR, [EXCP.LTLBL]: EXCCODE.MOD, [EXCP.TLBL]: EXCCODE.TLBL, [EXCP.TLBS]: EXCCODE.TLBS,
};
/** env->error_code bits for TLB exceptions: no matching entry (refill), and "it was an instruction fetch". */
const EXCP_TLB_NOMATCH = 1;
const EXCP_INST_NOTAVAIL = 2;

/** MIPS_HFLAG_BMASK: a branch is pending (the next instruction is a delay slot). */
const HF_BMASK = 0x0087f800;
const HF_KSU = 0x3;

/** EBase after reset (kseg0, physical page 0): the vectors, copied there at boot. */
export const EBASE = 0x80000000n;
const VEC_REFILL = 0x000n;
const VEC_GENERAL = 0x180n;
/** Where boot() runs its CP0 snippets: physical page 0 past the vectors (kseg0). */
const SCRATCH = EBASE + 0x800n;
const KSEG0 = 0x80000000n;
const KSEG2 = 0xc0000000n;
const NTLB = 16;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// Hand-encoded snippets (mips32r2, big-endian words) for boot and calibration: what
// Linux's C does with write_c0_*() and tlb_write_indexed().
const INSN = {
  nop: 0x00000000,
  ehb: 0x000000c0,
  eret: 0x42000018,
  breakInsn: 0x0000000d,
  syscall: 0x0000000c,
  /** mtc0 a0,Index; a1,EntryHi; a2,EntryLo0; a3,EntryLo1; t0,PageMask; t1,Wired; ehb; tlbwi; ehb */
  tlbwi: [0x40840000, 0x40855000, 0x40861000, 0x40871800, 0x40882800, 0x40893000, 0x000000c0, 0x42000002, 0x000000c0],
  mtc0HwrenaA0: [0x40843800, 0x000000c0],
  mtc0EpcA0: [0x40847000, 0x000000c0],
  mtc0CauseA0: [0x40846800, 0x000000c0],
  /** mfc0 v0,EPC; mfc0 v1,Cause; mfc0 a1,BadVAddr */
  readback: [0x40027000, 0x40036800, 0x40054000],
  lwT0A0: [0x8c880000, 0x00000000],
  jrA0: [0x00800008, 0x00000000],
  /** mtc0 a0,EPC; mtc0 a1,Status; ehb; eret */
  eretTo: [0x40847000, 0x40856000, 0x000000c0, 0x42000018],
  mfc0AtStatus: 0x40016000,
} as const;

// ------------------------------------------------------------------ calibration

interface Offsets {
  epc: number;
  cause: number;
  status: number;
  badvaddr: number;
  hflags: number;
  errorCode: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

function words(insns: readonly number[]): Uint8Array {
  const b = Buffer.alloc(insns.length * 4);
  insns.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  return b;
}

/** Context words (host byte order) equal to a in A and to b in B, under mask. */
function candidates(A: Uint8Array, B: Uint8Array, a: number, b: number, mask = 0xffffffff): number[] {
  const da = dataView(A);
  const db = dataView(B);
  return findWords(A, (o) => ((da.getUint32(o, true) & mask) >>> 0) === a >>> 0 && ((db.getUint32(o, true) & mask) >>> 0) === b >>> 0);
}

/** One TLB entry pair with every page global (G is the AND of both EntryLo.G). */
export interface TlbEntry {
  index: number;
  entryHi: bigint;
  entryLo0: bigint;
  entryLo1: bigint;
  pageMask: bigint;
}

const ENTRYLO = { G: 1n, V: 2n, D: 4n, C_CACHEABLE: 3n << 3n } as const;
export const entryLo = (pa: bigint, valid: boolean) => ((pa >> 12n) << 6n) | ENTRYLO.C_CACHEABLE | ENTRYLO.G | (valid ? ENTRYLO.V | ENTRYLO.D : 0n);

/**
 * Finds EPC, Cause, Status, BadVAddr, hflags and error_code in Unicorn's uc_context from
 * states reached natively on a scratch engine, then checks them: a patched EPC/Cause must
 * read back with mfc0, and a user-mode mfc0 must raise Coprocessor Unusable at user level.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_MIPS, UC_MODE_MIPS32 | UC_MODE_BIG_ENDIAN);
  const version = uc.version;
  const fail = (detail: string) => new CalibrationError('MIPS32', detail, CALIBRATED_WITH, version);
  const A0 = UC_MIPS_REG_0 + 4;
  const reg = (n: string) => UC_MIPS_REG_0 + GPR_NAMES.indexOf(n);
  const one = (found: number[], what: string): number => {
    if (found.length !== 1) throw fail(`${what} not found in the uc_context (${found.length} candidates)`);
    return found[0]!;
  };
  try {
    uc.memMap(0n, 0x10000, 7); // kseg0 0x80000000..: snippets
    const USEG = 0x5ff00000n;
    uc.memMap(USEG, 0x10000, 7); // a useg range Unicorn lets through to the MMU
    const at = (o: number) => KSEG0 + 0x1000n + BigInt(o);
    const snips: Array<[number, readonly number[]]> = [
      [0x000, INSN.mtc0EpcA0], [0x020, INSN.mtc0CauseA0], [0x040, INSN.readback], [0x060, INSN.lwT0A0], [0x080, INSN.jrA0],
      [0x0a0, INSN.tlbwi], [0x0e0, INSN.eretTo],
    ];
    for (const [o, w] of snips) uc.memWrite(at(o), words([...w, INSN.nop]));
    uc.memWrite(USEG + 0x1000n, words([INSN.mfc0AtStatus, INSN.nop]));
    const run = (o: number, n: number) => {
      const e = uc.start(at(o), at(o) + BigInt(n * 4), 2_000_000n, 64);
      if (e) throw fail(`snippet at ${hex(at(o))} stopped with error ${e}`);
    };
    const snapWith = (o: number, n: number, v: bigint) => {
      uc.regWrite(A0, v);
      run(o, n);
      uc.regWrite(A0, 0n); // keep the value out of the register file
      return uc.snapshot();
    };
    uc.regWrite(UC_MIPS_REG_CP0_STATUS, 0n); // kernel mode, ERL/BEV clear

    const epc = one(candidates(snapWith(0x000, 2, 0x13572468n), snapWith(0x000, 2, 0x24681358n), 0x13572468, 0x24681358), 'CP0_EPC');
    // Cause: only IP1..IP0 can be written by mtc0
    const cause = one(candidates(snapWith(0x020, 2, 0x100n), snapWith(0x020, 2, 0x200n), 0x100, 0x200, 0x300), 'CP0_Cause');
    snapWith(0x020, 2, 0n);

    uc.regWrite(UC_MIPS_REG_CP0_STATUS, 0n);
    const S0 = uc.snapshot();
    uc.regWrite(UC_MIPS_REG_CP0_STATUS, ST0.KU_USER);
    const S1 = uc.snapshot();
    uc.regWrite(UC_MIPS_REG_CP0_STATUS, 0n);
    const status = one(candidates(S0, S1, 0, Number(ST0.KU_USER)), 'CP0_Status');
    const d0 = dataView(S0);
    const d1 = dataView(S1);
    // hflags: KSU goes kernel -> user and the CP0 access bit goes away, nothing else changes
    const hflags = one(
      findWords(S0, (o) => {
        const a = d0.getUint32(o, true);
        const b = d1.getUint32(o, true);
        return (a & 0x13) === 0x10 && (b & 0x13) === 0x2 && ((a ^ b) >>> 0) === 0x12;
      }),
      'hflags',
    );

    // BadVAddr and error_code: real TLB misses from kernel mode (the TLB is empty)
    const intrs: number[] = [];
    let snap: Uint8Array | null = null;
    uc.onInterrupt((n) => {
      intrs.push(n);
      uc.regWrite(A0, 0n);
      snap = uc.snapshot();
      uc.stop();
    });
    const miss = (o: number, addr: bigint): Uint8Array => {
      snap = null;
      uc.regWrite(A0, addr);
      uc.start(at(o), at(o) + 8n, 2_000_000n, 16);
      if (!snap || intrs[intrs.length - 1] !== EXCP.TLBL) throw fail(`a kernel access to an unmapped useg address gave exceptions [${intrs.join(',')}], expected TLBL (${EXCP.TLBL})`);
      return snap;
    };
    const L1 = miss(0x060, USEG + 0x4670n);
    const L2 = miss(0x060, USEG + 0xace0n);
    const badvaddr = one(candidates(L1, L2, Number(USEG + 0x4670n), Number(USEG + 0xace0n)), 'CP0_BadVAddr');
    const F = miss(0x080, USEG + 0x8000n);
    const errorCode = one(candidates(L2, F, EXCP_TLB_NOMATCH, EXCP_TLB_NOMATCH | EXCP_INST_NOTAVAIL), 'error_code');
    const off: Offsets = { epc, cause, status, badvaddr, hflags, errorCode };

    // Check 1: EPC/Cause patched in a context read back through mfc0.
    const dv = uc.saveContext();
    dv.setUint32(off.epc, 0x00401234, true);
    dv.setUint32(off.cause, (CAUSEF_BD | (EXCCODE.CPU << 2) | (1 << CAUSE_CE_SHIFT)) >>> 0, true);
    uc.restoreContext();
    run(0x040, 3);
    const [rEpc, rCause] = [uc.regRead(reg('v0')), uc.regRead(reg('v1'))];
    if (rEpc !== 0x00401234n || rCause !== BigInt((CAUSEF_BD | (EXCCODE.CPU << 2) | (1 << CAUSE_CE_SHIFT)) >>> 0)) {
      throw fail(`patched EPC/Cause read back as ${hex(rEpc)}/${hex(rCause)}`);
    }

    // Check 2: user mode is enforced: through a wired TLB entry and eret, a user-mode mfc0
    // must raise Coprocessor Unusable (CE 0 in error_code) with hflags at user level.
    for (const [r, v] of [['a0', 0n], ['a1', USEG], ['a2', entryLo(USEG, true)], ['a3', entryLo(USEG + 0x1000n, true)], ['t0', 0n], ['t1', 1n]] as const) uc.regWrite(reg(r), v);
    run(0x0a0, 9);
    intrs.length = 0;
    snap = null;
    uc.regWrite(reg('a0'), USEG + 0x1000n);
    uc.regWrite(reg('a1'), ST0.KU_USER | ST0.EXL);
    uc.start(at(0x0e0), 0xffffffffn, 2_000_000n, 16);
    const U = snap as Uint8Array | null;
    if (intrs.length !== 1 || intrs[0] !== EXCP.CpU || !U) throw fail(`a user-mode mfc0 gave exceptions [${intrs.join(',')}], expected Coprocessor Unusable (${EXCP.CpU})`);
    const du = dataView(U);
    if ((du.getUint32(off.hflags, true) & HF_KSU) !== 2 || du.getUint32(off.errorCode, true) !== 0) {
      throw fail(`the Coprocessor Unusable fault was not taken at user level (hflags ${hex(du.getUint32(off.hflags, true))}, error_code ${du.getUint32(off.errorCode, true)})`);
    }
    offsets = off;
    return off;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ registers

/** A CP0 register Unicorn does not expose: its word in the uc_context. */
function ctxReg(name: 'epc' | 'cause' | 'badvaddr'): RegAccess {
  const off = () => calibrate()[name === 'badvaddr' ? 'badvaddr' : name];
  return {
    read: (uc) => BigInt(uc.saveContext().getUint32(off(), true)),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setUint32(off(), Number(BigInt.asUintN(32, v)), true);
      uc.restoreContext();
    },
  };
}

/** o32's outgoing argument slots args 5..8: the words at 16..28(sp) of the caller. */
function stackArg(n: number): RegAccess {
  const addr = (uc: UcEngine) => uc.regRead(UC_MIPS_REG_0 + 29) + BigInt(16 + 4 * (n - 4));
  return {
    read: (uc) => BigInt(Buffer.from(uc.memRead(addr(uc), 4)).readUInt32BE(0)),
    write: (uc, v) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(Number(BigInt.asUintN(32, v)), 0);
      uc.memWrite(addr(uc), b);
    },
  };
}

function mipsRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  GPR_NAMES.forEach((n, i) => {
    t[n] = UC_MIPS_REG_0 + i;
    t[`r${i}`] = UC_MIPS_REG_0 + i;
  });
  Object.assign(t, {
    s8: UC_MIPS_REG_0 + 30,
    pc: UC_MIPS_REG_PC,
    hi: UC_MIPS_REG_HI,
    lo: UC_MIPS_REG_LO,
    status: UC_MIPS_REG_CP0_STATUS,
    config3: UC_MIPS_REG_CP0_CONFIG3,
    userlocal: UC_MIPS_REG_CP0_USERLOCAL,
    epc: ctxReg('epc'),
    cause: ctxReg('cause'),
    badvaddr: ctxReg('badvaddr'),
    arg4: stackArg(4),
    arg5: stackArg(5),
    arg6: stackArg(6),
    arg7: stackArg(7),
  });
  return t;
}

// ------------------------------------------------------------------ the architecture's own steps

/**
 * Exception entry (MIPS32 PRA, "General Exception Processing"): unless EXL was already
 * set, EPC = the faulting instruction (the branch, with Cause.BD, for one in a delay
 * slot); Cause.ExcCode and CE; EXL = 1 (kernel mode, interrupts masked); pc = the vector.
 * The branch-pending bits of hflags are cleared, as QEMU's do_interrupt does.
 */
export function takeException(m: CpuMachine, exc: number, insn: bigint, opts: { ce?: number; refill?: boolean; bd?: boolean; ip?: number } = {}): bigint {
  const off = calibrate();
  const status = m.reg('status');
  const dv = m.uc.saveContext();
  const hf = dv.getUint32(off.hflags, true);
  const bd = opts.bd ?? (hf & HF_BMASK) !== 0;
  let cause = dv.getUint32(off.cause, true);
  if (opts.ip !== undefined) cause = (cause | (1 << (8 + opts.ip))) >>> 0;
  if (!(status & ST0.EXL)) {
    dv.setUint32(off.epc, Number(BigInt.asUintN(32, bd ? insn - 4n : insn)), true);
    cause = bd ? (cause | CAUSEF_BD) >>> 0 : (cause & ~CAUSEF_BD) >>> 0;
  }
  cause = ((cause & ~0x7c & ~(3 << CAUSE_CE_SHIFT)) | (exc << 2) | ((opts.ce ?? 0) << CAUSE_CE_SHIFT)) >>> 0;
  dv.setUint32(off.cause, cause, true);
  dv.setUint32(off.hflags, (hf & ~HF_BMASK) >>> 0, true);
  m.uc.restoreContext();
  const vector = EBASE + (opts.refill && !(status & ST0.EXL) ? VEC_REFILL : VEC_GENERAL);
  m.setReg('status', status | ST0.EXL); // compute_hflags: kernel mode from here
  m.setReg('pc', vector); // leaves the translation block
  return vector;
}

/**
 * Runs a kseg0 snippet at boot (mtc0/tlbwi: what Linux's C does through write_c0_*()).
 * Each snippet has its own address: Unicorn keeps translated code across memory writes.
 */
function runSnippet(m: CpuMachine, slot: number, insns: readonly number[], regs: Record<string, bigint>): void {
  const at = SCRATCH + BigInt(slot * 0x40);
  m.write(at, words([...insns, INSN.nop]));
  for (const [r, v] of Object.entries(regs)) m.setReg(r, v);
  // (after an `until` stop Unicorn reports the pc of the last block, not `until`)
  const r = m.run(at, { instructions: insns.length + 4 }, at + BigInt(insns.length * 4));
  if (r.instructions !== insns.length) throw new Error(`mips cpu model: boot snippet at ${hex(at)} ran ${r.instructions} of its ${insns.length} instructions`);
}

/** The smallest MIPS page size (4 KiB x 4^n) holding `size`, with its PageMask. */
function pageFor(size: bigint): { page: bigint; pageMask: bigint } {
  for (let page = 0x1000n; page <= 0x10000000n; page *= 4n) if (page >= size) return { page, pageMask: ((page / 0x1000n) - 1n) << 13n };
  throw new Error(`mips cpu model: no TLB page size holds ${hex(size)}`);
}

/**
 * The wired identity entries (Linux: local_flush_tlb_all, then add_wired_entry): entry 0
 * maps the kernel in kseg2 with one 16 MiB page, entry 1 the user region in useg, each in
 * the even page of its pair; every other entry gets a unique kseg0 EntryHi that never
 * matches (UNIQUE_ENTRYHI), so an access anywhere else is a TLB refill.
 */
export function wiredTlb(k: Pick<KernelApi, 'desc'>): TlbEntry[] {
  const mem = k.desc.memory;
  const kernel = pageFor(0x1000000n);
  const kernelRegions: Array<[string, bigint, bigint]> = [
    ['kernelText', mem.kernelText, BigInt(KERNEL_TEXT_SIZE)],
    ['stubs', mem.stubs, BigInt(STUBS_SIZE)],
    ['kernelData', mem.kernelData, BigInt(KERNEL_DATA_SIZE)],
    ['stacks', mem.stacks, THREAD_SIZE * BigInt(MAX_TASKS)],
  ];
  const kbase = mem.kernelText & ~(kernel.page - 1n);
  for (const [name, base, size] of kernelRegions) {
    if (base < KSEG2 || base < kbase || base + size > kbase + kernel.page) {
      throw new Error(`mips memory map: ${name} at ${hex(base)} is not in the kseg2 16 MiB page at ${hex(kbase)} the kernel's wired TLB entry maps`);
    }
  }
  if (kbase & (2n * kernel.page - 1n)) throw new Error(`mips memory map: the kernel page ${hex(kbase)} is not the even page of a 32 MiB pair`);
  const user = pageFor(mem.userSize);
  if (mem.user & (2n * user.page - 1n) || mem.user + mem.userSize > 0x80000000n) {
    throw new Error(`mips memory map: the user region ${hex(mem.user)} must lie in useg and start a ${hex(2n * user.page)}-aligned TLB page pair`);
  }
  const entries: TlbEntry[] = [
    { index: 0, entryHi: kbase, entryLo0: entryLo(kbase, true), entryLo1: entryLo(kbase + kernel.page, false), pageMask: kernel.pageMask },
    { index: 1, entryHi: mem.user, entryLo0: entryLo(mem.user, true), entryLo1: entryLo(mem.user + user.page, false), pageMask: user.pageMask },
  ];
  for (let i = entries.length; i < NTLB; i++) entries.push({ index: i, entryHi: KSEG0 + (BigInt(i) << 13n), entryLo0: 0n, entryLo1: 0n, pageMask: 0n });
  return entries;
}

/** What the return-to-user check needs of a booted machine. */
const booted = new WeakMap<CpuMachine, { kernelsp: bigint }>();

/** The coprocessor a Coprocessor Unusable fault names (QEMU keeps it in error_code). */
function copNumber(m: CpuMachine): number {
  return m.uc.saveContext().getUint32(calibrate().errorCode, true) & 3;
}

export const cpu: CpuModel = {
  name: 'MIPS32',
  returnToUser: {
    patterns: [words([INSN.eret])],
    check(m, addr, size, stackTop) {
      if (size !== 4 || Number(m.readUint(addr, 4)) !== INSN.eret) return null;
      const s = m.reg('status');
      // eret (ERL clear) clears EXL and jumps to EPC: user mode when Status.KSU says so
      if (s & ST0.ERL || !(s & ST0.EXL) || (s & ST0.KSU) !== ST0.KU_USER) return null;
      const b = booted.get(m);
      if (!b) throw new Error('mips: eret before the CPU model booted');
      // sp is the user's by now; the next exception from user mode takes kernelsp
      return { pc: m.reg('epc'), sp: m.readUint(b.kernelsp, 4), expectedSp: stackTop };
    },
  },
  unicorn: {
    arch: UC_ARCH_MIPS,
    mode: UC_MODE_MIPS32 | UC_MODE_BIG_ENDIAN,
    registers: mipsRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  /** hflags KSU: 0 kernel, 1 supervisor, 2 user. */
  userPrivilege: 2,
  nop: words([INSN.nop]),
  // break ends a translation block where it stands (a BUG() if it ever runs)
  stubFill: words([INSN.breakInsn]),

  privilege(m) {
    return m.uc.saveContext().getUint32(calibrate().hflags, true) & HF_KSU;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 2) throw new RangeError(`MIPS privilege must be 0 (kernel) or 2 (user), got ${level}`);
    const s = m.reg('status') & ~(ST0.KSU | ST0.EXL | ST0.ERL);
    m.setReg('status', level === 2 ? s | ST0.KU_USER : s);
    m.leaveBlock();
  },

  // interrupts can be taken when IE is set and neither EXL nor ERL masks them
  irqsEnabled(m) {
    const s = m.reg('status');
    return (s & ST0.IE) !== 0n && (s & (ST0.EXL | ST0.ERL)) === 0n;
  },

  // local_irq_enable()/disable(): ei/di, Status.IE
  setIrqsEnabled(m, on) {
    const s = m.reg('status');
    m.setReg('status', on ? s | ST0.IE : s & ~ST0.IE);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    calibrate();
    const sym = (n: string) => {
      const v = k.symbols.get(n);
      if (v === undefined) throw new Error(`mips cpu model: entry.S defines no "${n}"`);
      return v;
    };
    const vec = sym('except_vec3_generic');
    const vecEnd = sym('except_vec3_generic_end');
    if (vecEnd - vec > 0x80n) throw new Error('mips cpu model: except_vec3_generic is longer than the 128 bytes of a vector slot');
    const kernelsp = sym('kernelsp');
    if (typeof m.lastInstruction !== 'function') throw new Error('mips cpu model: the machine has no lastInstruction(): the faulting instruction of an exception cannot be found');

    // Physical page 0 is EBase (kseg0 0x80000000): trap_init copies the general exception
    // handler to EBase + 0x180; with no page tables to walk, the TLB refill vector at
    // EBase + 0x000 takes the same path (Cause.ExcCode TLBL/TLBS).
    m.map(0n, 0x1000);
    const vector = m.read(vec, Number(vecEnd - vec));
    m.write(EBASE + VEC_GENERAL, vector);
    m.write(EBASE + VEC_REFILL, vector);

    // Reset state: kernel mode with ERL and BEV set. The UserLocal register
    // (cpu_has_userlocal) with user access to it (configure_hwrena), then the TLB.
    m.setReg('config3', m.reg('config3') | CONFIG3_ULRI);
    runSnippet(m, 0, INSN.mtc0HwrenaA0, { a0: HWRENA_ULR });
    for (const e of wiredTlb(k)) {
      runSnippet(m, 1, INSN.tlbwi, { a0: BigInt(e.index), a1: e.entryHi, a2: e.entryLo0, a3: e.entryLo1, t0: e.pageMask, t1: 2n });
    }
        // What start_kernel leaves for rest_init: kernel mode, CU0 ("on the kernel stack"),
    // ERL/BEV/EXL clear, interrupts on.
    // What start_kernel leaves for rest_init: kernel mode, CU0 ("on the kernel stack"),
    // ERL/BEV/EXL clear, the CPU timer line unmasked (IM7), interrupts on.
    m.setReg('status', ST0.CU0 | ST0.IM7 | ST0.IE);
    booted.set(m, { kernelsp });
    // head.S kernel_entry: $28 = init_thread_info and set_saved_sp for the boot CPU's idle
    // task (the core's task 0: the first task_struct, the first kernel stack)
    m.setReg('gp', taskStructsBase(k.desc));
    m.writeUint(kernelsp, 4, k.desc.memory.stacks + THREAD_SIZE);

    m.hookInterrupt((intno) => {
      const status = m.reg('status');
      const exc = EXC_CODE[intno];
      const what = EXCP_NAME[intno] ?? `exception ${intno}`;
      const fromUser = (status & (ST0.EXL | ST0.ERL)) === 0n && (status & ST0.KSU) === ST0.KU_USER;
      const errc = m.uc.saveContext().getUint32(calibrate().errorCode, true);
      const fetch = (intno === EXCP.AdEL || intno === EXCP.TLBL) && (errc & EXCP_INST_NOTAVAIL) !== 0;
      const tlb = intno === EXCP.TLBL || intno === EXCP.TLBS;
      // Unicorn's pc is right for syscall only (the instruction + 4, also in a delay slot);
      // a fetch that faulted is BadVAddr; anything else is the instruction that started last
      const last = m.lastInstruction()?.addr;
      const insn = intno === EXCP.SYSCALL ? m.reg('pc') - 4n : fetch ? m.reg('badvaddr') : last;
      if (exc === undefined || insn === undefined) k.bug('cpu', `mips: ${what} has no exception entry in this model`);
      // From kernel mode only an address fault can be expected (a user access with an
      // __ex_table fixup, which do_page_fault/do_ade look up); anything else is an oops.
      if (!fromUser && !(tlb || intno === EXCP.AdEL || intno === EXCP.AdES)) {
        const bug = intno === EXCP.BREAK ? ' (break: BUG(), or a jump into the C stub page that no stub caught)' : '';
        k.bug('cpu', `mips: ${what} in kernel mode at ${k.describePc(insn)}${bug}: an oops`);
      }
      takeException(m, exc, insn, { ce: intno === EXCP.CpU ? copNumber(m) : 0, refill: tlb && (errc & EXCP_TLB_NOMATCH) !== 0 });
    });
  },

  irq: {
    // Status.IE with neither EXL nor ERL, the timer line not masked, and not a branch
    // delay slot (Linux never sees an interrupt there: EPC could not say where to resume)
    canTake(m) {
      const s = m.reg('status');
      if (!(s & ST0.IE) || s & (ST0.EXL | ST0.ERL) || !(s & ST0.IM7)) return false;
      const last = m.lastInstruction();
      if (!last || last.addr + 4n !== m.reg('pc')) return true;
      return !hasDelaySlot(Number(m.readUint(last.addr, 4)));
    },
    // The r4k timer's line (IP7) rises; ExcCode Int, EPC = the instruction not yet run,
    // general vector (Cause.IV clear)
    take(m, k) {
      void k;
      takeException(m, EXCCODE.INT, m.reg('pc'), { bd: false, ip: TIMER_IP });
    },
  },
};

/** The timer's interrupt line: IP7 (Cause bit 15, Status.IM7). */
export const TIMER_IP = 7;

/** Branches and jumps (MIPS32r2): the next instruction is their delay slot. */
export function hasDelaySlot(insn: number): boolean {
  const op = insn >>> 26;
  if (op === 0x00) return (insn & 0x3f) === 0x08 || (insn & 0x3f) === 0x09; // jr, jalr
  if (op === 0x01) return [0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13].includes((insn >>> 16) & 0x1f); // bltz.. bgezall
  if (op === 0x11 || op === 0x12) return ((insn >>> 21) & 0x1f) === 0x08; // bc1*, bc2*
  return [0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x16, 0x17].includes(op); // j, jal, beq.. bgtzl
}
