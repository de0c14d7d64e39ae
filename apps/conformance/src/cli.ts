// The `archkit` command line: list, conformance, mutants, oracle, merge, status.
// Hand-rolled argv parsing; exit codes: 0 ok, 1 failures / survivors / runtime errors, 2 usage errors.

import { availableParallelism } from 'node:os';
import { realpathSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ArchError, ArchInfo, ArchReport, MutantInfo, Report, Runner, ScenarioInfo, ScenarioReport } from './types.ts';
import type { EntryModel } from '@archkit/generic-core/contracts/descriptor';
import { allReports, runJobs, workerCount, type Job } from './pool.ts';
import { archSupportFiles } from './report/arch-support.ts';
import { renderHtml } from './report/html.ts';
import { buildReport, scenarioCatalogue, toJson } from './report/json.ts';
import { renderJUnit } from './report/junit.ts';
import { renderConformance } from './report/matrix.ts';
import { renderStatus } from './report/status.ts';
import { MergeError, mergeReports, readReport } from './report/merge.ts';
import { reportTime, runMeta } from './report/meta.ts';
import { type MutantResult, type MutantsReport, mutantCell, mutantsSummary, renderMutants } from './report/mutants.ts';
import { type Output, OutputError, prepareOutputs, writeOutput, writeOutputDir } from './report/output.ts';
import { indentRest, renderTable } from './report/table.ts';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** When true, progress redraws one status line instead of printing one line per result. */
  stderrIsTTY: boolean;
  env: Record<string, string | undefined>;
  /** Base directory for relative report paths and merge inputs; git is asked about it for the report's commit. */
  cwd: string;
  /** Provides the runner; defaults to createRunner() from ./runner.ts. */
  createRunner?: () => Runner | Promise<Runner>;
}

/** A usage error: exit 2, message plus a hint. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// ---------------------------------------------------------------- help texts

const MAIN_HELP = `archkit: run the same kernel-entry conformance scenarios on every CPU architecture

Usage: archkit <command> [options]

Commands:
  list          arches (emulator, assembler, mutants) and scenario ids by group
  conformance   run the scenarios and print the scenario x arch matrix
  mutants       run the scenarios against each bug-zoo mutant; every mutant must be killed
  oracle        hold the kit against this machine's own Linux kernel (x86_64, i386)
  merge         join the JSON reports of parallel jobs or branches into one report
  status        render docs/status.md (arch x scenario matrix, per-arch facts) from a report
  bench         time scenarios against a bare engine, and the matrix, mutants and sweeps
                (archkit bench --help; npm run bench)

Options:
  -h, --help    help (also: archkit <command> --help)
  --version     print the version

Report paths (--json, --junit, --html, --arch-support) are checked before anything runs;
"-" writes that report to stdout (the human-readable output then goes to stderr).

Exit status: 0 ok, 1 a scenario failed / a mutant survived / an error, 2 usage error
(including a report path that cannot be written).
Set ARCHKIT_DEBUG=1 to see stack traces.
`;

/** The paragraph every command with report files shows. */
const OUTPUT_NOTE = `Report paths are checked before anything runs: a missing parent directory is created, but a
path under /proc or /sys, a path that is a directory, or a place that cannot be written is
refused with one line naming the option and the path (exit status 2). FILE "-" writes the
report to stdout; the human-readable output then goes to stderr, so stdout holds only the
report.`;

