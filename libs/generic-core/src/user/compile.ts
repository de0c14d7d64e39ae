// User programs: written once as arch-neutral ops, compiled per arch from that arch's
// Handlebars partials (src/user.hbs) and assembled with the arch's assembler.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { diskCacheDir } from '../asm/cache.ts';
import { writeFileAtomic } from '../cache-dir.ts';
import type { Assembler } from '../asm/assembler.ts';
import type { ArchDescriptor } from '../contracts/descriptor.ts';
import type { SignalHooks } from '../contracts/port.ts';
import type { UserImage } from '../kernel/types.ts';
import { USER_DATA, USER_RESULTS } from '../kernel/layout.ts';

export type { UserImage } from '../kernel/types.ts';

/** A value: a number, a label of the program, a results slot's address, or a data address. */
export type Val = bigint | number | { label: string } | { slot: string } | { data: string };

/** Register roles, resolved per arch: ret, nr, arg0..5, callee0..n, or a machine register name. */
export type Reg = string;

export type Op =
  | { op: 'label'; name: string }
  | { op: 'syscall'; name: string; args?: Val[] }
  | { op: 'set'; reg: Reg; value: Val }
  | { op: 'store'; reg: Reg; slot: string }
  | { op: 'load'; reg: Reg; slot: string }
  | { op: 'inc'; slot: string }
  | { op: 'beqz'; reg: Reg; label: string }
  | { op: 'bnez'; reg: Reg; label: string }
  | { op: 'jmp'; label: string }
  | { op: 'ret' }
  | { op: 'nop' }
  /** an instruction only the kernel may run: user mode must fault on it */
  | { op: 'privileged' }
  | { op: 'ctxStore'; reg: Reg; value: Val }
  | { op: 'fillRegs'; seed: bigint; keepLink?: boolean; all?: boolean }
  | { op: 'storeRegs'; prefix: string }
  /** every register of allRegs() and sp, into slots `prefix.<reg>`, clobbering none before it is saved */
  | { op: 'storeAllRegs'; prefix: string }
  /** the user's own thread pointer, the one the kernel keeps apart from its own (x86-64 GS base, arm64 TPIDR_EL0, riscv tp) */
  | { op: 'tlsSet'; value: Val }
  /** reg = the word at the thread pointer */
  | { op: 'tlsLoad'; reg: Reg };

/** A word of initial data: a number or the address of a label of the program. */
export type DataWord = bigint | { label: string };

/** Initial data laid out by the program's author: `size` bytes built once the labels are known. */
export interface DataBlock {
  size: number;
  build(resolve: (label: string) => bigint, desc: ArchDescriptor): Uint8Array;
}

export interface UserProgram {
  name: string;
  ops: Op[];
  /** initial data by name, placed in the data page: words of the arch's size, or a laid-out block */
  data?: Record<string, DataWord[] | DataBlock>;
  entry?: string;
}

/** Words in the arch's size and byte order. */
export function wordBytes(desc: ArchDescriptor, words: bigint[]): Uint8Array {
  const w = desc.wordSize;
  const out = new Uint8Array(words.length * w);
  const dv = new DataView(out.buffer);
  const le = desc.endian === 'little';
  words.forEach((v, i) => {
    if (w === 8) dv.setBigUint64(i * 8, BigInt.asUintN(64, v), le);
    else dv.setUint32(i * 4, Number(BigInt.asUintN(32, v)), le);
  });
  return out;
}

const blockSize = (desc: ArchDescriptor, d: DataWord[] | DataBlock) => (Array.isArray(d) ? d.length * desc.wordSize : d.size);


export interface CompileContext {
  desc: ArchDescriptor;
  templates: { file: string; text: string };
  /** the port's signal hooks: where a register sits in the ucontext a handler edits */
  signal: Pick<SignalHooks, 'ucontext_reg_offset'>;
  assembler: Assembler;
}

/** Registers a scenario may fill and compare: user GPRs minus sp, pc, what the trap clobbers and the templates' temporaries. */
export function comparableRegs(desc: ArchDescriptor): string[] {
  const scratch = new Set([...desc.syscall.clobbers, ...desc.registers.scratch]);
  return desc.registers.user.filter((r) => r !== desc.registers.sp && r !== desc.registers.pc && !scratch.has(r));
}

