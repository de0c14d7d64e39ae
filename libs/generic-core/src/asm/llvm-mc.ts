// llvm-mc backend: `llvm-mc-19 -triple=<t> -filetype=obj` + `ld.lld-19` (Debian packages
// llvm-19 and lld-19), one binary pair for every LLVM target. Same flow as GNU as.
//
// llvm-mc takes a single input file, so a small main file `.include`s the externs, the
// prelude and the source: each keeps its own name and line numbers in the messages
// (`libs/arch-x/src/entry.S:12:3: error: ...`), with no line arithmetic. A line inside a
// macro body is reported at `<instantiation>:N:C` plus a "while in macro instantiation"
// note at the use; the use is what is reported here.
//
// Defaults differ from GNU as. riscv64: llvm-mc has no extensions and no linker
// relaxation unless given; `-mattr=+m,+a,+f,+d,+relax` gives the bytes of Debian's
// riscv64-linux-gnu-as default (rv64imafd, no compressed instructions), add `+c` for its
// `-march=rv64gc`. MIPS `.set reorder` fills delay slots with nops only, where GNU as may
// move an instruction into the slot. ld.lld 19 links no 32-bit SPARC and no m68k.

import { AsmToolchainError, type Assembler } from './assembler.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_TIMEOUT_MS,
  findOnPath,
  LinkedAssembler,
  runTool,
  toolVersionText,
  type Diag,
  type InputNames,
  type LinkDiag,
} from './toolchain.ts';

export const LLVM_MC = 'llvm-mc-19';
export const LD_LLD = 'ld.lld-19';
export const LLVM_MC_PACKAGE = 'llvm-19';
export const LLD_PACKAGE = 'lld-19';
const MAIN = 'archkit-main.s';

export interface LlvmMcOptions {
  /** Extra llvm-mc flags (`-mattr=+c`, `-mcpu=mips32r2`, ...). */
  flags?: string[];
  /** Debian package named when llvm-mc is missing (default llvm-19). */
  package?: string;
  /** Binary names or paths (default llvm-mc-19, ld.lld-19). */
  mc?: string;
  lld?: string;
  /** Per tool call; default 20 s. */
  timeoutMs?: number;
}

function versionOf(text: string): string {
  return /LLVM version (\S+)/.exec(text)?.[1] ?? (text.split('\n')[0]?.trim() || 'unknown version');
}

function display(version: string, triple: string, flags: string[]): string {
  return `llvm-mc ${version} (${[triple, ...flags].join(' ')})`;
}

/** Display name with the installed version, e.g. "llvm-mc 19.1.7 (riscv64)". */
export function describeLlvmMc(triple: string, o: LlvmMcOptions = {}): string {
  const name = o.mc ?? LLVM_MC;
  const bin = findOnPath(name);
  const flags = o.flags ?? [];
  if (bin === undefined) return `llvm-mc (${[triple, ...flags].join(' ')}): not installed (apt-get install ${o.package ?? LLVM_MC_PACKAGE})`;
  return display(versionOf(toolVersionText(bin)), triple, flags);
}

const DIAG = /^(\d+)(?::(\d+))?: (error|warning|note|remark): (.*)$/;

