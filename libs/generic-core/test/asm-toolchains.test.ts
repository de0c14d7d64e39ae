// The subprocess assembler backends (GNU as + ld, llvm-mc + ld.lld), the factory and the
// cache. Each toolchain's tests are skipped where its binaries are missing;
// ARCHKIT_REQUIRE_TOOLCHAINS=1 turns a missing toolchain into a failure.

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AsmError, AsmToolchainError, type Assembler, type AssembleResult } from '../src/asm/assembler.ts';
import { asmCacheStats, clearAsmMemoryCache, createAssembler, describeAssembler, toolSpawnCount, type AssemblerSpec } from '../src/asm/create.ts';
import { readElf } from '../src/asm/elf.ts';
import { gnuAsPackage } from '../src/asm/gnu-as.ts';
import { findOnPath } from '../src/asm/toolchain.ts';

const FILE = 'libs/arch-test/src/entry.S';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const syms = (r: AssembleResult) => Object.fromEntries([...r.symbols].map(([k, v]) => [k, `0x${v.toString(16)}`]));
const have = (...bins: string[]) => bins.every((b) => findOnPath(b) !== undefined);
const gnu = (triple: string) => have(`${triple}-as`, `${triple}-ld`);
const HAVE_LLVM = have('llvm-mc-19', 'ld.lld-19');

function asmError(fn: () => unknown): AsmError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return e as AsmError;
  }
  throw new Error('expected an AsmError');
}

// Private temp and cache dirs: proves the backends clean up, and keeps ~/.cache untouched.
let scratch: string;
let tmp: string;
const savedEnv = { TMPDIR: process.env['TMPDIR'], ARCHKIT_CACHE_DIR: process.env['ARCHKIT_CACHE_DIR'], ARCHKIT_NO_ASM_CACHE: process.env['ARCHKIT_NO_ASM_CACHE'] };
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'archkit-asm-test-'));
  tmp = join(scratch, 'tmp');
  process.env['TMPDIR'] = tmp;
  process.env['ARCHKIT_CACHE_DIR'] = join(scratch, 'cache');
  delete process.env['ARCHKIT_NO_ASM_CACHE'];
});
beforeEach(() => {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
});
afterAll(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(scratch, { recursive: true, force: true });
});

const noCache = { cache: false } as const;

// ---------------------------------------------------------------------------------------

const MIPS_SRC = `	.set noreorder
start:
	addiu	$a0, $zero, 5
	beq	$a0, $zero, .Lskip
	 addiu	$a1, $zero, 1
	jal	func
	 nop
.Lskip:
	lui	$t0, %hi(data)
	addiu	$t0, $t0, %lo(data)
	jr	$ra
	 nop
func:
	jr	$ra
	 move	$v0, $a0
data:	.word	func
`;

const RISCV_SRC = `start:
	la	a0, data
	call	func
	li	a1, MAGIC
	addi	a2, a2, MAGIC
	ret
func:
	ret
data:	.dword	func
`;

const PPC_SRC = `start:
	lis	3, data@ha
	addi	3, 3, data@l
	bl	func
	li	4, MAGIC
	blr
func:	blr
data:	.long	func
`;

