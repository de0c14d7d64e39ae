// arch.json: the descriptor every arch lib carries (word size, endianness, emulator and
// assembler, registers, C calling convention, syscall ABI and numbers, pt_regs and
// switch_stack layouts, TIF bits and work masks, kthread and rseq registers, restart facts).
// Hand-written validation: every error names the file and the JSON field path.

import { readFileSync } from 'node:fs';

export interface FrameField {
  name: string;
  offset: number;
  size: number;
  /** The CPU register this slot saves, when there is one (e.g. "bx" -> "rbx"). */
  reg?: string;
}

export interface FrameLayout {
  size: number;
  fields: FrameField[];
}

export type MemoryRegion = 'kernelText' | 'kernelData' | 'stubs' | 'stacks' | 'user' | 'userSize' | 'vdso';

export interface ArchDescriptor {
  /** Arch id; the lib is libs/arch-<name>. */
  name: string;
  title: string;
  wordSize: 4 | 8;
  endian: 'little' | 'big';
  emulator: { backend: string; arch: string; mode: string; cpuModel?: string };
  assembler: { backend: string; arch: string; options?: Record<string, unknown> };
  /** Guest memory map; hex strings in the file, bigints here. */
  memory: Record<MemoryRegion, bigint>;
  registers: {
    pc: string;
    sp: string;
    ret: string;
    nr: string;
    /** Syscall argument registers. */
    args: string[];
    calleeSaved: string[];
    /** Every user-visible general-purpose register. */
    user: string[];
    /** Caller-clobbered registers of the syscall instruction itself (x86-64: rcx, r11). */
    scratch?: string[];
    /** the thread-pointer register CLONE_SETTLS sets (x86-64 fs_base, AArch64 tpidr_el0) */
    tls?: string;
    /** Other register names the descriptor may refer to (flags, status, banked sp, ...). */
    extra?: string[];
  };
  callingConvention: { args: string[]; ret: string; returnAddress: string };
  syscall: {
    instruction: string;
    insnBytes: number;
    error: 'negative' | 'positive-flag';
    /** Where the error flag lives when error is "positive-flag" (e.g. "a3", "cr0.so", "psr.c"). */
    errorFlag?: string;
    /** registers the trap instruction itself overwrites (x86-64 syscall: rcx, r11) */
    clobbers?: string[];
    /** which clone() argument carries the TLS value (3 or 4: CLONE_BACKWARDS variants differ) */
    cloneTlsArg?: number;
    restartRewind: number;
    numbers: Record<string, number>;
  };
  ptRegs: FrameLayout;
  switchStack: FrameLayout | null;
  /** TIF_* bit numbers. */
  tif: Record<string, number>;
  /** Mask name -> TIF bit names. */
  workMasks: Record<string, string[]>;
  kthread: { fnReg: string; argReg: string };
  rseq: { abortIpReg: string };
  /** Role -> entry.S symbol name (retFromFork, switchTo, restoreUserRegs, entry, ...). */
  symbols?: Record<string, string>;
  restart?: Record<string, string | number>;
  notes?: string | string[];
}

/** A descriptor is malformed; the message names the file and the field. */
export class DescriptorError extends Error {
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly detail: string,
  ) {
    super(`${file}: ${field !== undefined ? `field "${field}": ` : ''}${detail}`);
    this.name = 'DescriptorError';
  }
}

// ---------------------------------------------------------------------------------------
// helpers

/** `0x`-prefixed lower-case hex. */
export function hex(v: number | bigint, pad = 0): string {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  const s = (b < 0n ? -b : b).toString(16).padStart(pad, '0');
  return `${b < 0n ? '-' : ''}0x${s}`;
}

/** Parses an address/size given as a hex string ("0x100000") or a non-negative integer. */
export function parseHex(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^0x[0-9a-fA-F]+$/.test(v)) return BigInt(v);
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

