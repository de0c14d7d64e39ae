// The x86-64 CPU on Unicorn 2: its register table, the privilege level Unicorn caches,
// and what Unicorn does not do for us: the SYSCALL instruction's privilege transition
// (Unicorn only reports it through UC_HOOK_INSN), the delivery of exceptions and external
// interrupts through the IDT gates in guest memory (Unicorn reports exceptions through
// UC_HOOK_INTR and never reads an IDT, and has no interrupt controller), plus the
// boot-time state Linux's cpu_init()/syscall_init() set up: a GDT with Linux's selectors,
// the IDT, the TSS whose sp0 is the top of the per-cpu entry stack, the SYSCALL MSRs and
// the kernel's GS base. IRETQ back to user mode, SWAPGS, STI/CLI and the CPL checks on
// privileged instructions are the emulator's own.
//
// Privilege: Unicorn 2.0.1 translates and checks with QEMU's cached `hflags` (CPL in bits
// 0-1) and segment cache, which register writes of CS/SS do not refresh. setPrivilege
// patches them in a saved uc_context at offsets found once per process by calibration:
// states reached natively (iretq to CPL3, a #GP at CPL3) are diffed on a scratch engine,
// then verified by a privileged instruction that must work after the patch.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { CalibrationError, UcEngine, dataView, findWords } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';
import { perCpuBase } from '@archkit/generic-core/kernel/layout';

// ---------------------------------------------------------------- Unicorn (unicorn.h, x86.h)

const UC_ARCH_X86 = 4;
const UC_MODE_64 = 1 << 3;
const UC_X86_INS_SYSCALL = 699;
const UC_X86_REG_CS = 11;
const UC_X86_REG_SS = 49;
const UC_X86_REG_ES = 28;
const UC_X86_REG_RIP = 41;
const UC_X86_REG_RSP = 44;
const UC_X86_REG_RFLAGS = 253;
const UC_X86_REG_IDTR = 242;
const UC_X86_REG_GDTR = 243;
const UC_X86_REG_TR = 245;
const UC_X86_REG_MSR = 248;

/** uc_x86_msr {u32 rid; u64 value} */
function msr(index: number): RegAccess {
  return {
    read: (uc) => uc.regReadStruct(UC_X86_REG_MSR, (b) => b.writeUInt32LE(index >>> 0, 0), `MSR 0x${index.toString(16)}`).readBigUInt64LE(8),
    write: (uc, v) =>
      uc.regWriteStruct(UC_X86_REG_MSR, (b) => {
        b.writeUInt32LE(index >>> 0, 0);
        b.writeBigUInt64LE(BigInt.asUintN(64, v), 8);
      }, `MSR 0x${index.toString(16)}`),
  };
}

/** uc_x86_mmr {u16 selector; u64 base; u32 limit; u32 flags} */
function writeTableReg(uc: UcEngine, id: number, base: bigint, limit: number): void {
  uc.regWriteStruct(id, (b) => {
    b.writeBigUInt64LE(BigInt.asUintN(64, base), 8);
    b.writeUInt32LE(limit >>> 0, 16);
  });
}

function readTableReg(uc: UcEngine, id: number): { base: bigint; limit: number } {
  const b = uc.regReadStruct(id, () => {});
  return { base: b.readBigUInt64LE(8), limit: b.readUInt32LE(16) };
}

export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_SYSCALL_MASK = 0xc0000084;
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;

function x86Registers(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  const gp: Array<[string, number]> = [
    ['rax', 35], ['rbx', 37], ['rcx', 38], ['rdx', 40], ['rsi', 43], ['rdi', 39], ['rbp', 36], ['rsp', UC_X86_REG_RSP],
  ];
  for (const [n, id] of gp) t[n] = id;
  for (let i = 8; i <= 15; i++) t[`r${i}`] = 106 + i - 8;
  Object.assign(t, {
    rip: UC_X86_REG_RIP, rflags: UC_X86_REG_RFLAGS, eflags: 25,
    cs: UC_X86_REG_CS, ss: UC_X86_REG_SS, ds: 17, es: UC_X86_REG_ES, fs: 32, gs: 33,
    fs_base: 250, gs_base: 251, cr0: 50, cr2: 52, cr3: 53, cr4: 54, cr8: 58,
    efer: msr(MSR_EFER), star: msr(MSR_STAR), lstar: msr(MSR_LSTAR), fmask: msr(MSR_SYSCALL_MASK),
    kernel_gs_base: msr(MSR_KERNEL_GS_BASE),
  });
  for (let i = 0; i <= 7; i++) t[`dr${i}`] = 66 + i;
  return t;
}

