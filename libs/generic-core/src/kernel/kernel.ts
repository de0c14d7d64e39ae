// The generic kernel: the "C" half, written once for every arch.
// Tasks, kernel stacks and pt_regs live in emulated RAM with the arch's layout; the arch's
// entry glue (real asm) calls in here through stubs (bridge.ts) and we call its switch_to.

import type { Machine } from '../machine/machine.ts';
import type { Assembler } from '../asm/assembler.ts';
import type { ArchPort } from '../contracts/port.ts';
import type { ArchDescriptor } from '../contracts/descriptor.ts';
import { Bridge, guestCall, type CFunction, type CGen } from './bridge.ts';
import { PtRegs, ptRegsLayout, type PtRegsLayout } from './ptregs.ts';
import type { KernelApi, Mm, SigAction, Task } from './types.ts';
import { SIG_DFL, SIG_IGN, SA_NODEFER, SA_RESETHAND, SA_RESTART } from './types.ts';
import * as E from './errno.ts';
import { asmOffsets, kernelLayoutConstants, perCpu, sysCallTableAddress, taskStructsBase, THREAD_SIZE, TI_FLAGS, TASK_STACK, TASK_THREAD } from './offsets.ts';
import type { UserImage } from '../user/compile.ts';

export { THREAD_SIZE, TI_FLAGS, TASK_STACK, TASK_THREAD } from './offsets.ts';
const TASK_STRUCT_SIZE = 0x200n;
const MAX_TASKS = 48;

/** Offsets inside the user region (see docs/porting-guide.md). */
export const USER_RESULTS = 0x10000n;
export const USER_DATA = 0x11000n;
export const USER_STACK_TOP = 0x3e000n;
export const USER_VDSO = 0x3f000n;

export class KernelBug extends Error {
  constructor(
    readonly contract: string,
    message: string,
  ) {
    super(`${contract}: ${message}`);
    this.name = 'KernelBug';
  }
}

/** A tracer attached with PTRACE_SYSCALL; runs at the tracee's syscall stops. */
export interface Tracer {
  onSyscallEntry?(t: Task, view: TraceeView): { kill?: boolean } | void;
  onSyscallExit?(t: Task, view: TraceeView): void;
}

/** What a tracer may do at a stop (PTRACE_GETREGS/SETREGS, NT_ARM_SYSTEM_CALL-like nr). */
export interface TraceeView {
  regs: PtRegs;
  get(reg: string): bigint;
  set(reg: string, v: bigint): void;
  nr(): bigint;
  setNr(nr: bigint): void;
}

/** The world outside the CPU: events that happen while everything sleeps. */
export interface World {
  /** One event per idle tick, in order (a signal arrives, data arrives, time passes). */
  events: Array<(k: Kernel) => void>;
  /** Hooks at interesting points of a syscall ("fork" before the point of no return, ...). */
  at?: (k: Kernel, point: string, t: Task) => void;
}

export interface SyscallEntry {
  pid: number;
  name: string;
  nr: number;
  args: bigint[];
  /** user-mode instructions this task ran since its previous syscall entry */
  userInsns: number;
}

export interface ExitToUser {
  pid: number;
  irqsOn: boolean;
  /** kernel sp minus task_pt_regs(current): 0 when nothing but pt_regs is on the stack */
  spDelta: bigint;
  pc: bigint;
}

export interface KernelOptions {
  port: ArchPort;
  machine: Machine;
  assembler: Assembler;
  /** the executables of this little filesystem, by path */
  programs: Record<string, UserImage>;
  world?: World;
  /** kernel functions a kthread can run: name -> generator(k, arg) */
  kfns?: Record<string, (k: Kernel, arg: bigint) => CGen>;
}

type Gen<T = void> = Generator<{ call: bigint; args: bigint[] }, T, bigint>;

export class Kernel implements KernelApi {
  readonly m: Machine;
  readonly desc: ArchDescriptor;
  readonly port: ArchPort;
  readonly wordSize: number;
  readonly layout: PtRegsLayout;
  readonly bridge: Bridge;
  readonly symbols = new Map<string, bigint>();
  readonly tasks: Task[] = [];
  readonly world: World;
  readonly programs: Record<string, UserImage>;
  readonly kfns: Record<string, (k: Kernel, arg: bigint) => CGen>;

  // observations, read by scenarios
  readonly syscalls: SyscallEntry[] = [];
  readonly exits: ExitToUser[] = [];
  readonly trace: string[] = [];
  readonly results = new Map<number, Map<bigint, bigint>>();
  readonly output: string[] = [];
  readonly handledWork: Record<string, number> = {};
  userInsns = 0;
  /** scenario hook: runs at every syscall entry, before the implementation */
  onSyscall?: (name: string, t: Task, args: bigint[]) => void;