/** llvm-mc's `file:line:col: error: msg`, its source echo and caret, and macro notes. */
export function parseLlvmMcDiagnostics(stderr: string, names: InputNames): Diag[] {
  const known = [names.src, names.prelude, names.externs, '<instantiation>', '<unknown>', MAIN];
  const diags: Diag[] = [];
  let last: Diag | undefined; // the last error/warning, for notes
  let echo: Diag | undefined; // the diagnostic whose source echo comes next
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^Included from .*:\d+:$/.test(line)) continue;
    let name = known.find((n) => line.startsWith(`${n}:`) && DIAG.test(line.slice(n.length + 1)));
    let m = name !== undefined ? DIAG.exec(line.slice(name.length + 1)) : null;
    if (!m) {
      const g = /^(.*?):(\d+(?::\d+)?: (?:error|warning|note|remark): .*)$/.exec(line);
      if (g) {
        name = g[1]!;
        m = DIAG.exec(g[2]!);
      }
    }
    if (name !== undefined && m) {
      const [, ln, , kind, msg] = m;
      const file = name === '<unknown>' ? undefined : name;
      const lineNo = Number(ln) > 0 ? Number(ln) : undefined;
      if (kind === 'note' || kind === 'remark') {
        if (last && last.macroUse === undefined && file !== undefined && /macro instantiation/.test(msg!) && file !== '<instantiation>') {
          last.macroUse = { file, line: lineNo ?? 0 };
        }
        echo = { severity: 'error', message: '' }; // swallows the note's echo and caret
        continue;
      }
      const d: Diag = { severity: kind === 'warning' ? 'warning' : 'error', message: msg!.trim() };
      if (file !== undefined) d.file = file;
      if (lineNo !== undefined) d.line = lineNo;
      diags.push(d);
      last = d;
      echo = d;
      continue;
    }
    if (echo !== undefined) {
      if (echo.shown === undefined && !/^\s*\^/.test(line)) echo.shown = line;
      else echo = undefined;
      continue;
    }
    if (line.trim() === '' || /^\s*\^/.test(line)) continue;
    const g = /^(?:\S+: )?(error|warning): (.*)$/.exec(line);
    const d: Diag = g ? { severity: g[1] === 'warning' ? 'warning' : 'error', message: g[2]!.trim() } : { severity: 'error', message: line.trim() };
    diags.push(d);
    last = d;
  }
  return diags;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An error at `<instantiation>:N` of macro M used at `file:U` moves to the body line
 * (`.macro M` line + N) when that line matches the echoed expansion, as GNU as reports it.
 */
export function mapMacroLines(diags: Diag[], files: Map<string, string[]>): void {
  for (const d of diags) {
    if (d.file !== '<instantiation>' || d.line === undefined || !d.macroUse || d.shown === undefined) continue;
    const lines = files.get(d.macroUse.file);
    const use = lines?.[d.macroUse.line - 1];
    if (!lines || use === undefined) continue;
    const name = /^\s*(?:[\w.$]+:\s*)?([A-Za-z_.$][\w.$]*)/.exec(use)?.[1];
    if (name === undefined) continue;
    const def = lines.findIndex((l) => new RegExp(`^\\s*\\.macro\\s+${escapeRe(name)}(?![\\w.$])`).test(l));
    const body = lines[def + d.line];
    if (def < 0 || body === undefined) continue;
    // macro arguments (\x, \()) stand for any text in the expansion
    const pattern = body.trim().split(/\\(?:\(\)|[\w.$]+)/).map(escapeRe).join('.*?');
    if (!new RegExp(`^${pattern}$`).test(d.shown.trim())) continue;
    d.file = d.macroUse.file;
    d.line = def + d.line + 1;
  }
}

/** ld.lld's `error: undefined symbol: x` with `>>> referenced by asm.o:(.text+0x4)` lines. */
export function parseLldDiagnostics(output: string): LinkDiag[] {
  const diags: LinkDiag[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const ref = /^>>> referenced by (?:\S+:)?\(([^()+\s]+)\+0x([0-9a-fA-F]+)\)/.exec(line);
    if (ref) {
      const lastDiag = diags[diags.length - 1];
      if (lastDiag && lastDiag.at === undefined) lastDiag.at = { section: ref[1]!, offset: BigInt(`0x${ref[2]}`) };
      continue;
    }
    if (line.startsWith('>>>')) continue;
    const m = /^(?:\S+: )?(error|warning): (.*)$/.exec(line);
    let msg = m ? m[2]! : line;
    let at: LinkDiag['at'];
    const loc = /^(?:asm\.o:)?\(([^()+\s]+)\+0x([0-9a-fA-F]+)\): (.*)$/.exec(msg);
    if (loc) {
      at = { section: loc[1]!, offset: BigInt(`0x${loc[2]}`) };
      msg = loc[3]!;
    }
    if (/^too many errors emitted/.test(msg)) continue;
    const und = /^undefined symbol: (.+)$/.exec(msg);
    const against = /(?:against symbol|references) '?([^'\s]+)'?/.exec(msg);
    diags.push({
      severity: m?.[1] === 'warning' ? 'warning' : 'error',
      message: msg,
      ...(und ? { symbol: und[1]!, undefined: true } : against ? { symbol: against[1]! } : {}),
      ...(at ? { at } : {}),
    });
  }
  return diags;
}

