// arch.json: the one place a fact about an architecture lives. Word size, endianness,
// emulator and assembler, registers, C calling convention, syscall ABI and numbers, error
// convention, pt_regs / switch frame / thread layouts, TIF bits and work masks, where a
// kernel thread's fn/arg travel, the entry model its Linux uses; with, per group of values,
// the kernel file it comes from. Everything else (entry.S constants, the port's
// TypeScript, the user-program compiler) reads the facts from here.
//
// Strict: unknown fields and keys written twice are errors; every error names the file,
// the field path and where it is (line:column).

import { readFileSync } from 'node:fs';
import { JsonError, parseStrictJson, type KeyPositions } from './json.ts';
import { GENERIC_ERRNO, GENERIC_SA, GENERIC_SIGNALS, GENERIC_SIGPROCMASK, type AbiOverrides } from '../kernel/abi.ts';

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

/** The Linux release every arch.json describes (`linux`): the kit's scenarios follow it. */
export const LINUX_RELEASE = '6.18';

export const ENTRY_MODELS = ['do-work-pending', 'generic-entry', 'arch'] as const;
/**
 * How the return to user mode does its work (SPEC C5): `do-work-pending` (the 2012 ARM
 * model: a C loop that returns a restart code, the glue restarts in the kernel),
 * `generic-entry` (kernel/entry/common.c), `arch` (an arch's own code that restarts by
 * rewinding the pc).
 */
export type EntryModel = (typeof ENTRY_MODELS)[number];

export interface AssemblerSpec {
  /** keystone | gnu-as | llvm-mc */
  backend: string;
  /** keystone arch name, binutils triple or llvm triple */
  target: string;
  flags?: string[];
  /** The Debian package that provides the tool (named in "not installed" errors). */
  package?: string;
}

/**
 * How a syscall reports an error to user mode: `negative` (the return register holds
 * -errno), or `flag` (a flag says "error" and the return register holds +errno: MIPS a3,
 * PowerPC CR0.SO, SPARC PSR.C). With `bit`, the flag is that bit of the register.
 */
export type ErrorConvention = { convention: 'negative' } | { convention: 'flag'; flag: string; bit?: number };

export type MemoryRegion = 'kernelText' | 'kernelData' | 'stubs' | 'stacks' | 'user' | 'userSize';

