// C5 work loop, C6 restarts, C7 signal frames, C8 ptrace, C9 thread-flag masks.

import { comparableRegs, fillValue } from '@archkit/generic-core/user/compile';
import type { Op } from '@archkit/generic-core/user/compile';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import {
  type Env,
  type ScenarioDef,
  EINTR,
  SA_RESTART,
  SIGCONT,
  SIGSTOP,
  SIGUSR1,
  SIGUSR2,
  SIGSEGV,
  SIGILL,
  clockEvent,
  entries,
  exit,
  expect,
  forkOp,
  forkSplit,
  handler,
  hex,
  inputEvent,
  label,
  pidOf,
  prog,
  set,
  sigaction,
  signalEvent,
  slot,
  store,
  strWords,
  sys,
} from './dsl.ts';

const init = () => 1;

/** A program that installs handlers, makes one blocking call, stores what it returned, exits. */
function blocking(call: Op, handlers: Array<{ sig: number; flags?: bigint; mask?: bigint; body?: Op[] }>, extraData?: Record<string, bigint[]>) {
  const ops: Op[] = [];
  for (const h of handlers) ops.push(...sigaction(h.sig, `h${h.sig}`, h.flags ?? 0n, h.mask ?? 0n));
  ops.push(call, store('ret', 'r'), ...exit(0));
  for (const h of handlers) ops.push(...handler(`h${h.sig}`, h.body ?? []));
  return { '/init': prog('/init', ops, { buf: [0n, 0n, 0n, 0n], ts: [10n, 0n], rem: [0n, 0n], ...extraData }) };
}

const readCall: Op = sys('read', 0, { data: 'buf' }, 16);
const ppollCall: Op = sys('ppoll', 0, 0, 0, 0, 8);
const sleepCall: Op = sys('nanosleep', { data: 'ts' }, { data: 'rem' });

function ret(env: Env): bigint | undefined {
  const r = slot(env, 1, 'r');
  env.observed.ret = r === undefined ? undefined : Number(r);
  return r;
}

function handlerRuns(env: Env, sig: number): number {
  const v = Number(slot(env, 1, `h.h${sig}`) ?? 0n);
  env.observed.handlers = ((env.observed.handlers as number) ?? 0) + v;
  return v;
}

function syscallEntries(env: Env, name: string): number {
  const n = entries(env, name, 1).length;
  env.observed.syscallEntries = { ...(env.observed.syscallEntries as object), [name]: n };
  return n;
}

/** user-mode instructions run between the first and second entry of a syscall */
function userInsnsBetween(env: Env, first: string, second = first): number | undefined {
  const e = env.k.syscalls.filter((s) => s.pid === 1);
  const i = e.findIndex((s) => s.name === first);
  const j = e.findIndex((s, n) => n > i && s.name === second);
  if (i < 0 || j < 0) return undefined;
  const between = e.slice(i + 1, j + 1).reduce((a, s) => a + s.userInsns, 0);
  env.observed.userInsnsBetweenEntries = between;
  return between;
}

const stopCont = [signalEvent(init, SIGSTOP), signalEvent(init, SIGCONT)];

