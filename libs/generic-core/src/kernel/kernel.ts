// The generic kernel: the "C" half, written once for every arch. Tasks, kernel stacks and
// pt_regs live in emulated RAM with the arch's layout; the arch's entry glue (real asm)
// calls in here through stubs (bridge.ts) and we call its switch_to. This file holds the
// kernel's state and boot; the rest is split the way Linux splits it: sched.ts, fork.ts,
// exec.ts, exit.ts, signal.ts, ptrace.ts, syscalls.ts, entry/ (the return-to-user models).

import type { Assembler } from '../asm/assembler.ts';
import type { ArchDescriptor, EntryModel, FrameField } from '../contracts/descriptor.ts';
import type { CpuMachine, CpuModel } from '../contracts/cpu.ts';
import { PROT_ALL, type HookHandle, type MachineState } from '../machine/machine.ts';
import type { ArchPort, EntryFunctions } from '../contracts/port.ts';
import { Bridge, type CFunction, type CGen } from './bridge.ts';
import { PtRegs, ptRegsLayout, type PtRegsLayout } from './ptregs.ts';
import { makeAbi, type Abi } from './abi.ts';
import type { ExitToUser, IrqPlan, IrqRecord, KernelApi, KSignal, Mm, SigAction, SyscallEntry, Task, UserImage, World } from './types.ts';
import type { CloneArgs } from '../contracts/port.ts';
import {
  asmOffsets,
  frameField,
  KERNEL_DATA_SIZE,
  KERNEL_TEXT_SIZE,
  MAX_TASKS,
  perCpu,
  STUBS_SIZE,
  sysCallTableAddress,
  TASK_THREAD,
  THREAD_SIZE,
  TI_FLAGS,
  USER_VDSO,
} from './layout.ts';
import * as sched from './sched.ts';
import * as fork from './fork.ts';
import * as exec from './exec.ts';
import * as exit from './exit.ts';
import * as signal from './signal.ts';
import * as ptrace from './ptrace.ts';
import * as syscalls from './syscalls.ts';
import * as defaults from './defaults.ts';
import * as common from './entry/common.ts';
import * as dwp from './entry/do-work-pending.ts';
import * as irq from './irq.ts';
import { symbolize } from './symbols.ts';

/** Offsets in `text` where one of the byte patterns starts. */
function findPatterns(text: Uint8Array, patterns: readonly Uint8Array[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (patterns.some((p) => p.every((b, j) => text[i + j] === b))) out.push(i);
  }
  return out;
}

export class KernelBug extends Error {
  constructor(
    readonly contract: string,
    message: string,
  ) {
    super(`${contract}: ${message}`);
    this.name = 'KernelBug';
  }
}

/**
 * One booted machine, reused by the kernels of successive runs of one port (engine reuse):
 * the first kernel boots it and saves its state; each later kernel restores that state
 * (RAM and CPU; the translations of unchanged kernel text are kept) and takes over the
 * hooks, which always call the kernel running now.
 */
export class KernelHost {
  /** the kernel the hooks call */
  kernel: Kernel | undefined;
  /** after boot, before the first task: what every later run starts from */
  state: MachineState | undefined;
  symbols = new Map<string, bigint>();
  stubs = new Map<string, bigint>();
  textSize = 0;
  vdso: Uint8Array = new Uint8Array(0);
  /** the programs of the last run (their code may still be translated) */
  lastPrograms: Record<string, UserImage> | undefined;
  /** hooks of the current run only (removed before the next) */
  readonly runHooks: HookHandle[] = [];
  /** what cpu.boot() was given: forwards to the kernel running now */
  readonly proxy: KernelApi;

