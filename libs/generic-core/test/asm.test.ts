import { beforeAll, describe, expect, it } from 'vitest';
import { AsmError, type Assembler } from '../src/asm/assembler.ts';
import { createKeystoneAssembler, keystoneVersion } from '../src/asm/keystone.ts';
import { asmOffsetsPrelude, constantLine } from '../src/asm/offsets.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const BASE = 0x100000n;

let x86: Assembler;
let x86raw: Assembler;
let a64: Assembler;

beforeAll(async () => {
  x86 = await createKeystoneAssembler('x86_64');
  x86raw = await createKeystoneAssembler('x86_64', { lint: false });
  a64 = await createKeystoneAssembler('arm64');
});

function asm(as: Assembler, text: string, opts: { externs?: Record<string, bigint>; exports?: string[]; prelude?: string; base?: bigint } = {}) {
  const src = { file: 'libs/arch-test/src/entry.S', text, ...(opts.prelude !== undefined ? { prelude: opts.prelude } : {}) };
  return as.assemble(src, {
    base: opts.base ?? BASE,
    ...(opts.externs ? { externs: opts.externs } : {}),
    ...(opts.exports ? { exports: opts.exports } : {}),
  });
}
const bytes = (as: Assembler, text: string, opts?: Parameters<typeof asm>[2]) => hex(asm(as, text, opts).bytes);

function asmError(fn: () => unknown): AsmError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return e as AsmError;
  }
  throw new Error('expected an AsmError');
}

describe('keystone backend: identity', () => {
  it('names its version', () => {
    expect(x86.name).toBe('keystone 0.9.2 (keystone-wasm 1.0.4)');
    expect(keystoneVersion()).toBe(x86.name);
  });

  it('refuses arches this keystone-wasm build lacks, pointing at GNU as', async () => {
    await expect(createKeystoneAssembler('mips')).rejects.toThrow(/built without 'mips'.*GNU as/);
    await expect(createKeystoneAssembler('vax')).rejects.toThrow(/unknown arch 'vax'/);
  });
});

describe('keystone backend: x86-64 encodings', () => {
  it.each([
    ['syscall', '0f05'],
    ['swapgs', '0f01f8'],
    ['iretq', '48cf'],
    ['sti', 'fb'],
    ['cli', 'fa'],
    ['sysret', '480f07'], // keystone's sysret is already sysretq (REX.W)
    ['mov rax, qword ptr [rbx + 8]', '488b4308'],
    ['mov qword ptr [rsp + 8*15], -1', '48c7442478ffffffff'],
  ])('%s', (insn, expected) => {
    expect(bytes(x86, insn)).toBe(expected);
  });

  it('absolute operands: [riz*1 + X] is the absolute (SIB, no base) form, loads and stores', () => {
    expect(bytes(x86, 'mov rsp, qword ptr [riz*1 + 0x601000]')).toBe('488b242500106000');
    expect(bytes(x86, 'mov qword ptr [riz*1 + 0x601000], rsp')).toBe('4889242500106000');
    expect(bytes(x86, 'mov rsp, qword ptr [eiz*1 + 0x601000]')).toBe('488b242500106000');
  });

  it('gs-relative operands: gs:[riz*1 + off] encodes an absolute gs:[off]', () => {
    expect(bytes(x86, 'mov qword ptr gs:[riz*1 + 8], rsp')).toBe('654889242508000000');
    expect(bytes(x86, 'mov rsp, qword ptr gs:[riz*1 + 8]')).toBe('65488b242508000000');
  });

  it('pins the keystone quirks the lint guards against (lint off)', () => {
    // store: RIP-relative, disp computed from the base address (only right when loaded there)
    expect(bytes(x86raw, 'mov qword ptr [0x601000], rsp')).toBe('488925f90f5000');
    // load: [rip + 0x601000] -- wrong
    expect(bytes(x86raw, 'mov rsp, qword ptr [0x601000]')).toBe('488b2500106000');
    // gs load: gs:[rip + 8] -- wrong
    expect(bytes(x86raw, 'mov rsp, qword ptr gs:[8]')).toBe('65488b2508000000');
    // [riz + X] without a scale: [rsp + X] -- wrong
    expect(bytes(x86raw, 'mov rsp, qword ptr [riz + 0x601000]')).toBe('488ba42400106000');
  });

  it('lint rejects register-less memory operands, riz without scale and sysretq', () => {
    const e1 = asmError(() => asm(x86, 'nop\n  mov rsp, qword ptr gs:[8]\n'));
    expect(e1.line).toBe(2);
    expect(e1.detail).toMatch(/\[riz\*1 \+ 8\]/);
    const e2 = asmError(() => asm(x86, 'mov qword ptr [riz + 0x10], rax'));
    expect(e2.detail).toMatch(/riz\*1/);
    const e3 = asmError(() => asm(x86, 'nop\nnop\n  sysretq\n'));
    expect(e3.line).toBe(3);
    expect(e3.detail).toMatch(/write 'sysret'/);
  });

  it('table-indirect call through an extern symbol', () => {
    const r = asm(x86, 'entry:\n  call qword ptr [rax*8 + sys_call_table]\n', { externs: { sys_call_table: 0x200000n } });
    expect(hex(r.bytes)).toBe('ff14c500002000');
    expect(r.symbols.get('entry')).toBe(0x100000n);
  });

  it('rip-relative label operands and relative calls to externs', () => {
    const r = asm(x86, 'val: .quad 7\nget:\n  mov rbx, qword ptr [rip + val]\n  call do_work\n', {
      externs: { do_work: 0x300000n },
    });
    // mov at 0x100008, 7 bytes -> rip 0x10000f; disp = 0x100000 - 0x10000f = -15
    // call at 0x10000f, 5 bytes -> 0x300000 - 0x100014 = 0x1fffec
    expect(hex(r.bytes)).toBe('0700000000000000' + '488b1df1ffffff' + 'e8ecff1f00');
    expect(r.symbols.get('get')).toBe(0x100008n);
  });
});

