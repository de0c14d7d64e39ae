// The s390x CPU (z/Architecture, 64-bit, big-endian) on Unicorn 2.0.1 (QEMU 5.0's
// s390x, model "qemu"): its register table, the problem/supervisor state bit of the PSW,
// and what Unicorn does not do by itself: the PSW swap of an interruption. Unicorn
// reports an `svc` and a program check through UC_HOOK_INTR (2 and 3) with the PSW still
// the interrupted one (pc AT the instruction) and the lowcore untouched, and keeps the
// interruption code and its length only in the CPU state (the uc_context); the hook
// stores what the CPU stores (the old PSW and the code in the lowcore) and loads the new
// PSW, as the Principles of Operation says an interruption does. Everything else is the
// emulator's own: lpswe back to problem state, the privileged-operation check on every
// privileged instruction, the CC and the addressing mode in the PSW.
//
// Privilege is PSW bit 15 (problem state). QEMU derives its translation flags from
// psw.mask at every block lookup, so a PSWM register write takes effect from the next
// block: no calibrated patching is needed for the level itself. The calibration (once per
// process, a scratch engine) finds the interruption-code words, the access registers and
// the control registers in the uc_context, and checks that a privileged instruction in
// problem state faults.
//
// Address spaces as Linux sets them up: DAT on in both states, the kernel in the home
// space (CR13), user mode in the primary space (CR1, and CR7 for the secondary space
// copy_to_user's mvcos writes through). The user ASCE is a segment table mapping only the
// user region, page by page, so user mode cannot touch the kernel (a translation
// exception, SIGSEGV); the kernel's is a real-space designation (identity), where Linux
// has its own page tables. QEMU's DAT is the emulator's own.
//
// External interrupts (the timer, C12) are taken only at the first instruction of a
// translation block, as QEMU takes them: a block hook tells the model where blocks start.
//
// Unicorn 2.0.1 quirks that shape this file (measured: /work/notes/s390x.md):
// - it starts with PSWM 0, which is 24-bit addressing: boot sets EA|BA first;
// - a PSW with the wait bit does not wait (execution goes on at its address);
// - `sck` kills the host process and the TOD clock reads 0: never used;
// - the access-register ids (UC_S390X_REG_A0..A15) read and write the GPRs: the
//   access registers are reached through the context instead;
// - in a code hook in the middle of a translation block the pc reads the block start and
//   the CC is stale: nothing here reads the pc or writes the PSW mid-block (the stubs and
//   the interrupt hook run at block boundaries);
// - a block entered through a chained jump (goto_tb) still has the previous block's PSW
//   address: the block hook writes the right one back;
// - a privileged operation on the first halfword of a mapped region (not at 0) is reported
//   as an addressing exception (DAT off) or a page-translation exception (DAT on) of length
//   2, apparently from a look at the halfword before it (test/s390x.test.ts pins it).

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';
import { ARCH_DATA_OFFSET } from '@archkit/generic-core/kernel/layout';

// ------------------------------------------------------------------ Unicorn (unicorn.h, s390x.h)

const UC_ARCH_S390X = 9;
const UC_MODE_BIG_ENDIAN = 1 << 30;
const UC_S390X_REG_R0 = 1;
const UC_S390X_REG_F0 = 17;
const UC_S390X_REG_PC = 65;
const UC_S390X_REG_PSWM = 66;

/** QEMU's exception numbers as UC_HOOK_INTR reports them (target/s390x/cpu.h). */
export const EXCP = { EXT: 1, SVC: 2, PGM: 3, RESTART: 4, STOP: 5, IO: 7, MCHK: 8 } as const;

// ------------------------------------------------------------------ architecture facts

/** PSW mask bits (arch/s390/include/uapi/asm/ptrace.h, 64-bit). */
export const PSW = {
  PER: 0x4000000000000000n,
  DAT: 0x0400000000000000n,
  IO: 0x0200000000000000n,
  EXT: 0x0100000000000000n,
  KEY: 0x00f0000000000000n,
  MCHECK: 0x0004000000000000n,
  WAIT: 0x0002000000000000n,
  PSTATE: 0x0001000000000000n,
  ASC: 0x0000c00000000000n,
  ASC_PRIMARY: 0x0000000000000000n,
  ASC_HOME: 0x0000c00000000000n,
  CC: 0x0000300000000000n,
  PM: 0x00000f0000000000n,
  RI: 0x0000008000000000n,
  EA: 0x0000000100000000n,
  BA: 0x0000000080000000n,
  USER: 0x0000ff0180000000n,
} as const;