  private cur!: Task;
  private idleTask!: Task;
  private loadedMm: Mm | null = null;
  private nextMmId = 1;
  private readonly userInsnsByPid = new Map<number, number>();
  private vdso: Uint8Array = new Uint8Array(0);
  private readonly tif: Record<string, bigint> = {};
  private readonly workMask: bigint;
  /** set by do_signal when it rewound the frame for a restart on this return path */
  private restartDecided = false;
  /** simulated time, ns; advanced by world events */
  clock = 0n;
  inputQueue: Uint8Array[] = [];
  /** the bit handlers of the exit work loop: TIF name -> what clears it */
  private readonly workHandlers: Record<string, (regs: PtRegs) => void>;

  constructor(private readonly opts: KernelOptions) {
    this.m = opts.machine;
    this.port = opts.port;
    this.desc = opts.port.descriptor;
    this.wordSize = this.desc.wordSize;
    this.world = opts.world ?? { events: [] };
    this.programs = opts.programs;
    this.kfns = opts.kfns ?? {};
    this.layout = ptRegsLayout(this.desc);
    for (const [name, bit] of Object.entries(this.desc.tif)) this.tif[name] = 1n << BigInt(bit);
    this.workMask = this.mask('_TIF_WORK_MASK');
    const cc = this.desc.callingConvention;
    this.bridge = new Bridge(
      this.m,
      { args: cc.args, ret: cc.ret, returnAddress: cc.returnAddress, sp: this.desc.registers.sp, pc: this.desc.registers.pc, wordSize: this.wordSize },
      this.desc.memory.stubs,
      0x1000,
      () => this.cur?.addr ?? 0n,
    );
    this.workHandlers = {
      NOTIFY_RESUME: () => this.count('resume_user_mode_work'),
      UPROBE: () => this.count('uprobe_notify_resume'),
      NOTIFY_SIGNAL: () => this.count('task_work_run'),
      FOREIGN_FPSTATE: () => this.count('fpsimd_restore_current_state'),
      USER_RETURN_NOTIFY: () => this.count('fire_user_return_notifiers'),
      MCE_NOTIFY: () => this.count('mce_notify_process'),
      PATCH_PENDING: () => this.count('klp_update_patch_state'),
    };
  }

