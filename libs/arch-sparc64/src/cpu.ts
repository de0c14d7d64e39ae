// The SPARC V9 CPU on Unicorn 2.0.1 (QEMU's Sun UltraSPARC IV model: 8 register windows,
// MAXTL 5, no FPU in use, MMU off): its register table, the privilege level, and the V9
// trap entry, which Unicorn leaves out: every trap reaches UC_HOOK_INTR (`ta 0x6d` as
// 0x16d, a privileged opcode as 0x11, spill/fill as 0x80-0xff) and is never vectored.
// The hook calls QEMU's own V9 trap entry, sparc_cpu_do_interrupt_sparc64 (TL + 1, the
// trap state of the new level, PSTATE = PRIV|PEF|AG, the CWP change of a spill or fill,
// pc = TBA + TT * 32). Everything else is the emulator's own: save/restore and the
// spill/fill/clean_window traps they raise, wrpr/rdpr, `done` and `retry` back.
//
// Unicorn 2.0.1 has no way to this state through its API: sparc64's uc_context is its
// 16-byte header only (cpu_context_size is never set), the register API knows G/O/L/I
// and PC only, and the CPU starts in user mode (PSTATE 0: QEMU's cpu reset never runs).
// Debian's libunicorn.so.2 exports QEMU's internals with a target suffix; this model uses
// four of them (qemu_get_cpu_sparc64, sparc_cpu_do_interrupt_sparc64,
// cpu_change_pstate_sparc64, cpu_get_ccr_sparc64) and reads and writes CPUSPARCState in
// place, at offsets a calibration on a scratch engine finds once per process. They are
// Unicorn-internal and unversioned: without them, or without one candidate per field, the
// model refuses to run. QEMU recomputes its translation flags (privilege, address mask)
// from env at every block lookup; after a change from a hook the machine restarts the
// emulation at the pc (a sparc64 pc write does not leave the running block: machine.ts
// pcWriteStaysInBlock). The machine's saved states copy CPUSPARCState's bytes (state).

import type { CpuMachine, CpuModel, ReturnToUserState } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import { hostAddress, hostPointer, hostView, unicornInternal } from '@archkit/generic-core/machine/unicorn/internal';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';
import { readFileSync } from 'node:fs';

// ------------------------------------------------------------------ Unicorn (unicorn.h, sparc.h)

const UC_ARCH_SPARC = 6;
const UC_MODE_SPARC64 = 1 << 3;
const UC_MODE_BIG_ENDIAN = 1 << 30;
const UC_SPARC_REG_G0 = 53;
const UC_SPARC_REG_I0 = 61;
const UC_SPARC_REG_L0 = 70;
const UC_SPARC_REG_O0 = 78;
const UC_SPARC_REG_PC = 88;

// ------------------------------------------------------------------ architecture facts

/** PSTATE bits (asm/pstate.h). */
export const PSTATE = { AG: 0x1n, IE: 0x2n, PRIV: 0x4n, AM: 0x8n, PEF: 0x10n, RED: 0x20n, MG: 0x400n, IG: 0x800n } as const;
/** TSTATE fields (asm/pstate.h; PIL and SYSCALL are Linux's use of unused bits). */
export const TSTATE = {
  CWP: 0x1fn, SYSCALL: 0x20n, AG: 0x100n, IE: 0x200n, PRIV: 0x400n, PEF: 0x1000n, PIL: 0xf00000n, ASI: 0xff000000n,
  ICARRY: 0x100000000n, XCARRY: 0x1000000000n, ICC: 0xf00000000n, XCC: 0xf000000000n,
} as const;
/** Trap types (V9 manual 7.6) the model names. */
export const TT = { IAE: 0x08, ILLEGAL_INSN: 0x10, PRIVOP: 0x11, CLEAN_WINDOW: 0x24, INTERRUPT: 0x40, SPILL: 0x80, FILL: 0xc0, SYSCALL: 0x16d } as const;
/** The V9 ABI's stack bias: a 64-bit %sp points 2047 bytes below its frame. */
export const STACK_BIAS = 2047n;
/** sizeof(struct sparc_stackf): the register window save area and the argument slots. */
export const STACKFRAME_SZ = 192n;
/** The timer's interrupt level (ttable_64.S tl0_irq14: timer_interrupt), trap type 0x4e. */
export const TIMER_LEVEL = 14;
/** PIL_NORMAL_MAX (asm/pil.h): local_irq_disable() raises %pil to it. */
export const PIL_NORMAL_MAX = 14n;
const MAXTL = 5;