type Json = unknown;

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, detail: string): never {
    throw new DescriptorError(this.file, path || undefined, detail);
  }

  expect(path: string, what: string, got: unknown): never {
    if (got === undefined) this.fail(path, `missing; expected ${what}`);
    this.fail(path, `expected ${what}, got ${show(got)}`);
  }

  object(path: string, v: Json, known?: { required: string[]; optional?: string[] }): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.expect(path, 'an object', v);
    const o = v as Record<string, Json>;
    if (known) {
      const allowed = new Set([...known.required, ...(known.optional ?? [])]);
      for (const k of Object.keys(o)) {
        if (!allowed.has(k)) {
          this.fail(join(path, k), `unknown field (allowed here: ${[...allowed].join(', ')})`);
        }
      }
      for (const k of known.required) if (!(k in o)) this.expect(join(path, k), describeRequired(k), undefined);
    }
    return o;
  }

  string(path: string, v: Json): string {
    if (typeof v !== 'string' || v.length === 0) this.expect(path, 'a non-empty string', v);
    return v as string;
  }

  oneOf<T extends string>(path: string, v: Json, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) {
      this.expect(path, options.map((o) => JSON.stringify(o)).join(' or '), v);
    }
    return v as T;
  }

  int(path: string, v: Json, min = 0, what = 'a non-negative integer'): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.expect(path, what, v);
    return v as number;
  }

  stringArray(path: string, v: Json, nonEmpty = true, unique = true): string[] {
    if (!Array.isArray(v)) this.expect(path, 'an array of strings', v);
    const arr = v as Json[];
    if (nonEmpty && arr.length === 0) this.expect(path, 'a non-empty array of strings', v);
    const seen = new Set<string>();
    return arr.map((x, i) => {
      const s = this.string(`${path}[${i}]`, x);
      if (unique && seen.has(s)) this.fail(`${path}[${i}]`, `duplicate entry ${JSON.stringify(s)}`);
      seen.add(s);
      return s;
    });
  }

  address(path: string, v: Json): bigint {
    const r = parseHex(v);
    if (r === undefined) this.expect(path, 'a hex string like "0x100000" or a non-negative integer', v);
    return r as bigint;
  }
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function describeRequired(k: string): string {
  return `a value for "${k}"`;
}

const TOP_REQUIRED = [
  'name', 'title', 'wordSize', 'endian', 'emulator', 'assembler', 'memory', 'registers',
  'callingConvention', 'syscall', 'ptRegs', 'switchStack', 'tif', 'workMasks', 'kthread', 'rseq',
];
const TOP_OPTIONAL = ['symbols', 'restart', 'notes', '$schema'];
const MEMORY_KEYS: MemoryRegion[] = ['kernelText', 'kernelData', 'stubs', 'stacks', 'user', 'userSize', 'vdso'];

function frame(c: Checker, path: string, v: Json): FrameLayout {
  const o = c.object(path, v, { required: ['size', 'fields'] });
  const size = c.int(join(path, 'size'), o['size'], 1, 'a positive integer');
  if (!Array.isArray(o['fields']) || o['fields'].length === 0) {
    c.expect(join(path, 'fields'), 'a non-empty array of { name, offset, size }', o['fields']);
  }
  const names = new Map<string, number>();
  const fields = (o['fields'] as Json[]).map((f, i) => {
    const p = `${path}.fields[${i}]`;
    const fo = c.object(p, f, { required: ['name', 'offset', 'size'], optional: ['reg'] });
    const name = c.string(join(p, 'name'), fo['name']);
    const offset = c.int(join(p, 'offset'), fo['offset']);
    const fsize = c.int(join(p, 'size'), fo['size'], 1, 'a positive integer');
    const prev = names.get(name);
    if (prev !== undefined) c.fail(join(p, 'name'), `duplicate field name ${JSON.stringify(name)} (also ${path}.fields[${prev}])`);
    names.set(name, i);
    if (offset + fsize > size) {
      c.fail(p, `field ${JSON.stringify(name)} at offset ${offset} size ${fsize} ends at ${offset + fsize}, past ${path}.size ${size}`);
    }
    const field: FrameField = { name, offset, size: fsize };
    if (fo['reg'] !== undefined) field.reg = c.string(join(p, 'reg'), fo['reg']);
    return field;
  });
  const order = fields.map((f, i) => ({ f, i })).sort((a, b) => a.f.offset - b.f.offset);
  for (let k = 1; k < order.length; k++) {
    const a = order[k - 1]!;
    const b = order[k]!;
    if (a.f.offset + a.f.size > b.f.offset) {
      c.fail(
        `${path}.fields[${b.i}]`,
        `field ${JSON.stringify(b.f.name)} at offset ${b.f.offset} overlaps ${JSON.stringify(a.f.name)} ` +
          `(${path}.fields[${a.i}], offset ${a.f.offset} size ${a.f.size})`,
      );
    }
  }
  return { size, fields };
}

