// The Motorola 68040 on Unicorn 2.0.1 (QEMU 5.0's m68k target): its register table, the
// user/supervisor split, the interrupt mask, and what Unicorn does not do by itself.
//
// Unicorn never runs QEMU's m68k exception processing (do_interrupt): every exception
// reaches UC_HOOK_INTR with nothing done, the pc still on the instruction, and `rte` is
// one of them (QEMU implements it as the pseudo-exception EXCP_RTE). So both directions of
// the privilege switch are this model's: the exception entry of the 68040 User's Manual
// (8.1-8.4: S set, T cleared, A7 banked to the ISP, a four-word format-0 frame, the vector
// through the VBR), and the rte that pops it (format word, then SR, which banks A7 back to
// the USP). Everything else is the emulator's: the privilege checks of `move to SR`,
// `movec`, `move usp`, `stop` and `rte` in user mode (a privilege violation), the banked
// stack pointers, and the supervisor bit every translated block is keyed on (QEMU reads
// env->sr at each block lookup: no cached level to patch).
//
// What the register API does not reach is read from the uc_context, at offsets found once
// per process by calibration: the lazily computed condition codes (cc_op and cc_x/n/z/v/c;
// reading SR gives only the system byte), the VBR and the stack-pointer bank slots.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { ARCH_DATA_OFFSET, STUBS_SIZE, THREAD_SIZE } from '@archkit/generic-core/kernel/layout';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, m68k.h)

const UC_ARCH_M68K = 7;
const UC_MODE_BIG_ENDIAN = 1 << 30;
/**
 * Unicorn 2.0.1 indexes QEMU's model table {m68000, m68020, m68030, m68040, m68060, m5206,
 * m5208, cfv4e, any} with the value given, which m68k.h names one off (its 3 is
 * "UC_CPU_M68K_M68030"): 3 is the 68040. Without a model Unicorn takes cfv4e, a ColdFire
 * whose A7 is not banked between user and supervisor mode.
 */
export const UC_CPU_M68040 = 3;
const REG = { A0: 1, A7: 8, D0: 9, SR: 17, PC: 18 } as const;

// ------------------------------------------------------------------ architecture facts

/** Status register (asm/traps.h PS_*, M68040 UM 1.3.2). */
export const SR = { T: 0xc000, S: 0x2000, M: 0x1000, IPL: 0x0700, CCR: 0x001f } as const;
/** asm/entry.h: what `andw #ALLOWINT,%sr` keeps (IPL 0: every interrupt level enabled). */
export const ALLOWINT = ~SR.IPL & 0xffff;

/** Exception vectors (asm/traps.h VEC_*). QEMU's exception numbers are the vectors. */
export const VEC = {
  BUSERR: 2, ADDRERR: 3, ILLEGAL: 4, ZERODIV: 5, CHK: 6, TRAP: 7, PRIV: 8, TRACE: 9, LINE10: 10, LINE11: 11,
  FORMAT: 14, SPUR: 24, INT7: 31, SYS: 32, TRAP15: 47, USER: 64,
} as const;
/** QEMU's pseudo-exceptions: `rte` and `halt`. */
const EXCP_RTE = 0x100;
const EXCP_HALT_INSN = 0x101;

/**
 * The exceptions a user-mode instruction raises on this CPU that the 68040 stacks as a
 * format-0 (four-word) frame, and where the frame's pc points: the next instruction for
 * `trap #n`, the instruction itself for the others. Zero divide, CHK, TRAPcc/TRAPV, trace
 * and address error take a format-2 frame on the 68040 and access faults a format-7 one;
 * their pt_regs would not end at the stack top, where the kit's task_pt_regs() is (m68k's
 * is thread.esp0), so they are not delivered.
 */
const FORMAT0: Record<number, 'next' | 'this'> = {
  [VEC.ILLEGAL]: 'this',
  [VEC.PRIV]: 'this',
  [VEC.LINE10]: 'this',
  [VEC.LINE11]: 'this',
};
for (let v = VEC.SYS; v <= VEC.TRAP15; v++) FORMAT0[v] = 'next';

/**
 * The timer's interrupt level: an autovectored level-6 interrupt (the Amiga CIA-B and the
 * Atari MFP timers, the virt machine's goldfish timer sit at level 6), vector VEC_SPUR + 6.
 */
export const TIMER_LEVEL = 6;

/** Bytes each stack frame format adds to the four words (M68040 UM 8.4; format 1 is the throwaway frame). */
const FRAME_EXTRA: Record<number, number> = { 0: 0, 2: 4, 3: 4, 7: 52 };