export interface ArchDescriptor {
  /** Arch id; the lib is libs/arch-<name>, the package @archkit/arch-<name>. */
  name: string;
  title: string;
  /** The Linux release the facts describe. */
  linux: string;
  /** Kernel file(s) each group of facts comes from. */
  sources: Record<string, string>;
  wordSize: 4 | 8;
  endian: 'little' | 'big';
  emulator: { backend: 'unicorn'; version: string };
  assembler: AssemblerSpec & { alternative?: AssemblerSpec };
  entry: { model: EntryModel; offers: EntryModel[] };
  /** Guest memory map; hex strings in the file, bigints here. */
  memory: Record<MemoryRegion, bigint>;
  registers: {
    pc: string;
    sp: string;
    /** Every user-visible general-purpose register. */
    user: string[];
    calleeSaved: string[];
    /** The thread-pointer register CLONE_SETTLS sets (x86-64 fs_base, AArch64 tpidr_el0). */
    tls?: string;
    /**
     * Where the user stack pointer is while the kernel runs, when pt_regs has no slot for it
     * (m68k: the banked usp, rdusp()/wrusp()); registers.sp then needs no pt_regs slot.
     */
    userSp?: string;
    /** Registers the user-program templates (src/user.hbs) use as temporaries. */
    scratch: string[];
    /** Other register names the descriptor or the port refers to (flags, status, banked sp, ...). */
    extra: string[];
  };
  callingConvention: {
    args: string[];
    ret: string;
    returnAddress: string;
    stackArgs?: { offset: number; count: number };
    /** Registers a C function may change (caller-saved, besides ret): every return from C leaves a poison value in them, as compiled code may. */
    callerSaved?: string[];
    /** Where a C function returns to, past the address in returnAddress (SPARC: 8, `retl` is `jmpl %o7 + 8`). Default 0. */
    returnOffset?: number;
    /** The ABI's stack bias: the stack pointer holds the address of its frame minus this (SPARC V9: 2047). Default 0. */
    stackBias?: number;
  };
  syscall: {
    instruction: string;
    /** Length of the trap instruction: a restart rewinds the pc by this much. */
    insnBytes: number;
    nr: string;
    args: string[];
    ret: string;
    error: ErrorConvention;
    /** Registers the trap instruction itself overwrites (x86-64 syscall: rcx, r11). */
    clobbers: string[];
    /**
     * User registers the syscall entry leaves out of pt_regs although pt_regs has slots for
     * them (MIPS SAVE_SOME: s0-s7 and fp, callee-saved in C): during a plain syscall they are
     * still live in the CPU, their slots stale.
     */
    unsavedRegs?: string[];
    /**
     * The frame says it is a syscall only once the syscall returned an error (MIPS: the asm
     * stores the number in regs[0] on the error path), not while it runs.
     */
    markedOnErrorReturn?: boolean;
    /** Which clone() argument carries the TLS value (3 or 4: the CLONE_BACKWARDS variants differ). */
    cloneTlsArg: number;
    /**
     * Which clone() arguments carry the flags and the new stack (default 0 and 1). s390
     * selects CLONE_BACKWARDS2, clone(newsp, flags, parent_tid, child_tid, tls): 1 and 0.
     */
    cloneFlagsArg?: number;
    cloneStackArg?: number;
    /**
     * The vDSO label (in entry.S) through which a handler-less ERESTART_RESTARTBLOCK restart
     * re-enters the kernel instead of rewinding to the trap instruction, leaving the user's
     * number register alone (s390 since v5.14: __kernel_restart_syscall, `svc 7`).
     */
    restartBlockTrampoline?: string;
    /**
     * Instructions a handler-less ERESTARTSYS/ERESTARTNOHAND/ERESTARTNOINTR restart rewinds
     * the pc over, the trap included (default 1). sparc 6.18: 2, its no-handler case falls
     * through into the ERESTART_RESTARTBLOCK one (signal_32.c, signal_64.c): pc -= 8, the
     * instruction before `ta` (glibc's `mov NR, %g1`) runs again first.
     */
    restartRewindInsns?: number;
    numbers: Record<string, number>;
  };
  ptRegs: FrameLayout;
  /**
   * The context switch_to saves and copy_thread prepares: on the kernel stack just below
   * pt_regs, pointed to by thread.sp (x86 inactive_task_frame), or inside the thread
   * struct at `offset` (arm64 cpu_context).
   */
  switchFrame: FrameLayout & { location: 'stack' | 'thread'; offset: number };
  /** The arch's part of thread_struct (at TASK_THREAD in the task_struct). */
  thread: FrameLayout;
  /** The switch_stack of alpha/m68k-style ports, or null. */
  switchStack: FrameLayout | null;
  /** Where copy_thread leaves a kernel thread's fn and arg: registers of the switch frame. */
  kthread: {
    fn: string;
    arg: string;
    /** Where copy_thread leaves them: the switch frame (default) or the child's pt_regs (s390 childregs.gprs[9]/[10]). */
    frame?: 'switchFrame' | 'ptRegs';
  };
  /** TIF_* bit numbers. */
  tif: Record<string, number>;
  /** Mask name -> TIF bit names. */
  workMasks: Record<string, string[]>;
  /**
   * Work-mask bits nothing on this arch ever sets, with the kernel's reason (ppc32's
   * RESTORE_TM: only book3s64 transactional memory sets it). The work scenarios do not set
   * them and report them.
   */
  tifNeverSet?: Record<string, string>;
  /** Where the arch's uapi numbers differ from asm-generic's (errno, signals, sigaction). */
  abi: AbiOverrides;
  /** Role -> entry.S label the core calls or checks (switchTo, retFromFork). */
  /**
   * entry.S labels by role: switch_to, ret_from_fork, and the optional copyToUser (copy_to_user(to, from, n) -> bytes not copied).
   * A role "sys_<name>" puts that label in the syscall's sys_call_table slot instead of the C function (an asm syscall stub, sparc sys_fork).
   */
  symbols: { switchTo: string; retFromFork: string; copyToUser?: string } & Record<string, string>;
  notes?: string[];
}

/** A descriptor is malformed; the message names the file, the field and where it is. */
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

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

class Checker {
  constructor(
    readonly file: string,
    readonly positions: KeyPositions,
  ) {}

