// Compiling the oracle programs with the system gcc, cached by content hash.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OracleProgram, type OracleSources, OracleError } from './programs.ts';
import { runProcess } from './process.ts';
import { cacheDir } from '@archkit/generic-core/cache-dir';

/** The flags every program is built with (non-PIE: the programs' asm uses absolute symbols). */
export const BASE_CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-fno-pie', '-no-pie'];

/** Per oracle arch: the flags that select it. */
export const ARCH_CFLAGS: Record<string, string[]> = {
  x86_64: ['-m64'],
  i386: ['-m32'],
};

export interface Toolchain {
  gcc: string;
  /** `gcc -dumpfullversion` and the target triple; part of the cache key */
  version: string;
  arch: string;
  archFlags: string[];
}

/** $ARCHKIT_CACHE_DIR/oracle, else $XDG_CACHE_HOME/archkit/oracle, else ~/.cache/archkit/oracle. */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  return cacheDir('oracle', env) ?? join(tmpdir(), 'archkit-oracle');
}

const MULTILIB_HINT =
  'install the Debian package gcc-multilib (sudo apt-get install gcc-multilib; it conflicts with the gcc-*-linux-gnu cross compilers), ' +
  'or pass an i686 compiler (gcc: i686-linux-gnu-gcc)';

/**
 * Finds gcc and checks it can build and link for arch. Throws OracleError with what to
 * install when it cannot.
 */
export async function probeToolchain(arch: string, gcc = 'gcc', includeDir?: string): Promise<Toolchain> {
  const archFlags = ARCH_CFLAGS[arch];
  if (!archFlags) throw new OracleError(`no compiler flags for arch "${arch}"`);
  const v = await runProcess(gcc, ['-dumpfullversion', '-dumpversion'], { timeoutMs: 20_000 });
  if (v.spawnError) {
    throw new OracleError(
      `cannot run ${gcc} (${v.spawnError}): the oracle compiles its C programs with the system gcc; install it: sudo apt-get install gcc` +
        (arch === 'i386' ? ' gcc-multilib' : ''),
    );
  }
  if (v.code !== 0) throw new OracleError(`${gcc} -dumpfullversion failed: ${v.stderr.trim() || `exit ${v.code}`}`);
  const m = await runProcess(gcc, ['-dumpmachine'], { timeoutMs: 20_000 });
  const version = `${gcc} ${v.stdout.trim()} ${m.stdout.trim()}`;

  // Can it build and link a program for arch, with the headers the programs use? (-m32
  // without gcc-multilib fails on the headers or the crt files.)
  const dir = mkdtempSync(join(tmpdir(), 'archkit-oracle-probe-'));
  try {
    const src = join(dir, 'probe.c');
    const inc = includeDir && existsSync(join(includeDir, 'oracle.h')) ? ['-I', includeDir] : [];
    writeFileSync(
      src,
      `${inc.length ? '#include "oracle.h"\n' : ''}#include <errno.h>\n#include <signal.h>\n#include <stdio.h>\n#include <sys/ptrace.h>\n` +
        'int main(void) { puts("ok"); return 0; }\n',
    );
    const r = await runProcess(gcc, [...archFlags, ...BASE_CFLAGS, ...inc, '-o', join(dir, 'probe'), src], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      const said = errorLines(r.stderr);
      if (arch === 'i386') throw new OracleError(`${gcc} -m32 cannot build a 32-bit program here: ${MULTILIB_HINT}. gcc said: ${said}`);
      throw new OracleError(`${gcc} ${archFlags.join(' ')} cannot build a program for ${arch}: ${said}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { gcc, version, arch, archFlags };
}

/** The compiler's error lines (else its first lines), on one line. */
export function errorLines(text: string): string {
  const errors = text.split(/\r?\n/).filter((l) => /\berror\b/i.test(l));
  return errors.length ? firstLines(errors.join('\n'), 3) : firstLines(text, 4);
}

export function firstLines(text: string, n: number): string {
  const lines = text.trim().split(/\r?\n/).filter(Boolean);
  return lines.slice(0, n).join(' | ') + (lines.length > n ? ' | ...' : '') || '(nothing)';
}

export function programFlags(tc: Toolchain, p: OracleProgram, sources: OracleSources): string[] {
  return [...tc.archFlags, ...BASE_CFLAGS, ...p.cflags, '-I', sources.dir];
}

/** Content hash of what makes the binary: source, shared headers, flags, compiler, arch. */
export function cacheKey(tc: Toolchain, p: OracleProgram, sources: OracleSources): string {
  const h = createHash('sha256');
  const flags = programFlags(tc, p, sources).filter((f) => f !== sources.dir);
  h.update(JSON.stringify({ v: 1, arch: tc.arch, compiler: tc.version, flags, file: p.id }));
  h.update('\0');
  h.update(p.source);
  for (const [name, text] of [...sources.headers].sort(([a], [b]) => a.localeCompare(b))) {
    h.update(`\0${name}\0`);
    h.update(text);
  }
  return h.digest('hex');
}

export interface Built {
  path: string;
  cached: boolean;
  ms: number;
}

/** Compiles p (or finds it in the cache). Compile errors come back as an OracleError naming the file. */
export async function buildProgram(tc: Toolchain, p: OracleProgram, sources: OracleSources, cacheDir: string): Promise<Built> {
  const t0 = performance.now();
  const key = cacheKey(tc, p, sources);
  const dir = join(cacheDir, tc.arch);
  const out = join(dir, `${p.id}-${key.slice(0, 20)}`);
  if (existsSync(out)) return { path: out, cached: true, ms: performance.now() - t0 };
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const r = await runProcess(tc.gcc, [...programFlags(tc, p, sources), '-o', tmp, p.file], { timeoutMs: 120_000 });
  if (r.code !== 0) {
    rmSync(tmp, { force: true });
    throw new OracleError(`${p.file} does not compile (${tc.gcc} ${tc.archFlags.join(' ')}): ${errorLines(r.stderr)}`);
  }
  renameSync(tmp, out);
  return { path: out, cached: false, ms: performance.now() - t0 };
}