export const entryScenarios: ScenarioDef[] = [
  // ------------------------------------------------------------------ C5 / C9
  {
    id: 'work.clean-exit-irqs-off',
    group: 'work',
    contracts: ['C5'],
    title: 'every return to user mode happens with interrupts disabled and only pt_regs on the kernel stack',
    programs: () => blocking(sys('kill', 1, SIGUSR1), [{ sig: SIGUSR1 }]),
    check(env) {
      const exits = env.k.exits;
      env.observed.returnsToUser = exits.length;
      expect(exits.length >= 3, 'C5', `only ${exits.length} returns to user mode observed`);
      expect(handlerRuns(env, SIGUSR1) === 1, 'C5', 'the handler did not run once');
      expect(ret(env) === 0n, 'C5', `kill returned ${hex(slot(env, 1, 'r'))}`);
    },
  },
  {
    id: 'work.need-resched-only',
    group: 'work',
    contracts: ['C5'],
    title: 'NEED_RESCHED alone: schedule() runs from the exit loop and the task returns to user mode intact',
    programs: (d) => ({
      '/init': prog('/init', [
        forkOp(d),
        ...forkSplit([sys('getpid'), store('ret', 'r')], [sys('gettid')]),
      ]),
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
      const dwp = between.find((l) => l.startsWith('1:do_work_pending'));
      expect(dwp, 'C5', 'do_work_pending was not called with NEED_RESCHED set');
      env.observed.flags = dwp.split(' ')[1];
      expect(BigInt(dwp.split(' ')[1]!) === env.k.tifBit('NEED_RESCHED'), 'C5', `do_work_pending saw flags ${dwp.split(' ')[1]}, expected NEED_RESCHED alone`);
      expect(between.some((l) => l.startsWith('switch 1->')), 'C5', 'schedule() did not switch away from the task');
      expect(between.some((l) => l === '2:sys_gettid'), 'C5', 'the other task did not run while the first was rescheduled');
      expect(!between.some((l) => l.includes(':handler')), 'C5', 'a signal handler ran for NEED_RESCHED');
      expect(ret(env) === 1n, 'C5', `getpid returned ${hex(slot(env, 1, 'r'))} after the reschedule`);
    },
  },
  {
    id: 'work.notify-resume',
    group: 'work',
    contracts: ['C5'],
    title: 'NOTIFY_RESUME: resume_user_mode_work runs once, the bit is cleared, the syscall result survives',
    programs: () => ({ '/init': prog('/init', [sys('getpid'), store('ret', 'r'), sys('getpid'), ...exit(0)]) }),
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
      expect(!env.k.testTif(env.k.task(1)!, 'NOTIFY_RESUME'), 'C9', 'TIF_NOTIFY_RESUME still set');
      expect(ret(env) === 1n, 'C5', `getpid returned ${hex(slot(env, 1, 'r'))}`);
    },
  },
  {
    id: 'work.every-bit-handled',
    group: 'work',
    contracts: ['C9', 'C5'],
    title: 'each bit of _TIF_WORK_MASK set alone on the way out is handled and cleared; the loop ends',
    programs: (d) => {
      const bits = (d.workMasks['_TIF_WORK_MASK'] ?? []).filter((b) => b !== 'SIGPENDING');
      return { '/init': prog('/init', [...bits.flatMap(() => [sys('getpid')]), ...exit(0)]) };
    },
    setup(env) {
      const bits = (env.d.workMasks['_TIF_WORK_MASK'] ?? []).filter((b) => b !== 'SIGPENDING');
      env.state.bits = bits;
      let i = 0;
      env.k.onSyscall = (name, t) => {
        if (name === 'getpid' && i < bits.length) env.k.setTif(t, bits[i++]!);
      };
    },
    check(env) {
      const bits = env.state.bits as string[];
      env.observed.bits = bits;
      const t = env.k.task(1)!;
      expect(t.exitCode === 0 && entries(env, 'getpid').length === bits.length, 'C9', 'the task did not get through every getpid');
      const left = bits.filter((b) => env.k.testTif(t, b));
      expect(left.length === 0, 'C9', `bits still set after the exit loop: ${left.join(', ')}`);
    },
  },
  {
    id: 'work.mask-static',
    group: 'work',
    contracts: ['C9'],
    title: 'every bit in the arch\'s work masks is one the exit loop handles and clears',
    programs: () => ({ '/init': prog('/init', [...exit(0)]) }),
    check(env) {
      const handled = new Set(env.k.handledBits());
      const traceBits = new Set(['SYSCALL_TRACE', 'SYSCALL_AUDIT', 'SYSCALL_TRACEPOINT', 'SECCOMP', 'SYSCALL_EMU', 'SINGLESTEP']);
      const problems: string[] = [];
      for (const [mask, bits] of Object.entries(env.d.workMasks)) {
        const allowed = mask === '_TIF_SYSCALL_WORK' ? traceBits : handled;
        for (const b of bits) if (!allowed.has(b)) problems.push(`${mask} has TIF_${b}, which nothing on that path handles or clears`);
      }
      env.observed.masks = Object.fromEntries(Object.entries(env.d.workMasks).map(([m, b]) => [m, b.join('|')]));
      expect(problems.length === 0, 'C9', problems.join('; '));
    },
  },

  // ------------------------------------------------------------------ C6 restarts
  {
    id: 'restart.sys-sa-restart',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTSYS with an SA_RESTART handler: the handler runs, then the syscall is restarted',
    programs: () => blocking(readCall, [{ sig: SIGUSR1, flags: SA_RESTART }]),
    world: () => [signalEvent(init, SIGUSR1), inputEvent('hello')],
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1, 'C6', `handler ran ${slot(env, 1, 'h.h10')} times`);
      expect(syscallEntries(env, 'read') === 2, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 2 (restart after the handler)`);
      expect(ret(env) === 5n, 'C6', `read returned ${hex(slot(env, 1, 'r'))}, expected 5 after the restart`);
    },
  },
  {
    id: 'restart.sys-no-sa-restart',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTSYS with a handler without SA_RESTART: -EINTR',
    programs: () => blocking(readCall, [{ sig: SIGUSR1 }]),
    world: () => [signalEvent(init, SIGUSR1), inputEvent('hello')],
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1, 'C6', 'handler did not run once');
      expect(syscallEntries(env, 'read') === 1, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 1`);
      expect(ret(env) === EINTR, 'C6', `read returned ${hex(slot(env, 1, 'r'))}, expected -EINTR`);
    },
  },
  {
    id: 'restart.sys-no-handler-in-kernel',
    group: 'restart',
    contracts: ['C5', 'C6'],
    title: '-ERESTARTSYS with no handler: restarted inside the kernel, no user instruction in between',
    programs: () => blocking(readCall, []),
    world: () => [...stopCont, inputEvent('hello')],
    check(env) {
      expect(syscallEntries(env, 'read') === 2, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 2`);
      const between = userInsnsBetween(env, 'read');
      expect(between === 0, 'C5', `${between} user-mode instructions ran between the read and its restart (the restart went through user mode)`);
      expect(ret(env) === 5n, 'C6', `read returned ${hex(slot(env, 1, 'r'))}, expected 5`);
    },
  },
  {
    id: 'restart.nointr-handler',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTNOINTR (fork interrupted by a signal) restarts even with a handler without SA_RESTART',
    programs: (d) => ({
      '/init': prog('/init', [
        ...sigaction(SIGUSR1, 'h10'),
        forkOp(d),
        store('ret', 'r'),
        ...forkSplit(),
        ...handler('h10'),
      ]),
    }),
    setup(env) {
      let sent = false;
      env.k.world.at = (k, point, t) => {
        if (point === 'fork' && !sent && t.mm) {
          sent = true;
          k.sendSignal(t, SIGUSR1);
        }
      };
    },
    check(env) {
      const forkName = env.d.syscall.numbers['fork'] !== undefined ? 'fork' : 'clone';
      expect(handlerRuns(env, SIGUSR1) === 1, 'C6', 'handler did not run once');
      expect(syscallEntries(env, forkName) === 2, 'C6', `${forkName} entered ${entries(env, forkName, 1).length} times, expected 2`);
      const r = ret(env);
      expect(r !== undefined && r > 1n, 'C6', `fork returned ${hex(r)} to the parent after the restart`);
      expect(env.k.task(Number(r))?.state === 'dead', 'C6', `the child fork returned (${hex(r)}) did not run and get reaped`);
    },
  },
  {
    id: 'restart.nohand-handler',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTARTNOHAND with a handler (even SA_RESTART): -EINTR',
    programs: () => blocking(ppollCall, [{ sig: SIGUSR1, flags: SA_RESTART }]),
    world: () => [signalEvent(init, SIGUSR1)],
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1, 'C6', 'handler did not run once');
      expect(syscallEntries(env, 'ppoll') === 1, 'C6', `ppoll entered ${entries(env, 'ppoll', 1).length} times, expected 1`);
      expect(ret(env) === EINTR, 'C6', `ppoll returned ${hex(slot(env, 1, 'r'))}, expected -EINTR`);
    },
  },
  {
    id: 'restart.nohand-no-handler',
    group: 'restart',
    contracts: ['C6', 'C5'],
    title: '-ERESTARTNOHAND with no handler: restarted in the kernel',
    programs: () => blocking(ppollCall, [{ sig: SIGUSR1 }]),
    world: () => [...stopCont, signalEvent(init, SIGUSR1)],
    check(env) {
      expect(syscallEntries(env, 'ppoll') === 2, 'C6', `ppoll entered ${entries(env, 'ppoll', 1).length} times, expected 2`);
      const between = userInsnsBetween(env, 'ppoll');
      expect(between === 0, 'C5', `${between} user-mode instructions between ppoll and its restart`);
      expect(handlerRuns(env, SIGUSR1) === 1, 'C6', 'the final handler did not run');
      expect(ret(env) === EINTR, 'C6', `ppoll returned ${hex(slot(env, 1, 'r'))}, expected -EINTR at last`);
    },
  },
  {
    id: 'restart.block-no-handler',
    group: 'restart',
    contracts: ['C6', 'C5'],
    title: '-ERESTART_RESTARTBLOCK with no handler: restart_syscall, in the kernel, finishes the sleep',
    programs: () => blocking(sleepCall, []),
    world: () => [clockEvent(3_000_000_000n), ...stopCont, clockEvent(7_000_000_000n)],
    check(env) {
      expect(syscallEntries(env, 'nanosleep') === 1, 'C6', `nanosleep entered ${entries(env, 'nanosleep', 1).length} times, expected 1 (a restart must use restart_syscall)`);
      expect(syscallEntries(env, 'restart_syscall') === 1, 'C6', `restart_syscall entered ${entries(env, 'restart_syscall', 1).length} times, expected 1`);
      const between = userInsnsBetween(env, 'nanosleep', 'restart_syscall');
      expect(between === 0, 'C5', `${between} user-mode instructions between nanosleep and restart_syscall`);
      expect(ret(env) === 0n, 'C6', `nanosleep returned ${hex(slot(env, 1, 'r'))}, expected 0`);
      expect(env.k.clock === 10_000_000_000n, 'C6', `woke at ${env.k.clock} ns, the sleep was 10 s`);
    },
  },
  {
    id: 'restart.block-handler',
    group: 'restart',
    contracts: ['C6'],
    title: '-ERESTART_RESTARTBLOCK with a handler: -EINTR and the remaining time',
    programs: () => blocking(sleepCall, [{ sig: SIGUSR1, flags: SA_RESTART }]),
    world: () => [clockEvent(4_000_000_000n), signalEvent(init, SIGUSR1)],
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1, 'C6', 'handler did not run once');
      expect(syscallEntries(env, 'restart_syscall') === 0, 'C6', 'restart_syscall ran although a handler ran');
      expect(ret(env) === EINTR, 'C6', `nanosleep returned ${hex(slot(env, 1, 'r'))}, expected -EINTR`);
    },
  },
  {
    id: 'restart.no-double-restart',
    group: 'restart',
    contracts: ['C6'],
    title: 'two signals with handlers on one syscall exit: the syscall is rewound once',
    programs: () =>
      blocking(readCall, [
        { sig: SIGUSR1, flags: SA_RESTART },
        { sig: SIGUSR2, flags: SA_RESTART },
      ]),
    world: () => [(k) => (k.sendSignal(k.task(1)!, SIGUSR1), k.sendSignal(k.task(1)!, SIGUSR2)), inputEvent('hello')],
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1 && handlerRuns(env, SIGUSR2) === 1, 'C6', 'both handlers must run once');
      expect(syscallEntries(env, 'read') === 2, 'C6', `read entered ${entries(env, 'read', 1).length} times, expected 2 (one restart)`);
      expect(ret(env) === 5n, 'C6', `read returned ${hex(slot(env, 1, 'r'))}`);
    },
  },
  {
    id: 'restart.no-restart-on-sigreturn',
    group: 'restart',
    contracts: ['C6'],
    title: 'registers restored by rt_sigreturn holding -ERESTARTNOINTR are never restarted',
    programs: () =>
      blocking(sys('kill', 1, SIGUSR1), [
        { sig: SIGUSR1, mask: 1n << BigInt(SIGUSR2 - 1), body: [{ op: 'ctxStore', reg: 'ret', value: -513n }, sys('kill', 1, SIGUSR2)] },
        { sig: SIGUSR2 },
      ]),
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1 && handlerRuns(env, SIGUSR2) === 1, 'C6', 'both handlers must run once');
      const r = ret(env);
      expect(r === -513n, 'C6', `user mode saw ${hex(r)} after sigreturn, the handler stored -513 (-ERESTARTNOINTR) in the context`);
      expect(syscallEntries(env, 'kill') === 2, 'C6', `kill entered ${entries(env, 'kill', 1).length} times, expected 2`);
      expect(syscallEntries(env, 'rt_sigreturn') === 2, 'C6', `rt_sigreturn entered ${entries(env, 'rt_sigreturn', 1).length} times, expected 2`);
      expect(!env.k.trace.some((l) => l.includes('restart-in-kernel')), 'C6', 'a restart was made after sigreturn');
    },
  },

  // ------------------------------------------------------------------ C7 signal frames
  {
    id: 'signal.frame-roundtrip',
    group: 'signal',
    contracts: ['C7'],
    title: 'every user register survives a signal handler that clobbers them all',
    programs: () => ({
      '/init': prog('/init', [
        ...sigaction(SIGUSR1, 'h10'),
        { op: 'fillRegs', seed: 0x4400n },
        sys('sched_yield'),
        { op: 'storeRegs', prefix: 'after' },
        ...exit(0),
        ...handler('h10', [{ op: 'fillRegs', seed: 0x7700n, keepLink: true }]),
      ]),
    }),
    setup(env) {
      env.k.onSyscall = (name, t) => {
        if (name === 'sched_yield') env.k.sendSignal(t, SIGUSR1);
      };
    },
    check(env) {
      expect(handlerRuns(env, SIGUSR1) === 1, 'C7', 'handler did not run once');
      const d = env.d;
      const skip = new Set([d.registers.nr, d.registers.ret, ...(d.syscall.clobbers ?? [])]);
      const bad: string[] = [];
      comparableRegs(d).forEach((r, i) => {
        if (skip.has(r)) return;
        const v = slot(env, 1, `after.${r}`);
        if (v !== BigInt.asIntN(64, fillValue(0x4400n, i))) bad.push(`${r}=${hex(v)} (was ${hex(fillValue(0x4400n, i))})`);
      });
      env.observed.registersChecked = comparableRegs(d).length - skip.size;
      expect(bad.length === 0, 'C7', `registers not restored by rt_sigreturn: ${bad.join(', ')}`);
    },
  },
  {
    id: 'signal.context-edit',
    group: 'signal',
    contracts: ['C7'],
    title: 'a handler that edits the saved context sees its edits take effect',
    programs: () => ({
      '/init': prog('/init', [
        ...sigaction(SIGUSR1, 'h10'),
        { op: 'fillRegs', seed: 0x5500n },
        sys('sched_yield'),
        { op: 'storeRegs', prefix: 'after' },
        ...exit(0),
        ...handler('h10', [
          { op: 'ctxStore', reg: 'callee0', value: 0xed17_0001n },
          { op: 'ctxStore', reg: 'callee1', value: 0xed17_0002n },
        ]),
      ]),
    }),
    setup(env) {
      env.k.onSyscall = (name, t) => {
        if (name === 'sched_yield') env.k.sendSignal(t, SIGUSR1);
      };
    },
    check(env) {
      const [c0, c1] = env.d.registers.calleeSaved;
      const v0 = slot(env, 1, `after.${c0}`);
      const v1 = slot(env, 1, `after.${c1}`);
      env.observed.edited = { [c0!]: hex(v0), [c1!]: hex(v1) };
      expect(v0 === 0xed17_0001n && v1 === 0xed17_0002n, 'C7', `after sigreturn ${c0}=${hex(v0)} ${c1}=${hex(v1)}, the handler wrote 0xed170001/0xed170002 into the context`);
      const i2 = comparableRegs(env.d).indexOf(env.d.registers.calleeSaved[2]!);
      if (i2 >= 0) {
        const v2 = slot(env, 1, `after.${env.d.registers.calleeSaved[2]}`);
        expect(v2 === fillValue(0x5500n, i2), 'C7', `an unedited register changed: ${hex(v2)}`);
      }
    },
  },

  {
    id: 'signal.user-fault',
    group: 'signal',
    contracts: ['C7', 'C2'],
    title: 'a privileged instruction in user mode faults; the fault arrives as a signal whose handler can step over it',
    programs: () => ({
      '/init': prog('/init', [
        ...sigaction(SIGSEGV, 'h11'),
        ...sigaction(SIGILL, 'h4'),
        { op: 'privileged' },
        label('after'),
        set('callee0', 1),
        store('callee0', 'after'),
        ...exit(0),
        ...handler('h11', [{ op: 'ctxStore', reg: 'pc', value: { label: 'after' } }]),
        ...handler('h4', [{ op: 'ctxStore', reg: 'pc', value: { label: 'after' } }]),
      ]),
    }),
    check(env) {
      const fault = env.k.trace.find((l) => l.startsWith('1:fault sig'));
      env.observed.fault = fault?.split(' ')[1];
      expect(fault, 'C2', 'user mode ran a privileged instruction and nothing faulted');
      const runs = handlerRuns(env, SIGSEGV) + handlerRuns(env, SIGILL);
      expect(runs === 1, 'C7', `the fault handler ran ${runs} times`);
      expect(slot(env, 1, 'after') === 1n, 'C7', 'the task did not resume where the handler pointed it');
      expect(env.k.task(1)!.exitCode === 0 && env.k.task(1)!.killedBy === 0, 'C7', 'the task did not exit normally after the handled fault');
    },
  },
  // ------------------------------------------------------------------ C8 ptrace
  {
    id: 'ptrace.entry-modify-args',
    group: 'ptrace',
    contracts: ['C8', 'C4'],
    title: 'a tracer rewrites the syscall number and arguments at the entry stop; the new call runs',
    programs: (d) => ({ '/init': prog('/init', [sys('getpid'), store('ret', 'r'), ...exit(0)], { msg: strWords('traced!', d) }) }),
    setup(env) {
      traceInit(env, {
        onSyscallEntry: (_t, v) => {
          if (v.nr() !== BigInt(env.d.syscall.numbers['getpid']!)) return;
          v.setNr(BigInt(env.d.syscall.numbers['write']!));
          v.set(env.d.registers.args[0]!, 1n);
          v.set(env.d.registers.args[1]!, env.images['/init']!.data.get('msg')!);
          v.set(env.d.registers.args[2]!, 7n);
        },
      });
    },
    check(env) {
      const w = entries(env, 'write', 1);
      expect(syscallEntries(env, 'getpid') === 0, 'C8', 'getpid ran although the tracer changed the number');
      expect(w.length === 1, 'C8', `write entered ${w.length} times, expected 1`);
      env.observed.args = w[0]!.args.slice(0, 3).map((a) => hex(a));
      expect(w[0]!.args[0] === 1n && w[0]!.args[2] === 7n, 'C8', `write ran with args ${w[0]!.args.slice(0, 3).map((a) => hex(a)).join(', ')}, the tracer set 0x1, msg, 0x7`);
      expect(env.k.output.join('') === 'traced!', 'C8', `write wrote ${JSON.stringify(env.k.output.join(''))}`);
      expect(ret(env) === 7n, 'C8', `user mode saw ${hex(slot(env, 1, 'r'))}`);
    },
  },
  {
    id: 'ptrace.entry-skip',
    group: 'ptrace',
    contracts: ['C8'],
    title: 'syscall number -1 at the entry stop skips the syscall; the tracer\'s return value stands',
    programs: () => ({ '/init': prog('/init', [sys('getpid'), store('ret', 'r'), ...exit(0)]) }),
    setup(env) {
      traceInit(env, {
        onSyscallEntry: (_t, v) => {
          if (v.nr() !== BigInt(env.d.syscall.numbers['getpid']!)) return;
          v.setNr(-1n);
          v.set(env.d.registers.ret, 0x5a5an);
        },
      });
    },
    check(env) {
      expect(syscallEntries(env, 'getpid') === 0, 'C8', 'getpid ran although the tracer skipped it');
      expect(ret(env) === 0x5a5an, 'C8', `user mode saw ${hex(slot(env, 1, 'r'))}, the tracer set 0x5a5a`);
    },
  },
  {
    id: 'ptrace.sigkill-short-circuit',
    group: 'ptrace',
    contracts: ['C8'],
    title: 'PTRACE_CONT with SIGKILL at the entry stop: the syscall never runs, the task dies',
    programs: (d) => ({ '/init': prog('/init', [sys('write', 1, { data: 'msg' }, 4), store('ret', 'r'), ...exit(0)], { msg: strWords('oops', d) }) }),
    setup(env) {
      traceInit(env, { onSyscallEntry: (_t, v) => (v.nr() === BigInt(env.d.syscall.numbers['write']!) ? { kill: true } : undefined) });
    },
    check(env) {
      const t = env.k.task(1)!;
      env.observed.killedBy = t.killedBy;
      expect(syscallEntries(env, 'write') === 0, 'C8', 'write ran although the tracer killed the task at the entry stop');
      expect(t.killedBy === 9, 'C8', `task ended with ${t.killedBy ? `signal ${t.killedBy}` : `exit ${t.exitCode >> 8}`}, expected SIGKILL`);
      expect(syscallEntries(env, 'exit') === 0, 'C8', 'the task went on after SIGKILL');
    },
  },
  {
    id: 'ptrace.callee-saved-modify',
    group: 'ptrace',
    contracts: ['C8'],
    title: 'callee-saved registers changed by a tracer at a stop are what user mode sees',
    programs: () => ({ '/init': prog('/init', [{ op: 'fillRegs', seed: 0x6600n }, sys('getpid'), { op: 'storeRegs', prefix: 'after' }, ...exit(0)]) }),
    setup(env) {
      traceInit(env, {
        onSyscallExit: (_t, v) => {
          if (env.state.done || v.nr() !== BigInt(env.d.syscall.numbers['getpid']!)) return;
          env.state.done = true;
          env.d.registers.calleeSaved.forEach((r, i) => v.set(r, 0xca11_0000n + BigInt(i)));
        },
      });
    },
    check(env) {
      const bad = env.d.registers.calleeSaved.filter((r, i) => comparableRegs(env.d).includes(r) && slot(env, 1, `after.${r}`) !== 0xca11_0000n + BigInt(i));
      env.observed.registersChanged = env.d.registers.calleeSaved.length;
      expect(bad.length === 0, 'C8', `user mode did not see the tracer's values in ${bad.map((r) => `${r}=${hex(slot(env, 1, `after.${r}`))}`).join(', ')}`);
    },
  },
];

function traceInit(env: Env, tracer: import('@archkit/generic-core/kernel/kernel').Tracer): void {
  env.state.tracer = tracer;
}

export type { ArchDescriptor };
