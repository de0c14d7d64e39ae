// The generic kernel's mechanisms, each exercised on a real booted Kernel: the real arch ports
// (x86_64, arm64: real entry.S assembled by keystone, run on Unicorn), user programs compiled
// with compileProgram, and the TypeScript "C" (bridge, kernel_thread, schedule/switch_mm,
// do_work_pending, do_signal restart decisions, send_signal).

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Assembler } from '../src/asm/assembler.ts';
import { createKeystoneAssembler } from '../src/asm/keystone.ts';
import type { ArchPort, PortC } from '../src/contracts/port.ts';
import { Bridge, guestCall, type CGen } from '../src/kernel/bridge.ts';
import * as E from '../src/kernel/errno.ts';
import { Kernel, KernelBug, USER_DATA, USER_STACK_TOP, type World } from '../src/kernel/kernel.ts';
import type { PtRegs } from '../src/kernel/ptregs.ts';
import { SA_RESTART, SIG_IGN, type Task } from '../src/kernel/types.ts';
import type { Machine } from '../src/machine/machine.ts';
import { createUnicornMachine } from '../src/machine/unicorn.ts';
import { compileProgram, type Op, type UserImage, type UserProgram, type Val } from '../src/user/compile.ts';

// ------------------------------------------------------------------ fixtures

type ArchName = 'x86_64' | 'arm64';
const loaders: Record<ArchName, (opts?: { mutant?: string }) => Promise<ArchPort>> = {
  x86_64: async (opts) => (await import('@archkit/arch-x86_64')).createPort(opts),
  arm64: async (opts) => (await import('@archkit/arch-arm64')).createPort(opts),
};

interface Arch {
  name: ArchName;
  port: ArchPort;
  asm: Assembler;
}
const arches = new Map<ArchName, Arch>();

beforeAll(async () => {
  for (const name of Object.keys(loaders) as ArchName[]) {
    const port = await loaders[name]();
    arches.set(name, { name, port, asm: await createKeystoneAssembler(port.descriptor.assembler.arch) });
  }
});

const machines: Machine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

function newMachine(port: ArchPort): Machine {
  const d = port.descriptor;
  const m = createUnicornMachine({ arch: d.emulator.arch, mode: d.emulator.mode, endian: d.endian, cpuModel: d.emulator.cpuModel });
  machines.push(m);
  return m;
}

// ops, as the scenarios write them
const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const load = (reg: string, slot: string): Op => ({ op: 'load', reg, slot });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const label = (name: string): Op => ({ op: 'label', name });
const prog = (name: string, ops: Op[], data?: Record<string, bigint[]>): UserProgram => ({ name, ops: [label('_start'), ...ops], data });
const forkOp = (a: Arch): Op => (a.port.descriptor.syscall.numbers['fork'] !== undefined ? sys('fork') : sys('clone', 17, 0, 0, 0, 0));

function compileAll(a: Arch, programs: Record<string, UserProgram>, port = a.port): Record<string, UserImage> {
  const imgs: Record<string, UserImage> = {};
  Object.entries(programs).forEach(([path, p], i) => {
    imgs[path] = compileProgram({ desc: port.descriptor, templates: port.sources.userTemplates, portC: port.c, assembler: a.asm }, p, BigInt(i) * 0x2000n);
  });
  return imgs;
}

interface BootOpts {
  port?: ArchPort;
  programs?: Record<string, UserProgram>;
  kfns?: Record<string, (k: Kernel, arg: bigint) => CGen>;
  world?: World['events'];
}

/** A booted kernel, not yet running (as runner.ts runOne does it). */
function boot(a: Arch, o: BootOpts = {}): { k: Kernel; imgs: Record<string, UserImage>; m: Machine } {
  const port = o.port ?? a.port;
  const imgs = compileAll(a, o.programs ?? {}, port);
  const m = newMachine(port);
  const k = new Kernel({
    port,
    machine: m,
    assembler: a.asm,
    programs: imgs,
    world: { events: [...(o.world ?? [])] },
    kfns: {
      ...o.kfns,
      *kernel_init(kk: Kernel): CGen {
        if (kk.kernelExecve('/init') !== 0n) yield* kk.doExit(127 << 8);
        return 0n;
      },
    },
  });
  k.boot();
  return { k, imgs, m };
}

/** Starts pid 1 running `init` (default: exec /init) and runs the machine to the end. */
function start(k: Kernel, init = 'kernel_init', arg = 0n, budget = 2_000_000): void {
  const g = k.kernelThread(init, arg);
  const r = g.next();
  expect(r.done).toBe(true);
  k.run(budget);
}

function runProgram(a: Arch, programs: Record<string, UserProgram>, o: Omit<BootOpts, 'programs'> & { setup?: (k: Kernel) => void } = {}) {
  const b = boot(a, { ...o, programs });
  o.setup?.(b.k);
  start(b.k);
  return { ...b, slot: (pid: number, name: string, path = '/init') => slotOf(b.k, b.imgs, pid, name, path) };
}

function slotOf(k: Kernel, imgs: Record<string, UserImage>, pid: number, name: string, path = '/init'): bigint | undefined {
  const i = imgs[path]!.slots.get(name);
  if (i === undefined) throw new Error(`test bug: no slot ${name} in ${path}`);
  const v = k.results.get(pid)?.get(BigInt(i));
  return v === undefined ? undefined : BigInt.asIntN(64, v);
}

