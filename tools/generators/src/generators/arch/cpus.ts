// The CPUs archkit knows how to run and assemble for: what a new lib's src/cpu.ts and
// arch.json need to load and run before a human writes anything (the Unicorn arch, mode and
// program counter id, the assembler target and flags, an instruction that traps for the
// placeholders in entry.S and user.hbs) and the facts of the CPU the starting cpu.ts fills
// in (nop, an instruction that ends a translation block, the return-to-user instructions,
// the user privilege level). The values are the arch libs' own (libs/arch-*/src/cpu.ts,
// arch.json): Unicorn 2.0.1's unicorn.h and <arch>.h, Keystone 0.9.2, Debian 12's cross
// binutils and llvm-19.
//
// A new arch whose name is not one of these runs on a placeholder: the CPU here that fits
// its word size, byte order and assembler (a 64-bit little-endian port assembled with
// gnu-as runs as RISC-V 64), said so in its cpu.ts, README and arch.json notes.

export type AsmBackend = 'keystone' | 'gnu-as' | 'llvm-mc';
export const ASM_BACKENDS: readonly AsmBackend[] = ['keystone', 'gnu-as', 'llvm-mc'];

export interface AssemblerFacts {
  target: string;
  flags?: string[];
  /** the Debian package with the tool */
  package?: string;
}

/** An instruction as bytes in memory (the CPU's byte order), with its assembler text. */
export interface Insn {
  bytes: number[];
  text: string;
}

export interface CpuFamily {
  id: string;
  /** other names an arch of this CPU goes by */
  aliases: string[];
  /** CpuModel.name */
  title: string;
  wordSize: 4 | 8;
  endian: 'little' | 'big';
  unicorn: {
    /** unicorn/<header> */
    header: string;
    arch: [string, number];
    /** uc_mode parts, OR-ed (value as TypeScript source) */
    mode: Array<[string, string]>;
    pc: [string, number];
  };
  assemblers: Partial<Record<AsmBackend, AssemblerFacts>>;
  /** why a backend cannot assemble for this CPU (named when it is asked for) */
  cannot?: Partial<Record<AsmBackend, string>>;
  /** what the placeholders in entry.S and user.hbs hold: traps if it ever runs */
  trap: string;
  /** the system call instruction and its length */
  syscall: { text: string; bytes: number };
  nop: Insn;
  stubFill: Insn;
  returnToUser: Insn[];
  userPrivilege: { level: number; what: string };
}

const KEYSTONE_CANNOT = 'keystone-wasm 1.0.4 has only x86, ARM and ARM64 compiled in';
const UC_MODE_BIG_ENDIAN: [string, string] = ['UC_MODE_BIG_ENDIAN', '1 << 30'];
const gnu = (target: string, flags: string[] = []): AssemblerFacts => ({ target, ...(flags.length ? { flags } : {}), package: `binutils-${target.replace(/_/g, '-')}` });
const llvm = (target: string, flags: string[] = []): AssemblerFacts => ({ target, ...(flags.length ? { flags } : {}), package: 'llvm-19' });

