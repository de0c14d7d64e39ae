import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DescriptorError,
  hex,
  loadDescriptor,
  parseDescriptor,
  parseHex,
  ptRegsOffsets,
  switchStackOffsets,
  syscallConstants,
  tifConstants,
} from '../src/contracts/descriptor.ts';

const FILE = 'libs/arch-x86_64/arch.json';
const PT = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];

function valid(): Record<string, any> {
  return {
    name: 'x86_64',
    title: 'x86-64',
    wordSize: 8,
    endian: 'little',
    emulator: { backend: 'unicorn', arch: 'x86', mode: '64' },
    assembler: { backend: 'keystone', arch: 'x86_64' },
    memory: { kernelText: '0x100000', kernelData: '0x200000', stubs: '0x300000', stacks: '0x400000', user: '0x800000', userSize: '0x40000', vdso: 0x7f0000 },
    registers: {
      pc: 'rip',
      sp: 'rsp',
      ret: 'rax',
      nr: 'rax',
      args: ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'],
      calleeSaved: ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'],
      user: ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'],
      extra: ['rflags'],
    },
    callingConvention: { args: ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'], ret: 'rax', returnAddress: 'stack' },
    syscall: { instruction: 'syscall', insnBytes: 2, error: 'negative', restartRewind: 2, numbers: { read: 0, write: 1, rt_sigreturn: 15, restart_syscall: 219 } },
    ptRegs: { size: 168, fields: PT.map((name, i) => ({ name, offset: i * 8, size: 8 })) },
    switchStack: null,
    tif: { NOTIFY_RESUME: 1, SIGPENDING: 2, NEED_RESCHED: 3 },
    workMasks: { _TIF_WORK_MASK: ['SIGPENDING', 'NEED_RESCHED', 'NOTIFY_RESUME'] },
    kthread: { fnReg: 'rbx', argReg: 'r12' },
    rseq: { abortIpReg: 'r10' },
    restart: { origReg: 'orig_ax', noSyscall: '-1' },
  };
}

function errorOf(json: string): DescriptorError {
  try {
    parseDescriptor(json, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(DescriptorError);
    return e as DescriptorError;
  }
  throw new Error('expected a DescriptorError');
}
const mutated = (f: (d: Record<string, any>) => void) => {
  const d = valid();
  f(d);
  return errorOf(JSON.stringify(d, null, 2));
};

describe('arch.json descriptor', () => {
  it('parses a valid descriptor', () => {
    const d = parseDescriptor(JSON.stringify(valid()), FILE);
    expect(d.name).toBe('x86_64');
    expect(d.wordSize).toBe(8);
    expect(d.memory.kernelText).toBe(0x100000n);
    expect(d.memory.vdso).toBe(0x7f0000n);
    expect(d.ptRegs.fields[15]).toEqual({ name: 'orig_ax', offset: 120, size: 8 });
    expect(d.switchStack).toBeNull();
    expect(d.restart).toEqual({ origReg: 'orig_ax', noSyscall: '-1' });
  });

  it('derives asm-offsets constants', () => {
    const d = parseDescriptor(JSON.stringify(valid()), FILE);
    const pt = ptRegsOffsets(d);
    expect(pt['PT_R15']).toBe(0);
    expect(pt['PT_ORIG_AX']).toBe(120);
    expect(pt['PT_SS']).toBe(160);
    expect(pt['PT_REGS_SIZE']).toBe(168);
    expect(switchStackOffsets(d)).toEqual({});
    const tif = tifConstants(d);
    expect(tif['TIF_SIGPENDING']).toBe(2n);
    expect(tif['_TIF_NEED_RESCHED']).toBe(8n);
    expect(tif['_TIF_WORK_MASK']).toBe(0b1110n);
    expect(syscallConstants(d)['__NR_restart_syscall']).toBe(219);
  });

  it('hex helpers', () => {
    expect(hex(0x100000)).toBe('0x100000');
    expect(hex(255n, 4)).toBe('0x00ff');
    expect(hex(-1)).toBe('-0x1');
    expect(parseHex('0x7f0000')).toBe(0x7f0000n);
    expect(parseHex(4096)).toBe(4096n);
    expect(parseHex('4096')).toBeUndefined();
    expect(parseHex(-1)).toBeUndefined();
  });

  it('names the field: bad pt_regs offset', () => {
    const e = mutated((d) => (d.ptRegs.fields[3].offset = 'abc'));
    expect(e.message).toBe(`${FILE}: field "ptRegs.fields[3].offset": expected a non-negative integer, got "abc"`);
    expect(e.field).toBe('ptRegs.fields[3].offset');
  });

  it('names the field: missing register', () => {
    const e = mutated((d) => delete d.registers.sp);
    expect(e.message).toBe(`${FILE}: field "registers.sp": missing; expected a value for "sp"`);
  });

  it('names the field: overlapping and out-of-bounds pt_regs fields', () => {
    const e1 = mutated((d) => (d.ptRegs.fields[5].offset = 36));
    expect(e1.field).toBe('ptRegs.fields[5]');
    expect(e1.message).toMatch(/overlaps "bp" \(ptRegs\.fields\[4\], offset 32 size 8\)/);
    const e2 = mutated((d) => (d.ptRegs.size = 160));
    expect(e2.field).toBe('ptRegs.fields[20]');
    expect(e2.message).toMatch(/ends at 168, past ptRegs\.size 160/);
    const e3 = mutated((d) => (d.ptRegs.fields[7].name = 'r12'));
    expect(e3.message).toMatch(/field "ptRegs\.fields\[7\]\.name": duplicate field name "r12" \(also ptRegs\.fields\[3\]\)/);
  });

  it('names the field: work mask bit not in tif', () => {
    const e = mutated((d) => d.workMasks._TIF_WORK_MASK.push('UPROBE'));
    expect(e.message).toBe(`${FILE}: field "workMasks._TIF_WORK_MASK[3]": "UPROBE" is not a bit defined in "tif"`);
  });

  it('names the field: bad hex address, wrong word size, bad enum', () => {
    expect(mutated((d) => (d.memory.stacks = '0xZZ')).message).toBe(
      `${FILE}: field "memory.stacks": expected a hex string like "0x100000" or a non-negative integer, got "0xZZ"`,
    );
    expect(mutated((d) => (d.wordSize = 3)).field).toBe('wordSize');
    expect(mutated((d) => (d.syscall.error = 'errno')).message).toBe(
      `${FILE}: field "syscall.error": expected "negative" or "positive-flag", got "errno"`,
    );
    expect(mutated((d) => (d.syscall.error = 'positive-flag')).field).toBe('syscall.errorFlag');
  });

  it('names the field: unknown registers in kthread / rseq / calling convention', () => {
    expect(mutated((d) => (d.kthread.fnReg = 'x19')).message).toBe(
      `${FILE}: field "kthread.fnReg": register "x19" is not in registers.user, registers.extra or the ptRegs/switchStack fields`,
    );
    expect(mutated((d) => (d.rseq.abortIpReg = 'r16')).field).toBe('rseq.abortIpReg');
    expect(mutated((d) => (d.callingConvention.returnAddress = 'lr')).field).toBe('callingConvention.returnAddress');
    // a ptRegs field name and an extra both count as known registers
    expect(() => parseDescriptor(JSON.stringify({ ...valid(), rseq: { abortIpReg: 'orig_ax' } }), FILE)).not.toThrow();
  });

  it('optional symbols, scratch registers and pt_regs slot registers', () => {
    const d = valid();
    d.symbols = { retFromFork: 'ret_from_fork', entry: 'entry_SYSCALL_64' };
    d.registers.scratch = ['rcx', 'r11'];
    d.ptRegs.fields[5].reg = 'rbx';
    const p = parseDescriptor(JSON.stringify(d), FILE);
    expect(p.symbols).toEqual({ retFromFork: 'ret_from_fork', entry: 'entry_SYSCALL_64' });
    expect(p.ptRegs.fields[5]!.reg).toBe('rbx');
    expect(mutated((x) => (x.ptRegs.fields[16] = { name: 'ip', offset: 128, size: 8, reg: 'pc' })).field).toBe('ptRegs.fields[16].reg');
    expect(mutated((x) => (x.symbols = { entry: 'entry SYSCALL' })).field).toBe('symbols.entry');
  });

  it('names the field: unknown fields, tif range, switchStack shape', () => {
    expect(mutated((d) => (d.registers.fp = 'rbp')).message).toMatch(/field "registers\.fp": unknown field/);
    expect(mutated((d) => (d.tif.BIG = 64)).message).toBe(`${FILE}: field "tif.BIG": expected a bit number 0..63, got 64`);
    expect(mutated((d) => (d.switchStack = { size: 16, fields: [] })).field).toBe('switchStack.fields');
  });

  it('malformed JSON gives line:column', () => {
    const e = errorOf('{\n  "name": "x86_64"\n  "title": "x"\n}');
    expect(e.message).toBe(`${FILE}:3:3: malformed JSON: Expected ',' or '}' after property value`);
    expect(errorOf('{"name": ').message).toBe(`${FILE}:1:10: malformed JSON: Unexpected end of JSON input`);
  });

  it('loadDescriptor reads a file and reports unreadable paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'archkit-desc-'));
    const p = join(dir, 'arch.json');
    writeFileSync(p, JSON.stringify(valid()));
    expect(loadDescriptor(p).title).toBe('x86-64');
    expect(() => loadDescriptor(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read the descriptor/);
  });
});
