// C5 work loop, C6 restarts, C7 signal frames, C8 ptrace, C9 thread-flag masks.
// What a scenario expects is what user mode of that arch's Linux sees; where the entry
// models differ (C5: a handler-less restart inside the kernel, or by rewinding the pc to
// the trap instruction and returning to user mode), the port's model says which applies.

import { comparableRegs, fillValue } from '@archkit/generic-core/user/compile';
import type { DataBlock, DataWord, Op } from '@archkit/generic-core/user/compile';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import { USER_DATA, USER_STACK_TOP, USER_VDSO } from '@archkit/generic-core/kernel/layout';
import { ERESTARTNOHAND, ERESTARTNOINTR } from '@archkit/generic-core/kernel/abi';
import {
  type Env,
  type HandlerSpec,
  type ScenarioDef,
  abiOf,
  clockEvent,
  entries,
  exit,
  expect,
  forkOp,
  forkSplit,
  hex,
  inputEvent,
  label,
  prog,
  result,
  set,
  sig,
  signalEvent,
  slot,
  store,
  storeResult,
  strWords,
  sys,
  task,
  withHandlers,
} from './dsl.ts';

const init = () => 1;

/** A program that installs handlers, makes one blocking call, stores its result (and the nr register), exits. */
function blocking(d: ArchDescriptor, call: Op, handlers: HandlerSpec[], extra: Op[] = []) {
  const data: Record<string, DataWord[] | DataBlock> = { buf: [0n, 0n, 0n, 0n], ts: [10n, 0n], rem: [0n, 0n] };
  const after = d.syscall.nr !== d.syscall.ret ? [store('nr', 'nrAfter')] : [];
  return { '/init': withHandlers(d, '/init', handlers, [call, ...storeResult(d, 'r'), ...after, ...extra, ...exit(0)], data) };
}

const readCall: Op = sys('read', 0, { data: 'buf' }, 16);
const ppollCall: Op = sys('ppoll', 0, 0, 0, 0, 8);
const sleepCall: Op = sys('nanosleep', { data: 'ts' }, { data: 'rem' });

const EINTR = (env: Env) => -env.abi.errno.EINTR;

function ret(env: Env): bigint | undefined {
  const r = result(env, 1, 'r');
  env.observed.ret = r === undefined ? undefined : Number(r);
  return r;
}

function handlerRuns(env: Env, signo: number): number {
  const v = Number(slot(env, 1, `h.h${signo}`) ?? 0n);
  env.observed.handlers = ((env.observed.handlers as number) ?? 0) + v;
  return v;
}

function syscallEntries(env: Env, name: string): number {
  const n = entries(env, name, 1).length;
  env.observed.syscallEntries = { ...(env.observed.syscallEntries as object), [name]: n };
  return n;
}

/**
 * C5, model-specific: between a syscall and its handler-less restart, `do-work-pending`
 * runs no user instruction; the rewinding models run exactly one, the trap instruction at
 * the rewound pc (the same instruction that made the first call). Also reported the way a
 * tracer on a real kernel sees it (the oracle's fields): the code at the first exit, the
 * syscall the restart re-entered, how far the pc went back.
 */
function checkRestartPath(env: Env, first: string, second = first): void {
  const e = env.k.syscalls.filter((s) => s.pid === 1);
  const i = e.findIndex((s) => s.name === first);
  const j = e.findIndex((s, n) => n > i && s.name === second);
  expect(i >= 0 && j >= 0, 'C6', `no ${second} entry after ${first}`);
  const between = e.slice(i + 1, j + 1).reduce((a, s) => a + s.userInsns, 0);
  env.observed.userInsnsBetweenEntries = between;
  env.observed.codeAtExitStop = e[i]!.result === undefined ? undefined : Number(e[i]!.result);
  env.observed.nrAtRewoundPc = e[j]!.name;
  // s390 (arch.json syscall.restartBlockTrampoline): a handler-less ERESTART_RESTARTBLOCK
  // restart sends the task to the vDSO's restart_syscall trampoline instead of rewinding
  const tramp = second === 'restart_syscall' ? env.d.syscall.restartBlockTrampoline : undefined;
  if (env.model === 'do-work-pending') {
    expect(between === 0, 'C5', `${between} user-mode instructions ran between ${first} and its restart: model do-work-pending restarts inside the kernel`);
  } else if (tramp !== undefined) {
    env.observed.restartVia = tramp;
    expect(between === 1, 'C5', `${between} user-mode instructions ran between ${first} and its restart: model ${env.model} runs exactly the trap instruction of the vDSO's ${tramp}`);
    expect(e[j]!.userPc === env.k.sym(tramp), 'C5', `the restart re-entered from user pc ${hex(e[j]!.userPc)}, not the vDSO's ${tramp} at ${hex(env.k.sym(tramp))}`);
  } else {
    env.observed.pcRewind = Number(e[i]!.userPc + BigInt(env.d.syscall.insnBytes) - e[j]!.userPc);
    // sparc 6.18 (arch.json syscall.restartRewindInsns): the no-handler ERESTARTSYS/NOHAND/
    // NOINTR case falls through into the restart_syscall one and rewinds past the instruction
    // before the trap too, which reloads the number register
    const insns = second === 'restart_syscall' ? 1 : (env.d.syscall.restartRewindInsns ?? 1);
    if (insns !== 1) env.observed.rewoundInsns = insns;
    expect(between === insns, 'C5', `${between} user-mode instructions ran between ${first} and its restart: model ${env.model} rewinds the pc and runs exactly ${insns === 1 ? 'the trap instruction' : `the last ${insns} instructions, the trap included,`} again`);
    expect(e[j]!.userPc === e[i]!.userPc, 'C5', `the restart re-entered from user pc ${hex(e[j]!.userPc)}, not the trap instruction at ${hex(e[i]!.userPc)}`);
  }
}

/**
 * C5, model do-work-pending: a restart after a handler (SA_RESTART, -ERESTARTNOINTR) is the
 * only way this model's rewound pc reaches user mode, so the rewind is checked there: after
 * the handler's rt_sigreturn the call comes back from the trap instruction alone, at the
 * first call's pc. (The rewinding models' rewind is checked on the handler-less path, by
 * checkRestartPath.)
 */