/** The instructions (big-endian words) the model and the calibration run. */
export const INSN = {
  nop: 0x01000000,
  illtrap: 0x00000000,
  done: 0x81f00000,
  retry: 0x83f00000,
  wrCcr0: 0x85802000, // wr %g0, 0, %ccr (defines cc_op)
  rdpstateG1: 0x83518000, // rdpr %pstate, %g1
  ta6d: 0x91d0206d, // ta 0x6d
  rdverG1: 0x8357c000, // rdpr %ver, %g1
  subccNeg: 0x80a02001, // subcc %g0, 1, %g0 (N and C in icc and xcc)
  wrCcr5: 0x85802005, // wr %g0, 5, %ccr
  rdCcrG1: 0x83408000, // rd %ccr, %g1
  save: 0x9de3bf40, // save %sp, -192, %sp
  restore: 0x81e80000,
  // set A of privileged registers, from %g1..%g6
  wr1: [
    0x8f902001, 0x81906000, 0x8390a000, 0x8590e000, 0x87902123, 0x8f902002, 0x81912000, 0x87902045, 0x8f902003,
    0x93902002, 0x95902004, 0x97902002, 0x9b902001, 0x99902005, 0x9d90200b, 0x91902006, 0x8b916000, 0x81806000, 0x8781a000,
  ],
  // set B
  wr2: [
    0x8f902001, 0x87902077, 0x8f902002, 0x87902066, 0x8f902001, 0x93902005, 0x95902001, 0x97902004, 0x9b902000, 0x99902003,
    0x9d902012, 0x91902009, 0x8b916000, 0x8180a000, 0x8781a000,
  ],
  wrTl0: 0x8f902000, // wrpr %g0, 0, %tl
} as const;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const be32 = (w: number) => Uint8Array.from([w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff]);

// ------------------------------------------------------------------ Unicorn-internal functions

interface Internals {
  getCpu(uc: unknown, index: number): unknown;
  doInterrupt(cs: unknown): void;
  changePstate(env: unknown, v: number): void;
  getCcr(env: unknown): bigint;
  setCwp(env: unknown, internalCwp: number): void;
}

let internals: Internals | undefined;
function getInternals(version: string): Internals {
  if (internals) return internals;
  const need = {
    getCpu: 'void *qemu_get_cpu_sparc64(void *uc, int index)',
    doInterrupt: 'void sparc_cpu_do_interrupt_sparc64(void *cs)',
    changePstate: 'void cpu_change_pstate_sparc64(void *env, uint32_t pstate)',
    getCcr: 'uint64_t cpu_get_ccr_sparc64(void *env)',
    setCwp: 'void cpu_set_cwp_sparc64(void *env, int new_cwp)',
  };
  const out: Record<string, unknown> = {};
  for (const [k, decl] of Object.entries(need)) {
    const f = unicornInternal(decl);
    if (!f) throw new CalibrationError('SPARC V9', `the library exports no ${decl.split('(')[0]!.split(' ').pop()} (a QEMU internal the sparc64 model calls: Unicorn's API reaches no privileged sparc64 state)`, CALIBRATED_WITH, version);
    out[k] = (...a: unknown[]) => f(...a);
  }
  internals = {
    getCpu: out['getCpu'] as Internals['getCpu'],
    doInterrupt: out['doInterrupt'] as Internals['doInterrupt'],
    changePstate: out['changePstate'] as Internals['changePstate'],
    getCcr: (env) => BigInt((out['getCcr'] as (e: unknown) => bigint | number)(env)),
    setCwp: out['setCwp'] as Internals['setCwp'],
  };
  return internals;
}

// ------------------------------------------------------------------ calibration

/** Offsets found by calibration: `env` and `excp` from the CPUState, the rest inside CPUSPARCState. */
export interface Offsets {
  env: number;
  excp: number;
  regwptr: number;
  pc: number;
  npc: number;
  y: number;
  ccOp: number;
  psr: number;
  xcc: number;
  asi: number;
  cwp: number;
  tba: number;
  pil: number;
  ts: number;
  tsStride: number;
  tnpc: number;
  tstate: number;
  tt: number;
  pstate: number;
  tl: number;
  cansave: number;
  canrestore: number;
  otherwin: number;
  wstate: number;
  cleanwin: number;
  /** the normal globals while PSTATE.AG is set (bgregs) */
  bgregs: number;
  /** CPUSPARCState bytes [0, stateEnd) are the whole architectural state (saved machine states) */
  stateEnd: number;
  nwindows: number;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

/** End of the host mapping holding `addr` (so a scan never leaves mapped memory). */
function mappingEnd(addr: bigint): bigint {
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const a = BigInt(`0x${m[1]}`);
    const b = BigInt(`0x${m[2]}`);
    if (addr >= a && addr < b) return b;
  }
  return addr;
}

function putWords(uc: UcEngine, addr: bigint, words: readonly number[]): void {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  uc.memWrite(addr, b);
}

/**
 * On a scratch engine: CPUSPARCState inside the CPU object by a register pattern (gregs[] is
 * its first field), cs->exception_index as the one int holding the trap number in the
 * interrupt hook of two traps, PSTATE through the exported writer, then natively with wrpr
 * from privileged mode two value sets (A, B, then A and B again) of TL, TPC/TNPC/TSTATE/TT
 * of two levels, CWP, CANSAVE, CANRESTORE, OTHERWIN, CLEANWIN, WSTATE, PIL, TBA, %y and
 * %asi: every field must have exactly one candidate, or the model refuses to run.
 */
