// The one contract test suite every arch lib runs against itself (test/contract.test.ts:
// `contractSuite(import.meta.url)`). It boots the port's real entry.S on the real CPU model
// with the generic kernel and checks the seams one by one: the descriptor, the glue's
// round trip, pt_regs at entry, the syscall hooks, tracing, switch_to, copy_thread with
// NULL regs, fork, signal frames and the bug zoo. What is only one arch's stays in that
// lib's own test files.

import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Assembler } from '../asm/assembler.ts';
import { createAssembler } from '../asm/create.ts';
import type { ArchModule, ArchPort, PortOptions } from '../contracts/port.ts';
import { PORT_FILES } from '../contracts/loader.ts';
import { LINUX_RELEASE } from '../contracts/descriptor.ts';
import { Kernel } from '../kernel/kernel.ts';
import { attach } from '../kernel/ptrace.ts';
import { asmOffsets } from '../kernel/layout.ts';
import { implemented } from '../kernel/syscalls.ts';
import { ERESTARTSYS, makeAbi } from '../kernel/abi.ts';
import type { CGen, KernelApi, Tracer, UserImage } from '../kernel/types.ts';
import { createUnicornMachine, type UnicornMachine } from '../machine/unicorn/machine.ts';
import { comparableRegs, compileProgram, fillValue, type Op, type UserProgram, type Val } from '../user/compile.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const prog = (name: string, ops: Op[], data?: UserProgram['data']): UserProgram => ({ name, ops: [label('_start'), ...ops], data });

export interface Harness {
  port: ArchPort;
  asm: Assembler;
  /** Boots a kernel with these programs; pid 1 execs /init (or runs `init`). */
  run(programs: Record<string, UserProgram>, o?: RunOptions): { k: Kernel; imgs: Record<string, UserImage>; slot(pid: number, name: string): bigint | undefined };
}

export interface RunOptions {
  port?: ArchPort;
  kfns?: Record<string, (k: KernelApi, arg: bigint) => CGen>;
  init?: { fn: string; arg: bigint };
  tracer?: Tracer;
  setup?(k: Kernel): void;
  budget?: number;
}

/** The harness the suite uses, for an arch lib's own tests too. */
export async function harness(createPort: ArchModule['createPort'], opts: PortOptions = {}): Promise<Harness> {
  const port = await createPort(opts);
  const asm = await createAssembler(port.descriptor.assembler);
  port.cpu.unicorn.calibrate?.();
  const machines: UnicornMachine[] = [];
  afterEach(() => {
    for (const m of machines.splice(0)) m.close();
  });
  return {
    port,
    asm,
    run(programs, o = {}) {
      const p = o.port ?? port;
      const imgs: Record<string, UserImage> = {};
      Object.entries(programs).forEach(([path, pr], i) => {
        imgs[path] = compileProgram({ desc: p.descriptor, templates: p.sources.userTemplates, signal: p.signal, assembler: asm }, pr, BigInt(i) * 0x2000n);
      });
      const m = createUnicornMachine(p.cpu.unicorn);
      machines.push(m);
      const k = new Kernel({
        port: p,
        machine: m,
        assembler: asm,
        programs: imgs,
        kfns: {
          ...o.kfns,
          *kernel_init(kk: KernelApi): CGen {
            if (o.tracer) attach(kk, kk.current(), o.tracer);
            if (kk.kernelExecve('/init') !== 0n) yield* kk.doExit(127 << 8);
            return 0n;
          },
        },
      });
      k.boot();
      o.setup?.(k);
      const g = k.kernelThread(o.init?.fn ?? 'kernel_init', o.init?.arg ?? 0n);
      expect(g.next().done).toBe(true);
      k.run(o.budget ?? 2_000_000);
      const slot = (pid: number, name: string) => {
        const img = imgs['/init']!;
        const i = img.slots.get(name);
        if (i === undefined) throw new Error(`no slot ${name}`);
        const v = k.results.get(pid)?.get(BigInt(i));
        return v === undefined ? undefined : BigInt.asIntN(p.descriptor.wordSize * 8, v);
      };
      return { k, imgs, slot };
    },
  };
}

