// C12 asynchronous interrupts: a timer or a signalling device interrupts user code and
// kernel code wherever the CPU has interrupts enabled, entered through the port's own irq
// glue. irq.sweep is run by the runner: one interrupt at each such instruction in turn.

import { allRegs, fillValue, type Op } from '@archkit/generic-core/user/compile';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import {
  type Env,
  type ScenarioDef,
  entries,
  exit,
  expect,
  forkSplit,
  hex,
  inputEvent,
  label,
  prog,
  set,
  sig,
  slot,
  store,
  storeResult,
  result,
  sys,
  withHandlers,
  cloneArgs,
} from './dsl.ts';

const ROUNDS = 3;
// a timer period well above the longest way from a tick back to user mode (MIPS: ~200
// instructions with a task switch), or every return from schedule() meets the next tick
const TICK_EVERY = 1000;
const TLS_MAGIC = 0x7115_c0de_0000_0001n;
const INPUT = 'interrupts arrive between any two instructions.\n'.padEnd(48, '.');

const nops = (n: number): Op[] => Array.from({ length: n }, () => ({ op: 'nop' }) as Op);

/** The user's own thread pointer, pointing at a word that says which it is. */
function tlsData(d: ArchDescriptor) {
  return { tls: [d.wordSize === 8 ? TLS_MAGIC : TLS_MAGIC & 0xffff_ffffn] };
}
const tlsSet: Op = { op: 'tlsSet', value: { data: 'tls' } };
const tlsCheck = (slotName: string): Op[] => [{ op: 'tlsLoad', reg: 'callee0' }, store('callee0', slotName)];

function tlsSeen(env: Env, pid: number, name: string): void {
  const want = BigInt.asIntN(env.d.wordSize * 8, env.d.wordSize === 8 ? TLS_MAGIC : TLS_MAGIC & 0xffff_ffffn);
  const got = slot(env, pid, name);
  env.observed.tlsKept = got === want;
  expect(got === want, 'C12', `the word at the user's own thread pointer reads ${hex(got)}, not ${hex(want)}: user mode got back a thread pointer (${env.d.name === 'x86_64' ? 'GS base' : 'TLS register'}) that is not its own`);
}

/** Every register of allRegs() and sp, as the program stored them with storeAllRegs. */
function compareAll(env: Env, pid: number, prefix: string, seed: bigint, spSlot: string): string[] {
  const d = env.d;
  const bad: string[] = [];
  allRegs(d).forEach((r, i) => {
    const v = slot(env, pid, `${prefix}.${r}`);
    const want = BigInt.asIntN(d.wordSize * 8, fillValue(seed, i));
    if (v !== want) bad.push(`${r}=${hex(v)} (was ${hex(want)})`);
  });
  const sp = slot(env, pid, `${prefix}.${d.registers.sp}`);
  const sp0 = slot(env, pid, spSlot);
  if (sp !== sp0) bad.push(`${d.registers.sp}=${hex(sp)} (was ${hex(sp0)})`);
  return bad;
}

function irqsTaken(env: Env, where?: 'user' | 'kernel') {
  return env.k.irqs.filter((r) => where === undefined || r.user === (where === 'user'));
}

/** The program irq.sweep sweeps: user code, a syscall, a copy to user memory, a signal-free exit. */
export function sweepProgram(d: ArchDescriptor) {
  return prog(
    '/init',
    [
      tlsSet,
      store(d.registers.sp, 'sp0'),
      { op: 'fillRegs', seed: 0x3300n, all: true },
      ...nops(4),
      { op: 'storeAllRegs', prefix: 'mid' },
      sys('getpid'),
      ...storeResult(d, 'pid'),
      sys('read', 0, { data: 'buf' }, 16),
      ...storeResult(d, 'n'),
      { op: 'fillRegs', seed: 0x6600n, all: true },
      ...nops(2),
      { op: 'storeAllRegs', prefix: 'end' },
      ...tlsCheck('tls'),
      ...exit(0),
    ],
    { ...tlsData(d), buf: new Array<bigint>(4).fill(0n) },
  );
}