/** PSW_KERNEL_BITS and PSW_USER_BITS (asm/ptrace.h): key 0 (PSW_DEFAULT_KEY), DAT on, home / primary space. */
export const PSW_KERNEL_BITS = PSW.ASC_HOME | PSW.EA | PSW.BA | PSW.DAT;
export const PSW_USER_BITS = PSW.DAT | PSW.IO | PSW.EXT | PSW.MCHECK | PSW.PSTATE | PSW.ASC_PRIMARY;
/** arch_local_irq_enable/disable (asm/irqflags.h): stosm/stnsm of the I/O and external masks. */
export const ARCH_IRQ_ENABLED = PSW.IO | PSW.EXT;

/** The lowcore (asm/lowcore.h), at absolute 0: prefix 0, two pages. */
export const LC = {
  EXT_PARAMS: 0x080n,
  EXT_CPU_ADDR: 0x084n,
  EXT_INT_CODE: 0x086n,
  SVC_ILC: 0x088n,
  SVC_CODE: 0x08an,
  PGM_ILC: 0x08cn,
  PGM_CODE: 0x08en,
  TRANS_EXC_CODE: 0x0a8n,
  PGM_LAST_BREAK: 0x110n,
  EXT_OLD_PSW: 0x130n,
  SVC_OLD_PSW: 0x140n,
  PGM_OLD_PSW: 0x150n,
  EXT_NEW_PSW: 0x1b0n,
  SVC_NEW_PSW: 0x1c0n,
  PGM_NEW_PSW: 0x1d0n,
  RETURN_PSW: 0x290n,
  CURRENT: 0x340n,
  KERNEL_STACK: 0x348n,
} as const;
export const LOWCORE_SIZE = 0x2000;
/** struct stack_frame (asm/stacktrace.h): the 160 bytes below pt_regs (STACK_FRAME_OVERHEAD). */
export const STACK_FRAME_OVERHEAD = 160n;

/** Program-interruption codes (Principles of Operation, chapter 6; arch/s390/kernel/traps.c). */
export const PGM = {
  OPERATION: 0x01, PRIVILEGED_OP: 0x02, EXECUTE: 0x03, PROTECTION: 0x04, ADDRESSING: 0x05, SPECIFICATION: 0x06, DATA: 0x07,
  SEGMENT_TRANS: 0x10, PAGE_TRANS: 0x11, ASCE_TYPE: 0x38, REGION_FIRST_TRANS: 0x39, REGION_SECOND_TRANS: 0x3a, REGION_THIRD_TRANS: 0x3b,
} as const;

/** External-interruption code of the clock comparator (asm/irq.h EXT_IRQ_CLK_COMP): the tick. */
export const EXT_IRQ_CLK_COMP = 0x1004;

/** Control register 0 (asm/ctlreg.h, boot/head.S): AFP registers, secondary-space control, clock-comparator subclass. */
export const CR0 = { AFP: 1n << 18n, SECONDARY_SPACE: 1n << 26n, CLOCK_COMPARATOR_SUBMASK: 1n << 11n } as const;
/** ASCE and table-entry bits (asm/pgtable.h): real-space control, invalid segment and page entries. */
export const ASCE_REAL_SPACE = 0x20n;
export const SEGMENT_ENTRY_INVALID = 0x20n;
export const PAGE_INVALID = 0x400n;
const SEGMENT_SIZE = 1n << 20n;
const PAGE_SIZE = 1n << 12n;

/**
 * Whether a program interruption leaves the old PSW after the instruction (suppression or
 * termination) rather than at it (nullification): what QEMU's do_program_interrupt, which
 * Unicorn does not run, does with the instruction length.
 */