export const RTE = 0x4e73;
/** `illegal`: ends a translation block; the code hook of the C stub fires before it runs. */
export const ILLEGAL = 0x4afc;
export const NOP = 0x4e71;

const EXC_NAME: Record<number, string> = {
  [VEC.BUSERR]: 'access fault', [VEC.ADDRERR]: 'address error', [VEC.ILLEGAL]: 'illegal instruction', [VEC.ZERODIV]: 'zero divide',
  [VEC.CHK]: 'CHK', [VEC.TRAP]: 'TRAPcc/TRAPV', [VEC.PRIV]: 'privilege violation', [VEC.TRACE]: 'trace', [VEC.LINE10]: 'line A',
  [VEC.LINE11]: 'line F', [VEC.FORMAT]: 'format error', [EXCP_RTE]: 'rte', [EXCP_HALT_INSN]: 'halt',
};
const excName = (n: number) => EXC_NAME[n] ?? (n >= VEC.SYS && n <= VEC.TRAP15 ? `trap #${n - VEC.SYS}` : `exception ${n}`);
const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ calibration

/** Byte offsets in the uc_context (header included) of the CPUM68KState words used here. */
export interface Offsets {
  ccOp: number;
  ccX: number;
  ccN: number;
  ccZ: number;
  ccV: number;
  ccC: number;
  vbr: number;
  /** env->sp[M68K_USP], the user stack pointer while A7 is another bank */
  usp: number;
  /** env->sp[M68K_ISP], the interrupt stack pointer while A7 is the user's */
  isp: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

const u32 = (dv: DataView, o: number) => dv.getUint32(o, true);

/** QEMU's cc_op values (target/m68k/cpu.h CC_OP_*). */
const CC_OP = { DYNAMIC: 0, FLAGS: 1, ADDB: 2, SUBB: 5, CMPB: 8, LOGIC: 11 } as const;
const ext = (v: number, size: number) => (size === 0 ? (v << 24) >> 24 : size === 1 ? (v << 16) >> 16 : v | 0);

/**
 * The condition codes from the lazy flags state, as QEMU's COMPUTE_CCR does (valid at a
 * block boundary and in an exception hook, where cc_op has been written back).
 */
export function ccrFromContext(dv: DataView, off: Offsets, ccOp?: number): number {
  const op = ccOp ?? u32(dv, off.ccOp);
  let x = u32(dv, off.ccX) | 0;
  let n = u32(dv, off.ccN) | 0;
  let z = u32(dv, off.ccZ) | 0;
  let v = u32(dv, off.ccV) | 0;
  let c = u32(dv, off.ccC) | 0;
  if (op === CC_OP.FLAGS || op === CC_OP.DYNAMIC) {
    // as stored (DYNAMIC only before anything set the flags: Unicorn never runs QEMU's reset)
  } else if (op >= CC_OP.ADDB && op < CC_OP.SUBB) {
    const res = n;
    const s2 = v;
    const s1 = ext(res - s2, op - CC_OP.ADDB);
    c = x;
    z = n;
    v = (res ^ s1) & ~(s1 ^ s2);
  } else if (op >= CC_OP.SUBB && op < CC_OP.CMPB) {
    const res = n;
    const s2 = v;
    const s1 = ext(res + s2, op - CC_OP.SUBB);
    c = x;
    z = n;
    v = (res ^ s1) & (s1 ^ s2);
  } else if (op >= CC_OP.CMPB && op < CC_OP.LOGIC) {
    const s1 = n;
    const s2 = v;
    const res = ext(s1 - s2, op - CC_OP.CMPB);
    n = res;
    z = res;
    c = s1 >>> 0 < s2 >>> 0 ? 1 : 0;
    v = (res ^ s1) & (s1 ^ s2);
  } else if (op === CC_OP.LOGIC) {
    c = 0;
    v = 0;
    z = n;
  } else {
    throw new CalibrationError('Motorola 68040', `cc_op ${op} in the saved context is not one COMPUTE_CCR knows`, CALIBRATED_WITH);
  }
  return (x ? 0x10 : 0) | (n < 0 ? 0x08 : 0) | (z === 0 ? 0x04 : 0) | (v < 0 ? 0x02 : 0) | (c ? 0x01 : 0);
}

/** Machine code for the calibration runs (m68k-linux-gnu-as -m68040). */
const I = {
  subqD3: [0x5383], // subql #1,%d3
  movecD0Vbr: [0x4e7b, 0x0801], // movec %d0,%vbr
  moveq0D0: [0x7000], // moveq #0,%d0
  moveqM1D1: [0x72ff], // moveq #-1,%d1 (LOGIC: N)
  trap0: [0x4e40],
  moveToSr: [0x46fc, 0x2700], // movew #0x2700,%sr
  rte: [RTE],
  nop: [NOP],
};

function putHalves(uc: UcEngine, addr: bigint, halves: number[]): void {
  const b = Buffer.alloc(halves.length * 2);
  halves.forEach((h, i) => b.writeUInt16BE(h, i * 2));
  uc.memWrite(addr, b);
}

function be(uc: UcEngine, addr: bigint, size: 2 | 4): number {
  const b = Buffer.from(uc.memRead(addr, size));
  return size === 2 ? b.readUInt16BE(0) : b.readUInt32BE(0);
}

/**
 * Scratch runs on the 68040 model: distinctive SR, A7, VBR and flag values locate the
 * context words by difference; then one round trip that must behave as the notes say and
 * as the port relies on: `rte` at S arrives as EXCP_RTE with the pc on it, `trap #0` at U
 * as vector 32 with the pc on it and the CCR computable from the context, `move to SR` at U
 * as a privilege violation. Anything else is a CalibrationError: the kit refuses to run
 * with a supervisor level that is not enforced.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_M68K, UC_MODE_BIG_ENDIAN, UC_CPU_M68040);
  const fail = (detail: string) => new CalibrationError('Motorola 68040', detail, CALIBRATED_WITH, uc.version);
  const snap = () => new DataView(uc.snapshot().buffer);
  const find = (what: string, a: DataView, va: number, b: DataView, vb: number): number => {
    const hits: number[] = [];
    for (let o = 16; o + 4 <= a.byteLength; o += 4) if (u32(a, o) === va >>> 0 && u32(b, o) === vb >>> 0) hits.push(o);
    if (hits.length !== 1) throw fail(`${what} not found in the uc_context (${hits.length} candidates)`);
    return hits[0]!;
  };
  try {
    uc.memMap(0n, 0x10000, 7);
    // Unicorn starts in user mode with the stack banks unset (QEMU's reset never ran):
    // supervisor first, so that A7 is banked from here on.
    uc.regWrite(REG.SR, 0x2700n);
    const A = snap();
    const ccr = (bits: number) => {
      uc.regWrite(REG.SR, BigInt(0x2700 | bits));
      return snap();
    };
    const found: Partial<Offsets> = {
      ccX: find('cc_x', A, 0, ccr(0x10), 1),
      ccN: find('cc_n', A, 0, ccr(0x08), 0xffffffff),
      ccZ: find('cc_z', A, 1, ccr(0x04), 0),
      ccV: find('cc_v', A, 0, ccr(0x02), 0xffffffff),
      ccC: find('cc_c', A, 0, ccr(0x01), 1),
    };
    // cc_op: FLAGS after an SR write, SUBL (7) after a native subq.l
    uc.regWrite(REG.SR, 0x2700n);
    putHalves(uc, 0x1000n, [...I.subqD3, ...I.nop]);
    uc.start(0x1000n, 0x1002n);
    found.ccOp = find('cc_op', A, CC_OP.FLAGS, snap(), 7);
    putHalves(uc, 0x1010n, [...I.movecD0Vbr, ...I.moveq0D0, ...I.nop]);
    uc.regWrite(REG.D0, 0x13572468n);
    uc.start(0x1010n, 0x1016n);
    const V1 = snap();
    uc.regWrite(REG.D0, 0x24681357n);
    uc.start(0x1010n, 0x1016n);
    found.vbr = find('vbr', V1, 0x13572468, snap(), 0x24681357);
    // the stack banks: A7 written at U is in sp[USP] once at S, and the other way round
    const bank = (from: number, to: number, v: number) => {
      uc.regWrite(REG.SR, BigInt(from));
      uc.regWrite(REG.A7, BigInt(v));
      uc.regWrite(REG.SR, BigInt(to));
      return snap();
    };
    found.usp = find('sp[USP]', bank(0x0000, 0x2700, 0x11112222), 0x11112222, bank(0x0000, 0x2700, 0x33334444), 0x33334444);
    found.isp = find('sp[ISP]', bank(0x2700, 0x0000, 0x55556666), 0x55556666, bank(0x2700, 0x0000, 0x77778888), 0x77778888);
    const off = found as Offsets;

    // The round trip: S (rte) -> U: moveq, trap #0 -> S (vector 32 at 0x1300: rte) -> U: move to SR.
    uc.regWrite(REG.SR, 0x2700n);
    putHalves(uc, 0x1100n, I.rte);
    putHalves(uc, 0x1200n, [...I.moveqM1D1, ...I.trap0, ...I.moveToSr, ...I.nop]);
    putHalves(uc, 0x1300n, I.rte);
    const vectors = Buffer.alloc(0x400);
    vectors.writeUInt32BE(0x1300, VEC.SYS * 4);
    uc.memWrite(0x2000n, vectors);
    const dv = uc.saveContext();
    dv.setUint32(off.vbr, 0x2000, true);
    uc.restoreContext();
    uc.regWrite(REG.A7, 0x8000n - 8n);
    putHalves(uc, 0x8000n - 8n, [0x0000, 0x0000, 0x1200, 0x0000]); // sr, pc, format 0
    uc.regWrite(REG.A7, 0x8000n - 8n);
    const seen: string[] = [];
    let failure: Error | null = null;
    let verified = false;
    uc.onInterrupt((intno) => {
      try {
        const pc = uc.regRead(REG.PC);
        const sr = Number(uc.regRead(REG.SR));
        seen.push(`${intno}@${hex(pc)}`);
        if (intno === EXCP_RTE) {
          if (!(sr & SR.S) || (pc !== 0x1100n && pc !== 0x1300n)) throw fail(`rte at ${hex(pc)} (SR ${hex(sr)}): expected EXCP_RTE in supervisor mode with the pc on the rte`);
          rteFrom(uc, off, () => {
            throw fail('rte popped a frame of a format the calibration never built');
          });
        } else if (intno === VEC.SYS) {
          if (pc !== 0x1202n || sr & SR.S) throw fail(`trap #0 arrived at ${hex(pc)} with SR ${hex(sr)}: expected user mode and the pc on the trap (0x1202)`);
          const flags = ccrFromContext(uc.saveContext(), off);
          if (flags !== 0x08) throw fail(`the condition codes at the trap read ${hex(flags)}, moveq #-1 left N (0x08)`);
          exceptionEntry(uc, off, VEC.SYS, pc + 2n);
          if (uc.regRead(REG.PC) !== 0x1300n || uc.regRead(REG.A7) !== 0x8000n - 8n) throw fail('the exception entry did not reach the vector through the VBR on the ISP');
        } else if (intno === VEC.PRIV) {
          if (pc !== 0x1204n || sr & SR.S) throw fail(`move to SR in user mode: a privilege violation at ${hex(pc)} with SR ${hex(sr)}, expected 0x1204 in user mode`);
          if (uc.regRead(REG.D0 + 1) !== 0xffffffffn) throw fail('d1 did not survive the round trip');
          verified = true;
          uc.stop();
        } else {
          throw fail(`unexpected exception ${intno} at ${hex(pc)}`);
        }
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    });
    const err = uc.start(0x1100n, 0xfffen, 2_000_000n, 100);
    if (failure) throw failure;
    if (!verified) throw fail(`the privilege round trip ended early (err=${err}, exceptions ${seen.join(' ')})`);
    offsets = off;
    return off;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ the architecture's own steps

/** The whole 16-bit SR: the system byte Unicorn returns and the CCR from the context (with the block's own cc_op mid-block). */
function fullSr(uc: UcEngine, off: Offsets): number {
  const cc = ccNow(uc);
  if (cc === 'unknown') throw new Error('m68k cpu model: the condition codes were read mid-block after an instruction whose effect on them ccEffect() does not know');
  return (Number(uc.regRead(REG.SR)) & 0xffe0) | ccrFromContext(uc.saveContext(), off, cc === 'env' ? undefined : cc);
}

/** An SR write through the register API: env->cc_op is FLAGS and right again. */
function writeSr(uc: UcEngine, sr: number): void {
  uc.regWrite(REG.SR, BigInt(sr & 0xffff));
  ccState.set(uc, 'env');
}

/**
 * 68040 exception processing with a format-0 frame (M68040 UM 8.2): copy SR, set S and
 * clear T (an interrupt also sets the IPL and clears M), which banks A7 to the ISP; push
 * format/vector, pc, SR; fetch the vector through the VBR.
 */
function exceptionEntry(uc: UcEngine, off: Offsets, vector: number, retPc: bigint, irqLevel?: number): bigint {
  const old = fullSr(uc, off);
  const vbr = BigInt(u32(uc.saveContext(), off.vbr));
  let sr = (old | SR.S) & ~SR.T;
  if (irqLevel !== undefined) sr = (sr & ~(SR.IPL | SR.M)) | (irqLevel << 8);
  writeSr(uc, sr);
  const sp = (uc.regRead(REG.A7) - 8n) & 0xffffffffn;
  const frame = Buffer.alloc(8);
  frame.writeUInt16BE(old, 0);
  frame.writeUInt32BE(Number(retPc & 0xffffffffn), 2);
  frame.writeUInt16BE((0 << 12) | (vector << 2), 6);
  uc.memWrite(sp, frame);
  uc.regWrite(REG.A7, sp);
  const target = BigInt(be(uc, vbr + BigInt(vector * 4), 4));
  uc.regWrite(REG.PC, target);
  return target;
}

/**
 * `rte` (M68040 UM 8.4, QEMU's m68k_rte): read the frame, pop it off the supervisor stack
 * (format 1 is the throwaway frame: pop and look again on the stack SR selects), then load
 * SR, which banks A7 back to the USP when S clears and restores the CCR, and the pc.
 */
function rteFrom(uc: UcEngine, off: Offsets, formatError: (fmt: number) => void): void {
  void off;
  for (;;) {
    const sp = uc.regRead(REG.A7);
    const sr = be(uc, sp, 2);
    const pc = be(uc, sp + 2n, 4);
    const fmt = be(uc, sp + 6n, 2) >> 12;
    if (fmt === 1) {
      uc.regWrite(REG.A7, sp + 8n);
      writeSr(uc, sr);
      continue;
    }
    const extra = FRAME_EXTRA[fmt];
    if (extra === undefined) {
      formatError(fmt);
      return;
    }
    uc.regWrite(REG.A7, sp + 8n + BigInt(extra));
    writeSr(uc, sr);
    uc.regWrite(REG.PC, BigInt(pc));
    return;
  }
}

// ------------------------------------------------------------------ the lazy condition codes mid-block

/**
 * How QEMU's translator left the condition codes after an instruction: a cc_op (LOGIC,
 * ADD/SUB/CMP by size, FLAGS), untouched, or written back to env because the instruction
 * ends the translation block (a branch taken or not, jsr/jmp, rts/rtd/rtr, rte, trap #n,
 * stop, move to SR, movec, and `illegal`: the C stubs, whose hook moves the pc). Read
 * off QEMU 5.0's m68k translate.c for the instructions the kit's code uses; anything else
 * is unknown.
 */
type CcEffect = 'none' | 'env' | 'unknown' | number;

/** By operand size (byte, word, long); size 3 is another instruction in these groups. */
function sizedOp(base: number, size: number): CcEffect {
  return size === 3 ? 'unknown' : base + size;
}

export function ccEffect(op: number): CcEffect {
  const size = (op >> 6) & 3;
  // (no closure here: this runs before every instruction)
  const logic: CcEffect = size === 3 ? 'unknown' : CC_OP.LOGIC;
  switch (op >> 12) {
    case 0x0: {
      if ((op & 0xf138) === 0x0108) return 'none'; // movep
      if ((op & 0xf100) === 0x0100 || (op & 0xff00) === 0x0800) return CC_OP.FLAGS; // btst/bchg/bclr/bset: gen_flush_flags
      if ((op & 0xff00) === 0x0e00) return size === 3 ? 'unknown' : 'none'; // moves
      const kind = op >> 8;
      if (size === 3) return 'unknown';
      if ((op & 0x3f) === 0x3c && (kind === 0x00 || kind === 0x02 || kind === 0x0a)) return CC_OP.FLAGS; // ori/andi/eori to CCR/SR
      if (kind === 0x00 || kind === 0x02 || kind === 0x0a) return CC_OP.LOGIC; // ori, andi, eori
      if (kind === 0x04) return CC_OP.SUBB + size; // subi
      if (kind === 0x06) return CC_OP.ADDB + size; // addi
      if (kind === 0x0c) return CC_OP.CMPB + size; // cmpi
      return 'unknown';
    }
    case 0x1:
    case 0x2:
    case 0x3:
      return ((op >> 6) & 7) === 1 ? 'none' : CC_OP.LOGIC; // movea, move
    case 0x4: {
      if (op === ILLEGAL || (op & 0xffc0) === 0x46c0 || (op & 0xfff0) === 0x4e40) return 'env'; // illegal, move to SR, trap
      if (op === NOP || (op & 0xfff0) === 0x4e60 || (op & 0xfff0) === 0x4e50) return 'none'; // nop, move usp, link/unlk
      if ((op >= 0x4e72 && op <= 0x4e75) || op === 0x4e77 || (op & 0xff80) === 0x4e80 || (op & 0xfffe) === 0x4e7a) return 'env'; // stop rte rtd rts rtr, jsr jmp, movec
      if ((op & 0xf1c0) === 0x41c0) return 'none'; // lea
      if ((op & 0xfff8) === 0x4840) return CC_OP.LOGIC; // swap
      if ((op & 0xffc0) === 0x4840) return 'none'; // pea
      if ((op & 0xfff8) === 0x4880 || (op & 0xfff8) === 0x48c0 || (op & 0xfff8) === 0x49c0) return CC_OP.LOGIC; // ext, extb
      if ((op & 0xfb80) === 0x4880) return 'none'; // movem
      if ((op & 0xffc0) === 0x4ac0) return CC_OP.LOGIC; // tas
      if ((op & 0xff00) === 0x4200 || (op & 0xff00) === 0x4a00 || (op & 0xff00) === 0x4600) return logic; // clr, tst, not
      if ((op & 0xff00) === 0x4400) return sizedOp(CC_OP.SUBB, size); // neg
      return 'unknown';
    }
    case 0x5:
      if ((op & 0xf0f8) === 0x50c8) return 'env'; // dbcc
      if ((op & 0xf0c0) === 0x50c0) return 'none'; // scc
      if ((op & 0x38) === 0x08) return 'none'; // addq/subq to an address register
      return sizedOp(op & 0x0100 ? CC_OP.SUBB : CC_OP.ADDB, size);
    case 0x6:
      return 'env'; // bra, bsr, bcc
    case 0x7:
      return op & 0x0100 ? 'unknown' : CC_OP.LOGIC; // moveq
    case 0x8:
      if ((op & 0xf0c0) === 0x80c0 || (op & 0xf1f0) === 0x8100) return CC_OP.FLAGS; // divu/divs.w, sbcd
      return logic; // or
    case 0x9:
      if ((op & 0xf0c0) === 0x90c0) return 'none'; // suba
      if ((op & 0xf130) === 0x9100) return CC_OP.FLAGS; // subx
      return sizedOp(CC_OP.SUBB, size);
    case 0xb:
      if ((op & 0xf0c0) === 0xb0c0) return CC_OP.CMPB + 2; // cmpa: always long
      if ((op & 0xf138) === 0xb108) return sizedOp(CC_OP.CMPB, size); // cmpm
      if (op & 0x0100) return logic; // eor
      return sizedOp(CC_OP.CMPB, size);
    case 0xc:
      if ((op & 0xf0c0) === 0xc0c0) return CC_OP.LOGIC; // mulu/muls.w
      if ((op & 0xf1f0) === 0xc100) return CC_OP.FLAGS; // abcd
      if ((op & 0xf1f8) === 0xc140 || (op & 0xf1f8) === 0xc148 || (op & 0xf1f8) === 0xc188) return 'none'; // exg
      return logic; // and
    case 0xd:
      if ((op & 0xf0c0) === 0xd0c0) return 'none'; // adda
      if ((op & 0xf130) === 0xd100) return CC_OP.FLAGS; // addx
      return sizedOp(CC_OP.ADDB, size);
    case 0xe:
      if ((op & 0xf8c0) === 0xe8c0) return CC_OP.LOGIC; // bitfield
      return CC_OP.FLAGS; // shifts and rotates
    default:
      return 'unknown';
  }
}

/**
 * Per engine: how to read the condition codes now. 'env' when env->cc_op is right (at a
 * block start, after an exception or any SR write), a cc_op when an instruction of the
 * current block set one that the translator has not written back yet, 'unknown' after an
 * instruction ccEffect() does not know (an interrupt then waits for the next block).
 */
const ccState = new WeakMap<UcEngine, 'env' | 'unknown' | number>();
/** Per engine: the C stub page. A stub is always a block start (a jsr, jmp or rts reaches it), also the first instruction of a run on a reused engine. */
const stubPage = new WeakMap<UcEngine, { base: bigint; end: bigint }>();
function ccNow(uc: UcEngine): 'env' | 'unknown' | number {
  const stubs = stubPage.get(uc);
  if (stubs) {
    const pc = uc.regRead(REG.PC);
    if (pc >= stubs.base && pc < stubs.end) return 'env';
  }
  return ccState.get(uc) ?? 'env';
}

/** Called before every instruction: its effect, which holds once it has run. */
function trackCc(m: CpuMachine, addr: bigint): void {
  const e = ccEffect(Number(m.readUint(addr, 2)));
  if (e !== 'none') ccState.set(m.uc, e);
}

/** An exception from user mode: the entry the hardware makes, returning the vector's handler. */
export function trapEntry(m: CpuMachine, vector: number, retPc: bigint): bigint {
  return exceptionEntry(m.uc, calibrate(), vector, retPc);
}

/**
 * An autovectored interrupt of level `level` (vector 24 + level, format 0, IPL raised to
 * the level) before the instruction at the pc, from a hook at a block start (where the
 * lazy condition codes are written back). Taken when level > IPL or level is 7.
 */
export function interruptEntry(m: CpuMachine, level: number): boolean {
  const ipl = (Number(m.uc.regRead(REG.SR)) & SR.IPL) >> 8;
  if (level <= ipl && level !== 7) return false;
  exceptionEntry(m.uc, calibrate(), VEC.SPUR + level, m.uc.regRead(REG.PC), level);
  return true;
}

// ------------------------------------------------------------------ registers

/** A context word (any mode). */
function ctxWord(name: keyof Offsets): RegAccess {
  return {
    read: (uc) => BigInt(u32(uc.saveContext(), calibrate()[name])),
    write: (uc, v) => {
      const dv = uc.saveContext();
      dv.setUint32(calibrate()[name], Number(BigInt.asUintN(32, v)), true);
      uc.restoreContext();
    },
  };
}

/** A stack pointer that is A7 in one mode and a bank slot in the other. */
function bankedSp(slot: 'usp' | 'isp', liveWhenS: boolean): RegAccess {
  const live = (uc: UcEngine) => ((Number(uc.regRead(REG.SR)) & SR.S) !== 0) === liveWhenS;
  const ctx = ctxWord(slot) as Exclude<RegAccess, number>;
  return {
    read: (uc) => (live(uc) ? uc.regRead(REG.A7) : ctx.read(uc)),
    write: (uc, v) => (live(uc) ? uc.regWrite(REG.A7, v) : ctx.write(uc, v)),
  };
}

/**
 * `tp`: m68k has no thread-pointer register. The thread pointer is thread_info.tp_value
 * (set_thread_area(), CLONE_SETTLS; get_thread_area() reads it), in the thread_info at
 * the bottom of the kernel stack, which current_thread_info() finds from the supervisor
 * stack pointer. This pseudo-register reads and writes it that way (through the ISP,
 * which in user mode is the empty kernel stack's top: hence the -1).
 */
const TP_VALUE = 16n;
const tpAccess: RegAccess = {
  read: (uc) => {
    const isp = (bankedSp('isp', true) as Exclude<RegAccess, number>).read(uc);
    return BigInt(be(uc, ((isp - 1n) & ~(THREAD_SIZE - 1n)) + TP_VALUE, 4));
  },
  write: (uc, v) => {
    const isp = (bankedSp('isp', true) as Exclude<RegAccess, number>).read(uc);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Number(BigInt.asUintN(32, v)));
    uc.memWrite(((isp - 1n) & ~(THREAD_SIZE - 1n)) + TP_VALUE, b);
  },
};