export const irqScenarios: ScenarioDef[] = [
  {
    id: 'irq.user-preempt',
    group: 'irq',
    contracts: ['C12', 'C5'],
    needsIrq: true,
    title: 'two user tasks that never make a syscall both finish: only timer preemption lets them take turns',
    // clone(CLONE_VM | SIGCHLD): one address space, each task spins until the other hands
    // it the turn through a shared word; without preemption the first spinner never yields
    programs: (d) => {
      const turns = (mine: 0 | 1, rounds: string, left: string, wait: string): Op[] => [
        label(wait),
        { op: 'load', reg: 'callee0', slot: 'turn' },
        { op: mine === 0 ? 'bnez' : 'beqz', reg: 'callee0', label: wait },
        { op: 'inc', slot: rounds },
        set('callee0', mine === 0 ? 1 : 0),
        store('callee0', 'turn'),
        { op: 'inc', slot: left },
        { op: 'load', reg: 'callee0', slot: left },
        { op: 'bnez', reg: 'callee0', label: wait },
      ];
      const args = cloneArgs(d, 0x100 | sig(d, 'SIGCHLD'), { data: 'cstack_top' });
      return {
        '/init': prog(
          '/init',
          [
            set('callee0', -ROUNDS),
            store('callee0', 'left.p'),
            store('callee0', 'left.c'),
            set('callee0', 0),
            store('callee0', 'turn'),
            { op: 'syscall', name: 'clone', args },
            ...forkSplit(turns(0, 'rounds.p', 'left.p', 'wait_p'), turns(1, 'rounds.c', 'left.c', 'wait_c')),
          ],
          { cstack: new Array<bigint>(32).fill(0n), cstack_top: [0n] },
        ),
      };
    },
    setup(env) {
      env.k.irqPlan = { source: { kind: 'tick' }, every: TICK_EVERY };
    },
    check(env) {
      const user = irqsTaken(env, 'user').length;
      const switches = env.k.trace.filter((l) => l.startsWith('switch ')).length;
      const rp = slot(env, 1, 'rounds.p');
      const rc = slot(env, 1, 'rounds.c');
      env.observed.rounds = { parent: Number(rp), child: Number(rc) };
      env.observed.ticksInUserMode = user;
      env.observed.contextSwitches = switches;
      expect(rp === BigInt(ROUNDS) && rc === BigInt(ROUNDS), 'C12', `the tasks took ${rp} and ${rc} turns of ${ROUNDS}: timer preemption did not switch between them`);
      const handovers = env.k.trace.filter((l) => /^switch (\d+)->(\d+)$/.test(l) && !l.includes('->0') && !l.startsWith('switch 0->')).length;
      env.observed.userSwitches = handovers;
      expect(user >= 1 && handovers >= 2 * ROUNDS - 1, 'C12', `${handovers} switches between the two tasks and ${user} ticks in user mode: the turns did not come from preemption`);
      expect(irqsTaken(env).every((r) => r.handled), 'C12', 'an interrupt was taken but never handled');
      expect((env.k.handledWork['handle_irq'] ?? 0) === env.k.irqs.length, 'C12', 'handle_irq ran a different number of times than interrupts were taken');
    },
  },
  {
    id: 'irq.async-signal-scratch-regs',
    group: 'irq',
    contracts: ['C12', 'C7'],
    needsIrq: true,
    title: 'a signal raised by an interrupt between two user instructions: every register, scratch ones included, comes back exactly',
    programs: (d) => ({
      '/init': withHandlers(
        d,
        '/init',
        [{ sig: sig(d, 'SIGUSR1'), body: [{ op: 'fillRegs', seed: 0x7700n, keepLink: true, all: true }] }],
        [
          tlsSet,
          store(d.registers.sp, 'sp0'),
          { op: 'fillRegs', seed: 0x4400n, all: true },
          ...nops(6),
          label('irq_here'),
          ...nops(6),
          { op: 'storeAllRegs', prefix: 'after' },
          ...tlsCheck('tls'),
          ...exit(0),
        ],
        tlsData(d),
      ),
    }),
    setup(env) {
      env.k.irqPlan = { source: { kind: 'signal', sig: sig(env.d, 'SIGUSR1') }, afterPc: env.images['/init']!.symbols.get('irq_here')!, limit: 1 };
    },
    check(env) {
      const taken = irqsTaken(env);
      expect(taken.length === 1 && taken[0]!.user, 'C12', `expected one interrupt in user mode, saw ${taken.map((r) => r.at).join(', ') || 'none'}`);
      env.observed.irqAt = taken[0]!.at;
      const runs = slot(env, 1, `h.h${sig(env.d, 'SIGUSR1')}`);
      expect(runs === 1n, 'C12', `the handler ran ${runs} times, not once, for the signal the interrupt raised`);
      const bad = compareAll(env, 1, 'after', 0x4400n, 'sp0');
      env.observed.registersChecked = allRegs(env.d).length + 1;
      env.observed.registersNotRestored = bad.map((b) => b.split('=')[0]);
      expect(bad.length === 0, 'C7', `registers not as they were before the interrupt: ${bad.join(', ')}`);
      tlsSeen(env, 1, 'tls');
    },
  },
  {
    id: 'irq.in-kernel',
    group: 'irq',
    contracts: ['C12'],
    needsIrq: true,
    title: 'an interrupt inside a syscall (copy_to_user, interrupts on) returns to the kernel; its signal waits for the way out',
    programs: (d) => ({
      '/init': withHandlers(
        d,
        '/init',
        [{ sig: sig(d, 'SIGUSR1') }],
        [tlsSet, sys('read', 0, { data: 'buf' }, INPUT.length), ...storeResult(d, 'n'), ...tlsCheck('tls'), ...exit(0)],
        { ...tlsData(d), buf: new Array<bigint>(INPUT.length / d.wordSize).fill(0n) },
      ),
    }),
    unsupported: (d) => (d.symbols.copyToUser ? undefined : 'arch.json names no copy_to_user routine (symbols.copyToUser)'),
    world: () => [inputEvent(INPUT)],
    setup(env) {
      env.k.irqPlan = { source: { kind: 'signal', sig: sig(env.d, 'SIGUSR1') }, afterPc: env.k.sym(env.d.symbols.copyToUser!), limit: 1 };
    },
    check(env) {
      const taken = irqsTaken(env);
      expect(taken.length === 1, 'C12', `expected one interrupt, saw ${taken.length}`);
      const r = taken[0]!;
      env.observed.irqAt = r.at;
      expect(!r.user, 'C12', `the interrupt was expected in copy_to_user, it arrived at ${r.at}`);
      const n = result(env, 1, 'n');
      env.observed.ret = Number(n);
      expect(n === BigInt(INPUT.length), 'C12', `read() returned ${hex(n)}, not the ${INPUT.length} bytes that were there: the interrupted copy did not resume where it was`);
      const at = Number(env.images['/init']!.data.get('buf')! - env.d.memory.user);
      const text = new TextDecoder().decode(env.k.mmImage(env.k.task(1)!.mm!).subarray(at, at + INPUT.length));
      env.observed.copied = text === INPUT;
      expect(text === INPUT, 'C12', `user memory holds ${JSON.stringify(text)} after the copy the interrupt cut in two`);
      const runs = slot(env, 1, `h.h${sig(env.d, 'SIGUSR1')}`);
      expect(runs === 1n, 'C12', `the handler ran ${runs} times: the signal the interrupt raised must be delivered once, on the way out of read()`);
      const reads = entries(env, 'read', 1);
      expect(reads.length === 1, 'C12', `read() was entered ${reads.length} times: an interrupt inside a completed copy must not restart it`);
      tlsSeen(env, 1, 'tls');
    },
  },
  {
    id: 'irq.sweep',
    group: 'irq',
    contracts: ['C12', 'C2', 'C5', 'C7'],
    needsIrq: true,
    sweep: true,
    title: 'one timer interrupt at each instruction where interrupts are enabled, user and kernel mode, in turn: nothing user mode sees changes',
    programs: (d) => ({ '/init': sweepProgram(d) }),
    world: () => [inputEvent('sixteen bytes!!\n')],
    check(env) {
      const bad = [...compareAll(env, 1, 'mid', 0x3300n, 'sp0'), ...compareAll(env, 1, 'end', 0x6600n, 'sp0')];
      expect(bad.length === 0, 'C12', `registers changed: ${bad.join(', ')}`);
      expect(result(env, 1, 'pid') === 1n, 'C12', `getpid() returned ${hex(result(env, 1, 'pid'))}`);
      expect(result(env, 1, 'n') === 16n, 'C12', `read() returned ${hex(result(env, 1, 'n'))}`);
      tlsSeen(env, 1, 'tls');
    },
  },
];
