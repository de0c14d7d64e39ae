// The real kernel as the judge: small C programs that do what the conformance scenarios
// do, run on this machine's own Linux, report what user mode saw in the kit's
// arch-neutral vocabulary; compareWithReport() holds a conformance report against them.
//
//   const oracle = await runOracle({ arch: 'x86_64' });
//   if (!oracle.comparable) console.log(oracle.reason);            // not this machine's arch
//   else console.log(renderOracle(compareWithReport(oracle, archReport)));

import { availableParallelism, machine, platform, release, tmpdir } from 'node:os';
import { buildProgram, defaultCacheDir, firstLines, probeToolchain, type Built } from './build.ts';
import { runProcess } from './process.ts';
import { type OracleProgram, NOT_COMPARABLE, OracleError, loadSources } from './programs.ts';

export { compareWithReport, oracleSummary, renderOracle, summaryLine, type OracleRow, type OracleSummary } from './compare.ts';
export { defaultCacheDir, probeToolchain, type Toolchain } from './build.ts';
export { FIELD_KINDS, NOT_COMPARABLE, ORACLE_SOURCE_DIR, OracleError, loadSources, notComparableReason, type OracleProgram } from './programs.ts';

/** Arches the oracle has programs for, and the machines that can run them. */
export const ORACLE_ARCHES: Record<string, { hosts: string[] }> = {
  x86_64: { hosts: ['x86_64'] },
  i386: { hosts: ['x86_64', 'i686', 'i586', 'i386'] },
};

export interface OracleScenarioResult {
  id: string;
  /** other kit ids this program answers for */
  aliases: string[];
  /** the C source */
  program: string;
  /** observed: the program reported; not-comparable: it said why it cannot; error: it failed (reason says how) */
  status: 'observed' | 'not-comparable' | 'error';
  observed: Record<string, unknown>;
  reason?: string;
  /** the binary came from the cache */
  cached: boolean;
  /** run time of the program */
  ms: number;
}

export type OracleResult =
  | { comparable: false; arch: string; reason: string }
  | {
      comparable: true;
      arch: string;
      host: { kernel: string; machine: string; compiler: string };
      scenarios: OracleScenarioResult[];
      /** kit scenarios no program can reproduce, with the reason (patterns: an id or `group.*`) */
      notComparable: Array<{ pattern: string; reason: string }>;
    };

export interface OracleProgress {
  phase: 'compile' | 'run';
  id: string;
  /** 1-based position within the phase */
  index: number;
  total: number;
  status: 'built' | 'cached' | 'observed' | 'not-comparable' | 'error';
  ms: number;
}

