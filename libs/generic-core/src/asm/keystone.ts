// Keystone backend of the Assembler interface (keystone-wasm 1.0.4 = Keystone 0.9.2, LLVM MC
// based, compiled to WebAssembly).
//
// What this build of Keystone does, checked on these machines (the tests in
// test/asm.test.ts pin the important ones down byte for byte):
//
// * Architectures compiled in: X86, ARM, ARM64 (and EVM) only. MIPS, PPC, SPARC, SystemZ and
//   Hexagon are NOT in keystone-wasm 1.0.4 (`ks_arch_supported` false, `ks_open` fails with
//   KS_ERR_ARCH); their rows are in the table below so the error says so, and those ports
//   need the GNU as backend.
// * No symbol table comes back and the wasm build exposes no way to install a
//   KS_OPT_SYM_RESOLVER callback. So externs become `.equ NAME, value` lines before the
//   source, and label addresses are read back from `.quad label` (`.long` on 32-bit)
//   directives appended after the source (appending never moves earlier code), followed by
//   a sentinel word that proves Keystone assembled the whole input (it silently returns
//   0 bytes for `.section .text`, for example).
// * Comments: Keystone's x86 parser takes `#` and `//`, its ARM64 parser takes no comment
//   character at all (`nop // c` is an error), and `;` is a statement separator everywhere.
//   So comments are stripped here before assembling, line numbers preserved: `#` and `//`
//   on x86, `//` (and `#` as the first non-blank character) on arm64, `@` and `//` on arm,
//   and C block comments on all.
// * x86-64 absolute memory operands (Intel syntax, Keystone's default):
//     `mov qword ptr [0x601000], rsp`   -> 48 89 25 f9 0f 50 00  RIP-relative, disp computed
//                                          from the base address (right only when loaded there)
//     `mov rsp, qword ptr [0x601000]`   -> 48 8b 25 00 10 60 00  WRONG: [rip + 0x601000]
//     `mov rsp, qword ptr gs:[8]`       -> 65 48 8b 25 08 00 00 00  WRONG: gs:[rip + 8]
//     `mov qword ptr gs:[8], rsp`       -> RIP-relative store, right only at the base address
//     `mov rsp, qword ptr [riz*1 + 0x601000]` -> 48 8b 24 25 00 10 60 00  absolute (SIB, no
//                                          base, no index): the form to use; `eiz*1` is the same
//     `mov rsp, qword ptr gs:[riz*1 + 8]`     -> 65 48 8b 24 25 08 00 00 00  absolute gs:[8]
//     `[riz + X]` (no `*1`)             -> [rsp + X]: WRONG
//     `call qword ptr [rax*8 + SYM]`    -> ff 14 c5 <SYM32>  absolute table-indirect call: right
//     `mov rbx, qword ptr [rip + label]`-> proper RIP-relative to the label: right
//   Hence a lint below: on x86 every memory operand must name a register (base, index,
//   rip or riz/eiz with a scale); `[X]` alone is rejected with a hint to write
//   `[riz*1 + X]` (absolute) or `[rip + label]` (PC-relative).
// * `sysretq` is rejected (KS_ERR_ASM_MNEMONICFAIL); `sysret` already encodes 48 0f 07,
//   which is sysretq. The lint says so.
// * `.text`, `.data`, `.bss` trap inside the wasm (memory access out of bounds); `.section`
//   returns success with no bytes. One flat image is produced, so `.text` / `.section
//   .text...` are dropped here and other section directives are rejected with a message.
//   `.type`, `.size` (`.size f, .-f` fails in Keystone), `.weak`, `.hidden`, `.local`,
//   `.file`, `.ident` are dropped (no ELF symbol table here). Numeric local labels
//   (`1:` / `1b`) are rejected by Keystone: use `.L` names.
// * `.align N` is bytes on x86 and 2^N on arm/arm64 (as in GNU as); `.balign N` (bytes) and
//   `.p2align N` mean the same on all. Alignment is of the absolute address (base included).
// * Some malformed directives are dropped silently (`.quad 1 +`, `.rept` without a count,
//   `.include "x"`), and `mov rax, [rbx+` assembles as `[rbx]`: Keystone's parser is lax.
// * Strings passed through the wrapper's `ccall` live on the 64 KiB wasm stack and crash
//   for sources over ~64 KiB, so sources are copied into the wasm heap with malloc here.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as KeystoneWasm from 'keystone-wasm';
import { AsmError, type AsmSource, type AssembleOptions, type AssembleResult, type Assembler } from './assembler.ts';
import { ASM_IDENT, constantLine } from './offsets.ts';

