// The unit-test harness every arch lib's test/port.test.ts shares: the port's entry.S and
// small hand-written stand-ins for the core's C functions, assembled and loaded on a bare
// Unicorn machine with the core's memory layout (docs/porting-guide.md), but without the
// generic kernel, so a port's glue can be tested on its own. Everything here is the same
// for every arch; the stand-ins themselves (real asm of the arch) and the assertions stay
// in the arch's test file.
//
//   const h = portHarness({ lib: LIB, cpu });
//   beforeAll(() => h.init());
//   afterEach(() => h.closeMachines());
//   const C_STUBS = `schedule_tail: ...`;            // may use h.LOG, h.K, h.PCPU, ...
//   const boot = (entryText?: string) => h.boot(C_STUBS, entryText);

import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Assembler, AssembleResult } from '../asm/assembler.ts';
import { createKeystoneAssembler } from '../asm/keystone.ts';
import { loadDescriptor, type ArchDescriptor } from '../contracts/descriptor.ts';
import type { CpuModel } from '../contracts/port.ts';
import {
  asmOffsetConstants,
  asmOffsets,
  kernelLayoutConstants,
  perCpu,
  sysCallTableAddress,
  taskStructsBase,
  TASK_THREAD,
  THREAD_SIZE,
} from '../kernel/offsets.ts';
import { PtRegs, ptRegsLayout } from '../kernel/ptregs.ts';
import type { KernelApi, Task } from '../kernel/types.ts';
import type { Machine } from '../machine/machine.ts';
import { createUnicornMachine } from '../machine/unicorn.ts';

/** The core's C functions entry.S links against (the stand-ins must define them). */
export const ENTRY_C_FUNCTIONS = ['schedule_tail', 'do_work_pending', 'syscall_trace_enter', 'syscall_trace_exit', 'sys_ni_syscall', 'do_user_fault'] as const;

/** task_struct slot size in the harness (the tests' hand-built tasks). */
export const HARNESS_TASK_STRUCT_SIZE = 0x400n;

/** Where the stand-ins keep what they saw: kernel data +0x9000, in the arch-private area. */
export const STUB_LOG_OFFSET = 0x9000n;

/** What `kernelApi().bug` throws: the port reported a contract violation. */
export class BugReport extends Error {}

/** A bare machine with entry.S at kernelText and the stand-ins at stubs. */
export interface Booted {
  m: Machine;
  /** entry.S labels, stand-in labels, sys_call_table and the vdso symbols at their user addresses */
  sym: Map<string, bigint>;
  entry: AssembleResult;
  stubs: AssembleResult;
}

export interface PortHarnessOptions {
  /** the arch lib's directory: arch.json and src/entry.S */
  lib: string;
  /** the port's CPU model (src/cpu.ts), installed by enterKernel */
  cpu: CpuModel;
}

export interface PortHarness {
  readonly desc: ArchDescriptor;
  readonly mem: ArchDescriptor['memory'];
  /** src/entry.S as on disk */
  readonly entryText: string;
  /** the core's layout constants for entry.S (TI_FLAGS, TASK_*, THREAD_SIZE, PCPU_*) */
  readonly layoutConstants: Record<string, bigint>;
  /** every asm-offsets constant entry.S is assembled with (PT_*, _TIF_*, __NR_*, NR_syscalls, ...) */
  readonly K: Record<string, bigint | number>;
  /** syscall numbers */
  readonly NR: Record<string, number>;
  readonly PCPU: ReturnType<typeof perCpu>;
  readonly SYS_CALL_TABLE: bigint;
  readonly TASKS: bigint;
  /** the stand-ins' log area */
  readonly LOG: bigint;
  readonly USER_TEXT: bigint;
  readonly USER_STACK: bigint;
  /** addresses for the C functions when entry.S is only assembled, not run */
  readonly placeholderExterns: Record<string, bigint>;
  /** the Keystone assembler for the arch; available after init() */
  readonly as: Assembler;

