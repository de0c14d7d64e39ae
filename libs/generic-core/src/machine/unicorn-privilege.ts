// Privilege switching for Unicorn 2.0.1.
//
// Unicorn translates and checks privilege with QEMU's cached `hflags` (x86: CPL in
// bits 0-1; AArch64: the MMU index in TBFLAG_ANY.MMUIDX). Register writes (CS,
// PSTATE) do not refresh it, and going up (syscall/svc/#GP) never happens natively.
// So we save a uc_context (a byte copy of QEMU's CPU state), patch the cached
// fields and restore it. The field offsets are Unicorn-internal: they are found
// once per process by calibration on a scratch engine, from states reached
// natively (x86 `iretq` to CPL3, AArch64 `eret` to EL0), then verified by a
// privileged instruction that must work after the patch.
import koffi from 'koffi';
import type { UnicornLib } from './unicorn-ffi.ts';
import { Uc } from './unicorn-raw.ts';
import {
  UC_ARCH,
  UC_ARM64_REG_PC,
  UC_ARM64_REG_PSTATE,
  UC_ARM64_REG_SP,
  UC_ARM64_REG_SP_EL0,
  UC_HOOK_CODE,
  UC_HOOK_INTR,
  UC_MODE,
  UC_X86_REG_CS,
  UC_X86_REG_ES,
  UC_X86_REG_GDTR,
  UC_X86_REG_RIP,
  UC_X86_REG_RSP,
  UC_X86_REG_SS,
} from './unicorn-tables.ts';

export class PrivilegeCalibrationError extends Error {
  constructor(arch: string, detail: string) {
    super(
      `archkit could not locate Unicorn's cached privilege state (hflags) for ${arch}: ${detail}. ` +
        `Privilege switching relies on Unicorn 2.0.x internals found by calibration at start-up; ` +
        `this libunicorn build lays them out differently. Refusing to run with a privilege level that would not be enforced.`,
    );
    this.name = 'PrivilegeCalibrationError';
  }
}

// ---------------------------------------------------------------- x86-64

export interface X86Offsets {
  hflags: number; // u32; bits 0-1 = CPL
  segs: number; // SegmentCache segs[6] (ES, CS, SS, DS, FS, GS), 24 bytes each
  oldException: number; // i32; -1 when no exception is in flight
}

const SEG_SIZE = 24; // {u32 selector; u64 base; u32 limit; u32 flags}
const R_CS = 1;
const R_SS = 2;
const HF_LMA = 1 << 14;
const HF_CS64 = 1 << 15;

/** Linux's flat 64-bit descriptors, used when the selector is not in guest memory. */
export const LINUX_GDT: Record<number, bigint> = {
  0x10: 0x00af9b000000ffffn, // __KERNEL_CS
  0x18: 0x00cf93000000ffffn, // __KERNEL_DS
  0x23: 0x00cffb000000ffffn, // __USER32_CS
  0x2b: 0x00cff3000000ffffn, // __USER_DS
  0x33: 0x00affb000000ffffn, // __USER_CS
};
export const X86_KERNEL_CS = 0x10;
export const X86_KERNEL_SS = 0x18;
export const X86_USER_CS = 0x33;
export const X86_USER_SS = 0x2b;

interface SegCache {
  selector: number;
  base: bigint;
  limit: number;
  flags: number;
}

/** Decodes a descriptor the way QEMU's load_segment/cpu_x86_load_seg_cache do. */
export function decodeDescriptor(selector: number, desc: bigint): SegCache {
  const e1 = Number(desc & 0xffffffffn);
  const e2 = Number((desc >> 32n) & 0xffffffffn);
  let limit = (e1 & 0xffff) | (e2 & 0x000f0000);
  if (e2 & (1 << 23)) limit = ((limit << 12) | 0xfff) >>> 0;
  const base = BigInt(((e1 >>> 16) | ((e2 & 0xff) << 16) | (e2 & 0xff000000)) >>> 0);
  return { selector, base, limit, flags: (e2 | (1 << 8)) >>> 0 }; // accessed bit, as a real load sets it
}

export function writeSeg(dv: DataView, off: X86Offsets, seg: number, s: SegCache): void {
  const o = off.segs + seg * SEG_SIZE;
  dv.setUint32(o, s.selector, true);
  dv.setBigUint64(o + 8, s.base, true);
  dv.setUint32(o + 16, s.limit, true);
  dv.setUint32(o + 20, s.flags, true);
}

export function readSegSelector(dv: DataView, off: X86Offsets, seg: number): number {
  return dv.getUint32(off.segs + seg * SEG_SIZE, true);
}
export function readSegFlags(dv: DataView, off: X86Offsets, seg: number): number {
  return dv.getUint32(off.segs + seg * SEG_SIZE + 20, true);
}