  constructor(readonly m: CpuMachine) {
    this.proxy = new Proxy({} as KernelApi, {
      get: (_t, prop) => {
        const k = this.kernel;
        if (!k) throw new Error('no kernel runs on this machine');
        const v = Reflect.get(k, prop, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(k) : v;
      },
      set: (_t, prop, value) => Reflect.set(this.kernel!, prop, value),
    });
  }
}

export interface KernelOptions {
  /** a machine booted before by another kernel of this port, to reuse */
  host?: KernelHost;
  port: ArchPort;
  machine: CpuMachine;
  assembler: Assembler;
  /** the executables of this little filesystem, by path */
  programs: Record<string, UserImage>;
  world?: World;
  /** kernel functions a kthread can run: name -> generator(k, arg) */
  kfns?: Record<string, (k: KernelApi, arg: bigint) => CGen>;
}

export class Kernel implements KernelApi {
  readonly m: CpuMachine;
  readonly cpu: CpuModel;
  readonly desc: ArchDescriptor;
  readonly port: ArchPort;
  readonly abi: Abi;
  readonly wordSize: number;
  readonly entryModel: EntryModel;
  readonly layout: PtRegsLayout;
  readonly bridge: Bridge;
  readonly symbols = new Map<string, bigint>();
  readonly tasks: Task[] = [];
  readonly world: World;
  readonly programs: Record<string, UserImage>;

  readonly syscalls: SyscallEntry[] = [];
  readonly exits: ExitToUser[] = [];
  readonly trace: string[] = [];
  readonly results = new Map<number, ReadonlyMap<bigint, bigint>>();
  readonly output: string[] = [];
  readonly handledWork: Record<string, number> = {};
  readonly irqs: IrqRecord[] = [];
  readonly irqsInFlight: IrqRecord[] = [];
  irqPlan?: IrqPlan;
  onSyscall?: (name: string, t: Task, args: bigint[]) => void;
  clock = 0n;
  inputQueue: Uint8Array[] = [];

  /** user-mode instructions per task since its last syscall entry */
  readonly userInsnsByPid = new Map<number, number>();
  /** the last user instruction each task ran */
  readonly lastUserPc = new Map<number, bigint>();
  userInsns = 0;
  /** the mm whose image is in guest memory now */
  loadedMm: Mm | null = null;
  nextMmId = 1;
  vdso: Uint8Array = new Uint8Array(0);
  private textSize = 0;
  private cur!: Task;
  private idle!: Task;
  private readonly tif: Record<string, bigint> = {};
  private readonly kfns: Record<string, (k: KernelApi, arg: bigint) => CGen>;

  constructor(private readonly opts: KernelOptions) {
    this.m = opts.machine;
    this.port = opts.port;
    this.cpu = opts.port.cpu;
    this.desc = opts.port.descriptor;
    this.abi = makeAbi(this.desc.wordSize, this.desc.abi);
    this.wordSize = this.desc.wordSize;
    this.entryModel = opts.port.entryModel;
    this.world = opts.world ?? { events: [] };
    this.programs = opts.programs;
    this.kfns = opts.kfns ?? {};
    this.layout = ptRegsLayout(this.desc);
    for (const [name, bit] of Object.entries(this.desc.tif)) this.tif[name] = 1n << BigInt(bit);
    const cc = this.desc.callingConvention;
    this.bridge = new Bridge(
      this.m,
      { args: cc.args, ret: cc.ret, returnAddress: cc.returnAddress, sp: this.desc.registers.sp, pc: this.desc.registers.pc, wordSize: this.wordSize, ...(cc.stackArgs ? { stackArgs: cc.stackArgs } : {}), ...(cc.callerSaved ? { callerSaved: cc.callerSaved } : {}), ...(cc.returnOffset ? { returnOffset: cc.returnOffset } : {}) },
      this.desc.memory.stubs,
      STUBS_SIZE,
      () => this.cur?.addr ?? 0n,
    );
  }

