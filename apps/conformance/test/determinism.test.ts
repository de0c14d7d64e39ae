// The same matrix gives the same report whatever the way it runs: serially on reused
// engines (each reset checked byte for byte against the boot state), serially on a fresh
// engine per scenario, split over worker threads, and with the guest instructions counted
// in JavaScript instead of the native fast path (guest instruction counts included).
import { describe, expect, it } from 'vitest';
import { createRunner } from '../src/runner.ts';
import { allReports, runJobs, type Job } from '../src/pool.ts';
import type { ArchReport } from '../src/types.ts';

// three arches by default (npm test stays quick); ARCHKIT_DETERMINISM_ARCHES=all (what .ci/run sets) or a list for more
const ARCHES_ENV = process.env['ARCHKIT_DETERMINISM_ARCHES'];
const ARCHES = !ARCHES_ENV ? ['x86_64', 'arm64', 'riscv64'] : ARCHES_ENV === 'all' ? [...(await createRunner().listArches())].filter((a) => a.error === undefined).map((a) => a.arch) : ARCHES_ENV.split(',');

/** Runs `f` with these environment variables set, then puts the old values back. */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

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
    const reused = await withEnv({ ARCHKIT_VERIFY_RESET: '1' }, async () => allReports(await runJobs(runner, jobs, 0)));
    const fresh: ArchReport[] = await withEnv({ ARCHKIT_FRESH_ENGINE: '1' }, async () => allReports(await runJobs(createRunner(), jobs, 0)));
    const parallel = allReports(await runJobs(runner, jobs, 2));
    const jsCounter = await withEnv({ ARCHKIT_NATIVE: '0' }, async () => allReports(await runJobs(createRunner(), jobs, 0)));
    expect(reused.flatMap((a) => a.scenarios).filter((s) => s.status === 'fail')).toEqual([]);
    expect(strip(fresh)).toEqual(strip(reused));
    expect(strip(parallel)).toEqual(strip(reused));
    expect(strip(jsCounter)).toEqual(strip(reused));
  }, 120_000);

  it('an interrupt sweep gives the same points and verdict on a reused engine as on fresh ones', async () => {
    const jobs: Job[] = [{ arch: 'x86_64', ids: ['irq.sweep'] }];
    const reused = await withEnv({ ARCHKIT_VERIFY_RESET: '1' }, async () => allReports(await runJobs(createRunner(), jobs, 0)));
    const fresh = await withEnv({ ARCHKIT_FRESH_ENGINE: '1' }, async () => allReports(await runJobs(createRunner(), jobs, 0)));
    expect(strip(fresh)).toEqual(strip(reused));
    expect(reused[0]!.scenarios[0]!.observed['injectionPoints']).toBeGreaterThan(50);
  }, 120_000);
});
