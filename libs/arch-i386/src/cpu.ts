// The i386 CPU (32-bit protected mode) on Unicorn 2.0.1: its register table, the privilege
// level Unicorn caches, and what Unicorn does not do by itself: the delivery of an
// interrupt or exception through an IDT gate. Unicorn reports `int $0x80`, `int3` and every
// fault through UC_HOOK_INTR and never reads the IDT or the TSS; the hook here does what the
// SDM (vol. 3A 6.12) says the CPU does: read the gate, check its DPL for a software
// interrupt, switch to TSS.ss0:esp0 when coming from CPL 3, push ss, esp, eflags, cs, eip and
// the error code, clear TF/NT/RF/VM (and IF for an interrupt gate), CPL 0, eip = the gate's
// offset. `iret` back to CPL 3, the segment checks, CLI/STI/HLT and the other privileged
// instructions are the emulator's own.
//
// Privilege: QEMU keeps the CPL in hflags (bits 0-1), which only an SS load sets; register
// writes of CS/SS run the protected-mode checks and can never raise it (notes i386.md §2).
// setPrivilege patches hflags and the CS/SS segment caches in a saved uc_context at offsets
// found once per process by calibration, which also finds what only the context holds: the
// "exception in flight" marker (env->old_exception, which must go back to -1 after each
// fault, or the next one arrives as a double fault and the third silently ends the run)
// and the error code of a fault (env->error_code).

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { MemoryRegion } from '@archkit/generic-core/contracts/descriptor';
import { ARCH_DATA_OFFSET, KERNEL_DATA_SIZE, KERNEL_TEXT_SIZE, MAX_TASKS, STUBS_SIZE, THREAD_SIZE } from '@archkit/generic-core/kernel/layout';
import { CalibrationError, UcEngine, dataView, findWords } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ---------------------------------------------------------------- Unicorn (unicorn.h, x86.h)

const UC_ARCH_X86 = 4;
const UC_MODE_32 = 1 << 2;
const UC_X86_REG_CS = 11;
const UC_X86_REG_DS = 17;
const UC_X86_REG_EAX = 19;
const UC_X86_REG_EBX = 21;
const UC_X86_REG_EFLAGS = 25;
const UC_X86_REG_EIP = 26;
const UC_X86_REG_ES = 28;
const UC_X86_REG_ESP = 30;
const UC_X86_REG_FS = 32;
const UC_X86_REG_GS = 33;
const UC_X86_REG_SS = 49;
const UC_X86_REG_IDTR = 242;
const UC_X86_REG_GDTR = 243;
const UC_X86_REG_TR = 245;

/** uc_x86_mmr {u16 selector; u64 base; u32 limit; u32 flags} */
function writeTableReg(uc: UcEngine, id: number, base: bigint, limit: number, selector = 0, flags = 0): void {
  uc.regWriteStruct(id, (b) => {
    b.writeUInt16LE(selector, 0);
    b.writeBigUInt64LE(BigInt.asUintN(64, base), 8);
    b.writeUInt32LE(limit >>> 0, 16);
    b.writeUInt32LE(flags >>> 0, 20);
  });
}

function readTableReg(uc: UcEngine, id: number): { selector: number; base: bigint; limit: number } {
  const b = uc.regReadStruct(id, () => {});
  return { selector: b.readUInt16LE(0), base: b.readBigUInt64LE(8), limit: b.readUInt32LE(16) };
}

/** A descriptor-table register as a read-only pseudo register (its base). */
const tableBase = (id: number): RegAccess => ({
  read: (uc) => readTableReg(uc, id).base,
  write: () => {
    throw new Error('i386: descriptor-table registers are set by the CPU model at boot');
  },
});

function i386Registers(): Record<string, RegAccess> {
  return {
    eax: UC_X86_REG_EAX, ebp: 20, ebx: UC_X86_REG_EBX, ecx: 22, edi: 23, edx: 24, esi: 29, esp: UC_X86_REG_ESP,
    eip: UC_X86_REG_EIP, eflags: UC_X86_REG_EFLAGS,
    cs: UC_X86_REG_CS, ss: UC_X86_REG_SS, ds: UC_X86_REG_DS, es: UC_X86_REG_ES, fs: UC_X86_REG_FS, gs: UC_X86_REG_GS,
    cr0: 50, cr2: 52, cr3: 53, cr4: 54,
    idtr: tableBase(UC_X86_REG_IDTR), gdtr: tableBase(UC_X86_REG_GDTR), tr: tableBase(UC_X86_REG_TR),
  };
}