  init(): Promise<void>;
  /** Closes every machine boot() made (for afterEach). */
  closeMachines(): void;
  /** The _TIF_ bit of a thread-info flag. */
  tif(name: string): bigint;
  /** entry.S (or a mutated text) with the asm-offsets prelude of `d`, linked against `externs`. */
  assembleEntry(externs?: Record<string, bigint>, text?: string, d?: ArchDescriptor): AssembleResult;
  /**
   * Assembles the stand-ins at the stubs address and entry.S against them, maps the core's
   * regions, fills sys_call_table with sys_ni_syscall and puts every `sys_<name>` stand-in
   * of a syscall the descriptor numbers in its slot.
   */
  boot(cStubs: string, entryText?: string): Booted;
  /** A task_struct and kernel stack for `pid`, in the harness's slots. */
  mkTask(pid: number): Task;
  /** The KernelApi surface a port uses, over a bare machine; `cur.t` is current(). */
  kernelApi(b: Booted, cur: { t: Task }): KernelApi;
  /** The per-cpu words entry.S reads (current_task, top of stack) for `t`, as a switch to it sets them. */
  setCurrent(b: Booted, t: Task): void;
  /** The core's state before it runs anything in task `t`: the CPU model installed, `t` current. */
  enterKernel(b: Booted, k: KernelApi, t: Task): void;
  /** boot(), then task 1 made current and the kernel entered in it; `cur.t` is current(). */
  bootInTask(cStubs: string, entryText?: string): { b: Booted; t: Task; k: KernelApi; cur: { t: Task } };
  /**
   * What schedule() does to run `next` after `prev`: the per-cpu words set to `next`, then
   * arch.json symbols.switchTo called as switch_to(prev, next) on prev's kernel stack with the
   * dummy return address `ret`; runs until `until`. Returns the irq state and kernel sp the
   * last time the exit path reached symbols.restoreUserRegs (undefined if it never did).
   */
  switchAndRun(b: Booted, prev: Task, next: Task, until: bigint, ret: bigint): { irqs: boolean; sp: bigint } | undefined;
  /** `text` assembled at USER_TEXT and written there. */
  loadUser(b: Booted, text: string): AssembleResult;
  /**
   * `text` assembled at USER_TEXT and a zeroed pt_regs frame of `t` that `init` fills for
   * the first return to it; the kernel sp points at the frame.
   */
  userFrame(b: Booted, k: KernelApi, t: Task, text: string, init: (regs: PtRegs) => void): { regs: PtRegs; user: AssembleResult };
  /** A word of the stand-ins' log. */
  log(b: Booted, off: bigint): bigint;
  setLog(b: Booted, off: bigint, v: bigint): void;
}