describe('keystone backend: arm64 encodings', () => {
  it.each([
    ['msr daifset, #2', 'df4203d5'],
    ['msr daifclr, #2', 'ff4203d5'],
    ['eret', 'e0039fd6'],
    ['mrs x0, sp_el0', '004138d5'],
    ['msr sp_el0, x0', '004118d5'],
    ['msr elr_el1, x0', '204018d5'],
    ['mrs x1, spsr_el1', '014038d5'],
    ['stp x29, x30, [sp, #-16]!', 'fd7bbfa9'],
    ['ldp x0, x1, [sp], #16', 'e007c1a8'],
    ['svc #0', '010000d4'],
    ['blr x19', '60023fd6'],
    ['ret', 'c0035fd6'],
  ])('%s', (insn, expected) => {
    expect(bytes(a64, insn)).toBe(expected);
  });

  it('pc-relative forms: adr, b.ne, cbz to labels', () => {
    const r = asm(a64, 'start:\n  adr x0, target\n  b.ne target\n  cbz x0, target\ntarget:\n  nop\n');
    expect(hex(r.bytes)).toBe('60000010' + '41000054' + '200000b4' + '1f2003d5');
    expect(r.symbols.get('target')).toBe(0x10000cn);
  });
});

describe('keystone backend: the other compiled-in arches', () => {
  it('i386 and arm (ARM and Thumb) assemble through the same table', async () => {
    const i386 = await createKeystoneAssembler('i386');
    expect(bytes(i386, 'int 0x80\nl: .long l')).toBe('cd80' + '02001000');
    const arm = await createKeystoneAssembler('arm');
    expect(bytes(arm, 'mov r7, #1 @ comment\n  svc #0\nl: .long l')).toBe('0170a0e3' + '000000ef' + '08001000');
    const thumb = await createKeystoneAssembler('thumb');
    expect(bytes(thumb, 'svc #0')).toBe('00df');
  });

  it('caches one assembler per arch', async () => {
    expect(await createKeystoneAssembler('aarch64')).toBe(a64);
  });
});

