// The core's memory layout (task_struct, kernel stacks, per-cpu words, sys_call_table) and
// the asm-offsets entry.S is assembled with: every constant comes from arch.json or from
// this layout, so entry.S never writes a fact down a second time.

import type { ArchDescriptor, FrameField, FrameLayout } from '../contracts/descriptor.ts';
import { asmOffsetsPrelude } from '../asm/offsets.ts';
import { makeAbi } from './abi.ts';

/** task_struct: thread_info.flags first (so TI_FLAGS works on either), the stack pointer, then the arch's thread struct. */
export const TI_FLAGS = 0n;
export const TASK_STACK = 8n;
export const TASK_THREAD = 64n;
export const TASK_STRUCT_SIZE = 0x200n;
export const THREAD_SIZE = 0x4000n;
export const MAX_TASKS = 48;

/** Offsets in kernel data: per-cpu words, `sys_call_table` (word entries, index = syscall number), the task_structs. */
export const SYS_CALL_TABLE_OFFSET = 0x1000n;
export const TASK_STRUCTS_OFFSET = 0x10000n;
/** A kernel buffer syscalls copy to user memory from, through the port's copy_to_user (4 KiB). */
export const KERNEL_BOUNCE_OFFSET = 0x6000n;
/** kernel data from here up belongs to the arch (GDT, vector pages, ...). */
export const ARCH_DATA_OFFSET = 0x8000n;
export const KERNEL_DATA_SIZE = 0x100000;
export const KERNEL_TEXT_SIZE = 0x10000;
export const STUBS_SIZE = 0x1000;

/** Offsets inside the user region: results page, data page, stack top, vDSO. */
export const USER_RESULTS = 0x10000n;
export const USER_DATA = 0x11000n;
export const USER_STACK_TOP = 0x3e000n;
export const USER_VDSO = 0x3f000n;

/** The per-cpu area: current_task, top_of_stack, two scratch words (word offsets 0..3 from the base). */
export function perCpuBase(desc: ArchDescriptor): bigint {
  return desc.memory.kernelData;
}

/** Absolute per-cpu word addresses: current_task, top_of_stack, two scratch words. */
export function perCpu(desc: ArchDescriptor): { current: bigint; topOfStack: bigint; scratch: bigint; scratch2: bigint } {
  const base = perCpuBase(desc);
  const w = BigInt(desc.wordSize);
  return { current: base, topOfStack: base + w, scratch: base + 2n * w, scratch2: base + 3n * w };
}

export function sysCallTableAddress(desc: ArchDescriptor): bigint {
  return desc.memory.kernelData + SYS_CALL_TABLE_OFFSET;
}

/** Absolute address of the first task_struct slot (pid 0); task `pid` is at `+ pid * TASK_STRUCT_SIZE`. */
export function taskStructsBase(desc: ArchDescriptor): bigint {
  return desc.memory.kernelData + TASK_STRUCTS_OFFSET;
}

function constName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

function frameOffsets(prefix: string, f: FrameLayout | null, sizeName: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!f) return out;
  for (const x of f.fields) out[`${prefix}${constName(x.name)}`] = x.offset;
  out[sizeName] = f.size;
  return out;
}

/**
 * Every constant entry.S is assembled with, from arch.json and the core's layout:
 * PT_* / PT_REGS_SIZE (pt_regs), SF_* / SWITCH_FRAME_SIZE (switch frame), THREAD_* (the
 * arch's thread struct, relative to it), SW_* / SWITCH_STACK_SIZE, TIF_* / _TIF_* and the
 * work masks, __NR_* and NR_syscalls, the errno and signal numbers entry code uses, and
 * the core's TI_FLAGS, TASK_*, THREAD_SIZE, PCPU_* (absolute) and PER_CPU_BASE + PCPU_OFF_*.
 */
