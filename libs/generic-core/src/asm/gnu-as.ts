// GNU as backend: Debian's cross binutils (`<triple>-as`, `<triple>-ld`), the assembler the
// kernel itself is built with. One `as` call takes the externs, the prelude and the source
// as one stream (three files, so each message names its own file and line), `ld` links the
// object at the base address with a flat linker script, and the linked ELF is read here.
//
// Checked on binutils 2.40 (Debian bookworm):
// * `-g` on MIPS is not debug info (it is an optimisation level); not used.
// * GNU ld takes its output format from its default emulation, not from the object: an
//   object from `sparc64-linux-gnu-as -32` needs `-m elf32_sparc`. The emulation is chosen
//   here from the object's ELF header.
// * ld 2.39+ warns about RWX segments and a missing .note.GNU-stack; both are expected for
//   a flat code+data image and are switched off so the remaining warnings mean something.

import { AsmToolchainError, type Assembler } from './assembler.ts';
import type { ElfFile } from './elf.ts';
import {
  DEFAULT_TIMEOUT_MS,
  findOnPath,
  hostTriple,
  LinkedAssembler,
  runTool,
  toolVersionText,
  type Diag,
  type InputNames,
  type LinkDiag,
} from './toolchain.ts';

export interface GnuAsOptions {
  /** Extra `as` flags (e.g. `-32` for 32-bit SPARC from sparc64-linux-gnu). */
  flags?: string[];
  /** Debian package named when the tools are missing (default binutils-<triple>). */
  package?: string;
  /** Binary names or paths, for unusual installs (default `<triple>-as`, `<triple>-ld`). */
  as?: string;
  ld?: string;
  /** Per tool call; default 20 s. */
  timeoutMs?: number;
}

/** Debian's cross binutils package for a triple (package names have no '_'). */
export function gnuAsPackage(triple: string): string {
  return `binutils-${triple.replace(/_/g, '-')}`;
}

interface Resolved {
  asName: string;
  ldName: string;
  asBin?: string;
  ldBin?: string;
  pkg: string;
}

function resolveTools(triple: string, o: GnuAsOptions): Resolved {
  const pkg = o.package ?? gnuAsPackage(triple);
  const asName = o.as ?? `${triple}-as`;
  const ldName = o.ld ?? `${triple}-ld`;
  let asBin = findOnPath(asName);
  let ldBin = findOnPath(ldName);
  // the host's own binutils may be installed without the triple-prefixed names
  if (o.as === undefined && asBin === undefined && triple === hostTriple()) asBin = findOnPath('as');
  if (o.ld === undefined && ldBin === undefined && triple === hostTriple()) ldBin = findOnPath('ld');
  return { asName, ldName, ...(asBin ? { asBin } : {}), ...(ldBin ? { ldBin } : {}), pkg };
}

function versionOf(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return /(\d+\.\d+(?:\.\d+)*)\s*$/.exec(first)?.[1] ?? (first.trim() || 'unknown version');
}

function display(version: string, triple: string, flags: string[]): string {
  return `GNU as ${version} (${[triple, ...flags].join(' ')})`;
}

/** Display name with the installed version, e.g. "GNU as 2.40 (mips-linux-gnu)". */
export function describeGnuAs(triple: string, o: GnuAsOptions = {}): string {
  const r = resolveTools(triple, o);
  const flags = o.flags ?? [];
  if (r.asBin === undefined) return `GNU as (${[triple, ...flags].join(' ')}): not installed (apt-get install ${r.pkg})`;
  return display(versionOf(toolVersionText(r.asBin)), triple, flags);
}