function jsonPosition(text: string, message: string): { line: number; column: number } | undefined {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  let offset: number;
  if (pos) offset = Number(pos[1]);
  else if (/end of JSON input/i.test(message)) offset = text.length;
  else return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/** Parses and validates an arch.json text; `file` is used in error messages. */
export function parseDescriptor(json: string, file: string): ArchDescriptor {
  let raw: Json;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    const msg = (e as Error).message;
    const at = jsonPosition(json, msg);
    const clean = msg.replace(/\s*\(line \d+ column \d+\)/, '').replace(/\s*(in JSON )?at position \d+.*$/, '');
    throw new DescriptorError(at ? `${file}:${at.line}:${at.column}` : file, undefined, `malformed JSON: ${clean}`);
  }
  const c = new Checker(file);
  const o = c.object('', raw, { required: TOP_REQUIRED, optional: TOP_OPTIONAL });

  const name = c.string('name', o['name']);
  if (!/^[a-z][a-z0-9_]*$/.test(name)) c.expect('name', 'an arch id of lower-case letters, digits and "_"', name);
  const title = c.string('title', o['title']);
  const wordSize = o['wordSize'];
  if (wordSize !== 4 && wordSize !== 8) c.expect('wordSize', '4 or 8', wordSize);
  const endian = c.oneOf('endian', o['endian'], ['little', 'big'] as const);

  const em = c.object('emulator', o['emulator'], { required: ['backend', 'arch', 'mode'], optional: ['cpuModel'] });
  const emulator: ArchDescriptor['emulator'] = {
    backend: c.string('emulator.backend', em['backend']),
    arch: c.string('emulator.arch', em['arch']),
    mode: c.string('emulator.mode', em['mode']),
  };
  if (em['cpuModel'] !== undefined) emulator.cpuModel = c.string('emulator.cpuModel', em['cpuModel']);

  const as = c.object('assembler', o['assembler'], { required: ['backend', 'arch'], optional: ['options'] });
  const assembler: ArchDescriptor['assembler'] = {
    backend: c.string('assembler.backend', as['backend']),
    arch: c.string('assembler.arch', as['arch']),
  };
  if (as['options'] !== undefined) assembler.options = c.object('assembler.options', as['options']);

  const mem = c.object('memory', o['memory'], { required: MEMORY_KEYS });
  const memory = Object.fromEntries(MEMORY_KEYS.map((k) => [k, c.address(`memory.${k}`, mem[k])])) as Record<MemoryRegion, bigint>;
  if (memory.userSize === 0n) c.expect('memory.userSize', 'a non-zero size', mem['userSize']);

  const rg = c.object('registers', o['registers'], {
    required: ['pc', 'sp', 'ret', 'nr', 'args', 'calleeSaved', 'user'],
    optional: ['scratch', 'extra', 'tls'],
  });
  const registers: ArchDescriptor['registers'] = {
    pc: c.string('registers.pc', rg['pc']),
    sp: c.string('registers.sp', rg['sp']),
    ret: c.string('registers.ret', rg['ret']),
    nr: c.string('registers.nr', rg['nr']),
    args: c.stringArray('registers.args', rg['args']),
    calleeSaved: c.stringArray('registers.calleeSaved', rg['calleeSaved'], false),
    user: c.stringArray('registers.user', rg['user']),
  };
  if (rg['scratch'] !== undefined) registers.scratch = c.stringArray('registers.scratch', rg['scratch'], false);
  if (rg['extra'] !== undefined) registers.extra = c.stringArray('registers.extra', rg['extra'], false);
  if (rg['tls'] !== undefined) registers.tls = c.string('registers.tls', rg['tls']);

  const cc = c.object('callingConvention', o['callingConvention'], { required: ['args', 'ret', 'returnAddress'] });
  const callingConvention = {
    args: c.stringArray('callingConvention.args', cc['args']),
    ret: c.string('callingConvention.ret', cc['ret']),
    returnAddress: c.string('callingConvention.returnAddress', cc['returnAddress']),
  };

  const sc = c.object('syscall', o['syscall'], {
    required: ['instruction', 'insnBytes', 'error', 'restartRewind', 'numbers'],
    optional: ['errorFlag', 'clobbers', 'cloneTlsArg'],
  });
  const syscall: ArchDescriptor['syscall'] = {
    instruction: c.string('syscall.instruction', sc['instruction']),
    insnBytes: c.int('syscall.insnBytes', sc['insnBytes'], 1, 'a positive integer'),
    error: c.oneOf('syscall.error', sc['error'], ['negative', 'positive-flag'] as const),
    restartRewind: c.int('syscall.restartRewind', sc['restartRewind'], 1, 'a positive integer'),
    numbers: {},
  };
  if (sc['errorFlag'] !== undefined) syscall.errorFlag = c.string('syscall.errorFlag', sc['errorFlag']);
  if (sc['clobbers'] !== undefined) syscall.clobbers = c.stringArray('syscall.clobbers', sc['clobbers'], false);
  if (sc['cloneTlsArg'] !== undefined) syscall.cloneTlsArg = c.int('syscall.cloneTlsArg', sc['cloneTlsArg'], 0);
  else if (syscall.error === 'positive-flag') c.expect('syscall.errorFlag', 'the flag that marks an error (e.g. "a3")', undefined);
  const nums = c.object('syscall.numbers', sc['numbers']);
  if (Object.keys(nums).length === 0) c.expect('syscall.numbers', 'a non-empty map of syscall name to number', nums);
  for (const [k, v] of Object.entries(nums)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(k)) c.fail(`syscall.numbers.${k}`, 'syscall names are lower-case identifiers');
    syscall.numbers[k] = c.int(`syscall.numbers.${k}`, v);
  }

  const ptRegs = frame(c, 'ptRegs', o['ptRegs']);
  const switchStack = o['switchStack'] === null ? null : frame(c, 'switchStack', o['switchStack']);

  const tifRaw = c.object('tif', o['tif']);
  const tif: Record<string, number> = {};
  const bitOwner = new Map<number, string>();
  for (const [k, v] of Object.entries(tifRaw)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) c.fail(`tif.${k}`, 'TIF names are upper-case identifiers without the TIF_ prefix');
    const bit = c.int(`tif.${k}`, v, 0, `a bit number 0..${(wordSize as number) * 8 - 1}`);
    if (bit >= (wordSize as number) * 8) c.expect(`tif.${k}`, `a bit number 0..${(wordSize as number) * 8 - 1}`, v);
    const other = bitOwner.get(bit);
    if (other !== undefined) c.fail(`tif.${k}`, `bit ${bit} is also TIF_${other}`);
    bitOwner.set(bit, k);
    tif[k] = bit;
  }

  const wmRaw = c.object('workMasks', o['workMasks']);
  const workMasks: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(wmRaw)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) c.fail(`workMasks.${k}`, 'mask names must be assembler identifiers (e.g. "_TIF_WORK_MASK")');
    const names = c.stringArray(`workMasks.${k}`, v, false);
    names.forEach((n, i) => {
      if (!(n in tif)) c.fail(`workMasks.${k}[${i}]`, `${JSON.stringify(n)} is not a bit defined in "tif"`);
    });
    workMasks[k] = names;
  }

  const kt = c.object('kthread', o['kthread'], { required: ['fnReg', 'argReg'] });
  const kthread = { fnReg: c.string('kthread.fnReg', kt['fnReg']), argReg: c.string('kthread.argReg', kt['argReg']) };
  const rs = c.object('rseq', o['rseq'], { required: ['abortIpReg'] });
  const rseq = { abortIpReg: c.string('rseq.abortIpReg', rs['abortIpReg']) };

  let symbols: Record<string, string> | undefined;
  if (o['symbols'] !== undefined) {
    const so = c.object('symbols', o['symbols']);
    symbols = {};
    for (const [k, v] of Object.entries(so)) {
      const sym = c.string(`symbols.${k}`, v);
      if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(sym)) c.expect(`symbols.${k}`, 'an assembler symbol name', v);
      symbols[k] = sym;
    }
  }
  let restart: Record<string, string | number> | undefined;
  if (o['restart'] !== undefined) {
    const r = c.object('restart', o['restart']);
    restart = {};
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== 'string' && (typeof v !== 'number' || !Number.isFinite(v))) c.expect(`restart.${k}`, 'a string or a number', v);
      restart[k] = v as string | number;
    }
  }
  let notes: string | string[] | undefined;
  if (o['notes'] !== undefined) {
    notes = typeof o['notes'] === 'string' ? o['notes'] : c.stringArray('notes', o['notes'], false, false);
  }

  // Cross-field: every register named must be a known register.
  const known = new Set<string>([
    ...registers.user,
    ...(registers.extra ?? []),
    ...ptRegs.fields.map((f) => f.name),
    ...(switchStack?.fields.map((f) => f.name) ?? []),
    registers.pc,
  ]);
  const checkReg = (path: string, r: string) => {
    if (!known.has(r)) {
      c.fail(path, `register ${JSON.stringify(r)} is not in registers.user, registers.extra or the ptRegs/switchStack fields`);
    }
  };
  checkReg('registers.sp', registers.sp);
  checkReg('registers.ret', registers.ret);
  checkReg('registers.nr', registers.nr);
  registers.args.forEach((r, i) => checkReg(`registers.args[${i}]`, r));
  registers.calleeSaved.forEach((r, i) => checkReg(`registers.calleeSaved[${i}]`, r));
  registers.scratch?.forEach((r, i) => checkReg(`registers.scratch[${i}]`, r));
  syscall.clobbers?.forEach((r, i) => checkReg(`syscall.clobbers[${i}]`, r));
  if (registers.tls !== undefined) checkReg('registers.tls', registers.tls);
  for (const [frameName, layout] of [['ptRegs', ptRegs], ['switchStack', switchStack]] as const) {
    layout?.fields.forEach((f, i) => {
      if (f.reg !== undefined) checkReg(`${frameName}.fields[${i}].reg`, f.reg);
    });
  }
  callingConvention.args.forEach((r, i) => checkReg(`callingConvention.args[${i}]`, r));
  checkReg('callingConvention.ret', callingConvention.ret);
  if (callingConvention.returnAddress !== 'stack') checkReg('callingConvention.returnAddress', callingConvention.returnAddress);
  checkReg('kthread.fnReg', kthread.fnReg);
  checkReg('kthread.argReg', kthread.argReg);
  checkReg('rseq.abortIpReg', rseq.abortIpReg);

  const desc: ArchDescriptor = {
    name,
    title,
    wordSize: wordSize as 4 | 8,
    endian,
    emulator,
    assembler,
    memory,
    registers,
    callingConvention,
    syscall,
    ptRegs,
    switchStack,
    tif,
    workMasks,
    kthread,
    rseq,
  };
  if (symbols !== undefined) desc.symbols = symbols;
  if (restart !== undefined) desc.restart = restart;
  if (notes !== undefined) desc.notes = notes;
  return desc;
}