export function pgmAdvances(code: number): boolean {
  const c = code & 0x7f;
  return (c >= 0x01 && c <= 0x0f) || (c >= 0x12 && c <= 0x15) || c === 0x1c || c === 0x1d || c === 0x40;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ calibration

/** Byte offsets in the uc_context (header included) of CPUS390XState words not exposed as registers. */
export interface Offsets {
  /** env->int_svc_code, int_svc_ilen (u32 each) */
  svcCode: number;
  svcIlen: number;
  /** env->int_pgm_code, int_pgm_ilen */
  pgmCode: number;
  pgmIlen: number;
  /** env->aregs[16] (u32 each) */
  aregs: number;
  /** env->cregs[16] (u64 each) */
  cregs: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

const u32 = (a: Uint8Array, o: number) => new DataView(a.buffer, a.byteOffset, a.byteLength).getUint32(o, true);

/** Instructions of the calibration run, big-endian halfwords. */
const CAL = {
  svc20: [0x0a14],
  svc21: [0x0a15],
  ssm: [0x8000, 0x0000], // ssm 0 (privileged)
  invalid: [0x0000], // no such opcode: operation exception
  sar: [0xb24e, 0x0002, 0xb24e, 0x0013, 0xb24e, 0x00f4], // sar %a0,%r2; sar %a1,%r3; sar %a15,%r4
  lctlg: [0xeb0f, 0x2000, 0x002f], // lctlg %c0,%c15,0(%r2)
};

function putHalves(uc: UcEngine, addr: bigint, halves: number[]): void {
  const b = Buffer.alloc(halves.length * 2);
  halves.forEach((h, i) => b.writeUInt16BE(h, i * 2));
  uc.memWrite(addr, b);
}

/**
 * One scratch engine: `svc 20` and `svc 21` locate int_svc_code/ilen; `ssm` in problem
 * state must be a privileged-operation exception (code 2, length 4) reported with the pc
 * at the instruction, and an invalid opcode an operation exception (1, 2), which locate
 * int_pgm_code/ilen; `sar` and `lctlg` of distinctive values locate aregs and cregs.
 * Any surprise is a CalibrationError: the kit refuses to run with a problem state that is
 * not enforced.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_S390X, UC_MODE_BIG_ENDIAN);
  const fail = (detail: string) => new CalibrationError('s390x', detail, CALIBRATED_WITH, uc.version);
  const unique = (what: string, c: number[]): number => {
    if (c.length !== 1) throw fail(`${what} not found in the uc_context (${c.length} candidates)`);
    return c[0]!;
  };
  const candidates = (a: Uint8Array, pred: (o: number) => boolean) => {
    const out: number[] = [];
    for (let o = 16; o + 4 <= a.length; o += 4) if (pred(o)) out.push(o);
    return out;
  };
  try {
    uc.memMap(0n, 0x10000, 7);
    putHalves(uc, 0x1000n, CAL.svc20);
    putHalves(uc, 0x1010n, CAL.svc21);
    putHalves(uc, 0x1020n, CAL.ssm);
    putHalves(uc, 0x1030n, CAL.invalid);
    putHalves(uc, 0x1040n, CAL.sar);
    putHalves(uc, 0x1050n, CAL.lctlg);
    let seen: { intno: number; pc: bigint } | null = null;
    uc.onInterrupt((intno) => {
      seen = { intno, pc: uc.regRead(UC_S390X_REG_PC) };
      uc.stop();
    });
    const step = (at: bigint, len: number, mask: bigint, what: string, intno: number): Uint8Array => {
      uc.regWrite(UC_S390X_REG_PSWM, mask);
      seen = null;
      uc.start(at, at + BigInt(len), 1_000_000n, 0);
      const s = seen as { intno: number; pc: bigint } | null;
      if (!s || s.intno !== intno || s.pc !== at) {
        throw fail(`${what}: expected interruption ${intno} with the pc at ${hex(at)}, got ${s ? `${s.intno} at ${hex(s.pc)}` : 'none'}`);
      }
      return uc.snapshot();
    };
    const sup = PSW.EA | PSW.BA;
    const A = step(0x1000n, 2, sup, 'svc 20', EXCP.SVC);
    const B = step(0x1010n, 2, sup, 'svc 21', EXCP.SVC);
    const svcCode = unique('int_svc_code', candidates(A, (o) => u32(A, o) === 20 && u32(B, o) === 21));
    const P = step(0x1020n, 4, sup | PSW.PSTATE, 'ssm in problem state', EXCP.PGM);
    const Q = step(0x1030n, 2, sup | PSW.PSTATE, 'an invalid opcode', EXCP.PGM);
    const pgmCode = unique('int_pgm_code', candidates(P, (o) => u32(P, o) === PGM.PRIVILEGED_OP && u32(Q, o) === PGM.OPERATION));
    const found = { svcCode, svcIlen: svcCode + 4, pgmCode, pgmIlen: pgmCode + 4, aregs: 0, cregs: 0 };
    if (u32(A, found.svcIlen) !== 2 || u32(P, found.pgmIlen) !== 4 || u32(Q, found.pgmIlen) !== 2) {
      throw fail(`the interruption lengths are not next to the codes (svc ${u32(A, found.svcIlen)}, pgm ${u32(P, found.pgmIlen)}/${u32(Q, found.pgmIlen)})`);
    }
    // the access registers: sar natively, in supervisor state
    uc.regWrite(UC_S390X_REG_R0 + 2, 0x5a0a0a00n);
    uc.regWrite(UC_S390X_REG_R0 + 3, 0x5a1a1a01n);
    uc.regWrite(UC_S390X_REG_R0 + 4, 0x5afafa0fn);
    uc.regWrite(UC_S390X_REG_PSWM, sup);
    const err = uc.start(0x1040n, 0x104cn, 1_000_000n, 0);
    if (err) throw fail(`sar in supervisor state failed (uc_err ${err})`);
    const S = uc.snapshot();
    found.aregs = unique('aregs', candidates(S, (o) => u32(S, o) === 0x5a0a0a00 && o + 64 <= S.length && u32(S, o + 4) === 0x5a1a1a01 && u32(S, o + 60) === 0x5afafa0f));
    // the control registers: lctlg of sixteen distinctive doublewords (none turns anything on
    // that matters before the run stops after the instruction)
    const pattern = Buffer.alloc(128);
    for (let i = 0; i < 16; i++) pattern.writeBigUInt64BE(0x5c00_0000_0000_0000n + BigInt(i) * 0x0101_0000n, i * 8);
    uc.memWrite(0x3000n, pattern);
    uc.regWrite(UC_S390X_REG_R0 + 2, 0x3000n);
    uc.regWrite(UC_S390X_REG_PSWM, sup);
    const err2 = uc.start(0x1050n, 0x1056n, 1_000_000n, 0);
    if (err2) throw fail(`lctlg in supervisor state failed (uc_err ${err2})`);
    const C = uc.snapshot();
    const dc = new DataView(C.buffer, C.byteOffset, C.byteLength);
    found.cregs = unique(
      'cregs',
      candidates(C, (o) => o % 8 === 0 && o + 128 <= C.length && Array.from({ length: 16 }, (_, i) => dc.getBigUint64(o + 8 * i, true) === pattern.readBigUInt64BE(i * 8)).every(Boolean)),
    );
    offsets = found;
    return offsets;
  } finally {
    uc.close();
  }
}

/** The calibrated offsets (tests). */
export function contextOffsets(): Offsets {
  return calibrate();
}

// ------------------------------------------------------------------ the interruption

/** Load the new PSW of an interruption class from the lowcore. */
function loadNewPsw(m: CpuMachine, at: bigint): bigint {
  const mask = m.readUint(at, 8);
  const addr = m.readUint(at + 8n, 8);
  m.uc.regWrite(UC_S390X_REG_PSWM, mask);
  m.uc.regWrite(UC_S390X_REG_PC, addr);
  return addr;
}

/**
 * The svc interruption (PoP "Supervisor-Call Interruption"): the interruption code and
 * its length into svc_int_code, the current PSW (its address past the svc) into the svc
 * old PSW, then the svc new PSW.
 */
export function svcInterruption(m: CpuMachine, code: number, ilen: number): void {
  const mask = m.uc.regRead(UC_S390X_REG_PSWM);
  const pc = m.uc.regRead(UC_S390X_REG_PC);
  m.writeUint(LC.SVC_ILC, 2, BigInt(ilen));
  m.writeUint(LC.SVC_CODE, 2, BigInt(code));
  m.writeUint(LC.SVC_OLD_PSW, 8, mask);
  m.writeUint(LC.SVC_OLD_PSW + 8n, 8, pc + BigInt(ilen));
  loadNewPsw(m, LC.SVC_NEW_PSW);
}

/**
 * A program interruption: pgm_ilc/pgm_code, the program old PSW (past the instruction
 * unless nullified), the program new PSW. The translation-exception identification
 * (trans_exc_code) of a DAT fault is already in the lowcore: QEMU stores it when the
 * translation fails, before the interruption.
 */
export function programInterruption(m: CpuMachine, code: number, ilen: number): void {
  const mask = m.uc.regRead(UC_S390X_REG_PSWM);
  const pc = m.uc.regRead(UC_S390X_REG_PC);
  m.writeUint(LC.PGM_ILC, 2, BigInt(ilen));
  m.writeUint(LC.PGM_CODE, 2, BigInt(code));
  m.writeUint(LC.PGM_OLD_PSW, 8, mask);
  m.writeUint(LC.PGM_OLD_PSW + 8n, 8, pgmAdvances(code) ? pc + BigInt(ilen) : pc);
  loadNewPsw(m, LC.PGM_NEW_PSW);
}

/**
 * An external interruption (PoP "External Interruption"), taken before the instruction at
 * the pc: the CPU address and the interruption code, the external old PSW (the address of
 * that instruction, not yet executed), then the external new PSW. Only at a block start
 * (see canTake), where the pc and the CC Unicorn reports are current.
 */
export function externalInterruption(m: CpuMachine, code: number): void {
  const mask = m.uc.regRead(UC_S390X_REG_PSWM);
  const pc = m.uc.regRead(UC_S390X_REG_PC);
  m.writeUint(LC.EXT_PARAMS, 4, 0n);
  m.writeUint(LC.EXT_CPU_ADDR, 2, 0n);
  m.writeUint(LC.EXT_INT_CODE, 2, BigInt(code));
  m.writeUint(LC.EXT_OLD_PSW, 8, mask);
  m.writeUint(LC.EXT_OLD_PSW + 8n, 8, pc);
  loadNewPsw(m, LC.EXT_NEW_PSW);
}

// ------------------------------------------------------------------ registers

/** An access register, a u32 of the context (any state). */
function accessRegister(i: number): RegAccess {
  return {
    read: (uc) => BigInt(uc.saveContext().getUint32(calibrate().aregs + 4 * i, true)),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setUint32(calibrate().aregs + 4 * i, Number(BigInt.asUintN(32, v)), true);
      uc.restoreContext();
    },
  };
}

/** The thread pointer: a0 (high word) : a1 (low word), what glibc reads with ear and CLONE_SETTLS sets. */
const threadPointer: RegAccess = {
  read: (uc) => {
    const dv = uc.saveContext();
    const o = calibrate().aregs;
    return (BigInt(dv.getUint32(o, true)) << 32n) | BigInt(dv.getUint32(o + 4, true));
  },
  write: (uc, v) => {
    const dv = uc.saveContext();
    const o = calibrate().aregs;
    dv.setUint32(o, Number(BigInt.asUintN(64, v) >> 32n), true);
    dv.setUint32(o + 4, Number(v & 0xffffffffn), true);
    uc.restoreContext();
  },
};

/** A control register, a u64 of the context (there is no register id for them). */
function controlRegister(i: number): RegAccess {
  return {
    read: (uc) => uc.saveContext().getBigUint64(calibrate().cregs + 8 * i, true),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setBigUint64(calibrate().cregs + 8 * i, BigInt.asUintN(64, v), true);
      uc.restoreContext();
    },
  };
}