function catchErr(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an exception, none was thrown');
}

/** Drives a C generator that must not call guest code. */
function drive<T>(g: Generator<unknown, T, bigint>): T {
  const r = g.next();
  if (!r.done) throw new Error('test bug: the C function tried to call guest code');
  return r.value;
}

const ARCH_NAMES: ArchName[] = ['x86_64', 'arm64'];
const arch = (n: ArchName) => arches.get(n)!;

// ------------------------------------------------------------------ bridge

/** Tiny guest programs for the bridge: call C with six args; a guest function C calls back. */
const BRIDGE_ASM: Record<ArchName, { caller: string; callee: string; result: string }> = {
  x86_64: {
    caller: `
_start:
    mov rdi, 0x11
    mov rsi, 0x22
    mov rdx, 0x33
    mov rcx, 0x44
    mov r8, 0x55
    mov r9, 0x66
    call cfun
    mov rbx, rax
done:
    nop
`,
    callee: `
gfun:
    lea rax, [rdi + rsi]
    ret
`,
    result: 'rbx',
  },
  arm64: {
    caller: `
_start:
    mov x0, #0x11
    mov x1, #0x22
    mov x2, #0x33
    mov x3, #0x44
    mov x4, #0x55
    mov x5, #0x66
    bl cfun
    mov x19, x0
done:
    nop
`,
    callee: `
gfun:
    add x0, x0, x1
    ret
`,
    result: 'x19',
  },
};

describe.each(ARCH_NAMES)('bridge (%s)', (name) => {
  const CODE = 0x10000n;
  const STUBS = 0x180000n;
  const STACK = 0x20000n;

  function bridgeMachine(key: { v: bigint }) {
    const a = arch(name);
    const d = a.port.descriptor;
    const m = newMachine(a.port);
    m.map(CODE, 0x1000);
    m.map(STUBS, 0x1000);
    m.map(STACK, 0x1000);
    const cc = d.callingConvention;
    const b = new Bridge(m, { args: cc.args, ret: cc.ret, returnAddress: cc.returnAddress, sp: d.registers.sp, pc: d.registers.pc, wordSize: d.wordSize }, STUBS, 0x1000, () => key.v);
    return { a, m, b, d };
  }

  function load(a: Arch, m: Machine, cfun: bigint): { start: bigint; done: bigint; gfun: bigint } {
    const src = BRIDGE_ASM[name];
    const r = a.asm.assemble({ file: 'bridge-test.S', text: src.caller + src.callee }, { base: CODE, externs: { cfun } });
    m.write(CODE, r.bytes);
    m.setReg(a.port.descriptor.registers.sp, STACK + 0x800n);
    return { start: r.symbols.get('_start')!, done: r.symbols.get('done')!, gfun: r.symbols.get('gfun')! };
  }

  it('passes the C calling convention arguments to a stub and returns its value in the return register', () => {
    const { a, m, b, d } = bridgeMachine({ v: 1n });
    let seen: bigint[] = [];
    const cfun = b.register('cfun', (...args: bigint[]) => {
      seen = args;
      return 0xc0ffeen;
    });
    b.install();
    const p = load(a, m, cfun);
    const sp0 = m.reg(d.registers.sp);
    m.run(p.start, { instructions: 1000 }, p.done);
    expect(seen.slice(0, 6)).toEqual([0x11n, 0x22n, 0x33n, 0x44n, 0x55n, 0x66n]);
    expect(seen.length).toBe(d.callingConvention.args.length);
    expect(m.reg(BRIDGE_ASM[name].result)).toBe(0xc0ffeen);
    // the return popped what the call pushed
    expect(m.reg(d.registers.sp)).toBe(sp0);
  });

  it('a negative C return value arrives as the two\'s complement word', () => {
    const { a, m, b } = bridgeMachine({ v: 1n });
    const cfun = b.register('cfun', () => -E.EINTR);
    b.install();
    const p = load(a, m, cfun);
    m.run(p.start, { instructions: 1000 }, p.done);
    expect(BigInt.asIntN(64, m.reg(BRIDGE_ASM[name].result))).toBe(-4n);
  });

  it('a C function that calls guest code resumes with the guest\'s return value', () => {
    const key = { v: 1n };
    const { a, m, b } = bridgeMachine(key);
    let gfun = 0n;
    let got: bigint | undefined;
    const cfun = b.register('cfun', function* (x: bigint | undefined, y: bigint | undefined): CGen {
      got = yield* guestCall(gfun, [x! * 2n, y! * 2n]);
      return got + 1n;
    });
    b.install();
    const p = load(a, m, cfun);
    gfun = p.gfun;
    m.run(p.start, { instructions: 1000 }, p.done);
    expect(got).toBe(0x22n + 0x44n);
    expect(m.reg(BRIDGE_ASM[name].result)).toBe(0x22n + 0x44n + 1n);
    expect(b.pendingFrames(1n)).toBe(0);
  });

  it('a suspended C frame belongs to the task that made the call, not the one current when the guest returns', () => {
    const key = { v: 1n };
    const { a, m, b } = bridgeMachine(key);
    let gfun = 0n;
    const cfun = b.register('cfun', function* (): CGen {
      // like schedule(): `current` changes before switch_to is called
      key.v = 2n;
      const r = yield* guestCall(gfun, [5n, 6n]);
      return r * 10n;
    });
    b.install();
    const p = load(a, m, cfun);
    gfun = p.gfun;
    // stop at the guest function: the C frame is suspended
    m.run(p.start, { instructions: 1000 }, p.gfun);
    expect(b.pendingFrames(1n)).toBe(1);
    expect(b.pendingFrames(2n)).toBe(0);
    // task 1 is the one that comes back through the return stub
    key.v = 1n;
    m.run(p.gfun, { instructions: 1000 }, p.done);
    expect(m.reg(BRIDGE_ASM[name].result)).toBe(110n);
    expect(b.pendingFrames(1n)).toBe(0);
  });

  it('a guest return into a task with no suspended frame is an error naming the task', () => {
    const key = { v: 1n };
    const { a, m, b } = bridgeMachine(key);
    let gfun = 0n;
    const cfun = b.register('cfun', function* (): CGen {
      return yield* guestCall(gfun, [1n, 2n]);
    });
    b.install();
    const p = load(a, m, cfun);
    gfun = p.gfun;
    m.run(p.start, { instructions: 1000 }, p.gfun);
    key.v = 0x7777n;
    const e = catchErr(() => m.run(p.gfun, { instructions: 1000 }, p.done));
    expect(e.message).toMatch(/task 0x7777 has no suspended C frame/);
  });

  it('a jump into the stub page where no C function lives is an error', () => {
    const { a, m, b } = bridgeMachine({ v: 1n });
    b.install();
    const p = load(a, m, STUBS + 0x800n);
    const e = catchErr(() => m.run(p.start, { instructions: 1000 }, p.done));
    expect(e.message).toMatch(/stub page at 0x180800, where no C function lives/);
  });
});

