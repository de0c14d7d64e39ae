// A worker thread of the job pool (pool.ts): one runner, claiming jobs one after another.

import { parentPort } from 'node:worker_threads';
import { createRunner } from './runner.ts';
import { claim, optsOf, type JobMessage, type WorkerReply } from './pool.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread of pool.ts');
const runner = createRunner();
const send = (m: WorkerReply) => port.postMessage(m);

port.on('message', async (m: JobMessage) => {
  const next = new Int32Array(m.next);
  for (let job = claim(next, m.specs.length); job >= 0; job = claim(next, m.specs.length)) {
    const spec = m.specs[job]!;
    send({ type: 'start', job });
    try {
      const rep = await runner.runArch(spec.arch, spec.ids, optsOf(spec, (r) => send({ type: 'result', job, r })));
      send({ type: 'done', job, rep });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      send({ type: 'error', job, name: err.name, message: err.message });
    }
  }
  send({ type: 'idle' });
});