/**
 * Every user register but sp, pc and a thread pointer that is a general register (riscv
 * tp: tlsSet/tlsLoad check it): what an interrupt between two user instructions must
 * leave as it was.
 */
export function allRegs(desc: ArchDescriptor): string[] {
  return desc.registers.user.filter((r) => r !== desc.registers.sp && r !== desc.registers.pc && r !== desc.registers.tls);
}

export function resolveReg(desc: ArchDescriptor, reg: Reg): string {
  const r = desc.registers;
  if (reg === 'ret') return desc.syscall.ret;
  if (reg === 'nr') return desc.syscall.nr;
  if (reg === 'pc') return r.pc;
  if (reg === 'sp') return r.sp;
  let m = /^arg(\d)$/.exec(reg);
  if (m) return desc.syscall.args[Number(m[1])]!;
  m = /^callee(\d+)$/.exec(reg);
  if (m) {
    const c = r.calleeSaved[Number(m[1])];
    if (!c) throw new Error(`${desc.name} has no callee-saved register #${m[1]}`);
    return c;
  }
  return reg;
}

/** Value a filled register gets: distinct per register, recognisable, fits in 32 bits. */
export function fillValue(seed: bigint, i: number): bigint {
  return seed + BigInt(i) * 0x01010101n;
}

/**
 * The partials of one user.hbs, compiled once: each {{#*inline}} body is compiled on its
 * own and registered in a Handlebars environment of this file's. (Compiling the whole
 * file in front of each call re-ran every inline decorator at every op of every program.)
 */
const cache = new Map<string, typeof Handlebars>();
const OPTIONS = { noEscape: true, strict: true } as const;

function partial(ctx: CompileContext, name: string): HandlebarsTemplateDelegate {
  let hb = cache.get(ctx.templates.text);
  if (!hb) {
    hb = Handlebars.create();
    for (const [n, spec] of Object.entries(precompiled(ctx.templates.text))) {
      hb.registerPartial(n, hb.template(new Function(`return ${spec}`)() as TemplateSpecification));
    }
    cache.set(ctx.templates.text, hb);
  }
  // a registered partial is a template of this environment: called directly, its own
  // {{> other}} calls find the file's other partials
  const t = hb.partials[name] as HandlebarsTemplateDelegate | undefined;
  if (typeof t !== 'function') throw new Error(`${ctx.templates.file}: no partial "${name}" (expected {{#*inline "${name}"}}...{{/inline}})`);
  return t;
}

/**
 * Rendered partials by partial and context, per user.hbs text: in memory, and on disk beside
 * the precompiled partials (a line depends on nothing but the file, the Handlebars version
 * and the context, all in the key), so a cold process renders only what no run rendered
 * before. `added`: entries not on disk yet.
 */
interface RenderMemo {
  lines: Map<string, string>;
  file: string | undefined;
  added: number;
}
const MAX_RENDERED = 50_000;
const rendered = new Map<string, RenderMemo>();
function renderMemo(text: string): RenderMemo {
  let m = rendered.get(text);
  if (!m) {
    const file = renderedLinesFile(text);
    m = { lines: new Map(), file, added: 0 };
    if (file) {
      try {
        const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
        if (Array.isArray(saved)) for (const e of saved) if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string') m.lines.set(e[0], e[1]);
      } catch {
        /* none yet, or damaged: rendered again */
      }
    }
    rendered.set(text, m);
  }
  if (m.lines.size > MAX_RENDERED) {
    m.lines.clear();
    m.added = 0;
  }
  return m;
}

/** Writes the lines rendered since the memo was last saved (an unwritable cache: memory only). */
function saveRenderMemo(m: RenderMemo): void {
  if (!m.added || !m.file) return;
  m.added = 0;
  writeFileAtomic(m.file, JSON.stringify([...m.lines]));
}

/** The disk file of a user.hbs text's rendered lines (a JSON array of [partial NUL context, lines]), or undefined without a disk cache. */
export function renderedLinesFile(text: string): string | undefined {
  const dir = diskCacheDir('templates');
  return dir ? join(dir, `${templatesKey(text)}.rendered.json`) : undefined;
}

function templatesKey(text: string): string {
  return createHash('sha256').update(`${Handlebars.VERSION}\0${JSON.stringify(OPTIONS)}\0${text}`).digest('hex').slice(0, 32);
}