// ------------------------------------------------------------------ tasks and scheduling

describe.each(ARCH_NAMES)('kernel_thread, schedule, switch_mm (%s)', (name) => {
  const ARG = 0x0123_4567_89ab_cdefn;

  it('kernel_thread: copy_thread gets regs === null with fn in usp and arg in arg; fn(arg) runs after schedule_tail', () => {
    const a = arch(name);
    const calls: Array<{ pid: number; usp: bigint; arg: bigint; regs: PtRegs | null }> = [];
    const c: PortC = {
      ...a.port.c,
      copyThread(k, p, flags, usp, arg, regs, tls) {
        calls.push({ pid: p.pid, usp, arg, regs });
        a.port.c.copyThread(k, p, flags, usp, arg, regs, tls);
      },
    };
    let probe: { pid: number; arg: bigint; tailDone: unknown; traceAt: number } | undefined;
    const { k } = boot(a, {
      port: { ...a.port, c },
      kfns: {
        *probe(kk, arg): CGen {
          probe = { pid: kk.current().pid, arg, tailDone: kk.current().scheduleTailDone, traceAt: kk.trace.length };
          kk.trace.push(`${kk.current().pid}:probe`);
          yield* kk.doExit(7 << 8);
          return 0n;
        },
      },
    });
    start(k, 'probe', ARG);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.regs).toBeNull();
    expect(calls[0]!.usp).toBe(k.bridge.addr('kfn_probe'));
    expect(calls[0]!.arg).toBe(ARG);
    expect(probe).toBeDefined();
    expect(probe!.pid).toBe(1);
    expect(probe!.arg).toBe(ARG);
    expect(probe!.tailDone).toBe(true);
    const tail = k.trace.indexOf('1:schedule_tail');
    expect(tail).toBeGreaterThanOrEqual(0);
    expect(tail).toBeLessThan(k.trace.indexOf('1:probe'));
    expect(k.task(1)!.exitCode).toBe(7 << 8);
    // the kthread never reached user mode
    expect(k.exits).toHaveLength(0);
  });

  it('kernel_thread whose fn returns after kernel_execve goes to user mode through the trampoline, only pt_regs on the stack', () => {
    const a = arch(name);
    const { k, imgs } = boot(a, { programs: { '/init': prog('/init', [sys('getpid'), store('ret', 'pid'), sys('exit', 0)]) } });
    start(k);
    const first = k.exits.find((e) => e.pid === 1)!;
    expect(first).toBeDefined();
    expect(first.pc).toBe(imgs['/init']!.entry);
    expect(first.spDelta).toBe(0n);
    expect(first.irqsOn).toBe(false);
    expect(slotOf(k, imgs, 1, 'pid')).toBe(1n);
  });

  it('two processes with different memory each see their own memory across switches (fork child writes, parent unaffected)', () => {
    const a = arch(name);
    // parent stores A in v, forks; child stores B in v and yields; parent yields back, reads v; child reads v.
    const r = runProgram(a, {
      '/init': prog('/init', [
        set('callee0', 0xaaaa),
        store('callee0', 'v'),
        forkOp(a),
        { op: 'beqz', reg: 'ret', label: 'child' },
        store('ret', 'childpid'),
        sys('sched_yield'),
        load('callee1', 'v'),
        store('callee1', 'parentSaw'),
        sys('wait4', -1, { slot: 'status' }, 0, 0),
        store('ret', 'waited'),
        sys('exit', 0),
        label('child'),
        set('callee0', 0xbbbb),
        store('callee0', 'v'),
        sys('sched_yield'),
        load('callee1', 'v'),
        store('callee1', 'childSaw'),
        sys('exit', 3),
      ]),
    });
    const child = Number(r.slot(1, 'childpid'));
    expect(child).toBeGreaterThan(1);
    expect(r.slot(1, 'parentSaw')).toBe(0xaaaan);
    expect(r.slot(1, 'v')).toBe(0xaaaan);
    expect(r.slot(child, 'childSaw')).toBe(0xbbbbn);
    expect(r.slot(child, 'v')).toBe(0xbbbbn);
    // both ran interleaved: switches in both directions happened
    expect(r.k.trace).toContain(`switch 1->${child}`);
    expect(r.k.trace).toContain(`switch ${child}->1`);
    expect(r.k.task(1)!.mm).not.toBe(r.k.task(child)!.mm);
    // parent and child both exit: each resumed its own suspended C frame
    expect(r.slot(1, 'waited')).toBe(BigInt(child));
    expect(r.k.task(child)!.exitCode).toBe(3 << 8);
    expect(r.k.task(1)!.state).toBe('zombie');
    // (had a frame been resumed by the wrong task, do_exit's "ran again after do_exit" KernelBug would have stopped the run)
    expect(r.k.trace.filter((l) => l.endsWith(':exit 0') || l.endsWith(':exit 768'))).toEqual([`${child}:exit 768`, '1:exit 0']);
  });

  it('a task switched out in schedule() resumes its own C frame with its own return value (sched_yield ping-pong)', () => {
    const a = arch(name);
    // each task's getpid result after several yields must be its own pid
    const body = (who: string): Op[] => [
      sys('sched_yield'),
      store('ret', `${who}.y1`),
      sys('sched_yield'),
      sys('getpid'),
      store('ret', `${who}.pid`),
      sys('sched_yield'),
      store('ret', `${who}.y3`),
    ];
    const r = runProgram(a, {
      '/init': prog('/init', [
        forkOp(a),
        { op: 'beqz', reg: 'ret', label: 'child' },
        store('ret', 'childpid'),
        ...body('p'),
        sys('wait4', -1, 0, 0, 0),
        sys('exit', 0),
        label('child'),
        ...body('c'),
        sys('exit', 0),
      ]),
    });
    const child = Number(r.slot(1, 'childpid'));
    expect(r.slot(1, 'p.pid')).toBe(1n);
    expect(r.slot(child, 'c.pid')).toBe(BigInt(child));
    expect(r.slot(1, 'p.y1')).toBe(0n);
    expect(r.slot(child, 'c.y3')).toBe(0n);
    expect(r.k.trace.filter((l) => l.startsWith('switch ')).length).toBeGreaterThanOrEqual(4);
  });
});