describe('gnu-as backend', () => {
  it.skipIf(!gnu('mips-linux-gnu'))('mips (big-endian): delay slot, jal and %hi/%lo resolved at the base', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    const r = as.assemble({ file: FILE, text: MIPS_SRC }, { base: 0x80100000n });
    expect(r.base).toBe(0x80100000n);
    expect(hex(r.bytes)).toBe(
      [
        '24040005', // addiu a0, zero, 5
        '10800003', // beq a0, zero, .Lskip (+3 words from the delay slot)
        '24050001', // delay slot: addiu a1, zero, 1
        '0c040009', // jal func: (0x80100024 >> 2) & 0x3ffffff, needs the base
        '00000000', // delay slot
        '3c088010', // lui t0, %hi(0x8010002c)
        '2508002c', // addiu t0, t0, %lo(...)
        '03e00008',
        '00000000',
        '03e00008', // func
        '00801025', // move v0, a0
        '80100024', // .word func, big-endian
      ].join(''),
    );
    expect(syms(r)).toEqual({ start: '0x80100000', func: '0x80100024', data: '0x8010002c' });
  });

  it.skipIf(!gnu('riscv64-linux-gnu'))('riscv64: la/call to labels at 0x100000, an .equ extern as an immediate', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'riscv64-linux-gnu' }, noCache);
    const r = as.assemble({ file: FILE, text: RISCV_SRC }, { base: 0x100000n, externs: { MAGIC: 0x123n } });
    expect(hex(r.bytes)).toBe(
      [
        '17050000', // auipc a0, 0
        '1305c501', // addi a0, a0, 0x1c -> data at 0x10001c
        'ef000001', // call func, relaxed by ld to jal ra, +0x10
        '93053012', // li a1, MAGIC (0x123)
        '13063612', // addi a2, a2, MAGIC
        '67800000', // ret
        '67800000', // func: ret
        '1800100000000000', // .dword func, little-endian
      ].join(''),
    );
    expect(syms(r)).toEqual({ start: '0x100000', func: '0x100018', data: '0x10001c' });
  });

  it.skipIf(!gnu('powerpc-linux-gnu'))('powerpc: @ha/@l, bl and a data word', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'powerpc-linux-gnu' }, noCache);
    const r = as.assemble({ file: FILE, text: PPC_SRC }, { base: 0x100000n, externs: { MAGIC: 0x123n } });
    expect(hex(r.bytes)).toBe('3c600010' + '38630018' + '4800000d' + '38800123' + '4e800020' + '4e800020' + '00100014');
    expect(syms(r)).toEqual({ start: '0x100000', func: '0x100014', data: '0x100018' });
  });

  // One small program per installed cross binutils: the ELF reader's class and endianness,
  // the ld emulation (sparc -32), data and bss in the flat image.
  const SMOKE: [string, string[], string, 4 | 8, 'big' | 'little'][] = [
    ['powerpc64-linux-gnu', [], 'start: bl target\ntarget: blr\n .data\n .balign 8\ndata1: .quad target\n', 8, 'big'],
    ['sparc64-linux-gnu', ['-32'], 'start: call target\n nop\ntarget: retl\n nop\n .data\ndata1: .word target\n', 4, 'big'],
    ['sparc64-linux-gnu', [], 'start: call target\n nop\ntarget: retl\n nop\n .data\n .balign 8\ndata1: .xword target\n', 8, 'big'],
    ['m68k-linux-gnu', [], 'start: jsr target\ntarget: rts\n .data\ndata1: .long target\n', 4, 'big'],
    ['s390x-linux-gnu', [], 'start: brasl %r14, target\ntarget: br %r14\n .data\n .balign 8\ndata1: .quad target\n', 8, 'big'],
    ['arm-linux-gnueabi', [], 'start: bl target\ntarget: bx lr\n .data\ndata1: .word target\n', 4, 'little'],
    ['i686-linux-gnu', [], 'start: call target\ntarget: ret\n .data\ndata1: .long target\n', 4, 'little'],
    ['x86_64-linux-gnu', [], 'start: call target\ntarget: ret\n .data\ndata1: .quad target\n .bss\nzeros: .skip 8\n', 8, 'little'],
  ];
  for (const [triple, flags, text, word, endian] of SMOKE) {
    it.skipIf(!gnu(triple))(`${[triple, ...flags].join(' ')} links a flat image with its data words`, async () => {
      const as = await createAssembler({ backend: 'gnu-as', target: triple, flags }, noCache);
      const base = 0x200000n;
      const r = as.assemble({ file: FILE, text }, { base });
      const target = r.symbols.get('target')!;
      const data1 = r.symbols.get('data1')!;
      expect(r.symbols.get('start')).toBe(base);
      const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
      const off = Number(data1 - base);
      const v = word === 8 ? dv.getBigUint64(off, endian === 'little') : BigInt(dv.getUint32(off, endian === 'little'));
      expect(v).toBe(target);
      if (r.symbols.has('zeros')) expect(r.bytes.length).toBeGreaterThanOrEqual(Number(r.symbols.get('zeros')! - base) + 8);
    });
  }

  it.skipIf(!gnu('mips-linux-gnu'))('every section lands in the one image; labels in other sections too', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    const text = '\t.section .entry.text,"ax"\nentry: nop\n\t.text\nstart: nop\n\t.data\nd: .word 1\n\t.bss\nb: .space 8\n\t.section .rodata\nro: .word 2\n';
    const r = as.assemble({ file: FILE, text }, { base: 0x1000n });
    // script order: .text, .rodata, .data, .bss, then the object's other sections
    expect([...r.symbols.keys()].sort()).toEqual(['b', 'd', 'entry', 'ro', 'start']);
    expect(r.symbols.get('start')).toBe(0x1000n);
    const at = (s: string) => Number(r.symbols.get(s)! - 0x1000n);
    expect(r.bytes.length).toBeGreaterThan(at('entry'));
    expect(at('start')).toBeLessThan(at('ro'));
    expect(at('ro')).toBeLessThan(at('d'));
    expect(at('d')).toBeLessThan(at('b'));
  });

  it.skipIf(!gnu('mips-linux-gnu'))('exports: only the named symbols, constants too; a missing one is an error', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    const r = as.assemble({ file: FILE, text: MIPS_SRC, prelude: '.equ K, 0x42\n' }, { base: 0x1000n, exports: ['func', 'K'] });
    expect(syms(r)).toEqual({ func: '0x1024', K: '0x42' });
    const e = asmError(() => as.assemble({ file: FILE, text: MIPS_SRC }, { base: 0x1000n, exports: ['nope'] }));
    expect(e.detail).toMatch(/exported symbol 'nope' is not defined/);
  });

  it.skipIf(!gnu('mips-linux-gnu'))('a base the first section cannot start at is an error, not leading padding', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    const e = asmError(() => as.assemble({ file: FILE, text: 'start: nop\n' }, { base: 0x100004n }));
    expect(e.detail).toMatch(/base 0x100004 is not a multiple of 16, the alignment of \.text/);
  });

  it.skipIf(!gnu('mips-linux-gnu'))('leaves no temp dir behind, on success and on error', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    as.assemble({ file: FILE, text: MIPS_SRC }, { base: 0n });
    asmError(() => as.assemble({ file: FILE, text: 'bogus\n' }, { base: 0n }));
    asmError(() => as.assemble({ file: FILE, text: 'jal nowhere\nnop\n' }, { base: 0n }));
    expect(readdirSync(tmp)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------

describe('llvm-mc backend', () => {
  it.skipIf(!HAVE_LLVM || !gnu('riscv64-linux-gnu'))('riscv64: the same bytes and symbols as GNU as', async () => {
    const g = await createAssembler({ backend: 'gnu-as', target: 'riscv64-linux-gnu' }, noCache);
    // Debian's GNU as default is rv64imafd with linker relaxation
    const l = await createAssembler({ backend: 'llvm-mc', target: 'riscv64', flags: ['-mattr=+m,+a,+f,+d,+relax'] }, noCache);
    const opts = { base: 0x100000n, externs: { MAGIC: 0x123n } };
    const a = g.assemble({ file: FILE, text: RISCV_SRC }, opts);
    const b = l.assemble({ file: FILE, text: RISCV_SRC }, opts);
    expect(hex(b.bytes)).toBe(hex(a.bytes));
    expect(syms(b)).toEqual(syms(a));
  });

  it.skipIf(!HAVE_LLVM || !gnu('mips-linux-gnu'))('mips: the same bytes and symbols as GNU as', async () => {
    const g = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    const l = await createAssembler({ backend: 'llvm-mc', target: 'mips' }, noCache);
    const a = g.assemble({ file: FILE, text: MIPS_SRC }, { base: 0x80100000n });
    const b = l.assemble({ file: FILE, text: MIPS_SRC }, { base: 0x80100000n });
    expect(hex(b.bytes)).toBe(hex(a.bytes));
    expect(syms(b)).toEqual(syms(a));
  });

  it.skipIf(!HAVE_LLVM)('ld.lld cannot link m68k: the error says to use gnu-as', async () => {
    const l = await createAssembler({ backend: 'llvm-mc', target: 'm68k' }, noCache);
    const e = asmError(() => l.assemble({ file: FILE, text: 'start: rts\n' }, { base: 0x1000n }));
    expect(e.message).toMatch(/cannot link m68k objects; use the gnu-as backend/);
  });
});

// ---------------------------------------------------------------------------------------

const PRELUDE50 = Array.from({ length: 50 }, (_, i) => `.equ CONST_${i}, ${i * 8}`).join('\n') + '\n';

type Backend = { label: string; spec: AssemblerSpec; ok: boolean; nop: string; bad: string; callUndef: string };
const BACKENDS: Backend[] = [
  { label: 'gnu-as riscv64', spec: { backend: 'gnu-as', target: 'riscv64-linux-gnu' }, ok: gnu('riscv64-linux-gnu'), nop: 'nop', bad: 'frobnicate a0, a1', callUndef: 'call missing_fn' },
  { label: 'gnu-as mips', spec: { backend: 'gnu-as', target: 'mips-linux-gnu' }, ok: gnu('mips-linux-gnu'), nop: 'nop', bad: 'frobnicate $a0', callUndef: 'jal missing_fn' },
  { label: 'llvm-mc riscv64', spec: { backend: 'llvm-mc', target: 'riscv64' }, ok: HAVE_LLVM, nop: 'nop', bad: 'frobnicate a0, a1', callUndef: 'call missing_fn' },
  { label: 'llvm-mc mips', spec: { backend: 'llvm-mc', target: 'mips' }, ok: HAVE_LLVM, nop: 'nop', bad: 'frobnicate $a0', callUndef: 'jal missing_fn' },
];

describe.each(BACKENDS)('error mapping: $label', ({ spec, ok, nop, bad, callUndef }) => {
  let as: Assembler;
  beforeAll(async () => {
    if (ok) as = await createAssembler(spec, noCache);
  });
  const lines = (n: number, last: string) => [...Array.from({ length: n - 1 }, () => `\t${nop}`), `\t${last}`, `\t${nop}`].join('\n') + '\n';

  it.skipIf(!ok)('a bad mnemonic on line N after a 50-line prelude is reported at file:N', () => {
    for (const n of [1, 7, 23]) {
      const e = asmError(() => as.assemble({ file: FILE, text: lines(n, bad), prelude: PRELUDE50 }, { base: 0x100000n }));
      expect(e.file).toBe(FILE);
      expect(e.line).toBe(n);
      expect(e.message).toContain(`${FILE}:${n}: assembler error:`);
      expect(e.sourceLine?.trim()).toBe(bad);
    }
  });

  it.skipIf(!ok)('a bad line in the prelude is reported in <prelude>', () => {
    const prelude = PRELUDE50.replace('.equ CONST_9, 72', '.equ CONST_9, ((72');
    const e = asmError(() => as.assemble({ file: FILE, text: lines(2, nop), prelude }, { base: 0x100000n }));
    expect(e.file).toBe('<prelude>');
    expect(e.line).toBe(10);
    expect(e.detail).toContain(`prelude of ${FILE}`);
  });

  it.skipIf(!ok)('a bad line in a macro body is reported at the body line, naming the use', () => {
    const text = `\t.macro SAVE reg\n\t${nop}\n\t${bad}\n\t.endm\n\t${nop}\n\tSAVE 1\n`;
    const e = asmError(() => as.assemble({ file: FILE, text, prelude: PRELUDE50 }, { base: 0x100000n }));
    expect(e.file).toBe(FILE);
    expect(e.line).toBe(3);
    expect(e.detail).toMatch(/macro used at line 6/);
  });

  it.skipIf(!ok)('an undefined symbol: the file, the first line that uses it, and what it is', () => {
    const e = asmError(() => as.assemble({ file: FILE, text: lines(4, callUndef), prelude: PRELUDE50 }, { base: 0x100000n }));
    expect(e.file).toBe(FILE);
    expect(e.line).toBe(4);
    expect(e.detail).toMatch(/undefined symbol 'missing_fn' \(at start\+0x|undefined symbol 'missing_fn' \(at \.text\+0x/);
    expect(e.detail).toMatch(/not a label or constant of the source, the prelude or the externs/);
  });

  it.skipIf(!ok)('any file name (absolute, with spaces and parentheses) comes back unchanged', () => {
    for (const file of ['/abs/path/entry.S', 'exit (user program from libs/arch-test/src/user.hbs)', '../up/x.S', '<prelude>']) {
      const e = asmError(() => as.assemble({ file, text: lines(3, bad) }, { base: 0x100000n }));
      expect(e.file).toBe(file);
      expect(e.line).toBe(3);
    }
  });

  it.skipIf(!ok)('externs resolve like labels; an extern clashing with a label is an error', () => {
    const r = as.assemble({ file: FILE, text: `start:\n\t${callUndef}\n` }, { base: 0x100000n, externs: { missing_fn: 0x100100n } });
    expect(r.symbols.get('start')).toBe(0x100000n);
    const e = asmError(() => as.assemble({ file: FILE, text: `missing_fn:\n\t${nop}\n` }, { base: 0x100000n, externs: { missing_fn: 0x100100n } }));
    expect(e.line).toBe(1);
    expect(e.detail).toMatch(/symbol .missing_fn. is already defined \(it is also given as an extern\)/);
  });
});

describe('warnings are errors', () => {
  it.skipIf(!gnu('mips-linux-gnu'))('a GNU as warning fails the assemble and says it was a warning', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, noCache);
    const e = asmError(() => as.assemble({ file: FILE, text: '\tnop\n\t.word 0x123456789\n' }, { base: 0n }));
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/entry\.S:2: assembler warning \(treated as an error\): value 0x123456789 truncated/);
  });
});

// ---------------------------------------------------------------------------------------

describe('missing toolchain', () => {
  it('gnu-as: names the binary and the derived Debian package', async () => {
    const p = createAssembler({ backend: 'gnu-as', target: 'nonesuch-linux-gnu' });
    await expect(p).rejects.toBeInstanceOf(AsmToolchainError);
    await expect(p).rejects.toThrow(
      'nonesuch-linux-gnu-as not found on PATH: install the Debian package binutils-nonesuch-linux-gnu (apt-get install binutils-nonesuch-linux-gnu)',
    );
    const e = (await p.catch((x: unknown) => x)) as AsmToolchainError;
    expect(e.name).toBe('AsmToolchainError');
    expect(e.tool).toBe('nonesuch-linux-gnu-as');
    expect(e.debianPackage).toBe('binutils-nonesuch-linux-gnu');
  });

  it('gnu-as: spec.package wins; Debian package names have no underscore', async () => {
    await expect(createAssembler({ backend: 'gnu-as', target: 'or1k-elf', package: 'binutils-or1k-elf' }).catch((e: unknown) => e)).resolves.toMatchObject({
      name: 'AsmToolchainError',
      debianPackage: 'binutils-or1k-elf',
    });
    expect(gnuAsPackage('x86_64-linux-gnu')).toBe('binutils-x86-64-linux-gnu');
  });

  it('llvm-mc: llvm-19 for llvm-mc, lld-19 for ld.lld', async () => {
    await expect(createAssembler({ backend: 'llvm-mc', target: 'riscv64' }, { tools: { as: 'llvm-mc-nonesuch' } })).rejects.toThrow(
      /^llvm-mc-nonesuch not found on PATH: install the Debian package llvm-19 \(apt-get install llvm-19\)/,
    );
    await expect(createAssembler({ backend: 'llvm-mc', target: 'riscv64' }, { tools: { as: findOnPath('llvm-mc-19') ?? 'llvm-mc-19', ld: 'ld.lld-nonesuch' } })).rejects.toThrow(
      /^ld\.lld-nonesuch not found on PATH: install the Debian package lld-19 \(apt-get install lld-19\)/,
    );
  });

  it('describeAssembler says how to install a missing tool instead of throwing', () => {
    expect(describeAssembler({ backend: 'gnu-as', target: 'nonesuch-linux-gnu' })).toBe(
      'GNU as (nonesuch-linux-gnu): not installed (apt-get install binutils-nonesuch-linux-gnu)',
    );
  });

  it('unknown backend and missing target are plain errors', async () => {
    await expect(createAssembler({ backend: 'nasm', target: 'x86_64' })).rejects.toThrow(/unknown assembler backend 'nasm'/);
    await expect(createAssembler({ backend: 'gnu-as' })).rejects.toThrow(/no target/);
  });
});

describe('a hung tool', () => {
  it.skipIf(!gnu('mips-linux-gnu'))('is killed after the timeout with an AsmError naming it', async () => {
    const fake = join(scratch, 'fake-as');
    writeFileSync(fake, '#!/bin/sh\ncase "$1" in --version) echo "GNU assembler (fake) 0.1"; exit 0;; esac\nexec sleep 30\n');
    chmodSync(fake, 0o755);
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }, { cache: false, timeoutMs: 300, tools: { as: fake } });
    const t0 = Date.now();
    const e = asmError(() => as.assemble({ file: FILE, text: 'nop\n' }, { base: 0n }));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.message).toMatch(/fake-as did not finish within 0\.3 s and was killed/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------

describe('describeAssembler', () => {
  it.skipIf(!gnu('mips-linux-gnu'))('gnu-as: the installed GNU as version', () => {
    expect(describeAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' })).toMatch(/^GNU as \d+\.\d+(\.\d+)? \(mips-linux-gnu\)$/);
    expect(describeAssembler({ backend: 'gnu-as', target: 'sparc64-linux-gnu', flags: ['-32'] })).toMatch(/^GNU as [\d.]+ \(sparc64-linux-gnu -32\)$/);
  });
  it.skipIf(!HAVE_LLVM)('llvm-mc: the installed LLVM version', () => {
    expect(describeAssembler({ backend: 'llvm-mc', target: 'riscv64' })).toMatch(/^llvm-mc 19\.\d+\.\d+ \(riscv64\)$/);
  });
  it('keystone: the keystone and wrapper versions; `arch` still accepted', async () => {
    expect(describeAssembler({ backend: 'keystone', arch: 'x86_64' })).toBe('keystone 0.9.2 (keystone-wasm 1.0.4)');
    const ks = await createAssembler({ backend: 'keystone', target: 'x86_64' });
    expect(ks.name).toBe('keystone 0.9.2 (keystone-wasm 1.0.4)');
  });
  it.skipIf(!gnu('mips-linux-gnu'))('the assembler name is the same string', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' });
    expect(as.name).toBe(describeAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' }));
  });
});

// ---------------------------------------------------------------------------------------

describe('cache', () => {
  const unique = () => `# ${Date.now()} ${Math.random()}\n`;

  it.skipIf(!gnu('mips-linux-gnu'))('a second assemble of the same input spawns no process; disk serves a new process', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' });
    const src = { file: FILE, text: unique() + MIPS_SRC };
    const s0 = toolSpawnCount();
    const a = as.assemble(src, { base: 0x80100000n });
    expect(toolSpawnCount() - s0).toBe(2); // as + ld
    const st = asmCacheStats();
    const b = as.assemble(src, { base: 0x80100000n });
    expect(toolSpawnCount() - s0).toBe(2);
    expect(asmCacheStats().memoryHits).toBe(st.memoryHits + 1);
    expect(hex(b.bytes)).toBe(hex(a.bytes));
    expect(syms(b)).toEqual(syms(a));
    // results are copies: a caller that scribbles on one does not damage the cache
    b.bytes.fill(0);
    b.symbols.clear();
    expect(hex(as.assemble(src, { base: 0x80100000n }).bytes)).toBe(hex(a.bytes));

    clearAsmMemoryCache(); // as a fresh process would be
    const c = as.assemble(src, { base: 0x80100000n });
    expect(toolSpawnCount() - s0).toBe(2);
    expect(asmCacheStats().diskHits).toBe(st.diskHits + 1);
    expect(syms(c)).toEqual(syms(a));
    expect(readdirSync(join(scratch, 'cache')).length).toBeGreaterThan(0);

    // anything in the key changes: base, externs, flags
    as.assemble(src, { base: 0x80200000n });
    expect(toolSpawnCount() - s0).toBe(4);
  });

  it.skipIf(!gnu('mips-linux-gnu'))('errors are not cached; ARCHKIT_NO_ASM_CACHE=1 bypasses the cache', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' });
    const bad = { file: FILE, text: unique() + 'frobnicate\n' };
    const s0 = toolSpawnCount();
    asmError(() => as.assemble(bad, { base: 0n }));
    asmError(() => as.assemble(bad, { base: 0n }));
    expect(toolSpawnCount() - s0).toBe(2);

    const good = { file: FILE, text: unique() + MIPS_SRC };
    as.assemble(good, { base: 0n });
    const s1 = toolSpawnCount();
    process.env['ARCHKIT_NO_ASM_CACHE'] = '1';
    try {
      as.assemble(good, { base: 0n });
    } finally {
      delete process.env['ARCHKIT_NO_ASM_CACHE'];
    }
    expect(toolSpawnCount() - s1).toBe(2);
  });

  it.skipIf(!gnu('mips-linux-gnu'))('an unwritable cache directory falls back to memory silently', async () => {
    const as = await createAssembler({ backend: 'gnu-as', target: 'mips-linux-gnu' });
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    process.env['ARCHKIT_CACHE_DIR'] = join(file, 'cache'); // under a file: never creatable, even as root
    try {
      const src = { file: FILE, text: unique() + MIPS_SRC };
      const s0 = toolSpawnCount();
      as.assemble(src, { base: 0n });
      as.assemble(src, { base: 0n });
      expect(toolSpawnCount() - s0).toBe(2);
    } finally {
      process.env['ARCHKIT_CACHE_DIR'] = join(scratch, 'cache');
    }
  });

  it('keystone goes through the same cache', async () => {
    const ks = await createAssembler({ backend: 'keystone', target: 'x86_64' });
    const src = { file: FILE, text: unique() + 'nop\nret\n' };
    const st = asmCacheStats();
    const a = ks.assemble(src, { base: 0x1000n });
    const b = ks.assemble(src, { base: 0x1000n });
    expect(hex(a.bytes)).toBe('90c3');
    expect(hex(b.bytes)).toBe('90c3');
    expect(asmCacheStats().misses).toBe(st.misses + 1);
    expect(asmCacheStats().memoryHits).toBe(st.memoryHits + 1);
  });
});

// ---------------------------------------------------------------------------------------

describe('ELF reader', () => {
  it('rejects what is not ELF', () => {
    expect(() => readElf(new Uint8Array(64))).toThrow(/no ELF magic/);
  });
});

describe.runIf(process.env['ARCHKIT_REQUIRE_TOOLCHAINS'] === '1')('toolchains required here', () => {
  it('has every toolchain these tests use', () => {
    for (const t of ['mips-linux-gnu', 'riscv64-linux-gnu', 'powerpc-linux-gnu']) expect(gnu(t), t).toBe(true);
    expect(HAVE_LLVM, 'llvm-mc-19 + ld.lld-19').toBe(true);
  });
});
