// `npm run bench`: what users run, measured side by side in one process. Per arch: the
// bare-engine floor (a fresh Unicorn engine: create, map, run a few instructions, close;
// measured twice: run with a deadline, as the skeleton's floor was, and without one),
// the cold cost of a scenario (its first run in a fresh runner: what the CLI pays per cell)
// and the warm one (later runs), with their ratios to the floor. Then, each as one cold
// process, the wall time of `archkit conformance --arch all` (every scenario but the
// interrupt sweeps, which are timed on their own) projected to 25 arches x 38 scenarios,
// of `archkit mutants --arch all`, and of `archkit conformance --arch all --scenario
// irq.sweep`. Figures only: nothing here asserts on timings.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchInfo, Runner } from './types.ts';
import { exitAfterFlush, selectArches, UsageError } from './cli.ts';
import { writeJsonFile } from './report/json.ts';
import { renderTable } from './report/table.ts';
import type { Machine } from '@archkit/generic-core/machine/machine';
import type { UnicornCpu } from '@archkit/generic-core/machine/unicorn/machine';
import { UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { ArchModule } from '@archkit/generic-core/contracts/port';

const HELP = `Usage: archkit bench [--arch LIST] [--reps N] [--floor-runs N] [--no-processes] [--json FILE]

Per arch: the bare-engine floor (median of --floor-runs fresh engines: create, map, run a
few no-ops with a 2 s deadline, close; Unicorn keeps a deadline with a timer thread; taken
before and after the arch's scenario runs, the lower of the two medians), the
cold median per scenario (each scenario's first run in a fresh runner, what the CLI pays
per cell) and the warm median (the later --reps - 1 runs), and their ratios to the floor;
beside them the same ratios to the floor without a deadline (no timer thread). Then, each
as one cold child process: the wall of "archkit conformance" over the arches (every
scenario but irq.sweep), projected to 25 arches x 38 scenarios; the wall of "archkit
mutants"; the wall of the irq.sweep runs.

Options:
  --arch LIST        comma-separated arch names, or "all" (default: all)
  --reps N           runs of each scenario per arch; the first is the cold one (default 4)
  --floor-runs N     fresh engines measured for the floor (default 30)
  --no-processes     leave out the three child-process walls (matrix, mutants, sweep)
  --json FILE        also write the figures as JSON:
                     { arches: [{ arch, floorMs, warmMedianMs, coldMedianMs, warmRatio,
                       coldRatio, floorNoTimerMs, warmRatioNoTimer, coldRatioNoTimer }],
                       matrix: { cells, wallMs, projected25x38Ms },
                       mutants: { wallMs }, sweep: { wallMs } }
`;

const FLOOR_INSNS = 8;
const FLOOR_BASE = 0x10000n;
/**
 * The floor's deadline: UcEngine.start's default, what a plain Unicorn user passes and what
 * the skeleton's floor (0.33 ms x86_64, 0.50 ms arm64) was measured with. Unicorn keeps it
 * with a timer thread per uc_emu_start; archkit's machine checks its deadline in the
 * instruction counter instead, so the floor without one is given too.
 */
export const FLOOR_TIMEOUT_US = 2_000_000n;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What the floor needs of a CPU: its engine and one no-op. */
export interface FloorCpu {
  name: string;
  nop: Uint8Array;
  unicorn: UnicornCpu;
}

/** What the floor runs on: a fresh engine with the few calls it makes. */
type FloorEngine = Pick<Machine, 'map' | 'write' | 'run' | 'close'>;
type CreateMachine = (cpu: UnicornCpu) => FloorEngine;

/**
 * The bare engine: Unicorn itself (uc_open, uc_mem_map, uc_mem_write, uc_emu_start with
 * `timeoutUs` (0: none, no timer thread), uc_close), with none of the machine's hooks; in
 * the state firmware hands over when the CPU model says it needs one (UnicornCpu.bare).
 */
export function bareEngine(cpu: UnicornCpu, timeoutUs: bigint = FLOOR_TIMEOUT_US): FloorEngine {
  const uc = UcEngine.open(cpu.arch, cpu.mode, cpu.model);
  try {
    cpu.bare?.(uc);
  } catch (e) {
    uc.close();
    throw e;
  }
  return {
    map: (base, size) => {
      // the target's page size when larger (sparc64: 8 KiB)
      uc.memMap(base, Math.max(size, uc.pageSize() ?? size), 7);
    },
    write: (addr, data) => uc.memWrite(addr, data),
    run: (pc, limits, until) => {
      // Unicorn's own count stops it too (sparc64 2.0.1 never returns at `until`)
      const err = uc.start(pc, until ?? 0n, timeoutUs, FLOOR_INSNS);
      if (err) throw new Error(`the bare engine stopped with uc_err ${err} at pc=0x${uc.regRead(cpu.registers[cpu.pc] as number).toString(16)}`);
      return { instructions: limits.instructions, reason: 'until' };
    },
    close: () => uc.close(),
  };
}

/** The bare engine run with no deadline: no timer thread. */
export const bareEngineNoTimer = (cpu: UnicornCpu): FloorEngine => bareEngine(cpu, 0n);

/** Median ms of: create engine, map a page, write and run FLOOR_INSNS no-ops, close. */
export function measureFloor(create: CreateMachine, cpu: FloorCpu, runs: number): { ms: number } {
  const code = new Uint8Array(Array.from({ length: FLOOR_INSNS }, () => [...cpu.nop]).flat());
  const once = (): number => {
    const t = performance.now();
    const m = create(cpu.unicorn);
    try {
      m.map(FLOOR_BASE, 0x1000, 7);
      m.write(FLOOR_BASE, code);
      m.run(FLOOR_BASE, { instructions: FLOOR_INSNS * 4 }, FLOOR_BASE + BigInt(code.length));
    } finally {
      m.close();
    }
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i++) once(); // warm-up: library load, JIT of the JS glue
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(once());
  return { ms: median(times) };
}

/** The lower of two floor measurements (a failed one, NaN, gives way to the other). */
function lower(x: { ms: number }, y: { ms: number }): { ms: number } {
  return Number.isNaN(x.ms) || y.ms < x.ms ? y : x;
}

export interface ArchBench {
  arch: string;
  floorMs: number;
  /** median over scenarios of each one's median over the warm runs */
  warmMedianMs: number;
  /** median over scenarios of each one's first run in a fresh runner */
  coldMedianMs: number;
  warmRatio: number;
  coldRatio: number;
  /** the floor without a deadline (no timer thread), and the ratios to it */
  floorNoTimerMs?: number;
  warmRatioNoTimer?: number;
  coldRatioNoTimer?: number;
}

export interface BenchReport {
  arches: ArchBench[];
  /** `archkit conformance` over the arches, one cold process; cells = arches x scenarios (sweeps left out) */
  matrix: { cells: number; wallMs: number; projected25x38Ms: number };
  mutants: { wallMs: number };
  sweep: { wallMs: number };
}

async function portCpu(arch: string): Promise<FloorCpu> {
  const mod = (await import(`@archkit/arch-${arch}`)) as ArchModule;
  const cpu = (await mod.createPort()).cpu;
  cpu.unicorn.calibrate?.();
  return cpu;
}

/** Wall time of one child process of the CLI (its output is dropped; a failure is reported, not thrown). */
export type RunCli = (args: string[]) => { ms: number; status: number };

export function runCliProcess(args: string[]): { ms: number; status: number } {
  // the command users run: bin/archkit.js (the built CLI when dist/ is fresh, else the sources through tsx)
  const bin = fileURLToPath(new URL('../bin/archkit.js', import.meta.url));
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'ignore', env: process.env });
  return { ms: performance.now() - t, status: r.status ?? 1 };
}

