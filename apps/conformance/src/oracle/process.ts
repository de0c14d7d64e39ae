// Running a program with a deadline: its whole process group is killed when time is up,
// so a hung oracle program (and the tasks it traces or forked) never hangs the caller.

import { spawn } from 'node:child_process';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** set when the program could not be started at all (ENOENT, EACCES, ENOEXEC...) */
  spawnError?: string;
  ms: number;
}

const MAX_OUTPUT = 1 << 20;

export function runProcess(file: string, args: string[], opts: { timeoutMs: number; cwd?: string }): Promise<ProcessResult> {
  const t0 = performance.now();
  return new Promise((resolvePromise) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    const finish = (r: Omit<ProcessResult, 'stdout' | 'stderr' | 'timedOut' | 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolvePromise({ ...r, stdout, stderr, timedOut, ms: performance.now() - t0 });
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      resolvePromise({ code: null, signal: null, stdout, stderr, timedOut, spawnError: err.code ?? err.message, ms: 0 });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.on('error', (e: NodeJS.ErrnoException) => finish({ code: null, signal: null, spawnError: e.code ?? e.message }));
    // whatever the program left behind in its group goes with it
    child.on('exit', () => killGroup(child.pid));
    child.on('close', (code, signal) => {
      finish({ code, signal });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