const HELP: Record<string, string> = {
  status: `Usage: archkit status REPORT.json... [--md FILE]

Renders the status page (docs/status.md) from conformance reports ("archkit conformance
--json"; several are merged as by "archkit merge"): per arch its title, entry model,
emulator, assembler and the Linux release its arch.json describes; the scenario x arch
matrix in the words of the kernel's Documentation/features arch-support.txt files (ok,
TODO, N/A); one kernel-style feature list per scenario group; the failures and the
unsupported scenarios. The page names the run it shows.

  npx archkit conformance --arch all --json reports/conformance.json
  npx archkit status reports/conformance.json --md docs/status.md

Options:
  --md FILE     write the page to FILE (default: stdout)

${OUTPUT_NOTE}

Exit status: 0 the page was written, 1 it could not be written, 2 usage error or an input
that cannot be read.
`,
  oracle: `Usage: archkit oracle [--arch x86_64|i386] [--scenario GLOBS] [--json FILE]

Compiles small C programs that do what the scenarios do (with the system gcc; i386 needs
gcc -m32 from the Debian package gcc-multilib), runs them on this machine's own Linux
kernel, runs the same scenarios in the kit, and compares what user mode saw, field by
field: a table of agreements and disagreements, then "N agree, N disagree, N not
comparable". Scenarios no user program can reproduce (kernel threads, the work flags,
injected interrupts) are listed with the reason. On a machine that is not that arch,
nothing is compared.

Options:
  --arch A           x86_64 (default) or i386
  --scenario GLOBS   scenario id globs (default: every scenario the oracle has a program for)
  --json FILE        write { arch, host, rows, summary } as JSON ("-": stdout)

${OUTPUT_NOTE}

Exit status: 0 no disagreement (or nothing comparable here), 1 a disagreement or an error,
2 usage error.
`,
  list: `Usage: archkit list [--json FILE]

Lists the arches (title, emulator, assembler, number of mutants) and the scenario ids,
grouped (kthread, fork, execve, regs, work, restart, signal, ptrace, ...). An arch whose
lib cannot be loaded (a malformed arch.json, ...) is listed with the error, naming the
file and line:column; the others are listed as usual.

Options:
  --json FILE   also write { arches, scenarios } as JSON to FILE ("-": stdout); a broken
                arch has "error"

${OUTPUT_NOTE}

Exit status: 0 ok, 1 an arch cannot be loaded, 2 usage error.
`,
  conformance: `Usage: archkit conformance [--arch LIST] [--scenario GLOBS] [--entry-model M] [--sweep GLOBS]
                           [--jobs N] [--json FILE] [--junit FILE] [--html FILE] [--arch-support DIR]

Runs the scenarios on each arch and prints the matrix (rows = scenarios, columns = arches,
cells pass / FAIL / unsupported), each failure's message, and the summary line
"N passed, N failed, N unsupported". Progress goes to stderr, one line per scenario.

Options:
  --arch LIST        comma-separated arch names, or "all" (default: all)
  --scenario GLOBS   comma-separated scenario id globs; "*" matches any text,
                     e.g. "restart.*" or "fork.vfork,signal.*"; a bare group name
                     ("restart") means "restart.*" (default: every scenario)
  --entry-model M    run each arch under entry model M (do-work-pending, generic-entry,
                     arch) where it offers it, or "all" for every model each arch
                     offers (default: the model its Linux uses, arch.json entry.model)
  --sweep GLOBS      run the matching scenarios as interrupt sweeps (C12): one timer
                     interrupt at each instruction where interrupts are enabled, each run
                     checked and compared with the run without it (irq.sweep always is);
                     the report gives the injection points per scenario
  --jobs N           threads, each running whole arches (default: ARCHKIT_JOBS, else
                     one per core for a run long enough to pay a thread's start-up,
                     about 1500 scenario runs a thread; 1 runs everything in this
                     thread); the report is the same whatever N is
  --json FILE        write the JSON report (see README: report format): the arches'
                     results, the summary, and meta (commit, branch, time, Node, the
                     Unicorn and assembler versions)
  --junit FILE       write a JUnit XML report (one testsuite per arch)
  --html FILE        write one self-contained HTML page: run metadata, the coloured
                     scenario x arch[entry model] matrix, each failure with its contract,
                     origin, message and observed values, the unsupported reasons
  --arch-support DIR write DIR/<group>/arch-support.txt for each scenario group, in the
                     layout of the kernel's Documentation/features (ok / TODO / N/A per
                     arch)

${OUTPUT_NOTE}

A failure names its contract and where it comes from: the port ([contract], [kernel
check] inside the kit's kernel, [guest fault]), or the kit itself ([kit error]). An arch
whose lib cannot be loaded (a malformed arch.json, ...) is reported with the error naming
the file and line:column; the other arches still run.

Exit status: 0 all ran scenarios passed or are unsupported, 1 a scenario failed, an arch
could not be loaded, or an error occurred, 2 usage error.
`,
  mutants: `Usage: archkit mutants [--arch LIST] [--scenario GLOBS] [--mutant GLOBS] [--jobs N] [--json FILE] [--no-baseline]

For each arch and each of its bug-zoo mutants, applies the mutant, runs the scenarios and
reports which scenarios killed it (failed). Prints a table (mutant, arch, contract,
"killed by <ids>" or SURVIVED) and the summary line "N killed, N survived".

Before the mutants, each arch runs once unmutated (the baseline); a scenario that already
fails there cannot kill a mutant and is left out of "killed by". The interrupt sweep
(irq.sweep) runs for a mutant only when no other scenario killed it.

Options:
  --arch LIST        comma-separated arch names, or "all" (default: all)
  --scenario GLOBS   scenario id globs, as for "archkit conformance" (default: all)
  --mutant GLOBS     mutant id globs (default: every mutant of each arch)
  --entry-model M    as for "archkit conformance": run under model M, or "all"
  --jobs N           threads, each running whole mutants (default: as for conformance)
  --json FILE        write { mutants: [...], summary: { killed, survived, errors } }
                     ("-": stdout)
  --no-baseline      skip the unmutated baseline run

${OUTPUT_NOTE}

Exit status: 0 every mutant killed, 1 a mutant survived, a mutant run errored or an arch
could not be loaded, 2 usage error.
`,
  merge: `Usage: archkit merge REPORT.json... [--json FILE] [--junit FILE] [--html FILE]
                     [--arch-support DIR] [--prefer last]

Joins conformance reports (written by "archkit conformance --json", e.g. by parallel CI
jobs, one per arch, or by runs on different branches) into one report: the arch columns of
all inputs in the order given, the summary recomputed, and meta.inputs listing each input
file with its own meta (commit, branch, time, tools) and the columns it gave. meta.commit
and meta.branch are set only when every input agrees. Prints the merged matrix like
"archkit conformance". Only conformance reports can be merged, not "archkit mutants"
reports.

Options:
  --json FILE        write the merged JSON report
  --junit FILE       write a JUnit XML report of it
  --html FILE        write the HTML page of it
  --arch-support DIR write the kernel-style arch-support.txt files of it
  --prefer last      the same arch under the same entry model in two inputs is an error
                     naming both files; with --prefer last the later input's results
                     replace the earlier's

${OUTPUT_NOTE}

Exit status: 0 the merged report has no failure, 1 it has a failure or an arch that could
not run (like "archkit conformance"), 2 usage error, or an input that cannot be read, is
not a conformance report (the message names the file and line:column) or clashes with
another.
`,
};