/** The scenarios of the projected matrix: the catalogue but the interrupt sweeps. */
export function matrixScenarios(all: Array<{ id: string }>): string[] {
  return all.map((s) => s.id).filter((id) => !id.endsWith('.sweep'));
}

export async function bench(
  runner: Runner,
  arches: ArchInfo[],
  ids: string[],
  opts: { reps: number; floorRuns: number; createMachine: CreateMachine; createMachineNoTimer?: CreateMachine; cpuOf?: (arch: string) => Promise<FloorCpu>; runCli?: RunCli; log?: (s: string) => void },
): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const out: ArchBench[] = [];
  for (const a of arches) {
    const cpu = await (opts.cpuOf ?? portCpu)(a.arch);
    // a CPU that cannot run a few no-ops on a bare engine has no floor; its ratios are left
    // out (a CPU model's `bare` puts the engine in the state firmware hands over first)
    const floorOf = (create: CreateMachine): { ms: number } => {
      try {
        return measureFloor(create, cpu, opts.floorRuns);
      } catch (e) {
        log(`bench: ${a.arch}: no bare-engine floor: ${(e as Error).message}`);
        return { ms: NaN };
      }
    };
    const before = floorOf(opts.createMachine);
    const noTimerBefore = opts.createMachineNoTimer ? floorOf(opts.createMachineNoTimer) : undefined;
    // one scenario at a time in a fresh runner (each run of runArch starts its engine afresh):
    // the first run of a scenario is cold (its programs compiled, its engine booted)
    const perScenario = new Map<string, number[]>();
    for (let rep = 0; rep < opts.reps; rep++) {
      const r = await runner.runArch(a.arch, ids, {});
      for (const s of r.scenarios) perScenario.set(s.id, [...(perScenario.get(s.id) ?? []), s.ms]);
    }
    // the floor again after the runs, and the lower of the two: a busy moment on a shared
    // machine only ever adds time, and a floor taken in one would flatter the ratios
    const floor = lower(before, floorOf(opts.createMachine));
    const noTimer = noTimerBefore && opts.createMachineNoTimer ? lower(noTimerBefore, floorOf(opts.createMachineNoTimer)) : undefined;
    const cold = median([...perScenario.values()].map((xs) => xs[0]!));
    const warm = median([...perScenario.values()].map((xs) => median(xs.slice(1))));
    const b: ArchBench = { arch: a.arch, floorMs: floor.ms, warmMedianMs: warm, coldMedianMs: cold, warmRatio: warm / floor.ms, coldRatio: cold / floor.ms };
    if (noTimer) Object.assign(b, { floorNoTimerMs: noTimer.ms, warmRatioNoTimer: warm / noTimer.ms, coldRatioNoTimer: cold / noTimer.ms });
    log(
      `bench: ${a.arch}: floor ${f(b.floorMs, 3)} ms, warm ${f(warm)} ms (${f(b.warmRatio, 1)}x), cold ${f(cold)} ms (${f(b.coldRatio, 1)}x)` +
        (noTimer ? `; floor without timer thread ${f(noTimer.ms, 3)} ms (${f(b.warmRatioNoTimer!, 1)}x, ${f(b.coldRatioNoTimer!, 1)}x)` : ''),
    );
    out.push(b);
  }
  const archList = arches.map((a) => a.arch).join(',');
  const cells = arches.length * ids.length;
  const cli = opts.runCli;
  const time = (what: string, args: string[]): number => {
    if (!cli) return NaN;
    const r = cli(args);
    log(`bench: ${what}: ${f(r.ms, 0)} ms${r.status ? ` (exit ${r.status})` : ''}`);
    return r.ms;
  };
  const matrixMs = time('conformance', ['conformance', '--arch', archList, '--scenario', ids.join(',')]);
  const mutantsMs = time('mutants', ['mutants', '--arch', archList]);
  const sweepMs = time('irq.sweep', ['conformance', '--arch', archList, '--scenario', 'irq.sweep']);
  return {
    arches: out,
    matrix: { cells, wallMs: matrixMs, projected25x38Ms: cells ? (matrixMs * 25 * 38) / cells : NaN },
    mutants: { wallMs: mutantsMs },
    sweep: { wallMs: sweepMs },
  };
}

