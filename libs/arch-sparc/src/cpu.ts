// The SPARC V8 CPU on Unicorn 2.0.1 (QEMU's LEON3 model: 8 register windows, no FPU in
// use, MMU off): its register table, the privilege level, and the V8 trap entry, which
// Unicorn leaves out: it reports every trap to UC_HOOK_INTR (`ta 0x10` as 0x90, a
// privileged instruction as 3, window overflow/underflow as 5/6, with pc/npc exact) and
// never vectors it. The hook does what the V8 manual (7.3) says a trap does: ET = 0,
// PS = S, S = 1, CWP - 1 without the WIM check, %l1/%l2 = pc/npc of the new window,
// TBR.tt = tt, pc = TBR. Everything else is the emulator's own: save/restore and the
// window overflow/underflow traps they raise, `jmp %l1; rett %l2` back to user mode,
// the privilege checks on rd/wr %psr, %wim, %tbr and rett.
//
// Unicorn 2.0.1 reaches PSR, WIM, TBR, Y and npc through no register id (a read or
// write of ICC/Y is silently ignored) and starts in user mode with QEMU's lazy condition
// codes undefined (cc_op 0: the first `rd %psr` or `addx` calls a NULL helper and kills
// the host process). The privileged state lives in the uc_context, a byte copy of
// CPUSPARCState: the words patched here are found once per process by calibration on a
// scratch engine; every trap entry is a context save/patch/restore. QEMU recomputes its
// translation flags (supervisor or not) from env at every block lookup, so a patched
// privilege level is enforced from the next block on.

import type { CpuMachine, CpuModel, ReturnToUserState } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, sparc.h)

const UC_ARCH_SPARC = 6;
const UC_MODE_SPARC32 = 1 << 2;
const UC_MODE_BIG_ENDIAN = 1 << 30;
const UC_SPARC_REG_G0 = 53;
const UC_SPARC_REG_I0 = 61;
const UC_SPARC_REG_L0 = 70;
const UC_SPARC_REG_O0 = 78;
const UC_SPARC_REG_PC = 88;

// ------------------------------------------------------------------ architecture facts

/** PSR fields (asm/psr.h). */
export const PSR = {
  CWP: 0x1fn, ET: 0x20n, PS: 0x40n, S: 0x80n, PIL: 0xf00n, EF: 0x1000n, C: 0x00100000n, ICC: 0x00f00000n, SYSCALL: 0x4000n,
} as const;

/** Trap types (V8 manual table 7-1) the model names in messages. */
export const TT = {
  ILLEGAL_INSN: 0x02, PRIV_INSN: 0x03, WINDOW_OVERFLOW: 0x05, WINDOW_UNDERFLOW: 0x06, MEM_ADDRESS_NOT_ALIGNED: 0x07,
  INTERRUPT: 0x10, SYSCALL: 0x90,
} as const;

/** The instructions (big-endian words) the model and the calibration run. */
export const INSN = {
  nop: 0x01000000,
  unimp: 0x00000000,
  cmpG0G0: 0x80a00000, // cmp %g0, %g0 (defines cc_op)
  save: 0x9de3bfa0, // save %sp, -96, %sp
  restore: 0x81e80000,
  rdPsrG1: 0x83480000, // rd %psr, %g1
  wrPsrA: 0x818825c3, // wr 0x5c3, %psr: S PS !ET PIL 5 CWP 3
  wrPsrB: 0x81882aa6, // wr 0xaa6, %psr: S !PS ET PIL 10 CWP 6
  wrPsrC: 0x818827e1, // wr 0x7e1, %psr: S PS ET PIL 7 CWP 1
  wrWimG1x3: 0x81906003, // wr %g1, 3, %wim
  wrTbrG1x1: 0x81986001, // wr %g1, 1, %tbr
  wrYG1x5: 0x81806005, // wr %g1, 5, %y
  wrWimAll: 0x81903fff, // wr -1, %wim
  rdWimG1: 0x83500000, // rd %wim, %g1
  wrPsrUserPrep: 0x81882083, // wr 0x83, %psr: S !PS !ET CWP 3
  wrWim0: 0x81902000, // wr %g0, %wim
  jmpL1: 0x81c44000, // jmp %l1
  rettL2: 0x81cc8000, // rett %l2
  rettL2p4: 0x81cca004, // rett %l2 + 4
} as const;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ calibration

