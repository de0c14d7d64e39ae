// Per-architecture tables for the Unicorn backend: arch/mode constants and
// register names. Values come from Unicorn 2.0.1's public headers
// (unicorn.h, x86.h, arm64.h); they are part of the stable API.
// Adding an architecture = adding a UC_ARCH entry, its modes and a RegTable.

import type { SysRegId } from './machine.ts';

export const UC_ARCH: Record<string, number> = {
  arm: 1,
  arm64: 2,
  mips: 3,
  x86: 4,
  ppc: 5,
  sparc: 6,
  m68k: 7,
  riscv: 8,
  s390x: 9,
};

/** Mode words; a spec mode may combine several with '+', e.g. "arm+v8". */
export const UC_MODE: Record<string, number> = {
  arm: 0,
  thumb: 1 << 4,
  mclass: 1 << 5,
  v8: 1 << 6,
  '16': 1 << 1,
  '32': 1 << 2,
  '64': 1 << 3,
  mips32: 1 << 2,
  mips64: 1 << 3,
  ppc32: 1 << 2,
  ppc64: 1 << 3,
  sparc32: 1 << 2,
  sparc64: 1 << 3,
  riscv32: 1 << 2,
  riscv64: 1 << 3,
};
export const UC_MODE_BIG_ENDIAN = 1 << 30;

export const UC_HOOK_INTR = 1 << 0;
export const UC_HOOK_INSN = 1 << 1;
export const UC_HOOK_CODE = 1 << 2;
export const UC_HOOK_MEM_INVALID = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);
export const UC_X86_INS_SYSCALL = 699;
export const UC_MEM_TYPE_TEXT: Record<number, string> = {
  19: 'read of unmapped memory',
  20: 'write to unmapped memory',
  21: 'fetch from unmapped memory',
  22: 'write to write-protected memory',
  23: 'read from read-protected memory',
  24: 'fetch from non-executable memory',
};
export const UC_QUERY_TIMEOUT = 4;
/** UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0): drop all translated blocks. */
export const UC_CTL_TB_FLUSH_WRITE = 10 | (0 << 26) | (1 << 30);
/** UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2): drop blocks in [address, end). */
export const UC_CTL_TB_REMOVE_CACHE_WRITE = 9 | (2 << 26) | (1 << 30);

/** How one register name is reached. */
export type RegDef =
  | { kind: 'uc'; id: number }
  | { kind: 'cp'; cp: SysRegId } // AArch64 system register through UC_ARM64_REG_CP_REG
  | { kind: 'msr'; index: number }; // x86 MSR through UC_X86_REG_MSR

export type RegTable = Map<string, RegDef>;

const uc = (id: number): RegDef => ({ kind: 'uc', id });

export const UC_X86_REG_CS = 11;
export const UC_X86_REG_SS = 49;
export const UC_X86_REG_ES = 28;
export const UC_X86_REG_RIP = 41;
export const UC_X86_REG_RSP = 44;
export const UC_X86_REG_RFLAGS = 253;
export const UC_X86_REG_IDTR = 242;
export const UC_X86_REG_GDTR = 243;
export const UC_X86_REG_MSR = 248;

function x86_64Regs(): RegTable {
  const t: RegTable = new Map();
  const gp: Array<[string, number]> = [
    ['rax', 35], ['rbx', 37], ['rcx', 38], ['rdx', 40], ['rsi', 43], ['rdi', 39], ['rbp', 36], ['rsp', UC_X86_REG_RSP],
  ];
  for (const [n, id] of gp) t.set(n, uc(id));
  for (let i = 8; i <= 15; i++) t.set(`r${i}`, uc(106 + i - 8));
  t.set('rip', uc(UC_X86_REG_RIP));
  t.set('pc', uc(UC_X86_REG_RIP));
  t.set('sp', uc(UC_X86_REG_RSP));
  t.set('rflags', uc(UC_X86_REG_RFLAGS));
  t.set('eflags', uc(25));
  t.set('cs', uc(UC_X86_REG_CS));
  t.set('ss', uc(UC_X86_REG_SS));
  t.set('ds', uc(17));
  t.set('es', uc(UC_X86_REG_ES));
  t.set('fs', uc(32));
  t.set('gs', uc(33));
  t.set('fs_base', uc(250));
  t.set('gs_base', uc(251));
  t.set('cr0', uc(50));
  t.set('cr2', uc(52));
  t.set('cr3', uc(53));
  t.set('cr4', uc(54));
  t.set('cr8', uc(58));
  for (let i = 0; i <= 7; i++) t.set(`dr${i}`, uc(66 + i));
  // MSRs that entry code cares about, by their Linux names.
  t.set('efer', { kind: 'msr', index: 0xc0000080 });
  t.set('star', { kind: 'msr', index: 0xc0000081 });
  t.set('lstar', { kind: 'msr', index: 0xc0000082 });
  t.set('fmask', { kind: 'msr', index: 0xc0000084 });
  t.set('kernel_gs_base', { kind: 'msr', index: 0xc0000102 });
  return t;
}

