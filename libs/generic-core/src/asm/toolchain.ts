// What the two subprocess backends (GNU as + ld, llvm-mc + ld.lld) share: finding and
// running tools, the private temp dir, the flat linker script, reading the linked ELF
// and turning tool diagnostics into AsmErrors that point at the source line.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, posix } from 'node:path';
import { AsmError, type AsmSource, type AssembleOptions, type AssembleResult, type Assembler } from './assembler.ts';
import { readElf, SHF_ALLOC, SHN_LORESERVE, SHN_UNDEF, STT_FILE, STT_SECTION, type ElfFile } from './elf.ts';
import { ASM_IDENT, constantLine } from './offsets.ts';
import { diskCacheDir } from './cache.ts';
import { writeFileAtomic } from '../cache-dir.ts';

export const DEFAULT_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------------------------------
// Tools

let spawns = 0;
/** Subprocesses started by the assembler backends in this process (the cache tests watch it). */
export function toolSpawnCount(): number {
  return spawns;
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Full path of `name` on $PATH (or `name` itself when it contains a slash), else undefined. */
export function findOnPath(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

export interface ToolRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs: number;
  /** Source file the AsmError for a hung or crashed tool names. */
  file: string;
  /** Error for a tool that vanished since it was found. */
  missing: () => Error;
}

export function runTool(display: string, bin: string, args: string[], o: RunOptions): ToolRun {
  spawns++;
  const r = spawnSync(bin, args, {
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    encoding: 'utf8',
    timeout: o.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
    // C locale: English messages with ASCII quotes, which the parsers below expect
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') {
      throw new AsmError(o.file, undefined, `${display} did not finish within ${o.timeoutMs / 1000} s and was killed`);
    }
    if (code === 'ENOENT') throw o.missing();
    throw new AsmError(o.file, undefined, `cannot run ${display}: ${r.error.message}`);
  }
  if (r.status === null) throw new AsmError(o.file, undefined, `${display} was killed by ${r.signal ?? 'a signal'}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const versions = new Map<string, string>();
/**
 * `bin --version` (or other args), cached per process and on disk by the binary's identity
 * (path, size, mtime, inode): a version run costs ~10 ms a tool, every process, otherwise.
 */
export function toolVersionText(bin: string, args: string[] = ['--version']): string {
  const key = `${bin}\0${args.join('\0')}`;
  let v = versions.get(key);
  if (v !== undefined) return v;
  const disk = versionCacheFile(bin, args);
  if (disk) {
    try {
      v = readFileSync(disk, 'utf8');
    } catch {
      /* not cached yet */
    }
  }
  if (v === undefined) {
    spawns++;
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: DEFAULT_TIMEOUT_MS, killSignal: 'SIGKILL', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    v = r.error || r.status !== 0 ? '' : `${r.stdout}${r.stderr}`;
    // an unwritable cache: memory only
    if (disk && v !== '') writeFileAtomic(disk, v);
  }
  versions.set(key, v);
  return v;
}

function versionCacheFile(bin: string, args: string[]): string | undefined {
  const dir = diskCacheDir('versions');
  const path = findOnPath(bin);
  if (!dir || !path) return undefined;
  try {
    const st = statSync(path);
    const id = createHash('sha256').update(JSON.stringify([path, args, st.size, st.mtimeMs, st.ino])).digest('hex').slice(0, 32);
    return join(dir, id);
  } catch {
    return undefined;
  }
}

export function hostTriple(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', ia32: 'i686-linux-gnu' }[process.arch as string];
}

// ---------------------------------------------------------------------------------------
// Diagnostics

export interface Diag {
  /** File name as the tool printed it; undefined for messages without a location. */
  file?: string;
  line?: number;
  severity: 'error' | 'warning';
  message: string;
  /** The failing line was in a macro body; this is where the macro was used. */
  macroUse?: { file: string; line: number };
  /** Text the tool showed for the failing line (llvm-mc macro instantiations). */
  shown?: string;
}

export interface LinkDiag {
  severity: 'error' | 'warning';
  message: string;
  /** Undefined symbol, or the symbol a relocation error is against. */
  symbol?: string;
  undefined?: boolean;
  /** Input section and offset the linker named, e.g. .text + 0x18. */
  at?: { section: string; offset: bigint };
}

/** The names the inputs have on disk and in the tools' messages. */
export interface InputNames {
  externs: string;
  prelude: string;
  src: string;
}

export const PRELUDE_NAME = '<prelude>';
export const EXTERNS_NAME = '<externs>';
const RESERVED = new Set([PRELUDE_NAME, EXTERNS_NAME, 'archkit-main.s']);

/**
 * On-disk name of the source: `src.file` itself when it is a plain relative path (so the
 * tools print it as is), else its last component with unusual characters replaced.
 */
export function sourceFileName(file: string): string {
  const norm = posix.normalize(file);
  const plain =
    !posix.isAbsolute(norm) &&
    !norm.split('/').some((seg) => seg === '..' || seg === '.' || seg === '') &&
    !/["\\\0\n\r]/.test(norm) &&
    !RESERVED.has(norm);
  if (plain) return norm;
  const last = (file.split('/').pop() ?? '').replace(/[^\w.+@ ()-]/g, '_');
  return last === '' || last === '.' || last === '..' || RESERVED.has(last) ? 'source.S' : last;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const WHOLE_LINE_COMMENT = /^\s*(?:#|\/\/|;|!|\||@|\*)/;

/** First line (1-based) that uses `name` (not its own definition), for linker errors. */
function findUse(lines: string[], name: string): number | undefined {
  const re = new RegExp(`(?<![\\w.$])${escapeRe(name)}(?![\\w.$])`);
  const def = new RegExp(`^\\s*(?:${escapeRe(name)}\\s*:|\\.(?:equ|set|equiv|globl|global|weak|type|size)\\s+${escapeRe(name)}(?![\\w.$]))`);
  for (let i = 0; i < lines.length; i++) {
    const code = lines[i]!.replace(/\/\*.*?\*\//g, ' ').replace(/\/\/.*$/, '');
    if (WHOLE_LINE_COMMENT.test(code)) continue;
    if (re.test(code) && !def.test(code)) return i + 1;
  }
  return undefined;
}

/** First line (1-based) that defines `name` as a label or with .equ/.set/=. */
function findDefinition(lines: string[], name: string): number | undefined {
  const n = escapeRe(name);
  const re = new RegExp(`^\\s*(?:[\\w.$]+:\\s*)*(?:${n}\\s*:(?!:)|\\.(?:equ|set|equiv)\\s+${n}\\s*,|${n}\\s*=)`);
  const i = lines.findIndex((l) => re.test(l));
  return i < 0 ? undefined : i + 1;
}

// ---------------------------------------------------------------------------------------
// Linking

/** Every allocated input section into one output section at `base`, padding zero. */
export function flatLinkerScript(base: bigint, objName: string): string {
  return [
    'SECTIONS {',
    // metadata sections that are allocated but are not part of the image
    '  /DISCARD/ : { *(.note.GNU-stack) *(.note.*) *(.comment) *(.reginfo) *(.MIPS.abiflags) *(.MIPS.options)',
    '                *(.pdr) *(.gnu.attributes) *(.eh_frame) *(.ARM.exidx*) *(.ARM.extab*) }',
    `  .flat 0x${base.toString(16)} : {`,
    '    *(.text .text.*)',
    '    *(.rodata .rodata.*)',
    '    *(.data .data.*)',
    '    *(.sdata .sdata.*)',
    '    *(.sbss .sbss.*)',
    '    *(.bss .bss.*)',
    '    *(COMMON)',
    // the object's own other sections (.entry.text, ...); naming the file keeps out ld.lld's
    // synthetic ones (.rel.dyn, .got), which cannot share a PROGBITS section
    `    INPUT_SECTION_FLAGS(SHF_ALLOC) ${objName}(*)`,
    '  } =0',
    '}',
    '',
  ].join('\n');
}

const PLACEMENT = [/^\.text(\.|$)/, /^\.rodata(\.|$)/, /^\.data(\.|$)/, /^\.sdata(\.|$)/, /^\.sbss(\.|$)/, /^\.bss(\.|$)/];

/** The object's section the flat script places first (its alignment decides the base's). */
function firstPlacedSection(obj: ElfFile): { name: string; align: number } | undefined {
  const alloc = obj.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0n && s.size > 0 && !DISCARDED.test(s.name));
  for (const re of PLACEMENT) {
    const s = alloc.find((x) => re.test(x.name));
    if (s) return { name: s.name, align: Math.max(1, s.addralign) };
  }
  const s = alloc[0];
  return s ? { name: s.name, align: Math.max(1, s.addralign) } : undefined;
}

const DISCARDED = /^\.(?:note\.|comment$|reginfo$|MIPS\.|pdr$|gnu\.attributes$|eh_frame$|ARM\.ex)/;

const MAPPING_SYMBOL = /^\$[adtx](?:$|\.|rv)/;

/** Labels of the object: section-relative symbols that are not .L locals or mapping symbols. */
function objectLabels(obj: ElfFile): string[] {
  const out: string[] = [];
  for (const s of obj.symbols) {
    if (s.shndx === SHN_UNDEF || s.shndx >= SHN_LORESERVE) continue;
    if (s.type === STT_SECTION || s.type === STT_FILE || s.name === '') continue;
    if (s.name.startsWith('.L') || /[\x01\x02]/.test(s.name) || MAPPING_SYMBOL.test(s.name)) continue;
    const sec = obj.sections[s.shndx];
    if (!sec || (sec.flags & SHF_ALLOC) === 0n) continue;
    out.push(s.name);
  }
  return out;
}

/** "label+0x8" for an offset in an input section of the object. */
function describeOffset(obj: ElfFile, section: string, offset: bigint): string {
  const sec = obj.sections.find((s) => s.name === section);
  let best: { name: string; value: bigint } | undefined;
  if (sec) {
    for (const s of obj.symbols) {
      if (s.shndx !== sec.index || s.type === STT_SECTION || s.name === '' || MAPPING_SYMBOL.test(s.name)) continue;
      if (s.value <= offset && (best === undefined || s.value > best.value || (s.value === best.value && best.name.startsWith('.L')))) best = s;
    }
  }
  const [name, d] = best ? [best.name, offset - best.value] : [section, offset];
  return d === 0n ? name : `${name}+0x${d.toString(16)}`;
}

// ---------------------------------------------------------------------------------------
// The shared flow

export interface ToolchainConfig {
  target: string;
  flags: string[];
  timeoutMs: number;
}

export abstract class LinkedAssembler implements Assembler {
  abstract readonly name: string;
  /** Everything besides the input that decides the output (tool versions, flags). */
  abstract readonly identity: string;

  constructor(protected readonly cfg: ToolchainConfig) {}

  /** Assemble the inputs in `inDir` to `objPath`; the diagnostics with file names as given. */
  protected abstract compile(inDir: string, names: InputNames, objPath: string, file: string): { ok: boolean; diags: Diag[]; raw: string };
  /** Link `asm.o` in `outDir` with `flat.ld` to `out.elf`. */
  protected abstract link(outDir: string, obj: ElfFile, base: bigint, file: string): { ok: boolean; diags: LinkDiag[]; raw: string };
  protected abstract readonly asDisplay: string;
  protected abstract readonly ldDisplay: string;

  assemble(src: AsmSource, opts: AssembleOptions): AssembleResult {
    const file = src.file;
    const base = opts.base;
    if (base < 0n || base >= 1n << 64n) throw new AsmError(file, undefined, `base address ${base} is out of range`);
    const externs = opts.externs ?? {};
    const externLines: string[] = [];
    for (const [name, value] of Object.entries(externs)) {
      if (!ASM_IDENT.test(name)) throw new AsmError(file, undefined, `extern name ${JSON.stringify(name)} is not a valid symbol`);
      // .equiv: a label of the same name is then an error, not a silent redefinition
      externLines.push(constantLine(name, value).replace(/^\.equ /, '.equiv '));
    }
    const textLines = src.text.split(/\r?\n/);
    const prelude = src.prelude ?? '';
    const preludeLines = prelude.replace(/\n$/, '').split(/\r?\n/);
    const names: InputNames = { externs: EXTERNS_NAME, prelude: PRELUDE_NAME, src: sourceFileName(file) };
    const ctx: ErrCtx = { file, names, textLines, preludeLines, externLines };

    const dir = mkdtempSync(join(tmpdir(), 'archkit-asm-'));
    try {
      const inDir = join(dir, 'in');
      const outDir = join(dir, 'out');
      mkdirSync(outDir);
      mkdirSync(join(inDir, posix.dirname(names.src)), { recursive: true });
      const withNl = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);
      writeFileSync(join(inDir, names.externs), externLines.map((l) => `${l}\n`).join(''));
      writeFileSync(join(inDir, names.prelude), withNl(prelude));
      writeFileSync(join(inDir, names.src), withNl(src.text));

      const c = this.compile(inDir, names, join(outDir, 'asm.o'), file);
      const bad = c.diags.find((d) => d.severity === 'error') ?? c.diags.find((d) => d.severity === 'warning');
      if (bad) throw diagError(bad, c.diags, ctx);
      if (!c.ok) throw new AsmError(file, undefined, `${this.asDisplay} failed: ${firstLines(c.raw)}`);

      const obj = readElf(readFileSync(join(outDir, 'asm.o')));
      if (obj.bits === 32 && base >= 1n << 32n) {
        throw new AsmError(file, undefined, `base address 0x${base.toString(16)} does not fit a 32-bit target`);
      }
      const first = firstPlacedSection(obj);
      if (first && base % BigInt(first.align) !== 0n) {
        throw new AsmError(
          file,
          undefined,
          `base 0x${base.toString(16)} is not a multiple of ${first.align}, the alignment of ${first.name}, the image's first section ` +
            `(the linker would start the image with padding): use an aligned base`,
        );
      }
      writeFileSync(join(outDir, 'flat.ld'), flatLinkerScript(base, 'asm.o'));
      const l = this.link(outDir, obj, base, file);
      const lbad = l.diags.find((d) => d.severity === 'error') ?? l.diags.find((d) => d.severity === 'warning');
      if (lbad) throw linkError(lbad, l.diags, obj, ctx, this.ldDisplay);
      if (!l.ok) throw new AsmError(file, undefined, `${this.ldDisplay} failed: ${firstLines(l.raw)}`);

      const exe = readElf(readFileSync(join(outDir, 'out.elf')));
      return extractImage(exe, objectLabels(obj), base, opts.exports, file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function firstLines(s: string, n = 6): string {
  const lines = s.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.length === 0 ? '(no output)' : lines.slice(0, n).join('; ') + (lines.length > n ? ' ...' : '');
}

function extractImage(exe: ElfFile, labels: string[], base: bigint, exports: string[] | undefined, file: string): AssembleResult {
  const flat = exe.section('.flat');
  let bytes = new Uint8Array(0);
  if (flat) {
    const data = exe.data(flat);
    if (flat.addr < base) throw new AsmError(file, undefined, `the linker placed the image at 0x${flat.addr.toString(16)}, below the base`);
    const pad = Number(flat.addr - base);
    bytes = new Uint8Array(pad + data.length);
    bytes.set(data, pad);
  }
  const values = new Map<string, bigint>();
  for (const s of exe.symbols) {
    if (s.shndx === SHN_UNDEF || s.type === STT_SECTION || s.type === STT_FILE || s.name === '') continue;
    if (!values.has(s.name)) values.set(s.name, s.value);
  }
  const symbols = new Map<string, bigint>();
  for (const name of exports ?? labels) {
    const v = values.get(name);
    if (v === undefined) {
      if (exports) throw new AsmError(file, undefined, `exported symbol '${name}' is not defined in the source`);
      continue;
    }
    symbols.set(name, v);
  }
  return { bytes, base, symbols };
}

interface ErrCtx {
  file: string;
  names: InputNames;
  textLines: string[];
  preludeLines: string[];
  externLines: string[];
}

function where(ctx: ErrCtx, printed: string | undefined): 'src' | 'prelude' | 'externs' | undefined {
  if (printed === ctx.names.src) return 'src';
  if (printed === ctx.names.prelude) return 'prelude';
  if (printed === ctx.names.externs) return 'externs';
  return undefined;
}

function warningMessage(e: AsmError): AsmError {
  // a warning fails the build like an error, but says what it was
  e.message = e.message.replace(': assembler error: ', ': assembler warning (treated as an error): ');
  return e;
}

function located(ctx: ErrCtx, kind: 'src' | 'prelude' | 'externs' | undefined, line: number | undefined, detail: string): AsmError {
  if (kind === 'src') return new AsmError(ctx.file, line, detail, line !== undefined ? ctx.textLines[line - 1] : undefined);
  if (kind === 'prelude') {
    return new AsmError(PRELUDE_NAME, line, `${detail} (prelude of ${ctx.file})`, line !== undefined ? ctx.preludeLines[line - 1] : undefined);
  }
  if (kind === 'externs' && line !== undefined && ctx.externLines[line - 1] !== undefined) {
    return new AsmError(ctx.file, undefined, `extern definition '${ctx.externLines[line - 1]}': ${detail}`);
  }
  return new AsmError(ctx.file, line, detail);
}

function shortLoc(ctx: ErrCtx, d: Diag): string {
  const kind = where(ctx, d.file);
  const f = kind === 'src' ? ctx.file : kind === 'prelude' ? PRELUDE_NAME : (d.file ?? '');
  return `${f}${d.line !== undefined ? `:${d.line}` : ''}: ${d.message}`;
}

function diagError(d: Diag, all: Diag[], ctx: ErrCtx): AsmError {
  let kind = where(ctx, d.file);
  let line = d.line;
  let detail = d.message;
  if (d.macroUse) {
    const useKind = where(ctx, d.macroUse.file);
    if (kind === undefined) {
      // llvm-mc: the failing line is in "<instantiation>": report the use, show the line
      kind = useKind;
      line = d.macroUse.line;
      detail += ` (in a macro expansion${d.shown !== undefined ? `: '${d.shown.trim()}'` : ''})`;
    } else if (useKind !== undefined) {
      const useFile = useKind === 'src' ? 'line' : `${PRELUDE_NAME} line`;
      detail += ` (in the expansion of the macro used at ${useFile} ${d.macroUse.line})`;
    }
  }
  const clash = /symbol [`'](.+?)' is already defined/.exec(detail)?.[1];
  if (clash !== undefined) {
    if (ctx.externLines.some((l) => l.startsWith(`.equiv ${clash},`))) detail += ' (it is also given as an extern)';
    // llvm-mc on MIPS gives no location for this one: the source's definition is the culprit
    if (line === undefined) {
      const at = findDefinition(ctx.textLines, clash);
      if (at !== undefined) [kind, line] = ['src', at];
    }
  }
  const rest = all.filter((x) => x !== d && (x.severity === 'error' || x.severity === 'warning'));
  if (rest.length > 0) {
    const shown = rest.slice(0, 3).map((x) => shortLoc(ctx, x));
    detail += ` [${rest.length} more: ${shown.join('; ')}${rest.length > 3 ? '; ...' : ''}]`;
  }
  const e = located(ctx, kind, line, detail);
  return d.severity === 'warning' ? warningMessage(e) : e;
}

function linkError(d: LinkDiag, all: LinkDiag[], obj: ElfFile, ctx: ErrCtx, ld: string): AsmError {
  const at = d.at ? ` (at ${describeOffset(obj, d.at.section, d.at.offset)})` : '';
  if (d.undefined && d.symbol !== undefined) {
    const sym = d.symbol;
    const others = [...new Set(all.filter((x) => x.undefined && x.symbol !== sym).map((x) => x.symbol!))];
    const more = others.length > 0 ? `; also undefined: ${others.map((o) => `'${o}'`).join(', ')}` : '';
    const detail = `undefined symbol '${sym}'${at}: not a label or constant of the source, the prelude or the externs${more}`;
    const inText = findUse(ctx.textLines, sym);
    if (inText !== undefined) return located(ctx, 'src', inText, detail);
    const inPrelude = findUse(ctx.preludeLines, sym);
    if (inPrelude !== undefined) return located(ctx, 'prelude', inPrelude, detail);
    return new AsmError(ctx.file, undefined, detail);
  }
  const detail = `${d.severity === 'warning' ? 'linker warning' : 'linker error'} from ${ld}: ${d.message}${at}`;
  let line: number | undefined;
  if (d.symbol !== undefined) {
    // only a symbol used once pins the line down
    const uses = ctx.textLines.filter((_, i) => findUse([ctx.textLines[i]!], d.symbol!) !== undefined).length;
    if (uses === 1) line = findUse(ctx.textLines, d.symbol);
  }
  return located(ctx, 'src', line, detail);
}