function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_SPARC, UC_MODE_SPARC64 | UC_MODE_BIG_ENDIAN);
  const fail = (detail: string) => new CalibrationError('SPARC V9', detail, CALIBRATED_WITH, uc.version);
  const one = (c: number[], what: string): number => {
    if (c.length !== 1) throw fail(`${what}: ${c.length} candidates`);
    return c[0]!;
  };
  try {
    const fn = getInternals(uc.version);
    // the engine creates its CPU on first use (a register access does): before that, no CPU
    uc.regRead(UC_SPARC_REG_PC);
    const cs = fn.getCpu(uc.handle, -1);
    if (!cs) throw fail('qemu_get_cpu_sparc64(uc, -1) returned no CPU');
    const csAddr = hostAddress(cs);
    const span = Math.min(Number(mappingEnd(csAddr) - csAddr), 0x40000);
    if (span < 0x4000) throw fail('the CPU object is not in a readable mapping');
    const csv = hostView(cs, span);
    const u32 = (dv: DataView, o: number) => dv.getUint32(o, true);
    const u64 = (dv: DataView, o: number) => dv.getBigUint64(o, true);

    // env: gregs[0..7]
    const magic = 0x5eed000000000000n;
    for (let i = 0; i < 8; i++) uc.regWrite(UC_SPARC_REG_G0 + i, magic + BigInt(i));
    const envs: number[] = [];
    for (let o = 0; o + 64 <= span; o += 8) {
      let ok = true;
      for (let i = 0; i < 8 && ok; i++) ok = u64(csv, o + 8 * i) === magic + BigInt(i);
      if (ok) envs.push(o);
    }
    const env = one(envs, 'CPUSPARCState (env)');
    for (let i = 0; i < 8; i++) uc.regWrite(UC_SPARC_REG_G0 + i, 0n);
    const ev = hostView(hostPointer(csAddr + BigInt(env)), Math.min(span - env, 0x2400));
    const envPtr = hostPointer(csAddr + BigInt(env));
    // CPUSPARCState is about 8 KiB: the searches stay inside it (heap data behind it varies)
    const espan = Math.min(span - env, 0x2400);
    const snap = () => new DataView(new Uint8Array(new Uint8Array(ev.buffer, ev.byteOffset, espan)).buffer);
    const find64 = (dvs: DataView[], vs: bigint[], from = 0) => {
      const out: number[] = [];
      for (let o = from; o + 8 <= espan; o += 8) if (dvs.every((d, i) => u64(d, o) === vs[i])) out.push(o);
      return out;
    };
    const find32 = (dvs: DataView[], vs: number[], from = 0) => {
      const out: number[] = [];
      for (let o = from; o + 4 <= espan; o += 4) if (dvs.every((d, i) => u32(d, o) === vs[i]! >>> 0)) out.push(o);
      return out;
    };

    uc.memMap(0n, 0x10000, 7);
    const at = { init: 0x0n, rdpstate: 0x40n, ta: 0x80n, wr1: 0x100n, wr2: 0x200n, ver: 0x300n, cc: 0x340n, save: 0x380n, tl0: 0x3c0n };
    putWords(uc, at.init, [INSN.wrCcr0]);
    putWords(uc, at.rdpstate, [INSN.rdpstateG1]);
    putWords(uc, at.ta, [INSN.ta6d]);
    putWords(uc, at.wr1, INSN.wr1);
    putWords(uc, at.wr2, INSN.wr2);
    putWords(uc, at.ver, [INSN.rdverG1]);
    putWords(uc, at.cc, [INSN.subccNeg, INSN.wrCcr5]);
    putWords(uc, at.save, [INSN.save, INSN.save, INSN.restore]);
    putWords(uc, at.tl0, [INSN.wrTl0]);

    // exception_index: an int in the CPUState (before env) equal to the trap number in the hook
    let excp: number[] | null = null;
    let traps: number[] = [];
    uc.onInterrupt((intno) => {
      traps.push(intno);
      const here: number[] = [];
      for (let o = 0; o + 4 <= env; o += 4) if ((csv.getInt32(o, true) | 0) === intno) here.push(o);
      excp = excp === null ? here : excp.filter((o) => here.includes(o));
      uc.stop();
    });
    // `count` instructions from `addr` (never `until`: on sparc64 it never returns)
    const run = (addr: bigint, count: number): number[] => {
      traps = [];
      const err = uc.start(addr, 0xdead0000n, 2_000_000n, count);
      if (err) throw fail(`the instructions at ${hex(addr)} ended with unicorn error ${err}`);
      return traps;
    };

    // a fresh engine has cc_op 0 (no cpu reset): define it before anything reads the flags
    if (run(at.init, 1).length) throw fail('wr %ccr trapped');
    const off: Partial<Offsets> = { env };
    uc.regWrite(UC_SPARC_REG_PC, 0x5550n);
    const p1 = snap();
    uc.regWrite(UC_SPARC_REG_PC, 0x6660n);
    const p2 = snap();
    off.pc = one(find64([p1, p2], [0x5550n, 0x6660n]), 'pc');
    off.npc = one(find64([p1, p2], [0x5554n, 0x6664n]), 'npc');
    if (off.npc !== off.pc + 8) throw fail('npc does not follow pc');

    if (run(at.ta, 1)[0] !== TT.SYSCALL) throw fail(`ta 0x6d did not trap as 0x16d (${traps})`);
    if (run(at.rdpstate, 1)[0] !== TT.PRIVOP) throw fail('rdpr %pstate did not trap in user mode at start');
    off.excp = one(excp ?? [], 'cs->exception_index');

    // PRIV through the exported writer
    fn.changePstate(envPtr, Number(PSTATE.PRIV | PSTATE.PEF));
    const s1 = snap();
    fn.changePstate(envPtr, Number(PSTATE.PRIV | PSTATE.PEF | PSTATE.IE));
    const s2 = snap();
    off.pstate = one(find32([s1, s2], [0x14, 0x16]), 'pstate');
    fn.changePstate(envPtr, Number(PSTATE.PRIV | PSTATE.PEF));
    uc.regWrite(UC_SPARC_REG_G0 + 1, 0n);
    if (run(at.rdpstate, 1).length || uc.regRead(UC_SPARC_REG_G0 + 1) !== 0x14n) throw fail('rdpr %pstate after setting PSTATE.PRIV');

    // the rest natively, two value sets
    const A1 = 0x1111222233334440n;
    const A2 = 0x5555666677778880n;
    const A3 = 0x0000009900000031n;
    const A4 = 0x0aaa0000bbbb0000n;
    [A1, A2, A3, A4, 0x18000n, 0x5an].forEach((v, i) => uc.regWrite(UC_SPARC_REG_G0 + 1 + i, v));
    if (run(at.wr1, INSN.wr1.length).length) throw fail('the first wrpr set trapped');
    const a = snap();
    uc.regWrite(UC_SPARC_REG_G0 + 5, 0x28000n);
    uc.regWrite(UC_SPARC_REG_G0 + 6, 0xa5n);
    if (run(at.wr2, INSN.wr2.length).length) throw fail('the second wrpr set trapped');
    const b = snap();
    // set A again, then B again: a field reads A, B, A in three snapshots (the searched span
    // ends in heap data that can change between two snapshots, and a 1 -> 0 is common there)
    uc.regWrite(UC_SPARC_REG_G0 + 5, 0x18000n);
    uc.regWrite(UC_SPARC_REG_G0 + 6, 0x5an);
    if (run(at.wr1, INSN.wr1.length).length) throw fail('the first wrpr set trapped the second time');
    const c = snap();
    uc.regWrite(UC_SPARC_REG_G0 + 5, 0x28000n);
    uc.regWrite(UC_SPARC_REG_G0 + 6, 0xa5n);
    if (run(at.wr2, INSN.wr2.length).length) throw fail('the second wrpr set trapped the second time');
    const aba = <T>(find: (dvs: DataView[], vs: T[], from?: number) => number[], x: T, y: T, from?: number) => find([a, b, c], [x, y, x], from);
    const tpc1 = one(find64([a], [A1], 64), 'tpc of TL 1');
    const tpc2 = one(find64([a], [A4], 64), 'tpc of TL 2');
    const stride = tpc2 - tpc1;
    off.tsStride = stride;
    off.ts = tpc1 - stride;
    off.tnpc = one(find64([a], [A2], 64), 'tnpc') - tpc1;
    off.tstate = one(find64([a], [A3], 64), 'tstate') - tpc1;
    off.tt = one(aba(find32, 0x123, 0x77, tpc1).filter((o) => o < tpc1 + stride), 'tt') - tpc1;
    if (u32(a, tpc2 + off.tt) !== 0x45 || u32(b, tpc2 + off.tt) !== 0x66) throw fail('tt of TL 2');
    off.tl = one(aba(find32, 3, 1), 'tl');
    off.cwp = one(aba(find32, 8 - 1 - 2, 8 - 1 - 5), 'cwp (kept as NWINDOWS - 1 - CWP)');
    off.cansave = one(aba(find32, 4, 1), 'cansave');
    off.canrestore = one(aba(find32, 2, 4), 'canrestore');
    off.otherwin = one(aba(find32, 1, 0), 'otherwin');
    off.cleanwin = one(aba(find32, 5, 3), 'cleanwin');
    off.wstate = one(aba(find32, 0x0b, 0x12), 'wstate');
    off.pil = one(aba(find32, 6, 9), 'pil');
    off.tba = one(aba(find64, 0x18000n, 0x28000n, 64), 'tba');
    off.y = one(aba(find64, A1 & 0xffffffffn, A2 & 0xffffffffn, 64), 'y');
    off.asi = one(aba(find32, 0x5a, 0xa5, 64), 'asi');

    // the window pointer: regwptr moves by 16 registers per window
    const envAddr = csAddr + BigInt(env);
    const rws: number[] = [];
    for (let o = 0; o + 8 <= 512; o += 8) {
      const pa = u64(a, o) - envAddr;
      const pb = u64(b, o) - envAddr;
      if (pa > 0n && pa < BigInt(espan) && pa - pb === BigInt((5 - 2) * 128)) rws.push(o);
    }
    off.regwptr = one(rws, 'regwptr');

    // NWINDOWS: the machine's, from %ver
    if (run(at.ver, 1).length) throw fail('rdpr %ver trapped');
    off.nwindows = Number(uc.regRead(UC_SPARC_REG_G0 + 1) & 0x1fn) + 1;
    if (off.nwindows !== 8) throw fail(`${off.nwindows} register windows (the glue and this calibration are written for 8, like the UltraSPARC IV)`);

    // the condition codes: subcc sets N and C in both; cpu_get_ccr computes them into psr/xcc
    run(at.cc, 1);
    if (fn.getCcr(envPtr) !== 0x99n) throw fail('cpu_get_ccr after subcc %g0, 1 is not N|C in both halves');
    const c1 = snap();
    run(at.cc + 4n, 1);
    const c2 = snap();
    off.psr = one(find32([c1, c2], [0x900000, 0x500000]), 'psr (icc)');
    off.xcc = one(find32([c1, c2], [0x900000, 0]), 'xcc');
    off.ccOp = one(find32([p1, c1, c2], [1, 1, 1], 96).filter((o) => o < off.psr!), 'cc_op (CC_OP_FLAGS)');

    // the global sets: with PSTATE.AG the normal globals move to bgregs
    for (let i = 1; i < 8; i++) uc.regWrite(UC_SPARC_REG_G0 + i, magic + BigInt(i));
    fn.changePstate(envPtr, Number(PSTATE.PRIV | PSTATE.PEF | PSTATE.AG));
    const g = snap();
    off.bgregs = one(find64([g], [magic + 1n], (off.cleanwin + 7) & ~7), 'bgregs') - 8;
    for (let i = 1; i < 8; i++) if (u64(g, off.bgregs + 8 * i) !== magic + BigInt(i)) throw fail('bgregs');
    fn.changePstate(envPtr, Number(PSTATE.PRIV | PSTATE.PEF));
    // agregs, bgregs, igregs, mgregs: the last architectural state
    off.stateEnd = off.bgregs + 3 * 64;
    if (off.stateEnd > espan || off.bgregs - 64 < off.cleanwin) throw fail('the global register sets are not where expected');
    run(at.tl0, 1);
    offsets = off as Offsets;
    return offsets;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ the CPU state, in place

/** One engine's CPUSPARCState, read and written where QEMU keeps it. */
export class V9State {
  readonly o: Offsets;
  readonly env: DataView;
  readonly envPtr: unknown;
  private readonly excpView: DataView;
  private readonly fn: Internals;

  constructor(readonly uc: UcEngine) {
    this.o = calibrate();
    this.fn = getInternals(uc.version);
    uc.regRead(UC_SPARC_REG_PC);
    const cs = this.fn.getCpu(uc.handle, -1);
    if (!cs) throw new CalibrationError('SPARC V9', 'qemu_get_cpu_sparc64(uc, -1) returned no CPU', CALIBRATED_WITH, uc.version);
    const csAddr = hostAddress(cs);
    this.envPtr = hostPointer(csAddr + BigInt(this.o.env));
    this.env = hostView(this.envPtr, this.o.stateEnd);
    this.excpView = hostView(hostPointer(csAddr + BigInt(this.o.excp)), 4);
  }

  u32(field: keyof Offsets): number {
    return this.env.getUint32(this.o[field], true);
  }
  setU32(field: keyof Offsets, v: number | bigint): void {
    this.env.setUint32(this.o[field], Number(BigInt.asUintN(32, BigInt(v))), true);
  }
  u64(field: keyof Offsets): bigint {
    return this.env.getBigUint64(this.o[field], true);
  }
  setU64(field: keyof Offsets, v: bigint): void {
    this.env.setBigUint64(this.o[field], BigInt.asUintN(64, v), true);
  }

  get tl(): number {
    return this.u32('tl');
  }
  get pstate(): bigint {
    return BigInt(this.u32('pstate'));
  }
  /** PSTATE through QEMU's writer (the global register sets follow AG). */
  setPstate(v: bigint): void {
    this.fn.changePstate(this.envPtr, Number(v & 0xfffn));
  }
  /** CWP as V9 numbers it (QEMU keeps NWINDOWS - 1 - CWP). */
  get cwp(): number {
    return this.o.nwindows - 1 - this.u32('cwp');
  }
  setCwp(v: number): void {
    const n = this.o.nwindows;
    this.fn.setCwp(this.envPtr, n - 1 - (((v % n) + n) % n));
  }
  /** The trap state of level `tl` (the current one by default). */
  ts(field: 'tpc' | 'tnpc' | 'tstate' | 'tt', tl = this.tl): bigint {
    const base = this.o.ts + tl * this.o.tsStride;
    if (field === 'tt') return BigInt(this.env.getUint32(base + this.o.tt, true));
    return this.env.getBigUint64(base + (field === 'tpc' ? 0 : this.o[field]), true);
  }
  setTs(field: 'tpc' | 'tnpc' | 'tstate' | 'tt', v: bigint, tl = this.tl): void {
    const base = this.o.ts + tl * this.o.tsStride;
    if (field === 'tt') this.env.setUint32(base + this.o.tt, Number(v & 0xffffffffn), true);
    else this.env.setBigUint64(base + (field === 'tpc' ? 0 : this.o[field]), BigInt.asUintN(64, v), true);
  }
  get ccr(): bigint {
    return this.fn.getCcr(this.envPtr);
  }
  /** cpu_put_ccr(): icc and xcc in QEMU's PSR position, cc_op = CC_OP_FLAGS. */
  setCcr(v: bigint): void {
    this.setU32('xcc', Number((v >> 4n) & 0xfn) << 20);
    this.setU32('psr', Number(v & 0xfn) << 20);
    this.setU32('ccOp', 1);
  }
  /** Register r (0-7 outs, 8-15 locals, 16-23 ins) of window `cwp` (V9 numbering). */
  windowReg(cwp: number, r: number): bigint {
    const cur = this.u32('cwp');
    const regbase = Number(this.env.getBigUint64(this.o.regwptr, true) - hostAddress(this.envPtr)) - cur * 128;
    const n = this.o.nwindows;
    const w = n - 1 - (((cwp % n) + n) % n);
    return this.env.getBigUint64(regbase + (w * 16 + r) * 8, true);
  }
  /** The normal %g registers (bgregs while PSTATE.AG holds the alternate set). */
  normalGlobal(i: number): bigint {
    if (this.pstate & PSTATE.AG) return this.env.getBigUint64(this.o.bgregs + 8 * i, true);
    return this.uc.regRead(UC_SPARC_REG_G0 + i);
  }

  /**
   * The V9 trap entry, by QEMU's own code: TL + 1, TSTATE/TPC/TNPC/TT of the new level,
   * PSTATE = PRIV | PEF | AG, the CWP change of a spill/fill/clean_window trap, pc = the
   * vector. Returns the vector, or an error when QEMU would abort (TL at MAXTL - 1: RED
   * state next) or crash (the lazy condition codes never defined).
   */
  trapEntry(tt: number): bigint | string {
    if (this.tl >= MAXTL - 1) return `trap 0x${tt.toString(16)} at TL ${this.tl}: the next level is RED_state (QEMU aborts)`;
    if (this.u32('ccOp') === 0) return `trap 0x${tt.toString(16)} with the condition codes undefined (no cc-setting instruction ran yet)`;
    this.excpView.setInt32(0, tt, true);
    this.fn.doInterrupt(this.excpPtr());
    return this.u64('pc');
  }
  private excpPtr(): unknown {
    return hostPointer(hostAddress(this.envPtr) - BigInt(this.o.env));
  }

  save(): Uint8Array {
    return new Uint8Array(this.env.buffer, this.env.byteOffset, this.o.stateEnd).slice();
  }
  restore(s: Uint8Array): void {
    if (s.length !== this.o.stateEnd) throw new Error(`sparc64: a CPU state of ${s.length} bytes, CPUSPARCState holds ${this.o.stateEnd} here`);
    new Uint8Array(this.env.buffer, this.env.byteOffset, this.o.stateEnd).set(s);
  }
}

const states = new WeakMap<UcEngine, V9State>();
export function v9(uc: UcEngine): V9State {
  let s = states.get(uc);
  if (!s) states.set(uc, (s = new V9State(uc)));
  return s;
}

// ------------------------------------------------------------------ registers

function u32Field(name: 'y' | 'pil' | 'tl' | 'cansave' | 'canrestore' | 'otherwin' | 'wstate' | 'cleanwin' | 'asi'): RegAccess {
  return { read: (uc) => BigInt(v9(uc).u32(name)), write: (uc, v) => v9(uc).setU32(name, v) };
}
function tsField(name: 'tpc' | 'tnpc' | 'tstate' | 'tt'): RegAccess {
  return { read: (uc) => v9(uc).ts(name), write: (uc, v) => v9(uc).setTs(name, v) };
}

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
    npc: { read: (uc: UcEngine) => v9(uc).u64('npc'), write: (uc: UcEngine, v: bigint) => v9(uc).setU64('npc', v) },
    y: { read: (uc: UcEngine) => v9(uc).u64('y'), write: (uc: UcEngine, v: bigint) => v9(uc).setU64('y', v & 0xffffffffn) },
    ccr: { read: (uc: UcEngine) => v9(uc).ccr, write: (uc: UcEngine, v: bigint) => v9(uc).setCcr(v) },
    asi: u32Field('asi'),
    pstate: { read: (uc: UcEngine) => v9(uc).pstate, write: (uc: UcEngine, v: bigint) => v9(uc).setPstate(v) },
    tl: u32Field('tl'),
    pil: u32Field('pil'),
    cwp: { read: (uc: UcEngine) => BigInt(v9(uc).cwp), write: (uc: UcEngine, v: bigint) => v9(uc).setCwp(Number(v)) },
    cansave: u32Field('cansave'),
    canrestore: u32Field('canrestore'),
    otherwin: u32Field('otherwin'),
    wstate: u32Field('wstate'),
    cleanwin: u32Field('cleanwin'),
    tba: { read: (uc: UcEngine) => v9(uc).u64('tba'), write: (uc: UcEngine, v: bigint) => v9(uc).setU64('tba', v & ~0x7fffn) },
    tstate: tsField('tstate'),
    tpc: tsField('tpc'),
    tnpc: tsField('tnpc'),
    tt: tsField('tt'),
  });
  return t;
}