/** GNU ld emulation for an object (ld does not pick it from the input). */
function ldEmulation(obj: ElfFile): string | undefined {
  const be = obj.endian === 'big';
  const b64 = obj.bits === 64;
  switch (obj.machine) {
    case 2: // EM_SPARC
    case 18: // EM_SPARC32PLUS
      return 'elf32_sparc';
    case 43: // EM_SPARCV9
      return b64 ? 'elf64_sparc' : 'elf32_sparc';
    case 3: // EM_386
      return 'elf_i386';
    case 62: // EM_X86_64
      return b64 ? 'elf_x86_64' : 'elf32_x86_64';
    case 8: // EM_MIPS; EF_MIPS_ABI2 (0x20) marks n32
      if (b64) return be ? 'elf64btsmip' : 'elf64ltsmip';
      if ((obj.flags & 0x20) !== 0) return be ? 'elf32btsmipn32' : 'elf32ltsmipn32';
      return be ? 'elf32btsmip' : 'elf32ltsmip';
    case 20: // EM_PPC
      return be ? 'elf32ppclinux' : 'elf32lppclinux';
    case 21: // EM_PPC64
      return be ? 'elf64ppc' : 'elf64lppc';
    case 22: // EM_S390
      return b64 ? 'elf64_s390' : 'elf_s390';
    case 243: // EM_RISCV
      return `elf${b64 ? 64 : 32}${be ? 'b' : 'l'}riscv`;
    case 40: // EM_ARM
      return be ? 'armelfb_linux_eabi' : 'armelf_linux_eabi';
    case 183: // EM_AARCH64
      return be ? 'aarch64linuxb' : 'aarch64linux';
    case 4: // EM_68K
      return 'm68kelf';
    default:
      return undefined;
  }
}

function supportedEmulations(ldBin: string): Set<string> {
  const text = toolVersionText(ldBin, ['-V']);
  const i = text.indexOf('Supported emulations:');
  return new Set(i < 0 ? [] : text.slice(i).split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== ''));
}

/** `file:line: Error|Warning|Info: message` lines of GNU as, with the file names we gave it. */
export function parseGasDiagnostics(stderr: string, names: InputNames): Diag[] {
  const known = [names.src, names.prelude, names.externs];
  const diags: Diag[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || /: Assembler messages:$/.test(line)) continue;
    const name = known.find((n) => line.startsWith(`${n}:`));
    const m = name !== undefined ? /^(\d+):\s*(Error|Warning|Info):\s?(.*)$/.exec(line.slice(name.length + 1)) : null;
    if (name !== undefined && m) {
      const [, ln, kind, msg] = m;
      if (kind === 'Info') {
        const last = diags[diags.length - 1];
        if (last && /macro invoked from here/.test(msg!) && last.macroUse === undefined) {
          last.macroUse = { file: name, line: Number(ln) };
        }
        continue;
      }
      diags.push({ file: name, line: Number(ln), severity: kind === 'Warning' ? 'warning' : 'error', message: msg!.trim() });
      continue;
    }
    // messages without a location: bad options, unreadable input, ...
    const g = /^(?:.*?: )?(Error|Warning|Fatal error|fatal error): ?(.*)$/.exec(line);
    if (g) diags.push({ severity: /warning/i.test(g[1]!) ? 'warning' : 'error', message: g[2]!.trim() || line });
    else diags.push({ severity: 'error', message: line.trim() });
  }
  return diags;
}