// ------------------------------------------------------------------ exit work loop (C5, C9)

describe.each(ARCH_NAMES)('do_work_pending (%s)', (name) => {
  it('entered with interrupts enabled is a KernelBug C5', () => {
    const { k } = boot(arch(name));
    k.m.setIrqsEnabled(true);
    const e = catchErr(() => drive(k.doWorkPending(k.currentPtRegs().base, 0n, 0n)));
    expect(e).toBeInstanceOf(KernelBug);
    expect((e as KernelBug).contract).toBe('C5');
    expect(e.message).toMatch(/interrupts enabled/);
  });

  it('regs other than current_pt_regs() is a KernelBug C4', () => {
    const { k } = boot(arch(name));
    k.m.setIrqsEnabled(false);
    const e = catchErr(() => drive(k.doWorkPending(k.currentPtRegs().base - 0x100n, 0n, 0n)));
    expect((e as KernelBug).contract).toBe('C4');
  });

  it('no work: returns 0 with interrupts still disabled', () => {
    const { k } = boot(arch(name));
    k.m.setIrqsEnabled(false);
    expect(drive(k.doWorkPending(k.currentPtRegs().base, 0n, 0n))).toBe(0n);
    expect(k.m.irqsEnabled()).toBe(false);
  });

  it('NOTIFY_RESUME: handled once, bit cleared, returns 0 with interrupts disabled', () => {
    const { k } = boot(arch(name));
    const t = k.current();
    k.setTif(t, 'NOTIFY_RESUME');
    k.m.setIrqsEnabled(false);
    expect(drive(k.doWorkPending(k.currentPtRegs().base, k.tiFlags(t), 0n))).toBe(0n);
    expect(k.handledWork['resume_user_mode_work']).toBe(1);
    expect(k.testTif(t, 'NOTIFY_RESUME')).toBe(false);
    expect(k.m.irqsEnabled()).toBe(false);
  });

  it('every handled bit of _TIF_WORK_MASK is cleared by its handler (flags reread each pass)', () => {
    const { k } = boot(arch(name));
    const t = k.current();
    const bits = k.desc.workMasks['_TIF_WORK_MASK']!.filter((b) => b !== 'NEED_RESCHED' && b !== 'SIGPENDING');
    expect(bits.length).toBeGreaterThan(0);
    for (const b of bits) k.setTif(t, b);
    k.m.setIrqsEnabled(false);
    expect(drive(k.doWorkPending(k.currentPtRegs().base, k.tiFlags(t), 0n))).toBe(0n);
    for (const b of bits) expect(k.testTif(t, b), `TIF_${b}`).toBe(false);
  });

  it('a bit in _TIF_WORK_MASK that nothing clears is a KernelBug C9 naming the bit (mutant work-bit-not-cleared)', async () => {
    const a = arch(name);
    const port = await loaders[name]({ mutant: 'work-bit-not-cleared' });
    expect(port.descriptor.workMasks['_TIF_WORK_MASK']).toContain('SINGLESTEP');
    const { k } = boot(a, { port });
    const t = k.current();
    k.setTif(t, 'SINGLESTEP');
    k.m.setIrqsEnabled(false);
    const e = catchErr(() => drive(k.doWorkPending(k.currentPtRegs().base, k.tiFlags(t), 0n)));
    expect(e).toBeInstanceOf(KernelBug);
    expect((e as KernelBug).contract).toBe('C9');
    expect(e.message).toMatch(/TIF_SINGLESTEP/);
    expect(e.message).not.toMatch(/TIF_NOTIFY_RESUME/);
  });

  it('the same hole, hit from a real syscall exit, stops the run with the C9 KernelBug', async () => {
    const a = arch(name);
    const port = await loaders[name]({ mutant: 'work-bit-not-cleared' });
    const { k } = boot(a, { port, programs: { '/init': prog('/init', [sys('getpid'), sys('exit', 0)]) } });
    k.onSyscall = (n, t) => {
      if (n === 'getpid') k.setTif(t, 'SINGLESTEP');
    };
    const e = catchErr(() => start(k));
    expect((e as KernelBug).contract).toBe('C9');
    expect(e.message).toMatch(/TIF_SINGLESTEP/);
  });
});