// ------------------------------------------------------------------ the model

/**
 * A delayed control transfer (V9 manual 6.3.4): call, Bicc, BPcc, BPr, FBfcc, FBPfcc,
 * jmpl, return. The instruction after one is its delay slot: npc is not pc + 4 there.
 */
export function isDcti(insn: number): boolean {
  const op = insn >>> 30;
  if (op === 1) return true;
  if (op === 0) return [1, 2, 3, 5, 6].includes((insn >>> 22) & 7);
  if (op === 2) return [0x38, 0x39].includes((insn >>> 19) & 0x3f);
  return false;
}

/** Per machine: the kernel it boots (the return-to-user check reads current). */
const booted = new WeakMap<CpuMachine, KernelApi>();

export const cpu: CpuModel = {
  name: 'SPARC V9',
  returnToUser: {
    patterns: [be32(INSN.retry), be32(INSN.done)],
    check(m, addr, size, stackTop, ptRegsSize) {
      if (size !== 4 || (addr & 3n) !== 0n) return null;
      const w = Number(m.readUint(addr, 4));
      if (w !== INSN.retry && w !== INSN.done) return null;
      const s = v9(m.uc);
      // done/retry go to the state TSTATE of this level holds: user mode when PRIV is clear
      if (s.tl === 0 || s.ts('tstate') & TSTATE.PRIV) return null;
      const pc = w === INSN.retry ? s.ts('tpc') : s.ts('tnpc');
      const expectedSp = stackTop - BigInt(ptRegsSize) - STACKFRAME_SZ;
      const tt = Number(s.ts('tt'));
      // a spill/fill/clean_window handler returns from the window it worked in: it never
      // touched the kernel stack, nothing is on it
      if (tt === TT.CLEAN_WINDOW || (tt >= TT.SPILL && tt < 0x100)) return { pc, sp: expectedSp, expectedSp };
      // rtrap's `restore` left the trap window: its %sp (biased) is the trap frame's
      const state: ReturnToUserState = { pc, sp: s.windowReg(s.cwp + 1, 6) + STACK_BIAS, expectedSp };
      // %g6 is the kernel's current; user mode gets its own back from pt_regs
      const k = booted.get(m);
      if (k) {
        const cur = k.current().addr;
        const user = k.currentPtRegs().get('g6');
        const live = s.normalGlobal(6);
        if (live === cur && user !== cur) state.violation = { contract: 'C12', message: `%g6 still holds the kernel's current (0x${cur.toString(16)}) instead of the user's 0x${user.toString(16)}` };
      }
      return state;
    },
  },
  unicorn: {
    arch: UC_ARCH_SPARC,
    mode: UC_MODE_SPARC64 | UC_MODE_BIG_ENDIAN,
    registers: sparcRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
    pcWriteStaysInBlock: true,
    untilNeverReturns: true,
    state: { save: (uc) => v9(uc).save(), restore: (uc, s) => v9(uc).restore(s) },
  },
  userPrivilege: 0,
  nop: be32(INSN.nop),
  // a stub address is never executed (the bridge's hook moves the pc first); illtrap would stop the run
  stubFill: be32(INSN.illtrap),

  privilege(m) {
    return v9(m.uc).pstate & PSTATE.PRIV ? 1 : 0;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`SPARC privilege is 0 (user) or 1 (PSTATE.PRIV), got ${level}`);
    const s = v9(m.uc);
    s.setPstate(level ? s.pstate | PSTATE.PRIV : s.pstate & ~PSTATE.PRIV);
    m.leaveBlock();
  },

  // Linux masks interrupts with %pil (arch_irqs_disabled_flags: any PIL); PSTATE.IE is off
  // in trap handlers (TL > 0) and on the way out (rtrap)
  irqsEnabled(m) {
    const s = v9(m.uc);
    return (s.pstate & PSTATE.IE) !== 0n && s.u32('pil') === 0;
  },

  // local_irq_enable()/disable(): %pil 0 / PIL_NORMAL_MAX. C runs with PSTATE.IE on.
  setIrqsEnabled(m, on) {
    const s = v9(m.uc);
    s.setU32('pil', on ? 0n : PIL_NORMAL_MAX);
    if (on && !(s.pstate & PSTATE.IE)) s.setPstate(s.pstate | PSTATE.IE);
  },

  irq: {
    // Interrupt level n is taken when PSTATE.IE is on and n > PIL (V9 7.5). In a code hook
    // pc is exact but npc only at a block start: after a delayed control transfer refuse
    // (the interrupt comes one instruction later); after done/retry (which end a block)
    // env's npc is exact; otherwise npc = pc + 4.
    canTake(m) {
      const s = v9(m.uc);
      if (!(s.pstate & PSTATE.IE) || s.tl !== 0 || TIMER_LEVEL <= s.u32('pil')) return false;
      const last = m.lastInstruction();
      return !(last && isDcti(Number(m.readUint(last.addr, 4))));
    },
    take(m, k) {
      const s = v9(m.uc);
      const pc = m.reg('pc');
      const last = m.lastInstruction();
      const lw = last ? Number(m.readUint(last.addr, 4)) : 0;
      if (!(last && (lw === INSN.retry || lw === INSN.done))) s.setU64('npc', pc + 4n);
      s.setU64('pc', pc);
      const vector = s.trapEntry(TT.INTERRUPT + TIMER_LEVEL);
      if (typeof vector === 'string') k.bug('cpu', `sparc64: ${vector}`);
      // the machine leaves the block and starts again at the vector
      m.setReg('pc', vector as bigint);
    },
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const sym = (role: string) => {
      const name = k.desc.symbols[role];
      const a = name === undefined ? undefined : k.symbols.get(name);
      if (a === undefined) throw new Error(`sparc64 cpu model: entry.S defines no ${role} (arch.json symbols.${role})`);
      return a;
    };
    const trapbase = sym('trapTable');
    if (trapbase & 0x7fffn) throw new Error(`sparc64 cpu model: the trap table at ${hex(trapbase)} is not 32 KiB aligned (TBA)`);
    // Unicorn starts in user mode: PSTATE.PRIV first, then head_64.S's own instructions
    // set the rest (the first defines the lazy condition codes)
    const s = v9(m.uc);
    s.setPstate(PSTATE.PRIV | PSTATE.PEF);
    const boot = sym('boot');
    const end = k.symbols.get('sparc64_boot_end');
    if (end === undefined) throw new Error('sparc64 cpu model: entry.S defines no sparc64_boot_end');
    // (Unicorn's own `until` never returns on sparc64: the machine stops there with a hook, untilNeverReturns)
    m.run(boot, { instructions: 64 }, end);
    if (m.reg('pc') !== end || !(s.pstate & PSTATE.PRIV) || !(s.pstate & PSTATE.IE) || s.u32('pil') !== Number(PIL_NORMAL_MAX) || s.u64('tba') !== trapbase || s.tl !== 0) {
      throw new Error(`sparc64 cpu model: after sparc64_boot pc=${hex(m.reg('pc'))} pstate=${hex(s.pstate)} pil=${s.u32('pil')} tl=${s.tl} tba=${hex(s.u64('tba'))}: not privileged at TL 0 with interrupts masked and the trap table in %tba`);
    }

    booted.set(m, k);
    m.hookInterrupt((intno) => {
      const pc = s.u64('pc');
      // Linux's TL > 0 table (bad_trap_tl1 and the like) dies; the kit's glue never traps there
      if (s.tl > 0) k.bug('cpu', `sparc64: trap 0x${intno.toString(16)} at TL ${s.tl}, pc ${hex(pc)} (${k.describePc(pc)}): Linux's trap table for TL > 0 kills the kernel here`);
      const v = s.trapEntry(intno);
      if (typeof v === 'string') k.bug('cpu', `sparc64: ${v} at pc ${hex(pc)}`);
    });
    // An illegal instruction (illtrap) does not reach the interrupt hook: Unicorn ends the
    // run. From user mode it is the illegal_instruction trap (tt 0x10, SIGILL); in the
    // kernel an oops.
    m.hookInvalidInsn(() => {
      const pc = s.u64('pc');
      if (s.pstate & PSTATE.PRIV) k.bug('cpu', `sparc64: illegal instruction ${hex(m.readUint(pc, 4))} in privileged mode at ${hex(pc)} (${k.describePc(pc)})`);
      s.setU64('npc', pc + 4n);
      const v = s.trapEntry(TT.ILLEGAL_INSN);
      if (typeof v === 'string') k.bug('cpu', `sparc64: ${v}`);
      return v as bigint;
    });
    // An instruction fetch from memory nothing is mapped at: the MMU is off, so Unicorn ends
    // the run with an error instead of trapping. From user mode it is the
    // instruction_access_exception trap (tt 0x08, SIGSEGV), as the CPU takes it; in the
    // kernel the error stands.
    m.hookFetchFault((addr) => {
      if (s.pstate & PSTATE.PRIV || s.tl > 0) return null;
      s.setU64('pc', addr);
      s.setU64('npc', addr + 4n);
      const v = s.trapEntry(TT.IAE);
      if (typeof v === 'string') k.bug('cpu', `sparc64: ${v}`);
      return v as bigint;
    });
  },
};