function checkHandlerRestart(env: Env, name: string): void {
  if (env.model !== 'do-work-pending') return;
  const e = env.k.syscalls.filter((s) => s.pid === 1);
  const i = e.findIndex((s) => s.name === name);
  const j = e.findIndex((s, n) => n > i && s.name === name);
  if (i < 0 || j < 0) return; // the scenario checks the number of entries
  env.observed.userInsnsAfterSigreturn = e[j]!.userInsns;
  expect(
    e[j - 1]?.name === 'rt_sigreturn' && e[j]!.userInsns === 1 && e[j]!.userPc === e[i]!.userPc,
    'C5',
    `after the handler's ${e[j - 1]?.name ?? 'return'}, ${e[j]!.userInsns} user-mode instructions ran before ${name} was entered again from ${hex(e[j]!.userPc)}: the restart runs exactly the trap instruction at ${hex(e[i]!.userPc)}`,
  );
}

/** The code the first entry of `name` returned in C (what a tracer sees at its exit stop). */
function codeAtExitStop(env: Env, name: string): void {
  const e = entries(env, name, 1)[0];
  if (e?.result !== undefined) env.observed.codeAtExitStop = Number(e.result);
}

/** How task `pid` ended: killed by a signal or exit status (the oracle's fields). */
function observeEnd(env: Env, pid = 1): { killedBy: number; exitCode: number } {
  const t = task(env, pid);
  env.observed.killedBy = t.killedBy;
  env.observed.exitCode = t.exitCode >> 8;
  return { killedBy: t.killedBy, exitCode: t.exitCode >> 8 };
}

const stopCont = (d: ArchDescriptor) => [signalEvent(init, sig(d, 'SIGSTOP')), signalEvent(init, sig(d, 'SIGCONT'))];

/** A handler body that edits its saved context (reg := value). */
const ctxStore = (reg: string, value: bigint | { label: string }): Op => ({ op: 'ctxStore', reg, value });