// ------------------------------------------------------------------ do_signal restart decisions (C6)

const CODES = [
  ['ERESTARTSYS', E.ERESTARTSYS],
  ['ERESTARTNOINTR', E.ERESTARTNOINTR],
  ['ERESTARTNOHAND', E.ERESTARTNOHAND],
  ['ERESTART_RESTARTBLOCK', E.ERESTART_RESTARTBLOCK],
] as const;
type Code = (typeof CODES)[number][0];
type Case = 'no handler' | 'handler' | 'handler SA_RESTART';

/** SPEC C6: what user mode must see. 'restart' with no handler is an in-kernel restart (1, or -1 for restart_syscall). */
const EXPECT: Record<Code, Record<Case, 'restart' | 'EINTR'>> = {
  ERESTARTSYS: { 'no handler': 'restart', handler: 'EINTR', 'handler SA_RESTART': 'restart' },
  ERESTARTNOINTR: { 'no handler': 'restart', handler: 'restart', 'handler SA_RESTART': 'restart' },
  ERESTARTNOHAND: { 'no handler': 'restart', handler: 'EINTR', 'handler SA_RESTART': 'EINTR' },
  ERESTART_RESTARTBLOCK: { 'no handler': 'restart', handler: 'EINTR', 'handler SA_RESTART': 'EINTR' },
};

/**
 * The pt_regs of a task coming back from syscall 7 with result `ret`, as the entry glue leaves
 * them; returns the addresses and the value restoreOrigArg() puts back.
 */
function syscallFrame(k: Kernel, ret: bigint) {
  const R = k.port.c.restart;
  const regs = k.currentPtRegs();
  regs.zero();
  const user = k.desc.memory.user;
  regs.sp = user + USER_STACK_TOP;
  regs.pc = user + 0x104n;
  if (regs.has('orig_x0')) regs.set('orig_x0', 0x5555n);
  R.setSyscallNr(regs, 7n);
  R.restoreOrigArg(regs);
  const orig = R.returnValue(regs);
  R.setReturnValue(regs, ret);
  return { regs, R, continueAddr: regs.pc, restartAddr: R.restartAddress(regs), orig };
}

/** What the handler's return into the sigreturn trampoline does to sp, then rt_sigreturn's restore. */
function sigreturn(k: Kernel, regs: PtRegs): void {
  if (k.desc.callingConvention.returnAddress === 'stack') regs.sp = regs.sp + BigInt(k.wordSize);
  const { blocked } = k.port.c.restoreRtFrame(k, regs);
  k.current().blocked = blocked;
}

describe.each(ARCH_NAMES)('do_signal restart decisions (%s)', (name) => {
  const HANDLER = 0x200n;
  const cases: Array<[Code, Case, bigint]> = CODES.flatMap(([n, c]) => (['no handler', 'handler', 'handler SA_RESTART'] as Case[]).map((w): [Code, Case, bigint] => [n, w, c]));

  it.each(cases)('-%s, %s', (codeName, which, code) => {
    const { k } = boot(arch(name));
    const t = k.current();
    const f = syscallFrame(k, -code);
    const handler = k.desc.memory.user + HANDLER;
    if (which === 'no handler') {
      // SIGCHLD's default action is to ignore it: do_signal finds no handler to run
      t.pending = E.sigmask(E.SIGCHLD);
    } else {
      t.sigactions[E.SIGUSR1] = { handler, flags: which === 'handler SA_RESTART' ? SA_RESTART : 0n, restorer: 0n, mask: 0n };
      t.pending = E.sigmask(E.SIGUSR1);
    }
    const r = drive(k.doSignal(f.regs, true));
    expect(f.R.syscallNr(f.regs), 'forget_syscall() after the decision').toBe(-1n);
    const want = EXPECT[codeName][which];
    if (which === 'no handler') {
      // restarted in the kernel: the glue reloads nr/args; pc stays after the trap
      expect(r).toBe(code === E.ERESTART_RESTARTBLOCK ? -1 : 1);
      expect(f.regs.pc).toBe(f.continueAddr);
      expect(f.R.returnValue(f.regs)).toBe(f.orig);
      expect(k.trace).toContain(`0:restart-in-kernel ${r}`);
      return;
    }
    expect(r).toBe(0);
    expect(f.regs.pc).toBe(handler);
    expect(t.blocked & E.sigmask(E.SIGUSR1)).not.toBe(0n);
    sigreturn(k, f.regs);
    if (want === 'restart') {
      expect(f.regs.pc, 'sigreturn goes back to the trap instruction').toBe(f.restartAddr);
      expect(f.R.returnValue(f.regs)).toBe(f.orig);
    } else {
      expect(f.regs.pc).toBe(f.continueAddr);
      expect(f.R.returnValue(f.regs)).toBe(-E.EINTR);
    }
    // registers restored by sigreturn are never taken for a syscall to restart
    expect(f.R.syscallNr(f.regs)).toBe(-1n);
    expect(t.blocked & E.sigmask(E.SIGUSR1)).toBe(0n);
  });

  it('a result that is no -ERESTART* code is left alone, and so is a frame not in a syscall', () => {
    const { k } = boot(arch(name));
    const t = k.current();
    let f = syscallFrame(k, -E.EINTR);
    t.pending = E.sigmask(E.SIGCHLD);
    expect(drive(k.doSignal(f.regs, true))).toBe(0);
    expect(f.regs.pc).toBe(f.continueAddr);
    expect(f.R.returnValue(f.regs)).toBe(-E.EINTR);

    f = syscallFrame(k, -E.ERESTARTNOINTR);
    t.pending = E.sigmask(E.SIGCHLD);
    expect(drive(k.doSignal(f.regs, false))).toBe(0);
    expect(f.regs.pc).toBe(f.continueAddr);
    expect(f.R.returnValue(f.regs)).toBe(-E.ERESTARTNOINTR);
  });

});