/**
 * Puts the CPU at `cpl` with CS/SS loaded from `cs`/`ss` (descriptors read through
 * `descriptorOf`). Only the privilege state changes; rip/rsp/rflags are the caller's.
 */
export function x86SetCpl(
  uc: Uc,
  off: X86Offsets,
  cpl: number,
  cs: number,
  ss: number,
  descriptorOf: (sel: number) => bigint,
): void {
  const dv = uc.saveContext();
  writeSeg(dv, off, R_CS, decodeDescriptor(cs, descriptorOf(cs)));
  writeSeg(dv, off, R_SS, decodeDescriptor(ss, descriptorOf(ss)));
  const h = dv.getUint32(off.hflags, true);
  dv.setUint32(off.hflags, ((h & ~3) | cpl) >>> 0, true);
  uc.restoreContext();
}

export function x86Cpl(uc: Uc, off: X86Offsets): number {
  return uc.saveContext().getUint32(off.hflags, true) & 3;
}

/** Clears QEMU's "exception in flight" marker (env->old_exception) if set. */
export function x86ClearOldException(uc: Uc, off: X86Offsets): boolean {
  const dv = uc.saveContext();
  if (dv.getInt32(off.oldException, true) === -1) return false;
  dv.setInt32(off.oldException, -1, true);
  uc.restoreContext();
  return true;
}

function words(a: Uint8Array): DataView {
  return new DataView(a.buffer, a.byteOffset, a.byteLength);
}

function findWords(a: Uint8Array, pred: (o: number) => boolean): number[] {
  const r: number[] = [];
  for (let o = 0; o + 4 <= a.length; o += 4) if (pred(o)) r.push(o);
  return r;
}

const x86Cache = new Map<string, X86Offsets>();