/** Byte offsets in the uc_context (16-byte header included) of the CPUSPARCState words used here. */
export interface Offsets {
  pc: number;
  npc: number;
  /** host pointer to regbase[cwp * 16] (the current window) */
  regwptr: number;
  /** regbase[]: 16 words per window (outs, locals; the ins are the next window's outs) + 8 */
  regbase: number;
  cwp: number;
  wim: number;
  tbr: number;
  y: number;
  psrs: number;
  psrps: number;
  psret: number;
  psrpil: number;
  nwindows: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

const u32 = (b: Uint8Array | DataView, o: number) => (b instanceof DataView ? b : new DataView(b.buffer, b.byteOffset, b.byteLength)).getUint32(o, true);
const u64 = (b: Uint8Array | DataView, o: number) => (b instanceof DataView ? b : new DataView(b.buffer, b.byteOffset, b.byteLength)).getBigUint64(o, true);

function putWords(uc: UcEngine, addr: bigint, words: number[]): void {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  uc.memWrite(addr, b);
}

/** Offsets of 32-bit words that hold value vs[i] in snapshot i, for every i. */
function findSeq(snaps: Uint8Array[], vs: number[], from = 0, to = snaps[0]!.length): number[] {
  const out: number[] = [];
  for (let o = from; o + 4 <= to; o += 4) if (snaps.every((s, i) => u32(s, o) === vs[i]! >>> 0)) out.push(o);
  return out;
}

/**
 * On a scratch engine: `cmp` (cc_op), PC writes (pc, npc = pc + 4), two user-mode `save`s
 * (cwp 0 -> 7 -> 6, regwptr, regbase), then the supervisor bit: the one zero word after cwp
 * that makes a user-mode `rd %psr` run and read S = 1. From supervisor mode, native
 * wr %psr/%wim/%tbr/%y with two or three value sets (PS, ET, PIL, wim, tbr, y) and the
 * implemented windows; last, `jmp; rett` must land in user mode, where `rd %psr` traps
 * again. Every field must have exactly one candidate, or the model refuses to run.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_SPARC, UC_MODE_SPARC32 | UC_MODE_BIG_ENDIAN);
  const fail = (detail: string) => new CalibrationError('SPARC V8', detail, CALIBRATED_WITH, uc.version);
  const one = (c: number[], what: string): number => {
    if (c.length !== 1) throw fail(`${what}: ${c.length} candidates`);
    return c[0]!;
  };
  let traps: number[] = [];
  uc.onInterrupt((intno) => {
    traps.push(intno);
    uc.stop();
  });
  // one instruction at `addr`: the traps it raised
  const step = (addr: bigint, count = 1): number[] => {
    traps = [];
    const err = uc.start(addr, 0xfffffff0n, 2_000_000n, count);
    if (err) throw fail(`the instruction at ${hex(addr)} ended with unicorn error ${err}`);
    return traps;
  };
  try {
    uc.memMap(0n, 0x10000, 7);
    const at = { cmp: 0x0n, save: 0x10n, restore: 0x20n, rdpsr: 0x30n, wrA: 0x40n, wrB: 0x50n, wrC: 0x60n, wim: 0x70n, tbr: 0x80n, y: 0x90n, nwin: 0xa0n, rett: 0xc0n, user: 0x1000n };
    putWords(uc, at.cmp, [INSN.cmpG0G0]);
    putWords(uc, at.save, [INSN.save]);
    putWords(uc, at.restore, [INSN.restore]);
    putWords(uc, at.rdpsr, [INSN.rdPsrG1]);
    putWords(uc, at.wrA, [INSN.wrPsrA]);
    putWords(uc, at.wrB, [INSN.wrPsrB]);
    putWords(uc, at.wrC, [INSN.wrPsrC]);
    putWords(uc, at.wim, [INSN.wrWimG1x3]);
    putWords(uc, at.tbr, [INSN.wrTbrG1x1]);
    putWords(uc, at.y, [INSN.wrYG1x5]);
    putWords(uc, at.nwin, [INSN.wrWimAll, INSN.rdWimG1]);
    putWords(uc, at.rett, [INSN.wrPsrUserPrep, INSN.wrWim0, INSN.jmpL1, INSN.rettL2]);
    putWords(uc, at.user, [INSN.nop, INSN.nop]);

    // a fresh engine has cc_op 0 (no cpu reset): define it before anything reads the flags
    if (step(at.cmp).length) throw fail('cmp %g0, %g0 trapped');
    const off: Partial<Offsets> = {};
    uc.regWrite(UC_SPARC_REG_PC, 0x1230n);
    const p1 = uc.snapshot();
    uc.regWrite(UC_SPARC_REG_PC, 0x2470n);
    const p2 = uc.snapshot();
    off.pc = one(findSeq([p1, p2], [0x1230, 0x2470]), 'pc');
    off.npc = one(findSeq([p1, p2], [0x1234, 0x2474]), 'npc');

    // user-mode saves: CWP 0 -> 7 -> 6 (WIM is 0 on a fresh engine)
    uc.regWrite(UC_SPARC_REG_O0, 0x5a5a0001n);
    const w0 = uc.snapshot();
    if (step(at.save).length) throw fail('save trapped');
    const w1 = uc.snapshot();
    if (step(at.save).length) throw fail('save trapped');
    const w2 = uc.snapshot();
    off.cwp = one(findSeq([w0, w1, w2], [0, 7, 6]), 'cwp');
    const rw: number[] = [];
    for (let o = 0; o + 8 <= w0.length; o += 8) {
      const a = u64(w0, o);
      if (a > 0x10000n && u64(w1, o) - a === 7n * 64n && u64(w2, o) - a === 6n * 64n) rw.push(o);
    }
    off.regwptr = one(rw, 'regwptr');
    off.regbase = one(findSeq([w0, w1, w2], [0x5a5a0001, 0x5a5a0001, 0x5a5a0001]), 'regbase');
    step(at.restore);
    step(at.restore);

    // the supervisor bit: no native way up; try each zero word after cwp
    if (step(at.rdpsr)[0] !== TT.PRIV_INSN) throw fail('rd %psr did not trap in user mode at start');
    const base = uc.snapshot();
    const hits: number[] = [];
    for (let o = off.cwp + 4; o <= off.cwp + 64; o += 4) {
      if (u32(base, o) !== 0) continue;
      const dv = uc.saveContext();
      new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength).set(base);
      dv.setUint32(o, 1, true);
      uc.restoreContext();
      uc.regWrite(UC_SPARC_REG_G0 + 1, 0n);
      if (step(at.rdpsr).length === 0 && (uc.regRead(UC_SPARC_REG_G0 + 1) & 0x80n) !== 0n) hits.push(o);
    }
    off.psrs = one(hits, 'the supervisor bit (psrs)');
    {
      const dv = uc.saveContext();
      new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength).set(base);
      dv.setUint32(off.psrs, 1, true);
      uc.restoreContext();
    }

    // supervisor now: native writes of the privileged registers
    step(at.wrA);
    const a = uc.snapshot();
    step(at.wrB);
    const b = uc.snapshot();
    step(at.wrC);
    const c = uc.snapshot();
    if (one(findSeq([a, b, c], [3, 6, 1]), 'cwp by wr %psr') !== off.cwp) throw fail('wr %psr moved another word than cwp');
    off.psrps = one(findSeq([a, b, c], [1, 0, 1]), 'psrps');
    off.psret = one(findSeq([a, b, c], [0, 1, 1]), 'psret');
    off.psrpil = one(findSeq([a, b, c], [5, 10, 7]), 'psrpil');
    if (u64(a, off.regwptr) - u64(c, off.regwptr) !== 2n * 64n) throw fail('regwptr does not follow cwp');
    const wimOf = (v: number) => {
      uc.regWrite(UC_SPARC_REG_G0 + 1, BigInt(v ^ 3));
      step(at.wim);
      return uc.snapshot();
    };
    off.wim = one(findSeq([wimOf(0x05), wimOf(0x22)], [0x05, 0x22]), 'wim');
    const tbrOf = (v: number) => {
      uc.regWrite(UC_SPARC_REG_G0 + 1, BigInt(v ^ 1));
      step(at.tbr);
      return uc.snapshot();
    };
    off.tbr = one(findSeq([tbrOf(0x7000), tbrOf(0x3000)], [0x7000, 0x3000]), 'tbr');
    const yOf = (v: number) => {
      uc.regWrite(UC_SPARC_REG_G0 + 1, BigInt(v ^ 5));
      step(at.y);
      return uc.snapshot();
    };
    off.y = one(findSeq([yOf(0x1357acef), yOf(0x2468bdf0)], [0x1357acef, 0x2468bdf0]), 'y');
    step(at.nwin, 2);
    let wins = Number(uc.regRead(UC_SPARC_REG_G0 + 1) & 0xffffffffn);
    let n = 0;
    for (; wins; wins &= wins - 1) n++;
    if (n !== 8) throw fail(`${n} register windows (the glue is written for 8, like LEON3)`);
    off.nwindows = n;

    // the way down is native: rett lands in user mode, CWP + 1, ET = 1; rd %psr traps again
    step(at.rett, 2);
    uc.regWrite(UC_SPARC_REG_L0 + 1, at.user);
    uc.regWrite(UC_SPARC_REG_L0 + 2, at.user + 4n);
    step(at.rett + 8n, 2);
    const u = uc.snapshot();
    if (u32(u, off.psrs) !== 0 || u32(u, off.psret) !== 1 || u32(u, off.cwp) !== 4) {
      throw fail(`after jmp/rett: S=${u32(u, off.psrs)} ET=${u32(u, off.psret)} CWP=${u32(u, off.cwp)}, expected user mode, ET 1, CWP 4`);
    }
    if (step(at.rdpsr)[0] !== TT.PRIV_INSN) throw fail('rd %psr did not trap in user mode after rett');
    offsets = off as Offsets;
    return offsets;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ the context, as V8 state

/** A live view of the saved context; `commit()` writes it back to the CPU. */
class Ctx {
  readonly dv: DataView;
  constructor(
    readonly uc: UcEngine,
    readonly o: Offsets,
  ) {
    this.dv = uc.saveContext();
  }
  get(field: Exclude<keyof Offsets, 'nwindows' | 'regwptr' | 'regbase'>): number {
    return this.dv.getUint32(this.o[field], true);
  }
  set(field: Exclude<keyof Offsets, 'nwindows' | 'regwptr' | 'regbase'>, v: number | bigint): void {
    this.dv.setUint32(this.o[field], Number(BigInt.asUintN(32, BigInt(v))), true);
  }
  /** Register r (0-7 outs, 8-15 locals) of the current window. */
  wreg(r: number): number {
    return this.dv.getUint32(this.o.regbase + (this.get('cwp') * 16 + r) * 4, true);
  }
  setWreg(r: number, v: number | bigint): void {
    this.dv.setUint32(this.o.regbase + (this.get('cwp') * 16 + r) * 4, Number(BigInt.asUintN(32, BigInt(v))), true);
  }
  /** QEMU's cpu_set_cwp: the last window's ins are a copy of window 0's outs, kept in step. */
  setCwp(ncwp: number): void {
    const nw = this.o.nwindows;
    const cur = this.get('cwp');
    const host = this.dv.getBigUint64(this.o.regwptr, true) - BigInt(cur * 64);
    const rb = this.o.regbase;
    const bytes = new Uint8Array(this.dv.buffer, this.dv.byteOffset, this.dv.byteLength);
    if (cur === nw - 1) bytes.copyWithin(rb, rb + nw * 64, rb + nw * 64 + 32);
    this.set('cwp', ncwp);
    if (ncwp === nw - 1) bytes.copyWithin(rb + nw * 64, rb, rb + 32);
    this.dv.setBigUint64(this.o.regwptr, host + BigInt(ncwp * 64), true);
  }
  /** The %psr value (the icc field left out: QEMU keeps it lazily). */
  psr(): bigint {
    return (
      (0xf3n << 24n) |
      BigInt(this.get('psrpil') << 8) |
      (this.get('psrs') ? PSR.S : 0n) |
      (this.get('psrps') ? PSR.PS : 0n) |
      (this.get('psret') ? PSR.ET : 0n) |
      BigInt(this.get('cwp'))
    );
  }
  commit(): void {
    this.uc.restoreContext();
  }
}

const ctx = (m: CpuMachine) => new Ctx(m.uc, calibrate());

/**
 * The V8 trap entry (what QEMU's sparc_cpu_do_interrupt does, which Unicorn skips): from the
 * interrupt hook, or with the pc/npc of an instruction that has not run. Returns the vector,
 * or null when traps are disabled (ET = 0: a real V8 enters error mode).
 */
export function trapEntry(m: CpuMachine, tt: number, at?: { pc: bigint; npc: bigint }): bigint | null {
  const c = ctx(m);
  if (!c.get('psret')) return null;
  const pc = at ? Number(at.pc) : c.get('pc');
  const npc = at ? Number(at.npc) : c.get('npc');
  c.set('psret', 0);
  c.setCwp((c.get('cwp') + c.o.nwindows - 1) % c.o.nwindows);
  c.setWreg(9, pc); // %l1
  c.setWreg(10, npc); // %l2
  c.set('psrps', c.get('psrs'));
  c.set('psrs', 1);
  const tbr = (c.get('tbr') & ~0xfff) | (tt << 4);
  c.set('tbr', tbr);
  c.set('pc', tbr);
  c.set('npc', tbr + 4);
  c.commit();
  return BigInt(tbr >>> 0);
}

// ------------------------------------------------------------------ registers

function ctxField(name: 'wim' | 'tbr' | 'y' | 'npc'): RegAccess {
  return {
    read: (uc) => BigInt(new Ctx(uc, calibrate()).get(name)),
    write: (uc, v) => {
      const c = new Ctx(uc, calibrate());
      c.set(name, v);
      c.commit();
    },
  };
}

/** %psr: composed from QEMU's separate fields; a write sets them (icc is left alone). */
const psrAccess: RegAccess = {
  read: (uc) => new Ctx(uc, calibrate()).psr(),
  write: (uc, v) => {
    const c = new Ctx(uc, calibrate());
    c.set('psrpil', Number((v & PSR.PIL) >> 8n));
    c.set('psrs', v & PSR.S ? 1 : 0);
    c.set('psrps', v & PSR.PS ? 1 : 0);
    c.set('psret', v & PSR.ET ? 1 : 0);
    if (Number(v & PSR.CWP) !== c.get('cwp')) c.setCwp(Number(v & PSR.CWP) % c.o.nwindows);
    c.commit();
  },
};

function sparcRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i < 8; i++) {
    t[`g${i}`] = UC_SPARC_REG_G0 + i;
    t[`i${i}`] = UC_SPARC_REG_I0 + i;
    t[`l${i}`] = UC_SPARC_REG_L0 + i;
    t[`o${i}`] = UC_SPARC_REG_O0 + i;
  }
  Object.assign(t, {
    sp: UC_SPARC_REG_O0 + 6,
    fp: UC_SPARC_REG_I0 + 6,
    pc: UC_SPARC_REG_PC,
    npc: ctxField('npc'),
    psr: psrAccess,
    wim: ctxField('wim'),
    tbr: ctxField('tbr'),
    y: ctxField('y'),
  });
  return t;
}