export const entryScenarios: ScenarioDef[] = [
  // ------------------------------------------------------------------ C5 / C9
  {
    id: 'work.clean-exit-irqs-off',
    group: 'work',
    contracts: ['C5'],
    title: 'every return to user mode happens with interrupts disabled and only pt_regs on the kernel stack',
    programs: (d) => blocking(d, sys('kill', 1, sig(d, 'SIGUSR1')), [{ sig: sig(d, 'SIGUSR1') }]),
    check(env) {
      const exits = env.k.exits;
      env.observed.returnsToUser = exits.length;
      expect(exits.length >= 3, 'C5', `only ${exits.length} returns to user mode observed`);
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C5', 'the handler did not run once');
      expect(ret(env) === 0n, 'C5', `kill returned ${hex(result(env, 1, 'r'))}`);
    },
  },
  {
    id: 'work.need-resched-only',
    group: 'work',
    contracts: ['C5'],
    title: 'NEED_RESCHED alone: schedule() runs from the exit work and the task returns to user mode intact',
    programs: (d) => ({
      '/init': prog('/init', [forkOp(d), ...forkSplit([sys('getpid'), ...storeResult(d, 'r')], [sys('gettid')])]),
    }),
    setup(env) {
      env.k.onSyscall = (name, t) => {
        if (name === 'getpid' && t.pid === 1) env.k.setTif(t, 'NEED_RESCHED');
      };
    },
    check(env) {
      const tr = env.k.trace;
      const g = tr.indexOf('1:sys_getpid');
      const w = tr.indexOf('1:sys_wait4');
      expect(g >= 0 && w > g, 'C5', 'the parent did not get past getpid');
      const between = tr.slice(g, w);
      expect(between.some((l) => l.startsWith('switch 1->')), 'C5', 'schedule() did not switch away from the task with NEED_RESCHED set');
      expect(between.some((l) => l === '2:sys_gettid'), 'C5', 'the other task did not run while the first was rescheduled');
      expect(!between.some((l) => l.includes(':handler')), 'C5', 'a signal handler ran for NEED_RESCHED');
      expect(!env.k.testTif(task(env, 1), 'NEED_RESCHED'), 'C9', 'TIF_NEED_RESCHED still set after schedule()');
      expect(ret(env) === 1n, 'C5', `getpid returned ${hex(result(env, 1, 'r'))} after the reschedule`);
    },
  },
  {
    id: 'work.notify-resume',
    group: 'work',
    contracts: ['C5'],
    title: 'NOTIFY_RESUME: resume_user_mode_work runs once, the bit is cleared, the syscall result survives',
    programs: (d) => ({ '/init': prog('/init', [sys('getpid'), ...storeResult(d, 'r'), sys('getpid'), ...exit(0)]) }),
    setup(env) {
      let first = true;
      env.k.onSyscall = (name, t) => {
        if (name === 'getpid' && first) {
          first = false;
          env.k.setTif(t, 'NOTIFY_RESUME');
        }
      };
    },
    check(env) {
      const n = env.k.handledWork['resume_user_mode_work'] ?? 0;
      env.observed.resumeUserModeWork = n;
      expect(n === 1, 'C5', `resume_user_mode_work ran ${n} times`);
      expect(!env.k.testTif(task(env, 1), 'NOTIFY_RESUME'), 'C9', 'TIF_NOTIFY_RESUME still set');
      expect(ret(env) === 1n, 'C5', `getpid returned ${hex(result(env, 1, 'r'))}`);
    },
  },
  {
    id: 'work.every-bit-handled',
    group: 'work',
    contracts: ['C9', 'C5'],
    title: 'each bit of the exit work mask, set alone on the way out, is handled and cleared; the loop ends',
    // a bit whose handling sends SIGSEGV (arm64 MTE_ASYNC_FAULT) finds a handler
    programs: (d) => ({ '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGSEGV'), flags: abiOf(d).sa.SA_RESTART }], [...workBits(d).map(() => sys('getpid')), sys('getpid'), ...storeResult(d, 'r'), ...exit(0)]) }),
    setup(env) {
      const bits = workBits(env.d);
      env.state.bits = bits;
      let i = 0;
      env.k.onSyscall = (name, t) => {
        if (name === 'getpid' && i < bits.length) env.k.setTif(t, bits[i++]!);
      };
    },
    check(env) {
      const bits = env.state.bits as string[];
      env.observed.bits = bits;
      if (env.d.tifNeverSet) env.observed.neverSet = env.d.tifNeverSet;
      const t = task(env, 1);
      const left = bits.filter((b) => env.k.testTif(t, b));
      expect(left.length === 0, 'C9', `bits still set after the exit work: ${left.join(', ')}`);
      expect(entries(env, 'getpid', 1).length === bits.length + 1, 'C9', `the task got through ${entries(env, 'getpid', 1).length} of ${bits.length + 1} getpid calls`);
      expect(ret(env) === 1n, 'C9', `the last getpid returned ${hex(result(env, 1, 'r'))}`);
    },
  },
  {
    id: 'work.mask-static',
    group: 'work',
    contracts: ['C9'],
    title: 'every bit of the exit work mask, all set at once, is handled and cleared in one return to user mode',
    programs: (d) => ({ '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGSEGV'), flags: abiOf(d).sa.SA_RESTART }], [sys('getpid'), ...storeResult(d, 'r'), sys('gettid'), ...exit(0)]) }),
    setup(env) {
      const bits = workBits(env.d);
      env.k.onSyscall = (name, t) => {
        if (name === 'getpid') for (const b of bits) env.k.setTif(t, b);
      };
    },
    check(env) {
      const t = task(env, 1);
      const bits = workBits(env.d);
      env.observed.bits = bits;
      const left = bits.filter((b) => env.k.testTif(t, b));
      expect(left.length === 0, 'C9', `bits still set: ${left.join(', ')}`);
      expect(entries(env, 'gettid', 1).length === 1, 'C9', 'the task did not get back to user mode after the work');
      expect(ret(env) === 1n, 'C9', `getpid returned ${hex(result(env, 1, 'r'))}`);
    },
  },

  // ------------------------------------------------------------------ C6 restarts
  {
    id: 'restart.sys-sa-restart',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTSYS with an SA_RESTART handler: the handler runs, then the syscall is restarted',
    programs: (d) => blocking(d, readCall, [{ sig: sig(d, 'SIGUSR1'), flags: abiOf(d).sa.SA_RESTART }]),
    world: (env) => [signalEvent(init, sig(env.d, 'SIGUSR1')), inputEvent('hello')],
    check(env) {
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the handler did not run once');
      expect(syscallEntries(env, 'read') === 2, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 2 (restart after the handler)`);
      syscallEntries(env, 'rt_sigreturn');
      codeAtExitStop(env, 'read');
      checkHandlerRestart(env, 'read');
      expect(ret(env) === 5n, 'C6', `read returned ${hex(result(env, 1, 'r'))}, expected 5 after the restart`);
    },
  },
  {
    id: 'restart.sys-no-sa-restart',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTSYS with a handler without SA_RESTART: -EINTR',
    programs: (d) => blocking(d, readCall, [{ sig: sig(d, 'SIGUSR1') }]),
    world: (env) => [signalEvent(init, sig(env.d, 'SIGUSR1')), inputEvent('hello')],
    check(env) {
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the handler did not run once');
      expect(syscallEntries(env, 'read') === 1, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 1`);
      codeAtExitStop(env, 'read');
      expect(ret(env) === EINTR(env), 'C6', `read returned ${hex(result(env, 1, 'r'))}, expected -EINTR`);
    },
  },
  {
    id: 'restart.sys-no-handler-in-kernel',
    group: 'restart',
    contracts: ['C5', 'C6'],
    title: '-ERESTARTSYS with no handler: restarted with the same number and arguments, the way the entry model restarts',
    programs: (d) => blocking(d, readCall, []),
    world: (env) => [...stopCont(env.d), inputEvent('hello')],
    check(env) {
      expect(syscallEntries(env, 'read') === 2, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 2`);
      const [a, b] = entries(env, 'read', 1);
      expect(a!.args.slice(0, 3).every((v, i) => v === b!.args[i]), 'C6', `read restarted with other arguments: ${b!.args.slice(0, 3).map((v) => hex(v))}`);
      checkRestartPath(env, 'read');
      env.observed.handlers = 0;
      expect(ret(env) === 5n, 'C6', `read returned ${hex(result(env, 1, 'r'))}, expected 5`);
    },
  },
  {
    id: 'restart.nointr-handler',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTNOINTR (a fork that finds a signal pending) restarts even with a handler without SA_RESTART',
    programs: (d) => {
      const data: Record<string, DataWord[] | DataBlock> = {};
      return { '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGUSR1') }], [forkOp(d), ...storeResult(d, 'r'), ...forkSplit()], data) };
    },
    setup(env) {
      let sent = false;
      env.k.world.at = (k, point, t) => {
        if (point === 'fork' && !sent && t.mm) {
          sent = true;
          k.sendSignal(t, sig(env.d, 'SIGUSR1'));
        }
      };
    },
    check(env) {
      const forkName = env.d.syscall.numbers['fork'] !== undefined ? 'fork' : 'clone';
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the handler did not run once');
      expect(syscallEntries(env, forkName) === 2, 'C6', `${forkName} entered ${entries(env, forkName, 1).length} times, expected 2`);
      checkHandlerRestart(env, forkName);
      const r = ret(env);
      expect(r !== undefined && r > 1n, 'C6', `fork returned ${hex(r)} to the parent after the restart`);
      codeAtExitStop(env, forkName);
      env.observed.childReaped = env.k.task(Number(r))?.state === 'dead';
      expect(env.observed.childReaped, 'C6', `the child fork returned (${hex(r)}) did not run and get reaped`);
    },
  },
  {
    id: 'fork.signal-during-fork',
    group: 'fork',
    contracts: ['C6', 'C3'],
    title: 'a non-fatal signal that arrives while fork copies the process does not restart it (held for after)',
    programs: (d) => ({ '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGUSR1') }], [forkOp(d), ...storeResult(d, 'r'), ...forkSplit()]) }),
    setup(env) {
      let sent = false;
      env.k.world.at = (k, point, t) => {
        if (point === 'fork-copied' && !sent && t.mm) {
          sent = true;
          k.sendSignal(t, sig(env.d, 'SIGUSR1'));
        }
      };
    },
    check(env) {
      const forkName = env.d.syscall.numbers['fork'] !== undefined ? 'fork' : 'clone';
      expect(syscallEntries(env, forkName) === 1, 'C6', `${forkName} entered ${entries(env, forkName, 1).length} times: a signal that arrives during the copy must not restart it`);
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the held signal was not delivered after the fork');
      const r = ret(env);
      env.observed.forkFailed = r === undefined || r < 0n;
      env.observed.childReaped = env.k.task(Number(r))?.state === 'dead';
      expect(r !== undefined && r > 1n, 'C6', `fork returned ${hex(r)} to the parent`);
    },
  },
  {
    id: 'restart.nohand-handler',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTNOHAND with a handler (even SA_RESTART): -EINTR',
    programs: (d) => blocking(d, ppollCall, [{ sig: sig(d, 'SIGUSR1'), flags: abiOf(d).sa.SA_RESTART }]),
    world: (env) => [signalEvent(init, sig(env.d, 'SIGUSR1'))],
    check(env) {
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the handler did not run once');
      expect(syscallEntries(env, 'ppoll') === 1, 'C6', `ppoll entered ${entries(env, 'ppoll', 1).length} times, expected 1`);
      codeAtExitStop(env, 'ppoll');
      expect(ret(env) === EINTR(env), 'C6', `ppoll returned ${hex(result(env, 1, 'r'))}, expected -EINTR`);
    },
  },
  {
    id: 'restart.nohand-no-handler',
    group: 'restart',
    contracts: ['C6', 'C5'],
    title: '-ERESTARTNOHAND with no handler: restarted; a later signal with a handler ends it with -EINTR',
    programs: (d) => blocking(d, ppollCall, [{ sig: sig(d, 'SIGUSR1') }]),
    world: (env) => [...stopCont(env.d), signalEvent(init, sig(env.d, 'SIGUSR1'))],
    check(env) {
      expect(syscallEntries(env, 'ppoll') === 2, 'C6', `ppoll entered ${entries(env, 'ppoll', 1).length} times, expected 2`);
      checkRestartPath(env, 'ppoll');
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the final handler did not run');
      expect(ret(env) === EINTR(env), 'C6', `ppoll returned ${hex(result(env, 1, 'r'))}, expected -EINTR at last`);
    },
  },
  {
    id: 'restart.block-no-handler',
    group: 'restart',
    contracts: ['C6', 'C5'],
    title: '-ERESTART_RESTARTBLOCK with no handler: restart_syscall finishes the sleep',
    programs: (d) => blocking(d, sleepCall, []),
    world: (env) => [clockEvent(3_000_000_000n), ...stopCont(env.d), clockEvent(7_000_000_000n)],
    check(env) {
      expect(syscallEntries(env, 'nanosleep') === 1, 'C6', `nanosleep entered ${entries(env, 'nanosleep', 1).length} times, expected 1 (a restart must use restart_syscall)`);
      expect(syscallEntries(env, 'restart_syscall') === 1, 'C6', `restart_syscall entered ${entries(env, 'restart_syscall', 1).length} times, expected 1`);
      checkRestartPath(env, 'nanosleep', 'restart_syscall');
      expect(ret(env) === 0n, 'C6', `nanosleep returned ${hex(result(env, 1, 'r'))}, expected 0`);
      env.observed.handlers = 0;
      env.observed.sleptFullTime = env.k.clock === 10_000_000_000n;
      expect(env.k.clock === 10_000_000_000n, 'C6', `woke at ${env.k.clock} ns, the sleep was 10 s`);
      // (an nr register the syscall return clobbers, powerpc's r0, holds nothing to check there)
      if (env.d.syscall.nr !== env.d.syscall.ret && !env.d.syscall.clobbers.includes(env.d.syscall.nr)) {
        // the rewinding models leave restart_syscall's number in the nr register, which user mode sees;
        // a restart through a vDSO trampoline (s390: `svc 7`) leaves the register alone
        const nr = slot(env, 1, 'nrAfter');
        env.observed.nrAfter = nr === undefined ? undefined : Number(nr);
        const keepsNr = env.model === 'do-work-pending' || env.d.syscall.restartBlockTrampoline !== undefined;
        const want = BigInt(keepsNr ? env.d.syscall.numbers['nanosleep']! : env.d.syscall.numbers['restart_syscall']!);
        expect(nr === want, 'C5', `after the restart user mode sees ${env.d.syscall.nr} = ${hex(nr)}, the kernel leaves ${hex(want)} there`);
      }
    },
  },
  {
    id: 'restart.block-handler',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTART_RESTARTBLOCK with a handler: -EINTR',
    programs: (d) => blocking(d, sleepCall, [{ sig: sig(d, 'SIGUSR1'), flags: abiOf(d).sa.SA_RESTART }]),
    world: (env) => [clockEvent(4_000_000_000n), signalEvent(init, sig(env.d, 'SIGUSR1'))],
    check(env) {
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C6', 'the handler did not run once');
      expect(syscallEntries(env, 'restart_syscall') === 0, 'C6', 'restart_syscall ran although a handler ran');
      syscallEntries(env, 'nanosleep');
      codeAtExitStop(env, 'nanosleep');
      expect(ret(env) === EINTR(env), 'C6', `nanosleep returned ${hex(result(env, 1, 'r'))}, expected -EINTR`);
    },
  },
  {
    id: 'restart.no-double-restart',
    group: 'restart',
    contracts: ['C6', 'C5'],
    title: 'a signal with a handler that arrives on a return path where a handler-less restart was already decided does not restart the syscall again',
    // ppoll(-ERESTARTNOHAND, ...): the first argument register holds a restart code, so a
    // second restart decision on the same frame would find one there (+ERESTARTNOHAND where
    // errors are flagged: powerpc's r3 holds the positive code with CR0.SO set)
    programs: (d) =>
      blocking(d, sys('ppoll', d.syscall.error.convention === 'flag' ? ERESTARTNOHAND : -ERESTARTNOHAND, 0, 0, 0, 8), [
        { sig: sig(d, 'SIGUSR1'), flags: abiOf(d).sa.SA_RESTART },
        { sig: sig(d, 'SIGUSR2') },
      ]),
    setup(env) {
      let first = true;
      env.k.onSyscall = (name, t) => {
        if (name === 'ppoll' && first) {
          first = false;
          env.k.setTif(t, 'NOTIFY_RESUME');
        }
      };
      // SIGUSR1 arrives after the restart was decided, before the task leaves the kernel: at
      // the first resume_user_mode_work once SIGSTOP (whose handler-less return decides the
      // restart) went through get_signal. On every model that is the first
      // resume_user_mode_work after the stop; arm 6.18's asm hands do_work_pending() the flags
      // shifted left by 16, so its first pass runs resume_user_mode_work before do_signal
      const stopped = `1:stopped by ${sig(env.d, 'SIGSTOP')}`;
      env.k.world.at = (k, point, t) => {
        if (point === 'resume_user_mode_work' && t.pid === 1 && k.trace.includes(stopped)) k.sendSignal(t, sig(env.d, 'SIGUSR1'));
      };
    },
    world: (env) => [...stopCont(env.d), signalEvent(init, sig(env.d, 'SIGUSR2'))],
    check(env) {
      const h1 = handlerRuns(env, sig(env.d, 'SIGUSR1'));
      const h2 = handlerRuns(env, sig(env.d, 'SIGUSR2'));
      expect(h1 === 1 && h2 === 1, 'C6', `the handlers ran ${h1} and ${h2} times, expected once each`);
      const e = entries(env, 'ppoll', 1);
      env.observed.syscallEntries = { ppoll: e.length };
      expect(e.length === 2, 'C6', `ppoll entered ${e.length} times, expected 2 (restarted once)`);
      const [a, b] = e;
      expect(a!.args.slice(0, 5).every((v, i) => v === b!.args[i]), 'C6', `the restarted ppoll got other arguments: ${b!.args.slice(0, 5).map((v) => hex(v)).join(', ')} (first call: ${a!.args.slice(0, 5).map((v) => hex(v)).join(', ')})`);
      expect(a!.userPc === b!.userPc, 'C6', `the restarted ppoll came from ${hex(b!.userPc)}, not the trap instruction at ${hex(a!.userPc)}`);
      expect(ret(env) === EINTR(env), 'C6', `ppoll returned ${hex(result(env, 1, 'r'))}, expected -EINTR from SIGUSR2 at last`);
      expect(task(env, 1).exitCode === 0 && task(env, 1).killedBy === 0, 'C6', 'the task did not exit normally');
    },
  },
  {
    id: 'restart.two-handlers-one-restart',
    group: 'restart',
    contracts: ['C6'],
    title: 'two signals with SA_RESTART handlers on one syscall exit: both handlers run, the syscall is rewound once',
    programs: (d) =>
      blocking(d, readCall, [
        { sig: sig(d, 'SIGUSR1'), flags: abiOf(d).sa.SA_RESTART },
        { sig: sig(d, 'SIGUSR2'), flags: abiOf(d).sa.SA_RESTART },
      ]),
    world: (env) => [(k) => (k.sendSignal(k.task(1)!, sig(env.d, 'SIGUSR1')), k.sendSignal(k.task(1)!, sig(env.d, 'SIGUSR2'))), inputEvent('hello')],
    check(env) {
      const h1 = handlerRuns(env, sig(env.d, 'SIGUSR1'));
      const h2 = handlerRuns(env, sig(env.d, 'SIGUSR2'));
      expect(h1 === 1 && h2 === 1, 'C6', `the handlers ran ${h1} and ${h2} times, expected once each`);
      expect(syscallEntries(env, 'read') === 2, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 2 (one restart)`);
      syscallEntries(env, 'rt_sigreturn');
      codeAtExitStop(env, 'read');
      expect(ret(env) === 5n, 'C6', `read returned ${hex(result(env, 1, 'r'))}`);
    },
  },
  {
    id: 'restart.no-restart-on-sigreturn',
    group: 'restart',
    contracts: ['C6'],
    title: 'registers restored by rt_sigreturn holding -ERESTARTNOINTR are never restarted',
    programs: (d) =>
      blocking(d, sys('kill', 1, sig(d, 'SIGUSR1')), [
        {
          sig: sig(d, 'SIGUSR1'),
          mask: 1n << BigInt(sig(d, 'SIGUSR2') - 1),
          body: [...errnoInContext(d, -ERESTARTNOINTR), sys('kill', 1, sig(d, 'SIGUSR2'))],
        },
        { sig: sig(d, 'SIGUSR2') },
      ]),
    check(env) {
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1 && handlerRuns(env, sig(env.d, 'SIGUSR2')) === 1, 'C6', 'both handlers must run once');
      const r = ret(env);
      expect(r === -ERESTARTNOINTR, 'C6', `user mode saw ${hex(r)} after sigreturn; the handler put -ERESTARTNOINTR (-513) in its context`);
      expect(syscallEntries(env, 'kill') === 2, 'C6', `kill entered ${entries(env, 'kill', 1).length} times, expected 2`);
      expect(syscallEntries(env, 'rt_sigreturn') === 2, 'C6', `rt_sigreturn entered ${entries(env, 'rt_sigreturn', 1).length} times, expected 2`);
    },
  },

  // ------------------------------------------------------------------ C7 signal frames
  {
    id: 'signal.frame-roundtrip',
    group: 'signal',
    contracts: ['C7'],
    title: 'every user register survives a signal handler that clobbers them all',
    programs: (d) => ({
      '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGUSR1'), body: [{ op: 'fillRegs', seed: 0x7700n, keepLink: true }] }], [
        { op: 'fillRegs', seed: 0x4400n },
        sys('sched_yield'),
        { op: 'storeRegs', prefix: 'after' },
        ...exit(0),
      ]),
    }),
    setup(env) {
      env.k.onSyscall = (name, t) => {
        if (name === 'sched_yield') env.k.sendSignal(t, sig(env.d, 'SIGUSR1'));
      };
    },
    check(env) {
      expect(handlerRuns(env, sig(env.d, 'SIGUSR1')) === 1, 'C7', 'the handler did not run once');
      const d = env.d;
      const skip = new Set([d.syscall.nr, d.syscall.ret, ...d.syscall.clobbers]);
      const bad: string[] = [];
      comparableRegs(d).forEach((r, i) => {
        if (skip.has(r)) return;
        const v = slot(env, 1, `after.${r}`);
        if (v !== BigInt.asIntN(d.wordSize * 8, fillValue(0x4400n, i))) bad.push(`${r}=${hex(v)} (was ${hex(fillValue(0x4400n, i))})`);
      });
      env.observed.registersChecked = comparableRegs(d).filter((r) => !skip.has(r)).length;
      env.observed.registersNotRestored = bad.map((b) => b.split('=')[0]);
      expect(bad.length === 0, 'C7', `registers not restored by rt_sigreturn: ${bad.join(', ')}`);
    },
  },
  {
    id: 'signal.context-edit',
    group: 'signal',
    contracts: ['C7'],
    title: 'a handler that edits the saved context sees its edits take effect',
    programs: (d) => ({
      '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGUSR1'), body: [ctxStore('callee0', 0xed17_0001n), ctxStore('callee1', 0xed17_0002n)] }], [
        { op: 'fillRegs', seed: 0x5500n },
        sys('sched_yield'),
        { op: 'storeRegs', prefix: 'after' },
        ...exit(0),
      ]),
    }),
    setup(env) {
      env.k.onSyscall = (name, t) => {
        if (name === 'sched_yield') env.k.sendSignal(t, sig(env.d, 'SIGUSR1'));
      };
    },
    check(env) {
      const [c0, c1, c2] = env.d.registers.calleeSaved;
      const v0 = slot(env, 1, `after.${c0}`);
      const v1 = slot(env, 1, `after.${c1}`);
      // slots read back signed in the word size: 0xed17000x is negative on 32-bit arches (i386);
      // reported as the register's unsigned value, as a tracer prints it
      const w = (v: bigint) => BigInt.asIntN(env.d.wordSize * 8, v);
      const u = (v: bigint | undefined) => (v === undefined ? v : BigInt.asUintN(env.d.wordSize * 8, v));
      env.observed.edited = { [c0!]: hex(u(v0)), [c1!]: hex(u(v1)) };
      expect(v0 === w(0xed17_0001n) && v1 === w(0xed17_0002n), 'C7', `after sigreturn ${c0}=${hex(v0)} ${c1}=${hex(v1)}, the handler wrote 0xed170001/0xed170002 into the context`);
      handlerRuns(env, sig(env.d, 'SIGUSR1'));
      const i2 = comparableRegs(env.d).indexOf(c2!);
      if (i2 >= 0) {
        const v2 = slot(env, 1, `after.${c2}`);
        env.observed.uneditedKept = v2 === fillValue(0x5500n, i2);
        expect(v2 === fillValue(0x5500n, i2), 'C7', `an unedited register changed: ${c2}=${hex(v2)}`);
      }
    },
  },
  {
    id: 'signal.user-fault',
    group: 'signal',
    contracts: ['C7', 'C2'],
    title: 'a privileged instruction in user mode faults; the fault arrives as a signal whose handler can step over it',
    programs: (d) => ({
      '/init': withHandlers(
        d,
        '/init',
        [
          { sig: sig(d, 'SIGSEGV'), body: [ctxStore('pc', { label: 'after' })] },
          { sig: sig(d, 'SIGILL'), body: [ctxStore('pc', { label: 'after' })] },
        ],
        [{ op: 'privileged' }, label('after'), set('callee0', 1), store('callee0', 'after'), ...exit(0)],
      ),
    }),
    check(env) {
      const fault = env.k.trace.find((l) => l.startsWith('1:fault sig'));
      env.observed.fault = fault?.split(' ')[1];
      expect(fault, 'C2', 'user mode ran a privileged instruction and nothing faulted');
      const runs = handlerRuns(env, sig(env.d, 'SIGSEGV')) + handlerRuns(env, sig(env.d, 'SIGILL'));
      expect(runs === 1, 'C7', `the fault handler ran ${runs} times`);
      env.observed.resumedWherePointed = slot(env, 1, 'after') === 1n;
      expect(env.observed.resumedWherePointed, 'C7', 'the task did not resume where the handler pointed it');
      const end = observeEnd(env);
      expect(end.exitCode === 0 && end.killedBy === 0, 'C7', 'the task did not exit normally after the handled fault');
    },
  },
  {
    id: 'signal.no-restorer',
    group: 'signal',
    contracts: ['C7'],
    title: "a handler installed without SA_RESTORER returns the way the arch's kernel allows: the vDSO trampoline, the one in the signal frame (m68k), or SIGSEGV where there is none (sparc64: at the return to address 0, after the handler ran)",
    programs: (d) => ({
      '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGUSR1'), noRestorer: true }], [sys('kill', 1, sig(d, 'SIGUSR1')), ...storeResult(d, 'r'), ...exit(0)]),
    }),
    check(env) {
      const t = task(env, 1);
      const runs = handlerRuns(env, sig(env.d, 'SIGUSR1'));
      observeEnd(env);
      const fallback = env.d.abi.restorerFallback ?? 'vdso';
      if (fallback === 'none') {
        env.observed.outcome = t.killedBy ? `killed by signal ${t.killedBy}` : `exit ${t.exitCode >> 8}`;
        expect(t.killedBy === sig(env.d, 'SIGSEGV'), 'C7', `the task ended with ${env.observed.outcome}: without SA_RESTORER this kernel refuses the frame and the task dies of SIGSEGV`);
        expect(runs === 0, 'C7', `the handler ran ${runs} times although the kernel could not set up its frame`);
        return;
      }
      if (fallback === 'zero') {
        // sparc64: setup_rt_frame sets the handler's return address to ka_restorer, 0 here;
        // the handler runs, and returning to address 0 (+ the return offset) faults
        env.observed.outcome = t.killedBy ? `killed by signal ${t.killedBy}` : `exit ${t.exitCode >> 8}`;
        expect(runs === 1, 'C7', `the handler ran ${runs} times: without a restorer this kernel still sets up the frame, with return address 0`);
        expect(t.killedBy === sig(env.d, 'SIGSEGV'), 'C7', `the task ended with ${env.observed.outcome}: the handler's return to address 0 must fault (SIGSEGV)`);
        return;
      }
      const sr = entries(env, 'rt_sigreturn', 1)[0];
      if (fallback === 'stack') {
        // m68k: setup_rt_frame writes the sigreturn trampoline (retcode) into the frame on the
        // user stack, and the handler's return lands on it
        const stackLow = env.d.memory.user + USER_DATA + 0x1000n;
        const stackTop = env.d.memory.user + USER_STACK_TOP;
        const onStack = sr !== undefined && sr.userPc >= stackLow && sr.userPc < stackTop;
        env.observed.outcome = sr ? (onStack ? 'handler returned through the trampoline in its signal frame' : `rt_sigreturn from ${hex(sr.userPc)}`) : 'no rt_sigreturn';
        expect(runs === 1, 'C7', `the handler ran ${runs} times`);
        expect(onStack, 'C7', `${env.observed.outcome}: without SA_RESTORER this kernel returns the handler through the trampoline it wrote into the signal frame on the user stack`);
        expect(t.exitCode === 0 && t.killedBy === 0 && ret(env) === 0n, 'C7', 'the task did not go on normally after the handler');
        return;
      }
      const vdso = env.d.memory.user + USER_VDSO;
      env.observed.outcome = sr ? (sr.userPc >= vdso && sr.userPc < vdso + 0x1000n ? 'handler returned through the vDSO' : `rt_sigreturn from ${hex(sr.userPc)}`) : 'no rt_sigreturn';
      expect(runs === 1, 'C7', `the handler ran ${runs} times`);
      expect(sr && sr.userPc >= vdso && sr.userPc < vdso + 0x1000n, 'C7', `${env.observed.outcome}: without SA_RESTORER the handler returns through the vDSO's sigreturn trampoline`);
      expect(t.exitCode === 0 && t.killedBy === 0 && ret(env) === 0n, 'C7', 'the task did not go on normally after the handler');
    },
  },
  {
    id: 'signal.bad-frame',
    group: 'signal',
    contracts: ['C7'],
    title: 'rt_sigreturn on a frame that fails the checks (not in user memory) gives the task SIGSEGV, never a kernel crash',
    programs: (d) => ({
      '/init': withHandlers(d, '/init', [{ sig: sig(d, 'SIGUSR1'), body: [set('sp', 0x10), sys('rt_sigreturn')] }], [sys('kill', 1, sig(d, 'SIGUSR1')), ...exit(0)]),
    }),
    check(env) {
      const t = task(env, 1);
      env.observed.outcome = t.killedBy ? `killed by signal ${t.killedBy}` : `exit ${t.exitCode >> 8}`;
      expect(t.killedBy === sig(env.d, 'SIGSEGV'), 'C7', `the task ended with ${env.observed.outcome}, expected SIGSEGV`);
    },
  },
  {
    id: 'signal.sigreturn-cancels-restart-block',
    group: 'signal',
    contracts: ['C7', 'C6'],
    title: 'rt_sigreturn cancels a pending restart block: restart_syscall afterwards gives -EINTR',
    programs: (d) => blocking(d, sleepCall, [{ sig: sig(d, 'SIGUSR1') }], [sys('restart_syscall'), ...storeResult(d, 'r2')]),
    world: (env) => [clockEvent(4_000_000_000n), signalEvent(init, sig(env.d, 'SIGUSR1')), clockEvent(20_000_000_000n)],
    check(env) {
      expect(ret(env) === EINTR(env), 'C6', `nanosleep returned ${hex(result(env, 1, 'r'))}, expected -EINTR`);
      const r2 = result(env, 1, 'r2');
      env.observed.restartSyscallAfterSigreturn = r2 === undefined ? undefined : Number(r2);
      handlerRuns(env, sig(env.d, 'SIGUSR1'));
      syscallEntries(env, 'nanosleep');
      syscallEntries(env, 'restart_syscall');
      if (env.d.abi.sigreturnKeepsRestartBlock) {
        // sparc32's do_rt_sigreturn never resets restart_block.fn: restart_syscall still
        // finishes the interrupted sleep (its do_sigreturn and the 64-bit one do reset it)
        env.observed.restartBlockKept = true;
        expect(r2 === 0n && env.k.clock >= 10_000_000_000n, 'C7', `restart_syscall after the handler returned ${hex(r2)} at ${env.k.clock} ns: this kernel's rt_sigreturn keeps the restart block, which sleeps to the 10 s deadline and returns 0`);
        return;
      }
      if (env.d.abi.restartSyscallReturnsToArchData) {
        // s390 6.18: the block is cancelled (restart_syscall returns -EINTR in C), but
        // __do_syscall first sent the psw to restart_block.arch_data, which pid 1 inherited
        // from init_task as 0: the task returns to address 0 and dies of SIGSEGV
        const rs = entries(env, 'restart_syscall', 1)[0];
        const t = task(env, 1);
        env.observed.restartSyscallResult = rs?.result === undefined ? undefined : Number(rs.result);
        env.observed.killedBy = t.killedBy;
        expect(rs?.result === EINTR(env), 'C7', `restart_syscall after the handler returned ${hex(rs?.result)} in C: rt_sigreturn must have cancelled the restart block (-EINTR)`);
        expect(t.killedBy === sig(env.d, 'SIGSEGV'), 'C6', `pid 1 ended with ${t.killedBy ? `signal ${t.killedBy}` : `exit ${t.exitCode >> 8}`}: with restart_block.arch_data 0 (inherited from init_task) this kernel returns from restart_syscall to address 0 (SIGSEGV)`);
        return;
      }
      expect(r2 === EINTR(env), 'C7', `restart_syscall after the handler returned ${hex(r2)}: rt_sigreturn must have cancelled the restart block (-EINTR)`);
    },
  },

  // ------------------------------------------------------------------ C8 ptrace
  {
    id: 'ptrace.entry-modify-args',
    group: 'ptrace',
    contracts: ['C8', 'C4'],
    title: 'a tracer rewrites the syscall number and arguments at the entry stop; the new call runs',
    programs: (d) => ({ '/init': prog('/init', [sys('getpid'), ...storeResult(d, 'r'), ...exit(0)], { msg: strWords('traced!', d) }) }),
    tracer: (env) => ({
      onSyscallEntry: (_t, v) => {
        if (v.nr() !== BigInt(env.d.syscall.numbers['getpid']!)) return;
        v.setNr(BigInt(env.d.syscall.numbers['write']!));
        const args = v.args();
        args.splice(0, 3, 1n, env.images['/init']!.data.get('msg')!, 7n);
        v.setArgs(args);
      },
    }),
    check(env) {
      const w = entries(env, 'write', 1);
      expect(syscallEntries(env, 'getpid') === 0, 'C8', 'getpid ran although the tracer changed the number');
      expect(w.length === 1, 'C8', `write entered ${w.length} times, expected 1`);
      env.observed.args = w[0]!.args.slice(0, 3).map((a) => hex(a));
      expect(w[0]!.args[0] === 1n && w[0]!.args[2] === 7n, 'C8', `write ran with args ${w[0]!.args.slice(0, 3).map((a) => hex(a)).join(', ')}, the tracer set 0x1, msg, 0x7`);
      env.observed.output = env.k.output.join('');
      expect(env.k.output.join('') === 'traced!', 'C8', `write wrote ${JSON.stringify(env.k.output.join(''))}`);
      expect(ret(env) === 7n, 'C8', `user mode saw ${hex(result(env, 1, 'r'))}`);
    },
  },
  {
    id: 'ptrace.entry-skip',
    group: 'ptrace',
    contracts: ['C8'],
    title: "syscall number -1 at the entry stop skips the syscall; the tracer's return value stands",
    programs: (d) => ({ '/init': prog('/init', [sys('getpid'), ...storeResult(d, 'r'), ...exit(0)]) }),
    tracer: (env) => ({
      onSyscallEntry: (_t, v) => {
        if (v.nr() !== BigInt(env.d.syscall.numbers['getpid']!)) return;
        env.state.skipped = true;
        v.setNr(-1n);
        v.setReturn(0x5a5an);
      },
      // powerpc's do_syscall_trace_enter() puts -ENOSYS over a skipped call's r3: there a
      // tracer sets the result at the exit stop (seccomp selftests: SYSCALL_RET_SET_ON_PTRACE_EXIT)
      onSyscallExit: (_t, v) => {
        if (!env.d.abi.ptraceSkipResultAtExit || !env.state.skipped || env.state.exitSet) return;
        env.state.exitSet = true;
        v.setReturn(0x5a5an);
      },
    }),
    check(env) {
      expect(syscallEntries(env, 'getpid') === 0, 'C8', 'getpid ran although the tracer skipped it');
      expect(ret(env) === 0x5a5an, 'C8', `user mode saw ${hex(result(env, 1, 'r'))}, the tracer set 0x5a5a`);
    },
  },
  {
    id: 'ptrace.sigkill-short-circuit',
    group: 'ptrace',
    contracts: ['C8'],
    title: 'PTRACE_CONT with SIGKILL at the entry stop: the syscall never runs, the task dies',
    programs: (d) => ({ '/init': prog('/init', [sys('write', 1, { data: 'msg' }, 4), ...storeResult(d, 'r'), ...exit(0)], { msg: strWords('oops', d) }) }),
    tracer: (env) => ({ onSyscallEntry: (_t, v) => (v.nr() === BigInt(env.d.syscall.numbers['write']!) ? { kill: true } : undefined) }),
    check(env) {
      const t = task(env, 1);
      env.observed.killedBy = t.killedBy;
      expect(syscallEntries(env, 'write') === 0, 'C8', 'write ran although the tracer killed the task at the entry stop');
      expect(t.killedBy === sig(env.d, 'SIGKILL'), 'C8', `task ended with ${t.killedBy ? `signal ${t.killedBy}` : `exit ${t.exitCode >> 8}`}, expected SIGKILL`);
      expect(syscallEntries(env, 'exit') === 0, 'C8', 'the task went on after SIGKILL');
      env.observed.output = env.k.output.join('');
    },
  },
  {
    id: 'ptrace.callee-saved-modify',
    group: 'ptrace',
    contracts: ['C8'],
    title: 'callee-saved registers changed by a tracer at a stop are what user mode sees',
    programs: () => ({ '/init': prog('/init', [{ op: 'fillRegs', seed: 0x6600n }, sys('getpid'), { op: 'storeRegs', prefix: 'after' }, ...exit(0)]) }),
    tracer: (env) => ({
      onSyscallExit: (_t, v) => {
        if (env.state.done || v.nr() !== BigInt(env.d.syscall.numbers['getpid']!)) return;
        env.state.done = true;
        env.d.registers.calleeSaved.forEach((r, i) => v.set(r, 0xca11_0000n + BigInt(i)));
      },
    }),
    check(env) {
      const bad = env.d.registers.calleeSaved.filter((r, i) => comparableRegs(env.d).includes(r) && slot(env, 1, `after.${r}`) !== BigInt.asIntN(env.d.wordSize * 8, 0xca11_0000n + BigInt(i)));
      env.observed.registersChanged = env.d.registers.calleeSaved.length;
      env.observed.registersNotSeen = bad;
      expect(bad.length === 0, 'C8', `user mode did not see the tracer's values in ${bad.map((r) => `${r}=${hex(slot(env, 1, `after.${r}`))}`).join(', ')}`);
    },
  },
];