/**
 * Each {{#*inline}} body of a user.hbs precompiled (Handlebars.precompile: the template as
 * JavaScript source), by partial name; kept on disk by the file's content and the
 * Handlebars version, as assembled images are (compiling them is most of a cold program).
 */
function precompiled(text: string): Record<string, string> {
  const dir = diskCacheDir('templates');
  const file = dir ? join(dir, `${templatesKey(text)}.json`) : undefined;
  if (file) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch {
      /* not cached yet, or unreadable: compile */
    }
  }
  const out: Record<string, string> = {};
  for (const st of Handlebars.parse(text).body) {
    const d = st as hbs.AST.Statement & { type: string; path?: { original?: unknown }; params?: Array<{ value?: unknown }>; program?: hbs.AST.Program };
    if (d.type !== 'DecoratorBlock' || d.path?.original !== 'inline' || typeof d.params?.[0]?.value !== 'string' || !d.program) continue;
    out[d.params[0].value] = String(Handlebars.precompile(d.program, OPTIONS));
  }
  // an unwritable cache: compiled again next time
  if (file) writeFileAtomic(file, JSON.stringify(out));
  return out;
}

/**
 * `textOffset`: where in the user region the code goes. Give every program of a run its own
 * offset: the emulator keeps translated code per address, and an exec that put other code
 * at an address already translated would run the stale translation.
 */
