// asm-offsets for entry.S: pt_regs, thread_info/task_struct, TIF masks, syscall numbers, per-cpu.

import type { ArchDescriptor } from '../contracts/descriptor.ts';
import { ptRegsOffsets, switchStackOffsets, syscallConstants, tifConstants } from '../contracts/descriptor.ts';
import { asmOffsetsPrelude } from '../asm/offsets.ts';

export function asmOffsetConstants(desc: ArchDescriptor, extra: Record<string, bigint | number>): Record<string, bigint | number> {
  const nrs = Object.values(desc.syscall.numbers);
  return {
    ...ptRegsOffsets(desc),
    ...switchStackOffsets(desc),
    ...tifConstants(desc),
    ...syscallConstants(desc),
    NR_syscalls: Math.max(...nrs) + 1,
    ...extra,
  };
}

export function asmOffsets(desc: ArchDescriptor, extra: Record<string, bigint | number>): string {
  return asmOffsetsPrelude(asmOffsetConstants(desc, extra), desc.assembler.arch);
}

/** The task_struct / thread_info / per-cpu layout the core gives every arch (docs/porting-guide.md). */
export const TI_FLAGS = 0n;
export const TASK_STACK = 8n;
export const TASK_THREAD = 64n;
export const THREAD_SIZE = 0x4000n;

/** Absolute per-cpu word addresses: current_task, top_of_stack, two scratch words. */
export function perCpu(desc: ArchDescriptor): { current: bigint; topOfStack: bigint; scratch: bigint; scratch2: bigint } {
  const base = desc.memory.kernelData;
  return { current: base, topOfStack: base + 8n, scratch: base + 16n, scratch2: base + 24n };
}

/** Offsets in kernel data: `sys_call_table` (word entries, index = syscall number) and the task_structs. */
export const SYS_CALL_TABLE_OFFSET = 0x1000n;
export const TASK_STRUCTS_OFFSET = 0x10000n;

/** Absolute address of `sys_call_table`. */
export function sysCallTableAddress(desc: ArchDescriptor): bigint {
  return desc.memory.kernelData + SYS_CALL_TABLE_OFFSET;
}

/** Absolute address of the first task_struct slot (pid 0); task `pid` is at `+ pid * size`. */
export function taskStructsBase(desc: ArchDescriptor): bigint {
  return desc.memory.kernelData + TASK_STRUCTS_OFFSET;
}

/** The constants the core adds to the descriptor's own for entry.S. */
export function kernelLayoutConstants(desc: ArchDescriptor): Record<string, bigint> {
  const pcpu = perCpu(desc);
  return {
    TI_FLAGS,
    TASK_STACK,
    TASK_THREAD,
    THREAD_SIZE,
    PCPU_CURRENT_TASK: pcpu.current,
    PCPU_TOP_OF_STACK: pcpu.topOfStack,
    PCPU_SCRATCH: pcpu.scratch,
    PCPU_SCRATCH2: pcpu.scratch2,
  };
}