describe.each(ARCH_NAMES)('C6 guard in do_work_pending (%s)', (name) => {
  function twoSignals(k: Kernel) {
    const t = k.current();
    const user = k.desc.memory.user;
    t.sigactions[E.SIGUSR1] = { handler: user + 0x200n, flags: SA_RESTART, restorer: 0n, mask: 0n };
    t.sigactions[E.SIGUSR2] = { handler: user + 0x300n, flags: SA_RESTART, restorer: 0n, mask: 0n };
    const f = syscallFrame(k, -E.ERESTARTSYS);
    t.pending = E.sigmask(E.SIGUSR1) | E.sigmask(E.SIGUSR2);
    k.setTif(t, 'SIGPENDING');
    k.m.setIrqsEnabled(false);
    return { t, f };
  }

  it('a port whose forget_syscall() leaves the frame "in a syscall" after a decided restart: a second signal is a KernelBug C6', () => {
    const a = arch(name);
    const R = a.port.c.restart;
    const port: ArchPort = { ...a.port, c: { ...a.port.c, restart: { ...R, forgetSyscall: () => {} } } };
    const { k } = boot(a, { port });
    const { t, f } = twoSignals(k);
    const e = catchErr(() => drive(k.doWorkPending(f.regs.base, k.tiFlags(t), 1n)));
    expect(e).toBeInstanceOf(KernelBug);
    expect((e as KernelBug).contract).toBe('C6');
    expect(e.message).toMatch(/second signal/);
    expect(e.message).toMatch(/syscall 7/);
  });

  it('the real port: both handlers run, the syscall is rewound once', () => {
    const { k } = boot(arch(name));
    const { t, f } = twoSignals(k);
    expect(drive(k.doWorkPending(f.regs.base, k.tiFlags(t), 1n))).toBe(0n);
    expect(k.trace.filter((l) => l.startsWith('0:handler'))).toEqual(['0:handler 10', '0:handler 12']);
    expect(k.m.irqsEnabled()).toBe(false);
    expect(k.testTif(t, 'SIGPENDING')).toBe(false);
    // unwinding both frames gets back to the trap instruction exactly once
    expect(f.regs.pc).toBe(k.desc.memory.user + 0x300n);
    sigreturn(k, f.regs);
    expect(f.regs.pc).toBe(k.desc.memory.user + 0x200n);
    sigreturn(k, f.regs);
    expect(f.regs.pc).toBe(f.restartAddr);
    expect(f.R.returnValue(f.regs)).toBe(f.orig);
  });
});

// ------------------------------------------------------------------ send_signal