// ---------------------------------------------------------------- argv parsing

interface OptSpec {
  /** takes a value */
  value: boolean;
}

const OPTS: Record<string, Record<string, OptSpec>> = {
  list: { json: { value: true } },
  conformance: {
    jobs: { value: true },
    arch: { value: true },
    scenario: { value: true },
    sweep: { value: true },
    json: { value: true },
    junit: { value: true },
    html: { value: true },
    'arch-support': { value: true },
    'entry-model': { value: true },
  },
  mutants: {
    jobs: { value: true },
    arch: { value: true },
    scenario: { value: true },
    mutant: { value: true },
    json: { value: true },
    'entry-model': { value: true },
    'no-baseline': { value: false },
  },
  oracle: { arch: { value: true }, scenario: { value: true }, json: { value: true } },
  merge: { json: { value: true }, junit: { value: true }, html: { value: true }, 'arch-support': { value: true }, prefer: { value: true } },
  status: { md: { value: true } },
};

export interface ParsedArgs {
  command: string | undefined;
  help: boolean;
  version: boolean;
  opts: Record<string, string | true>;
  /** arguments that are not options (only `merge` takes them: its input files) */
  positionals: string[];
}

/** Commands that take arguments besides options. */
const POSITIONAL = new Set(['merge', 'status']);

export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { command: undefined, help: false, version: false, opts: {}, positionals: [] };
  let i = 0;
  // global flags before the command
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') out.help = true;
    else if (a === '--version' || a === '-v') out.version = true;
    else throw new UsageError(`unknown option ${a} (a command comes first: ${Object.keys(OPTS).join(', ')})`);
    i++;
  }
  if (i >= argv.length) return out;
  const cmd = argv[i++]!;
  if (cmd === 'help') {
    out.help = true;
    const topic = argv[i];
    if (topic !== undefined) {
      if (!(topic in OPTS)) throw new UsageError(`unknown command "${topic}" (commands: ${Object.keys(OPTS).join(', ')})`);
      out.command = topic;
    }
    return out;
  }
  if (!(cmd in OPTS)) throw new UsageError(`unknown command "${cmd}" (commands: ${Object.keys(OPTS).join(', ')})`);
  out.command = cmd;
  const specs = OPTS[cmd]!;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      out.help = true;
      continue;
    }
    if (!a.startsWith('--') || a === '--') {
      if (POSITIONAL.has(cmd) && a !== '--') {
        out.positionals.push(a);
        continue;
      }
      throw new UsageError(`unexpected argument "${a}"`, cmd);
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const spec = specs[name];
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`).join(', ');
      throw new UsageError(`unknown option --${name} for "${cmd}" (options: ${known}, --help)`, cmd);
    }
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`, cmd);
      out.opts[name] = true;
      continue;
    }
    let v: string | undefined;
    if (eq >= 0) v = a.slice(eq + 1);
    else {
      v = argv[i + 1];
      // "-" is a value (stdout); "--x" is the next option
      if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`, cmd);
      i++;
    }
    if (v === '') throw new UsageError(`--${name} needs a non-empty value`, cmd);
    if (name in out.opts) throw new UsageError(`--${name} given twice (use a comma-separated list)`, cmd);
    out.opts[name] = v;
  }
  return out;
}

// ---------------------------------------------------------------- selection

/** `*` matches any run of characters; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function groupsOf(scenarios: ScenarioInfo[]): Map<string, ScenarioInfo[]> {
  const groups = new Map<string, ScenarioInfo[]>();
  for (const s of scenarios) {
    const g = groups.get(s.group) ?? [];
    g.push(s);
    groups.set(s.group, g);
  }
  return groups;
}

/** Scenario ids selected by comma-separated globs, in catalogue order. Each glob must match something. */
export function selectScenarios(all: ScenarioInfo[], globs: string | undefined, command?: string): string[] {
  if (globs === undefined) return all.map((s) => s.id);
  const patterns = splitList(globs);
  if (patterns.length === 0) throw new UsageError('--scenario needs at least one glob', command);
  const groups = groupsOf(all);
  const picked = new Set<string>();
  for (const p of patterns) {
    const re = globToRegExp(!p.includes('*') && groups.has(p) ? `${p}.*` : p);
    const hits = all.filter((s) => re.test(s.id));
    if (hits.length === 0) {
      const lines = [...groups].map(([g, ss]) => `  ${g}: ${ss.map((s) => s.id).join(', ')}`);
      throw new UsageError(`--scenario "${p}" matches no scenario. Scenarios:\n${lines.join('\n')}`, command);
    }
    for (const h of hits) picked.add(h.id);
  }
  return all.map((s) => s.id).filter((id) => picked.has(id));
}

/** Arches selected by --arch (comma list or "all"), in the runner's order unless listed explicitly. */
export function selectArches(all: ArchInfo[], value: string | undefined, command?: string): ArchInfo[] {
  const names = all.map((a) => a.arch);
  if (value === undefined || value === 'all') return all;
  const wanted = splitList(value);
  if (wanted.length === 0) throw new UsageError(`--arch needs a value (arches: ${names.join(', ')}, or all)`, command);
  const out: ArchInfo[] = [];
  for (const w of wanted) {
    if (w === 'all') throw new UsageError('--arch all cannot be combined with arch names', command);
    const a = all.find((x) => x.arch === w);
    if (!a) throw new UsageError(`unknown arch "${w}" (arches: ${names.join(', ')}, or all)`, command);
    if (!out.includes(a)) out.push(a);
  }
  return out;
}

// ---------------------------------------------------------------- progress

class Progress {
  private done = 0;
  private live = false;
  constructor(
    private readonly io: CliIO,
    private total: number,
  ) {}

  setTotal(n: number): void {
    this.total = n;
  }

  /** A finished unit: one line, or a redrawn status line on a TTY (kept when it is bad news). */
  line(text: string, keep: boolean): void {
    this.done++;
    const width = String(this.total).length;
    const msg = `[${String(this.done).padStart(width)}/${this.total}] ${text}`;
    if (this.io.stderrIsTTY) {
      this.io.stderr(`\r\x1b[K${msg}${keep ? '\n' : ''}`);
      this.live = !keep;
    } else {
      this.io.stderr(msg + '\n');
    }
  }

  note(text: string): void {
    this.clear();
    this.io.stderr(text + '\n');
  }

  clear(): void {
    if (this.live) this.io.stderr('\r\x1b[K');
    this.live = false;
  }
}

function fmtMs(ms: number): string {
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

// ---------------------------------------------------------------- commands

/** Scenario runs one interrupt sweep stands for (one per instruction where an interrupt can come). */
const SWEEP_RUNS = 400;
/**
 * Scenario runs that pay for one more thread: a worker thread takes ~0.3 s to start (its
 * modules, its engines), and on these 2-vCPU machines a second thread adds about a third of
 * a core's throughput, not a core. Below this a run is faster on one thread.
 */
const RUNS_PER_THREAD = 1500;

/** Threads (0: this one alone) for these jobs on `cores` cores when --jobs does not say. */
export function defaultThreads(jobs: Job[], cores: number): number {
  const runs = jobs.reduce((n, j) => n + j.ids.reduce((m, id) => m + (id.endsWith('.sweep') || j.sweep?.includes(id) ? SWEEP_RUNS : 1), 0), 0);
  return workerCount(jobs.length, Math.max(1, Math.min(cores, Math.floor(runs / RUNS_PER_THREAD))));
}

/**
 * Threads for these jobs: --jobs (or ARCHKIT_JOBS), else one per core when the work is long
 * enough to pay for them (see RUNS_PER_THREAD); none when the CLI runs an injected runner
 * (tests) or for a single job.
 */
function jobCount(io: CliIO, p: ParsedArgs, jobs: Job[]): number {
  if (io.createRunner) return 0;
  const v = (typeof p.opts['jobs'] === 'string' ? p.opts['jobs'] : undefined) ?? io.env['ARCHKIT_JOBS'];
  if (v === undefined) return defaultThreads(jobs, availableParallelism());
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--jobs needs a positive whole number, got "${v}"`);
  return workerCount(jobs.length, k);
}