export interface RunOracleOptions {
  arch: string;
  /** where binaries are cached (default: defaultCacheDir()) */
  cacheDir?: string;
  onProgress?: (p: OracleProgress) => void;
  /** only these scenarios: ids or globs (`*` matches any text), e.g. ['restart.*'] */
  scenarios?: string[];
  /** per program (default 30 s): past it the program and everything it started are killed */
  timeoutMs?: number;
  /** the C sources (default: apps/conformance/oracle) */
  sourceDir?: string;
  /** the compiler (default: gcc) */
  gcc?: string;
  /** the machine to assume instead of os.machine()/os.platform() (tests) */
  host?: { machine: string; platform: string };
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Compiles (or takes from the cache) and runs the oracle programs for arch on this machine.
 * Not this machine's arch (or no programs for it): `{ comparable: false, reason }`, nothing
 * run. No usable compiler: throws OracleError saying what to install. A program that fails,
 * prints no JSON or outlives its timeout is reported as status "error" with the reason.
 */
export async function runOracle(opts: RunOracleOptions): Promise<OracleResult> {
  const arch = opts.arch;
  const host = opts.host ?? { machine: machine(), platform: platform() };
  const known = ORACLE_ARCHES[arch];
  if (!known) {
    return {
      comparable: false,
      arch,
      reason: `no oracle for ${arch}: its programs exist for ${Object.keys(ORACLE_ARCHES).join(' and ')} only; nothing compared`,
    };
  }
  if (host.platform !== 'linux') return { comparable: false, arch, reason: `this machine runs ${host.platform}, not Linux: nothing compared` };
  if (!known.hosts.includes(host.machine)) {
    return { comparable: false, arch, reason: `this machine is ${host.machine}, it cannot run ${arch} programs natively: nothing compared` };
  }

  const sources = loadSources(opts.sourceDir);
  const selected = select(sources.scenarios, opts.scenarios);
  const tc = await probeToolchain(arch, opts.gcc, sources.dir);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // ---- compile: the helpers the selection needs, then the programs, a few at a time
  const helperIds = [...new Set(selected.flatMap((p) => p.needs))];
  const toBuild: OracleProgram[] = [...helperIds.map((h) => sources.helpers.get(h)!), ...selected];
  const built = new Map<string, Built | Error>();
  let n = 0;
  await pool(toBuild, Math.max(1, Math.min(availableParallelism(), 8)), async (p) => {
    let r: Built | Error;
    try {
      r = await buildProgram(tc, p, sources, cacheDir);
    } catch (e) {
      if (!(e instanceof OracleError)) throw e;
      r = e;
    }
    built.set(key(p), r);
    opts.onProgress?.({
      phase: 'compile',
      id: p.id,
      index: ++n,
      total: toBuild.length,
      status: r instanceof Error ? 'error' : r.cached ? 'cached' : 'built',
      ms: r instanceof Error ? 0 : r.ms,
    });
  });

  // ---- run, one at a time (some programs time things)
  const results: OracleScenarioResult[] = [];
  for (const [i, p] of selected.entries()) {
    const { result: r, notExecutable } = await runOne(p, built, timeoutMs);
    if (notExecutable && arch === 'i386') {
      // the kernel refuses 32-bit programs: this machine cannot judge i386
      return {
        comparable: false,
        arch,
        reason: 'this kernel does not run 32-bit x86 programs (CONFIG_IA32_EMULATION off, or ia32_emulation=0 on its command line): nothing compared',
      };
    }
    results.push(r);
    opts.onProgress?.({ phase: 'run', id: p.id, index: i + 1, total: selected.length, status: r.status, ms: r.ms });
  }
  return {
    comparable: true,
    arch,
    host: { kernel: release(), machine: host.machine, compiler: tc.version },
    scenarios: results,
    notComparable: NOT_COMPARABLE,
  };
}

const key = (p: OracleProgram) => `${p.kind}:${p.id}`;

function globRe(glob: string): RegExp {
  const g = /^[a-z0-9_]+$/i.test(glob) ? `${glob}.*` : glob;
  return new RegExp(`^${g.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function select(programs: OracleProgram[], wanted?: string[]): OracleProgram[] {
  if (!wanted || wanted.length === 0) return programs;
  const res = wanted.map(globRe);
  const out = programs.filter((p) => [p.id, ...p.aliases].some((id) => res.some((re) => re.test(id))));
  if (out.length === 0) {
    throw new OracleError(`no oracle program matches ${wanted.join(', ')} (have: ${programs.map((p) => p.id).join(', ')})`);
  }
  return out;
}

async function runOne(
  p: OracleProgram,
  built: Map<string, Built | Error>,
  timeoutMs: number,
): Promise<{ result: OracleScenarioResult; notExecutable?: boolean }> {
  const base = { id: p.id, aliases: p.aliases, program: p.file, observed: {}, cached: false, ms: 0 };
  const b = built.get(key(p));
  if (!b || b instanceof Error) return { result: { ...base, status: 'error', reason: b?.message ?? 'not built' } };
  const args: string[] = [];
  for (const h of p.needs) {
    const hb = built.get(`helper:${h}`);
    if (!hb || hb instanceof Error) return { result: { ...base, cached: b.cached, status: 'error', reason: `helper ${h}: ${hb?.message ?? 'not built'}` } };
    args.push(hb.path);
  }
  // cwd: a scratch place, never the source tree (a program that dumps core must not litter it)
  const r = await runProcess(b.path, args, { timeoutMs, cwd: tmpdir() });
  const res = { ...base, cached: b.cached, ms: Math.round(r.ms * 10) / 10 };
  const error = (reason: string) => ({ result: { ...res, status: 'error' as const, reason } });
  const said = r.stderr.trim() ? `; stderr: ${firstLines(r.stderr, 4)}` : '';
  if (r.spawnError) return { ...error(`${p.id}: cannot start ${b.path}: ${r.spawnError}`), notExecutable: r.spawnError === 'ENOEXEC' };
  // exec refused the binary (ENOEXEC): libc's execvp may have handed it to /bin/sh instead
  const refused = (r.code === 126 || r.code === 2) && /Exec format error|cannot execute binary|Syntax error|ELF/.test(r.stderr);
  if (refused) return { ...error(`${p.id}: this kernel cannot run ${b.path}${said}`), notExecutable: true };
  if (r.timedOut) return error(`${p.id} hung: no result within ${timeoutMs / 1000} s, killed with everything it started${said}`);
  if (r.code !== 0) return error(`${p.id} ${r.code === null ? `was killed by ${r.signal}` : `exited with status ${r.code}`}${said}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return error(`${p.id} printed no JSON object: ${JSON.stringify(r.stdout.slice(0, 200))}${said}`);
  }
  const obj = parsed as Record<string, unknown>;
  if (typeof obj.notComparable === 'string') return { result: { ...res, status: 'not-comparable', reason: obj.notComparable } };
  return { result: { ...res, status: 'observed', observed: obj } };
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