describe.each(ARCH_NAMES)('send_signal (%s)', (name) => {
  function task(k: Kernel): Task {
    const t = k.allocTask('victim', false);
    t.state = 'running';
    return t;
  }

  it('an ignored signal (SIG_IGN, or default-ignore like SIGCHLD) is dropped', () => {
    const { k } = boot(arch(name));
    const t = task(k);
    t.sigactions[E.SIGUSR1]!.handler = SIG_IGN;
    k.sendSignal(t, E.SIGUSR1);
    k.sendSignal(t, E.SIGCHLD);
    expect(t.pending).toBe(0n);
    expect(k.testTif(t, 'SIGPENDING')).toBe(false);
  });

  it('a ptraced task gets even ignored signals (the tracer sees them)', () => {
    const { k } = boot(arch(name));
    const t = task(k);
    t.ptraced = true;
    k.sendSignal(t, E.SIGCHLD);
    expect(t.pending).toBe(E.sigmask(E.SIGCHLD));
  });

  it('a blocked signal stays pending without TIF_SIGPENDING, ignored or not; unblocking makes it deliverable', () => {
    const { k } = boot(arch(name));
    const t = task(k);
    t.blocked = E.sigmask(E.SIGUSR1) | E.sigmask(E.SIGUSR2);
    t.sigactions[E.SIGUSR2]!.handler = SIG_IGN;
    k.sendSignal(t, E.SIGUSR1);
    k.sendSignal(t, E.SIGUSR2);
    expect(t.pending).toBe(E.sigmask(E.SIGUSR1) | E.sigmask(E.SIGUSR2));
    expect(k.testTif(t, 'SIGPENDING')).toBe(false);
    expect(k.signalPending(t)).toBe(false);
    t.blocked = 0n;
    k.recalcSigpending(t);
    expect(k.testTif(t, 'SIGPENDING')).toBe(true);
  });

  it('a deliverable signal sets TIF_SIGPENDING and wakes an interruptible sleeper, not a stopped task', () => {
    const { k } = boot(arch(name));
    const t = task(k);
    t.state = 'interruptible';
    k.sendSignal(t, E.SIGUSR1);
    expect(t.pending).toBe(E.sigmask(E.SIGUSR1));
    expect(k.testTif(t, 'SIGPENDING')).toBe(true);
    expect(t.state).toBe('running');
    const s = task(k);
    s.state = 'stopped';
    k.sendSignal(s, E.SIGUSR1);
    expect(s.state).toBe('stopped');
  });

  it('SIGSTOP discards a pending SIGCONT; SIGCONT discards pending stop signals and resumes a stopped task', () => {
    const { k } = boot(arch(name));
    const t = task(k);
    t.sigactions[E.SIGCONT]!.handler = 0x1234n; // so SIGCONT is not default-ignored and stays pending
    k.sendSignal(t, E.SIGCONT);
    expect(t.pending).toBe(E.sigmask(E.SIGCONT));
    k.sendSignal(t, E.SIGSTOP);
    expect(t.pending).toBe(E.sigmask(E.SIGSTOP));
    k.sendSignal(t, E.SIGTSTP);
    t.state = 'stopped';
    k.sendSignal(t, E.SIGCONT);
    expect(t.pending & (E.sigmask(E.SIGSTOP) | E.sigmask(E.SIGTSTP))).toBe(0n);
    expect(t.state).toBe('running');
  });

  it('SIGKILL resumes a stopped task and is pending; a zombie gets nothing', () => {
    const { k } = boot(arch(name));
    const t = task(k);
    t.state = 'stopped';
    k.sendSignal(t, E.SIGKILL);
    expect(t.state).toBe('running');
    expect(t.pending & E.sigmask(E.SIGKILL)).not.toBe(0n);
    const z = task(k);
    z.state = 'zombie';
    k.sendSignal(z, E.SIGUSR1);
    expect(z.pending).toBe(0n);
  });

  it('from user mode: SIGKILL kills before the next instruction; a default-terminate signal kills; idle cannot be signalled', () => {
    const a = arch(name);
    const r = runProgram(a, {
      '/init': prog('/init', [
        forkOp(a),
        { op: 'beqz', reg: 'ret', label: 'child' },
        store('ret', 'childpid'),
        sys('wait4', -1, { slot: 'status' }, 0, 0),
        sys('kill', 1, E.SIGKILL),
        set('callee0', 1),
        store('callee0', 'survived'),
        sys('exit', 0),
        label('child'),
        sys('kill', 0, E.SIGUSR1),
        store('ret', 'killIdle'),
        sys('kill', 2, E.SIGUSR1),
        set('callee0', 1),
        store('callee0', 'childSurvived'),
        sys('exit', 0),
      ]),
    });
    expect(r.slot(1, 'childpid')).toBe(2n);
    expect(r.slot(2, 'killIdle')).toBe(-E.ESRCH);
    expect(r.k.task(2)!.killedBy).toBe(E.SIGUSR1);
    expect(r.slot(2, 'childSurvived')).toBe(0n);
    expect(BigInt.asUintN(32, r.slot(1, 'status')!)).toBe(BigInt(E.SIGUSR1));
    expect(r.k.task(1)!.killedBy).toBe(E.SIGKILL);
    expect(r.slot(1, 'survived')).toBe(0n);
    expect(r.k.syscalls.filter((c) => c.name === 'exit')).toHaveLength(0);
  });

  it('SIGSTOP then SIGCONT while blocked in read: the task stops, resumes, and read restarts in the kernel', () => {
    const a = arch(name);
    const r = runProgram(
      a,
      { '/init': prog('/init', [sys('read', 0, { data: 'buf' }, 16), store('ret', 'r'), sys('exit', 0)], { buf: [0n, 0n] }) },
      {
        world: [
          (k) => k.sendSignal(k.task(1)!, E.SIGSTOP),
          (k) => {
            expect(k.task(1)!.state).toBe('stopped');
            k.sendSignal(k.task(1)!, E.SIGCONT);
          },
          (k) => {
            k.inputQueue.push(new TextEncoder().encode('hello'));
            k.wakeUp(k.task(1)!);
          },
        ],
      },
    );
    expect(r.k.trace).toContain(`1:stopped by ${E.SIGSTOP}`);
    expect(r.k.syscalls.filter((c) => c.name === 'read')).toHaveLength(2);
    expect(r.slot(1, 'r')).toBe(5n);
  });
});

// ------------------------------------------------------------------ compileProgram

