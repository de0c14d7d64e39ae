// Runs the runner's per-arch jobs on worker threads, one job per (arch, entry model, mutant),
// over the machine's cores. The reports come back in the order the jobs were given and are
// the same as from a serial run: each job runs whole in one worker, on its own machines.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EntryModel } from '@archkit/generic-core/contracts/descriptor';
import type { ArchReport, Runner, ScenarioReport } from './types.ts';

export interface Job {
  arch: string;
  ids: string[];
  mutant?: string;
  entryModel?: EntryModel;
  /** scenarios run as interrupt sweeps */
  sweep?: string[];
}

/** The whole job list, once per worker: it claims jobs itself from the shared counter. */
export interface JobMessage {
  type: 'jobs';
  specs: Job[];
  /** Int32Array over it: [0] the next job to claim */
  next: SharedArrayBuffer;
}

export type WorkerReply =
  | { type: 'start'; job: number }
  | { type: 'result'; job: number; r: ScenarioReport }
  | { type: 'done'; job: number; rep: ArchReport }
  | { type: 'error'; job: number; name: string; message: string }
  | { type: 'idle' };

/** Claims the next job index, or -1 when none is left (any thread: Atomics on shared memory). */
export function claim(next: Int32Array, total: number): number {
  const i = Atomics.add(next, 0, 1);
  return i < total ? i : -1;
}

/** How many workers to use for `jobs` jobs: --jobs, else the cores (one job: none). */
export function workerCount(jobs: number, requested?: number): number {
  const n = requested ?? availableParallelism();
  return Math.max(0, Math.min(n, jobs) <= 1 ? 0 : Math.min(n, jobs));
}

/** The worker module next to this one (worker.js when built; from sources, through worker-ts.mjs, which registers tsx). */
function workerUrl(): URL {
  const self = new URL(import.meta.url);
  return new URL(self.pathname.endsWith('.ts') ? './worker-ts.mjs' : './worker.js', self);
}

/**
 * Runs every job and returns, in job order, each one's report or the error that ended it
 * (one job's error does not stop the others). `workers` 0 runs them here, one after
 * another, on `local`. Otherwise `workers` threads share them: this one (on `local`) and
 * workers - 1 worker threads, each claiming the next job from a shared counter as it
 * finishes one, so no thread waits on another to hand it work. onResult sees each scenario
 * as it finishes (job index first).
 */
export async function runJobs(local: Runner, jobs: Job[], workers: number, onResult?: (job: number, r: ScenarioReport) => void): Promise<Array<ArchReport | Error>> {
  const out: Array<ArchReport | Error> = new Array(jobs.length);
  const runHere = async (i: number): Promise<void> => {
    const j = jobs[i]!;
    try {
      out[i] = await local.runArch(j.arch, j.ids, optsOf(j, (r) => onResult?.(i, r)));
    } catch (e) {
      out[i] = e instanceof Error ? e : new Error(String(e));
    }
  };
  if (workers <= 0) {
    for (let i = 0; i < jobs.length; i++) await runHere(i);
    return out;
  }
  const shared = new SharedArrayBuffer(4);
  const next = new Int32Array(shared);
  let broken: Error | undefined;
  const thread = (): Promise<void> =>
    new Promise<void>((resolveWorker) => {
      const w = new Worker(workerUrl(), { execArgv: process.execArgv });
      let running = -1;
      const finish = () => {
        void w.terminate();
        resolveWorker();
      };
      w.on('message', (m: WorkerReply) => {
        if (m.type === 'start') running = m.job;
        else if (m.type === 'result') onResult?.(m.job, m.r);
        else if (m.type === 'done') out[m.job] = m.rep;
        else if (m.type === 'error') {
          const e = new Error(m.message);
          e.name = m.name;
          out[m.job] = e;
        } else finish();
      });
      // the worker itself died (not a job's error): the job it ran fails, the rest stop
      w.on('error', (e) => {
        if (running >= 0 && out[running] === undefined) out[running] = e;
        broken ??= e;
        Atomics.store(next, 0, jobs.length);
        finish();
      });
      w.postMessage({ type: 'jobs', specs: jobs, next: shared } satisfies JobMessage);
    });
  const here = async (): Promise<void> => {
    for (let i = claim(next, jobs.length); i >= 0 && !broken; i = claim(next, jobs.length)) {
      await runHere(i);
      // let the workers' messages (progress, reports) in between jobs
      await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all([...Array.from({ length: workers - 1 }, thread), here()]);
  for (let i = 0; i < out.length; i++) out[i] ??= broken ?? new Error('the job was not run');
  return out;
}

/** The reports, or the first job's error thrown. */
export function allReports(rs: Array<ArchReport | Error>): ArchReport[] {
  const e = rs.find((r): r is Error => r instanceof Error);
  if (e) throw e;
  return rs as ArchReport[];
}

export function optsOf(j: Job, onResult?: (r: ScenarioReport) => void): Parameters<Runner['runArch']>[2] {
  const sweep = j.sweep && j.sweep.length ? new Set(j.sweep) : undefined;
  return {
    ...(j.mutant ? { mutant: j.mutant } : {}),
    ...(j.entryModel ? { entryModel: j.entryModel } : {}),
    ...(sweep ? { sweep: (id: string) => sweep.has(id) } : {}),
    ...(onResult ? { onResult } : {}),
  };
}