  private where(path: string): string {
    // the closest key of the path that was written in the file
    for (let p = path; p; p = p.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
      const at = this.positions.get(p);
      if (at) return `${this.file}:${at.line}:${at.column}`;
      if (!/[.[]/.test(p)) break;
    }
    return this.file;
  }

  fail(path: string, detail: string): never {
    throw new DescriptorError(this.where(path), path || undefined, detail);
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
        if (!allowed.has(k)) this.fail(join(path, k), `unknown field (allowed here: ${[...allowed].join(', ')})`);
      }
      for (const k of known.required) if (!(k in o)) this.expect(join(path, k), `a value for "${k}"`, undefined);
    }
    return o;
  }

  string(path: string, v: Json): string {
    if (typeof v !== 'string' || v.length === 0) this.expect(path, 'a non-empty string', v);
    return v as string;
  }

  oneOf<T extends string>(path: string, v: Json, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) this.expect(path, options.map((o) => JSON.stringify(o)).join(' or '), v);
    return v as T;
  }

  bool(path: string, v: Json): boolean {
    if (typeof v !== 'boolean') this.expect(path, 'true or false', v);
    return v;
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

  symbol(path: string, v: Json): string {
    const s = this.string(path, v);
    if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(s)) this.expect(path, 'an assembler symbol name', v);
    return s;
  }
}

const TOP_REQUIRED = [
  'name', 'title', 'linux', 'sources', 'wordSize', 'endian', 'emulator', 'assembler', 'entry', 'memory', 'registers',
  'callingConvention', 'syscall', 'ptRegs', 'switchFrame', 'thread', 'kthread', 'tif', 'workMasks', 'symbols',
];
const TOP_OPTIONAL = ['switchStack', 'abi', 'notes', 'tifNeverSet', '$schema'];
const MEMORY_KEYS: MemoryRegion[] = ['kernelText', 'kernelData', 'stubs', 'stacks', 'user', 'userSize'];
/** The groups a `sources` entry may cite. */
export const SOURCE_GROUPS = ['syscall', 'numbers', 'abi', 'ptRegs', 'switchFrame', 'thread', 'switchStack', 'kthread', 'tif', 'workMasks', 'entry', 'signal', 'restart', 'registers'];

function frame(c: Checker, path: string, v: Json, extra: string[] = []): FrameLayout & Record<string, Json> {
  const o = c.object(path, v, { required: ['size', 'fields'], optional: extra });
  const size = c.int(join(path, 'size'), o['size'], 1, 'a positive integer');
  if (!Array.isArray(o['fields']) || o['fields'].length === 0) c.expect(join(path, 'fields'), 'a non-empty array of { name, offset, size }', o['fields']);
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
    if (offset + fsize > size) c.fail(p, `field ${JSON.stringify(name)} at offset ${offset} size ${fsize} ends at ${offset + fsize}, past ${path}.size ${size}`);
    const field: FrameField = { name, offset, size: fsize };
    if (fo['reg'] !== undefined) field.reg = c.string(join(p, 'reg'), fo['reg']);
    return field;
  });
  const order = fields.map((f, i) => ({ f, i })).sort((a, b) => a.f.offset - b.f.offset);
  for (let k = 1; k < order.length; k++) {
    const a = order[k - 1]!;
    const b = order[k]!;
    if (a.f.offset + a.f.size > b.f.offset) {
      c.fail(`${path}.fields[${b.i}]`, `field ${JSON.stringify(b.f.name)} at offset ${b.f.offset} overlaps ${JSON.stringify(a.f.name)} (${path}.fields[${a.i}], offset ${a.f.offset} size ${a.f.size})`);
    }
  }
  return { ...o, size, fields };
}

function assemblerSpec(c: Checker, path: string, v: Json, allowAlternative: boolean): AssemblerSpec & { alternative?: AssemblerSpec } {
  const o = c.object(path, v, { required: ['backend', 'target'], optional: ['flags', 'package', ...(allowAlternative ? ['alternative'] : [])] });
  const spec: AssemblerSpec & { alternative?: AssemblerSpec } = {
    backend: c.oneOf(join(path, 'backend'), o['backend'], ['keystone', 'gnu-as', 'llvm-mc'] as const),
    target: c.string(join(path, 'target'), o['target']),
  };
  if (o['flags'] !== undefined) spec.flags = c.stringArray(join(path, 'flags'), o['flags'], false, false);
  if (o['package'] !== undefined) spec.package = c.string(join(path, 'package'), o['package']);
  if (o['alternative'] !== undefined) spec.alternative = assemblerSpec(c, join(path, 'alternative'), o['alternative'], false);
  return spec;
}