export const CPU_FAMILIES: readonly CpuFamily[] = [
  {
    id: 'x86_64', aliases: ['amd64'], title: 'x86-64', wordSize: 8, endian: 'little',
    unicorn: { header: 'x86.h', arch: ['UC_ARCH_X86', 4], mode: [['UC_MODE_64', '1 << 3']], pc: ['UC_X86_REG_RIP', 41] },
    assemblers: { keystone: { target: 'x86_64' }, 'gnu-as': gnu('x86_64-linux-gnu', ['--64']), 'llvm-mc': llvm('x86_64') },
    trap: 'ud2', syscall: { text: 'syscall', bytes: 2 },
    nop: { bytes: [0x90], text: 'nop' }, stubFill: { bytes: [0xf4], text: 'hlt' },
    returnToUser: [{ bytes: [0x48, 0xcf], text: 'iretq' }, { bytes: [0x48, 0x0f, 0x07], text: 'sysretq' }],
    userPrivilege: { level: 3, what: 'CPL 3' },
  },
  {
    id: 'i386', aliases: ['i686', 'x86'], title: 'i386', wordSize: 4, endian: 'little',
    unicorn: { header: 'x86.h', arch: ['UC_ARCH_X86', 4], mode: [['UC_MODE_32', '1 << 2']], pc: ['UC_X86_REG_EIP', 26] },
    assemblers: { keystone: { target: 'i386' }, 'gnu-as': gnu('i686-linux-gnu', ['--32']), 'llvm-mc': llvm('i386') },
    trap: 'ud2', syscall: { text: 'int 0x80', bytes: 2 },
    nop: { bytes: [0x90], text: 'nop' }, stubFill: { bytes: [0xf4], text: 'hlt' },
    returnToUser: [{ bytes: [0xcf], text: 'iret' }],
    userPrivilege: { level: 3, what: 'CPL 3' },
  },
  {
    id: 'arm64', aliases: ['aarch64'], title: 'AArch64', wordSize: 8, endian: 'little',
    unicorn: { header: 'arm64.h', arch: ['UC_ARCH_ARM64', 2], mode: [['UC_MODE_ARM', '0']], pc: ['UC_ARM64_REG_PC', 260] },
    assemblers: { keystone: { target: 'arm64' }, 'gnu-as': gnu('aarch64-linux-gnu'), 'llvm-mc': llvm('aarch64') },
    trap: 'brk #0', syscall: { text: 'svc #0', bytes: 4 },
    nop: { bytes: [0x1f, 0x20, 0x03, 0xd5], text: 'nop' }, stubFill: { bytes: [0x00, 0x00, 0x20, 0xd4], text: 'brk #0' },
    returnToUser: [{ bytes: [0xe0, 0x03, 0x9f, 0xd6], text: 'eret' }],
    userPrivilege: { level: 0, what: 'EL0' },
  },
  {
    id: 'arm', aliases: ['armel', 'armv7'], title: 'ARMv7-A', wordSize: 4, endian: 'little',
    unicorn: { header: 'arm.h', arch: ['UC_ARCH_ARM', 1], mode: [['UC_MODE_ARM', '0']], pc: ['UC_ARM_REG_PC', 11] },
    assemblers: { keystone: { target: 'arm' }, 'gnu-as': gnu('arm-linux-gnueabi', ['-march=armv7-a', '-mfloat-abi=soft']), 'llvm-mc': llvm('armv7') },
    trap: 'udf #0', syscall: { text: 'svc #0', bytes: 4 },
    nop: { bytes: [0x00, 0x00, 0xa0, 0xe1], text: 'mov r0, r0' }, stubFill: { bytes: [0xf0, 0x00, 0xf0, 0xe7], text: 'udf #0' },
    returnToUser: [{ bytes: [0x0e, 0xf0, 0xb0, 0xe1], text: 'movs pc, lr' }],
    userPrivilege: { level: 0, what: 'USR mode' },
  },
  {
    id: 'riscv64', aliases: ['rv64'], title: 'RISC-V 64', wordSize: 8, endian: 'little',
    unicorn: { header: 'riscv.h', arch: ['UC_ARCH_RISCV', 8], mode: [['UC_MODE_RISCV64', '1 << 3']], pc: ['UC_RISCV_REG_PC', 190] },
    assemblers: { 'gnu-as': gnu('riscv64-linux-gnu', ['-march=rv64gc', '-mabi=lp64d']), 'llvm-mc': llvm('riscv64', ['-mattr=+m,+a,+f,+d,+c']) },
    cannot: { keystone: KEYSTONE_CANNOT },
    trap: 'unimp', syscall: { text: 'ecall', bytes: 4 },
    nop: { bytes: [0x13, 0x00, 0x00, 0x00], text: 'addi x0, x0, 0' }, stubFill: { bytes: [0x73, 0x10, 0x00, 0xc0], text: 'unimp' },
    returnToUser: [{ bytes: [0x73, 0x00, 0x20, 0x10], text: 'sret' }],
    userPrivilege: { level: 0, what: 'U-mode' },
  },
  {
    id: 'mips', aliases: ['mipseb'], title: 'MIPS32', wordSize: 4, endian: 'big',
    unicorn: { header: 'mips.h', arch: ['UC_ARCH_MIPS', 3], mode: [['UC_MODE_MIPS32', '1 << 2'], UC_MODE_BIG_ENDIAN], pc: ['UC_MIPS_REG_PC', 1] },
    assemblers: { 'gnu-as': gnu('mips-linux-gnu', ['-EB', '-32', '-march=mips32r2']), 'llvm-mc': llvm('mips', ['-mcpu=mips32r2']) },
    cannot: { keystone: KEYSTONE_CANNOT },
    trap: 'break', syscall: { text: 'syscall', bytes: 4 },
    nop: { bytes: [0x00, 0x00, 0x00, 0x00], text: 'nop' }, stubFill: { bytes: [0x00, 0x00, 0x00, 0x0d], text: 'break' },
    returnToUser: [{ bytes: [0x42, 0x00, 0x00, 0x18], text: 'eret' }],
    userPrivilege: { level: 2, what: 'user mode (KSU = 2)' },
  },
  {
    id: 'powerpc', aliases: ['ppc'], title: 'PowerPC 32', wordSize: 4, endian: 'big',
    unicorn: { header: 'ppc.h', arch: ['UC_ARCH_PPC', 5], mode: [['UC_MODE_PPC32', '1 << 2'], UC_MODE_BIG_ENDIAN], pc: ['UC_PPC_REG_PC', 1] },
    assemblers: { 'gnu-as': gnu('powerpc-linux-gnu', ['-a32', '-mregnames']), 'llvm-mc': llvm('powerpc') },
    cannot: { keystone: KEYSTONE_CANNOT },
    trap: 'trap', syscall: { text: 'sc', bytes: 4 },
    nop: { bytes: [0x60, 0x00, 0x00, 0x00], text: 'nop' }, stubFill: { bytes: [0x48, 0x00, 0x00, 0x00], text: 'b .' },
    returnToUser: [{ bytes: [0x4c, 0x00, 0x00, 0x64], text: 'rfi' }],
    userPrivilege: { level: 1, what: 'MSR[PR] = 1' },
  },
  {
    id: 'powerpc64', aliases: ['ppc64'], title: 'PowerPC 64', wordSize: 8, endian: 'big',
    unicorn: { header: 'ppc.h', arch: ['UC_ARCH_PPC', 5], mode: [['UC_MODE_PPC64', '1 << 3'], UC_MODE_BIG_ENDIAN], pc: ['UC_PPC_REG_PC', 1] },
    assemblers: { 'gnu-as': gnu('powerpc64-linux-gnu', ['-a64', '-mregnames']), 'llvm-mc': llvm('powerpc64') },
    cannot: { keystone: KEYSTONE_CANNOT },
    trap: 'trap', syscall: { text: 'sc', bytes: 4 },
    nop: { bytes: [0x60, 0x00, 0x00, 0x00], text: 'nop' }, stubFill: { bytes: [0x48, 0x00, 0x00, 0x00], text: 'b .' },
    returnToUser: [{ bytes: [0x4c, 0x00, 0x00, 0x24], text: 'rfid' }],
    userPrivilege: { level: 1, what: 'MSR[PR] = 1' },
  },
  {
    id: 's390x', aliases: [], title: 's390x', wordSize: 8, endian: 'big',
    unicorn: { header: 's390x.h', arch: ['UC_ARCH_S390X', 9], mode: [UC_MODE_BIG_ENDIAN], pc: ['UC_S390X_REG_PC', 65] },
    assemblers: { 'gnu-as': gnu('s390x-linux-gnu', ['-march=z10']), 'llvm-mc': llvm('s390x', ['-mcpu=z10']) },
    cannot: { keystone: KEYSTONE_CANNOT },
    trap: '.short 0', syscall: { text: 'svc 0', bytes: 2 },
    nop: { bytes: [0x07, 0x07], text: 'nopr %r7' }, stubFill: { bytes: [0xa7, 0xf4, 0x00, 0x00], text: 'j .' },
    returnToUser: [{ bytes: [0xb2, 0xb2], text: 'lpswe' }],
    userPrivilege: { level: 1, what: 'PSW problem state' },
  },
  {
    id: 'sparc', aliases: ['sparc32'], title: 'SPARC V8', wordSize: 4, endian: 'big',
    unicorn: { header: 'sparc.h', arch: ['UC_ARCH_SPARC', 6], mode: [['UC_MODE_SPARC32', '1 << 2'], UC_MODE_BIG_ENDIAN], pc: ['UC_SPARC_REG_PC', 88] },
    assemblers: { 'gnu-as': gnu('sparc64-linux-gnu', ['-32', '-Av8']) },
    cannot: { keystone: KEYSTONE_CANNOT, 'llvm-mc': 'ld.lld-19 cannot link SPARC objects' },
    trap: 'unimp 0', syscall: { text: 'ta 0x10', bytes: 4 },
    nop: { bytes: [0x01, 0x00, 0x00, 0x00], text: 'nop' }, stubFill: { bytes: [0x00, 0x00, 0x00, 0x00], text: 'unimp 0' },
    returnToUser: [{ bytes: [0x81, 0xcc, 0x80, 0x00], text: 'rett %l2' }, { bytes: [0x81, 0xcc, 0xa0, 0x04], text: 'rett %l2 + 4' }],
    userPrivilege: { level: 0, what: 'PSR.S = 0' },
  },
  {
    id: 'sparc64', aliases: ['sparcv9'], title: 'SPARC V9', wordSize: 8, endian: 'big',
    unicorn: { header: 'sparc.h', arch: ['UC_ARCH_SPARC', 6], mode: [['UC_MODE_SPARC64', '1 << 3'], UC_MODE_BIG_ENDIAN], pc: ['UC_SPARC_REG_PC', 88] },
    assemblers: { 'gnu-as': gnu('sparc64-linux-gnu', ['-64', '-Av9']) },
    cannot: { keystone: KEYSTONE_CANNOT, 'llvm-mc': 'ld.lld-19 cannot link SPARC objects' },
    trap: 'illtrap 0', syscall: { text: 'ta 0x6d', bytes: 4 },
    nop: { bytes: [0x01, 0x00, 0x00, 0x00], text: 'nop' }, stubFill: { bytes: [0x00, 0x00, 0x00, 0x00], text: 'illtrap 0' },
    returnToUser: [{ bytes: [0x83, 0xf0, 0x00, 0x00], text: 'retry' }, { bytes: [0x81, 0xf0, 0x00, 0x00], text: 'done' }],
    userPrivilege: { level: 0, what: 'PSTATE.PRIV = 0' },
  },
  {
    id: 'm68k', aliases: [], title: 'Motorola 68040', wordSize: 4, endian: 'big',
    unicorn: { header: 'm68k.h', arch: ['UC_ARCH_M68K', 7], mode: [UC_MODE_BIG_ENDIAN], pc: ['UC_M68K_REG_PC', 18] },
    assemblers: { 'gnu-as': gnu('m68k-linux-gnu', ['-m68040']) },
    cannot: { keystone: KEYSTONE_CANNOT, 'llvm-mc': 'llvm-19 has no m68k assembler in Debian 12' },
    trap: 'illegal', syscall: { text: 'trap #0', bytes: 2 },
    nop: { bytes: [0x4e, 0x71], text: 'nop' }, stubFill: { bytes: [0x4a, 0xfc], text: 'illegal' },
    returnToUser: [{ bytes: [0x4e, 0x73], text: 'rte' }],
    userPrivilege: { level: 0, what: 'SR.S = 0' },
  },
];