function s390xRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i < 16; i++) {
    t[`r${i}`] = UC_S390X_REG_R0 + i;
    t[`f${i}`] = UC_S390X_REG_F0 + i;
    t[`a${i}`] = accessRegister(i);
    t[`cr${i}`] = controlRegister(i);
  }
  t['pc'] = UC_S390X_REG_PC;
  t['pswm'] = UC_S390X_REG_PSWM;
  t['a0a1'] = threadPointer;
  return t;
}

// ------------------------------------------------------------------ boot-time state

/**
 * The user address space: a segment-table ASCE (512 entries: the low 512 MiB) whose page
 * tables map the user region page by page, identity (Unicorn checks a virtual address
 * against its own memory map, so only VA == PA can work); every other segment and page is
 * invalid. `tables` is 4 KiB-aligned room in kernel data: the segment table, then one 2 KiB
 * page table per segment the region touches. Returns the ASCE and the tables' bytes.
 */
export function userAddressSpace(user: bigint, size: bigint, tables: bigint): { asce: bigint; bytes: Uint8Array } {
  if (tables % 0x1000n) throw new Error(`s390x: the segment table at 0x${tables.toString(16)} is not 4 KiB aligned`);
  if (user % PAGE_SIZE || size % PAGE_SIZE) throw new Error('s390x: the user region must be whole pages');
  if (user + size > 512n * SEGMENT_SIZE) throw new Error('s390x: the user region ends beyond the 512 MiB one segment table maps');
  const first = user / SEGMENT_SIZE;
  const last = (user + size - 1n) / SEGMENT_SIZE;
  const bytes = new Uint8Array(0x1000 + Number(last - first + 1n) * 0x800);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < 512; i++) dv.setBigUint64(8 * i, SEGMENT_ENTRY_INVALID);
  for (let seg = first; seg <= last; seg++) {
    const pt = 0x1000 + Number(seg - first) * 0x800;
    dv.setBigUint64(8 * Number(seg), tables + BigInt(pt));
    for (let p = 0n; p < 256n; p++) {
      const va = seg * SEGMENT_SIZE + p * PAGE_SIZE;
      dv.setBigUint64(pt + 8 * Number(p), va >= user && va < user + size ? va : PAGE_INVALID);
    }
  }
  return { asce: tables, bytes };
}

