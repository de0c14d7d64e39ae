import { describe, expect, it } from 'vitest';
import { bench, median, measureFloor, renderBench } from '../src/bench.ts';
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

  it('per-arch scenario medians, ratio to the floor, matrix wall time', async () => {
    let calls = 0;
    const runner: Runner = {
      listArches: async () => ARCHES,
      listScenarios: () => [],
      runArch: async (arch, ids) => {
        calls++;
        return {
          arch,
          entryModel: 'generic-entry',
          emulator: 'unicorn',
          assembler: 'keystone',
          scenarios: ids.map((id, i) => ({ id, status: 'pass' as const, message: '', observed: {}, guestInstructions: 1, ms: (i + 1) * 2 })),
        };
      },
    };
    const r = await bench(runner, ARCHES, ['a.x', 'a.y', 'a.z'], { reps: 2, floorRuns: 3, createMachine: fakeMachines([]), cpuOf: async () => CPU });
    expect(calls).toBe(4);
    expect(r.arches.map((a) => [a.arch, a.scenarios, a.scenarioMedianMs, a.scenarioMaxMs])).toEqual([
      ['x86_64', 3, 4, 6],
      ['arm64', 3, 4, 6],
    ]);
    for (const a of r.arches) expect(a.ratio).toBeCloseTo(a.scenarioMedianMs / a.floorMs);
    expect(r.matrixWallMs.first).toBeGreaterThanOrEqual(0);
    const text = renderBench(r);
    expect(text).toMatch(/^arch\s+emulator\s+scenarios\s+floor ms\s+scenario median ms/);
    expect(text).toContain('whole matrix (2 arches)');
  });
});