describe('keystone backend: symbols, comments, directives', () => {
  it('exports every label by default with exact addresses; data directives and alignment', () => {
    const r = asm(
      x86,
      ['a: nop', '  .balign 16', 'b:', '  .quad a', 'c: .long 0x11223344', '.Llocal: ret'].join('\n'),
      { base: 0x400004n },
    );
    expect([...r.symbols.entries()]).toEqual([
      ['a', 0x400004n],
      ['b', 0x400010n],
      ['c', 0x400018n],
      ['.Llocal', 0x40001cn],
    ]);
    expect(r.bytes.length).toBe(0x19);
    expect(hex(r.bytes.slice(0x0c))).toBe('0400400000000000' + '44332211' + 'c3');
  });

  it('explicit exports, including an equ symbol; undefined exports are an error', () => {
    const r = asm(a64, '.equ MAGIC, 0x1234\nx: nop\ny: nop\n', { exports: ['y', 'MAGIC'] });
    expect([...r.symbols.entries()]).toEqual([
      ['y', 0x100004n],
      ['MAGIC', 0x1234n],
    ]);
    const e = asmError(() => asm(a64, 'x: nop\n', { exports: ['nope'] }));
    expect(e.message).toMatch(/exported symbol 'nope' is not defined/);
  });

  it('x86 comments: # and // ; C block comments keep line numbers', () => {
    const text = ['/* header', '   comment */', 'start: nop # hash', '  mov rax, 1 // slashes', '  bogus rax'].join('\n');
    const e = asmError(() => asm(x86, text));
    expect(e.line).toBe(5);
    expect(bytes(x86, text.split('\n').slice(0, 4).join('\n'))).toBe('90' + '48c7c001000000');
  });

  it('arm64 comments: // anywhere and # at line start', () => {
    expect(bytes(a64, '# a comment line\n  nop // trailing\n  mov x0, #1 // immediate keeps its #\n')).toBe('1f2003d5' + '200080d2');
  });

  it('drops .text/.type/.size/.global, rejects other sections with the line', () => {
    expect(bytes(x86, '.text\n.globl f\n.type f, @function\nf: ret\n.size f, .-f\n')).toBe('c3');
    const e = asmError(() => asm(x86, 'nop\n  .section .data\n'));
    expect(e.message).toBe(
      "libs/arch-test/src/entry.S:2: assembler error: section '.data' is not supported (one flat image; only .text is accepted)\n    .section .data",
    );
    expect(asmError(() => asm(a64, 'nop\n.data\n')).line).toBe(2);
  });

  it('macros and .rept work', () => {
    expect(bytes(a64, '.macro SAVE r\n  str \\r, [sp, #-16]!\n.endm\n  SAVE x0\n.rept 2\n  nop\n.endr\n')).toBe(
      'e00f1ff8' + '1f2003d5' + '1f2003d5',
    );
  });

  it('assembles sources larger than the 64 KiB wasm stack', () => {
    const text = Array.from({ length: 4000 }, (_, i) => `l${i}: mov qword ptr [rbx + ${i}], rax`).join('\n');
    expect(text.length).toBeGreaterThan(100_000);
    const r = asm(x86, text, { exports: ['l0', 'l3999'] });
    expect(r.symbols.get('l0')).toBe(BASE);
    expect(r.symbols.get('l3999')! - BASE).toBe(BigInt(r.bytes.length - 7));
  });
});

describe('keystone backend: asm-offsets prelude', () => {
  it('renders one .equ per line', () => {
    expect(asmOffsetsPrelude({ PT_ORIG_AX: 120, NO_SYSCALL: -1, BIG: 0xffff_0000_0000_0000n })).toBe(
      '.equ PT_ORIG_AX, 0x78\n.equ NO_SYSCALL, -0x1\n.equ BIG, 0xffff000000000000\n',
    );
    expect(() => constantLine('bad name', 1)).toThrow(/not a valid symbol/);
    expect(() => constantLine('X', 1.5)).toThrow(/not an integer/);
  });

  it('x86-64 entry-style code using the constants', () => {
    const prelude = asmOffsetsPrelude(
      { PT_ORIG_AX: 0x78, TI_FLAGS: 8, _TIF_WORK_MASK: 0x0e, __NR_restart_syscall: 219, NO_SYSCALL: -1 },
    );
    const text = [
      '  mov qword ptr [rsp + PT_ORIG_AX], NO_SYSCALL',
      '  test dword ptr [rcx + TI_FLAGS], _TIF_WORK_MASK',
      '  mov eax, __NR_restart_syscall',
      '  cmp rax, NO_SYSCALL',
    ].join('\n');
    expect(bytes(x86, text, { prelude })).toBe('48c7442478ffffffff' + 'f741080e000000' + 'b8db000000' + '4883f8ff');
  });

  it('arm64 entry-style code using the constants', () => {
    const prelude = asmOffsetsPrelude({ S_X0: 0, S_ORIG_X0: 0x110, S_SYSCALLNO: 0x118, _TIF_SIGPENDING: 1 });
    const text = ['  str x0, [sp, #S_ORIG_X0]', '  ldr w8, [sp, #S_SYSCALLNO]', '  tst x1, #_TIF_SIGPENDING'].join('\n');
    expect(bytes(a64, text, { prelude })).toBe('e08b00f9' + 'e81b41b9' + '3f0040f2');
  });

  it('errors in the prelude say <prelude>', () => {
    const e = asmError(() => asm(x86, 'nop', { prelude: '.equ A, 1\nbogus line\n' }));
    expect(e.file).toBe('<prelude>');
    expect(e.line).toBe(2);
  });
});