// ---------------------------------------------------------------------------------------
// Arch table

interface KsArch {
  ksArch: number;
  ksMode: number;
  wordSize: 4 | 8;
  endian: 'little' | 'big';
  /** Comment starters anywhere outside strings. */
  comments: string[];
  /** Comment starters only as the first non-blank character of a line. */
  lineStartComments: string[];
  /** Extra per-statement checks (instructions only); returns a message or undefined. */
  lint?: (stmt: string) => string | undefined;
}

// Keystone API constants (keystone.h, API 0.9). Kept here rather than read from the
// module's `Const` so the table exists before the wasm is loaded.
const Const = {
  KS_ARCH_ARM: 1, KS_ARCH_ARM64: 2, KS_ARCH_MIPS: 3, KS_ARCH_X86: 4, KS_ARCH_PPC: 5,
  KS_ARCH_SPARC: 6, KS_ARCH_SYSTEMZ: 7, KS_ARCH_HEXAGON: 8,
  KS_MODE_ARM: 1, KS_MODE_THUMB: 16, KS_MODE_16: 2, KS_MODE_32: 4, KS_MODE_64: 8,
  KS_MODE_MIPS32: 4, KS_MODE_MIPS64: 8, KS_MODE_PPC32: 4, KS_MODE_PPC64: 8,
  KS_MODE_SPARC32: 4, KS_MODE_SPARC64: 8,
} as const;
const LE = 0; // KS_MODE_LITTLE_ENDIAN
const BE = 1 << 30; // KS_MODE_BIG_ENDIAN

const X86_REG =
  /^(?:[re]?(?:ax|bx|cx|dx|si|di|bp|sp)|[abcd][lh]|(?:si|di|bp|sp)l|r(?:[89]|1[0-5])[dwb]?|[re]ip|[re]iz)$/i;

function lintX86(stmt: string): string | undefined {
  const mnemonic = /^\s*([A-Za-z][\w.]*)/.exec(stmt)?.[1]?.toLowerCase();
  // keystone drops an instruction with an AT&T-style %register instead of rejecting it
  if (/%[A-Za-z]/.test(stmt)) return "AT&T register syntax ('%reg') is not accepted here: write Intel syntax (keystone silently drops such a line)";
  if (mnemonic === 'sysretq') {
    return "keystone rejects 'sysretq': write 'sysret' (keystone already emits REX.W: 48 0f 07)";
  }
  for (const m of stmt.matchAll(/\[([^\]]*)\]/g)) {
    const inner = m[1] ?? '';
    const regs = [...inner.matchAll(/(?<![\w.$])[A-Za-z_][\w]*/g)].map((t) => t[0]).filter((t) => X86_REG.test(t));
    if (regs.length === 0) {
      return (
        `absolute memory operand [${inner.trim()}]: keystone encodes it RIP-relative (and gets ` +
        `'mov r64, [X]' wrong); write [riz*1 + ${inner.trim()}] for an absolute address or ` +
        `[rip + label] for a PC-relative one`
      );
    }
    const syms = [...inner.matchAll(/(?<![\w.$])[A-Za-z_.$][\w.$]*/g)].map((t) => t[0]).filter((t) => !X86_REG.test(t));
    if (syms.length > 1) {
      return `[${inner.trim()}] adds ${syms.length} symbols (${syms.join(', ')}): keystone keeps only the last one; define their sum with .equ and use that`;
    }
    if (/(?<![\w.$])[re]iz(?!\s*\*)/i.test(inner)) {
      return `write riz*1 in [${inner.trim()}]: keystone encodes [riz + X] as [rsp + X]`;
    }
  }
  return undefined;
}

const X86_COMMENTS = { comments: ['#', '//'], lineStartComments: [] };
const ARM64_COMMENTS = { comments: ['//'], lineStartComments: ['#'] };
const ARM_COMMENTS = { comments: ['@', '//'], lineStartComments: ['#'] };
const HASH_COMMENTS = { comments: ['#'], lineStartComments: [] };
const BANG_COMMENTS = { comments: ['!'], lineStartComments: ['#'] };