/** The work bits of the arch's exit mask besides SIGPENDING (which needs a signal to clear). */
function workBits(d: ArchDescriptor): string[] {
  // powerpc names its exit loop's mask _TIF_USER_WORK_MASK (asm/thread_info.h, kernel/interrupt.c)
  // sparc32's rtrap loops over _TIF_DO_NOTIFY_RESUME_MASK (asm/thread_info_32.h, rtrap_32.S)
  const mask = d.workMasks['EXIT_TO_USER_MODE_WORK'] ?? d.workMasks['_TIF_WORK_MASK'] ?? d.workMasks['_TIF_USER_WORK_MASK'] ?? d.workMasks['_TIF_DO_NOTIFY_RESUME_MASK'] ?? [];
  // a bit nothing on the arch ever sets (arch.json tifNeverSet, with the kernel's reason) is not set here
  return mask.filter((b) => b !== 'SIGPENDING' && d.tifNeverSet?.[b] === undefined);
}

/** A handler body that puts `value` as the syscall result into its saved context, in the arch's convention. */
function errnoInContext(d: ArchDescriptor, value: bigint): Op[] {
  const e = d.syscall.error;
  if (e.convention === 'negative') return [ctxStore('ret', value)];
  // the flag convention: +errno in the return register and the error flag set
  const flagOn = e.bit === undefined ? 1n : 1n << BigInt(e.bit);
  return [ctxStore('ret', -value), ctxStore(e.flag, flagOn)];
}