  // ---------------------------------------------------------------- KernelApi
  sym(name: string): bigint {
    const v = this.symbols.get(name);
    if (v === undefined) throw new Error(`no symbol "${name}" (entry.S label, C stub or vdso symbol)`);
    return v;
  }
  current(): Task {
    return this.cur;
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
  readWord(addr: bigint): bigint {
    return this.m.readUint(addr, this.wordSize);
  }
  writeWord(addr: bigint, v: bigint): void {
    this.m.writeUint(addr, this.wordSize, BigInt.asUintN(this.wordSize * 8, v));
  }
  bug(contract: string, message: string): never {
    throw new KernelBug(contract, message);
  }
  /** Stop the run: the scenario is over. */
  halt(): void {
    this.bridge.halted = true;
    this.m.stop();
  }

  private mask(name: string): bigint {
    const bits = this.desc.workMasks[name];
    if (!bits) throw new Error(`${this.desc.name}: arch.json has no work mask ${name}`);
    return bits.reduce((acc, b) => acc | this.tifBit(b), 0n);
  }
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
  private count(what: string): void {
    this.handledWork[what] = (this.handledWork[what] ?? 0) + 1;
    this.trace.push(`${this.cur.pid}:${what}`);
  }

  // ---------------------------------------------------------------- boot
  boot(): void {
    const mem = this.desc.memory;
    const m = this.m;
    m.map(mem.kernelText, 0x10000);
    m.map(mem.stubs, 0x1000);
    m.map(mem.kernelData, 0x100000);
    m.map(mem.stacks, Number(THREAD_SIZE) * MAX_TASKS);
    m.map(mem.user, Number(mem.userSize));

    this.registerCFunctions();
    const sysCallTable = sysCallTableAddress(this.desc);
    const externs: Record<string, bigint> = {
      sys_call_table: sysCallTable,
      ...Object.fromEntries(this.bridge.names()),
    };
    const consts = asmOffsets(this.desc, kernelLayoutConstants(this.desc));
    const res = this.opts.assembler.assemble(
      { ...this.port.sources.entry, prelude: consts },
      { base: mem.kernelText, externs },
    );
    if (res.bytes.length > 0x10000) throw new Error(`${this.port.sources.entry.file}: kernel text is ${res.bytes.length} bytes, over 64 KiB`);
    m.write(mem.kernelText, res.bytes);
    for (const [k, v] of res.symbols) this.symbols.set(k, v);
    for (const [k, v] of this.bridge.names()) this.symbols.set(k, v);
    this.symbols.set('sys_call_table', sysCallTable);
    for (const s of ['retFromFork', 'switchTo', 'restoreUserRegs'] as const) {
      const name = this.archSymbol(s);
      if (!this.symbols.has(name)) throw new Error(`${this.port.sources.entry.file}: arch.json symbols.${s} names "${name}", which entry.S does not define`);
    }

    // vdso: the sigreturn trampoline, copied into every new mm
    const vs = this.sym('__vdso_start');
    const ve = this.sym('__vdso_end');
    this.vdso = m.read(vs, Number(ve - vs));
    for (const [k, v] of res.symbols) {
      if (v >= vs && v < ve && k !== '__vdso_start') this.symbols.set(k, mem.user + USER_VDSO + (v - vs));
    }

    // sys_call_table
    const nrs = Object.entries(this.desc.syscall.numbers);
    const nrMax = Math.max(...nrs.map(([, n]) => n)) + 1;
    const ni = this.bridge.addr('sys_ni_syscall');
    for (let i = 0; i < nrMax; i++) this.writeWord(sysCallTable + BigInt(i * this.wordSize), ni);
    for (const [name, nr] of nrs) {
      const stub = this.bridge.names().get(`sys_${name}`);
      if (stub !== undefined) this.writeWord(sysCallTable + BigInt(nr * this.wordSize), stub);
    }

    this.bridge.install();
    this.installObservers();
    this.port.cpu.init(m, this.symbols, this);

    // init_task (the idle task, pid 0) runs the boot CPU
    this.idleTask = this.allocTask('swapper', true);
    this.idleTask.idle = true;
    this.cur = this.idleTask;
    this.setPerCpuCurrent(this.idleTask);
  }

  archSymbol(key: 'retFromFork' | 'switchTo' | 'restoreUserRegs' | 'retFromKernelThread'): string {
    const name = this.desc.symbols?.[key];
    if (!name) throw new Error(`${this.desc.name}: arch.json symbols.${key} is missing`);
    return name;
  }

  private installObservers(): void {
    const mem = this.desc.memory;
    // every user-mode instruction, per task (the counts scenarios compare); the first one
    // after each return from the kernel must run at the CPU's user privilege level (C2)
    let checkPrivilege = false;
    this.m.hookCode(mem.user, mem.user + mem.userSize - 1n, () => {
      this.userInsns++;
      const pid = this.cur.pid;
      this.userInsnsByPid.set(pid, (this.userInsnsByPid.get(pid) ?? 0) + 1);
      if (checkPrivilege) {
        checkPrivilege = false;
        const level = this.m.privilege();
        if (level !== this.m.userPrivilege) {
          this.bug('C2', `user code at 0x${this.m.reg(this.desc.registers.pc).toString(16)} runs at privilege level ${level}, not the user level ${this.m.userPrivilege}`);
        }
      }
    });
    // the last point before user registers are restored: C2 / C5 checks
    const at = this.sym(this.archSymbol('restoreUserRegs'));
    this.m.hookCode(at, at, () => {
      const regs = this.currentPtRegs();
      const sp = this.m.reg(this.desc.registers.sp);
      this.exits.push({ pid: this.cur.pid, irqsOn: this.m.irqsEnabled(), spDelta: sp - regs.base, pc: regs.pc });
      checkPrivilege = true;
    });
  }

  // ---------------------------------------------------------------- tasks
  allocTask(comm: string, kthread: boolean): Task {
    const pid = this.tasks.length;
    if (pid >= MAX_TASKS) this.bug('fork', `out of task slots (${MAX_TASKS})`);
    const addr = taskStructsBase(this.desc) + BigInt(pid) * TASK_STRUCT_SIZE;
    const stackBase = this.desc.memory.stacks + BigInt(pid) * THREAD_SIZE;
    const t: Task = {
      pid,
      comm,
      addr,
      stackBase,
      stackTop: stackBase + THREAD_SIZE,
      kthread,
      idle: false,
      state: 'running',
      mm: null,
      parent: this.tasks.length ? this.cur : null,
      exitCode: 0,
      killedBy: 0,
      sigactions: Array.from({ length: E.NSIG + 1 }, () => ({ handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n })),
      pending: 0n,
      blocked: 0n,
      arch: {},
    };
    this.m.write(addr, new Uint8Array(Number(TASK_STRUCT_SIZE)));
    this.m.write(stackBase, new Uint8Array(Number(THREAD_SIZE)));
    this.writeWord(addr + TASK_STACK, stackBase);
    this.tasks.push(t);
    return t;
  }

  task(pid: number): Task | undefined {
    return this.tasks[pid];
  }

  // ---------------------------------------------------------------- scheduler
  private pickNext(prev: Task): Task {
    const n = this.tasks.length;
    for (let i = 1; i <= n; i++) {
      const t = this.tasks[(prev.pid + i) % n]!;
      if (!t.idle && t.state === 'running') return t;
    }
    return this.idleTask;
  }

  anyRunnable(): boolean {
    return this.tasks.some((t) => !t.idle && t.state === 'running');
  }

  /** schedule(): pick the next task and switch to it with the arch's switch_to. */
  *schedule(): Gen {
    const prev = this.cur;
    if (this.hasTif('NEED_RESCHED')) this.clearTif(prev, 'NEED_RESCHED');
    const next = this.pickNext(prev);
    if (next === prev) return;
    this.trace.push(`switch ${prev.pid}->${next.pid}`);
    this.switchMm(next);
    this.port.c.switchToC(this, prev, next);
    this.setPerCpuCurrent(next);
    this.cur = next;
    const last = yield* guestCall(this.sym(this.archSymbol('switchTo')), [prev.addr, next.addr]);
    // we are prev again; `last` is the task we came from
    this.finishTaskSwitch(last);
  }

  /** Entry glue must hand C the task's own pt_regs (C4). */
  private expectCurrentRegs(fn: string, regs: bigint): void {
    const cur = this.currentPtRegs().base;
    if (regs !== cur) this.bug('C4', `${fn} got regs 0x${regs.toString(16)}, current_pt_regs() is 0x${cur.toString(16)}`);
  }

  /** The per-cpu words entry.S reads: current_task and the top of its kernel stack. */
  private setPerCpuCurrent(t: Task): void {
    const pcpu = perCpu(this.desc);
    this.writeWord(pcpu.current, t.addr);
    this.writeWord(pcpu.topOfStack, t.stackTop);
  }

  private finishTaskSwitch(lastAddr: bigint): void {
    const last = this.tasks.find((t) => t.addr === lastAddr);
    if (!last) this.bug('C1', `switch_to returned prev=0x${lastAddr.toString(16)}, which is no task_struct`);
    if (last.state === 'zombie' && last.kthread) last.state = 'dead';
    // an exited task left its last frame in the switch_to it never returns from
    if (last.state === 'zombie' || last.state === 'dead') this.bridge.dropFrames(last.addr);
  }

  /** schedule_tail(prev): the first C a newborn runs, from ret_from_fork. */
  *scheduleTail(prev: bigint): Gen<bigint> {
    this.trace.push(`${this.cur.pid}:schedule_tail`);
    this.finishTaskSwitch(prev);
    this.cur.scheduleTailDone = true;
    return 0n;
  }

  private switchMm(next: Task): void {
    const mm = next.mm;
    if (!mm || mm === this.loadedMm) return;
    const mem = this.desc.memory;
    if (this.loadedMm) this.loadedMm.image = this.m.read(mem.user, Number(mem.userSize));
    this.m.write(mem.user, mm.image);
    this.loadedMm = mm;
  }

  /** The current contents of an mm (live memory when it is loaded). */
  mmImage(mm: Mm): Uint8Array {
    const mem = this.desc.memory;
    return mm === this.loadedMm ? this.m.read(mem.user, Number(mem.userSize)) : mm.image;
  }

  private newMm(): Mm {
    return { id: this.nextMmId++, image: new Uint8Array(Number(this.desc.memory.userSize)), users: 1 };
  }

  /** Idle loop of the boot CPU: run tasks, let the world move when all sleep, stop when nothing is left. */
  *cpuStartupEntry(): Gen<bigint> {
    // the guest budget cannot see a loop that stays in TypeScript: bound it here
    let idlePasses = 0;
    let lastCount = -1;
    for (;;) {
      const n = this.m.instructionCount();
      idlePasses = n === lastCount ? idlePasses + 1 : 0;
      lastCount = n;
      if (idlePasses > 10_000) this.bug('sched', 'the idle loop went round 10000 times without any guest instruction running');
      if (this.anyRunnable()) {
        yield* this.schedule();
        continue;
      }
      const ev = this.world.events.shift();
      if (ev) {
        ev(this);
        continue;
      }
      this.halt();
      return 0n;
    }
  }

  wakeUp(t: Task): void {
    if (t.state === 'interruptible') t.state = 'running';
  }

  /** wait_event_interruptible(): 0 when cond holds, -ERESTARTSYS when a signal came first. */
  *waitEventInterruptible(cond: () => boolean): Gen<bigint> {
    for (;;) {
      if (cond()) return 0n;
      if (this.signalPending(this.cur)) return -E.ERESTARTSYS;
      this.cur.state = 'interruptible';
      yield* this.schedule();
      if (this.cur.state === 'interruptible') this.cur.state = 'running';
    }
  }

  // ---------------------------------------------------------------- fork / kernel_thread / exec
  /** kernel_clone(): the one fork path for fork, vfork, clone and kernel_thread. */
  *kernelClone(flags: bigint, usp: bigint, arg: bigint, regs: PtRegs | null, tls: bigint, comm?: string): Gen<bigint> {
    const parent = this.cur;
    this.world.at?.(this, 'fork', parent);
    const p = this.allocTask(comm ?? parent.comm, regs === null);
    p.parent = parent;
    p.sigactions = parent.sigactions.map((a) => ({ ...a }));
    p.blocked = parent.blocked;
    if (regs !== null && parent.mm) {
      if (flags & E.CLONE_VM) {
        p.mm = parent.mm;
        parent.mm.users++;
      } else {
        const mm = this.newMm();
        mm.image = this.mmImage(parent.mm).slice();
        p.mm = mm;
      }
    }
    this.port.c.copyThread(this, p, flags, usp, arg, regs, tls);
    // copy_process(): a signal that arrived meanwhile makes the whole fork restart
    if (regs !== null && this.signalPending(parent)) {
      p.state = 'dead';
      if (p.mm) p.mm.users--;
      this.trace.push(`${parent.pid}:fork-restart`);
      return -E.ERESTARTNOINTR;
    }
    this.trace.push(`${parent.pid}:fork ${p.pid}`);
    p.state = 'running';
    if (flags & E.CLONE_VFORK) {
      p.vforkParent = parent;
      parent.vforkWait = true;
      while (parent.vforkWait) {
        parent.state = 'interruptible';
        yield* this.schedule();
      }
      parent.state = 'running';
    }
    return BigInt(p.pid);
  }

  /** kernel_thread(fn, arg): fn/arg travel untouched in copy_thread's usp/arg slots, regs NULL. */
  *kernelThread(fnName: string, arg: bigint): Gen<bigint> {
    const fn = this.bridge.addr(`kfn_${fnName}`);
    return yield* this.kernelClone(E.CLONE_VM, fn, arg, null, 0n, fnName);
  }

  /** fork_idle(): copy_thread with zero-filled regs; never woken in ret_from_fork. */
  forkIdle(): Task {
    const p = this.allocTask('swapper/1', true);
    p.idle = true;
    p.state = 'interruptible';
    const scratch = this.taskPtRegs(p);
    scratch.zero();
    this.port.c.copyThread(this, p, 0n, 0n, 0n, scratch, 0n);
    return p;
  }

  /** Registers a kernel function a kthread may run. */
  registerKfn(name: string, fn: (k: Kernel, arg: bigint) => CGen): void {
    this.bridge.register(`kfn_${name}`, (arg: bigint) => fn(this, arg));
  }

  private vforkRelease(t: Task): void {
    const parent = t.vforkParent as Task | undefined;
    if (parent) {
      parent.vforkWait = false;
      this.wakeUp(parent);
      t.vforkParent = undefined;
    }
  }

  /** exec: a fresh mm with the image, regs set by start_thread. 0 or -errno. */
  execImage(path: string): bigint {
    const img = this.programs[path];
    if (!img) return -E.ENOENT;
    const t = this.cur;
    const mem = this.desc.memory;
    const mm = this.newMm();
    mm.image.set(img.bytes, Number(img.base - mem.user));
    mm.image.set(this.vdso, Number(USER_VDSO));
    const dv = new DataView(mm.image.buffer);
    for (const [addr, words] of img.dataInit) {
      words.forEach((w, i) => dv.setBigUint64(Number(addr - mem.user) + i * 8, BigInt.asUintN(64, w), this.desc.endian === 'little'));
    }
    if (t.mm) t.mm.users--;
    t.mm = mm;
    if (this.loadedMm) this.loadedMm.image = this.m.read(mem.user, Number(mem.userSize));
    this.m.write(mem.user, mm.image);
    this.loadedMm = mm;
    t.kthread = false;
    t.comm = path;
    for (const a of t.sigactions) if (a.handler !== SIG_IGN) Object.assign(a, { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n });
    const regs = this.currentPtRegs();
    regs.zero();
    const sp = mem.user + USER_STACK_TOP;
    this.port.c.startThread(this, regs, img.entry, sp);
    this.vforkRelease(t);
    this.trace.push(`${t.pid}:exec ${path}`);
    return 0n;
  }

  /** kernel_execve(): fills current_pt_regs() and returns 0 normally (C2). */
  kernelExecve(path: string): bigint {
    return this.execImage(path);
  }

  *doExit(code: number, killedBy = 0): Gen<never> {
    const t = this.cur;
    if (t.idle) this.bug('C1', 'the idle task tried to exit');
    t.exitCode = code;
    t.killedBy = killedBy;
    this.snapshotResults(t);
    this.trace.push(`${t.pid}:exit ${killedBy ? `sig${killedBy}` : code}`);
    this.vforkRelease(t);
    if (t.mm) t.mm.users--;
    t.state = 'zombie';
    const parent = t.parent;
    if (parent && !parent.idle) {
      this.sendSignal(parent, E.SIGCHLD);
      this.wakeUp(parent);
    }
    this.bridge.dropFrames(t.addr);
    yield* this.schedule();
    this.bug('C1', `task ${t.pid} ran again after do_exit`);
  }

  snapshotResults(t: Task): void {
    if (!t.mm) return;
    const img = this.mmImage(t.mm);
    const slots = new Map<bigint, bigint>();
    const base = Number(USER_RESULTS);
    const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
    for (let off = 0; off < 0x1000; off += 8) {
      const v = this.desc.endian === 'little' ? dv.getBigUint64(base + off, true) : dv.getBigUint64(base + off, false);
      slots.set(BigInt(off / 8), v);
    }
    this.results.set(t.pid, slots);
  }

  // ---------------------------------------------------------------- signals
  signalPending(t: Task): boolean {
    return (t.pending & ~t.blocked) !== 0n;
  }

  recalcSigpending(t: Task): void {
    if (!this.hasTif('SIGPENDING')) return;
    if (this.signalPending(t)) this.setTif(t, 'SIGPENDING');
    else this.clearTif(t, 'SIGPENDING');
  }

  private sigIgnored(t: Task, sig: number): boolean {
    if (t.blocked & E.sigmask(sig)) return false;
    if (t.ptraced) return false;
    const h = t.sigactions[sig]!.handler;
    return h === SIG_IGN || (h === SIG_DFL && E.KERNEL_IGNORE.includes(sig));
  }

  forceSig(sig: number): void {
    const t = this.cur;
    const ka = t.sigactions[sig]!;
    // force_sig_info(): a fault cannot be blocked or ignored; an ignored one kills
    if (ka.handler === SIG_IGN || t.blocked & E.sigmask(sig)) {
      if (ka.handler === SIG_IGN) ka.handler = SIG_DFL;
      t.blocked &= ~E.sigmask(sig);
    }
    this.trace.push(`${t.pid}:fault sig${sig}`);
    t.pending |= E.sigmask(sig);
    this.recalcSigpending(t);
  }

  /** send_signal() + signal_wake_up(). */
  sendSignal(t: Task, sig: number): void {
    if (t.state === 'zombie' || t.state === 'dead') return;
    this.trace.push(`signal ${sig} -> ${t.pid}`);
    if (sig === E.SIGCONT) {
      t.pending &= ~E.KERNEL_STOP.reduce((a, s) => a | E.sigmask(s), 0n);
      if (t.state === 'stopped') t.state = 'running';
    }
    if (E.KERNEL_STOP.includes(sig)) t.pending &= ~E.sigmask(E.SIGCONT);
    if (sig === E.SIGKILL && t.state === 'stopped') t.state = 'running';
    if (this.sigIgnored(t, sig)) return;
    t.pending |= E.sigmask(sig);
    if (this.signalPending(t)) {
      this.setTif(t, 'SIGPENDING');
      this.wakeUp(t);
    }
  }

  /** get_signal(): the next signal with a handler, after handling default actions. */
  *getSignal(): Gen<{ sig: number; ka: SigAction } | null> {
    const t = this.cur;
    for (;;) {
      const ready = t.pending & ~t.blocked;
      if (ready === 0n) {
        this.recalcSigpending(t);
        return null;
      }
      let sig = 1;
      while (!(ready & E.sigmask(sig))) sig++;
      t.pending &= ~E.sigmask(sig);
      this.recalcSigpending(t);
      const ka = t.sigactions[sig]!;
      if (ka.handler === SIG_IGN) continue;
      if (ka.handler !== SIG_DFL) return { sig, ka: { ...ka } };
      if (E.KERNEL_IGNORE.includes(sig)) continue;
      if (E.KERNEL_STOP.includes(sig)) {
        this.trace.push(`${t.pid}:stopped by ${sig}`);
        t.state = 'stopped';
        yield* this.schedule();
        continue;
      }
      yield* this.doExit(0, sig);
    }
  }

  /**
   * do_signal(regs, syscall) in the ARM model: restart decisions made here once, the arch says
   * how its registers express them. Returns non-zero for a handler-less restart the entry glue
   * performs in the kernel (negative: ERESTART_RESTARTBLOCK, use __NR_restart_syscall).
   */
  *doSignal(regs: PtRegs, syscall: boolean): Gen<number> {
    const R = this.port.c.restart;
    let restart = 0;
    let continueAddr = 0n;
    let restartAddr = 0n;
    let retval = 0n;
    if (syscall && R.syscallNr(regs) !== -1n) {
      continueAddr = regs.pc;
      restartAddr = R.restartAddress(regs);
      retval = R.returnValue(regs);
      switch (retval) {
        case -E.ERESTART_RESTARTBLOCK:
        case -E.ERESTARTNOHAND:
        case -E.ERESTARTSYS:
        case -E.ERESTARTNOINTR:
          restart = retval === -E.ERESTART_RESTARTBLOCK ? -1 : 1;
          R.restoreOrigArg(regs);
          regs.pc = restartAddr;
          this.restartDecided = true;
          break;
      }
      R.forgetSyscall(regs);
    }
    const ksig = yield* this.getSignal();
    if (ksig) {
      // a debugger that moved pc cancels the restart
      if (restart && regs.pc === restartAddr) {
        if (
          retval === -E.ERESTARTNOHAND ||
          retval === -E.ERESTART_RESTARTBLOCK ||
          (retval === -E.ERESTARTSYS && !(ksig.ka.flags & SA_RESTART))
        ) {
          R.setReturnValue(regs, -E.EINTR);
          regs.pc = continueAddr;
        }
      }
      this.handleSignal(ksig.sig, ksig.ka, regs);
      return 0;
    }
    if (restart && regs.pc === restartAddr) {
      regs.pc = continueAddr;
      this.trace.push(`${this.cur.pid}:restart-in-kernel ${restart}`);
      return restart;
    }
    return 0;
  }

  private handleSignal(sig: number, ka: SigAction, regs: PtRegs): void {
    const t = this.cur;
    this.port.c.setupRtFrame(this, sig, ka, regs, t.blocked);
    this.trace.push(`${t.pid}:handler ${sig}`);
    t.blocked |= ka.mask | (ka.flags & SA_NODEFER ? 0n : E.sigmask(sig));
    t.blocked &= ~(E.sigmask(E.SIGKILL) | E.sigmask(E.SIGSTOP));
    if (ka.flags & SA_RESETHAND) t.sigactions[sig] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
    this.recalcSigpending(t);
  }

  // ---------------------------------------------------------------- exit work (C5, C9)
  /** The bits the exit loop knows how to handle; each handler clears its bit. */
  handledBits(): string[] {
    return ['NEED_RESCHED', 'SIGPENDING', ...Object.keys(this.workHandlers)].filter((b) => this.hasTif(b));
  }

  /** do_work_pending(regs, thread_flags, syscall): entered and left (0) with irqs off. */
  *doWorkPending(regsAddr: bigint, flags: bigint, syscall: bigint): Gen<bigint> {
    const regs = this.ptRegsAt(regsAddr);
    this.expectCurrentRegs('do_work_pending', regsAddr);
    if (this.m.irqsEnabled()) this.bug('C5', 'do_work_pending was entered with interrupts enabled');
    this.trace.push(`${this.cur.pid}:do_work_pending 0x${flags.toString(16)}`);
    let passes = 0;
    this.restartDecided = false;
    do {
      if (++passes > 32) {
        const stuck = Object.entries(this.tif).filter(([, b]) => flags & b & this.workMask).map(([n]) => `TIF_${n}`);
        this.bug('C9', `the exit work loop went round ${passes - 1} times: ${stuck.join(', ')} stay set in _TIF_WORK_MASK and nothing clears them`);
      }
      if (this.hasTif('NEED_RESCHED') && flags & this.tifBit('NEED_RESCHED')) {
        yield* this.schedule();
      } else {
        this.m.setIrqsEnabled(true);
        if (this.hasTif('SIGPENDING') && flags & this.tifBit('SIGPENDING')) {
          const nr = this.port.c.restart.syscallNr(regs);
          if (this.restartDecided && syscall && nr !== -1n) {
            this.bug('C6', `a second signal on the same return path finds the frame still marked as in syscall ${nr} after a restart was decided: it could be restarted twice (forget_syscall() must consume it)`);
          }
          const restart = yield* this.doSignal(regs, syscall !== 0n);
          if (restart) return BigInt(restart);
        } else {
          for (const [bit, handle] of Object.entries(this.workHandlers)) {
            if (this.hasTif(bit) && flags & this.tifBit(bit)) {
              this.clearTif(this.cur, bit);
              handle(regs);
              break;
            }
          }
        }
      }
      this.m.setIrqsEnabled(false);
      flags = this.tiFlags(this.cur);
    } while (flags & this.workMask);
    return 0n;
  }

  // ---------------------------------------------------------------- ptrace (C8)
  traceeView(t: Task): TraceeView {
    const regs = this.taskPtRegs(t);
    const R = this.port.c.restart;
    return {
      regs,
      get: (r) => regs.get(r),
      set: (r, v) => regs.set(r, v),
      nr: () => R.syscallNr(regs),
      setNr: (nr) => R.setSyscallNr(regs, nr),
    };
  }

  *syscallTraceEnter(regsAddr: bigint): Gen<bigint> {
    const t = this.cur;
    const regs = this.ptRegsAt(regsAddr);
    const tracer = t.tracer as Tracer | undefined;
    if (tracer && this.testTif(t, 'SYSCALL_TRACE')) {
      this.trace.push(`${t.pid}:ptrace-stop entry`);
      const act = tracer.onSyscallEntry?.(t, this.traceeView(t));
      if (act?.kill) {
        this.sendSignal(t, E.SIGKILL);
        return -1n;
      }
    }
    return this.port.c.restart.syscallNr(regs);
  }

  *syscallTraceExit(regsAddr: bigint): Gen<bigint> {
    const t = this.cur;
    void regsAddr;
    const tracer = t.tracer as Tracer | undefined;
    if (tracer && this.testTif(t, 'SYSCALL_TRACE')) {
      this.trace.push(`${t.pid}:ptrace-stop exit`);
      tracer.onSyscallExit?.(t, this.traceeView(t));
    }
    return 0n;
  }

  // ---------------------------------------------------------------- C functions
  private registerCFunctions(): void {
    const b = this.bridge;
    b.register('cpu_startup_entry', () => this.cpuStartupEntry());
    b.register('schedule_tail', (prev) => this.scheduleTail(prev!));
    b.register('do_work_pending', (regs, flags, sc) => this.doWorkPending(regs!, flags!, sc!));
    b.register('syscall_trace_enter', (regs) => this.syscallTraceEnter(regs!));
    b.register('syscall_trace_exit', (regs) => this.syscallTraceExit(regs!));
    b.register('sys_ni_syscall', () => -E.ENOSYS);
    // do_user_fault(regs, sig): the C half of a user-mode exception (#GP, #UD, EL0 undef)
    b.register('do_user_fault', (regs, sig) => {
      this.expectCurrentRegs('do_user_fault', regs!);
      this.forceSig(Number(sig));
      return 0n;
    });
    for (const [name, impl] of Object.entries(syscallTable(this))) {
      const nr = this.desc.syscall.numbers[name];
      if (nr === undefined) continue;
      b.register(`sys_${name}`, (...args: bigint[]) => this.enterSyscall(name, nr, args, impl));
    }
    for (const [name, fn] of Object.entries(this.kfns)) this.registerKfn(name, fn);
  }

  private *enterSyscall(name: string, nr: number, args: bigint[], impl: CFunction): Gen<bigint> {
    const pid = this.cur.pid;
    const userInsns = this.userInsnsByPid.get(pid) ?? 0;
    this.userInsnsByPid.set(pid, 0);
    this.syscalls.push({ pid, name, nr, args: args.slice(0, 6), userInsns });
    this.trace.push(`${pid}:sys_${name}`);
    if (this.m.irqsEnabled() === false) this.bug('C5', `sys_${name} entered with interrupts disabled`);
    this.onSyscall?.(name, this.cur, args);
    const out = impl(...args);
    if (out !== null && typeof out === 'object' && typeof (out as CGen).next === 'function') {
      const r = yield* out as CGen;
      return BigInt(r ?? 0);
    }
    return BigInt((out as bigint | number | undefined) ?? 0);
  }

  readCString(addr: bigint, max = 256): string {
    const bytes = this.m.read(addr, max);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(bytes.subarray(0, end < 0 ? max : end));
  }

  readSigAction(addr: bigint): SigAction {
    const w = BigInt(this.wordSize);
    return { handler: this.readWord(addr), flags: this.readWord(addr + w), restorer: this.readWord(addr + 2n * w), mask: this.readWord(addr + 3n * w) };
  }

  writeSigAction(addr: bigint, a: SigAction): void {
    const w = BigInt(this.wordSize);
    this.writeWord(addr, a.handler);
    this.writeWord(addr + w, a.flags);
    this.writeWord(addr + 2n * w, a.restorer);
    this.writeWord(addr + 3n * w, a.mask);
  }

  /** Start the machine in the idle task; returns when nothing is left to run. */
  run(budget: number): { instructions: number } {
    const sp = this.idleTask.stackTop - 64n;
    const cc = this.desc.callingConvention;
    this.m.setReg(this.desc.registers.sp, sp);
    if (cc.returnAddress === 'stack') this.writeWord(sp, 0n);
    else this.m.setReg(cc.returnAddress, 0n);
    const r = this.m.run(this.bridge.addr('cpu_startup_entry'), { instructions: budget });
    for (const t of this.tasks) if (!this.results.has(t.pid) && t.mm) this.snapshotResults(t);
    return { instructions: r.instructions };
  }
}

import { syscallTable } from './syscalls.ts';