export function calibrateX86(lib: UnicornLib): X86Offsets {
  const hit = x86Cache.get(lib.path);
  if (hit) return hit;
  const uc = new Uc(lib, UC_ARCH.x86!, UC_MODE['64']!);
  try {
    uc.memMap(0n, 0x10000, 7);
    const gdt = Buffer.alloc(7 * 8);
    for (const [sel, d] of Object.entries(LINUX_GDT)) gdt.writeBigUInt64LE(d, Number(sel) & ~7);
    uc.memWrite(0x1000n, gdt);
    uc.mmrWrite(UC_X86_REG_GDTR, 0x1000n, gdt.length - 1);
    // push $0x2b; push $0x8000; push $0x202; push $0x33; push $0x3000; iretq
    uc.memWrite(0x2000n, Uint8Array.from([0x6a, 0x2b, 0x68, 0, 0x80, 0, 0, 0x68, 2, 2, 0, 0, 0x6a, 0x33, 0x68, 0, 0x30, 0, 0, 0x48, 0xcf]));
    uc.memWrite(0x2100n, Uint8Array.from([0xfa, 0xf4])); // cli; hlt (CPL0)
    uc.memWrite(0x3000n, Uint8Array.from([0x90, 0xfa, 0xf4])); // nop; cli (#GP at CPL3); hlt

    // Segment cache array: in 64-bit mode a register write of ES only stores the selector.
    uc.regWrite(UC_X86_REG_ES, 0x1234n);
    const e1 = uc.snapshot();
    uc.regWrite(UC_X86_REG_ES, 0x4321n);
    const e2 = uc.snapshot();
    uc.regWrite(UC_X86_REG_ES, 0n);
    const esCand = findWords(e1, (o) => words(e1).getUint32(o, true) === 0x1234 && words(e2).getUint32(o, true) === 0x4321);
    if (esCand.length !== 1) throw new PrivilegeCalibrationError('x86-64', `segment cache not found (${esCand.length} candidates)`);
    const segs = esCand[0]!;

    uc.regWrite(UC_X86_REG_CS, BigInt(X86_KERNEL_CS));
    uc.regWrite(UC_X86_REG_SS, BigInt(X86_KERNEL_SS));
    uc.regWrite(UC_X86_REG_RSP, 0x7000n);
    const A = uc.snapshot();

    let B: Uint8Array | null = null;
    let found: X86Offsets | null = null;
    let intrs: number[] = [];
    let failure: Error | null = null;
    const codeCb = koffi.register(() => {
      B = uc.snapshot();
    }, koffi.pointer(lib.HookCode));
    const intrCb = koffi.register((_u: unknown, intno: number) => {
      intrs.push(intno);
      try {
        if (intrs.length === 1) {
          if (intno !== 13 || !B) throw new PrivilegeCalibrationError('x86-64', `expected #GP (13) from cli at CPL3, got ${intno}`);
          const C = uc.snapshot();
          const a = words(A);
          const b = words(B);
          const c = words(C);
          const hf = findWords(A, (o) => {
            const h = a.getUint32(o, true);
            return (h & 3) === 0 && (h & HF_LMA) !== 0 && (h & HF_CS64) !== 0 && b.getUint32(o, true) === (h | 3) >>> 0;
          });
          const oe = findWords(A, (o) => a.getInt32(o, true) === -1 && c.getInt32(o, true) === 13);
          if (hf.length !== 1) throw new PrivilegeCalibrationError('x86-64', `hflags not found (${hf.length} candidates)`);
          if (oe.length !== 1) throw new PrivilegeCalibrationError('x86-64', `old_exception not found (${oe.length} candidates)`);
          found = { hflags: hf[0]!, segs, oldException: oe[0]! };
          const cs3 = readSegSelector(b, found, R_CS);
          const ss3 = readSegSelector(b, found, R_SS);
          if (cs3 !== X86_USER_CS || ss3 !== X86_USER_SS || ((readSegFlags(b, found, R_CS) >> 13) & 3) !== 3) {
            throw new PrivilegeCalibrationError('x86-64', `segment cache layout unexpected (cs=0x${cs3.toString(16)} ss=0x${ss3.toString(16)})`);
          }
          // A second #GP must again be 13 once the marker is cleared (else it is a #DF).
          x86ClearOldException(uc, found);
          uc.regWrite(UC_X86_REG_RIP, 0x3001n);
        } else if (intrs.length === 2 && intno === 13 && found) {
          x86ClearOldException(uc, found);
          x86SetCpl(uc, found, 0, X86_KERNEL_CS, X86_KERNEL_SS, (s) => LINUX_GDT[s]!);
          uc.regWrite(UC_X86_REG_RIP, 0x2100n); // cli must now work; hlt ends the run
        } else {
          lib.uc_emu_stop(uc.handle);
        }
      } catch (e) {
        failure = e as Error;
        lib.uc_emu_stop(uc.handle);
      }
    }, koffi.pointer(lib.HookIntr));
    try {
      const hh = [0];
      uc.check('hook', lib.uc_hook_add(uc.handle, hh, UC_HOOK_CODE, codeCb, null, 0x3000n, 0x3000n));
      uc.check('hook', lib.uc_hook_add(uc.handle, hh, UC_HOOK_INTR, intrCb, null, 1n, 0n));
      const err = lib.uc_emu_start(uc.handle, 0x2000n, 0xffffn, 2_000_000n, 1000) as number;
      if (failure) throw failure;
      const rip = uc.regRead(UC_X86_REG_RIP);
      if (err || !found || intrs.length !== 2 || rip !== 0x2102n) {
        throw new PrivilegeCalibrationError(
          'x86-64',
          `verification run failed (err=${err}, interrupts=[${intrs.join(',')}], rip=0x${rip.toString(16)})`,
        );
      }
    } finally {
      koffi.unregister(codeCb);
      koffi.unregister(intrCb);
    }
    x86Cache.set(lib.path, found);
    return found;
  } finally {
    uc.close();
  }
}

// ---------------------------------------------------------------- AArch64

export interface Arm64Offsets {
  hflags: number; // u32 TBFLAGS cache
  /** Bits of hflags that differ between EL0 and EL1 (MMU index and friends). */
  mask: number;
  /** hflags & mask as computed natively at EL0 / EL1. */
  byEl: [number, number];
}

const PSTATE_EL_SHIFT = 2;

export function arm64El(uc: Uc): number {
  return Number((uc.regRead(UC_ARM64_REG_PSTATE) >> BigInt(PSTATE_EL_SHIFT)) & 3n);
}

/** Index of the SP_ELx bank that xregs[31] currently stands for. */
export function arm64LiveSpBank(pstate: bigint): number {
  const el = Number((pstate >> 2n) & 3n);
  return el !== 0 && (pstate & 1n) !== 0n ? el : 0;
}

/**
 * Sets PSTATE.M[3:0] (0b0000 EL0t, 0b0100 EL1t, 0b0101 EL1h), banking SP as an
 * exception entry/return does, and patches hflags so translation uses the new EL.
 * Other PSTATE bits (NZCV, DAIF) are left alone.
 */