// ---------------------------------------------------------------- architecture facts

/**
 * Linux's 64-bit GDT (arch/x86/include/asm/segment.h, cpu/common.c gdt_page), by entry:
 * 1 KERNEL32_CS, 2 KERNEL_CS (0x10), 3 KERNEL_DS (0x18), 4 USER32_CS (0x23),
 * 5 USER_DS (0x2b), 6 USER_CS (0x33). Flat; L=1 on the 64-bit code segments.
 */
export const GDT: bigint[] = [
  0n,
  0x00cf9b000000ffffn,
  0x00af9b000000ffffn,
  0x00cf93000000ffffn,
  0x00cffb000000ffffn,
  0x00cff3000000ffffn,
  0x00affb000000ffffn,
];
export const KERNEL_CS = 0x10;
export const KERNEL_DS = 0x18;
export const USER32_CS = 0x23;
export const USER_DS = 0x2b;
export const USER_CS = 0x33;

/** Where the GDT, IDT, TSS and the entry stack live: the arch-private part of kernel data. */
export const GDT_OFFSET = 0x8000n;
export const IDT_OFFSET = 0x9000n;
export const TSS_OFFSET = 0xa000n;
/** cpu_entry_stack: where the CPU puts the frame of an entry from CPL3 (TSS.sp0 is its top). */
export const ENTRY_STACK_OFFSET = 0xb000n;
export const ENTRY_STACK_SIZE = 0x1000n;
/** struct x86_hw_tss: reserved1 (u32), then sp0. */
const TSS_SP0 = 4n;
const TSS_SIZE = 0x68;

export const EFLAGS = {
  CF: 0x1n, FIXED: 0x2n, PF: 0x4n, AF: 0x10n, ZF: 0x40n, SF: 0x80n, TF: 0x100n, IF: 0x200n,
  DF: 0x400n, OF: 0x800n, IOPL: 0x3000n, NT: 0x4000n, RF: 0x10000n, AC: 0x40000n, ID: 0x200000n,
} as const;

/** syscall_init(): every flag the kernel must not inherit from user mode, IF included. */
export const SYSCALL_MASK =
  EFLAGS.CF | EFLAGS.PF | EFLAGS.AF | EFLAGS.ZF | EFLAGS.SF | EFLAGS.TF | EFLAGS.IF | EFLAGS.DF |
  EFLAGS.OF | EFLAGS.IOPL | EFLAGS.NT | EFLAGS.RF | EFLAGS.AC | EFLAGS.ID;

/** STAR[47:32] = SYSCALL CS (SS = +8); STAR[63:48] = SYSRET base (CS = +16, SS = +8). */
export const STAR = ((BigInt(USER32_CS) << 16n) | BigInt(KERNEL_CS)) << 32n;

const VECTOR_NAMES: Record<number, string> = {
  0: '#DE divide error', 1: '#DB debug', 3: '#BP breakpoint', 4: '#OF overflow', 5: '#BR bound',
  6: '#UD invalid opcode', 7: '#NM device not available', 8: '#DF double fault',
  10: '#TS invalid TSS', 11: '#NP segment not present', 12: '#SS stack fault',
  13: '#GP general protection', 14: '#PF page fault', 16: '#MF x87 error', 17: '#AC alignment check',
  18: '#MC machine check', 19: '#XM SIMD exception',
};

/** #GP: the vector Linux turns into SIGSEGV for a user task (exc_general_protection). */
export const X86_TRAP_GP = 13;

/** The first vector of an external interrupt (arch/x86/include/asm/irq_vectors.h); the scenarios' timer. */
export const FIRST_EXTERNAL_VECTOR = 0x20;

/**
 * The IDT gates idt_setup_*() installs that this model delivers, by vector, with the
 * entry.S label the gate points at. Of the exceptions only #GP: #UD (ud2) ends the run
 * with UC_ERR_INSN_INVALID in Unicorn 2.0.1 and never reaches the interrupt hook.
 */