  // ---------------------------------------------------------------- basics
  sym(name: string): bigint {
    const v = this.symbols.get(name);
    if (v === undefined) throw new Error(`no symbol "${name}" (entry.S label, C stub or vdso symbol)`);
    return v;
  }
  current(): Task {
    return this.cur;
  }
  setCurrent(t: Task): void {
    this.cur = t;
    const pcpu = perCpu(this.desc);
    this.writeWord(pcpu.current, t.addr);
    this.writeWord(pcpu.topOfStack, t.stackTop);
  }
  get idleTask(): Task {
    return this.idle;
  }
  task(pid: number): Task | undefined {
    return this.tasks[pid];
  }
  taskPtRegs(t: Task): PtRegs {
    return new PtRegs(this.m, t.stackTop - BigInt(this.layout.size), this.layout);
  }
  currentPtRegs(): PtRegs {
    return this.taskPtRegs(this.cur);
  }
  ptRegsAt(addr: bigint): PtRegs {
    return new PtRegs(this.m, addr, this.layout);
  }
  taskThread(t: Task): bigint {
    return t.addr + TASK_THREAD;
  }
  threadSlot(t: Task, name: string): bigint {
    return this.taskThread(t) + BigInt(this.threadField(name).offset);
  }
  readThread(t: Task, name: string): bigint {
    const f = this.threadField(name, true);
    return this.m.readUint(this.taskThread(t) + BigInt(f.offset), f.size);
  }
  writeThread(t: Task, name: string, v: bigint): void {
    const f = this.threadField(name, true);
    this.m.writeUint(this.taskThread(t) + BigInt(f.offset), f.size, BigInt.asUintN(f.size * 8, v));
  }
  /** arch.json thread.<name>; `scalar`: one of 1, 2, 4 or 8 bytes (readThread/writeThread) */
  private threadField(name: string, scalar = false): FrameField {
    const f = frameField(this.desc.thread, name, `${this.desc.name}: arch.json thread`);
    if (scalar && ![1, 2, 4, 8].includes(f.size)) {
      throw new Error(`${this.desc.name}: arch.json thread field "${name}" is ${f.size} bytes, not a scalar: use threadSlot() and m.read()/m.write()`);
    }
    return f;
  }
  switchFrameSlot(p: Task, reg: string): bigint {
    const sf = this.desc.switchFrame;
    const f = frameField(sf, reg, `${this.desc.name}: arch.json switchFrame`);
    const base = sf.location === 'thread' ? this.taskThread(p) + BigInt(sf.offset) : this.taskPtRegs(p).base - BigInt(sf.size);
    return base + BigInt(f.offset);
  }
  readWord(addr: bigint): bigint {
    return this.m.readUint(addr, this.wordSize);
  }
  writeWord(addr: bigint, v: bigint): void {
    this.m.writeUint(addr, this.wordSize, BigInt.asUintN(this.wordSize * 8, v));
  }
  readCString(addr: bigint, max = 256): string {
    const bytes = this.m.read(addr, max);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(bytes.subarray(0, end < 0 ? max : end));
  }
  accessOk(addr: bigint, size: bigint): boolean {
    const mem = this.desc.memory;
    return addr >= mem.user && size >= 0n && addr + size <= mem.user + mem.userSize;
  }
  /** Where `pc` is, the way an oops names it: an entry.S symbol+offset, a C function, a user address. */
  describePc(pc: bigint): string {
    const mem = this.desc.memory;
    if (pc >= mem.kernelText && pc < mem.kernelText + BigInt(KERNEL_TEXT_SIZE)) return symbolize(this.symbols, pc);
    if (pc >= mem.stubs && pc < mem.stubs + BigInt(STUBS_SIZE)) {
      const c = [...this.bridge.names()].find(([, a]) => a === pc);
      return c ? `${c[0]} (C)` : pc === this.bridge.retStub ? 'the C return stub' : `0x${pc.toString(16)} (stub page)`;
    }
    if (pc >= mem.user && pc < mem.user + mem.userSize) return `user 0x${pc.toString(16)}`;
    return `0x${pc.toString(16)} (no code there)`;
  }