/** Registers every contract test for the arch lib whose test file calls it. */
export function contractSuite(testFileUrl: string): void {
  const libDir = dirname(dirname(fileURLToPath(testFileUrl)));
  let h: Harness;
  let mod: ArchModule;
  // A port that cannot be loaded (a generated skeleton's todo() in a part the harness needs,
  // a broken arch.json) fails every test with its error instead of breaking the file.
  let loadError: unknown;
  beforeAll(async () => {
    try {
      mod = (await import(pathToFileURL(join(libDir, 'src', 'index.ts')).href)) as ArchModule;
      h = await harness(mod.createPort);
    } catch (e) {
      loadError = e;
    }
  });
  beforeEach(() => {
    if (loadError !== undefined) throw loadError;
  });

  describe('descriptor and glue', () => {
    it(`arch.json pins Linux ${LINUX_RELEASE} and cites a kernel file for the main groups of facts`, () => {
      const d = h.port.descriptor;
      expect(d.linux).toBe(LINUX_RELEASE);
      for (const g of ['numbers', 'ptRegs', 'tif', 'entry', 'restart', 'signal']) expect(d.sources[g], `sources.${g}`).toMatch(/\S+\/\S+/);
      expect(d.entry.offers).toContain(d.entry.model);
      expect(libDir.endsWith(`arch-${d.name}`)).toBe(true);
    });

    it('entry.S assembles with the asm-offsets prelude and defines the labels the core calls', () => {
      const d = h.port.descriptor;
      const res = h.asm.assemble({ ...h.port.sources.entry, prelude: asmOffsets(d) }, { base: d.memory.kernelText, externs: externsFor(h.port) });
      expect(res.bytes.length).toBeGreaterThan(0);
      for (const [role, name] of Object.entries(d.symbols)) expect(res.symbols.has(name), `symbols.${role} = ${name}`).toBe(true);
      const text = res.bytes;
      const found = h.port.cpu.returnToUser.patterns.some((p) => text.some((_, i) => p.every((b, j) => text[i + j] === b)));
      expect(found, 'a return-to-user instruction in kernel text').toBe(true);
    });

    it('the CPU model switches privilege both ways and keeps the interrupt-enable state', () => {
      const m = createUnicornMachine(h.port.cpu.unicorn);
      try {
        const cpu = h.port.cpu;
        const kernelLevel = cpu.privilege(m);
        cpu.setPrivilege(m, cpu.userPrivilege);
        expect(cpu.privilege(m)).toBe(cpu.userPrivilege);
        cpu.setPrivilege(m, kernelLevel);
        expect(cpu.privilege(m)).toBe(kernelLevel);
        cpu.setIrqsEnabled(m, true);
        expect(cpu.irqsEnabled(m)).toBe(true);
        cpu.setIrqsEnabled(m, false);
        expect(cpu.irqsEnabled(m)).toBe(false);
      } finally {
        m.close();
      }
    });
  });

  describe('round trip', () => {
    it('a syscall from user mode reaches C with its number and arguments and returns the result; every return has irqs off, an empty stack, user privilege', () => {
      const d = h.port.descriptor;
      const r = h.run({ '/init': prog('/init', [sys('kill', 1, 0), store('ret', 'r'), sys('getpid'), store('ret', 'pid'), sys('exit', 0)]) });
      const kill = r.k.syscalls.find((s) => s.name === 'kill')!;
      expect(kill.pid).toBe(1);
      expect(kill.args.slice(0, 2)).toEqual([1n, 0n]);
      expect(r.slot(1, 'r')).toBe(0n);
      expect(r.slot(1, 'pid')).toBe(1n);
      expect(r.k.exits.length).toBeGreaterThanOrEqual(3);
      for (const e of r.k.exits) {
        expect(e.irqsOn, `irqs at ${e.at}`).toBe(false);
        expect(e.spDelta, `kernel stack at ${e.at}`).toBe(0n);
      }
      expect(r.k.task(1)!.exitCode).toBe(0);
      expect(d.syscall.numbers['kill']).toBeDefined();
    });

    it('at a syscall, current_pt_regs() holds the user registers (C4)', () => {
      const d = h.port.descriptor;
      let snap: Record<string, bigint> = {};
      h.run({ '/init': prog('/init', [{ op: 'fillRegs', seed: 0x3100n }, sys('sched_yield'), sys('exit', 0)]) }, {
        setup(k) {
          k.onSyscall = (name) => {
            if (name !== 'sched_yield') return;
            const regs = k.currentPtRegs();
            expect(regs.base).toBe(k.current().stackTop - BigInt(d.ptRegs.size));
            // alpha/m68k: a callee-saved register pt_regs has no slot for (switch_stack) is live
            // here; so is one the entry does not save (MIPS SAVE_SOME: syscall.unsavedRegs)
            const unsaved = new Set(d.syscall.unsavedRegs ?? []);
            snap = Object.fromEntries(comparableRegs(d).map((x) => [x, regs.has(x) && !unsaved.has(x) ? regs.get(x) : k.m.reg(x)]));
          };
        },
      });
      const skip = new Set([d.syscall.nr, d.syscall.ret, ...d.syscall.args.slice(0, 1)]);
      comparableRegs(d).forEach((x, i) => {
        if (!skip.has(x)) expect(snap[x], x).toBe(BigInt.asUintN(d.wordSize * 8, fillValue(0x3100n, i)));
      });
    });
  });

  describe('syscall hooks (asm/syscall.h)', () => {
    it('a syscall frame says which syscall it is; the return value round-trips in the error convention; rollback, forget and the restart pc', () => {
      const d = h.port.descriptor;
      const abi = makeAbi(d.wordSize, d.abi);
      let checked = false;
      h.run({ '/init': prog('/init', [sys('getpid'), sys('exit', 0)]) }, {
        setup(k) {
          k.onSyscall = (name) => {
            if (name !== 'getpid') return;
            const regs = k.currentPtRegs();
            // MIPS marks the frame only on the error return (syscall.markedOnErrorReturn)
            if (!d.syscall.markedOnErrorReturn) expect(k.inSyscall(regs)).toBe(true);
            expect(k.syscallGetNr(regs)).toBe(BigInt(d.syscall.numbers['getpid']!));
            k.syscallSetReturnValue(regs, -abi.errno.EINTR, 0n);
            expect(k.syscallGetReturnValue(regs)).toBe(-abi.errno.EINTR);
            k.syscallSetReturnValue(regs, 0n, 5n);
            expect(k.syscallGetReturnValue(regs)).toBe(5n);
            k.syscallSetReturnValue(regs, -ERESTARTSYS, 0n);
            // what the trap instruction needs to run the same call again is back (MIPS keeps
            // it for the rollback only from the error return on: the restart scenarios cover it)
            if (!d.syscall.markedOnErrorReturn) {
              k.syscallRollback(regs);
              expect(regs.get(d.syscall.nr)).toBe(BigInt(d.syscall.numbers['getpid']!));
            }
            const pc = regs.pc;
            expect(k.restartPc(pc)).toBe(pc - BigInt(d.syscall.insnBytes));
            k.setRestartSyscall(regs);
            expect(regs.get(d.syscall.nr) & 0xffffn).toBe(BigInt(d.syscall.numbers['restart_syscall']!));
            k.forgetSyscall(regs);
            if (h.port.syscall.forget_syscall) expect(k.inSyscall(regs)).toBe(false);
            checked = true;
            k.halt();
          };
        },
      });
      expect(checked).toBe(true);
    });
  });

  describe('tracing', () => {
    it('a tracer that rewrites the number and arguments at the entry stop gets the new call run with them (C8)', () => {
      const d = h.port.descriptor;
      const r = h.run({ '/init': prog('/init', [sys('getpid'), store('ret', 'r'), sys('exit', 0)]) }, {
        tracer: {
          onSyscallEntry(_t, v) {
            if (v.nr() !== BigInt(d.syscall.numbers['getpid']!)) return;
            v.setNr(BigInt(d.syscall.numbers['kill']!));
            v.setArgs([1n, 0n, ...v.args().slice(2)]);
          },
        },
      });
      expect(r.k.syscalls.some((s) => s.name === 'getpid')).toBe(false);
      expect(r.k.syscalls.find((s) => s.name === 'kill')?.args.slice(0, 2)).toEqual([1n, 0n]);
      expect(r.slot(1, 'r')).toBe(0n);
    });
  });

  describe('switch_to, copy_thread, fork', () => {
    it('copy_thread with NULL regs leaves fn and arg in the switch frame slots arch.json names; the kthread runs fn(arg) after schedule_tail', () => {
      const d = h.port.descriptor;
      let seen: bigint | undefined;
      let tailFirst = false;
      const r = h.run({}, {
        kfns: {
          *probe(k, arg) {
            seen = arg;
            tailFirst = k.current().scheduleTailDone === true;
            yield* k.doExit(0);
            return 0n;
          },
        },
        init: { fn: 'probe', arg: 0x1234_5678n },
      });
      expect(seen).toBe(0x1234_5678n);
      expect(tailFirst).toBe(true);
      // the switch frame of a fresh kthread, as copy_thread built it
      const p = r.k.allocTask('probe2', true);
      h.port.process.copy_thread(r.k, p, { flags: 0n, stack: 0n, tls: 0n, fn: 0xf00dn, fnArg: 0xa4an }, null);
      // in the switch frame, or (arch.json kthread.frame, s390) in the child's pt_regs
      const slot = (reg: string) => (d.kthread.frame === 'ptRegs' ? r.k.taskPtRegs(p).get(reg) : r.k.readWord(r.k.switchFrameSlot(p, reg)));
      expect(slot(d.kthread.fn)).toBe(0xf00dn);
      expect(slot(d.kthread.arg)).toBe(0xa4an);
    });

    it('thread fields: each arch.json thread field is in the task struct, scalar ones round-trip in their size, an unknown name is an error naming arch.json thread', () => {
      const d = h.port.descriptor;
      const r = h.run({ '/init': prog('/init', [sys('exit', 0)]) });
      const p = r.k.allocTask('probe3', true);
      for (const f of d.thread.fields) {
        expect(r.k.threadSlot(p, f.name)).toBe(r.k.taskThread(p) + BigInt(f.offset));
        if (![1, 2, 4, 8].includes(f.size)) {
          expect(() => r.k.readThread(p, f.name)).toThrow(/not a scalar/);
          continue;
        }
        const v = 0xa5c3_5a3c_9669_0ff0n & ((1n << BigInt(f.size * 8)) - 1n);
        r.k.writeThread(p, f.name, v);
        expect(r.k.readThread(p, f.name)).toBe(v);
        expect(r.k.m.readUint(r.k.taskThread(p) + BigInt(f.offset), f.size)).toBe(v);
      }
      expect(() => r.k.threadSlot(p, 'no_such_field')).toThrow(new RegExp(`${d.name}: arch.json thread has no field "no_such_field"`));
    });

    it('fork: the child wakes in ret_from_fork with the parent registers and 0 as the result; both tasks switch back and forth with their callee-saved registers intact', () => {
      const d = h.port.descriptor;
      const forkOp = d.syscall.numbers['fork'] !== undefined ? sys('fork') : sys('clone', makeAbi(d.wordSize, d.abi).sig.SIGCHLD, 0, 0, 0, 0);
      const r = h.run({
        '/init': prog('/init', [
          { op: 'fillRegs', seed: 0x2400n },
          forkOp,
          store('ret', 'r'),
          sys('sched_yield'),
          sys('sched_yield'),
          { op: 'storeRegs', prefix: 'after' },
          { op: 'beqz', reg: 'ret', label: 'child' },
          sys('wait4', -1, 0, 0, 0),
          label('child'),
          sys('exit', 0),
        ]),
      });
      const child = r.k.tasks.find((t) => t.parent?.pid === 1)!;
      expect(child).toBeDefined();
      expect(r.slot(1, 'r')).toBe(BigInt(child.pid));
      expect(r.slot(child.pid, 'r')).toBe(0n);
      expect(r.k.trace.filter((l) => l.startsWith('switch ')).length).toBeGreaterThanOrEqual(3);
      const skip = new Set([d.syscall.ret, d.syscall.nr, ...d.syscall.args, ...(d.syscall.error.convention === 'flag' ? [d.syscall.error.flag] : [])]);
      comparableRegs(d).forEach((x, i) => {
        if (skip.has(x)) return;
        const want = BigInt.asIntN(d.wordSize * 8, fillValue(0x2400n, i));
        expect(r.slot(1, `after.${x}`), `parent ${x}`).toBe(want);
        expect(r.slot(child.pid, `after.${x}`), `child ${x}`).toBe(want);
      });
    });
  });

  describe('signal frames', () => {
    it('a handler sees its context at ucontext_reg_offset and its edit comes back through rt_sigreturn; a frame outside user memory is SIGSEGV', () => {
      const d = h.port.descriptor;
      const abi = makeAbi(d.wordSize, d.abi);
      const usr1 = abi.sig.SIGUSR1;
      const useRestorer = d.abi.libcRestorer === true;
      const flags = abi.sa.SA_SIGINFO | (useRestorer ? abi.sa.SA_RESTORER : 0n);
      const sa = sigaction(d.wordSize, d.endian, abi.sigaction, 'handler', flags, useRestorer ? 'restorer' : undefined);
      const callee = d.registers.calleeSaved[0]!;
      const r = h.run({
        '/init': prog(
          '/init',
          [
            // sparc (abi.restorerArg): the restorer is the fourth argument, the handler returns past it by returnOffset
            d.abi.restorerArg
              ? sys('rt_sigaction', usr1, { data: 'sa' }, 0, { label: `restorer-${d.callingConvention.returnOffset ?? 0}` }, 8)
              : sys('rt_sigaction', usr1, { data: 'sa' }, 0, 8),
            { op: 'set', reg: callee, value: 0x1111n },
            sys('kill', 1, usr1),
            store(callee, 'after'),
            sys('exit', 0),
            label('handler'),
            { op: 'ctxStore', reg: callee, value: 0x2222n },
            { op: 'ret' },
            label('restorer'),
            sys('rt_sigreturn'),
          ],
          { sa },
        ),
      });
      expect(r.k.trace.some((l) => l === `1:handler ${usr1}`)).toBe(true);
      expect(r.slot(1, 'after')).toBe(0x2222n);
      expect(r.k.task(1)!.exitCode).toBe(0);
    });
  });

  describe('bug zoo', () => {
    it('every mutant parses, applies and loads, and nothing is written under the lib', async () => {
      const before = listing(libDir);
      expect(h.port.mutants.length, 'mutants/*.patch: the bug zoo has no mutant yet').toBeGreaterThan(0);
      for (const id of h.port.mutants) {
        const p = await mod.createPort({ mutant: id });
        expect(p.mutant).toBe(id);
        const changed = PORT_FILES.some((f) => {
          const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
          if (f === 'arch.json') return json(p.descriptor) !== json(h.port.descriptor);
          if (f === 'src/entry.S') return p.sources.entry.text !== h.port.sources.entry.text;
          if (f === 'src/user.hbs') return p.sources.userTemplates.text !== h.port.sources.userTemplates.text;
          const name = f.slice(4, -3) as 'cpu' | 'entry' | 'process' | 'signal' | 'syscall';
          return p[name] !== h.port[name];
        });
        expect(changed, `mutant ${id} changes one of the port's files`).toBe(true);
      }
      expect(listing(libDir)).toEqual(before);
    });
  });
}