// ------------------------------------------------------------------ the model

/** The `rett` forms the glue uses, as they sit in memory. */
const be32 = (w: number) => Uint8Array.from([w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff]);

/** STACKFRAME_SZ: the register window save area plus argument slots above every kernel frame. */
export const STACKFRAME_SZ = 96n;

/** The timer's interrupt level (sun4m and LEON tick on level 10: trap type 0x1a). */
export const TIMER_LEVEL = 10;

/**
 * A delayed control transfer (V8 manual 5.1.5): Bicc, FBfcc, CBccc, call, jmpl, rett. The
 * instruction after one is its delay slot (or, after rett, the jmpl's target with npc the
 * rett's): npc is not pc + 4 there.
 */
export function isDcti(insn: number): boolean {
  const op = insn >>> 30;
  if (op === 1) return true;
  if (op === 0) return [2, 6, 7].includes((insn >>> 22) & 7);
  if (op === 2) return [0x38, 0x39].includes((insn >>> 19) & 0x3f);
  return false;
}

/** The target of the `jmpl` whose delay slot holds the rett (always `jmp %l1; rett %l2` here). */
function jmplTarget(m: CpuMachine, insn: number): bigint | null {
  if (insn >>> 30 !== 2 || ((insn >>> 19) & 0x3f) !== 0x38) return null;
  const rs1 = (insn >>> 14) & 0x1f;
  const reg = (r: number) => m.reg(['g', 'o', 'l', 'i'][r >> 3]! + (r & 7));
  const off = insn & 0x2000 ? BigInt.asIntN(13, BigInt(insn & 0x1fff)) : reg(insn & 0x1f);
  return BigInt.asUintN(32, reg(rs1) + off);
}