/** SR with its condition codes (reading SR alone gives the system byte). */
const srAccess: RegAccess = {
  read: (uc) => BigInt(fullSr(uc, calibrate())),
  write: (uc, v) => writeSr(uc, Number(BigInt.asUintN(16, v))),
};

function m68kRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i < 8; i++) {
    t[`d${i}`] = REG.D0 + i;
    t[`a${i}`] = REG.A0 + i;
  }
  Object.assign(t, {
    sp: REG.A7,
    fp: REG.A0 + 6,
    pc: REG.PC,
    sr: srAccess,
    usp: bankedSp('usp', false),
    isp: bankedSp('isp', true),
    vbr: ctxWord('vbr'),
    tp: tpAccess,
  });
  return t;
}

// ------------------------------------------------------------------ the model

/** Per machine: the kernel, for checks at the return to user mode. */
const booted = new WeakMap<CpuMachine, KernelApi>();

/** Where in the kit's kernel data the vector table goes (e_vector vectors[256], vectors.c). */
export function vectorTable(k: KernelApi): bigint {
  return k.desc.memory.kernelData + ARCH_DATA_OFFSET;
}

function setSr(m: CpuMachine, sr: number): void {
  writeSr(m.uc, sr);
}

export const cpu: CpuModel = {
  name: 'Motorola 68040',
  returnToUser: {
    patterns: [Uint8Array.from([RTE >> 8, RTE & 0xff])],
    check(m, addr, size, stackTop) {
      if (size !== 2 || Number(m.readUint(addr, 2)) !== RTE) return null;
      // at user level the rte itself is the privilege violation, not a return
      if (!(Number(m.uc.regRead(REG.SR)) & SR.S)) return null;
      const sp = m.uc.regRead(REG.A7);
      if (Number(m.readUint(sp, 2)) & SR.S) return null;
      const fmt = Number(m.readUint(sp + 6n, 2)) >> 12;
      // %a2 is curptr in the kernel: RESTORE_ALL must have put the user's back
      const k = booted.get(m);
      const a2 = m.uc.regRead(REG.A0 + 2);
      const violation =
        k && a2 === k.current().addr
          ? { contract: 'C12', message: `user mode would run with %a2 = current (task_struct 0x${a2.toString(16)}), the kernel's curptr: RESTORE_ALL did not restore the user's a2` }
          : undefined;
      // the ISP the next exception from user mode starts from: what the rte leaves
      return { pc: m.readUint(sp + 2n, 4), sp: sp + 8n + BigInt(FRAME_EXTRA[fmt] ?? 0), expectedSp: stackTop, ...(violation ? { violation } : {}) };
    },
  },
  unicorn: {
    arch: UC_ARCH_M68K,
    mode: UC_MODE_BIG_ENDIAN,
    model: UC_CPU_M68040,
    registers: m68kRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  irq: {
    // the timer's level above the interrupt mask (user mode runs at IPL 0), where the
    // model can tell the condition codes the interrupt entry stacks
    canTake: (m) => TIMER_LEVEL > (Number(m.uc.regRead(REG.SR)) & SR.IPL) >> 8 && ccNow(m.uc) !== 'unknown',
    take: (m) => void interruptEntry(m, TIMER_LEVEL),
  },
  userPrivilege: 0,
  nop: Uint8Array.from([NOP >> 8, NOP & 0xff]),
  stubFill: Uint8Array.from([ILLEGAL >> 8, ILLEGAL & 0xff]),

  privilege(m) {
    return Number(m.uc.regRead(REG.SR)) & SR.S ? 1 : 0;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`m68k privilege is 0 (user) or 1 (supervisor), got ${level}`);
    const sr = fullSr(m.uc, calibrate());
    setSr(m, level ? sr | SR.S : sr & ~SR.S);
    m.leaveBlock();
  },

  // arch_irqs_disabled_flags(): any IPL bit set
  irqsEnabled(m) {
    return (Number(m.uc.regRead(REG.SR)) & SR.IPL) === 0;
  },

  setIrqsEnabled(m, on) {
    const sr = fullSr(m.uc, calibrate());
    setSr(m, on ? sr & ALLOWINT : sr | SR.IPL);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const off = calibrate();
    const need = (label: string) => {
      const v = k.symbols.get(label);
      if (v === undefined) throw new Error(`m68k cpu model: entry.S defines no "${label}"`);
      return v;
    };
    // head.S leaves the kernel in supervisor mode with every interrupt masked; Unicorn
    // starts in user mode with no stack bank selected, so SR comes before any A7 write.
    setSr(m, SR.S | SR.IPL);
    // base_trap_init()/trap_init() (vectors.c): bus error, system_call, the autovectors to
    // bad_inthandler, everything else below VEC_USER to trap; VBR at the table. The timer's
    // autovector goes to auto_inthandler, as m68k_setup_auto_interrupt() leaves it once its
    // irq is requested (ints.c).
    const trap = need('trap');
    const bad = need('bad_inthandler');
    const auto = need('auto_inthandler');
    const table = Buffer.alloc(256 * 4);
    for (let v = 0; v < 256; v++) {
      let h = v < VEC.USER ? trap : bad;
      if (v >= VEC.SPUR && v <= VEC.INT7) h = bad;
      if (v === VEC.BUSERR) h = need('buserr');
      if (v === VEC.SYS) h = need('system_call');
      if (v === VEC.SPUR + TIMER_LEVEL) h = auto;
      table.writeUInt32BE(Number(h), v * 4);
    }
    const vbr = vectorTable(k);
    m.write(vbr, table);
    m.setReg('vbr', vbr);
    m.setReg('usp', 0n);
    booted.set(m, k);
    ccState.set(m.uc, 'env');
    stubPage.set(m.uc, { base: k.desc.memory.stubs, end: k.desc.memory.stubs + BigInt(STUBS_SIZE) });
    m.hookCode(0n, 0xffffffffn, (addr) => trackCc(m, addr));

    m.hookInterrupt((intno) => {
      const pc = m.uc.regRead(REG.PC);
      if (intno === EXCP_RTE) {
        rteFrom(m.uc, off, (fmt) => k.bug('cpu', `m68k: rte at ${k.describePc(pc)} popped a frame of format ${fmt}, which this CPU model does not build (a format error)`));
        return;
      }
      if (Number(m.uc.regRead(REG.SR)) & SR.S) {
        k.bug('cpu', `m68k: ${excName(intno)} in supervisor mode at ${k.describePc(pc)}: the kernel must not trap (an oops)`);
      }
      const ret = FORMAT0[intno];
      if (ret === undefined) k.bug('cpu', `m68k: ${excName(intno)} from user mode at ${hex(pc)} is not delivered by this CPU model (the 68040 stacks a format-2 or format-7 frame for it)`);
      exceptionEntry(m.uc, off, intno, ret === 'next' ? pc + 2n : pc);
    });
  },
};