class LlvmMcAssembler extends LinkedAssembler {
  readonly name: string;
  readonly identity: string;
  protected readonly asDisplay: string;
  protected readonly ldDisplay: string;

  constructor(
    triple: string,
    flags: string[],
    timeoutMs: number,
    private readonly mc: { name: string; bin: string; pkg: string },
    private readonly lld: { name: string; bin: string; pkg: string },
  ) {
    super({ target: triple, flags, timeoutMs });
    this.name = display(versionOf(toolVersionText(mc.bin)), triple, flags);
    this.identity = `${this.name} | ${toolVersionText(lld.bin).split('\n')[0]} | ${flags.join(' ')}`;
    this.asDisplay = mc.name;
    this.ldDisplay = lld.name;
  }

  private missing(t: { name: string; pkg: string }): () => AsmToolchainError {
    return () => new AsmToolchainError(t.name, t.pkg, `the llvm-mc assembler backend needs it for ${this.cfg.target}`);
  }

  protected compile(inDir: string, names: InputNames, objPath: string, file: string) {
    const inc = (n: string) => `.include "${n}"\n`;
    writeFileSync(join(inDir, MAIN), inc(names.externs) + inc(names.prelude) + inc(names.src));
    const args = [`-triple=${this.cfg.target}`, '-filetype=obj', ...this.cfg.flags, '-o', objPath, MAIN];
    const r = runTool(this.mc.name, this.mc.bin, args, { cwd: inDir, timeoutMs: this.cfg.timeoutMs, file, missing: this.missing(this.mc) });
    const diags = parseLlvmMcDiagnostics(r.stderr, names);
    if (diags.some((d) => d.file === '<instantiation>')) {
      const read = (n: string) => readFileSync(join(inDir, n), 'utf8').split(/\r?\n/);
      mapMacroLines(diags, new Map([names.src, names.prelude].map((n) => [n, read(n)])));
    }
    return { ok: r.status === 0, diags, raw: r.stderr + r.stdout };
  }

  protected link(outDir: string, _obj: unknown, base: bigint, file: string) {
    // ld.lld takes the output format from the object, so no emulation is needed
    const args = ['-N', '-e', `0x${base.toString(16)}`, '-T', 'flat.ld', '-o', 'out.elf', 'asm.o'];
    const r = runTool(this.lld.name, this.lld.bin, args, { cwd: outDir, timeoutMs: this.cfg.timeoutMs, file, missing: this.missing(this.lld) });
    const out = `${r.stderr}\n${r.stdout}`;
    const diags = parseLldDiagnostics(out);
    for (const d of diags) {
      // ld.lld 19 links no 32-bit SPARC and no m68k objects
      if (/unsupported e_machine/.test(d.message)) {
        d.message += `: ${this.lld.name} cannot link ${this.cfg.target} objects; use the gnu-as backend (Debian cross binutils) for this target`;
      }
    }
    return { ok: r.status === 0, diags, raw: out };
  }
}

/**
 * An llvm-mc backend for an LLVM triple (`riscv64`, `mips`, `powerpc64`, `sparc`, `m68k`,
 * `s390x`, ...). Throws AsmToolchainError when llvm-mc-19 or ld.lld-19 is not on PATH.
 */
export async function createLlvmMcAssembler(triple: string, o: LlvmMcOptions = {}): Promise<Assembler> {
  const mc = { name: o.mc ?? LLVM_MC, pkg: o.package ?? LLVM_MC_PACKAGE };
  const lld = { name: o.lld ?? LD_LLD, pkg: LLD_PACKAGE };
  const purpose = `the llvm-mc assembler backend needs it for ${triple}`;
  const mcBin = findOnPath(mc.name);
  if (mcBin === undefined) throw new AsmToolchainError(mc.name, mc.pkg, purpose);
  const lldBin = findOnPath(lld.name);
  if (lldBin === undefined) throw new AsmToolchainError(lld.name, lld.pkg, purpose);
  return new LlvmMcAssembler(triple, o.flags ?? [], o.timeoutMs ?? DEFAULT_TIMEOUT_MS, { ...mc, bin: mcBin }, { ...lld, bin: lldBin });
}