/** Per machine: the kernel it boots (the return-to-user check reads current). */
const booted = new WeakMap<CpuMachine, KernelApi>();

export const cpu: CpuModel = {
  name: 'SPARC V8',
  returnToUser: {
    patterns: [be32(INSN.rettL2), be32(INSN.rettL2p4)],
    check(m, addr, size, stackTop, ptRegsSize) {
      if (size !== 4 || (addr & 3n) !== 0n) return null;
      const w = Number(m.readUint(addr, 4));
      if (w !== INSN.rettL2 && w !== INSN.rettL2p4) return null;
      // rett goes to user mode when the previous-supervisor bit is clear
      if (ctx(m).get('psrps')) return null;
      const pc = jmplTarget(m, Number(m.readUint(addr - 4n, 4)));
      if (pc === null) return null;
      // the trap window's %sp: the trap frame (STACKFRAME_SZ below pt_regs) when nothing
      // else is on the kernel stack
      const state: ReturnToUserState = { pc, sp: m.reg('sp'), expectedSp: stackTop - BigInt(ptRegsSize) - STACKFRAME_SZ };
      // %g6 is the kernel's current; user mode gets its own back from pt_regs
      const k = booted.get(m);
      if (k) {
        const cur = k.current().addr;
        const user = k.currentPtRegs().get('g6');
        if (m.reg('g6') === cur && user !== cur) state.violation = { contract: 'C12', message: `%g6 still holds the kernel's current (0x${cur.toString(16)}) instead of the user's 0x${user.toString(16)}` };
      }
      return state;
    },
  },
  unicorn: {
    arch: UC_ARCH_SPARC,
    mode: UC_MODE_SPARC32 | UC_MODE_BIG_ENDIAN,
    registers: sparcRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  userPrivilege: 0,
  nop: be32(INSN.nop),
  // a stub address is never executed (the bridge's hook moves the pc first); unimp would stop the run
  stubFill: be32(INSN.unimp),

  privilege(m) {
    return ctx(m).get('psrs');
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`SPARC privilege is 0 (user) or 1 (supervisor), got ${level}`);
    const c = ctx(m);
    c.set('psrs', level);
    c.commit();
    m.leaveBlock();
  },

  // Linux: interrupts are masked by PIL (arch_irqs_disabled_flags: any PIL); traps off
  // (ET = 0, in trap windows and on the way out) masks them all
  irqsEnabled(m) {
    const c = ctx(m);
    return c.get('psret') === 1 && c.get('psrpil') === 0;
  },

  // local_irq_enable()/disable(): PIL 0 / 15. C only ever runs with traps on; enabling
  // also makes sure of that (a CPU that never booted starts with ET = 0).
  setIrqsEnabled(m, on) {
    const c = ctx(m);
    c.set('psrpil', on ? 0 : 15);
    if (on) c.set('psret', 1);
    c.commit();
  },

  irq: {
    // Interrupt level n is taken when traps are on and n > PIL (V8 7.3.2). The pc of a code
    // hook is exact but npc is not: refuse after a delayed control transfer (the interrupt is
    // taken one instruction later), so npc = pc + 4 holds.
    canTake(m) {
      const c = ctx(m);
      if (!c.get('psret') || TIMER_LEVEL <= c.get('psrpil')) return false;
      const last = m.lastInstruction();
      return !(last && isDcti(Number(m.readUint(last.addr, 4))));
    },
    take(m) {
      const pc = m.reg('pc');
      const vector = trapEntry(m, TT.INTERRUPT + TIMER_LEVEL, { pc, npc: pc + 4n });
      if (vector === null) throw new Error('sparc: interrupt taken with traps disabled');
      // a pc write leaves the translated block before the interrupted instruction runs
      m.setReg('pc', vector);
    },
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const sym = (role: string) => {
      const name = k.desc.symbols[role];
      const a = name === undefined ? undefined : k.symbols.get(name);
      if (a === undefined) throw new Error(`sparc cpu model: entry.S defines no ${role} (arch.json symbols.${role})`);
      return a;
    };
    const trapbase = sym('trapTable');
    if (trapbase & 0xfffn) throw new Error(`sparc cpu model: the trap table at ${hex(trapbase)} is not 4 KiB aligned (TBR.TBA)`);
    // Unicorn starts in user mode with traps disabled: supervisor first, then head_32.S's
    // own instructions set %tbr, %wim and %psr
    const c = ctx(m);
    c.set('psrs', 1);
    c.set('psrps', 1);
    c.set('psret', 0);
    c.commit();
    const boot = sym('boot');
    const end = k.symbols.get('sparc_boot_end');
    if (end === undefined) throw new Error('sparc cpu model: entry.S defines no sparc_boot_end');
    m.run(boot, { instructions: 64 }, end);
    const b = ctx(m);
    if (!b.get('psrs') || !b.get('psret') || b.get('psrpil') !== 15 || b.get('tbr') !== Number(trapbase)) {
      throw new Error(`sparc cpu model: after sparc_boot psr=${hex(b.psr())} tbr=${hex(b.get('tbr'))}: not supervisor with traps on and the trap table in %tbr`);
    }

    booted.set(m, k);
    m.hookInterrupt((intno) => {
      const pc = BigInt(ctx(m).get('pc'));
      if (trapEntry(m, intno) === null) k.bug('cpu', `sparc: trap 0x${intno.toString(16)} at ${hex(pc)} with traps disabled (ET = 0): a V8 enters error mode`);
    });
    // An undefined instruction (unimp, rett with traps on) does not reach the interrupt hook:
    // Unicorn ends the run. From user mode it is the illegal_instruction trap (SIGILL); in
    // the kernel an oops.
    m.hookInvalidInsn(() => {
      const c2 = ctx(m);
      const pc = BigInt(c2.get('pc'));
      if (c2.get('psrs')) k.bug('cpu', `sparc: illegal instruction ${hex(m.readUint(pc, 4))} in supervisor mode at ${hex(pc)} (${k.describePc(pc)})`);
      return trapEntry(m, TT.ILLEGAL_INSN);
    });
  },
};