/** GNU ld's messages: undefined references and relocation errors with their section offset. */
export function parseGnuLdDiagnostics(output: string, ldBin: string, ldName: string): LinkDiag[] {
  const diags: LinkDiag[] = [];
  const prefixes = [`${ldBin}: `, `${ldName}: `, `${ldName.split('/').pop()}: `];
  for (const raw of output.split('\n')) {
    let line = raw.trim();
    if (line === '') continue;
    for (const p of prefixes) if (line.startsWith(p)) line = line.slice(p.length);
    if (/^asm\.o: in function /.test(line) || /final link failed|some errors? (?:occurred|were)/i.test(line)) continue;
    let at: LinkDiag['at'];
    const loc = /^(?:asm\.o:)?\(([^()+\s]+)\+0x([0-9a-fA-F]+)\): (.*)$/.exec(line);
    if (loc) {
      at = { section: loc[1]!, offset: BigInt(`0x${loc[2]}`) };
      line = loc[3]!;
    }
    const warn = /^warning: (.*)$/i.exec(line);
    const und = /^undefined reference to [`'](.+)'$/.exec(line);
    const against = /against (?:symbol )?[`'](.+?)'/.exec(line);
    diags.push({
      severity: warn ? 'warning' : 'error',
      message: warn ? warn[1]! : line,
      ...(und ? { symbol: und[1]!, undefined: true } : against ? { symbol: against[1]! } : {}),
      ...(at ? { at } : {}),
    });
  }
  return diags;
}

class GnuAsAssembler extends LinkedAssembler {
  readonly name: string;
  readonly identity: string;
  protected readonly asDisplay: string;
  protected readonly ldDisplay: string;

  constructor(
    triple: string,
    flags: string[],
    timeoutMs: number,
    private readonly tools: Required<Resolved>,
  ) {
    super({ target: triple, flags, timeoutMs });
    this.name = display(versionOf(toolVersionText(tools.asBin)), triple, flags);
    // `ld -V`: the version line and the emulations, probed once here rather than mid-assemble
    this.identity = `${this.name} | ${toolVersionText(tools.ldBin, ['-V']).split('\n')[0]} | ${flags.join(' ')}`;
    this.asDisplay = tools.asName;
    this.ldDisplay = tools.ldName;
  }

  private missing(which: 'as' | 'ld'): () => AsmToolchainError {
    const name = which === 'as' ? this.tools.asName : this.tools.ldName;
    return () => new AsmToolchainError(name, this.tools.pkg, `the gnu-as assembler backend needs it for ${this.cfg.target}`);
  }

  protected compile(inDir: string, names: InputNames, objPath: string, file: string) {
    const args = [...this.cfg.flags, '-o', objPath, names.externs, names.prelude, names.src];
    const r = runTool(this.tools.asName, this.tools.asBin, args, { cwd: inDir, timeoutMs: this.cfg.timeoutMs, file, missing: this.missing('as') });
    return { ok: r.status === 0, diags: parseGasDiagnostics(r.stderr, names), raw: r.stderr + r.stdout };
  }

  protected link(outDir: string, obj: ElfFile, base: bigint, file: string) {
    const emul = ldEmulation(obj);
    const args = [
      ...(emul !== undefined && supportedEmulations(this.tools.ldBin).has(emul) ? ['-m', emul] : []),
      '-N', // no page alignment, no headers in the image
      '-e', `0x${base.toString(16)}`,
      '--no-warn-rwx-segments',
      '-z', 'noexecstack',
      '-T', 'flat.ld',
      '-o', 'out.elf',
      'asm.o',
    ];
    const r = runTool(this.tools.ldName, this.tools.ldBin, args, { cwd: outDir, timeoutMs: this.cfg.timeoutMs, file, missing: this.missing('ld') });
    const out = `${r.stderr}\n${r.stdout}`;
    return { ok: r.status === 0, diags: parseGnuLdDiagnostics(out, this.tools.ldBin, this.tools.ldName), raw: out };
  }
}

/**
 * A GNU as backend for a binutils triple (`mips-linux-gnu`, `riscv64-linux-gnu`, ...).
 * Throws AsmToolchainError when `<triple>-as` or `<triple>-ld` is not on PATH.
 */
export async function createGnuAsAssembler(triple: string, o: GnuAsOptions = {}): Promise<Assembler> {
  const r = resolveTools(triple, o);
  const purpose = `the gnu-as assembler backend needs it for ${triple}`;
  if (r.asBin === undefined) throw new AsmToolchainError(r.asName, r.pkg, purpose);
  if (r.ldBin === undefined) throw new AsmToolchainError(r.ldName, r.pkg, purpose);
  return new GnuAsAssembler(triple, o.flags ?? [], o.timeoutMs ?? DEFAULT_TIMEOUT_MS, { ...r, asBin: r.asBin, ldBin: r.ldBin });
}