const f = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export function renderBench(r: BenchReport): string {
  const noTimer = r.arches.some((a) => a.floorNoTimerMs !== undefined);
  const x = (v: number | undefined): string => `${f(v ?? NaN, 1)}x`;
  let s = renderTable(
    ['arch', 'floor ms', 'warm median ms', 'warm ratio', 'cold median ms', 'cold ratio', ...(noTimer ? ['floor w/o timer ms', 'warm ratio', 'cold ratio'] : [])],
    r.arches.map((a) => [
      a.arch,
      f(a.floorMs, 3),
      f(a.warmMedianMs),
      x(a.warmRatio),
      f(a.coldMedianMs),
      x(a.coldRatio),
      ...(noTimer ? [f(a.floorNoTimerMs ?? NaN, 3), x(a.warmRatioNoTimer), x(a.coldRatioNoTimer)] : []),
    ]),
  );
  s += `
floor: median of fresh bare Unicorn engines (uc_open, map 4 KiB, run ${FLOOR_INSNS} no-ops with a ${Number(FLOOR_TIMEOUT_US) / 1e6} s deadline, uc_close: no hooks), the lower of the medians before and after the arch's runs
`;
  if (noTimer) s += `floor w/o timer: the same run with no deadline (Unicorn starts no timer thread; archkit's machine keeps its deadline in the instruction counter)
`;
  s += `warm/cold: median over scenarios of each one's later / first run in a fresh runner; ratio = / floor
`;
  s += `matrix: ${r.matrix.cells} cells in ${f(r.matrix.wallMs, 0)} ms as one process, ${f(r.matrix.projected25x38Ms, 0)} ms projected to 25 x 38
`;
  s += `mutants: ${f(r.mutants.wallMs, 0)} ms as one process
`;
  s += `irq.sweep: ${f(r.sweep.wallMs, 0)} ms as one process
`;
  return s;
}