// ---------------------------------------------------------------- architecture facts

/** Linux's 32-bit selectors (asm/segment.h): GDT entries 12-16 and 27. */
export const KERNEL_CS = 0x60;
export const KERNEL_DS = 0x68;
export const USER_CS = 0x73;
export const USER_DS = 0x7b;
export const TSS_SEL = 0x80;
export const KERNEL_PERCPU = 0xd8;

/** Flat 4 GiB descriptors, by GDT index (cpu/common.c gdt_page); the TSS entry is built at boot. */
const FLAT: Record<number, bigint> = {
  12: 0x00cf9b000000ffffn, // __KERNEL_CS: DPL 0 code, 32-bit, 4 KiB granularity
  13: 0x00cf93000000ffffn, // __KERNEL_DS
  14: 0x00cffb000000ffffn, // __USER_CS: DPL 3
  15: 0x00cff3000000ffffn, // __USER_DS: DPL 3
  27: 0x00cf93000000ffffn, // __KERNEL_PERCPU: base 0 here (per-cpu words are absolute addresses)
};
export const GDT_ENTRIES = 32;
/** The three TLS descriptors set_thread_area() fills (selectors 0x33, 0x3b, 0x43 with RPL 3). */
export const GDT_ENTRY_TLS_MIN = 6;
export const GDT_ENTRY_TLS_ENTRIES = 3;

export const EFLAGS = {
  CF: 0x1n, FIXED: 0x2n, PF: 0x4n, AF: 0x10n, ZF: 0x40n, SF: 0x80n, TF: 0x100n, IF: 0x200n,
  DF: 0x400n, OF: 0x800n, IOPL: 0x3000n, NT: 0x4000n, RF: 0x10000n, VM: 0x20000n, AC: 0x40000n, ID: 0x200000n,
} as const;

/** Where the CPU's tables live: the arch-private part of kernel data. */
export const GDT_OFFSET = ARCH_DATA_OFFSET;
export const IDT_OFFSET = ARCH_DATA_OFFSET + 0x800n;
export const TSS_OFFSET = ARCH_DATA_OFFSET + 0x1000n;
/** struct x86_hw_tss (32-bit): esp0 at 4, ss0 at 8, io_bitmap_base at 102; 104 bytes. */
export const TSS = { esp0: 4n, ss0: 8n, ioBitmapBase: 102n, size: 104 } as const;

export const tssAddress = (desc: ArchDescriptor): bigint => desc.memory.kernelData + TSS_OFFSET;
/** The page directory (4 KiB aligned). */
export const PGDIR_OFFSET = ARCH_DATA_OFFSET + 0x2000n;

/** CR0/CR4 bits (asm/processor-flags.h) and 32-bit page directory entry bits (SDM vol. 3A 4.3). */
export const CR0 = { PE: 0x1n, WP: 0x10000n, PG: 0x80000000n } as const;
export const CR4 = { PSE: 0x10n } as const;
export const PDE = { P: 0x1n, RW: 0x2n, US: 0x4n, A: 0x20n, D: 0x40n, PS: 0x80n } as const;
const PAGE_4M = 1n << 22n;

/**
 * The page directory for the kit's memory map, identity mapped with 4 MiB pages (CR4.PSE):
 * the user region's with U/S set, every kernel region's without, so user mode can neither
 * run nor touch kernel text, data or stacks. A 4 MiB page that would hold both is refused.
 *
 * Plus a supervisor-only entry for the last 4 MiB, with no memory behind it: Unicorn 2.0.1
 * ends every uc_emu_start by invalidating the translation of `until - 1` through the MMU
 * (softmmu/cpus.c uc_exit_invalidate_iter; no `until` is 2^64 - 1), and with nothing mapped
 * there that page walk faults silently, leaving env->old_exception = 14 and CR2 = 0xfffffffe:
 * the next #GP would then arrive as a double fault.
 */