  bug(contract: string, message: string): never {
    throw new KernelBug(contract, message);
  }
  halt(): void {
    this.bridge.halted = true;
    this.m.stop();
  }
  irqsEnabled(): boolean {
    return this.cpu.irqsEnabled(this.m);
  }
  localIrqEnable(): void {
    this.cpu.setIrqsEnabled(this.m, true);
  }
  localIrqDisable(): void {
    this.cpu.setIrqsEnabled(this.m, false);
  }
  expectCurrentRegs(fn: string, regsAddr: bigint): PtRegs {
    const cur = this.currentPtRegs().base;
    if (regsAddr !== cur) this.bug('C4', `${fn} got regs 0x${regsAddr.toString(16)}, current_pt_regs() is 0x${cur.toString(16)}`);
    return this.ptRegsAt(regsAddr);
  }

  // ---------------------------------------------------------------- thread flags
  tifBit(name: string): bigint {
    const b = this.tif[name];
    if (b === undefined) throw new Error(`${this.desc.name}: arch.json has no TIF_${name}`);
    return b;
  }
  hasTif(name: string): boolean {
    return this.tif[name] !== undefined;
  }
  tiFlags(t: Task): bigint {
    return this.readWord(t.addr + TI_FLAGS);
  }
  setTif(t: Task, name: string): void {
    this.writeWord(t.addr + TI_FLAGS, this.tiFlags(t) | this.tifBit(name));
  }
  clearTif(t: Task, name: string): void {
    this.writeWord(t.addr + TI_FLAGS, this.tiFlags(t) & ~this.tifBit(name));
  }
  testTif(t: Task, name: string): boolean {
    return (this.tiFlags(t) & this.tifBit(name)) !== 0n;
  }
  count(what: string): void {
    this.handledWork[what] = (this.handledWork[what] ?? 0) + 1;
    this.trace.push(`${this.cur.pid}:${what}`);
  }

  // ---------------------------------------------------------------- the kernel's files
  schedule = () => sched.schedule(this);
  scheduleTail = (prev: bigint) => sched.scheduleTail(this, prev);
  wakeUp = (t: Task) => sched.wakeUp(t);
  waitEventInterruptible = (cond: () => boolean) => sched.waitEventInterruptible(this, cond);
  anyRunnable = () => sched.anyRunnable(this);
  mmImage = (mm: Mm) => sched.mmImage(this, mm);
  mmPages = (mm: Mm) => sched.mmPages(this, mm);
  newMm = (pages?: readonly Uint8Array[]) => sched.newMm(this, pages);
  loadMm = (mm: Mm) => sched.loadMm(this, mm);
  dropSuspendedFrames = (t: Task) => this.bridge.dropFrames(t.addr);

  allocTask = (comm: string, kthread: boolean) => fork.allocTask(this, comm, kthread);
  kernelClone = (args: CloneArgs, regs: PtRegs | null, comm?: string) => fork.kernelClone(this, args, regs, comm);
  kernelThread = (fnName: string, arg: bigint) => fork.kernelThread(this, fnName, arg);
  forkIdle = () => fork.forkIdle(this);

  execImage = (path: string) => exec.execImage(this, path);
  kernelExecve = (path: string) => exec.kernelExecve(this, path);

  doExit = (code: number, killedBy = 0) => exit.doExit(this, code, killedBy);
  snapshotResults = (t: Task) => exit.snapshotResults(this, t);
  vforkRelease = (t: Task) => exit.vforkRelease(this, t);

  signalPending = (t: Task) => signal.signalPending(t);
  fatalSignalPending = (t: Task) => signal.fatalSignalPending(this, t);
  recalcSigpending = (t: Task) => signal.recalcSigpending(this, t);
  sendSignal = (t: Task, sig: number) => signal.sendSignal(this, t, sig);
  forceSig = (sig: number) => signal.forceSig(this, sig);
  getSignal = () => signal.getSignal(this);
  handleSignal = (ksig: KSignal, regs: PtRegs) => signal.handleSignal(this, ksig, regs);
  readSigAction = (addr: bigint) => signal.readSigAction(this, addr);
  writeSigAction = (addr: bigint, a: SigAction) => signal.writeSigAction(this, addr, a);