describe.each(ARCH_NAMES)('compileProgram (%s)', (name) => {
  const ctx = (a: Arch, templates = a.port.sources.userTemplates) => ({ desc: a.port.descriptor, templates, portC: a.port.c, assembler: a.asm });

  it('an op whose partial the templates lack: the error names the template file and the partial', () => {
    const a = arch(name);
    const text = a.port.sources.userTemplates.text.replace(/{{#\*inline "nop"}}[\s\S]*?{{\/inline}}/, '');
    expect(text).not.toBe(a.port.sources.userTemplates.text);
    const e = catchErr(() => compileProgram(ctx(a, { file: 'libs/arch-test/src/user.hbs', text }), prog('/p', [{ op: 'nop' }])));
    expect(e.message).toMatch(/^libs\/arch-test\/src\/user\.hbs: no partial "nop"/);
  });

  it('a syscall the arch lacks: the error names the program, the arch and the syscall', () => {
    const a = arch(name);
    const e = catchErr(() => compileProgram(ctx(a), prog('/bin/bogus', [sys('frobnicate', 1)])));
    expect(e.message).toBe(`/bin/bogus: ${name} has no syscall "frobnicate"`);
  });

  it('an unknown data name and an unknown register are errors naming the program', () => {
    const a = arch(name);
    expect(catchErr(() => compileProgram(ctx(a), prog('/p1', [set('arg0', { data: 'nope' })]))).message).toBe('/p1: no data "nope"');
    const e = catchErr(() => compileProgram(ctx(a), prog('/p2', [set('callee99', 1)])));
    expect(e.message).toMatch(/no callee-saved register #99/);
    const asmErr = catchErr(() => compileProgram(ctx(a), prog('/p3', [set('no_such_reg', 1)])));
    expect(asmErr.name).toBe('AsmError');
    expect(asmErr.message).toContain(`/p3 (user program from ${a.port.sources.userTemplates.file})`);
  });

  it('text offsets: each program at its own address; an offset into the results page is refused', () => {
    const a = arch(name);
    const p = prog('/p', [label('loop'), sys('getpid'), { op: 'jmp', label: 'loop' }]);
    const i0 = compileProgram(ctx(a), p, 0n);
    const i1 = compileProgram(ctx(a), p, 0x2000n);
    const user = a.port.descriptor.memory.user;
    expect(i0.base).toBe(user);
    expect(i1.base).toBe(user + 0x2000n);
    expect(i0.entry).toBe(i0.base);
    expect(i1.entry).toBe(i1.base);
    expect(i1.symbols.get('loop')! - i0.symbols.get('loop')!).toBe(0x2000n);
    expect(i0.bytes.length).toBeGreaterThan(0);
    expect(catchErr(() => compileProgram(ctx(a), p, 0xf000n)).message).toMatch(/^\/p: text offset 0xf000 runs into the results page/);
  });

  it('data and result slots: placed in order at their pages; exec puts the data words into the new mm', () => {
    const a = arch(name);
    const hello = new TextEncoder().encode('hello, world\0\0\0\0');
    const words = [0, 8].map((o) => new DataView(hello.buffer).getBigUint64(o, true));
    const p = prog('/init', [store('ret', 'first'), sys('write', 1, { data: 'msg' }, 12), store('ret', 'second'), sys('exit', 0)], {
      pad: [0x11n, 0x22n, 0x33n],
      msg: words,
    });
    const img = compileProgram(ctx(a), p);
    const user = a.port.descriptor.memory.user;
    expect(img.data.get('pad')).toBe(user + USER_DATA);
    expect(img.data.get('msg')).toBe(user + USER_DATA + 24n);
    expect(img.dataInit).toEqual([
      [user + USER_DATA, [0x11n, 0x22n, 0x33n]],
      [user + USER_DATA + 24n, words],
    ]);
    expect(img.slots.get('first')).toBe(0);
    expect(img.slots.get('second')).toBe(1);

    const r = runProgram(a, { '/init': p });
    expect(r.k.output.join('')).toBe('hello, world');
    expect(r.slot(1, 'second')).toBe(12n);
    expect(r.k.readWord(user + USER_DATA + 16n)).toBe(0x33n);
  });
});

// ------------------------------------------------------------------ force_sig (user faults)

describe.each(ARCH_NAMES)('force_sig (%s)', (name) => {
  it('a fault signal is delivered even when blocked or ignored: unblocked, SIG_IGN reset to SIG_DFL', () => {
    const { k } = boot(arch(name));
    const t = k.current();
    t.blocked = E.sigmask(E.SIGSEGV);
    t.sigactions[E.SIGILL]!.handler = SIG_IGN;
    k.forceSig(E.SIGSEGV);
    k.forceSig(E.SIGILL);
    expect(t.blocked & E.sigmask(E.SIGSEGV)).toBe(0n);
    expect(t.sigactions[E.SIGILL]!.handler).toBe(0n);
    expect(t.pending).toBe(E.sigmask(E.SIGSEGV) | E.sigmask(E.SIGILL));
    expect(k.testTif(t, 'SIGPENDING')).toBe(true);
    expect(k.trace).toContain(`${t.pid}:fault sig${E.SIGSEGV}`);
  });

  it('a handled fault signal keeps its handler', () => {
    const { k } = boot(arch(name));
    const t = k.current();
    t.sigactions[E.SIGSEGV]!.handler = 0x800100n;
    k.forceSig(E.SIGSEGV);
    expect(t.sigactions[E.SIGSEGV]!.handler).toBe(0x800100n);
    expect(t.pending).toBe(E.sigmask(E.SIGSEGV));
  });
});
