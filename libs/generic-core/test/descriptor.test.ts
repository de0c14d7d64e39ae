import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DescriptorError, hex, loadDescriptor, parseDescriptor, parseHex } from '../src/contracts/descriptor.ts';
import { parseStrictJson, JsonError } from '../src/contracts/json.ts';
import { asmConstants } from '../src/kernel/layout.ts';
import { makeAbi } from '../src/kernel/abi.ts';

const FILE = 'libs/arch-demo/arch.json';
const PT = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];
const PT_REG: Record<string, string> = { bp: 'rbp', bx: 'rbx', ax: 'rax', cx: 'rcx', dx: 'rdx', si: 'rsi', di: 'rdi', ip: 'rip', sp: 'rsp' };

function valid(): Record<string, any> {
  return {
    name: 'demo',
    title: 'a demo arch',
    linux: '6.18',
    sources: { numbers: 'arch/demo/entry/syscalls.tbl', ptRegs: 'arch/demo/include/asm/ptrace.h' },
    wordSize: 8,
    endian: 'little',
    emulator: { backend: 'unicorn', version: '2.0.1' },
    assembler: { backend: 'keystone', target: 'x86_64' },
    entry: { model: 'generic-entry' },
    memory: { kernelText: '0x100000', kernelData: '0x200000', stubs: '0x300000', stacks: '0x400000', user: '0x800000', userSize: '0x40000' },
    registers: {
      pc: 'rip',
      sp: 'rsp',
      user: ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'],
      calleeSaved: ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'],
      extra: ['rip'],
    },
    callingConvention: { args: ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'], ret: 'rax', returnAddress: 'stack' },
    syscall: {
      instruction: 'syscall',
      insnBytes: 2,
      nr: 'rax',
      args: ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'],
      ret: 'rax',
      error: { convention: 'negative' },
      cloneTlsArg: 4,
      numbers: { read: 0, write: 1, rt_sigreturn: 15, exit: 60, restart_syscall: 219 },
    },
    ptRegs: { size: 168, fields: PT.map((name, i) => ({ name, offset: i * 8, size: 8, ...(PT_REG[name] || /^r\d/.test(name) ? { reg: PT_REG[name] ?? name } : {}) })) },
    switchFrame: { location: 'stack', size: 24, fields: [{ name: 'bx', offset: 0, size: 8, reg: 'rbx' }, { name: 'r12', offset: 8, size: 8, reg: 'r12' }, { name: 'ret_addr', offset: 16, size: 8 }] },
    thread: { size: 8, fields: [{ name: 'sp', offset: 0, size: 8 }] },
    kthread: { fn: 'rbx', arg: 'r12' },
    tif: { NOTIFY_RESUME: 0, SIGPENDING: 1, NEED_RESCHED: 4 },
    workMasks: { EXIT_TO_USER_MODE_WORK: ['SIGPENDING', 'NEED_RESCHED', 'NOTIFY_RESUME'] },
    symbols: { retFromFork: 'ret_from_fork', switchTo: '__switch_to_asm' },
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

describe('strict JSON', () => {
  it('reports a key written twice with both positions', () => {
    expect(() => parseStrictJson('{\n  "a": 1,\n  "b": {"c": 2, "c": 3}\n}')).toThrow(JsonError);
    try {
      parseStrictJson('{\n  "a": 1,\n  "b": {"c": 2, "c": 3}\n}');
    } catch (e) {
      expect((e as Error).message).toBe('3:17: key "b.c" is written twice (first at 3:9); JSON keeps only the last');
    }
  });

  it('parses what JSON.parse parses, with key positions', () => {
    const text = '{"n": -1.5e3, "s": "x\\u0041\\n", "a": [true, false, null, {}], "o": {"k": []}}';
    const { value, positions } = parseStrictJson(text);
    expect(value).toEqual(JSON.parse(text));
    expect(positions.get('o.k')).toEqual({ line: 1, column: text.indexOf('"k"') + 1 });
  });

  it('locates malformed input', () => {
    expect(() => parseStrictJson('{"a": 1')).toThrow(/^1:8: expected "," or "}"/);
    expect(() => parseStrictJson('{"a": }')).toThrow(/^1:7: unexpected "}"/);
    expect(() => parseStrictJson('[1, 2] x')).toThrow(/unexpected text after/);
  });
});

describe('arch.json descriptor', () => {
  it('parses a valid descriptor with defaults', () => {
    const d = parseDescriptor(JSON.stringify(valid()), FILE);
    expect(d.name).toBe('demo');
    expect(d.memory.kernelText).toBe(0x100000n);
    expect(d.ptRegs.fields[15]).toEqual({ name: 'orig_ax', offset: 120, size: 8 });
    expect(d.switchStack).toBeNull();
    expect(d.entry).toEqual({ model: 'generic-entry', offers: ['generic-entry'] });
    expect(d.switchFrame.location).toBe('stack');
    expect(d.syscall.clobbers).toEqual([]);
    expect(d.registers.scratch).toEqual([]);
    expect(d.abi).toEqual({});
  });

  it('derives every asm-offsets constant entry.S uses from the descriptor', () => {
    const d = parseDescriptor(JSON.stringify(valid()), FILE);
    const c = asmConstants(d);
    expect(c['PT_ORIG_AX']).toBe(120);
    expect(c['PT_REGS_SIZE']).toBe(168);
    expect(c['SF_RET_ADDR']).toBe(16);
    expect(c['SWITCH_FRAME_SIZE']).toBe(24);
    expect(c['THREAD_SP']).toBe(0);
    expect(c['TIF_SIGPENDING']).toBe(1n);
    expect(c['_TIF_NEED_RESCHED']).toBe(16n);
    expect(c['EXIT_TO_USER_MODE_WORK']).toBe(0b10011n);
    expect(c['__NR_restart_syscall']).toBe(219);
    expect(c['NR_syscalls']).toBe(220);
    expect(c['ENOSYS']).toBe(38n);
    expect(c['SIGSEGV']).toBe(11);
    expect(c['TASK_THREAD']).toBeTypeOf('bigint');
  });

  it('uapi numbers: asm-generic by default, the arch’s where it differs', () => {
    const d = valid();
    d.abi = { errno: { ENOSYS: 89 }, signals: { SIGUSR1: 16 }, sa: { SA_RESTORER: null, SA_SIGINFO: '0x8' }, sigaction: { size: 24, fields: [{ name: 'flags', offset: 0, size: 4 }, { name: 'handler', offset: 4, size: 4 }, { name: 'mask', offset: 8, size: 16 }] } };
    const p = parseDescriptor(JSON.stringify(d), FILE);
    const abi = makeAbi(p.wordSize, p.abi);
    expect(abi.errno.ENOSYS).toBe(89n);
    expect(abi.errno.EINTR).toBe(4n);
    expect(abi.sig.SIGUSR1).toBe(16);
    expect(abi.sa.SA_RESTORER).toBe(0n);
    expect(abi.sa.SA_SIGINFO).toBe(8n);
    expect(asmConstants(p)['ENOSYS']).toBe(89n);
    expect(mutated((x) => (x.abi = { signals: { SIGFOO: 3 } })).field).toBe('abi.signals.SIGFOO');
    expect(mutated((x) => (x.abi = { sigaction: { size: 8, fields: [{ name: 'handler', offset: 0, size: 8 }] } })).message).toMatch(/needs a field "flags"/);
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

  it('names the file, line:column and field of a bad value', () => {
    const e = mutated((d) => (d.ptRegs.fields[3].offset = 'abc'));
    expect(e.field).toBe('ptRegs.fields[3].offset');
    expect(e.message).toMatch(/^libs\/arch-demo\/arch\.json:\d+:\d+: field "ptRegs\.fields\[3\]\.offset": expected a non-negative integer, got "abc"$/);
  });

  it('refuses a key written twice and an unknown field, naming them', () => {
    const text = JSON.stringify(valid(), null, 2).replace('"cloneTlsArg": 4,', '"cloneTlsArg": 4,\n    "cloneTlsArg": 3,');
    expect(errorOf(text).message).toMatch(/arch\.json:\d+:5: malformed JSON: key "syscall\.cloneTlsArg" is written twice \(first at \d+:5\)/);
    expect(mutated((d) => (d.registers.fp = 'rbp')).message).toMatch(/field "registers\.fp": unknown field \(allowed here:/);
    expect(mutated((d) => (d.rseq = { abortIpReg: 'r10' })).field).toBe('rseq');
  });

  it('checks the cross-field facts: registers known, pt_regs slots, kthread slots in the switch frame, entry models', () => {
    expect(mutated((d) => delete d.registers.sp).message).toMatch(/field "registers\.sp": missing; expected a value for "sp"/);
    expect(mutated((d) => (d.syscall.args[0] = 'x0')).message).toMatch(/"syscall\.args\[0\]": register "x0" is not in registers/);
    expect(mutated((d) => (d.kthread.fn = 'rbp')).message).toMatch(/"kthread\.fn": register "rbp" has no slot in switchFrame/);
    expect(mutated((d) => (d.ptRegs.fields[10] = { name: 'ax', offset: 80, size: 8 })).message).toMatch(/"syscall\.nr": register "rax" has no slot in ptRegs/);
    expect(mutated((d) => (d.entry = { model: 'generic-entry', offers: ['arch'] })).field).toBe('entry.offers');
    expect(mutated((d) => (d.entry = { model: 'softirq' })).field).toBe('entry.model');
    expect(mutated((d) => (d.syscall.error = { convention: 'flag' })).field).toBe('syscall.error.flag');
    expect(mutated((d) => (d.syscall.error = { convention: 'flag', flag: 'r7' })).field).toBe('syscall.error.flag');
    expect(mutated((d) => (d.linux = 'v6')).field).toBe('linux');
    expect(mutated((d) => (d.sources.irq = 'x')).field).toBe('sources.irq');
    expect(mutated((d) => delete d.syscall.numbers.restart_syscall).message).toMatch(/needs "restart_syscall"/);
  });

  it('names the field: overlapping and out-of-bounds frame fields, work mask bits', () => {
    const e1 = mutated((d) => (d.ptRegs.fields[5].offset = 36));
    expect(e1.field).toBe('ptRegs.fields[5]');
    expect(e1.message).toMatch(/overlaps "bp" \(ptRegs\.fields\[4\], offset 32 size 8\)/);
    expect(mutated((d) => (d.ptRegs.size = 160)).message).toMatch(/ends at 168, past ptRegs\.size 160/);
    expect(mutated((d) => d.workMasks.EXIT_TO_USER_MODE_WORK.push('UPROBE')).message).toMatch(/"workMasks\.EXIT_TO_USER_MODE_WORK\[3\]": "UPROBE" is not a bit defined in "tif"/);
    expect(mutated((d) => (d.tif.BIG = 64)).message).toMatch(/field "tif\.BIG": expected a bit number 0\.\.63, got 64/);
    expect(mutated((d) => (d.switchFrame.offset = 8)).field).toBe('switchFrame.offset');
  });

  it('malformed JSON gives line:column', () => {
    expect(errorOf('{\n  "name": "x86_64"\n  "title": "x"\n}').message).toBe(`${FILE}:3:3: malformed JSON: expected "," or "}"`);
    expect(errorOf('{"name": ').message).toBe(`${FILE}:1:10: malformed JSON: unexpected end of input`);
  });

  it('loadDescriptor reads a file and reports unreadable paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'archkit-desc-'));
    const p = join(dir, 'arch.json');
    writeFileSync(p, JSON.stringify(valid()));
    expect(loadDescriptor(p).title).toBe('a demo arch');
    expect(() => loadDescriptor(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read the descriptor/);
  });
});
