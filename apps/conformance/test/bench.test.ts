import { describe, expect, it } from 'vitest';
import { bench, matrixScenarios, median, measureFloor, renderBench } from '../src/bench.ts';
import type { ArchInfo, Runner } from '../src/types.ts';

// A Machine stand-in: records what the floor measurement does.
function fakeMachines(log: string[]) {
  return (spec: { arch: number }) =>
    ({
      map: (base: bigint, size: number) => log.push(`${spec.arch} map ${base.toString(16)} ${size}`),
      write: (_a: bigint, d: Uint8Array) => log.push(`write ${d.length}`),
      run: (pc: bigint, _l: unknown, until?: bigint) => {
        log.push(`run ${pc.toString(16)}..${until?.toString(16)}`);
        return { instructions: 8, reason: 'until' };
      },
      close: () => log.push('close'),
    }) as never;
}

const ARCHES: ArchInfo[] = ['x86_64', 'arm64'].map((arch) => ({ arch, title: arch, emulator: 'unicorn', assembler: 'keystone', entryModel: 'generic-entry', entryModels: ['generic-entry'], mutants: [] }));
const CPU = { name: 'test', nop: Uint8Array.from([0x1f, 0x20, 0x03, 0xd5]), unicorn: { arch: 2, mode: 0, registers: { pc: 260 }, pc: 'pc' } };

describe('bench', () => {
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('floor: fresh engine each time, map, run a few no-ops, close', () => {
    const log: string[] = [];
    const r = measureFloor(fakeMachines(log), CPU, 5);
    expect(r.ms).toBeGreaterThanOrEqual(0);
    expect(log.filter((l) => l === 'close')).toHaveLength(8); // 3 warm-up + 5
    expect(log.slice(0, 4)).toEqual(['2 map 10000 4096', 'write 32', 'run 10000..10020', 'close']);
  });

  it('per arch: cold (first run) and warm (later runs) medians and their ratios; the process walls, projected', async () => {
    let calls = 0;
    const runner: Runner = {
      listArches: async () => ARCHES,
      listScenarios: () => [],
      runArch: async (arch, ids) => {
        calls++;
        // the first run of each scenario is cold: 10 ms; later ones (i + 1) * 2
        return {
          arch,
          entryModel: 'generic-entry',
          emulator: 'unicorn',
          assembler: 'keystone',
          scenarios: ids.map((id, i) => ({ id, status: 'pass' as const, message: '', observed: {}, guestInstructions: 1, ms: calls % 3 === 1 ? 10 : (i + 1) * 2 })),
        };
      },
    };
    const cli: string[][] = [];
    const r = await bench(runner, ARCHES, ['a.x', 'a.y', 'a.z'], {
      reps: 3,
      floorRuns: 3,
      createMachine: fakeMachines([]),
      createMachineNoTimer: fakeMachines([]),
      cpuOf: async () => CPU,
      runCli: (args) => (cli.push(args), { ms: args[0] === 'mutants' ? 500 : 120, status: 0 }),
    });
    expect(calls).toBe(6);
    expect(r.arches.map((a) => [a.arch, a.coldMedianMs, a.warmMedianMs])).toEqual([
      ['x86_64', 10, 4],
      ['arm64', 10, 4],
    ]);
    for (const a of r.arches) {
      expect(a.warmRatio).toBeCloseTo(a.warmMedianMs / a.floorMs);
      expect(a.coldRatio).toBeCloseTo(a.coldMedianMs / a.floorMs);
      expect(a.warmRatioNoTimer).toBeCloseTo(a.warmMedianMs / a.floorNoTimerMs!);
      expect(a.coldRatioNoTimer).toBeCloseTo(a.coldMedianMs / a.floorNoTimerMs!);
      expect(Object.keys(a).sort()).toEqual(['arch', 'coldMedianMs', 'coldRatio', 'coldRatioNoTimer', 'floorMs', 'floorNoTimerMs', 'warmMedianMs', 'warmRatio', 'warmRatioNoTimer']);
    }
    expect(r.matrix).toEqual({ cells: 6, wallMs: 120, projected25x38Ms: (120 * 950) / 6 });
    expect(r.mutants).toEqual({ wallMs: 500 });
    expect(r.sweep).toEqual({ wallMs: 120 });
    expect(cli).toEqual([
      ['conformance', '--arch', 'x86_64,arm64', '--scenario', 'a.x,a.y,a.z'],
      ['mutants', '--arch', 'x86_64,arm64'],
      ['conformance', '--arch', 'x86_64,arm64', '--scenario', 'irq.sweep'],
    ]);
    const text = renderBench(r);
    expect(text).toMatch(/^arch\s+floor ms\s+warm median ms\s+warm ratio\s+cold median ms\s+cold ratio\s+floor w\/o timer ms\s+warm ratio\s+cold ratio/);
    expect(text).toContain('matrix: 6 cells in 120 ms as one process, 19000 ms projected to 25 x 38');
  });

  it('the floor is the lower of the medians taken before and after the arch runs (a busy moment only adds time)', async () => {
    let engines = 0;
    // the first measurement (3 warm-ups + 3 runs) is slow: 2 ms a run
    const machines = (spec: { arch: number }) => {
      const slow = ++engines <= 6;
      const m = fakeMachines([])(spec) as { run: (...a: unknown[]) => unknown };
      const run = m.run;
      m.run = (...a: unknown[]) => {
        const until = performance.now() + (slow ? 2 : 0);
        while (performance.now() < until);
        return run(...a);
      };
      return m as never;
    };
    const runner = { runArch: async (arch: string, ids: string[]) => ({ arch, scenarios: ids.map((id) => ({ id, status: 'pass', message: '', observed: {}, guestInstructions: 1, ms: 1 })) }) } as unknown as Runner;
    const r = await bench(runner, ARCHES.slice(0, 1), ['a.x'], { reps: 2, floorRuns: 3, createMachine: machines, cpuOf: async () => CPU });
    expect(engines).toBe(12);
    expect(r.arches[0]!.floorMs).toBeLessThan(1);

    // a measurement that fails gives way to the other
    let calls = 0;
    const failFirst = (spec: { arch: number }) => {
      if (++calls === 1) throw new Error('no engine');
      return fakeMachines([])(spec);
    };
    const log: string[] = [];
    const r2 = await bench(runner, ARCHES.slice(0, 1), ['a.x'], { reps: 2, floorRuns: 3, createMachine: failFirst, cpuOf: async () => CPU, log: (l) => log.push(l) });
    expect(Number.isFinite(r2.arches[0]!.floorMs)).toBe(true);
    expect(log.filter((l) => l.includes('no bare-engine floor'))).toHaveLength(1);
  });

  it('the projected matrix leaves the interrupt sweeps out', () => {
    expect(matrixScenarios([{ id: 'fork.vfork' }, { id: 'irq.sweep' }, { id: 'irq.in-kernel' }])).toEqual(['fork.vfork', 'irq.in-kernel']);
  });
});