async function getRunner(io: CliIO): Promise<Runner> {
  if (io.createRunner) return io.createRunner();
  const mod = (await import('./runner.ts')) as { createRunner: () => Runner | Promise<Runner> };
  return mod.createRunner();
}

/** The report options a command takes, checked (and their parent directories created) before anything runs. */
function prepareReportOutputs(io: CliIO, p: ParsedArgs, names: Array<['json' | 'junit' | 'html' | 'md', 'file'] | ['arch-support', 'dir']>): Map<string, Output> {
  const specs = names.map(([option, kind]) => {
    const v = p.opts[option];
    return typeof v === 'string' ? { option, value: v, kind } : undefined;
  });
  return new Map(prepareOutputs(specs, io.cwd).map((o) => [o.option, o] as const));
}

/** Where the human-readable output goes: stdout, unless a report goes there. */
function humanStream(io: CliIO, outs: Map<string, Output>): (s: string) => void {
  return [...outs.values()].some((o) => o.stdout) ? io.stderr : io.stdout;
}

/** Writes one report output; a failure is printed (one line naming the option and path) and returns false. */
function emit(io: CliIO, write: () => void): boolean {
  try {
    write();
    return true;
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    io.stderr(`archkit: ${e.message}\n`);
    return false;
  }
}

/** Writes the conformance report in every requested form; false when one could not be written. */
function emitConformance(io: CliIO, outs: Map<string, Output>, report: Report, known: ScenarioInfo[]): boolean {
  let ok = true;
  const json = outs.get('json');
  const junit = outs.get('junit');
  const html = outs.get('html');
  const support = outs.get('arch-support');
  if (json) ok = emit(io, () => writeOutput(json, toJson(report), io.stdout)) && ok;
  if (junit) ok = emit(io, () => writeOutput(junit, renderJUnit(report), io.stdout)) && ok;
  if (html) ok = emit(io, () => writeOutput(html, renderHtml(report), io.stdout)) && ok;
  if (support) ok = emit(io, () => writeOutputDir(support, archSupportFiles(report, known))) && ok;
  return ok;
}

