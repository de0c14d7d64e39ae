// The same matrix gives the same report whatever the way it runs: serially on reused
// engines, serially on a fresh engine per scenario, and split over worker threads.
import { describe, expect, it } from 'vitest';
import { createRunner } from '../src/runner.ts';
import { allReports, runJobs, type Job } from '../src/pool.ts';
import type { ArchReport } from '../src/types.ts';

const ARCHES = ['x86_64', 'arm64', 'riscv64'];

/** A report without its timings. */
function strip(reps: ArchReport[]): unknown {
  return reps.map((a) => ({ ...a, scenarios: a.scenarios.map(({ ms: _ms, ...s }) => s) }));
}

describe('determinism', () => {
  it('reused engines, fresh engines and worker threads give the same report', async () => {
    const runner = createRunner();
    const ids = runner
      .listScenarios()
      .map((s) => s.id)
      .filter((id) => id !== 'irq.sweep');
    const jobs: Job[] = ARCHES.map((arch) => ({ arch, ids }));
    const reused = allReports(await runJobs(runner, jobs, 0));
    process.env.ARCHKIT_FRESH_ENGINE = '1';
    let fresh: ArchReport[];
    try {
      fresh = allReports(await runJobs(createRunner(), jobs, 0));
    } finally {
      delete process.env.ARCHKIT_FRESH_ENGINE;
    }
    const parallel = allReports(await runJobs(runner, jobs, 2));
    expect(reused.flatMap((a) => a.scenarios).filter((s) => s.status === 'fail')).toEqual([]);
    expect(strip(fresh)).toEqual(strip(reused));
    expect(strip(parallel)).toEqual(strip(reused));
  }, 120_000);

  it('an interrupt sweep gives the same points and verdict on a reused engine as on fresh ones', async () => {
    const jobs: Job[] = [{ arch: 'x86_64', ids: ['irq.sweep'] }];
    const reused = allReports(await runJobs(createRunner(), jobs, 0));
    process.env.ARCHKIT_FRESH_ENGINE = '1';
    try {
      const fresh = allReports(await runJobs(createRunner(), jobs, 0));
      expect(strip(fresh)).toEqual(strip(reused));
    } finally {
      delete process.env.ARCHKIT_FRESH_ENGINE;
    }
    expect(reused[0]!.scenarios[0]!.observed['injectionPoints']).toBeGreaterThan(50);
  }, 120_000);
});