  syscallGetNr = (regs: PtRegs) => defaults.syscallGetNr(this, regs);
  syscallSetNr = (regs: PtRegs, nr: bigint) => defaults.syscallSetNr(this, regs, nr);
  inSyscall = (regs: PtRegs) => defaults.inSyscall(this, regs);
  forgetSyscall = (regs: PtRegs) => defaults.forgetSyscall(this, regs);
  syscallRollback = (regs: PtRegs) => defaults.syscallRollback(this, regs);
  syscallGetReturnValue = (regs: PtRegs) => defaults.syscallGetReturnValue(this, regs);
  syscallSetReturnValue = (regs: PtRegs, error: bigint, val: bigint) => defaults.syscallSetReturnValue(this, regs, error, val);
  setRestartSyscall = (regs: PtRegs) => defaults.setRestartSyscall(this, regs);
  restartPc = (pc: bigint) => pc - BigInt(this.desc.syscall.insnBytes);
  syscallGetArguments = (regs: PtRegs) => defaults.syscallGetArguments(this, regs);
  syscallSetArguments = (regs: PtRegs, args: bigint[]) => defaults.syscallSetArguments(this, regs, args);

  ptraceReportSyscallEntry = (regs: PtRegs) => ptrace.reportSyscallEntry(this, regs);
  ptraceReportSyscallExit = (regs: PtRegs) => ptrace.reportSyscallExit(this, regs);
  hasSyscallWork = (t: Task) => ptrace.hasSyscallWork(this, t);

  invokeSyscall = (regs: PtRegs, nr: bigint) => syscalls.invokeSyscall(this, regs, nr);
  callSyscall = (nr: number, args: bigint[]) => syscalls.callSyscall(this, nr, args);

  syscallEnterFromUserMode = (regs: PtRegs, nr: bigint) => common.syscallEnterFromUserMode(this, regs, nr);
  syscallExitToUserMode = (regs: PtRegs) => common.syscallExitToUserMode(this, regs);
  syscallExitWork = (regs: PtRegs) => common.syscallExitWork(this, regs);
  exitToUserModePrepare = (regs: PtRegs) => common.exitToUserModePrepare(this, regs);
  irqentryEnterFromUserMode = (regs: PtRegs) => common.irqentryEnterFromUserMode(this, regs);
  irqentryExitToUserMode = (regs: PtRegs) => common.irqentryExitToUserMode(this, regs);
  archDoSignalOrRestart = (regs: PtRegs) => signal.archDoSignalOrRestart(this, regs);
  signalRestartAfterGetSignal = (regs: PtRegs) => signal.restartAfterGetSignal(this, regs);
  signalRestartBeforeGetSignal = (regs: PtRegs) => signal.restartBeforeGetSignal(this, regs);

  userMode = (regs: PtRegs) => irq.userMode(this, regs);
  handleIrq = (regs: PtRegs) => irq.handleIrq(this, regs);
  irqentryEnter = (regs: PtRegs) => irq.irqentryEnter(this, regs);
  irqentryExit = (regs: PtRegs, state: { user: boolean }) => irq.irqentryExit(this, regs, state);