export function compileProgram(ctx: CompileContext, prog: UserProgram, textOffset = 0n): UserImage {
  const { desc } = ctx;
  const base = desc.memory.user;
  if (textOffset + 0x2000n > USER_RESULTS) throw new Error(`${prog.name}: text offset 0x${textOffset.toString(16)} runs into the results page`);
  const slots = new Map<string, number>();
  const regSets = new Map<string, string[]>();
  const data = new Map<string, bigint>();
  let dataOff = 0n;
  for (const [name, d] of Object.entries(prog.data ?? {})) {
    data.set(name, base + USER_DATA + dataOff);
    dataOff += BigInt((blockSize(desc, d) + 15) & ~15);
  }
  if (dataOff > 0x1000n) throw new Error(`${prog.name}: ${dataOff} bytes of initial data, over the 4 KiB data page`);
  const slotAddr = (s: string): bigint => {
    let i = slots.get(s);
    if (i === undefined) slots.set(s, (i = slots.size));
    if (i >= 512) throw new Error(`${prog.name}: too many result slots`);
    return base + USER_RESULTS + BigInt(i * 8);
  };
  const val = (v: Val): string => {
    if (typeof v === 'bigint' || typeof v === 'number') {
      const b = BigInt.asUintN(desc.wordSize * 8, BigInt(v));
      return `0x${b.toString(16)}`;
    }
    if ('label' in v) return v.label;
    if ('slot' in v) return `0x${slotAddr(v.slot).toString(16)}`;
    const d = data.get(v.data);
    if (d === undefined) throw new Error(`${prog.name}: no data "${v.data}"`);
    return `0x${d.toString(16)}`;
  };
  // the same op with the same operands renders the same lines: programs repeat many
  const memo = renderMemo(ctx.templates.text);
  const render = (name: string, c: Record<string, unknown>) => {
    const key = `${name}\0${JSON.stringify(c)}`;
    let text = memo.lines.get(key);
    if (text === undefined) {
      memo.lines.set(key, (text = partial(ctx, name)(c).trimEnd()));
      memo.added++;
    }
    return text;
  };
  const out: string[] = [];
  for (const op of prog.ops) {
    switch (op.op) {
      case 'label':
        out.push(`${op.name}:`);
        break;
      case 'syscall': {
        const nr = desc.syscall.numbers[op.name];
        if (nr === undefined) throw new Error(`${prog.name}: ${desc.name} has no syscall "${op.name}"`);
        (op.args ?? []).forEach((a, i) => out.push(render('set_reg', { reg: desc.syscall.args[i], value: val(a), isSp: false })));
        out.push(render('set_reg', { reg: desc.syscall.nr, value: `0x${nr.toString(16)}`, isSp: false }));
        // the syscall's name: a libc wrapper's own fix-up after the trap (sparc fork/clone: the
        // SunOS two-register return) is the arch's to write; other partials ignore it
        out.push(render('trap', { name: op.name, nr }));
        break;
      }
      case 'set': {
        const reg = resolveReg(desc, op.reg);
        out.push(render('set_reg', { reg, value: val(op.value), isSp: reg === desc.registers.sp }));
        break;
      }
      case 'store': {
        const reg = resolveReg(desc, op.reg);
        out.push(render('store', { reg, addr: val({ slot: op.slot }), isSp: reg === desc.registers.sp }));
        break;
      }
      case 'load':
        out.push(render('load', { reg: resolveReg(desc, op.reg), addr: val({ slot: op.slot }) }));
        break;
      case 'inc':
        out.push(render('inc', { addr: val({ slot: op.slot }) }));
        break;
      case 'beqz':
      case 'bnez':
        out.push(render(op.op, { reg: resolveReg(desc, op.reg), label: op.label }));
        break;
      case 'jmp':
        out.push(render('jmp', { label: op.label }));
        break;
      case 'ret':
      case 'nop':
      case 'privileged':
        out.push(render(op.op, {}));
        break;
      case 'ctxStore':
        out.push(render('ctx_store', { offset: ctx.signal.ucontext_reg_offset(resolveReg(desc, op.reg)), value: val(op.value) }));
        break;
      case 'fillRegs':
        // keepLink: inside a function (a signal handler) the link register holds the way back
        (op.all ? allRegs(desc) : comparableRegs(desc)).forEach((r, i) => {
          if (op.keepLink && r === desc.callingConvention.returnAddress) return;
          out.push(render('set_reg', { reg: r, value: val(fillValue(op.seed, i)), isSp: false }));
        });
        break;
      case 'storeAllRegs': {
        // spill every register below sp first (one store each, no temporary), then copy the
        // spill area to the slots through a callee-saved register
        const regs = allRegs(desc);
        const w = desc.wordSize;
        regSets.set(op.prefix, regs);
        regs.forEach((r, i) => out.push(render('spill', { reg: r, offset: -(i + 1) * w })));
        out.push(render('store', { reg: desc.registers.sp, addr: val({ slot: `${op.prefix}.${desc.registers.sp}` }), isSp: true }));
        const tmp = desc.registers.calleeSaved[0]!;
        regs.forEach((r, i) => {
          out.push(render('unspill', { reg: tmp, offset: -(i + 1) * w }));
          out.push(render('store', { reg: tmp, addr: val({ slot: `${op.prefix}.${r}` }), isSp: false }));
        });
        break;
      }
      case 'tlsSet':
        out.push(render('tls_set', { value: val(op.value), nr: desc.syscall.numbers }));
        break;
      case 'tlsLoad':
        // nr: where reading the thread pointer takes a syscall (m68k get_thread_area)
        out.push(render('tls_load', { reg: resolveReg(desc, op.reg), nr: desc.syscall.numbers }));
        break;
      case 'storeRegs': {
        const regs = comparableRegs(desc);
        regSets.set(op.prefix, regs);
        regs.forEach((r) => out.push(render('store', { reg: r, addr: val({ slot: `${op.prefix}.${r}` }), isSp: false })));
        break;
      }
    }
  }
  saveRenderMemo(memo);
  const source = out.join('\n') + '\n';
  const text = base + textOffset;
  const res = ctx.assembler.assemble({ file: `${prog.name} (user program from ${ctx.templates.file})`, text: source }, { base: text });
  if (res.bytes.length > 0x2000) throw new Error(`${prog.name}: ${res.bytes.length} bytes of code, over the 8 KiB a program may use`);
  const entry = res.symbols.get(prog.entry ?? '_start') ?? text;
  const resolve = (label: string): bigint => {
    const a = res.symbols.get(label);
    if (a === undefined) throw new Error(`${prog.name}: data refers to the label "${label}", which the program does not define`);
    return a;
  };
  const dataInit: Array<[bigint, Uint8Array]> = Object.entries(prog.data ?? {}).map(([n, d]) => [
    data.get(n)!,
    Array.isArray(d) ? wordBytes(desc, d.map((w) => (typeof w === 'bigint' ? w : resolve(w.label)))) : d.build(resolve, desc),
  ]);
  return { base: text, entry, bytes: res.bytes, symbols: res.symbols, slots, regSets, data, dataInit, source };
}