/** Reads and validates an arch.json file. */
export function loadDescriptor(path: string): ArchDescriptor {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DescriptorError(path, undefined, `cannot read the descriptor: ${(e as Error).message}`);
  }
  return parseDescriptor(text, path);
}

// ---------------------------------------------------------------------------------------
// asm-offsets style constants derived from a descriptor

function constName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** `PT_<NAME>` offsets of every pt_regs field, plus `PT_REGS_SIZE`. */
export function ptRegsOffsets(desc: ArchDescriptor): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of desc.ptRegs.fields) out[`PT_${constName(f.name)}`] = f.offset;
  out['PT_REGS_SIZE'] = desc.ptRegs.size;
  return out;
}

/** `SW_<NAME>` offsets of the switch_stack fields plus `SWITCH_STACK_SIZE` (empty without one). */
export function switchStackOffsets(desc: ArchDescriptor): Record<string, number> {
  const out: Record<string, number> = {};
  if (desc.switchStack === null) return out;
  for (const f of desc.switchStack.fields) out[`SW_${constName(f.name)}`] = f.offset;
  out['SWITCH_STACK_SIZE'] = desc.switchStack.size;
  return out;
}

/** `TIF_<X>` bit numbers, `_TIF_<X>` masks and every work mask (`_TIF_WORK_MASK`, ...). */
export function tifConstants(desc: ArchDescriptor): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [k, bit] of Object.entries(desc.tif)) {
    out[`TIF_${k}`] = BigInt(bit);
    out[`_TIF_${k}`] = 1n << BigInt(bit);
  }
  for (const [k, names] of Object.entries(desc.workMasks)) {
    out[k] = names.reduce((m, n) => m | (1n << BigInt(desc.tif[n]!)), 0n);
  }
  return out;
}

/** `__NR_<name>` for every syscall number. */
export function syscallConstants(desc: ArchDescriptor): Record<string, number> {
  return Object.fromEntries(Object.entries(desc.syscall.numbers).map(([k, v]) => [`__NR_${k}`, v]));
}