export function pageDirectory(memory: Record<MemoryRegion, bigint>): bigint[] {
  const regions: Array<[string, bigint, bigint, boolean]> = [
    ['kernelText', memory.kernelText, BigInt(KERNEL_TEXT_SIZE), false],
    ['stubs', memory.stubs, BigInt(STUBS_SIZE), false],
    ['kernelData', memory.kernelData, BigInt(KERNEL_DATA_SIZE), false],
    ['stacks', memory.stacks, THREAD_SIZE * BigInt(MAX_TASKS), false],
    ['user', memory.user, memory.userSize, true],
  ];
  const dir = new Array<bigint>(1024).fill(0n);
  const owner = new Map<number, [string, boolean]>();
  for (const [name, base, size, user] of regions) {
    for (let i = base / PAGE_4M; i <= (base + size - 1n) / PAGE_4M; i++) {
      if (i >= 1024n) throw new Error(`i386 memory map: ${name} at ${hex(base)} is beyond 4 GiB`);
      const prev = owner.get(Number(i));
      if (prev && prev[1] !== user) {
        throw new Error(`i386 memory map: ${name} and ${prev[0]} share the 4 MiB page at ${hex(i * PAGE_4M)}; the user region needs pages of its own for the U/S bit to keep user mode out of the kernel`);
      }
      owner.set(Number(i), [name, user]);
      dir[Number(i)] = (i * PAGE_4M) | PDE.P | PDE.RW | PDE.A | PDE.D | PDE.PS | (user ? PDE.US : 0n);
    }
  }
  if (owner.has(1023)) throw new Error('i386 memory map: the last 4 MiB below 4 GiB must stay free (see pageDirectory)');
  dir[1023] = (1023n * PAGE_4M) | PDE.P | PDE.RW | PDE.A | PDE.D | PDE.PS;
  return dir;
}

/** Gate types (SDM vol. 3A table 3-2): 32-bit interrupt gate (IF cleared) and trap gate. */
const GATE_INTR = 0xe;
const GATE_TRAP = 0xf;

/**
 * The IDT Linux installs (arch/x86/kernel/idt.c def_idts, early_idts; the 32-bit
 * IA32_SYSCALL_VECTOR): vector -> entry.S label and DPL. Every one is an interrupt gate
 * with __KERNEL_CS; SYSG ones have DPL 3 so `int3`, `into` and `int $0x80` may be used from
 * user mode. Vectors left out have no gate here (not present).
 */
export const IDT_GATES: Record<number, { label: string; dpl: 0 | 3 }> = {
  0: { label: 'asm_exc_divide_error', dpl: 0 },
  3: { label: 'asm_exc_int3', dpl: 3 },
  4: { label: 'asm_exc_overflow', dpl: 3 },
  5: { label: 'asm_exc_bounds', dpl: 0 },
  6: { label: 'asm_exc_invalid_op', dpl: 0 },
  11: { label: 'asm_exc_segment_not_present', dpl: 0 },
  13: { label: 'asm_exc_general_protection', dpl: 0 },
  14: { label: 'asm_exc_page_fault', dpl: 0 },
  0x20: { label: 'irq_entries_start', dpl: 0 },
  0x80: { label: 'entry_INT80_32', dpl: 3 },
};
/** The first vector of an external interrupt (asm/irq_vectors.h): the scenarios' timer. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
export const IA32_SYSCALL_VECTOR = 0x80;
export const X86_TRAP_GP = 13;
export const X86_TRAP_NP = 11;

/** Exceptions that push an error code (SDM vol. 3A table 6-1). */
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21]);

const VECTOR_NAMES: Record<number, string> = {
  0: '#DE divide error', 1: '#DB debug', 3: '#BP breakpoint', 4: '#OF overflow', 5: '#BR bound',
  6: '#UD invalid opcode', 7: '#NM device not available', 8: '#DF double fault',
  10: '#TS invalid TSS', 11: '#NP segment not present', 12: '#SS stack fault',
  13: '#GP general protection', 14: '#PF page fault', 16: '#MF x87 error', 17: '#AC alignment check',
  18: '#MC machine check', 19: '#XM SIMD exception', 0x20: 'external interrupt', 0x80: 'int $0x80',
};

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ---------------------------------------------------------------- privilege (calibrated)

export interface Offsets {
  hflags: number; // u32; bits 0-1 = CPL
  segs: number; // SegmentCache segs[6] (ES, CS, SS, DS, FS, GS), 24 bytes each
  oldException: number; // i32; -1 when no exception is in flight
  errorCode: number; // u32; error code pushed for the exception now being raised
}