  // ---------------------------------------------------------------- boot
  boot(): void {
    const host = this.opts.host;
    if (host?.state) return this.reboot(host);
    const mem = this.desc.memory;
    const m = this.m;
    m.map(mem.kernelText, KERNEL_TEXT_SIZE);
    m.map(mem.stubs, STUBS_SIZE);
    const fill = this.cpu.stubFill;
    const page = new Uint8Array(STUBS_SIZE);
    for (let i = 0; i + fill.length <= STUBS_SIZE; i += fill.length) page.set(fill, i);
    m.write(mem.stubs, page);
    m.map(mem.kernelData, KERNEL_DATA_SIZE, PROT_ALL, { data: true });
    m.map(mem.stacks, Number(THREAD_SIZE) * MAX_TASKS, PROT_ALL, { data: true });
    m.map(mem.user, Number(mem.userSize));

    this.registerCFunctions();
    const sysCallTable = sysCallTableAddress(this.desc);
    const externs: Record<string, bigint> = { sys_call_table: sysCallTable, ...Object.fromEntries(this.bridge.names()) };
    const res = this.opts.assembler.assemble({ ...this.port.sources.entry, prelude: asmOffsets(this.desc) }, { base: mem.kernelText, externs });
    if (res.bytes.length > KERNEL_TEXT_SIZE) throw new Error(`${this.port.sources.entry.file}: kernel text is ${res.bytes.length} bytes, over ${KERNEL_TEXT_SIZE / 1024} KiB`);
    m.write(mem.kernelText, res.bytes);
    this.textSize = res.bytes.length;
    for (const [k, v] of res.symbols) this.symbols.set(k, v);
    for (const [k, v] of this.bridge.names()) this.symbols.set(k, v);
    this.symbols.set('sys_call_table', sysCallTable);
    for (const [role, name] of Object.entries(this.desc.symbols)) {
      if (!this.symbols.has(name)) throw new Error(`${this.port.sources.entry.file}: arch.json symbols.${role} names "${name}", which entry.S does not define`);
    }

    // vdso: copied into every new mm; its symbols are user addresses
    const vs = this.symbols.get('__vdso_start');
    const ve = this.symbols.get('__vdso_end');
    if (vs !== undefined && ve !== undefined) {
      this.vdso = m.read(vs, Number(ve - vs));
      for (const [k, v] of res.symbols) {
        if (v >= vs && v < ve && k !== '__vdso_start') this.symbols.set(k, mem.user + USER_VDSO + (v - vs));
      }
    }

    // sys_call_table, in one write
    const nrs = Object.entries(this.desc.syscall.numbers);
    const nrMax = Math.max(...nrs.map(([, n]) => n)) + 1;
    const ni = this.bridge.addr('sys_ni_syscall');
    const table = new Array<bigint>(nrMax).fill(ni);
    for (const [name] of nrs) {
      // arch.json symbols["sys_<name>"]: the slot holds an entry.S stub instead (Linux's asm
      // syscall stubs, sparc sys_fork / sys_rt_sigreturn: they flush register windows or
      // leave by another path), which calls the C function itself
      const asmStub = this.desc.symbols[`sys_${name}`];
      const stub = asmStub !== undefined ? this.sym(asmStub) : this.bridge.names().get(`sys_${name}`);
      if (stub !== undefined) table[this.desc.syscall.numbers[name]!] = stub;
    }
    m.write(sysCallTable, this.words(table));

    // the hooks call the kernel running now: this one, or with a host the one of each later run
    const running = (): Kernel => host?.kernel ?? this;
    m.hookCode(mem.stubs, mem.stubs + BigInt(STUBS_SIZE) - 1n, (addr) => running().bridge.onStub(addr));
    this.installObservers(running);
    if (host) host.kernel = this;
    this.cpu.boot(m, host ? host.proxy : this);
    if (host) {
      host.state = m.saveState();
      host.lastPrograms = this.programs;
      // a run's own kernel functions (kfn_*, registered last) are not part of the boot state
      const own = (name: string) => name.startsWith('kfn_');
      host.symbols = new Map([...this.symbols].filter(([n]) => !own(n)));
      host.stubs = new Map([...this.bridge.names()].filter(([n]) => !own(n)));
      host.textSize = this.textSize;
      host.vdso = this.vdso;
    }
    this.startIdle();
  }