/** Placeholder addresses for the C functions entry.S links against (assembly only). */
function externsFor(port: ArchPort): Record<string, bigint> {
  const names = new Set<string>(['sys_call_table', 'schedule', 'schedule_tail', 'sys_ni_syscall', 'do_work_pending', 'syscall_trace_enter', 'syscall_trace_exit', 'cpu_startup_entry']);
  for (const fns of Object.values(port.entry.models)) for (const n of Object.keys(fns ?? {})) names.add(n);
  // the syscalls' own C functions, which entry.S may call by name (m68k __sys_fork: jbsr sys_fork)
  for (const n of Object.keys(port.descriptor.syscall.numbers)) if (implemented({ port }, n)) names.add(`sys_${n}`);
  const base = port.descriptor.memory.stubs;
  return Object.fromEntries([...names].map((n, i) => [n, base + BigInt(16 * (i + 1))]));
}

/** struct sigaction bytes in the arch's layout. */
function sigaction(
  wordSize: number,
  endian: 'little' | 'big',
  lay: { size: number; fields: Array<{ name: string; offset: number; size: number }> },
  handler: string,
  flags: bigint,
  restorer: string | undefined,
): NonNullable<UserProgram['data']>[string] {
  return {
    size: lay.size,
    build(resolve) {
      const out = new Uint8Array(lay.size);
      const dv = new DataView(out.buffer);
      const put = (name: string, v: bigint) => {
        const f = lay.fields.find((x) => x.name === name);
        if (!f || name === 'mask') return;
        if (f.size === 8) dv.setBigUint64(f.offset, v, endian === 'little');
        else dv.setUint32(f.offset, Number(BigInt.asUintN(32, v)), endian === 'little');
      };
      put('handler', resolve(handler));
      put('flags', flags);
      if (restorer) put('restorer', resolve(restorer));
      void wordSize;
      return out;
    },
  };
}

/** Every file under dir with its size and mtime (node_modules and dist left out). */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out.push(`${p} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}