/** Arches that cannot be loaded: their errors, reported once on stderr before the run. */
function splitBroken(io: CliIO, arches: ArchInfo[]): { ok: ArchInfo[]; errors: ArchError[] } {
  const errors = arches.filter((a) => a.error !== undefined).map((a) => ({ arch: a.arch, message: a.error! }));
  for (const e of errors) io.stderr(`archkit: ${e.arch} cannot run: ${e.message}\n`);
  return { ok: arches.filter((a) => a.error === undefined), errors };
}

async function cmdList(io: CliIO, p: ParsedArgs): Promise<number> {
  const outs = prepareReportOutputs(io, p, [['json', 'file']]);
  const runner = await getRunner(io);
  const arches = await runner.listArches();
  const scenarios = runner.listScenarios();
  let out = 'Arches\n';
  out += renderTable(
    ['arch', 'title', 'emulator', 'assembler', 'mutants'],
    arches.map((a) => (a.error !== undefined ? [a.arch, 'ERROR (see below)', '-', '-', '-'] : [a.arch, a.title, a.emulator, a.assembler, String(a.mutants.length)])),
  );
  const broken = arches.filter((a) => a.error !== undefined);
  if (broken.length) {
    out += `\nArches that cannot be loaded (${broken.length}):\n`;
    for (const a of broken) out += `  ERROR ${a.arch}: ${indentRest(a.error!, '    ')}\n`;
  }
  out += `\nScenarios (${scenarios.length})\n`;
  for (const [g, ss] of groupsOf(scenarios)) {
    out += `\n${g} (${ss.length})\n`;
    const w = Math.max(...ss.map((s) => s.id.length));
    const cw = Math.max(...ss.map((s) => s.contracts.join(',').length));
    for (const s of ss) out += `  ${s.id.padEnd(w)}  ${s.contracts.join(',').padEnd(cw)}  ${s.title}`.trimEnd() + '\n';
  }
  humanStream(io, outs)(out);
  const json = outs.get('json');
  const written = json ? emit(io, () => writeOutput(json, toJson({ arches, scenarios }), io.stdout)) : true;
  return broken.length > 0 || !written ? 1 : 0;
}

const ENTRY_MODELS = ['do-work-pending', 'generic-entry', 'arch'];

/** (arch, model) runs for --entry-model: the declared model, one named model where offered, or all offered. */
function selectRuns(io: CliIO, arches: ArchInfo[], opt: string | true | undefined, command: string): Array<{ arch: ArchInfo; model?: string }> {
  if (opt === undefined) return arches.map((arch) => ({ arch }));
  if (opt === true || (opt !== 'all' && !ENTRY_MODELS.includes(opt))) {
    throw new UsageError(`--entry-model takes one of ${ENTRY_MODELS.join(', ')} or "all"`, command);
  }
  if (arches.length === 0) return [];
  if (opt === 'all') return arches.flatMap((arch) => arch.entryModels.map((model) => ({ arch, model })));
  const runs = arches.filter((a) => a.entryModels.includes(opt)).map((arch) => ({ arch, model: opt }));
  for (const a of arches) if (!a.entryModels.includes(opt)) io.stderr(`archkit: ${a.arch} does not offer the entry model ${opt} (it offers ${a.entryModels.join(', ')}): left out\n`);
  if (runs.length === 0) throw new UsageError(`no selected arch offers the entry model ${opt}`, command);
  return runs;
}

const runLabel = (arch: string, model: string | undefined) => (model ? `${arch}[${model}]` : arch);