const SEG_SIZE = 24; // {u32 selector; u64 base; u32 limit; u32 flags}
const R_CS = 1;
const R_SS = 2;
const HF_CS32 = 1 << 4;
const HF_SS32 = 1 << 5;
const HF_PE = 1 << 7;
const HF_LMA = 1 << 14;
const HF_CS64 = 1 << 15;

/** Decodes a descriptor the way QEMU's load_segment/cpu_x86_load_seg_cache do. */
function decodeDescriptor(desc: bigint): { base: bigint; limit: number; flags: number } {
  const e1 = Number(desc & 0xffffffffn);
  const e2 = Number((desc >> 32n) & 0xffffffffn);
  let limit = (e1 & 0xffff) | (e2 & 0x000f0000);
  if (e2 & (1 << 23)) limit = ((limit << 12) | 0xfff) >>> 0;
  const base = BigInt(((e1 >>> 16) | ((e2 & 0xff) << 16) | (e2 & 0xff000000)) >>> 0);
  return { base, limit, flags: (e2 | (1 << 8)) >>> 0 }; // accessed bit, as a real load sets it
}

function writeSeg(dv: DataView, off: Offsets, seg: number, selector: number, desc: bigint): void {
  const s = decodeDescriptor(desc);
  const o = off.segs + seg * SEG_SIZE;
  dv.setUint32(o, selector, true);
  dv.setBigUint64(o + 8, s.base, true);
  dv.setUint32(o + 16, s.limit, true);
  dv.setUint32(o + 20, s.flags, true);
}