  /** Boot on a machine another kernel of this port booted: its state as boot left it. */
  private reboot(host: KernelHost): void {
    for (const h of host.runHooks.splice(0)) h.remove();
    const changed = this.m.restoreState(host.state!);
    // The user code of a run comes from its programs (and the vDSO and signal trampolines,
    // the same bytes every run): when this run has the very programs of the last one (an
    // interrupt sweep runs one scenario again and again) its translations are still right.
    const sameCode = host.lastPrograms === this.programs;
    host.lastPrograms = this.programs;
    if (changed.length && !sameCode) {
      // code the last run loaded (user programs): drop its translations, looking its
      // addresses up the way user mode does (an MMU may keep user pages from the kernel's
      // instruction fetches), then back to the boot state
      this.cpu.setPrivilege(this.m, this.cpu.userPrivilege);
      for (const r of changed) this.m.invalidateCode(r.base, r.end - 1n);
      this.m.restoreState(host.state!);
    }
    for (const [k, v] of host.symbols) this.symbols.set(k, v);
    this.textSize = host.textSize;
    this.vdso = host.vdso;
    this.registerCFunctions();
    // the sys_call_table and entry.S hold these addresses: registration must give the same
    const names = this.bridge.names();
    for (const [name, addr] of host.stubs) {
      if (names.get(name) !== addr) throw new Error(`engine reuse: C function ${name} got another stub address than at boot`);
    }
    for (const [k, v] of this.bridge.names()) this.symbols.set(k, v);
    host.kernel = this;
    this.startIdle();
  }

  /** init_task (the idle task, pid 0) runs the boot CPU */
  private startIdle(): void {
    this.idle = this.allocTask('swapper', true);
    this.idle.idle = true;
    this.setCurrent(this.idle);
  }

  /** A hook for this run only: removed before the next run on a reused machine. */
  private runHook(h: HookHandle): void {
    this.opts.host?.runHooks.push(h);
  }


  /** Words in the guest's size and byte order. */
  words(ws: bigint[]): Uint8Array {
    const w = this.wordSize;
    const out = new Uint8Array(ws.length * w);
    const dv = new DataView(out.buffer);
    const le = this.desc.endian === 'little';
    ws.forEach((v, i) => {
      if (w === 8) dv.setBigUint64(i * 8, BigInt.asUintN(64, v), le);
      else dv.setUint32(i * 4, Number(BigInt.asUintN(32, v)), le);
    });
    return out;
  }

  private installObservers(running: () => Kernel): void {
    const mem = this.desc.memory;
    // every user-mode instruction, per task (the counts scenarios compare)
    this.m.hookCode(mem.user, mem.user + mem.userSize - 1n, (addr) => running().onUserInstruction(addr));
    // Every instruction that returns to user mode, found by its bytes in kernel text and
    // checked where it executes, whichever path reached it: interrupts off, nothing but
    // pt_regs left on the kernel stack (C2, C5); the next user instruction then checks the
    // privilege level.
    const text = this.m.read(mem.kernelText, this.textSize);
    for (const at of findPatterns(text, this.cpu.returnToUser.patterns)) {
      const addr = mem.kernelText + BigInt(at);
      this.m.hookCode(addr, addr, (a, size) => running().onReturnInstruction(a, size));
    }
  }

  /** set at a return to user mode: the next user instruction checks the privilege level */
  private returnedToUser = false;

  private onUserInstruction(addr: bigint): void {
    const mem = this.desc.memory;
    this.userInsns++;
    const pid = this.cur.pid;
    this.userInsnsByPid.set(pid, (this.userInsnsByPid.get(pid) ?? 0) + 1);
    this.lastUserPc.set(pid, addr);
    const prev = this.m.previousInstruction();
    if (prev && (prev.addr < mem.user || prev.addr >= mem.user + mem.userSize) && !this.returnedToUser) {
      // kernel code ran into user code without an instruction that returns to user mode
      this.bug('C2', `user code at 0x${addr.toString(16)} was reached from ${this.describePc(prev.addr)} without a return-to-user instruction (${this.cpu.name} returns with what cpu.returnToUser lists)`);
    }
    if (this.returnedToUser) {
      this.returnedToUser = false;
      const level = this.cpu.privilege(this.m);
      if (level !== this.cpu.userPrivilege) {
        this.bug('C2', `user code at 0x${this.m.reg(this.desc.registers.pc).toString(16)} runs at privilege level ${level}, not the user level ${this.cpu.userPrivilege}`);
      }
    }
  }