describe('keystone backend: errors carry file:line', () => {
  const file = 'libs/arch-test/src/entry.S';

  it('a bad line in the middle of a file (x86)', () => {
    const lines = ['entry:', '  swapgs', '  mov qword ptr gs:[riz*1 + 16], rsp', '  push rax', '  mov rax, qword ptr [rbx+ 8]', '  movq rbx, rcx, rdx', '  pop rax', '  jmp entry'];
    const e = asmError(() => asm(x86, lines.join('\n'), { prelude: '.equ X, 1\n.equ Y, 2\n' }));
    expect(e.file).toBe(file);
    expect(e.line).toBe(6);
    expect(e.message).toBe(`${file}:6: assembler error: invalid operand (KS_ERR_ASM_INVALIDOPERAND)\n    movq rbx, rcx, rdx`);
  });

  it('an invalid mnemonic (arm64), later labels still resolvable', () => {
    const e = asmError(() => asm(a64, 'start:\n  cbz x0, later\n  frobnicate x1\n  b start\nlater:\n  ret\n'));
    expect(e.line).toBe(3);
    expect(e.detail).toBe('invalid mnemonic (KS_ERR_ASM_MNEMONICFAIL)');
    expect(e.sourceLine).toBe('  frobnicate x1');
  });

  it('names an undefined symbol (x86 table call)', () => {
    const e = asmError(() => asm(x86, 'entry:\n  nop\n  call qword ptr [rax*8 + sys_call_table]\n  ret\n'));
    expect(e.message).toBe(
      `${file}:3: assembler error: undefined symbol 'sys_call_table' (KS_ERR_ASM_SYMBOL_MISSING)\n    call qword ptr [rax*8 + sys_call_table]`,
    );
  });

  it('names an undefined symbol (arm64 immediate offset and branch target)', () => {
    const e1 = asmError(() => asm(a64, 'nop\nnop\n  ldr x0, [sp, #S_PC]\nnop\n'));
    expect(e1.line).toBe(3);
    expect(e1.detail).toMatch(/^undefined symbol 'S_PC'/);
    const e2 = asmError(() => asm(a64, 'nop\n  bl do_work_pending\n'));
    expect(e2.line).toBe(2);
    expect(e2.detail).toBe("undefined symbol 'do_work_pending' (KS_ERR_ASM_SYMBOL_MISSING)");
  });

  it('duplicate labels, numeric labels, unterminated macros, extern/label clashes', () => {
    expect(asmError(() => asm(x86, 'a: nop\nb: nop\na: nop')).message).toMatch(/:3: assembler error: label 'a' already defined at line 1/);
    expect(asmError(() => asm(x86, 'nop\n1: nop\n')).line).toBe(2);
    expect(asmError(() => asm(a64, 'nop\n.macro M\n nop\n')).message).toMatch(/:2: assembler error: \.macro is never closed/);
    expect(asmError(() => asm(x86, 'nop\nfoo: nop', { externs: { foo: 1n } })).line).toBe(2);
  });
});

describe('lines keystone would silently drop or mis-encode', () => {
  it('rejects unbalanced brackets and AT&T registers with file:line', async () => {
    const { createKeystoneAssembler } = await import('../src/asm/keystone.ts');
    const as = await createKeystoneAssembler('x86_64');
    expect(() => as.assemble({ file: 'e.S', text: 'nop\nmov rax, [rbx\n' }, { base: 0x1000n })).toThrow(/e\.S:2: .*unbalanced/);
    expect(() => as.assemble({ file: 'e.S', text: 'nop\nnop\nmovq rax, %rbx\n' }, { base: 0x1000n })).toThrow(/e\.S:3: .*AT&T/);
    const arm = await createKeystoneAssembler('arm64');
    expect(() => arm.assemble({ file: 'a.S', text: 'ldr x0, [x1\n' }, { base: 0x1000n })).toThrow(/a\.S:1: .*unbalanced/);
  });
});

describe('errors inside a macro body', () => {
  it('name the use site and the macro definition', async () => {
    const { createKeystoneAssembler } = await import('../src/asm/keystone.ts');
    const as = await createKeystoneAssembler('x86_64');
    const text = ['.macro SAVE r', '    push \\r', '    frobnicate rax', '.endm', 'start:', '    nop', '    SAVE rbx', '    ret'].join('\n');
    expect(() => as.assemble({ file: 'm.S', text }, { base: 0x1000n })).toThrow(/m\.S:7: .*in the expansion of macro SAVE, defined at line 1/);
  });
});