/** CPL `cpl` with CS/SS loaded from the descriptors of `cs`/`ss`; eip/esp/eflags are the caller's. */
function setCpl(uc: UcEngine, off: Offsets, cpl: number, cs: number, ss: number, descriptorOf: (sel: number) => bigint): void {
  const dv = uc.saveContext();
  writeSeg(dv, off, R_CS, cs, descriptorOf(cs));
  writeSeg(dv, off, R_SS, ss, descriptorOf(ss));
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

function linuxDescriptor(sel: number): bigint {
  const d = FLAT[sel >> 3];
  if (d === undefined) throw new Error(`i386: selector ${hex(sel)} is not a flat segment of Linux's GDT`);
  return d;
}

const CALIBRATED_WITH = '2.0.1';
let offsets: Offsets | undefined;

/**
 * On a scratch engine (notes i386.md §2): two ES loads find the segment caches; a native
 * iret from CPL 0 to CPL 3 and a `cli` there (#GP) find hflags and old_exception; a
 * `mov %bx,%ds` with a DPL 0 selector (#GP(0x68)) finds the error code; then the patched
 * switch back to CPL 0 must let `cli` run. Anything else refuses to run.
 */
export function calibrate(): Offsets {
  if (offsets) return offsets;
  const uc = UcEngine.open(UC_ARCH_X86, UC_MODE_32);
  const version = uc.version;
  const fail = (detail: string) => new CalibrationError('i386', detail, CALIBRATED_WITH, version);
  try {
    uc.memMap(0n, 0x10000, 7);
    const gdt = Buffer.alloc(GDT_ENTRIES * 8);
    for (const [i, d] of Object.entries(FLAT)) gdt.writeBigUInt64LE(d, Number(i) * 8);
    uc.memWrite(0x1000n, gdt);
    writeTableReg(uc, UC_X86_REG_GDTR, 0x1000n, gdt.length - 1);
    // push $0x7b; push $0x8000; push $0x202; push $0x73; push $0x3000; iret
    uc.memWrite(0x2000n, Uint8Array.from([0x6a, 0x7b, 0x68, 0, 0x80, 0, 0, 0x68, 2, 2, 0, 0, 0x6a, 0x73, 0x68, 0, 0x30, 0, 0, 0xcf]));
    uc.memWrite(0x2100n, Uint8Array.from([0xfa, 0xf4])); // cli; hlt (CPL 0)
    uc.memWrite(0x3000n, Uint8Array.from([0x90, 0xfa, 0x8e, 0xdb, 0xf4])); // nop; cli; mov %bx,%ds; hlt (CPL 3)

    // In 32-bit mode a register write of ES is a protected-mode load: selector and descriptor.
    uc.regWrite(UC_X86_REG_ES, BigInt(USER_DS));
    const e1 = uc.snapshot();
    uc.regWrite(UC_X86_REG_ES, BigInt(KERNEL_DS));
    const e2 = uc.snapshot();
    const esCand = findWords(e1, (o) => dataView(e1).getUint32(o, true) === USER_DS && dataView(e2).getUint32(o, true) === KERNEL_DS);
    if (esCand.length !== 1) throw fail(`segment cache not found (${esCand.length} candidates)`);
    const segs = esCand[0]!;

    uc.regWrite(UC_X86_REG_CS, BigInt(KERNEL_CS));
    uc.regWrite(UC_X86_REG_SS, BigInt(KERNEL_DS));
    uc.regWrite(UC_X86_REG_ESP, 0x7000n);
    uc.regWrite(UC_X86_REG_EBX, BigInt(KERNEL_DS));
    const A = uc.snapshot();

    let B: Uint8Array | null = null;
    let C: Uint8Array | null = null;
    let found: Partial<Offsets> | null = null;
    const intrs: number[] = [];
    let failure: Error | null = null;
    uc.onCode(0x3000n, 0x3000n, () => {
      B ??= uc.snapshot();
    });
    uc.onInterrupt((intno) => {
      intrs.push(intno);
      try {
        if (intrs.length === 1) {
          if (intno !== X86_TRAP_GP || !B) throw fail(`expected #GP (13) from cli at CPL 3, got ${intno}`);
          C = uc.snapshot();
          const a = dataView(A);
          const b = dataView(B);
          const c = dataView(C);
          const hf = findWords(A, (o) => {
            const h = a.getUint32(o, true);
            const want = HF_PE | HF_CS32 | HF_SS32;
            return (h & 3) === 0 && (h & want) === want && (h & (HF_LMA | HF_CS64)) === 0 && b.getUint32(o, true) === (h | 3) >>> 0;
          });
          const oe = findWords(A, (o) => a.getInt32(o, true) === -1 && c.getInt32(o, true) === X86_TRAP_GP);
          if (hf.length !== 1) throw fail(`hflags not found (${hf.length} candidates)`);
          if (oe.length !== 1) throw fail(`old_exception not found (${oe.length} candidates)`);
          found = { hflags: hf[0]!, segs, oldException: oe[0]! };
          const cs3 = b.getUint32(segs + R_CS * SEG_SIZE, true);
          const ss3 = b.getUint32(segs + R_SS * SEG_SIZE, true);
          if (cs3 !== USER_CS || ss3 !== USER_DS || ((b.getUint32(segs + R_CS * SEG_SIZE + 20, true) >> 13) & 3) !== 3) {
            throw fail(`segment cache layout unexpected (cs=${hex(cs3)} ss=${hex(ss3)})`);
          }
          // A second #GP must be 13 again once the marker is cleared (else it is a #DF).
          clearOldException(uc, found as Offsets);
          uc.regWrite(UC_X86_REG_EIP, 0x3002n); // mov %bx,%ds: #GP(0x68)
        } else if (intrs.length === 2 && intno === X86_TRAP_GP && found && C) {
          const C2 = uc.snapshot();
          const c = dataView(C);
          const c2 = dataView(C2);
          const ec = findWords(C, (o) => c.getUint32(o, true) === 0 && c2.getUint32(o, true) === KERNEL_DS);
          if (ec.length !== 1) throw fail(`error_code not found (${ec.length} candidates)`);
          found.errorCode = ec[0]!;
          clearOldException(uc, found as Offsets);
          setCpl(uc, found as Offsets, 0, KERNEL_CS, KERNEL_DS, linuxDescriptor);
          uc.regWrite(UC_X86_REG_EIP, 0x2100n); // cli must now run; hlt ends the run
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
    const eip = uc.regRead(UC_X86_REG_EIP);
    if (err || !found || (found as Partial<Offsets>).errorCode === undefined || intrs.length !== 2 || eip !== 0x2102n) {
      throw fail(`verification run failed (err=${err}, interrupts=[${intrs.join(',')}], eip=${hex(eip)})`);
    }
    offsets = found as Offsets;
    return offsets;
  } finally {
    uc.close();
  }
}

/** Descriptor for a selector: from the guest GDT when it is there, else Linux's. */
function descriptorIn(m: CpuMachine, sel: number): bigint {
  const gdtr = readTableReg(m.uc, UC_X86_REG_GDTR);
  const off = BigInt(sel & ~7);
  if (gdtr.limit >= Number(off) + 7) {
    const d = m.readUint(gdtr.base + off, 8);
    if (d & (1n << 47n)) return d; // present
  }
  return linuxDescriptor(sel);
}

// ---------------------------------------------------------------- the architecture's own steps

/** A fault the gate delivery itself raises (a DPL or presence check failed). */
class GateFault {
  constructor(
    readonly vector: number,
    readonly errorCode: bigint,
  ) {}
}

/**
 * Delivery through IDT gate `vector` (SDM vol. 3A 6.12.1, 7.2.1): `eip` is the return
 * address (the next instruction for a software interrupt or a trap, the faulting one for a
 * fault), `errorCode` the error code to push or null. A software interrupt (`int n`,
 * `int3`, `into`) through a gate whose DPL is below the CPL is #GP(vector * 8 + 2) at the
 * instruction itself (`insnLength` back). From CPL 3 the stack is TSS.ss0:esp0 and the
 * user's ss:esp are pushed first. Returns the kernel stack pointer after the pushes.
 */
export function gateEntry(m: CpuMachine, vector: number, eip: bigint, errorCode: bigint | null, soft: { insnLength: number } | null): bigint {
  try {
    return deliver(m, vector, eip, errorCode, soft);
  } catch (e) {
    if (!(e instanceof GateFault)) throw e;
    const at = soft ? eip - BigInt(soft.insnLength) : eip;
    return deliver(m, e.vector, at, e.errorCode, null);
  }
}

function deliver(m: CpuMachine, vector: number, eip: bigint, errorCode: bigint | null, soft: { insnLength: number } | null): bigint {
  const idtr = readTableReg(m.uc, UC_X86_REG_IDTR);
  const idtErr = BigInt(vector * 8 + 2); // IDT bit set; EXT clear: the program raised it
  if (idtr.limit < vector * 8 + 7) throw new GateFault(X86_TRAP_GP, idtErr);
  const gate = m.readUint(idtr.base + BigInt(vector * 8), 8);
  const lo = Number(gate & 0xffffffffn);
  const hi = Number(gate >> 32n);
  const type = (hi >> 8) & 0x1f;
  const dpl = (hi >> 13) & 3;
  const cpl = cpu.privilege(m);
  if (type !== GATE_INTR && type !== GATE_TRAP) throw new GateFault(X86_TRAP_GP, idtErr);
  if (soft && dpl < cpl) throw new GateFault(X86_TRAP_GP, idtErr);
  if (!((hi >> 15) & 1)) throw new GateFault(X86_TRAP_NP, idtErr);
  const handler = BigInt(((hi & 0xffff0000) | (lo & 0xffff)) >>> 0);
  const cs = lo >>> 16;
  const eflags = m.reg('eflags');
  const frame: bigint[] = [];
  let sp: bigint;
  let ss = 0;
  if (cpl === 3) {
    // inter-privilege: the stack comes from the TSS, the user's ss:esp go on it first
    const tss = readTableReg(m.uc, UC_X86_REG_TR).base;
    sp = m.readUint(tss + TSS.esp0, 4);
    ss = Number(m.readUint(tss + TSS.ss0, 2));
    frame.push(m.reg('ss'), m.reg('esp'));
  } else {
    sp = m.reg('esp');
  }
  frame.push(eflags, m.reg('cs'), eip);
  if (errorCode !== null) frame.push(errorCode);
  for (const v of frame) {
    sp -= 4n;
    m.writeUint(sp, 4, v);
  }
  if (cpl === 3) setCpl(m.uc, calibrate(), 0, cs, ss, (sel) => descriptorIn(m, sel));
  m.setReg('esp', sp);
  const clear = EFLAGS.TF | EFLAGS.NT | EFLAGS.RF | EFLAGS.VM | (type === GATE_INTR ? EFLAGS.IF : 0n);
  m.setReg('eflags', (eflags & ~clear) | EFLAGS.FIXED);
  // An eip write makes Unicorn leave the current block: the handler runs at CPL 0.
  m.setReg('eip', handler);
  return sp;
}

/**
 * Whether the interrupt the hook reports is a software one (`int n`, `int3`, `into`):
 * those skip QEMU's check_exception, so old_exception is still -1, and eip is already past
 * the instruction, whose bytes are right before it. Returns its length, or 0 for a fault.
 */
function softIntLength(m: CpuMachine, intno: number, eip: bigint, oldException: number): number {
  if (oldException !== -1) return 0;
  const b = m.read(eip - 2n, 2);
  if (b[0] === 0xcd && b[1] === intno) return 2;
  if ((intno === 3 && b[1] === 0xcc) || (intno === 4 && b[1] === 0xce)) return 1;
  return 0;
}

/**
 * The instruction just executed holds off interrupts for one more (SDM vol. 3A 6.8.3):
 * sti, mov to ss, pop ss (behind operand-size, address-size or segment prefixes).
 */
function interruptShadow(m: CpuMachine): boolean {
  const last = m.lastInstruction();
  if (!last) return false;
  const b = m.read(last.addr, Math.min(last.size, 15));
  let i = 0;
  while (i < b.length && [0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(b[i]!)) i++;
  const op = b[i];
  if (op === 0xfb || op === 0x17) return true; // sti, pop %ss
  return op === 0x8e && ((b[i + 1]! >> 3) & 7) === 2; // mov r/m16, %ss
}

/**
 * At a return to user mode: the kernel's per-cpu segment must not be live in %fs (SAVE_ALL
 * loads it, RESTORE_REGS puts the user's back; iret would null it and the user's fs would
 * be lost).
 */
function fsViolation(m: CpuMachine): { violation?: { contract: string; message: string } } {
  const fs = Number(m.reg('fs'));
  if ((fs & ~3) !== KERNEL_PERCPU) return {};
  return { violation: { contract: 'C12', message: `the kernel's per-cpu segment (__KERNEL_PERCPU ${hex(KERNEL_PERCPU)}) is live in %fs at the iret: the user's fs was not restored` } };
}

const IRET = Uint8Array.from([0xcf]);

export const cpu: CpuModel = {
  name: 'i386',
  returnToUser: {
    patterns: [IRET],
    check(m, addr, size, stackTop) {
      if (size !== 1 || m.read(addr, 1)[0] !== 0xcf) return null;
      const esp = m.reg('esp');
      // iret pops eip, cs, eflags and, when the cs popped has RPL 3, esp and ss
      if ((m.readUint(esp + 4n, 4) & 3n) !== 3n) return null;
      return { pc: m.readUint(esp, 4), sp: esp, expectedSp: stackTop - 5n * 4n, ...fsViolation(m) };
    },
  },
  irq: {
    canTake: (m) => cpu.irqsEnabled(m) && !interruptShadow(m),
    take(m) {
      // an external interrupt: the interrupted instruction is the one to resume at, no
      // error code, through the vector's gate (IF cleared)
      gateEntry(m, FIRST_EXTERNAL_VECTOR, m.reg('eip'), null, null);
    },
  },
  unicorn: {
    arch: UC_ARCH_X86,
    mode: UC_MODE_32,
    registers: i386Registers(),
    pc: 'eip',
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
    if (level !== 0 && level !== 3) throw new RangeError(`i386 privilege must be CPL 0 or 3, got ${level}`);
    const [cs, ss] = level === 0 ? [KERNEL_CS, KERNEL_DS] : [USER_CS, USER_DS];
    setCpl(m.uc, calibrate(), level, cs, ss, (sel) => descriptorIn(m, sel));
    m.leaveBlock();
  },

  irqsEnabled(m) {
    return (m.reg('eflags') & EFLAGS.IF) !== 0n;
  },

  setIrqsEnabled(m, on) {
    const f = m.reg('eflags');
    m.setReg('eflags', on ? f | EFLAGS.IF : f & ~EFLAGS.IF);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const base = k.desc.memory.kernelData;
    // GDT (cpu/common.c gdt_page) with the TSS descriptor: 32-bit available TSS, DPL 0.
    const tss = base + TSS_OFFSET;
    const gdt = base + GDT_OFFSET;
    const tssDesc = 0x0000890000000000n | BigInt(TSS.size - 1) | ((tss & 0xffffffn) << 16n) | (((tss >> 24n) & 0xffn) << 56n);
    for (let i = 0; i < GDT_ENTRIES; i++) m.writeUint(gdt + BigInt(i * 8), 8, FLAT[i] ?? (i === TSS_SEL >> 3 ? tssDesc : 0n));
    writeTableReg(m.uc, UC_X86_REG_GDTR, gdt, GDT_ENTRIES * 8 - 1);

    // IDT (idt_setup_traps, idt_setup_early_traps): interrupt gates, __KERNEL_CS.
    const idt = base + IDT_OFFSET;
    m.write(idt, new Uint8Array(256 * 8));
    for (const [vec, g] of Object.entries(IDT_GATES)) {
      const at = k.symbols.get(g.label);
      if (at === undefined) throw new Error(`i386: entry.S defines no ${g.label} (the IDT gate of ${VECTOR_NAMES[Number(vec)] ?? `vector ${vec}`})`);
      const lo = (BigInt(KERNEL_CS) << 16n) | (at & 0xffffn);
      const hi = (at & 0xffff0000n) | 0x8000n | (BigInt(g.dpl) << 13n) | (BigInt(GATE_INTR) << 8n);
      m.writeUint(idt + BigInt(Number(vec) * 8), 8, (hi << 32n) | lo);
    }
    writeTableReg(m.uc, UC_X86_REG_IDTR, idt, 256 * 8 - 1);

    // TSS (cpu_init, tss_setup_ist...): ss0 = __KERNEL_DS; esp0 is the running task's top
    // of stack, which __switch_to keeps up to date; no I/O bitmap (its base past the limit).
    m.write(tss, new Uint8Array(TSS.size));
    m.writeUint(tss + TSS.ss0, 4, BigInt(KERNEL_DS));
    m.writeUint(tss + TSS.ioBitmapBase, 2, BigInt(TSS.size));
    // ltr: TR's cache holds the descriptor's high word, the type marked busy (0xb)
    writeTableReg(m.uc, UC_X86_REG_TR, tss, TSS.size - 1, TSS_SEL, Number((tssDesc >> 32n) | 0x200n));

    // Paging (head_32.S, with PSE pages instead of the kernel's page tables): Unicorn's CR
    // writes are raw stores, right on a CPU that has not translated anything yet.
    const pgdir = base + PGDIR_OFFSET;
    const dir = pageDirectory(k.desc.memory);
    const bytes = Buffer.alloc(dir.length * 4);
    dir.forEach((pde, i) => bytes.writeUInt32LE(Number(pde), i * 4));
    m.write(pgdir, bytes);
    m.setReg('cr3', pgdir);
    m.setReg('cr4', m.reg('cr4') | CR4.PSE);
    m.setReg('cr0', m.reg('cr0') | CR0.PE | CR0.WP | CR0.PG);

    // The kernel's segments: CPL 0, ds = es = __USER_DS (flat), fs = __KERNEL_PERCPU, gs = 0.
    cpu.setPrivilege(m, 0);
    m.setReg('ds', BigInt(USER_DS));
    m.setReg('es', BigInt(USER_DS));
    m.setReg('fs', BigInt(KERNEL_PERCPU));
    m.setReg('gs', 0n);
    m.setReg('eflags', EFLAGS.FIXED);

    // Unicorn reads no IDT: the hook stands in for the CPU's delivery. From user mode every
    // vector goes through its gate to entry.S (whose C half turns a fault into a signal);
    // a fault in the kernel is an oops, and so is a system call from the kernel.
    m.hookInterrupt((intno) => {
      const off = calibrate();
      const dv = m.uc.saveContext();
      const oldException = dv.getInt32(off.oldException, true);
      const error = BigInt(dv.getUint32(off.errorCode, true));
      const cpl = dv.getUint32(off.hflags, true) & 3;
      // QEMU clears env->old_exception when it delivers; the hook delivers, so it clears it,
      // or the next #GP/#PF is promoted to #DF (8).
      clearOldException(m.uc, off);
      const eip = m.reg('eip');
      const what = VECTOR_NAMES[intno] ?? `vector ${intno}`;
      const where = `eip ${hex(eip)}, esp ${hex(m.reg('esp'))}`;
      const len = softIntLength(m, intno, eip, oldException);
      if (cpl !== 3) {
        if (intno === IA32_SYSCALL_VECTOR && len) k.bug('C2', `int $0x80 executed at CPL ${cpl} (${where}): no syscalls from kernel mode`);
        k.bug('cpu', `kernel-mode ${len ? 'software interrupt' : 'fault'} ${what} at ${where} (CPL ${cpl}): an oops, the kernel must not fault`);
      }
      if (len) {
        gateEntry(m, intno, eip, null, { insnLength: len });
        return;
      }
      if (IDT_GATES[intno] === undefined) k.bug('cpu', `user-mode fault ${what} in task ${k.current().pid} at ${where}: this model's IDT has no gate for it`);
      gateEntry(m, intno, eip, HAS_ERROR_CODE.has(intno) ? error : null, null);
    });
  },
};