export const IDT_GATES: Record<number, string> = {
  [X86_TRAP_GP]: 'asm_exc_general_protection',
  [FIRST_EXTERNAL_VECTOR]: 'irq_entries_start',
};

/** The user-mode exceptions delivered through their gate. */
const USER_EXCEPTIONS = new Set([X86_TRAP_GP]);

/** A 64-bit interrupt gate (type 0xE, present, DPL 0) to `handler` in the kernel code segment. */
export function interruptGate(handler: bigint): [bigint, bigint] {
  const lo = (handler & 0xffffn) | (BigInt(KERNEL_CS) << 16n) | (0x8e00n << 32n) | (((handler >> 16n) & 0xffffn) << 48n);
  return [lo, (handler >> 32n) & 0xffffffffn];
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

// ---------------------------------------------------------------- privilege (calibrated)

interface Offsets {
  hflags: number; // u32; bits 0-1 = CPL
  segs: number; // SegmentCache segs[6] (ES, CS, SS, DS, FS, GS), 24 bytes each
  oldException: number; // i32; -1 when no exception is in flight
}

const SEG_SIZE = 24; // {u32 selector; u64 base; u32 limit; u32 flags}
const R_CS = 1;
const R_SS = 2;
const HF_LMA = 1 << 14;
const HF_CS64 = 1 << 15;

/** Decodes a descriptor the way QEMU's load_segment/cpu_x86_load_seg_cache do. */
function decodeDescriptor(selector: number, desc: bigint): { selector: number; base: bigint; limit: number; flags: number } {
  const e1 = Number(desc & 0xffffffffn);
  const e2 = Number((desc >> 32n) & 0xffffffffn);
  let limit = (e1 & 0xffff) | (e2 & 0x000f0000);
  if (e2 & (1 << 23)) limit = ((limit << 12) | 0xfff) >>> 0;
  const base = BigInt(((e1 >>> 16) | ((e2 & 0xff) << 16) | (e2 & 0xff000000)) >>> 0);
  return { selector, base, limit, flags: (e2 | (1 << 8)) >>> 0 }; // accessed bit, as a real load sets it
}

function writeSeg(dv: DataView, off: Offsets, seg: number, desc: bigint, selector: number): void {
  const s = decodeDescriptor(selector, desc);
  const o = off.segs + seg * SEG_SIZE;
  dv.setUint32(o, s.selector, true);
  dv.setBigUint64(o + 8, s.base, true);
  dv.setUint32(o + 16, s.limit, true);
  dv.setUint32(o + 20, s.flags, true);
}

const segSelector = (dv: DataView, off: Offsets, seg: number) => dv.getUint32(off.segs + seg * SEG_SIZE, true);
const segFlags = (dv: DataView, off: Offsets, seg: number) => dv.getUint32(off.segs + seg * SEG_SIZE + 20, true);

/** CPL `cpl` with CS/SS loaded from the descriptors of `cs`/`ss`; rip/rsp/rflags are the caller's. */
function setCpl(uc: UcEngine, off: Offsets, cpl: number, cs: number, ss: number, descriptorOf: (sel: number) => bigint): void {
  const dv = uc.saveContext();
  writeSeg(dv, off, R_CS, descriptorOf(cs), cs);
  writeSeg(dv, off, R_SS, descriptorOf(ss), ss);
  const h = dv.getUint32(off.hflags, true);
  dv.setUint32(off.hflags, ((h & ~3) | cpl) >>> 0, true);
  uc.restoreContext();
}

/** Clears QEMU's "exception in flight" marker (env->old_exception) if set. */
function clearOldException(uc: UcEngine, off: Offsets): void {
  const dv = uc.saveContext();
  if (dv.getInt32(off.oldException, true) === -1) return;
  dv.setInt32(off.oldException, -1, true);
  uc.restoreContext();
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

function gdtDescriptor(sel: number): bigint {
  const d = GDT[sel >> 3];
  if (d === undefined) throw new Error(`selector 0x${sel.toString(16)} is not in Linux's GDT`);
  return d;
}

function calibrate(): Offsets {
  if (offsets) return offsets;
  const fail = (detail: string, version: string) => new CalibrationError('x86-64', detail, CALIBRATED_WITH, version);
  const uc = UcEngine.open(UC_ARCH_X86, UC_MODE_64);
  const version = uc.version;
  try {
    uc.memMap(0n, 0x10000, 7);
    const gdt = Buffer.alloc(GDT.length * 8);
    GDT.forEach((d, i) => gdt.writeBigUInt64LE(d, i * 8));
    uc.memWrite(0x1000n, gdt);
    writeTableReg(uc, UC_X86_REG_GDTR, 0x1000n, gdt.length - 1);
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
    const esCand = findWords(e1, (o) => dataView(e1).getUint32(o, true) === 0x1234 && dataView(e2).getUint32(o, true) === 0x4321);
    if (esCand.length !== 1) throw fail(`segment cache not found (${esCand.length} candidates)`, version);
    const segs = esCand[0]!;

    uc.regWrite(UC_X86_REG_CS, BigInt(KERNEL_CS));
    uc.regWrite(UC_X86_REG_SS, BigInt(KERNEL_DS));
    uc.regWrite(UC_X86_REG_RSP, 0x7000n);
    const A = uc.snapshot();

    let B: Uint8Array | null = null;
    let found: Offsets | null = null;
    const intrs: number[] = [];
    let failure: Error | null = null;
    uc.onCode(0x3000n, 0x3000n, () => {
      B = uc.snapshot();
    });
    uc.onInterrupt((intno) => {
      intrs.push(intno);
      try {
        if (intrs.length === 1) {
          if (intno !== 13 || !B) throw fail(`expected #GP (13) from cli at CPL3, got ${intno}`, version);
          const C = uc.snapshot();
          const a = dataView(A);
          const b = dataView(B);
          const c = dataView(C);
          const hf = findWords(A, (o) => {
            const h = a.getUint32(o, true);
            return (h & 3) === 0 && (h & HF_LMA) !== 0 && (h & HF_CS64) !== 0 && b.getUint32(o, true) === (h | 3) >>> 0;
          });
          const oe = findWords(A, (o) => a.getInt32(o, true) === -1 && c.getInt32(o, true) === 13);
          if (hf.length !== 1) throw fail(`hflags not found (${hf.length} candidates)`, version);
          if (oe.length !== 1) throw fail(`old_exception not found (${oe.length} candidates)`, version);
          found = { hflags: hf[0]!, segs, oldException: oe[0]! };
          const cs3 = segSelector(b, found, R_CS);
          const ss3 = segSelector(b, found, R_SS);
          if (cs3 !== USER_CS || ss3 !== USER_DS || ((segFlags(b, found, R_CS) >> 13) & 3) !== 3) {
            throw fail(`segment cache layout unexpected (cs=0x${cs3.toString(16)} ss=0x${ss3.toString(16)})`, version);
          }
          // A second #GP must again be 13 once the marker is cleared (else it is a #DF).
          clearOldException(uc, found);
          uc.regWrite(UC_X86_REG_RIP, 0x3001n);
        } else if (intrs.length === 2 && intno === 13 && found) {
          clearOldException(uc, found);
          setCpl(uc, found, 0, KERNEL_CS, KERNEL_DS, gdtDescriptor);
          uc.regWrite(UC_X86_REG_RIP, 0x2100n); // cli must now work; hlt ends the run
        } else {
          uc.stop();
        }
      } catch (e) {
        failure = e as Error;
        uc.stop();
      }
    });
    const err = uc.start(0x2000n, 0xffffn, 2_000_000n, 1000);
    if (failure) throw failure;
    const rip = uc.regRead(UC_X86_REG_RIP);
    if (err || !found || intrs.length !== 2 || rip !== 0x2102n) {
      throw fail(`verification run failed (err=${err}, interrupts=[${intrs.join(',')}], rip=0x${rip.toString(16)})`, version);
    }
    offsets = found;
    return found;
  } finally {
    uc.close();
  }
}

// ---------------------------------------------------------------- the architecture's own steps

/** The handler of IDT gate `vector` (read from guest memory through IDTR); null when not present. */
function gateHandler(m: CpuMachine, vector: number): { handler: bigint; trapGate: boolean } | null {
  const idtr = readTableReg(m.uc, UC_X86_REG_IDTR);
  if (vector * 16 + 15 > idtr.limit) return null;
  const lo = m.readUint(idtr.base + BigInt(vector * 16), 8);
  const hi = m.readUint(idtr.base + BigInt(vector * 16 + 8), 8);
  if (!(lo & (1n << 47n))) return null;
  const type = Number((lo >> 40n) & 0xfn);
  const handler = (lo & 0xffffn) | (((lo >> 48n) & 0xffffn) << 16n) | ((hi & 0xffffffffn) << 32n);
  return { handler, trapGate: type === 0xf };
}

/** TSS.sp0 of the TSS that TR points at. */
export function tssSp0(m: CpuMachine): bigint {
  const tr = readTableReg(m.uc, UC_X86_REG_TR);
  return m.readUint(tr.base + TSS_SP0, 8);
}

/**
 * Delivery through a 64-bit IDT gate (Intel SDM vol. 3A 6.14, "Exception and Interrupt
 * Handling in 64-bit Mode"): from CPL 3 rsp = TSS.sp0, else the current rsp; aligned down
 * to 16; push SS, RSP, RFLAGS, CS, RIP and, for exceptions that have one, the error code;
 * CPL 0 with the kernel CS/SS; RFLAGS.TF/NT/RF cleared and, through an interrupt gate, IF;
 * rip = the gate's handler. GS is untouched: the handler runs with the user's GS base
 * until its swapgs. rip must be the instruction to return to (the faulting one for a
 * fault, the next one to run for an interrupt).
 */
export function idtDelivery(m: CpuMachine, k: KernelApi, vector: number, errorCode: bigint | null): bigint {
  const gate = gateHandler(m, vector);
  if (!gate) return k.bug('cpu', `vector ${vector} (${VECTOR_NAMES[vector] ?? 'external interrupt'}) has no present IDT gate: a triple fault on real hardware`);
  const cpl = cpu.privilege(m);
  const rflags = m.reg('rflags');
  const frame = [m.reg('ss'), m.reg('rsp'), rflags, m.reg('cs'), m.reg('rip')];
  if (errorCode !== null) frame.push(errorCode);
  let sp = (cpl === 3 ? tssSp0(m) : m.reg('rsp')) & ~0xfn;
  for (const v of frame) {
    sp -= 8n;
    m.writeUint(sp, 8, v);
  }
  if (cpl !== 0) cpu.setPrivilege(m, 0);
  m.setReg('rsp', sp);
  const cleared = EFLAGS.TF | EFLAGS.NT | EFLAGS.RF | (gate.trapGate ? 0n : EFLAGS.IF);
  m.setReg('rflags', (rflags & ~cleared) | EFLAGS.FIXED);
  m.setReg('rip', gate.handler);
  return sp;
}

/** The instruction just executed holds off interrupts for one more (STI, MOV SS, POP SS: SDM 6.8.3). */
function interruptShadow(m: CpuMachine): boolean {
  const last = m.lastInstruction();
  if (!last) return false;
  const b = m.read(last.addr, Math.min(last.size, 15));
  let i = 0;
  while (i < b.length && (b[i]! === 0x66 || b[i]! === 0x67 || (b[i]! >= 0x40 && b[i]! <= 0x4f))) i++; // operand/address size, REX
  const op = b[i];
  if (op === 0xfb || op === 0x17) return true; // sti, pop ss
  return op === 0x8e && ((b[i + 1]! >> 3) & 7) === 2; // mov ss, r/m
}

/**
 * The architectural SYSCALL (Intel SDM vol. 2B, SYSCALL), from CPL 3, performed in the
 * UC_HOOK_INSN hook. There Unicorn's rip is the syscall instruction, and Unicorn adds the
 * instruction's 2 bytes to rip after the hook, also to a rip the hook wrote: so the next
 * instruction is rip + 2 and the handler address is written 2 bytes early.
 */
export function syscallEntry(m: CpuMachine): void {
  const SYSCALL_LEN = 2n; // 0f 05
  const next = m.reg('rip') + SYSCALL_LEN;
  const rflags = m.reg('rflags');
  m.setReg('rcx', next);
  m.setReg('r11', rflags & ~EFLAGS.RF);
  m.setReg('rflags', (rflags & ~m.reg('fmask') & ~EFLAGS.RF) | EFLAGS.FIXED);
  cpu.setPrivilege(m, 0); // CS = STAR[47:32], SS = STAR[47:32] + 8, CPL 0
  m.setReg('rip', m.reg('lstar') - SYSCALL_LEN);
}

/** Descriptor for a selector: from the guest GDT when it is there, else Linux's. */
function descriptorIn(m: CpuMachine, sel: number): bigint {
  const gdtr = readTableReg(m.uc, UC_X86_REG_GDTR);
  const off = BigInt(sel & ~7);
  if (gdtr.limit >= Number(off) + 7) {
    const b = m.uc.memRead(gdtr.base + off, 8);
    const d = Buffer.from(b).readBigUInt64LE(0);
    if (d & (1n << 47n)) return d; // present
  }
  return gdtDescriptor(sel);
}

/** The per-cpu area of each booted machine: the kernel's GS base. */
const perCpuArea = new WeakMap<CpuMachine, bigint>();

/** At a return to user mode the user's GS base must be live and the kernel's put away. */
function gsViolation(m: CpuMachine): { violation?: { contract: string; message: string } } {
  const area = perCpuArea.get(m);
  if (area === undefined) return {};
  const gs = m.reg('gs_base');
  const kgs = m.reg('kernel_gs_base');
  if (gs === area) return { violation: { contract: 'C12', message: `user mode would run with the kernel's GS base (the per-cpu area 0x${gs.toString(16)}) live: a swapgs is missing on the way in or out` } };
  if (kgs !== area) return { violation: { contract: 'C12', message: `the kernel's GS base is not put away in MSR_KERNEL_GS_BASE (0x${kgs.toString(16)}): swapgs ran a different number of times on the way in and out` } };
  return {};
}

const IRETQ = Uint8Array.from([0x48, 0xcf]);
const SYSRETQ = Uint8Array.from([0x48, 0x0f, 0x07]);

export const cpu: CpuModel = {
  name: 'x86-64',
  returnToUser: {
    patterns: [IRETQ, SYSRETQ],
    check(m, addr, size, stackTop) {
      const insn = m.read(addr, size);
      const rsp = m.reg('rsp');
      if (size === 2 && insn[0] === 0x48 && insn[1] === 0xcf) {
        // iretq pops ip, cs, flags, sp, ss: it returns to user mode when the cs popped has RPL 3
        if ((m.readUint(rsp + 8n, 8) & 3n) !== 3n) return null;
        return { pc: m.readUint(rsp, 8), sp: rsp, expectedSp: stackTop - 5n * 8n, ...gsViolation(m) };
      }
      if (size === 3 && insn[0] === 0x48 && insn[1] === 0x0f && insn[2] === 0x07) {
        // sysretq: rip from rcx, rsp is already the user's; the kernel stack is empty
        return { pc: m.reg('rcx'), sp: stackTop, expectedSp: stackTop, ...gsViolation(m) };
      }
      return null;
    },
  },
  irq: {
    canTake: (m) => cpu.irqsEnabled(m) && !interruptShadow(m),
    take(m, k) {
      idtDelivery(m, k, FIRST_EXTERNAL_VECTOR, null);
    },
  },
  unicorn: {
    arch: UC_ARCH_X86,
    mode: UC_MODE_64,
    registers: x86Registers(),
    pc: 'rip',
    calibratedWith: CALIBRATED_WITH,
    calibrate: () => void calibrate(),
  },
  userPrivilege: 3,
  nop: Uint8Array.from([0x90]),
  stubFill: Uint8Array.from([0xf4]), // hlt

  privilege(m) {
    return m.uc.saveContext().getUint32(calibrate().hflags, true) & 3;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 3) throw new RangeError(`x86-64 privilege must be CPL 0 or 3, got ${level}`);
    const [cs, ss] = level === 0 ? [KERNEL_CS, KERNEL_DS] : [USER_CS, USER_DS];
    setCpl(m.uc, calibrate(), level, cs, ss, (sel) => descriptorIn(m, sel));
    m.leaveBlock();
  },

  irqsEnabled(m) {
    return (m.reg('rflags') & EFLAGS.IF) !== 0n;
  },

  setIrqsEnabled(m, on) {
    const f = m.reg('rflags');
    m.setReg('rflags', on ? f | EFLAGS.IF : f & ~EFLAGS.IF);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const entry = k.symbols.get('entry_SYSCALL_64');
    if (entry === undefined) throw new Error('x86_64: entry.S defines no entry_SYSCALL_64 (the MSR_LSTAR target)');

    // GDT in guest memory (iretq reads the user descriptors from it).
    const gdt = k.desc.memory.kernelData + GDT_OFFSET;
    GDT.forEach((d, i) => m.writeUint(gdt + BigInt(i * 8), 8, d));
    writeTableReg(m.uc, UC_X86_REG_GDTR, gdt, GDT.length * 8 - 1);

    // syscall_init()
    m.setReg('star', STAR);
    m.setReg('lstar', entry);
    m.setReg('fmask', SYSCALL_MASK);
    // Per-cpu data through GS: the kernel's GS base is the per-cpu area, live while in the
    // kernel; the user's (0 until arch_prctl(ARCH_SET_GS)) waits in MSR_KERNEL_GS_BASE.
    perCpuArea.set(m, perCpuBase(k.desc));
    m.setReg('gs_base', perCpuBase(k.desc));
    m.setReg('kernel_gs_base', 0n);
    m.setReg('fs_base', 0n);
    cpu.setPrivilege(m, 0);
    m.setReg('rflags', EFLAGS.FIXED);

    // idt_setup_traps()/idt_setup_apic_and_irq_gates(): the gates this model delivers.
    const idt = k.desc.memory.kernelData + IDT_OFFSET;
    m.write(idt, new Uint8Array(256 * 16));
    for (const [vec, label] of Object.entries(IDT_GATES)) {
      const at = k.symbols.get(label);
      if (at === undefined) throw new Error(`x86_64: entry.S defines no ${label} (the IDT gate of vector ${vec}, ${VECTOR_NAMES[Number(vec)] ?? 'external interrupt'})`);
      const [lo, hi] = interruptGate(at);
      m.writeUint(idt + BigInt(Number(vec) * 16), 8, lo);
      m.writeUint(idt + BigInt(Number(vec) * 16 + 8), 8, hi);
    }
    writeTableReg(m.uc, UC_X86_REG_IDTR, idt, 256 * 16 - 1);
    // cpu_init(): the TSS, sp0 = the top of this CPU's entry stack (the frame of an entry
    // from CPL3 lands there; error_entry's sync_regs() moves it to the task stack).
    const tss = k.desc.memory.kernelData + TSS_OFFSET;
    m.write(tss, new Uint8Array(TSS_SIZE));
    m.writeUint(tss + TSS_SP0, 8, k.desc.memory.kernelData + ENTRY_STACK_OFFSET + ENTRY_STACK_SIZE);
    writeTableReg(m.uc, UC_X86_REG_TR, tss, TSS_SIZE - 1);

    m.hookInsn(UC_X86_INS_SYSCALL, () => {
      if (cpu.privilege(m) !== 3) {
        k.bug('C2', `syscall instruction executed at CPL ${cpu.privilege(m)} (rip ${hex(m.reg('rip'))}): no syscalls from kernel mode`);
      }
      syscallEntry(m);
    });

    // The hook stands in for delivery: a #GP in user mode goes through its IDT gate to
    // entry.S, whose C half forces a signal on the task, as Linux does. Any other fault,
    // and every fault at CPL 0, stops the run as a failure naming the vector, like a
    // kernel oops.
    m.hookInterrupt((intno) => {
      // The hook stands in for delivery; QEMU clears env->old_exception when it
      // delivers, so do it here or the next #GP/#PF is promoted to #DF (8).
      clearOldException(m.uc, calibrate());
      const what = VECTOR_NAMES[intno] ?? `vector ${intno}`;
      const cpl = cpu.privilege(m);
      const where = `rip ${hex(m.reg('rip'))}, rsp ${hex(m.reg('rsp'))}`;
      if (cpl === 3 && USER_EXCEPTIONS.has(intno)) {
        // #GP from CLI/HLT/a privileged instruction has error code 0 (no selector involved);
        // Unicorn does not report the error code, and no user program here faults otherwise.
        idtDelivery(m, k, intno, 0n);
        return;
      }
      if (cpl === 3) k.bug('cpu', `user-mode fault ${what} in task ${k.current().pid} at ${where}: this CPU model delivers only #GP to user mode`);
      k.bug('cpu', `kernel-mode fault ${what} at ${where} (CPL ${cpl}): an oops, the kernel must not fault`);
    });
  },
};