export function portHarness(opts: PortHarnessOptions): PortHarness {
  const desc = loadDescriptor(join(opts.lib, 'arch.json'));
  const mem = desc.memory;
  const entryFile = relative(process.cwd(), join(opts.lib, 'src/entry.S'));
  const entryText = readFileSync(join(opts.lib, 'src/entry.S'), 'utf8');
  const layoutConstants = kernelLayoutConstants(desc);
  const K = asmOffsetConstants(desc, layoutConstants);
  const PCPU = perCpu(desc);
  const SYS_CALL_TABLE = sysCallTableAddress(desc);
  const TASKS = taskStructsBase(desc);
  const LOG = mem.kernelData + STUB_LOG_OFFSET;
  const USER_TEXT = mem.user;
  const USER_STACK = mem.user + 0x3e000n;
  const word = desc.wordSize;
  const layout = ptRegsLayout(desc);
  const placeholderExterns = Object.fromEntries(ENTRY_C_FUNCTIONS.map((n, i) => [n, mem.stubs + BigInt(16 * (i + 1))]));
  const machines: Machine[] = [];
  const archSym = (b: Booted, key: 'switchTo' | 'restoreUserRegs'): bigint => {
    const name = desc.symbols?.[key];
    const v = name === undefined ? undefined : b.sym.get(name);
    if (v === undefined) throw new Error(`port harness: arch.json symbols.${key} (${name ?? 'missing'}) is no entry.S label`);
    return v;
  };
  let assembler: Assembler | undefined;

  const h: PortHarness = {
    desc,
    mem,
    entryText,
    layoutConstants,
    K,
    NR: desc.syscall.numbers,
    PCPU,
    SYS_CALL_TABLE,
    TASKS,
    LOG,
    USER_TEXT,
    USER_STACK,
    placeholderExterns,
    get as(): Assembler {
      if (!assembler) throw new Error('port harness: call init() (in beforeAll) before assembling');
      return assembler;
    },

    async init() {
      assembler ??= await createKeystoneAssembler(desc.assembler.arch);
    },

    closeMachines() {
      for (const m of machines.splice(0)) m.close();
    },

    tif(name) {
      const bit = desc.tif[name];
      if (bit === undefined) throw new Error(`port harness: ${desc.name} has no TIF_${name}`);
      return 1n << BigInt(bit);
    },

    assembleEntry(externs = placeholderExterns, text = entryText, d = desc) {
      return h.as.assemble(
        { file: entryFile, text, prelude: asmOffsets(d, kernelLayoutConstants(d)) },
        { base: mem.kernelText, externs: { sys_call_table: SYS_CALL_TABLE, ...externs } },
      );
    },

    boot(cStubs, text = entryText) {
      const stubs = h.as.assemble({ file: 'stubs', text: cStubs }, { base: mem.stubs });
      const stub = (n: string) => {
        const v = stubs.symbols.get(n);
        if (v === undefined) throw new Error(`port harness: the C stand-ins define no ${n}`);
        return v;
      };
      const entry = h.assembleEntry(Object.fromEntries(ENTRY_C_FUNCTIONS.map((n) => [n, stub(n)])), text);
      const m = createUnicornMachine({ arch: desc.emulator.arch, mode: desc.emulator.mode, endian: desc.endian, cpuModel: desc.emulator.cpuModel });
      machines.push(m);
      m.map(mem.kernelText, 0x10000);
      m.map(mem.stubs, 0x1000);
      m.map(mem.kernelData, 0x100000);
      m.map(mem.stacks, Number(THREAD_SIZE) * 4);
      m.map(mem.user, Number(mem.userSize));
      m.write(mem.kernelText, entry.bytes);
      m.write(mem.stubs, stubs.bytes);
      // sys_call_table as the core fills it, with the stand-ins for the syscalls they define
      const nrs = K['NR_syscalls'] as number;
      for (let i = 0; i < nrs; i++) m.writeUint(SYS_CALL_TABLE + BigInt(i * word), word, stub('sys_ni_syscall'));
      for (const [name, nr] of Object.entries(desc.syscall.numbers)) {
        const v = stubs.symbols.get(`sys_${name}`);
        if (v !== undefined) m.writeUint(SYS_CALL_TABLE + BigInt(nr * word), word, v);
      }
      const sym = new Map([...entry.symbols, ...stubs.symbols, ['sys_call_table', SYS_CALL_TABLE] as [string, bigint]]);
      // the vdso as the core maps it: trampoline symbols at their user addresses
      const vs = entry.symbols.get('__vdso_start');
      const ve = entry.symbols.get('__vdso_end');
      if (vs !== undefined && ve !== undefined) {
        for (const [k, v] of entry.symbols) if (v >= vs && v < ve && k !== '__vdso_start') sym.set(k, mem.vdso + (v - vs));
      }
      return { m, sym, entry, stubs };
    },

    mkTask(pid) {
      const stackBase = mem.stacks + BigInt(pid) * THREAD_SIZE;
      return {
        pid,
        comm: `t${pid}`,
        addr: TASKS + BigInt(pid) * HARNESS_TASK_STRUCT_SIZE,
        stackBase,
        stackTop: stackBase + THREAD_SIZE,
        kthread: false,
        idle: false,
        state: 'running',
        mm: null,
        parent: null,
        exitCode: 0,
        killedBy: 0,
        sigactions: [],
        pending: 0n,
        blocked: 0n,
        arch: {},
      };
    },

    kernelApi(b, cur) {
      const { m } = b;
      const regsOf = (t: Task) => new PtRegs(m, t.stackTop - BigInt(desc.ptRegs.size), layout);
      return {
        m,
        desc,
        wordSize: word,
        sym: (n) => {
          const v = b.sym.get(n);
          if (v === undefined) throw new Error(`no symbol ${n}`);
          return v;
        },
        current: () => cur.t,
        taskPtRegs: regsOf,
        currentPtRegs: () => regsOf(cur.t),
        taskThread: (t) => t.addr + TASK_THREAD,
        readWord: (a) => m.readUint(a, word),
        writeWord: (a, v) => m.writeUint(a, word, BigInt.asUintN(word * 8, v)),
        bug: (contract, message) => {
          throw new BugReport(`[${contract}] ${message}`);
        },
        forceSig: (sig) => {
          cur.t.pending |= 1n << BigInt(sig - 1);
        },
      };
    },

    setCurrent(b, t) {
      b.m.writeUint(PCPU.current, word, t.addr);
      b.m.writeUint(PCPU.topOfStack, word, t.stackTop);
    },

    enterKernel(b, k, t) {
      opts.cpu.init(b.m, b.sym, k);
      h.setCurrent(b, t);
    },

    bootInTask(cStubs, text) {
      const b = h.boot(cStubs, text);
      const t = h.mkTask(1);
      const cur = { t };
      const k = h.kernelApi(b, cur);
      h.enterKernel(b, k, t);
      return { b, t, k, cur };
    },

    switchAndRun(b, prev, next, until, ret) {
      const cc = desc.callingConvention;
      h.setCurrent(b, next);
      const sp = prev.stackTop - 0x300n;
      if (cc.returnAddress === 'stack') b.m.writeUint(sp, word, ret);
      b.m.setReg(desc.registers.sp, sp);
      if (cc.returnAddress !== 'stack') b.m.setReg(cc.returnAddress, ret);
      b.m.setReg(cc.args[0]!, prev.addr);
      b.m.setReg(cc.args[1]!, next.addr);
      let atRestore: { irqs: boolean; sp: bigint } | undefined;
      const restore = archSym(b, 'restoreUserRegs');
      b.m.hookCode(restore, restore, () => (atRestore = { irqs: b.m.irqsEnabled(), sp: b.m.reg(desc.registers.sp) }));
      b.m.run(archSym(b, 'switchTo'), { instructions: 1000 }, until);
      return atRestore;
    },

    loadUser(b, text) {
      const user = h.as.assemble({ file: 'user', text }, { base: USER_TEXT });
      b.m.write(USER_TEXT, user.bytes);
      return user;
    },

    userFrame(b, k, t, text, init) {
      const user = h.loadUser(b, text);
      const regs = k.taskPtRegs(t);
      regs.zero();
      init(regs);
      b.m.setReg(desc.registers.sp, regs.base);
      return { regs, user };
    },

    log(b, off) {
      return b.m.readUint(LOG + off, 8);
    },

    setLog(b, off, v) {
      b.m.writeUint(LOG + off, 8, v);
    },
  };
  return h;
}