  private onReturnInstruction(a: bigint, size: number): void {
    const t = this.cur;
    const r = this.cpu.returnToUser.check(this.m, a, size, t.stackTop, this.layout.size);
    if (!r) return;
    if (r.violation) this.bug(r.violation.contract, `${r.violation.message} (return to user mode at ${symbolize(this.symbols, a)}, task ${t.pid})`);
    const symbols = this.symbols;
    // `at` is named when read (a failure message): symbolize walks every symbol
    this.exits.push({
      pid: t.pid,
      irqsOn: this.irqsEnabled(),
      spDelta: r.sp - r.expectedSp,
      pc: r.pc,
      get at() {
        return symbolize(symbols, a);
      },
    });
    this.returnedToUser = true;
  }

  /** The scenario's interrupt line (C12): checks the port can take one, raises the first. */
  private armIrqPlan(): void {
    const plan = this.irqPlan;
    if (!plan) return;
    if (!this.cpu.irq) throw new Error(`${this.desc.name}: the CPU model has no irq part (src/cpu.ts irq.canTake/take): interrupts are not modelled for this arch yet`);
    if (plan.afterPc !== undefined) {
      let raised = false;
      this.runHook(
        this.m.hookCode(plan.afterPc, plan.afterPc, () => {
          if (raised) return;
          raised = true;
          irq.raise(this, this.m.instructionCount());
        }),
      );
    }
    irq.armNext(this, 0);
  }

  // ---------------------------------------------------------------- C functions entry.S calls
  private registerCFunctions(): void {
    const b = this.bridge;
    b.register('cpu_startup_entry', () => sched.cpuStartupEntry(this));
    b.register('schedule', () => this.schedule());
    b.register('schedule_tail', (prev) => this.scheduleTail(prev!));
    b.register('sys_ni_syscall', () => -this.abi.errno.ENOSYS);
    b.register('handle_irq', (regs) => this.handleIrq(this.ptRegsAt(regs!)));
    b.register('idle_dummy', () => this.bug('C3', 'idle_dummy() ran: an idle task was started through ret_from_fork'));
    if (this.entryModel === 'do-work-pending') {
      b.register('do_work_pending', (regs, flags, sc) => dwp.doWorkPending(this, regs!, flags!, sc!));
      b.register('syscall_trace_enter', (regs) => dwp.syscallTraceEnter(this, regs!));
      b.register('syscall_trace_exit', (regs) => dwp.syscallTraceExit(this, regs!));
    }
    // sys_call_table slots (asm dispatch): each syscall as a C function of its arguments
    for (const [name, nr] of Object.entries(this.desc.syscall.numbers)) {
      if (syscalls.implemented(this, name)) b.register(`sys_${name}`, (...args: bigint[]) => this.callSyscall(nr, args));
    }
    // the port's own C entry functions, for the model it runs
    const fns: EntryFunctions = this.port.entry.models[this.entryModel] ?? {};
    for (const [name, fn] of Object.entries(fns)) b.register(name, ((...args: bigint[]) => fn(this, ...args)) as CFunction);
    for (const [name, fn] of Object.entries(this.kfns)) b.register(`kfn_${name}`, (arg: bigint) => fn(this, arg));
  }

  /** Start the machine in the idle task; returns when nothing is left to run. */
  run(budget: number): { instructions: number } {
    const cc = this.desc.callingConvention;
    const sp = this.idle.stackTop - 64n - BigInt(cc.stackBias ?? 0);
    this.m.setReg(this.desc.registers.sp, sp);
    if (cc.returnAddress === 'stack') this.writeWord(sp, 0n);
    else this.m.setReg(cc.returnAddress, 0n);
    this.armIrqPlan();
    const r = this.m.run(this.bridge.addr('cpu_startup_entry'), { instructions: budget });
    const lost = this.irqsInFlight[0];
    if (lost) this.bug('C12', `the interrupt taken at ${lost.at} never reached handle_irq: the irq entry lost it`);
    for (const t of this.tasks) if (!this.results.has(t.pid) && t.mm) this.snapshotResults(t);
    return { instructions: r.instructions };
  }
}
