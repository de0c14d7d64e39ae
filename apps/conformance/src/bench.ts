// `npm run bench`: per arch, the bare emulator floor (fresh Unicorn engine: create, map, run a
// few instructions, close), the median cost of one scenario through the Runner, their ratio,
// and the wall time of the whole matrix. Figures only: nothing here asserts on timings.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchInfo, Runner } from './types.ts';
import { exitAfterFlush, selectArches, selectScenarios, UsageError } from './cli.ts';
import { writeJsonFile } from './report/json.ts';
import { renderTable } from './report/table.ts';
import type { Machine } from '@archkit/generic-core/machine/machine';
import type { UnicornCpu } from '@archkit/generic-core/machine/unicorn/machine';
import type { ArchModule } from '@archkit/generic-core/contracts/port';

const HELP = `Usage: npm run bench -- [--arch LIST] [--scenario GLOBS] [--reps N] [--floor-runs N] [--json FILE]

Per arch: the bare emulator floor (median of --floor-runs fresh engines: create, map,
run a few instructions, close), the median cost of one scenario over --reps runs of the
matrix (through the runner), and their ratio; then the wall time of the whole matrix.

Options:
  --arch LIST        comma-separated arch names, or "all" (default: all)
  --scenario GLOBS   scenario id globs as for "archkit conformance" (default: all)
  --reps N           repetitions of the matrix (default 3)
  --floor-runs N     fresh engines measured for the floor (default 30)
  --json FILE        also write the figures as JSON
`;

const FLOOR_INSNS = 8;
const FLOOR_BASE = 0x10000n;

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

type CreateMachine = (cpu: UnicornCpu) => Machine;

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

export interface ArchBench {
  arch: string;
  emulator: string;
  scenarios: number;
  floorMs: number;
  /** median over scenarios of each scenario's median ms over the repetitions */
  scenarioMedianMs: number;
  scenarioMaxMs: number;
  /** median wall time of runArch for the whole scenario list (includes per-arch set-up) */
  archWallMs: number;
  ratio: number;
}

export interface BenchReport {
  reps: number;
  floorRuns: number;
  arches: ArchBench[];
  /** wall time of the whole matrix (all selected arches x scenarios): first run and median */
  matrixWallMs: { first: number; median: number };
}

async function portCpu(arch: string): Promise<FloorCpu> {
  const mod = (await import(`@archkit/arch-${arch}`)) as ArchModule;
  const cpu = (await mod.createPort()).cpu;
  cpu.unicorn.calibrate?.();
  return cpu;
}

export async function bench(
  runner: Runner,
  arches: ArchInfo[],
  ids: string[],
  opts: { reps: number; floorRuns: number; createMachine: CreateMachine; cpuOf?: (arch: string) => Promise<FloorCpu>; log?: (s: string) => void },
): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const perScenario = new Map<string, Map<string, number[]>>(arches.map((a) => [a.arch, new Map()]));
  const archWall = new Map<string, number[]>(arches.map((a) => [a.arch, []]));
  const matrixWall: number[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    const t0 = performance.now();
    for (const a of arches) {
      const t = performance.now();
      const r = await runner.runArch(a.arch, ids, {});
      archWall.get(a.arch)!.push(performance.now() - t);
      const m = perScenario.get(a.arch)!;
      for (const s of r.scenarios) {
        const xs = m.get(s.id) ?? [];
        xs.push(s.ms);
        m.set(s.id, xs);
      }
    }
    matrixWall.push(performance.now() - t0);
    log(`bench: matrix run ${rep + 1}/${opts.reps}: ${matrixWall.at(-1)!.toFixed(0)} ms`);
  }
  const out: ArchBench[] = [];
  for (const a of arches) {
    const cpu = await (opts.cpuOf ?? portCpu)(a.arch);
    const floor = measureFloor(opts.createMachine, cpu, opts.floorRuns);
    log(`bench: ${a.arch} floor ${floor.ms.toFixed(3)} ms`);
    const meds = [...perScenario.get(a.arch)!.values()].map(median);
    const scenarioMedianMs = median(meds);
    const b: ArchBench = {
      arch: a.arch,
      emulator: a.emulator,
      scenarios: meds.length,
      floorMs: floor.ms,
      scenarioMedianMs,
      scenarioMaxMs: meds.length ? Math.max(...meds) : NaN,
      archWallMs: median(archWall.get(a.arch)!),
      ratio: scenarioMedianMs / floor.ms,
    };
    out.push(b);
  }
  return {
    reps: opts.reps,
    floorRuns: opts.floorRuns,
    arches: out,
    matrixWallMs: { first: matrixWall[0] ?? NaN, median: median(matrixWall) },
  };
}

const f = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export function renderBench(r: BenchReport): string {
  let s = renderTable(
    ['arch', 'emulator', 'scenarios', 'floor ms', 'scenario median ms', 'scenario max ms', 'ratio', 'arch run ms'],
    r.arches.map((a) => [
      a.arch,
      a.emulator,
      String(a.scenarios),
      f(a.floorMs, 3),
      f(a.scenarioMedianMs),
      f(a.scenarioMaxMs),
      Number.isFinite(a.ratio) ? `${a.ratio.toFixed(1)}x` : 'n/a',
      f(a.archWallMs, 0),
    ]),
  );
  s += `\nfloor: median of ${r.floorRuns} fresh engines (create, map 4 KiB, run ${FLOOR_INSNS} no-ops, close)\n`;
  s += `scenario: median over scenarios of each one's median over ${r.reps} runs; ratio = scenario median / floor\n`;
  s += `whole matrix (${r.arches.length} arch${r.arches.length === 1 ? '' : 'es'}): ${f(r.matrixWallMs.first, 0)} ms first run, ${f(r.matrixWallMs.median, 0)} ms median of ${r.reps}\n`;
  return s;
}

function parse(argv: string[]): Record<string, string> {
  const known = new Set(['arch', 'scenario', 'reps', 'floor-runs', 'json']);
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      o['help'] = '1';
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.has(m[1]!)) throw new UsageError(`unknown argument "${a}" (options: --arch, --scenario, --reps, --floor-runs, --json)`);
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
    const { createUnicornMachine } = await import('@archkit/generic-core/machine/unicorn/machine');
    const runner = await createRunner();
    const ids = selectScenarios(runner.listScenarios(), o['scenario']);
    // an arch whose lib cannot be loaded (malformed arch.json, ...) is left out, with its error
    const arches = selectArches(await runner.listArches(), o['arch']).filter((a) => {
      if (a.error !== undefined) process.stderr.write(`archkit bench: ${a.arch} left out: ${a.error}\n`);
      return a.error === undefined;
    });
    const report = await bench(runner, arches, ids, {
      reps: Number(o['reps'] ?? 3),
      floorRuns: Number(o['floor-runs'] ?? 30),
      createMachine: createUnicornMachine,
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