async function cmdConformance(io: CliIO, p: ParsedArgs): Promise<number> {
  const runner = await getRunner(io);
  const all = runner.listScenarios();
  const ids = selectScenarios(all, p.opts['scenario'] as string | undefined, 'conformance');
  const selected = selectArches(await runner.listArches(), p.opts['arch'] as string | undefined, 'conformance');
  const sweep = new Set(typeof p.opts['sweep'] === 'string' ? selectScenarios(all, p.opts['sweep'], 'conformance') : []);
  for (const id of sweep) if (!ids.includes(id)) ids.push(id);
  // every usage error is found before a path is touched; every path before anything runs
  const outs = prepareReportOutputs(io, p, [['json', 'file'], ['junit', 'file'], ['html', 'file'], ['arch-support', 'dir']]);
  const { ok: arches, errors } = splitBroken(io, selected);
  const runs = selectRuns(io, arches, p.opts['entry-model'], 'conformance');
  const progress = new Progress(io, ids.length * runs.length);
  const jobs: Job[] = runs.map(({ arch: a, model }) => ({ arch: a.arch, ids, ...(model ? { entryModel: model as EntryModel } : {}), sweep: [...sweep] }));
  const t0 = performance.now();
  let reports: ArchReport[];
  try {
    reports = allReports(
      await runJobs(runner, jobs, jobCount(io, p, jobs), (j, r) =>
        progress.line(`${runLabel(runs[j]!.arch.arch, runs[j]!.model)} ${r.id} ${r.status} ${fmtMs(r.ms)}`, r.status === 'fail'),
      ),
    );
  } finally {
    progress.clear();
  }
  const wall = performance.now() - t0;
  const scenarios = all.filter((s) => ids.includes(s.id));
  const report = buildReport(reports, { meta: runMeta(reports, io.cwd, io.env), errors, scenarios });
  const written = emitConformance(io, outs, report, all);
  humanStream(io, outs)(renderConformance(report, ids));
  io.stderr(`archkit: ${runs.length} arch${runs.length === 1 ? '' : 'es'} x ${ids.length} scenarios in ${fmtMs(wall)}\n`);
  return report.summary.fail > 0 || errors.length > 0 || !written ? 1 : 0;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function cmdMutants(io: CliIO, p: ParsedArgs): Promise<number> {
  const runner = await getRunner(io);
  const ids = selectScenarios(runner.listScenarios(), p.opts['scenario'] as string | undefined, 'mutants');
  const selected = selectArches(await runner.listArches(), p.opts['arch'] as string | undefined, 'mutants');
  const mutantGlobs = typeof p.opts['mutant'] === 'string' ? splitList(p.opts['mutant']) : undefined;
  const { ok: arches, errors } = splitBroken(io, selected);
  // a mutant that is a bug only in some entry models runs only under those
  const plan = selectRuns(io, arches, p.opts['entry-model'], 'mutants').map(({ arch: a, model }) => ({
    arch: a,
    model,
    mutants: (mutantGlobs ? a.mutants.filter((m) => mutantGlobs.some((g) => globToRegExp(g).test(m.id))) : a.mutants).filter(
      (m) => !m.models || m.models.includes(model ?? a.entryModel),
    ),
  }));
  if (mutantGlobs && arches.length > 0) {
    for (const g of mutantGlobs) {
      const re = globToRegExp(g);
      if (!plan.some((x) => x.mutants.some((m) => re.test(m.id)))) {
        const known = arches.map((a) => `  ${a.arch}: ${a.mutants.map((m) => m.id).join(', ') || '(none)'}`).join('\n');
        throw new UsageError(`--mutant "${g}" matches no mutant. Mutants:\n${known}`, 'mutants');
      }
    }
  }
  const outs = prepareReportOutputs(io, p, [['json', 'file']]);
  const baseline = p.opts['no-baseline'] !== true;
  const total = plan.reduce((n, x) => n + x.mutants.length + (baseline && x.mutants.length > 0 ? 1 : 0), 0);
  const progress = new Progress(io, total);
  const results: MutantResult[] = [];
  // irq.sweep (and other sweeps) run for a mutant only when no cheaper scenario killed it
  const sweepIds = ids.filter((id) => runner.listScenarios().some((s) => s.id === id && s.group === 'irq' && id.endsWith('.sweep')));
  const quick = ids.filter((id) => !sweepIds.includes(id));
  type Unit = { label: string; arch: string; model?: string; mutant?: MutantInfo; t: number };
  const units: Unit[] = [];
  const jobs: Job[] = [];
  for (const { arch: a, model, mutants } of plan) {
    const label = runLabel(a.arch, model);
    const em = model ? { entryModel: model as EntryModel } : {};
    if (mutants.length === 0) {
      progress.note(`${label}: no mutants`);
      continue;
    }
    // scenarios that fail unmutated cannot kill anything
    if (baseline) {
      // the sweeps' baseline runs later, only for an arch where some mutant needs them
      units.push({ label, arch: a.arch, ...(model ? { model } : {}), t: 0 });
      jobs.push({ arch: a.arch, ids: quick, ...em });
    }
    for (const m of mutants) {
      units.push({ label, arch: a.arch, ...(model ? { model } : {}), mutant: m, t: 0 });
      jobs.push({ arch: a.arch, ids: quick, mutant: m.id, ...em });
    }
  }
  const workers = jobCount(io, p, jobs);
  const settled = async (js: Job[], at: (i: number) => Unit): Promise<Array<ArchReport | Error>> => {
    // one job's error (a mutant that does not apply) is that mutant's result, not the run's end
    const rs = await runJobs(runner, js, workers);
    if (io.env['ARCHKIT_DEBUG'] === '1') rs.forEach((r, i) => r instanceof Error && r.stack && progress.note(`${at(i).label}: ${r.stack}`));
    return rs;
  };
  try {
    const t0 = performance.now();
    const first = await settled(jobs, (i) => units[i]!);
    // the sweeps, for the mutants nothing killed yet
    const baselineFails = new Map<string, Set<string>>();
    const killedBy = new Map<number, string[]>();
    first.forEach((rep, i) => {
      const u = units[i]!;
      const key = `${u.arch}#${u.model ?? ''}`;
      if (!u.mutant && !(rep instanceof Error)) baselineFails.set(key, new Set(rep.scenarios.filter((s) => s.status === 'fail').map((s) => s.id)));
    });
    const kills = (i: number, rep: ArchReport) => {
      const u = units[i]!;
      const fails = baselineFails.get(`${u.arch}#${u.model ?? ''}`) ?? new Set();
      return rep.scenarios.filter((s) => s.status === 'fail' && !fails.has(s.id)).map((s) => s.id);
    };
    const second: number[] = [];
    first.forEach((rep, i) => {
      if (!units[i]!.mutant || rep instanceof Error) return;
      killedBy.set(i, kills(i, rep));
      if (killedBy.get(i)!.length === 0 && sweepIds.length) second.push(i);
    });
    // with them, the unmutated sweeps of those arches (a sweep failing there kills nothing)
    const keyOf = (u: Unit) => `${u.arch}#${u.model ?? ''}`;
    const bases = [...new Set(second.map((i) => keyOf(units[i]!)))]
      .map((k) => units.findIndex((u) => !u.mutant && keyOf(u) === k))
      .filter((b) => b >= 0);
    const more = await settled(
      [...second, ...bases].map((i) => ({ ...jobs[i]!, ids: sweepIds, sweep: sweepIds })),
      (n) => units[[...second, ...bases][n]!]!,
    );
    bases.forEach((b, j) => {
      const rep = more[second.length + j]!;
      if (rep instanceof Error) first[b] = rep;
      else for (const sc of rep.scenarios) if (sc.status === 'fail') baselineFails.get(keyOf(units[b]!))?.add(sc.id);
    });
    second.forEach((i, n) => {
      const rep = more[n]!;
      if (rep instanceof Error) first[i] = rep;
      else killedBy.set(i, kills(i, rep));
    });
    const ms = Math.round((performance.now() - t0) / Math.max(1, units.length));
    units.forEach((u, i) => {
      const rep = first[i]!;
      if (!u.mutant) {
        const fails = rep instanceof Error ? undefined : baselineFails.get(`${u.arch}#${u.model ?? ''}`);
        progress.line(`${u.label} baseline: ${rep instanceof Error ? `error: ${rep.message}` : fails!.size ? `${fails!.size} failing (${[...fails!].join(', ')})` : 'all pass'}`, rep instanceof Error || (fails?.size ?? 0) > 0);
        return;
      }
      const m = u.mutant;
      const base = { arch: u.label, mutant: m.id, contract: m.contract, description: m.description };
      const r: MutantResult =
        rep instanceof Error
          ? { ...base, killedBy: [], survived: false, error: errMessage(rep), ms }
          : { ...base, killedBy: killedBy.get(i)!, survived: killedBy.get(i)!.length === 0, ms };
      results.push(r);
      progress.line(`${u.label} ${m.id} ${mutantCell(r, ids.length)}`, r.survived || r.error !== undefined);
    });
  } finally {
    progress.clear();
  }
  const report: MutantsReport = { mutants: results, summary: mutantsSummary(results), ...(errors.length ? { errors } : {}) };
  const json = outs.get('json');
  const written = json ? emit(io, () => writeOutput(json, toJson(report), io.stdout)) : true;
  humanStream(io, outs)(renderMutants(report, ids.length));
  return report.summary.survived > 0 || report.summary.errors > 0 || errors.length > 0 || !written ? 1 : 0;
}

async function cmdOracle(io: CliIO, p: ParsedArgs): Promise<number> {
  const arch = typeof p.opts['arch'] === 'string' ? p.opts['arch'] : 'x86_64';
  const oracle = await import('./oracle/index.ts');
  const runner = await getRunner(io);
  const info = (await runner.listArches()).find((a) => a.arch === arch);
  if (!info) throw new UsageError(`no arch "${arch}" in the kit`, 'oracle');
  const outs = prepareReportOutputs(io, p, [['json', 'file']]);
  if (info.error !== undefined) throw new Error(`${arch} cannot run: ${info.error}`);
  const human = humanStream(io, outs);
  const globs = typeof p.opts['scenario'] === 'string' ? splitList(p.opts['scenario']) : undefined;
  const progress = new Progress(io, 0);
  let result;
  try {
    result = await oracle.runOracle({
      arch,
      ...(globs ? { scenarios: globs } : {}),
      onProgress: (x) => progress.note(`oracle ${x.phase} ${x.index}/${x.total} ${x.id} ${x.status} ${fmtMs(x.ms)}`),
    });
  } finally {
    progress.clear();
  }
  if (!result.comparable) {
    human(`archkit oracle: ${result.reason}\n`);
    return 0;
  }
  // the kit's side: every kit scenario a program answers for
  const known = new Set(runner.listScenarios().map((s) => s.id));
  const ids = [...new Set(result.scenarios.flatMap((s) => [s.id, ...s.aliases]))].filter((id) => known.has(id));
  const kit = await runner.runArch(arch, ids, {});
  const rows = oracle.compareWithReport(result, kit);
  const summary = oracle.oracleSummary(rows);
  human(`kernel: ${result.host.kernel} (${result.host.machine}), ${result.host.compiler}\n\n${oracle.renderOracle(rows)}`);
  const json = outs.get('json');
  const written = json ? emit(io, () => writeOutput(json, toJson({ arch, host: result.host, rows, summary }), io.stdout)) : true;
  return summary.disagree > 0 || !written ? 1 : 0;
}

async function cmdMerge(io: CliIO, p: ParsedArgs): Promise<number> {
  const files = p.positionals;
  if (files.length === 0) throw new UsageError('merge needs at least one report file (archkit conformance --json FILE)', 'merge');
  if (files.includes('-')) throw new UsageError('merge reads report files; "-" (stdin) is not supported as an input', 'merge');
  const prefer = p.opts['prefer'];
  if (prefer !== undefined && prefer !== 'last') throw new UsageError(`--prefer takes "last" (got "${String(prefer)}")`, 'merge');
  const outs = prepareReportOutputs(io, p, [['json', 'file'], ['junit', 'file'], ['html', 'file'], ['arch-support', 'dir']]);
  const inputs = files.map((file) => ({ file, report: readReport(file, io.cwd) }));
  const report = mergeReports(inputs, { ...(prefer === 'last' ? { prefer } : {}), generatedAt: reportTime(io.env) });
  // scenarios no input describes: the current catalogue, when a runner is at hand
  let known: ScenarioInfo[] = [];
  const described = new Set((report.scenarios ?? []).map((s) => s.id));
  if (report.arches.some((a) => a.scenarios.some((s) => !described.has(s.id)))) {
    try {
      known = (await getRunner(io)).listScenarios();
    } catch {
      /* no catalogue: groups come from the ids */
    }
  }
  const written = emitConformance(io, outs, report, known);
  const order = scenarioCatalogue(report, known).map((s) => s.id);
  humanStream(io, outs)(renderConformance(report, order));
  io.stderr(`archkit: merged ${files.length} report${files.length === 1 ? '' : 's'}: ${report.arches.length} arch column${report.arches.length === 1 ? '' : 's'}\n`);
  return report.summary.fail > 0 || (report.errors?.length ?? 0) > 0 || !written ? 1 : 0;
}

async function cmdStatus(io: CliIO, p: ParsedArgs): Promise<number> {
  const files = p.positionals;
  if (files.length === 0) throw new UsageError('status needs a conformance report (archkit conformance --json FILE)', 'status');
  if (files.includes('-')) throw new UsageError('status reads report files; "-" (stdin) is not supported as an input', 'status');
  const outs = prepareReportOutputs(io, p, [['md', 'file']]);
  const inputs = files.map((file) => ({ file, report: readReport(file, io.cwd) }));
  const report = inputs.length === 1 ? inputs[0]!.report : mergeReports(inputs, { generatedAt: reportTime(io.env) });
  // each arch's title and Linux release come from its arch.json in this checkout
  const runner = await getRunner(io);
  const info = (await runner.listArches()).map((a) => ({ arch: a.arch, title: a.title, ...(a.linux !== undefined ? { linux: a.linux } : {}) }));
  const page = renderStatus(report, info, runner.listScenarios(), `archkit status ${files.join(' ')}`);
  const md = outs.get('md');
  if (!md) {
    io.stdout(page);
    return 0;
  }
  const written = emit(io, () => writeOutput(md, page, io.stdout));
  if (written && !md.stdout) io.stderr(`archkit: wrote ${md.value} (${report.arches.length} arch column${report.arches.length === 1 ? '' : 's'})\n`);
  return written ? 0 : 1;
}

// ---------------------------------------------------------------- main

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function defaultIO(): CliIO {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stderrIsTTY: Boolean(process.stderr.isTTY) && process.env['CI'] !== 'true',
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Runs the CLI; resolves to the exit status. Never throws. */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  // `archkit bench`: the benchmark (bench.ts, its own options and help), from the same tree as the CLI
  if (argv[0] === 'bench') return ((await import('./bench.ts')) as { benchMain(a: string[]): Promise<number> }).benchMain(argv.slice(1));
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
    if (parsed.version) {
      io.stdout(`archkit ${version()}\n`);
      return 0;
    }
    if (parsed.help || parsed.command === undefined) {
      const text = parsed.command ? HELP[parsed.command]! : MAIN_HELP;
      if (parsed.help) {
        io.stdout(text);
        return 0;
      }
      io.stderr(text);
      return 2;
    }
    switch (parsed.command) {
      case 'list':
        return await cmdList(io, parsed);
      case 'conformance':
        return await cmdConformance(io, parsed);
      case 'mutants':
        return await cmdMutants(io, parsed);
      case 'oracle':
        return await cmdOracle(io, parsed);
      case 'merge':
        return await cmdMerge(io, parsed);
      case 'status':
        return await cmdStatus(io, parsed);
    }
    return 2;
  } catch (e) {
    if (e instanceof UsageError) {
      const hint = e.command ? `archkit ${e.command} --help` : 'archkit --help';
      io.stderr(`archkit: ${e.message}\n(see: ${hint})\n`);
      return 2;
    }
    // a report path that cannot be used, a merge input that cannot be read: one line, before anything ran
    if (e instanceof OutputError || e instanceof MergeError) {
      io.stderr(`archkit: ${e.message}\n`);
      return 2;
    }
    const debug = io.env['ARCHKIT_DEBUG'] === '1';
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr(`archkit: ${err.message}\n`);
    if (debug && err.stack) io.stderr(err.stack + '\n');
    else if (!(err.name && err.name !== 'Error' && err.name !== 'TypeError' && err.name !== 'RangeError' && err.name !== 'ReferenceError'))
      io.stderr('(set ARCHKIT_DEBUG=1 for the stack trace)\n');
    return 1;
  }
}

/** Flushes stdout/stderr, then exits with `code`. */
export function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  void main(process.argv.slice(2)).then(exitAfterFlush);
}