const ARCHES: Record<string, KsArch> = {
  x86_64: { ksArch: Const.KS_ARCH_X86, ksMode: Const.KS_MODE_64, wordSize: 8, endian: 'little', ...X86_COMMENTS, lint: lintX86 },
  i386: { ksArch: Const.KS_ARCH_X86, ksMode: Const.KS_MODE_32, wordSize: 4, endian: 'little', ...X86_COMMENTS, lint: lintX86 },
  arm64: { ksArch: Const.KS_ARCH_ARM64, ksMode: LE, wordSize: 8, endian: 'little', ...ARM64_COMMENTS },
  arm: { ksArch: Const.KS_ARCH_ARM, ksMode: Const.KS_MODE_ARM | LE, wordSize: 4, endian: 'little', ...ARM_COMMENTS },
  armeb: { ksArch: Const.KS_ARCH_ARM, ksMode: Const.KS_MODE_ARM | BE, wordSize: 4, endian: 'big', ...ARM_COMMENTS },
  thumb: { ksArch: Const.KS_ARCH_ARM, ksMode: Const.KS_MODE_THUMB | LE, wordSize: 4, endian: 'little', ...ARM_COMMENTS },
  // Not compiled into keystone-wasm 1.0.4 (kept so the table is complete and the error clear).
  mips: { ksArch: Const.KS_ARCH_MIPS, ksMode: Const.KS_MODE_MIPS32 | BE, wordSize: 4, endian: 'big', ...HASH_COMMENTS },
  mipsel: { ksArch: Const.KS_ARCH_MIPS, ksMode: Const.KS_MODE_MIPS32 | LE, wordSize: 4, endian: 'little', ...HASH_COMMENTS },
  mips64: { ksArch: Const.KS_ARCH_MIPS, ksMode: Const.KS_MODE_MIPS64 | BE, wordSize: 8, endian: 'big', ...HASH_COMMENTS },
  ppc: { ksArch: Const.KS_ARCH_PPC, ksMode: Const.KS_MODE_PPC32 | BE, wordSize: 4, endian: 'big', ...HASH_COMMENTS },
  ppc64: { ksArch: Const.KS_ARCH_PPC, ksMode: Const.KS_MODE_PPC64 | BE, wordSize: 8, endian: 'big', ...HASH_COMMENTS },
  ppc64le: { ksArch: Const.KS_ARCH_PPC, ksMode: Const.KS_MODE_PPC64 | LE, wordSize: 8, endian: 'little', ...HASH_COMMENTS },
  sparc: { ksArch: Const.KS_ARCH_SPARC, ksMode: Const.KS_MODE_SPARC32 | BE, wordSize: 4, endian: 'big', ...BANG_COMMENTS },
  sparc64: { ksArch: Const.KS_ARCH_SPARC, ksMode: Const.KS_MODE_SPARC64 | BE, wordSize: 8, endian: 'big', ...BANG_COMMENTS },
  systemz: { ksArch: Const.KS_ARCH_SYSTEMZ, ksMode: BE, wordSize: 8, endian: 'big', ...HASH_COMMENTS },
  hexagon: { ksArch: Const.KS_ARCH_HEXAGON, ksMode: LE, wordSize: 4, endian: 'little', ...HASH_COMMENTS },
};
const ALIASES: Record<string, string> = {
  x86: 'x86_64', amd64: 'x86_64', x86_32: 'i386', i686: 'i386', aarch64: 'arm64',
  powerpc: 'ppc', powerpc64: 'ppc64', s390x: 'systemz', sparc32: 'sparc',
};

/** Arch names the Keystone table knows (whether or not this keystone build has them). */
export function keystoneArches(): string[] {
  return Object.keys(ARCHES);
}

// ---------------------------------------------------------------------------------------
// The wasm module, loaded once per process

interface KsModule {
  _malloc(n: number): number;
  _free(p: number): void;
  _ks_asm(ks: number, str: number, addr: bigint, enc: number, size: number, stat: number): number;
  _ks_free(p: number): void;
  _ks_errno(ks: number): number;
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
}

type KsLib = typeof KeystoneWasm;
type Keystone = KeystoneWasm.Keystone;

interface Loaded {
  lib: KsLib;
  mod: KsModule;
  errNames: Map<number, string>;
}

let diagSink: string[] | undefined;
let loadPromise: Promise<Loaded> | undefined;
let loaded: Loaded | undefined;

/** dist/ of the installed keystone-wasm (works under tsx, whose tsconfig `paths` map the
 * bare name to the .d.ts: the import is done by file URL of dist/index.mjs). */
function keystoneDist(): string {
  return dirname(createRequire(import.meta.url).resolve('keystone-wasm'));
}