export function asmConstants(desc: ArchDescriptor): Record<string, bigint | number> {
  const out: Record<string, bigint | number> = {
    ...frameOffsets('PT_', desc.ptRegs, 'PT_REGS_SIZE'),
    ...frameOffsets('SF_', desc.switchFrame, 'SWITCH_FRAME_SIZE'),
    ...frameOffsets('THREAD_', desc.thread, 'THREAD_STRUCT_SIZE'),
    ...frameOffsets('SW_', desc.switchStack, 'SWITCH_STACK_SIZE'),
  };
  if (desc.switchFrame.location === 'thread') out['THREAD_SWITCH_FRAME'] = desc.switchFrame.offset;
  for (const [k, bit] of Object.entries(desc.tif)) {
    out[`TIF_${k}`] = BigInt(bit);
    out[`_TIF_${k}`] = 1n << BigInt(bit);
  }
  for (const [k, names] of Object.entries(desc.workMasks)) out[k] = names.reduce((m, n) => m | (1n << BigInt(desc.tif[n]!)), 0n);
  for (const [k, v] of Object.entries(desc.syscall.numbers)) out[`__NR_${k}`] = v;
  out['NR_syscalls'] = Math.max(...Object.values(desc.syscall.numbers)) + 1;
  const abi = makeAbi(desc.wordSize, desc.abi);
  for (const e of ['ENOSYS', 'EFAULT'] as const) out[e] = abi.errno[e];
  for (const s of ['SIGILL', 'SIGSEGV', 'SIGBUS', 'SIGTRAP'] as const) out[s] = abi.sig[s];
  const pcpu = perCpu(desc);
  Object.assign(out, {
    TI_FLAGS,
    TASK_STACK,
    TASK_THREAD,
    THREAD_SIZE,
    PCPU_CURRENT_TASK: pcpu.current,
    PCPU_TOP_OF_STACK: pcpu.topOfStack,
    PCPU_SCRATCH: pcpu.scratch,
    PCPU_SCRATCH2: pcpu.scratch2,
    // the same words relative to the per-cpu base, for arches that reach it through a
    // register (x86-64 GS after swapgs)
    PER_CPU_BASE: perCpuBase(desc),
    PCPU_OFF_CURRENT_TASK: pcpu.current - perCpuBase(desc),
    PCPU_OFF_TOP_OF_STACK: pcpu.topOfStack - perCpuBase(desc),
    PCPU_OFF_SCRATCH: pcpu.scratch - perCpuBase(desc),
    PCPU_OFF_SCRATCH2: pcpu.scratch2 - perCpuBase(desc),
    // the user address range (TASK_SIZE-like): sparc's window overflow/underflow handlers
    // check a user %sp against it before they touch the user stack
    USER_START: desc.memory.user,
    USER_END: desc.memory.user + desc.memory.userSize,
  });
  return out;
}

/** Frames' fields by name and by saved register, built once per frame object. */
const frameIndexes = new WeakMap<FrameLayout, Map<string, FrameField>>();

/**
 * An arch.json frame layout's fields (pt_regs, thread, switchFrame, ...) by name and, where
 * no field has that name, by the register the field saves.
 */
export function frameIndex(frame: FrameLayout): ReadonlyMap<string, FrameField> {
  let ix = frameIndexes.get(frame);
  if (!ix) {
    ix = new Map();
    for (const f of frame.fields) if (f.reg !== undefined && !ix.has(f.reg)) ix.set(f.reg, f);
    for (const f of frame.fields) ix.set(f.name, f);
    frameIndexes.set(frame, ix);
  }
  return ix;
}

/** The field `name` of a frame layout (frameIndex); `what` names the layout in the error ("arch.json thread"). */
export function frameField(frame: FrameLayout, name: string, what: string): FrameField {
  const f = frameIndex(frame).get(name);
  if (!f) throw new Error(`${what} has no field "${name}" (fields: ${frame.fields.map((x) => x.name).join(', ')})`);
  return f;
}

/** The asm-offsets prelude for entry.S: one `.equ NAME, value` per constant. */
export function asmOffsets(desc: ArchDescriptor): string {
  return asmOffsetsPrelude(asmConstants(desc));
}