/** Per machine: where the current translation block started, in run instruction counts; PSW addresses written back. */
const blockStart = new WeakMap<CpuMachine, { count: number; fixes: number }>();

/** How many block starts came with a stale PSW address the block hook wrote back (tests). */
export function pswAddressFixes(m: CpuMachine): number {
  return blockStart.get(m)?.fixes ?? 0;
}

// ------------------------------------------------------------------ the model

/** `j .` (brc 15,0): a stub page of these ends a block at every stub and never falls through. */
const J_SELF = Uint8Array.from([0xa7, 0xf4, 0x00, 0x00]);
/** lpswe D(B): opcode 0xb2b2, S format. */
const LPSWE = 0xb2b2;

export const cpu: CpuModel = {
  name: 's390x',
  returnToUser: {
    patterns: [Uint8Array.from([0xb2, 0xb2])],
    check(m, addr, size, stackTop, ptRegsSize) {
      if (size !== 4) return null;
      const insn = m.read(addr, 4);
      if (((insn[0]! << 8) | insn[1]!) !== LPSWE) return null;
      const base = insn[2]! >> 4;
      const ea = (base ? m.reg(`r${base}`) : 0n) + BigInt(((insn[2]! & 0xf) << 8) | insn[3]!);
      const mask = m.readUint(ea, 8);
      if (!(mask & PSW.PSTATE)) return null;
      // The next interruption from problem state takes the lowcore's kernel_stack, the
      // STACK_INIT_OFFSET frame below the task's pt_regs.
      const ks = m.readUint(LC.KERNEL_STACK, 8);
      const r = { pc: m.readUint(ea + 8n, 8), sp: ks + STACK_FRAME_OVERHEAD + BigInt(ptRegsSize), expectedSp: stackTop };
      // user mode must get its own address space back: DAT on, the primary space (the home
      // space is the kernel's)
      if (!(mask & PSW.DAT) || (mask & PSW.ASC) !== PSW.ASC_PRIMARY) {
        return { ...r, violation: { contract: 'C12', message: `the PSW lpswe loads for user mode (0x${mask.toString(16)}) is not in the primary space with DAT on: user mode would run in the kernel's address space` } };
      }
      return r;
    },
  },
  irq: {
    // The CPU takes an external interruption when the PSW's external mask and the
    // subclass mask in CR0 allow it; this model, as QEMU, only between translation blocks.
    canTake(m) {
      const b = blockStart.get(m);
      if (!b || b.count !== m.instructionCount()) return false;
      if (!(m.uc.regRead(UC_S390X_REG_PSWM) & PSW.EXT)) return false;
      return (m.reg('cr0') & CR0.CLOCK_COMPARATOR_SUBMASK) !== 0n;
    },
    take(m) {
      externalInterruption(m, EXT_IRQ_CLK_COMP);
    },
  },
  unicorn: {
    arch: UC_ARCH_S390X,
    mode: UC_MODE_BIG_ENDIAN,
    registers: s390xRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  /** PSW bit 15: 1 = problem state */
  userPrivilege: 1,
  nop: Uint8Array.from([0x07, 0x07]), // nopr %r7 (bcr 0,7)
  stubFill: J_SELF,

  privilege(m) {
    return m.uc.regRead(UC_S390X_REG_PSWM) & PSW.PSTATE ? 1 : 0;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`s390x privilege is 0 (supervisor state) or 1 (problem state), got ${level}`);
    const mask = m.uc.regRead(UC_S390X_REG_PSWM);
    // QEMU takes its translation flags from psw.mask at the next block lookup
    m.uc.regWrite(UC_S390X_REG_PSWM, level ? mask | PSW.PSTATE : mask & ~PSW.PSTATE);
  },

  irqsEnabled(m) {
    return (m.uc.regRead(UC_S390X_REG_PSWM) & ARCH_IRQ_ENABLED) !== 0n;
  },

  setIrqsEnabled(m, on) {
    const mask = m.uc.regRead(UC_S390X_REG_PSWM);
    m.uc.regWrite(UC_S390X_REG_PSWM, on ? mask | ARCH_IRQ_ENABLED : mask & ~ARCH_IRQ_ENABLED);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const sym = (name: string) => {
      const v = k.symbols.get(name);
      if (v === undefined) throw new Error(`s390x cpu model: entry.S defines no "${name}" (a new PSW points there)`);
      return v;
    };
    // What the IPL and setup.c leave: the lowcore at absolute 0 with the new PSWs
    // (supervisor, 64-bit, home space, interrupts off, machine checks on: trap_init), and
    // the CPU in supervisor state with 64-bit addressing (Unicorn starts in 24-bit).
    m.map(0n, LOWCORE_SIZE);
    const newPsw = (at: bigint, handler: string) => {
      m.writeUint(at, 8, PSW_KERNEL_BITS | PSW.MCHECK);
      m.writeUint(at + 8n, 8, sym(handler));
    };
    newPsw(LC.SVC_NEW_PSW, 'system_call');
    newPsw(LC.PGM_NEW_PSW, 'pgm_check_handler');
    newPsw(LC.EXT_NEW_PSW, 'ext_int_handler');
    // head.S/setup_lowcore/time_init: CR0 with AFP, the secondary-space control (mvcos)
    // and the clock-comparator subclass; the user ASCE in CR1 and CR7, the kernel's in CR13
    const mem = k.desc.memory;
    const space = userAddressSpace(mem.user, mem.userSize, mem.kernelData + ARCH_DATA_OFFSET);
    m.write(mem.kernelData + ARCH_DATA_OFFSET, space.bytes);
    const off = calibrate();
    const dv = m.uc.saveContext();
    dv.setBigUint64(off.cregs, CR0.AFP | CR0.SECONDARY_SPACE | CR0.CLOCK_COMPARATOR_SUBMASK, true);
    dv.setBigUint64(off.cregs + 8 * 1, space.asce, true);
    dv.setBigUint64(off.cregs + 8 * 7, space.asce, true);
    dv.setBigUint64(off.cregs + 8 * 13, ASCE_REAL_SPACE, true);
    m.uc.restoreContext();
    m.uc.regWrite(UC_S390X_REG_PSWM, PSW_KERNEL_BITS);

    // where translation blocks start: the only places this model takes an interrupt
    const b = { count: -1, fixes: 0 };
    blockStart.set(m, b);
    m.hookBlock(1n, 0n, (addr) => {
      b.count = m.instructionCount();
      // A block entered through a chained jump (goto_tb) starts with QEMU's PSW address
      // still the previous block's: write it, which makes Unicorn leave and enter this
      // block afresh (before its first instruction; the CC was saved before the jump).
      if (m.uc.regRead(UC_S390X_REG_PC) !== addr) {
        b.fixes++;
        m.uc.regWrite(UC_S390X_REG_PC, addr);
      }
    });

    m.hookInterrupt((intno) => {
      const off = calibrate();
      const mask = m.uc.regRead(UC_S390X_REG_PSWM);
      const pc = m.uc.regRead(UC_S390X_REG_PC);
      const dv = m.uc.saveContext();
      const state = mask & PSW.PSTATE ? 'problem' : 'supervisor';
      if (intno === EXCP.SVC) {
        const code = dv.getUint32(off.svcCode, true);
        if (state !== 'problem') k.bug('cpu', `s390x: svc ${code} in supervisor state at ${hex(pc)}: the kernel makes no syscalls`);
        svcInterruption(m, code, dv.getUint32(off.svcIlen, true));
      } else if (intno === EXCP.PGM) {
        const code = dv.getUint32(off.pgmCode, true);
        if (state !== 'problem') k.bug('cpu', `s390x: program check ${hex(code)} in supervisor state at ${hex(pc)} (an oops)`);
        programInterruption(m, code, dv.getUint32(off.pgmIlen, true));
      } else {
        k.bug('cpu', `s390x: interruption ${intno} in ${state} state at ${hex(pc)} is not delivered by this CPU model`);
      }
    });
  },
};