export function familyById(id: string): CpuFamily {
  const f = CPU_FAMILIES.find((x) => x.id === id);
  if (!f) throw new Error(`no CPU family "${id}"`);
  return f;
}

/** The CPU an arch name stands for (its id or an alias), if archkit knows it. */
export function familyByName(name: string): CpuFamily | undefined {
  return CPU_FAMILIES.find((f) => f.id === name || f.aliases.includes(name));
}

/** The CPU an arch.json `assembler` object assembles for, if archkit knows its target. */
export function familyByAssembler(spec: { backend: string; target: string }, wordSize: number): CpuFamily | undefined {
  return CPU_FAMILIES.find((f) => f.wordSize === wordSize && f.assemblers[spec.backend as AsmBackend]?.target === spec.target);
}

/** The default assembler for a CPU: keystone where it can (x86, arm64), else GNU as. */
export function defaultAssembler(f: CpuFamily | undefined): AsmBackend {
  return f && (f.id === 'x86_64' || f.id === 'i386' || f.id === 'arm64') ? 'keystone' : 'gnu-as';
}

/**
 * The CPU a port of an unknown CPU runs on until a human writes its own: the one that fits
 * the word size, byte order and assembler. A string says why there is none.
 */
export function placeholderFamily(wordSize: 4 | 8, endian: 'little' | 'big', backend: AsmBackend): CpuFamily | string {
  const pick = (id: string) => familyById(id);
  if (endian === 'little') {
    if (wordSize === 8) return pick(backend === 'keystone' ? 'arm64' : 'riscv64');
    return pick('arm');
  }
  if (backend === 'keystone') return `keystone cannot assemble for a big-endian CPU archkit runs (${KEYSTONE_CANNOT}): use --assembler gnu-as or llvm-mc`;
  return pick(wordSize === 8 ? 's390x' : 'mips');
}

/** Why `backend` cannot assemble for `f`, or undefined when it can. */
export function cannotAssemble(f: CpuFamily, backend: AsmBackend): string | undefined {
  if (f.assemblers[backend]) return undefined;
  return f.cannot?.[backend] ?? `no ${backend} target is known for ${f.title}`;
}