export const UC_ARM64_REG_SP = 4;
export const UC_ARM64_REG_PC = 260;
export const UC_ARM64_REG_PSTATE = 265;
export const UC_ARM64_REG_SP_EL0 = 270;
export const UC_ARM64_REG_CP_REG = 290;

function arm64Regs(): RegTable {
  const t: RegTable = new Map();
  for (let i = 0; i <= 28; i++) t.set(`x${i}`, uc(199 + i));
  t.set('x29', uc(1));
  t.set('fp', uc(1));
  t.set('x30', uc(2));
  t.set('lr', uc(2));
  t.set('nzcv', uc(3));
  t.set('sp', uc(UC_ARM64_REG_SP));
  t.set('pc', uc(UC_ARM64_REG_PC));
  t.set('cpacr_el1', uc(261));
  t.set('tpidr_el0', uc(262));
  t.set('tpidrro_el0', uc(263));
  t.set('tpidr_el1', uc(264));
  t.set('pstate', uc(UC_ARM64_REG_PSTATE));
  t.set('elr_el1', uc(267));
  t.set('sp_el0', uc(UC_ARM64_REG_SP_EL0));
  t.set('sp_el1', uc(UC_ARM64_REG_SP_EL0 + 1));
  t.set('ttbr0_el1', uc(274));
  t.set('ttbr1_el1', uc(275));
  t.set('esr_el1', uc(277));
  t.set('far_el1', uc(281));
  t.set('par_el1', uc(284));
  t.set('mair_el1', uc(285));
  t.set('vbar_el1', uc(287));
  t.set('fpcr', uc(291));
  t.set('fpsr', uc(292));
  // Not in Unicorn 2.0.1's register enum: reached by MRS/MSR encoding.
  t.set('spsr_el1', { kind: 'cp', cp: { op0: 3, op1: 0, crn: 4, crm: 0, op2: 0 } });
  t.set('sctlr_el1', { kind: 'cp', cp: { op0: 3, op1: 0, crn: 1, crm: 0, op2: 0 } });
  t.set('tcr_el1', { kind: 'cp', cp: { op0: 3, op1: 0, crn: 2, crm: 0, op2: 2 } });
  return t;
}

export interface ArchInfo {
  /** Family key used by the privilege code. */
  family: 'x86_64' | 'arm64';
  regs: RegTable;
  pc: string;
}

/** Which (arch, mode) pairs have a register table. */
export function archInfo(arch: string, modeWord: number): ArchInfo | undefined {
  if (arch === 'x86' && (modeWord & ~UC_MODE_BIG_ENDIAN) === UC_MODE['64']) {
    return { family: 'x86_64', regs: x86_64Regs(), pc: 'rip' };
  }
  if (arch === 'arm64') return { family: 'arm64', regs: arm64Regs(), pc: 'pc' };
  return undefined;
}

/** uc_err -> what it means for the guest. */
export const UC_ERR_TEXT: Record<number, string> = {
  1: 'out of memory (UC_ERR_NOMEM)',
  2: 'unsupported architecture (UC_ERR_ARCH)',
  3: 'invalid handle (UC_ERR_HANDLE)',
  4: 'invalid or unsupported mode (UC_ERR_MODE)',
  5: 'unsupported version (UC_ERR_VERSION)',
  6: 'guest read from unmapped memory (UC_ERR_READ_UNMAPPED)',
  7: 'guest write to unmapped memory (UC_ERR_WRITE_UNMAPPED)',
  8: 'guest fetched an instruction from unmapped memory (UC_ERR_FETCH_UNMAPPED)',
  9: 'invalid hook type (UC_ERR_HOOK)',
  10: 'invalid or undefined instruction (UC_ERR_INSN_INVALID)',
  11: 'invalid memory mapping (UC_ERR_MAP)',
  12: 'guest write to write-protected memory (UC_ERR_WRITE_PROT)',
  13: 'guest read from read-protected memory (UC_ERR_READ_PROT)',
  14: 'guest fetched from non-executable memory (UC_ERR_FETCH_PROT)',
  15: 'invalid argument (UC_ERR_ARG)',
  16: 'unaligned read (UC_ERR_READ_UNALIGNED)',
  17: 'unaligned write (UC_ERR_WRITE_UNALIGNED)',
  18: 'unaligned fetch (UC_ERR_FETCH_UNALIGNED)',
  19: 'hook already exists (UC_ERR_HOOK_EXIST)',
  20: 'insufficient resource (UC_ERR_RESOURCE)',
  21: 'unhandled CPU exception: no interrupt hook took it (UC_ERR_EXCEPTION)',
};

export function ucErrText(code: number): string {
  return UC_ERR_TEXT[code] ?? `unicorn error ${code}`;
}