function loadModule(): Promise<Loaded> {
  loadPromise ??= (async () => {
    const lib = (await import(pathToFileURL(join(keystoneDist(), 'index.mjs')).href)) as KsLib;
    const sink = (m: unknown) => diagSink?.push(String(m));
    const mod: Record<string, unknown> = { print: sink, printErr: sink };
    await lib.loadKeystone(mod);
    if (typeof mod['_ks_asm'] !== 'function' || !(mod['HEAPU8'] instanceof Uint8Array)) {
      throw new Error('keystone-wasm was loaded elsewhere in this process before archkit could attach to it');
    }
    const errNames = new Map<number, string>(
      Object.entries(lib.Const)
        .filter(([k]) => k.startsWith('KS_ERR_') && k !== 'KS_ERR_ASM' && k !== 'KS_ERR_ASM_ARCH')
        .map(([k, v]) => [v as number, k]),
    );
    loaded = { lib, mod: mod as unknown as KsModule, errNames };
    return loaded;
  })();
  loadPromise.catch(() => {
    loadPromise = undefined;
  });
  return loadPromise;
}

let wrapperVersion: string | undefined;
/** e.g. "keystone 0.9.2 (keystone-wasm 1.0.4)" */
export function keystoneVersion(): string {
  if (wrapperVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(keystoneDist(), '..', 'package.json'), 'utf8')) as { version?: string };
      wrapperVersion = pkg.version ?? 'unknown';
    } catch {
      wrapperVersion = 'unknown';
    }
  }
  const c = loaded?.lib.Const;
  const ks = c ? `${c.KS_VERSION_MAJOR}.${c.KS_VERSION_MINOR}.${c.KS_VERSION_EXTRA}` : '0.9.2';
  return `keystone ${ks} (keystone-wasm ${wrapperVersion})`;
}

function codeTag(code: number): string {
  return loaded?.errNames.get(code) ?? `keystone error ${code}`;
}

function describeCode(code: number): string {
  let msg = '';
  try {
    msg = loaded?.lib.Keystone.strError(code) ?? '';
  } catch {
    /* not loaded */
  }
  if (!msg || /^unknown error/i.test(msg)) return codeTag(code);
  return msg.charAt(0).toLowerCase() + msg.slice(1);
}

// ---------------------------------------------------------------------------------------
// Source preprocessing

interface Line {
  /** Original text of the line (for messages). */
  orig: string;
  /** What is fed to keystone for this line. */
  code: string;
  labels: string[];
  sets: string[];
  /** Nesting depth of .macro/.rept/.if blocks before this line. */
  depthBefore: number;
  /** Identifiers that start a statement (mnemonics, directives). */
  heads: string[];
}

function startsWithAt(s: string, i: number, tok: string): boolean {
  return s.startsWith(tok, i);
}

/** Strip comments, keeping one output line per input line. */
function stripComments(lines: string[], arch: KsArch): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of lines) {
    let res = '';
    let inStr = false;
    const firstNonBlank = line.search(/\S/);
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (inBlock) {
        if (startsWithAt(line, i, '*/')) {
          inBlock = false;
          i++;
          res += ' ';
        }
        continue;
      }
      if (inStr) {
        res += c;
        if (c === '\\' && i + 1 < line.length) res += line[++i];
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') {
        inStr = true;
        res += c;
        continue;
      }
      if (startsWithAt(line, i, '/*')) {
        inBlock = true;
        i++;
        continue;
      }
      if (arch.comments.some((t) => startsWithAt(line, i, t))) break;
      if (i === firstNonBlank && arch.lineStartComments.some((t) => startsWithAt(line, i, t))) break;
      res += c;
    }
    out.push(res.replace(/\s+$/, ''));
  }
  return out;
}