/** Descriptors already parsed, by file and text: listing the arches and loading each port read the same arch.json. */
const parsed = new Map<string, ArchDescriptor>();

/**
 * Parses and validates an arch.json text; `file` is used in error messages. The same file
 * and text give the same descriptor object, frozen: nothing may change it.
 */
export function parseDescriptor(json: string, file: string): ArchDescriptor {
  const key = `${file}\0${json}`;
  let d = parsed.get(key);
  if (!d) {
    d = deepFreeze(parseDescriptorText(json, file));
    if (parsed.size > 256) parsed.clear();
    parsed.set(key, d);
  }
  return d;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

function parseDescriptorText(json: string, file: string): ArchDescriptor {
  let raw: Json;
  let positions: KeyPositions;
  try {
    ({ value: raw, positions } = parseStrictJson(json));
  } catch (e) {
    if (e instanceof JsonError) throw new DescriptorError(`${file}:${e.line}:${e.column}`, undefined, `malformed JSON: ${e.detail}`);
    throw e;
  }
  const c = new Checker(file, positions);
  const o = c.object('', raw, { required: TOP_REQUIRED, optional: TOP_OPTIONAL });

  const name = c.string('name', o['name']);
  if (!/^[a-z][a-z0-9_]*$/.test(name)) c.expect('name', 'an arch id of lower-case letters, digits and "_"', name);
  const title = c.string('title', o['title']);
  const linux = c.string('linux', o['linux']);
  if (!/^\d+\.\d+(\.\d+)?$/.test(linux)) c.expect('linux', 'a Linux release like "6.18"', linux);
  const so = c.object('sources', o['sources']);
  const sources: Record<string, string> = {};
  for (const [k, v] of Object.entries(so)) {
    if (!SOURCE_GROUPS.includes(k)) c.fail(`sources.${k}`, `not a group of facts (groups: ${SOURCE_GROUPS.join(', ')})`);
    sources[k] = c.string(`sources.${k}`, v);
  }
  const wordSize = o['wordSize'];
  if (wordSize !== 4 && wordSize !== 8) c.expect('wordSize', '4 or 8', wordSize);
  const bits = (wordSize as number) * 8;
  const endian = c.oneOf('endian', o['endian'], ['little', 'big'] as const);

  const em = c.object('emulator', o['emulator'], { required: ['backend', 'version'] });
  const emulator = {
    backend: c.oneOf('emulator.backend', em['backend'], ['unicorn'] as const),
    version: c.string('emulator.version', em['version']),
  };
  const assembler = assemblerSpec(c, 'assembler', o['assembler'], true);

  const en = c.object('entry', o['entry'], { required: ['model'], optional: ['offers'] });
  const model = c.oneOf('entry.model', en['model'], ENTRY_MODELS);
  const offers = en['offers'] === undefined ? [model] : c.stringArray('entry.offers', en['offers']).map((m, i) => c.oneOf(`entry.offers[${i}]`, m, ENTRY_MODELS));
  if (!offers.includes(model)) c.fail('entry.offers', `must include the model ${JSON.stringify(model)} the port declares`);

  const mem = c.object('memory', o['memory'], { required: MEMORY_KEYS });
  const memory = Object.fromEntries(MEMORY_KEYS.map((k) => [k, c.address(`memory.${k}`, mem[k])])) as Record<MemoryRegion, bigint>;
  if (memory.userSize === 0n) c.expect('memory.userSize', 'a non-zero size', mem['userSize']);

  const rg = c.object('registers', o['registers'], { required: ['pc', 'sp', 'user', 'calleeSaved'], optional: ['tls', 'userSp', 'extra', 'scratch'] });
  const registers: ArchDescriptor['registers'] = {
    pc: c.string('registers.pc', rg['pc']),
    sp: c.string('registers.sp', rg['sp']),
    user: c.stringArray('registers.user', rg['user']),
    calleeSaved: c.stringArray('registers.calleeSaved', rg['calleeSaved'], false),
    extra: rg['extra'] === undefined ? [] : c.stringArray('registers.extra', rg['extra'], false),
    scratch: rg['scratch'] === undefined ? [] : c.stringArray('registers.scratch', rg['scratch'], false),
  };
  if (rg['tls'] !== undefined) registers.tls = c.string('registers.tls', rg['tls']);
  if (rg['userSp'] !== undefined) registers.userSp = c.string('registers.userSp', rg['userSp']);

  const cc = c.object('callingConvention', o['callingConvention'], { required: ['args', 'ret', 'returnAddress'], optional: ['stackArgs', 'callerSaved', 'returnOffset', 'stackBias'] });
  const callingConvention: ArchDescriptor['callingConvention'] = {
    // m68k passes every C argument on the stack (stackArgs) and none in registers
    args: c.stringArray('callingConvention.args', cc['args'], cc['stackArgs'] === undefined),
    ret: c.string('callingConvention.ret', cc['ret']),
    returnAddress: c.string('callingConvention.returnAddress', cc['returnAddress']),
  };
  if (cc['stackArgs'] !== undefined) {
    const sa = c.object('callingConvention.stackArgs', cc['stackArgs'], { required: ['offset', 'count'] });
    callingConvention.stackArgs = { offset: c.int('callingConvention.stackArgs.offset', sa['offset']), count: c.int('callingConvention.stackArgs.count', sa['count'], 1, 'a positive integer') };
  }
  if (cc['stackBias'] !== undefined) callingConvention.stackBias = c.int('callingConvention.stackBias', cc['stackBias']);
  if (cc['returnOffset'] !== undefined) {
    if (callingConvention.returnAddress === 'stack') c.fail('callingConvention.returnOffset', 'only a return-address register has an offset');
    callingConvention.returnOffset = c.int('callingConvention.returnOffset', cc['returnOffset']);
  }
  if (cc['callerSaved'] !== undefined) {
    callingConvention.callerSaved = c.stringArray('callingConvention.callerSaved', cc['callerSaved']);
    for (const r of [callingConvention.ret, callingConvention.returnAddress]) {
      if (callingConvention.callerSaved.includes(r)) c.fail('callingConvention.callerSaved', `${JSON.stringify(r)} carries the return value or address: it is never poisoned, leave it out`);
    }
  }

  const sc = c.object('syscall', o['syscall'], {
    required: ['instruction', 'insnBytes', 'nr', 'args', 'ret', 'error', 'cloneTlsArg', 'numbers'],
    optional: ['clobbers', 'cloneFlagsArg', 'cloneStackArg', 'restartBlockTrampoline', 'restartRewindInsns', 'unsavedRegs', 'markedOnErrorReturn'],
  });
  const eo = c.object('syscall.error', sc['error'], { required: ['convention'], optional: ['flag', 'bit'] });
  const conv = c.oneOf('syscall.error.convention', eo['convention'], ['negative', 'flag'] as const);
  let error: ErrorConvention;
  if (conv === 'negative') {
    if (eo['flag'] !== undefined || eo['bit'] !== undefined) c.fail('syscall.error', '"flag" and "bit" belong to the "flag" convention');
    error = { convention: 'negative' };
  } else {
    error = { convention: 'flag', flag: c.string('syscall.error.flag', eo['flag']) };
    if (eo['bit'] !== undefined) error.bit = c.int('syscall.error.bit', eo['bit'], 0);
    if (error.bit !== undefined && error.bit >= 64) c.expect('syscall.error.bit', 'a bit number 0..63', eo['bit']);
  }
  const syscall: ArchDescriptor['syscall'] = {
    instruction: c.string('syscall.instruction', sc['instruction']),
    insnBytes: c.int('syscall.insnBytes', sc['insnBytes'], 1, 'a positive integer'),
    nr: c.string('syscall.nr', sc['nr']),
    args: c.stringArray('syscall.args', sc['args']),
    ret: c.string('syscall.ret', sc['ret']),
    error,
    clobbers: sc['clobbers'] === undefined ? [] : c.stringArray('syscall.clobbers', sc['clobbers'], false),
    ...(sc['unsavedRegs'] !== undefined ? { unsavedRegs: c.stringArray('syscall.unsavedRegs', sc['unsavedRegs'], false) } : {}),
    ...(sc['markedOnErrorReturn'] !== undefined ? { markedOnErrorReturn: c.bool('syscall.markedOnErrorReturn', sc['markedOnErrorReturn']) } : {}),
    cloneTlsArg: c.int('syscall.cloneTlsArg', sc['cloneTlsArg'], 3),
    numbers: {},
  };
  if (syscall.cloneTlsArg > 5) c.expect('syscall.cloneTlsArg', 'an argument index 3..5', sc['cloneTlsArg']);
  for (const key of ['cloneFlagsArg', 'cloneStackArg'] as const) {
    if (sc[key] === undefined) continue;
    syscall[key] = c.int(`syscall.${key}`, sc[key]);
    if (syscall[key]! > 1) c.expect(`syscall.${key}`, 'an argument index 0 or 1', sc[key]);
  }
  if ((syscall.cloneFlagsArg ?? 0) === (syscall.cloneStackArg ?? 1)) c.fail('syscall.cloneStackArg', 'clone flags and the new stack cannot be the same argument');
  if (sc['restartBlockTrampoline'] !== undefined) syscall.restartBlockTrampoline = c.symbol('syscall.restartBlockTrampoline', sc['restartBlockTrampoline']);
  if (sc['restartRewindInsns'] !== undefined) syscall.restartRewindInsns = c.int('syscall.restartRewindInsns', sc['restartRewindInsns'], 1, 'a positive integer');
  const nums = c.object('syscall.numbers', sc['numbers']);
  if (Object.keys(nums).length === 0) c.expect('syscall.numbers', 'a non-empty map of syscall name to number', nums);
  for (const [k, v] of Object.entries(nums)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(k)) c.fail(`syscall.numbers.${k}`, 'syscall names are lower-case identifiers');
    syscall.numbers[k] = c.int(`syscall.numbers.${k}`, v);
  }
  for (const need of ['rt_sigreturn', 'restart_syscall', 'exit']) {
    if (syscall.numbers[need] === undefined) c.fail('syscall.numbers', `needs "${need}" (the core uses it)`);
  }

  const ptRegs = frame(c, 'ptRegs', o['ptRegs']);
  const sfRaw = frame(c, 'switchFrame', o['switchFrame'], ['location', 'offset']);
  const switchFrame = {
    size: sfRaw.size,
    fields: sfRaw.fields,
    location: c.oneOf('switchFrame.location', sfRaw['location'], ['stack', 'thread'] as const),
    offset: sfRaw['offset'] === undefined ? 0 : c.int('switchFrame.offset', sfRaw['offset']),
  };
  if (switchFrame.location === 'stack' && sfRaw['offset'] !== undefined) c.fail('switchFrame.offset', 'only a frame in the thread struct has an offset');
  const thread = frame(c, 'thread', o['thread']);
  if (switchFrame.location === 'thread' && switchFrame.offset + switchFrame.size > thread.size) {
    c.fail('switchFrame', `a frame in the thread struct at offset ${switchFrame.offset} size ${switchFrame.size} does not fit thread.size ${thread.size}`);
  }
  // x86 thread.sp; m68k thread.ksp
  if (switchFrame.location === 'stack' && !thread.fields.some((f) => f.name === 'sp' || f.name === 'ksp')) c.fail('thread.fields', 'a switch frame on the stack needs a thread field "sp" (or "ksp") pointing at it');
  const switchStack = o['switchStack'] === undefined || o['switchStack'] === null ? null : frame(c, 'switchStack', o['switchStack']);

  const tifRaw = c.object('tif', o['tif']);
  const tif: Record<string, number> = {};
  const bitOwner = new Map<number, string>();
  for (const [k, v] of Object.entries(tifRaw)) {
    if (!/^[A-Z0-9][A-Z0-9_]*$/.test(k)) c.fail(`tif.${k}`, 'TIF names are upper-case identifiers without the TIF_ prefix');
    const bit = c.int(`tif.${k}`, v, 0, `a bit number 0..${bits - 1}`);
    if (bit >= bits) c.expect(`tif.${k}`, `a bit number 0..${bits - 1}`, v);
    const other = bitOwner.get(bit);
    if (other !== undefined) c.fail(`tif.${k}`, `bit ${bit} is also TIF_${other}`);
    bitOwner.set(bit, k);
    tif[k] = bit;
  }
  for (const need of ['SIGPENDING', 'NEED_RESCHED']) if (tif[need] === undefined) c.fail('tif', `needs TIF_${need}`);

  const wmRaw = c.object('workMasks', o['workMasks']);
  const workMasks: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(wmRaw)) {
    if (!/^_?[A-Z][A-Z0-9_]*$/.test(k)) c.fail(`workMasks.${k}`, 'mask names must be assembler identifiers like "_TIF_WORK_MASK"');
    const names = c.stringArray(`workMasks.${k}`, v, false);
    names.forEach((n, i) => {
      if (!(n in tif)) c.fail(`workMasks.${k}[${i}]`, `${JSON.stringify(n)} is not a bit defined in "tif"`);
    });
    workMasks[k] = names;
  }
  let tifNeverSet: Record<string, string> | undefined;
  if (o['tifNeverSet'] !== undefined) {
    tifNeverSet = {};
    for (const [b, why] of Object.entries(c.object('tifNeverSet', o['tifNeverSet']))) {
      if (!(b in tif)) c.fail(`tifNeverSet.${b}`, `${JSON.stringify(b)} is not a bit defined in "tif"`);
      tifNeverSet[b] = c.string(`tifNeverSet.${b}`, why);
    }
  }

  const kt = c.object('kthread', o['kthread'], { required: ['fn', 'arg'], optional: ['frame'] });
  const kthread: ArchDescriptor['kthread'] = { fn: c.string('kthread.fn', kt['fn']), arg: c.string('kthread.arg', kt['arg']) };
  if (kt['frame'] !== undefined) kthread.frame = c.oneOf('kthread.frame', kt['frame'], ['switchFrame', 'ptRegs'] as const);
  const ktFrame = kthread.frame === 'ptRegs' ? ptRegs : switchFrame;
  const ktName = kthread.frame === 'ptRegs' ? 'ptRegs' : 'switchFrame';
  for (const r of ['fn', 'arg'] as const) {
    if (!ktFrame.fields.some((f) => f.reg === kthread[r])) c.fail(`kthread.${r}`, `register ${JSON.stringify(kthread[r])} has no slot in ${ktName} (a field with "reg": ${JSON.stringify(kthread[r])})`);
  }

  const sy = c.object('symbols', o['symbols']);
  const symbols: Record<string, string> = {};
  for (const [k, v] of Object.entries(sy)) symbols[k] = c.symbol(`symbols.${k}`, v);
  for (const need of ['switchTo', 'retFromFork']) if (symbols[need] === undefined) c.expect(`symbols.${need}`, 'the entry.S label', undefined);

  const abi: AbiOverrides = {};
  if (o['abi'] !== undefined) {
    const ab = c.object('abi', o['abi'], { required: [], optional: ['errno', 'signals', 'sa', 'how', 'sigaction', 'nsig', 'libcRestorer', 'restorerFallback', 'execKeepsRegisters', 'execClearsRegisters', 'ptraceSkipResultAtExit', 'restorerArg', 'execSpOffset', 'sigreturnKeepsRestartBlock', 'restartSyscallReturnsToArchData'] });
    const table = <K extends string>(key: string, known: Record<K, number>, nullable = false): Partial<Record<K, number | null>> | undefined => {
      if (ab[key] === undefined) return undefined;
      const t = c.object(`abi.${key}`, ab[key], { required: [], optional: Object.keys(known) });
      const out: Partial<Record<K, number | null>> = {};
      for (const [k, v] of Object.entries(t)) {
        if (nullable && v === null) out[k as K] = null;
        else {
          const n = parseHex(v);
          if (n === undefined) c.expect(`abi.${key}.${k}`, `a number${nullable ? ' or null (the arch has no such flag)' : ''}`, v);
          out[k as K] = Number(n);
        }
      }
      return out;
    };
    const errno = table('errno', GENERIC_ERRNO);
    if (errno) abi.errno = errno as AbiOverrides['errno'];
    const signals = table('signals', GENERIC_SIGNALS);
    if (signals) abi.signals = signals as AbiOverrides['signals'];
    const sa = table('sa', GENERIC_SA, true);
    if (sa) abi.sa = sa;
    const how = table('how', GENERIC_SIGPROCMASK);
    if (how) abi.how = how as AbiOverrides['how'];
    if (ab['sigaction'] !== undefined) {
      const f = frame(c, 'abi.sigaction', ab['sigaction']);
      for (const need of ['handler', 'flags', 'mask']) if (!f.fields.some((x) => x.name === need)) c.fail('abi.sigaction.fields', `needs a field "${need}"`);
      abi.sigaction = { size: f.size, fields: f.fields };
    }
    for (const flag of ['libcRestorer', 'execKeepsRegisters', 'ptraceSkipResultAtExit', 'restorerArg', 'sigreturnKeepsRestartBlock', 'restartSyscallReturnsToArchData'] as const) {
      if (ab[flag] === undefined) continue;
      if (typeof ab[flag] !== 'boolean') c.expect(`abi.${flag}`, 'true or false', ab[flag]);
      abi[flag] = ab[flag] as boolean;
    }
    if (ab['execClearsRegisters'] !== undefined) abi.execClearsRegisters = c.stringArray('abi.execClearsRegisters', ab['execClearsRegisters'], false);
    if (ab['restorerFallback'] !== undefined) abi.restorerFallback = c.oneOf('abi.restorerFallback', ab['restorerFallback'], ['vdso', 'stack', 'none', 'zero'] as const);
    if (ab['execSpOffset'] !== undefined) abi.execSpOffset = c.int('abi.execSpOffset', ab['execSpOffset']);
    if (ab['nsig'] !== undefined) abi.nsig = c.int('abi.nsig', ab['nsig'], 32, 'a signal count (_NSIG) of at least 32');
  }

  const notes = o['notes'] === undefined ? undefined : c.stringArray('notes', o['notes'], false, false);

  // Cross-field: every register named must be a known register.
  const known = new Set<string>([...registers.user, ...registers.extra, registers.pc, registers.sp]);
  const checkReg = (path: string, r: string) => {
    if (!known.has(r)) c.fail(path, `register ${JSON.stringify(r)} is not in registers.user, registers.extra, pc or sp`);
  };
  registers.calleeSaved.forEach((r, i) => checkReg(`registers.calleeSaved[${i}]`, r));
  registers.scratch.forEach((r, i) => checkReg(`registers.scratch[${i}]`, r));
  if (registers.tls !== undefined) checkReg('registers.tls', registers.tls);
  if (registers.userSp !== undefined) checkReg('registers.userSp', registers.userSp);
  checkReg('syscall.nr', syscall.nr);
  syscall.unsavedRegs?.forEach((r, i) => checkReg(`syscall.unsavedRegs[${i}]`, r));
  abi.execClearsRegisters?.forEach((r, i) => checkReg(`abi.execClearsRegisters[${i}]`, r));
  checkReg('syscall.ret', syscall.ret);
  syscall.args.forEach((r, i) => checkReg(`syscall.args[${i}]`, r));
  syscall.clobbers.forEach((r, i) => checkReg(`syscall.clobbers[${i}]`, r));
  if (error.convention === 'flag') checkReg('syscall.error.flag', error.flag);
  callingConvention.args.forEach((r, i) => checkReg(`callingConvention.args[${i}]`, r));
  checkReg('callingConvention.ret', callingConvention.ret);
  if (callingConvention.returnAddress !== 'stack') checkReg('callingConvention.returnAddress', callingConvention.returnAddress);
  for (const [frameName, layout] of [['ptRegs', ptRegs], ['switchFrame', switchFrame], ['switchStack', switchStack]] as const) {
    layout?.fields.forEach((f, i) => {
      if (f.reg !== undefined) checkReg(`${frameName}.fields[${i}].reg`, f.reg);
    });
  }
  // The core reads and writes these through pt_regs.
  const inPtRegs = new Set(ptRegs.fields.map((f) => f.reg).filter((r): r is string => r !== undefined));
  const needSlot = (path: string, r: string) => {
    if (!inPtRegs.has(r)) c.fail(path, `register ${JSON.stringify(r)} has no slot in ptRegs (a field with "reg": ${JSON.stringify(r)})`);
  };
  needSlot('registers.pc', registers.pc);
  if (registers.userSp === undefined) needSlot('registers.sp', registers.sp);
  needSlot('syscall.nr', syscall.nr);
  needSlot('syscall.ret', syscall.ret);
  syscall.args.forEach((r, i) => needSlot(`syscall.args[${i}]`, r));

  const desc: ArchDescriptor = {
    name, title, linux, sources,
    wordSize: wordSize as 4 | 8,
    endian, emulator, assembler,
    entry: { model, offers },
    memory, registers, callingConvention, syscall,
    ptRegs: { size: ptRegs.size, fields: ptRegs.fields },
    switchFrame,
    thread: { size: thread.size, fields: thread.fields },
    switchStack: switchStack ? { size: switchStack.size, fields: switchStack.fields } : null,
    kthread, tif, workMasks, ...(tifNeverSet ? { tifNeverSet } : {}), abi,
    symbols: symbols as ArchDescriptor['symbols'],
  };
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
