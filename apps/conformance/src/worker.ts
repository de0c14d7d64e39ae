// A worker thread of the job pool (pool.ts): one runner, jobs one after another.

import { parentPort } from 'node:worker_threads';
import { createRunner } from './runner.ts';
import { optsOf, type JobMessage, type WorkerReply } from './pool.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread of pool.ts');
const runner = createRunner();
const send = (m: WorkerReply) => port.postMessage(m);

port.on('message', (m: JobMessage) => {
  const { job, spec } = m;
  runner
    .runArch(spec.arch, spec.ids, optsOf(spec, (r) => send({ type: 'result', job, r })))
    .then((rep) => send({ type: 'done', job, rep }))
    .catch((e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      send({ type: 'error', job, name: err.name, message: err.message });
    });
});