export function arm64SetMode(uc: Uc, off: Arm64Offsets, mode: number): void {
  const el = (mode >> PSTATE_EL_SHIFT) & 3;
  if (el > 1 || (el === 0 && mode !== 0)) {
    throw new RangeError(`AArch64 mode 0x${mode.toString(16)} not supported (EL0t, EL1t, EL1h only)`);
  }
  const pstate = uc.regRead(UC_ARM64_REG_PSTATE);
  const sp = uc.regRead(UC_ARM64_REG_SP);
  uc.regWrite(UC_ARM64_REG_SP_EL0 + arm64LiveSpBank(pstate), sp);
  const next = (pstate & ~0xfn) | BigInt(mode & 0xf);
  uc.regWrite(UC_ARM64_REG_PSTATE, next);
  uc.regWrite(UC_ARM64_REG_SP, uc.regRead(UC_ARM64_REG_SP_EL0 + arm64LiveSpBank(next)));
  const dv = uc.saveContext();
  const h = dv.getUint32(off.hflags, true);
  dv.setUint32(off.hflags, ((h & ~off.mask) | off.byEl[el]!) >>> 0, true);
  uc.restoreContext();
}

const arm64Cache = new Map<string, Arm64Offsets>();

const A64 = {
  eret: 0xd69f03e0,
  nop: 0xd503201f,
  svc0: 0xd4000001,
  mrsX0ElrEl1: 0xd5384020,
};

export function calibrateArm64(lib: UnicornLib): Arm64Offsets {
  const hit = arm64Cache.get(lib.path);
  if (hit) return hit;
  const uc = new Uc(lib, UC_ARCH.arm64!, UC_MODE.arm!);
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
    const startEl = arm64El(uc);
    if (startEl !== 1) throw new PrivilegeCalibrationError('arm64', `Unicorn starts at EL${startEl}, expected EL1`);
    uc.regWrite(UC_ARM64_REG_SP, 0x7000n);
    uc.regWrite(UC_ARM64_REG_SP_EL0, 0x8000n);
    uc.regWrite(267, 0x2000n); // ELR_EL1
    uc.cpWrite({ op0: 3, op1: 0, crn: 4, crm: 0, op2: 0 }, 0n); // SPSR_EL1 = EL0t, DAIF clear
    const A = uc.snapshot();

    let B: Uint8Array | null = null;
    let off: Arm64Offsets | null = null;
    let failure: Error | null = null;
    const intrs: number[] = [];
    const codeCb = koffi.register(() => {
      B = uc.snapshot();
    }, koffi.pointer(lib.HookCode));
    const intrCb = koffi.register((_u: unknown, intno: number) => {
      intrs.push(intno);
      try {
        if (intrs.length !== 1 || intno !== 2 || !B) {
          throw new PrivilegeCalibrationError('arm64', `expected svc (intno 2) once at EL0, got [${intrs.join(',')}]`);
        }
        if (arm64El(uc) !== 0) throw new PrivilegeCalibrationError('arm64', 'eret did not reach EL0');
        const a = words(A);
        const b = words(B);
        const cand = findWords(A, (o) => {
          const x = a.getUint32(o, true);
          const y = b.getUint32(o, true);
          return (x & 0x80000000) !== 0 && (y & 0x80000000) !== 0 && ((x ^ y) & 0x0f000000) !== 0;
        });
        if (cand.length !== 1) throw new PrivilegeCalibrationError('arm64', `hflags not found (${cand.length} candidates)`);
        const o = cand[0]!;
        const h1 = a.getUint32(o, true);
        const h0 = b.getUint32(o, true);
        const mask = (h1 ^ h0) >>> 0;
        off = { hflags: o, mask, byEl: [(h0 & mask) >>> 0, (h1 & mask) >>> 0] };
        arm64SetMode(uc, off, 0b0101);
        uc.regWrite(UC_ARM64_REG_PC, 0x3000n);
      } catch (e) {
        failure = e as Error;
        lib.uc_emu_stop(uc.handle);
      }
    }, koffi.pointer(lib.HookIntr));
    try {
      const hh = [0];
      uc.check('hook', lib.uc_hook_add(uc.handle, hh, UC_HOOK_CODE, codeCb, null, 0x2000n, 0x2000n));
      uc.check('hook', lib.uc_hook_add(uc.handle, hh, UC_HOOK_INTR, intrCb, null, 1n, 0n));
      const err = lib.uc_emu_start(uc.handle, 0x1000n, 0x3004n, 2_000_000n, 1000) as number;
      if (failure) throw failure;
      const pc = uc.regRead(UC_ARM64_REG_PC);
      const x0 = uc.regRead(199);
      if (err || !off || pc !== 0x3004n || x0 !== 0x2000n || arm64El(uc) !== 1) {
        throw new PrivilegeCalibrationError(
          'arm64',
          `verification run failed (err=${err}, pc=0x${pc.toString(16)}, x0=0x${x0.toString(16)})`,
        );
      }
    } finally {
      koffi.unregister(codeCb);
      koffi.unregister(intrCb);
    }
    arm64Cache.set(lib.path, off);
    return off;
  } finally {
    uc.close();
  }
}