function parse(argv: string[]): Record<string, string> {
  const known = new Set(['arch', 'reps', 'floor-runs', 'json', 'no-processes']);
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      o['help'] = '1';
      continue;
    }
    if (a === '--no-processes') {
      o['no-processes'] = '1';
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.has(m[1]!)) throw new UsageError(`unknown argument "${a}" (options: --arch, --reps, --floor-runs, --no-processes, --json)`);
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') throw new UsageError(`--${m[1]} needs a value`);
    o[m[1]!] = v;
  }
  for (const k of ['reps', 'floor-runs'])
    if (o[k] !== undefined && !/^[1-9][0-9]*$/.test(o[k]!)) throw new UsageError(`--${k} must be a positive integer`);
  return o;
}

export async function benchMain(argv: string[]): Promise<number> {
  try {
    const o = parse(argv);
    if (o['help']) {
      process.stdout.write(HELP);
      return 0;
    }
    const { createRunner } = (await import('./runner.ts')) as { createRunner: () => Runner | Promise<Runner> };
    const runner = await createRunner();
    const ids = matrixScenarios(runner.listScenarios());
    // an arch whose lib cannot be loaded (malformed arch.json, ...) is left out, with its error
    const arches = selectArches(await runner.listArches(), o['arch']).filter((a) => {
      if (a.error !== undefined) process.stderr.write(`archkit bench: ${a.arch} left out: ${a.error}\n`);
      return a.error === undefined;
    });
    const report = await bench(runner, arches, ids, {
      reps: Number(o['reps'] ?? 4),
      floorRuns: Number(o['floor-runs'] ?? 30),
      createMachine: bareEngine,
      createMachineNoTimer: bareEngineNoTimer,
      ...(o['no-processes'] ? {} : { runCli: runCliProcess }),
      log: (s) => process.stderr.write(s + '\n'),
    });
    process.stdout.write(renderBench(report));
    if (o['json']) writeJsonFile(resolve(process.cwd(), o['json']), report);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n${HELP}`);
      return 2;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`archkit bench: ${err.message}\n`);
    if (process.env['ARCHKIT_DEBUG'] === '1' && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void benchMain(process.argv.slice(2)).then(exitAfterFlush);
}