/** Split on `;` outside strings. */
function splitStatements(code: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inStr = false;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (inStr) {
      cur += c;
      if (c === '\\' && i + 1 < code.length) cur += code[++i];
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      cur += c;
    } else if (c === ';') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const DROP_DIRECTIVES = new Set(['.text', '.type', '.size', '.weak', '.hidden', '.local', '.file', '.ident', '.internal', '.protected']);
const REJECT_DIRECTIVES: Record<string, string> = {
  '.data': 'sections are not supported (one flat image); keep data in the text or in TypeScript-managed memory',
  '.bss': 'sections are not supported (one flat image)',
  '.rodata': 'sections are not supported (one flat image)',
  '.pushsection': 'sections are not supported (one flat image)',
  '.popsection': 'sections are not supported (one flat image)',
  '.previous': 'sections are not supported (one flat image)',
  '.subsection': 'sections are not supported (one flat image)',
  '.include': '.include is not supported by the keystone backend (keystone ignores it silently)',
  '.incbin': '.incbin is not supported by the keystone backend',
  '.org': '.org is not supported by keystone (KS_ERR_ASM_FRAGMENT_INVALID); use .balign / .skip',
};
const BLOCK_OPEN = /^\.(?:macro|rept|irp|irpc|if\w*)$/;
const BLOCK_CLOSE = /^\.(?:endm|endr|endif)$/;

interface Preprocessed {
  lines: Line[];
  labels: Map<string, number>; // name -> line index
  sets: Set<string>;
}

class LineError extends Error {
  constructor(
    readonly index: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function preprocess(origLines: string[], arch: KsArch, lint: boolean): Preprocessed {
  const stripped = stripComments(origLines, arch);
  const lines: Line[] = [];
  const labels = new Map<string, number>();
  const sets = new Set<string>();
  let depth = 0;
  let macroDepth = 0;
  const openStack: { index: number; directive: string }[] = [];
  stripped.forEach((code, index) => {
    const line: Line = { orig: origLines[index] ?? '', code: '', labels: [], sets: [], depthBefore: depth, heads: [] };
    const outStmts: string[] = [];
    for (const stmt0 of splitStatements(code)) {
      let stmt = stmt0;
      const stmtLabels: string[] = [];
      for (;;) {
        const num = /^\s*(\d+)\s*:/.exec(stmt);
        if (num) throw new LineError(index, `numeric local label '${num[1]}:' is not supported by keystone; use a .L name`);
        const m = /^\s*([A-Za-z_.$][\w.$]*)\s*:(?!:)/.exec(stmt);
        if (!m) break;
        stmtLabels.push(m[1]!);
        stmt = stmt.slice(m[0].length);
      }
      const inMacro = macroDepth > 0;
      const body = stmt.trim();
      const head = /^([A-Za-z_.$][\w.$]*)/.exec(body)?.[1];
      let keep = body;
      if (head !== undefined) {
        const d = head.toLowerCase();
        const assign = /^([A-Za-z_.$][\w.$]*)\s*=(?!=)/.exec(body);
        if (assign) {
          if (macroDepth === 0) line.sets.push(assign[1]!);
        } else if (d === '.set' || d === '.equ' || d === '.equiv') {
          const name = /^\S+\s+([A-Za-z_.$][\w.$]*)/.exec(body)?.[1];
          if (name !== undefined && macroDepth === 0) line.sets.push(name);
          line.heads.push(head);
        } else if (d.startsWith('.')) {
          line.heads.push(head);
          if (d === '.section') {
            const name = /^\S+\s+([^\s,]+)/.exec(body)?.[1] ?? '';
            if (!name.startsWith('.text')) {
              throw new LineError(index, `section '${name}' is not supported (one flat image; only .text is accepted)`);
            }
            keep = '';
          } else if (DROP_DIRECTIVES.has(d)) {
            keep = '';
          } else if (REJECT_DIRECTIVES[d] !== undefined) {
            throw new LineError(index, REJECT_DIRECTIVES[d]);
          } else if (BLOCK_OPEN.test(d)) {
            depth++;
            if (d === '.macro') macroDepth++;
            openStack.push({ index, directive: d });
          } else if (BLOCK_CLOSE.test(d)) {
            const open = openStack.pop();
            if (open === undefined) throw new LineError(index, `${d} without a matching opening directive`);
            depth--;
            if (open.directive === '.macro') macroDepth--;
          }
        } else {
          line.heads.push(head);
          // keystone encodes `[rbx` as something else instead of rejecting it
          if ((body.match(/\[/g) ?? []).length !== (body.match(/\]/g) ?? []).length) {
            throw new LineError(index, 'unbalanced [ ] in operand');
          }
          if (lint && arch.lint && macroDepth === 0) {
            const msg = arch.lint(body);
            if (msg !== undefined) throw new LineError(index, msg);
          }
        }
      }
      if (!inMacro) {
        for (const l of stmtLabels) {
          const prev = labels.get(l);
          if (prev !== undefined) throw new LineError(index, `label '${l}' already defined at line ${prev + 1}`);
          labels.set(l, index);
          line.labels.push(l);
        }
      }
      const rebuilt = stmtLabels.map((l) => `${l}:`).concat(keep ? [keep] : []).join(' ');
      if (rebuilt) outStmts.push(rebuilt);
    }
    for (const s of line.sets) sets.add(s);
    line.code = outStmts.join(' ; ');
    lines.push(line);
  });
  if (openStack.length > 0) {
    const open = openStack[openStack.length - 1]!;
    throw new LineError(open.index, `${open.directive} is never closed`);
  }
  return { lines, labels, sets };
}

// ---------------------------------------------------------------------------------------
// The assembler

interface RunResult {
  ok: boolean;
  bytes: Uint8Array;
  code: number;
  diag: string[];
  trap?: string;
}

const SENTINEL64 = 0x6b73656e74696e6cn; // "lnitnesk"
const SENTINEL32 = 0x6b73656en;

export interface KeystoneAssemblerOptions {
  /** Apply the per-arch lint (x86: absolute memory operands, sysretq). Default true. */
  lint?: boolean;
}

class KeystoneAssembler implements Assembler {
  readonly name: string;
  private ks: Keystone;

  private readonly mod: KsModule;

  constructor(
    readonly arch: string,
    private readonly spec: KsArch,
    private readonly lib: Loaded,
    private readonly lint: boolean,
  ) {
    this.name = keystoneVersion();
    this.mod = lib.mod;
    this.ks = new lib.lib.Keystone(spec.ksArch, spec.ksMode);
  }

  private get dataDirective(): string {
    return this.spec.wordSize === 8 ? '.quad' : '.long';
  }

  private get sentinel(): bigint {
    return this.spec.wordSize === 8 ? SENTINEL64 : SENTINEL32;
  }

  private readWord(bytes: Uint8Array, off: number): bigint {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = this.spec.endian === 'little';
    return this.spec.wordSize === 8 ? dv.getBigUint64(off, le) : BigInt(dv.getUint32(off, le));
  }

  /** Raw ks_asm on the wasm heap (the wrapper's string path overflows the wasm stack). */
  private run(source: string, base: bigint): RunResult {
    const mod = this.mod;
    const diag: string[] = [];
    const enc = new TextEncoder().encode(source);
    const strPtr = mod._malloc(enc.length + 1);
    const outPtr = mod._malloc(12);
    diagSink = diag;
    try {
      mod.HEAPU8.set(enc, strPtr);
      mod.HEAPU8[strPtr + enc.length] = 0;
      const handle = this.ks.handle;
      const rc = mod._ks_asm(handle, strPtr, BigInt.asUintN(64, base), outPtr, outPtr + 4, outPtr + 8);
      if (rc !== 0) {
        return { ok: false, bytes: new Uint8Array(0), code: mod._ks_errno(handle), diag };
      }
      const p = mod.HEAPU32[outPtr >> 2]!;
      const n = mod.HEAPU32[(outPtr + 4) >> 2]!;
      const bytes = mod.HEAPU8.slice(p, p + n);
      mod._ks_free(p);
      const w = this.spec.wordSize;
      const complete = bytes.length >= w && this.readWord(bytes, bytes.length - w) === this.sentinel;
      const diagError = diag.some((d) => /(^|\s)error:/.test(d));
      return { ok: complete && !diagError, bytes, code: 0, diag };
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        // The wasm trapped; the engine's state is suspect: start a fresh handle.
        this.ks = new this.lib.lib.Keystone(this.spec.ksArch, this.spec.ksMode);
        return { ok: false, bytes: new Uint8Array(0), code: -1, diag, trap: e.message };
      }
      throw e;
    } finally {
      diagSink = undefined;
      try {
        mod._free(strPtr);
        mod._free(outPtr);
      } catch {
        /* heap state after a trap */
      }
    }
  }

  private describe(r: RunResult): string {
    if (r.trap !== undefined) return `keystone crashed (wasm trap: ${r.trap})`;
    const diagMsg = r.diag.find((d) => /(^|\s)error:/.test(d))?.replace(/^.*?error:\s*/, '');
    if (r.code !== 0) return describeCode(r.code) + (diagMsg ? `: ${diagMsg}` : '');
    if (diagMsg) return diagMsg;
    return 'keystone stopped early without reporting an error (statement dropped)';
  }

  assemble(src: AsmSource, opts: AssembleOptions): AssembleResult {
    const base = opts.base;
    const file = src.file;
    const textLines = src.text.split(/\r?\n/);

    // Prelude and externs (the header).
    const preludeLines = src.prelude !== undefined ? src.prelude.replace(/\n$/, '').split(/\r?\n/) : [];
    let pre: Preprocessed;
    try {
      pre = preprocess(preludeLines, this.spec, false);
    } catch (e) {
      if (e instanceof LineError) {
        throw new AsmError('<prelude>', e.index + 1, `${e.detail} (prelude of ${file})`, preludeLines[e.index]);
      }
      throw e;
    }
    const externs = opts.externs ?? {};
    const externLines: string[] = [];
    for (const [name, value] of Object.entries(externs)) {
      if (!ASM_IDENT.test(name)) throw new AsmError(file, undefined, `extern name ${JSON.stringify(name)} is not a valid symbol`);
      externLines.push(constantLine(name, value));
    }

    // The text.
    let txt: Preprocessed;
    try {
      txt = preprocess(textLines, this.spec, this.lint);
    } catch (e) {
      if (e instanceof LineError) throw new AsmError(file, e.index + 1, e.detail, textLines[e.index]);
      throw e;
    }
    for (const name of Object.keys(externs)) {
      const at = txt.labels.get(name);
      if (at !== undefined) {
        throw new AsmError(file, at + 1, `label '${name}' is also given as an extern`, textLines[at]);
      }
    }
    const known = new Set<string>([...txt.labels.keys(), ...txt.sets, ...pre.sets, ...pre.labels.keys(), ...Object.keys(externs)]);
    const exports = opts.exports ?? [...txt.labels.keys()];
    for (const name of exports) {
      if (!known.has(name)) throw new AsmError(file, undefined, `exported symbol '${name}' is not defined in the source`);
    }

    const header = [...externLines, ...pre.lines.map((l) => l.code)];
    const dd = this.dataDirective;
    const sentinelLine = `${dd} 0x${this.sentinel.toString(16)}`;
    const trailer = [...exports.map((e) => `${dd} ${e}`), sentinelLine];
    const full = [...header, ...txt.lines.map((l) => l.code), ...trailer].join('\n');
    const r = this.run(full, base);
    if (r.ok) {
      const w = this.spec.wordSize;
      const codeLen = r.bytes.length - trailer.length * w;
      if (codeLen < 0) throw new AsmError(file, undefined, 'keystone returned fewer bytes than the symbol trailer');
      const symbols = new Map<string, bigint>();
      exports.forEach((name, i) => symbols.set(name, this.readWord(r.bytes, codeLen + i * w)));
      return { bytes: r.bytes.slice(0, codeLen), base, symbols };
    }
    throw this.locate(src, base, header, externLines.length, pre, preludeLines, txt, textLines, known, r);
  }

  /** Find the offending line by assembling prefixes of the text. */
  private locate(
    src: AsmSource,
    base: bigint,
    header: string[],
    nExterns: number,
    pre: Preprocessed,
    preludeLines: string[],
    txt: Preprocessed,
    textLines: string[],
    known: Set<string>,
    fullResult: RunResult,
  ): AsmError {
    const file = src.file;
    const dd = this.dataDirective;
    const sentinelLine = `${dd} 0x${this.sentinel.toString(16)}`;

    // 1. The header alone.
    const headerRun = this.run([...header, sentinelLine].join('\n'), base);
    if (!headerRun.ok) {
      for (let k = 1; k <= header.length; k++) {
        const r = this.run([...header.slice(0, k), sentinelLine].join('\n'), base);
        if (!r.ok) {
          if (k <= nExterns) return new AsmError(file, undefined, `extern definition '${header[k - 1]}': ${this.describe(r)}`);
          const pl = k - nExterns - 1;
          return new AsmError('<prelude>', pl + 1, `${this.describe(r)} (prelude of ${file})`, preludeLines[pl]);
        }
      }
      return new AsmError(file, undefined, this.describe(headerRun));
    }

    // 2. Prefixes of the text, cut only outside .macro/.rept/.if blocks; symbols defined
    //    after the cut are stubbed (labels at the end of the prefix, .set symbols as 0).
    const lines = txt.lines;
    const n = lines.length;
    // `extra` are candidate definitions: `.equ` lines go before the text (arm64 rejects
    // constants defined after their use in an immediate), label lines after it.
    const prefix = (k: number, extra: string[] = []): string => {
      const labelStubs: string[] = [];
      const setStubs: string[] = [];
      const definedBefore = new Set<string>();
      for (let i = 0; i < k; i++) for (const s of [...lines[i]!.labels, ...lines[i]!.sets]) definedBefore.add(s);
      for (let i = k; i < n; i++) {
        for (const l of lines[i]!.labels) if (!definedBefore.has(l)) labelStubs.push(`${l}:`);
        for (const s of lines[i]!.sets) if (!definedBefore.has(s)) setStubs.push(`.equ ${s}, 0`);
      }
      const extraSets = extra.filter((e) => e.startsWith('.equ '));
      const extraLabels = extra.filter((e) => !e.startsWith('.equ '));
      return [
        ...header,
        ...setStubs,
        ...extraSets,
        ...lines.slice(0, k).map((l) => l.code),
        ...labelStubs,
        ...extraLabels,
        sentinelLine,
      ].join('\n');
    };
    const cuts: number[] = [];
    for (let k = 0; k <= n; k++) if (k === n || lines[k]!.depthBefore === 0) cuts.push(k);
    const fails = (k: number, extra?: string[]) => {
      const r = this.run(prefix(k, extra), base);
      return r.ok ? undefined : r;
    };
    if (!fails(n)) return new AsmError(file, undefined, this.describe(fullResult));
    let lo = 0; // cuts[lo] passes
    let hi = cuts.length - 1; // cuts[hi] fails
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (fails(cuts[mid]!)) hi = mid;
      else lo = mid;
    }
    const k = cuts[hi]!;
    const failing = fails(k)!;
    const first = cuts[lo]!;
    // The unit is lines[first..k); report its last non-empty line for a single statement,
    // the opening line for a block.
    let idx = k - 1;
    if (k - first > 1) idx = first;
    while (idx > first && lines[idx]!.code.trim() === '') idx--;

    // 3. Undefined symbols: identifiers of the line that, once defined, make it assemble.
    const line = lines[idx]!;
    const heads = new Set(line.heads.map((h) => h.toLowerCase()));
    const candidates = [
      ...new Set(
        [...line.code.matchAll(/(?<![\w.$%\\])[A-Za-z_.$][\w.$]*/g)]
          .map((m) => m[0])
          .filter((t) => !known.has(t) && !heads.has(t.toLowerCase())),
      ),
    ];
    const defines = (names: string[]): boolean =>
      !fails(k, names.map((c) => `.equ ${c}, 0`)) || !fails(k, names.map((c) => `${c}:`));
    let missing = candidates.filter((c) => defines([c]));
    if (missing.length === 0 && candidates.length > 1 && defines(candidates)) {
      missing = [...candidates];
      for (const c of candidates) {
        const without = missing.filter((m) => m !== c);
        if (defines(without)) missing = without;
      }
    }
    const tag = failing.code > 0 ? ` (${codeTag(failing.code)})` : '';
    const detail =
      missing.length === 1
        ? `undefined symbol '${missing[0]}'${tag}`
        : missing.length > 1
          ? `undefined symbols ${missing.map((m) => `'${m}'`).join(', ')}${tag}`
          : this.describe(failing);
    // keystone reports a bad line inside a macro body at the macro's use: say which body
    const use = /^\s*([A-Za-z_.$][\w.$]*)/.exec(line.code)?.[1];
    const def = use === undefined ? -1 : textLines.findIndex((l) => new RegExp(`^\\s*\\.macro\\s+${use.replace(/[.$]/g, '\\$&')}\\b`).test(l));
    const where = def >= 0 ? ` (in the expansion of macro ${use}, defined at line ${def + 1})` : '';
    return new AsmError(file, idx + 1, detail + where, textLines[idx]);
  }
}

const assemblers = new Map<string, Assembler>();

/**
 * A Keystone assembler for `arch` (arch.json `assembler.arch`: x86_64, i386, arm64, arm,
 * armeb, thumb; mips/ppc/sparc/systemz/hexagon are in the table but not in this
 * keystone-wasm build). The wasm module is loaded once per process and one assembler
 * per (arch, lint) is cached and shared (assembly is synchronous).
 */
export async function createKeystoneAssembler(arch: string, options: KeystoneAssemblerOptions = {}): Promise<Assembler> {
  const key = ALIASES[arch] ?? arch;
  const spec = ARCHES[key];
  if (spec === undefined) {
    throw new Error(`keystone backend: unknown arch '${arch}' (known: ${Object.keys(ARCHES).join(', ')})`);
  }
  const lint = options.lint ?? true;
  const cacheKey = `${key}/${lint}`;
  const cached = assemblers.get(cacheKey);
  if (cached) return cached;
  const lib = await loadModule();
  if (!lib.lib.Keystone.archSupported(spec.ksArch)) {
    throw new Error(
      `keystone backend: ${keystoneVersion()} was built without '${key}' support; ` +
        `use the GNU as backend (Debian cross binutils) for this arch`,
    );
  }
  try {
    const as = new KeystoneAssembler(key, spec, lib, lint);
    assemblers.set(cacheKey, as);
    return as;
  } catch (e) {
    throw new Error(`keystone backend: cannot open '${key}': ${(e as Error).message}`);
  }
}
