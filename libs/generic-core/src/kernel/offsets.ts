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
