// Unicorn 2 backend of the Machine interface, bound with koffi to libunicorn.so.2.
//
// Instruction budget: one JS UC_HOOK_CODE over the whole address space counts every
// instruction (exact, readable from hooks) and stops the run at the budget. Unicorn's
// own `count` argument is not used: it is cheaper but its counter is not readable,
// and switching it on/off between runs flushes the translation cache.
// uc_emu_start's timeout is the wall-clock backstop.
import koffi from 'koffi';
import {
  BudgetExceededError,
  GuestFaultError,
  PROT_ALL,
  RunTimeoutError,
  type HookHandle,
  type Machine,
  type MachineSpec,
  type Perm,
  type RunLimits,
  type RunResult,
  type SysRegId,
} from './machine.ts';
import { loadUnicorn, unicornVersionOf, type UnicornLib } from './unicorn-ffi.ts';
import {
  LINUX_GDT,
  X86_KERNEL_CS,
  X86_KERNEL_SS,
  X86_USER_CS,
  X86_USER_SS,
  arm64LiveSpBank,
  arm64SetMode,
  calibrateArm64,
  calibrateX86,
  x86ClearOldException,
  x86Cpl,
  x86SetCpl,
  type Arm64Offsets,
  type X86Offsets,
} from './unicorn-privilege.ts';
import { Uc } from './unicorn-raw.ts';
import {
  UC_ARCH,
  UC_ARM64_REG_PSTATE,
  UC_ARM64_REG_SP,
  UC_ARM64_REG_SP_EL0,
  UC_HOOK_CODE,
  UC_HOOK_INSN,
  UC_HOOK_INTR,
  UC_HOOK_MEM_INVALID,
  UC_MEM_TYPE_TEXT,
  UC_MODE,
  UC_MODE_BIG_ENDIAN,
  UC_QUERY_TIMEOUT,
  UC_CTL_TB_FLUSH_WRITE,
  UC_CTL_TB_REMOVE_CACHE_WRITE,
  UC_X86_INS_SYSCALL,
  UC_X86_REG_GDTR,
  UC_X86_REG_IDTR,
  UC_X86_REG_RFLAGS,
  archInfo,
  ucErrText,
  type ArchInfo,
  type RegDef,
} from './unicorn-tables.ts';

const PAGE = 0x1000n;
const NO_UNTIL = 0xffff_ffff_ffff_ffffn;
const DEFAULT_TIMEOUT_MS = 10_000;

const big = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));
const hex = (v: bigint): string => `0x${v.toString(16)}`;

function modeWord(spec: MachineSpec): number {
  let w = 0;
  for (const part of spec.mode.split('+')) {
    const m = UC_MODE[part];
    if (m === undefined) throw new Error(`unknown Unicorn mode "${part}" in machine spec ${JSON.stringify(spec)}`);
    w |= m;
  }
  if (spec.endian === 'big') w |= UC_MODE_BIG_ENDIAN;
  return w;
}

interface NativeHook {
  hh: bigint | number;
  cb: unknown; // koffi registered callback, kept referenced until removed
}

class UnicornMachine implements Machine {
  readonly backendName: string;
  private readonly lib: UnicornLib;
  private readonly uc: Uc;
  private readonly info: ArchInfo;
  private readonly pcId: number;
  private readonly x86Off?: X86Offsets;
  private readonly arm64Off?: Arm64Offsets;

  // run state, read by the counter hook
  private count = 0;
  private budget = 0;
  private budgetHit = false;
  private stopRequested = false;
  private pendingError: unknown = null;
  private running = false;
  private lastInsnSize = 0;
  private inCodeHook = 0;
  private hasRun = false;
  /** Inside the syscall hook: rip as listeners see it = Unicorn's rip + this. */
  private syscallRipBias = 0n;
  private badAccess: { type: number; address: bigint; size: number } | null = null;

  private readonly nativeHooks = new Set<NativeHook>();
  private deferredUnregister: unknown[] = [];
  private intrListeners: Array<(intno: number) => void> = [];
  private syscallListeners: Array<() => void> = [];
  private intrHook: NativeHook | null = null;
  private syscallHook: NativeHook | null = null;

  constructor(readonly spec: MachineSpec) {
    this.lib = loadUnicorn();
    const arch = UC_ARCH[spec.arch];
    if (arch === undefined) throw new Error(`unknown Unicorn architecture "${spec.arch}"`);
    const mode = modeWord(spec);
    const info = archInfo(spec.arch, mode);
    if (!info) {
      throw new Error(
        `the Unicorn backend has no register table for arch "${spec.arch}" mode "${spec.mode}" yet (see unicorn-tables.ts)`,
      );
    }
    this.info = info;
    // Calibrate before opening our own engine: failure must refuse to run.
    if (info.family === 'x86_64') this.x86Off = calibrateX86(this.lib);
    if (info.family === 'arm64') this.arm64Off = calibrateArm64(this.lib);
    this.uc = new Uc(this.lib, arch, mode);
    this.backendName = `unicorn ${unicornVersionOf(this.lib)}`;
    this.pcId = (info.regs.get(info.pc) as { id: number }).id;
    if (spec.cpuModel) throw new Error('cpuModel is not supported by the Unicorn backend yet');
    this.installCounter();
    this.installMemFaultHook();
  }

  // ------------------------------------------------------------ memory

  map(base: bigint, size: number, perms: Perm = PROT_ALL): void {
    const start = base & ~(PAGE - 1n);
    const end = (base + big(size) + PAGE - 1n) & ~(PAGE - 1n);
    this.uc.memMap(start, Number(end - start), perms);
  }

  read(addr: bigint, len: number): Uint8Array {
    return this.uc.memRead(addr, len);
  }

  write(addr: bigint, data: Uint8Array): void {
    this.uc.memWrite(addr, data);
  }

  readUint(addr: bigint, size: number): bigint {
    const b = this.uc.memRead(addr, size);
    let v = 0n;
    if (this.spec.endian === 'little') for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    else for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  writeUint(addr: bigint, size: number, value: bigint): void {
    if (![1, 2, 4, 8].includes(size)) throw new RangeError(`writeUint size must be 1, 2, 4 or 8, got ${size}`);
    const b = new Uint8Array(size);
    let v = BigInt.asUintN(size * 8, value);
    for (let i = 0; i < size; i++) {
      b[this.spec.endian === 'little' ? i : size - 1 - i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.uc.memWrite(addr, b);
  }

  // ------------------------------------------------------------ registers

  private def(name: string): RegDef {
    const d = this.info.regs.get(name);
    if (!d) throw new Error(`unknown register "${name}" for ${this.spec.arch}/${this.spec.mode}`);
    return d;
  }

  hasReg(name: string): boolean {
    return this.info.regs.has(name);
  }

  reg(name: string): bigint {
    const d = this.def(name);
    if (d.kind === 'cp') return this.uc.cpRead(d.cp);
    if (d.kind === 'msr') return this.uc.msrRead(d.index);
    if (d.id === this.pcId && this.syscallRipBias) return this.uc.regRead(d.id) + this.syscallRipBias;
    const bank = this.spBankOf(d.id);
    if (bank !== undefined && bank === arm64LiveSpBank(this.uc.regRead(UC_ARM64_REG_PSTATE))) {
      return this.uc.regRead(UC_ARM64_REG_SP); // the live copy is the current SP
    }
    return this.uc.regRead(d.id);
  }

  setReg(name: string, value: bigint): void {
    const d = this.def(name);
    if (d.kind === 'cp') return this.uc.cpWrite(d.cp, value);
    if (d.kind === 'msr') return this.uc.msrWrite(d.index, value);
    if (d.id === this.pcId && this.syscallRipBias) return this.uc.regWrite(d.id, value - this.syscallRipBias);
    const bank = this.spBankOf(d.id);
    if (bank !== undefined) {
      if (bank === arm64LiveSpBank(this.uc.regRead(UC_ARM64_REG_PSTATE))) this.uc.regWrite(UC_ARM64_REG_SP, value);
      this.uc.regWrite(d.id, value);
      return;
    }
    if (d.id === UC_ARM64_REG_PSTATE && this.arm64Off) {
      // A change of PSTATE.M (EL/SPSel) must bank SP and refresh hflags too.
      if ((this.uc.regRead(UC_ARM64_REG_PSTATE) & 0xfn) !== (value & 0xfn)) {
        arm64SetMode(this.uc, this.arm64Off, Number(value & 0xfn));
        this.kickTranslation();
      }
    }
    this.uc.regWrite(d.id, value);
  }

  private spBankOf(id: number): number | undefined {
    if (this.info.family !== 'arm64') return undefined;
    const n = id - UC_ARM64_REG_SP_EL0;
    return n >= 0 && n <= 1 ? n : undefined;
  }

  sysReg(id: SysRegId): bigint {
    this.need('arm64', 'sysReg');
    return this.uc.cpRead(id);
  }

  setSysReg(id: SysRegId, value: bigint): void {
    this.need('arm64', 'setSysReg');
    this.uc.cpWrite(id, value);
  }

  msr(index: number): bigint {
    this.need('x86_64', 'msr');
    return this.uc.msrRead(index);
  }

  setMsr(index: number, value: bigint): void {
    this.need('x86_64', 'setMsr');
    this.uc.msrWrite(index, value);
  }

  setTableReg(name: 'gdtr' | 'idtr', base: bigint, limit: number): void {
    this.need('x86_64', 'setTableReg');
    this.uc.mmrWrite(name === 'gdtr' ? UC_X86_REG_GDTR : UC_X86_REG_IDTR, base, limit);
  }

  private need(family: ArchInfo['family'], what: string): void {
    if (this.info.family !== family) throw new Error(`${what}() is not available on ${this.spec.arch}`);
  }

  // ------------------------------------------------------------ privilege

  setPrivilege(level: number): void {
    if (this.x86Off) {
      if (level !== 0 && level !== 3) throw new RangeError(`x86-64 privilege must be CPL 0 or 3, got ${level}`);
      const [cs, ss] = level === 0 ? [X86_KERNEL_CS, X86_KERNEL_SS] : [X86_USER_CS, X86_USER_SS];
      x86SetCpl(this.uc, this.x86Off, level, cs, ss, (sel) => this.descriptor(sel));
    } else if (this.arm64Off) {
      if (level !== 0 && level !== 1) throw new RangeError(`AArch64 privilege must be 0 (EL0) or 1 (EL1), got ${level}`);
      arm64SetMode(this.uc, this.arm64Off, level === 1 ? 0b0101 : 0b0000);
    } else {
      throw new Error(`setPrivilege is not implemented for ${this.spec.arch}`);
    }
    this.kickTranslation();
  }

  /**
   * In a code hook the rest of the current translation block was built for the old
   * level; rewriting the pc makes Unicorn leave it. Interrupt and syscall hooks run
   * between blocks, so nothing is needed there.
   */
  private kickTranslation(): void {
    if (this.running && this.inCodeHook > 0) this.uc.regWrite(this.pcId, this.uc.regRead(this.pcId));
  }

  /** A full flush costs ~15 ms (2.7 s the first time), so drop only the hooked range when small. */
  private dropTranslations(begin: bigint, end: bigint): void {
    if (begin <= end && end - begin < 0x100000n) {
      const err = this.lib.uc_ctl(this.uc.handle, UC_CTL_TB_REMOVE_CACHE_WRITE, 'uint64_t', begin, 'uint64_t', end + 1n) as number;
      this.check('uc_ctl(TB_REMOVE_CACHE)', err);
    } else {
      this.check('uc_ctl(TB_FLUSH)', this.lib.uc_ctl(this.uc.handle, UC_CTL_TB_FLUSH_WRITE));
    }
  }

  private check(op: string, err: number): void {
    if (err) throw new Error(`${op} failed: ${ucErrText(err)}`);
  }

  /** Descriptor for a selector: from the guest GDT when it is there, else Linux's flat one. */
  private descriptor(sel: number): bigint {
    const gdtr = this.uc.mmrRead(UC_X86_REG_GDTR);
    const off = BigInt(sel & ~7);
    if (gdtr.limit >= Number(off) + 7) {
      try {
        const d = this.readUintLE(gdtr.base + off, 8);
        if (d & (1n << 47n)) return d; // present
      } catch {
        // unmapped GDT: fall through
      }
    }
    const d = LINUX_GDT[sel & ~3] ?? LINUX_GDT[sel];
    if (d === undefined) throw new Error(`selector 0x${sel.toString(16)} is neither in the guest GDT nor a Linux selector`);
    return d;
  }

  private readUintLE(addr: bigint, size: number): bigint {
    const b = this.uc.memRead(addr, size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  get userPrivilege(): number {
    if (this.spec.arch === 'x86') return 3;
    if (this.spec.arch === 'arm64' || this.spec.arch === 'arm') return 0;
    throw new Error(`userPrivilege is not known for ${this.spec.arch}`);
  }

  privilege(): number {
    if (this.x86Off) return x86Cpl(this.uc, this.x86Off);
    if (this.arm64Off) return Number((this.uc.regRead(UC_ARM64_REG_PSTATE) >> 2n) & 3n);
    throw new Error(`privilege() is not implemented for ${this.spec.arch}`);
  }

  irqsEnabled(): boolean {
    if (this.info.family === 'x86_64') return (this.uc.regRead(UC_X86_REG_RFLAGS) & 0x200n) !== 0n;
    return (this.uc.regRead(UC_ARM64_REG_PSTATE) & 0x80n) === 0n; // PSTATE.I
  }

  setIrqsEnabled(on: boolean): void {
    if (this.info.family === 'x86_64') {
      const f = this.uc.regRead(UC_X86_REG_RFLAGS);
      this.uc.regWrite(UC_X86_REG_RFLAGS, on ? f | 0x200n : f & ~0x200n);
    } else {
      const p = this.uc.regRead(UC_ARM64_REG_PSTATE);
      this.uc.regWrite(UC_ARM64_REG_PSTATE, on ? p & ~0x80n : p | 0x80n);
    }
  }

  // ------------------------------------------------------------ hooks

  private addNative(type: number, proto: unknown, fn: (...a: any[]) => unknown, begin: bigint, end: bigint, ...extra: unknown[]): NativeHook {
    const cb = koffi.register(fn, koffi.pointer(proto as never));
    const hh = [0 as bigint | number];
    const err = this.lib.uc_hook_add(this.uc.handle, hh, type, cb, null, begin, end, ...extra) as number;
    if (err) {
      koffi.unregister(cb);
      throw new Error(`uc_hook_add(type ${type}) failed: ${ucErrText(err)}`);
    }
    const h: NativeHook = { hh: hh[0]!, cb };
    this.nativeHooks.add(h);
    return h;
  }

  private removeNative(h: NativeHook): void {
    if (!this.nativeHooks.delete(h)) return;
    this.lib.uc_hook_del(this.uc.handle, h.hh);
    // Unicorn may still hold the pointer until the current run ends.
    if (this.running) this.deferredUnregister.push(h.cb);
    else koffi.unregister(h.cb as bigint);
  }

  /** Runs a user callback; an exception is kept for run() and stops the guest. */
  private guard(fn: () => void): void {
    if (this.pendingError !== null) return;
    try {
      fn();
    } catch (e) {
      this.pendingError = e ?? new Error('hook threw a nullish value');
      this.lib.uc_emu_stop(this.uc.handle);
    }
  }

  private installCounter(): void {
    this.addNative(
      UC_HOOK_CODE,
      this.lib.HookCode,
      (_u: unknown, _addr: unknown, size: number) => {
        // Checked before counting: a stop asked for in a hook that also moved the pc
        // (Unicorn then resumes) takes effect here, before the next instruction.
        if (this.stopRequested || this.pendingError !== null || this.count >= this.budget) {
          if (!this.stopRequested && this.pendingError === null) this.budgetHit = true;
          this.lib.uc_emu_stop(this.uc.handle);
          return;
        }
        this.count++;
        this.lastInsnSize = size;
      },
      1n,
      0n,
    );
  }

  private installMemFaultHook(): void {
    this.addNative(
      UC_HOOK_MEM_INVALID,
      this.lib.HookMemInvalid,
      (_u: unknown, type: number, address: number | bigint, size: number) => {
        this.badAccess = { type, address: big(address), size };
        return false;
      },
      1n,
      0n,
    );
  }

  hookCode(begin: bigint, end: bigint, cb: (addr: bigint, size: number) => void): HookHandle {
    // Registering a native hook from inside a hook breaks koffi's callback stack
    // (RangeError out of uc_emu_start), and a translation flush mid-block crashes.
    if (this.running) throw new Error('hookCode() cannot be called during run(); add code hooks between runs');
    const h = this.addNative(
      UC_HOOK_CODE,
      this.lib.HookCode,
      (_u: unknown, addr: number | bigint, size: number) => {
        if (this.stopRequested) return;
        this.inCodeHook++;
        try {
          this.guard(() => cb(big(addr), size));
        } finally {
          this.inCodeHook--;
        }
      },
      begin,
      end,
    );
    // Unicorn 2.0.1 decides at translation time which instructions call code hooks:
    // blocks translated before this hook existed would never call it.
    if (this.hasRun) this.dropTranslations(begin, end);
    return { remove: () => this.removeNative(h) };
  }

  hookInterrupt(cb: (intno: number) => void): HookHandle {
    if (!this.intrHook && this.running) throw new Error('the first hookInterrupt() must come before run()');
    this.intrListeners = [...this.intrListeners, cb];
    if (!this.intrHook) {
      this.intrHook = this.addNative(
        UC_HOOK_INTR,
        this.lib.HookIntr,
        (_u: unknown, intno: number) => {
          for (const l of this.intrListeners) this.guard(() => l(intno));
          // The hook stands in for delivery; QEMU clears env->old_exception when it
          // delivers, so do it here or the next #GP/#PF is promoted to #DF (8).
          if (this.x86Off) x86ClearOldException(this.uc, this.x86Off);
        },
        1n,
        0n,
      );
    }
    return {
      remove: () => {
        this.intrListeners = this.intrListeners.filter((l) => l !== cb);
        if (this.intrListeners.length === 0 && this.intrHook) {
          this.removeNative(this.intrHook);
          this.intrHook = null;
        }
      },
    };
  }

  hookSyscallInsn(cb: () => void): HookHandle {
    this.need('x86_64', 'hookSyscallInsn');
    if (!this.syscallHook && this.running) throw new Error('the first hookSyscallInsn() must come before run()');
    this.syscallListeners = [...this.syscallListeners, cb];
    if (!this.syscallHook) {
      this.syscallHook = this.addNative(
        UC_HOOK_INSN,
        this.lib.HookInsnSyscall,
        () => {
          // Unicorn calls this with rip at the syscall instruction and adds the
          // instruction length to rip *after* the hook, also to a rip the hook wrote.
          // Listeners get the architectural view instead: reg('rip') is the next
          // instruction (what hardware puts in rcx), and setReg('rip', x) continues
          // at x, because rip reads/writes are biased by the length meanwhile.
          this.syscallRipBias = BigInt(this.lastInsnSize || 2);
          try {
            for (const l of this.syscallListeners) this.guard(l);
          } finally {
            this.syscallRipBias = 0n;
          }
        },
        1n,
        0n,
        'int',
        UC_X86_INS_SYSCALL,
      );
    }
    return {
      remove: () => {
        this.syscallListeners = this.syscallListeners.filter((l) => l !== cb);
        if (this.syscallListeners.length === 0 && this.syscallHook) {
          this.removeNative(this.syscallHook);
          this.syscallHook = null;
        }
      },
    };
  }

  // ------------------------------------------------------------ running

  run(pc: bigint, limits: RunLimits, until?: bigint): RunResult {
    if (this.running) throw new Error('Machine.run() is not reentrant (called from inside a hook?)');
    if (!(limits.instructions > 0)) throw new RangeError(`instruction budget must be positive, got ${limits.instructions}`);
    const timeoutMs = limits.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.count = 0;
    this.budget = limits.instructions;
    this.budgetHit = false;
    this.stopRequested = false;
    this.pendingError = null;
    this.badAccess = null;
    this.running = true;
    this.hasRun = true;
    let err: number;
    try {
      err = this.lib.uc_emu_start(this.uc.handle, pc, until ?? NO_UNTIL, BigInt(Math.ceil(timeoutMs * 1000)), 0) as number;
    } finally {
      this.running = false;
      for (const cb of this.deferredUnregister) koffi.unregister(cb as bigint);
      this.deferredUnregister = [];
    }
    const now = this.uc.regRead(this.pcId);
    if (this.pendingError !== null) throw this.pendingError;
    if (this.budgetHit) throw new BudgetExceededError(this.budget, now);
    if (err) {
      let msg = `${ucErrText(err)} at pc=${hex(now)}`;
      const b = this.badAccess as { type: number; address: bigint; size: number } | null;
      if (b && err >= 6 && err <= 14) msg += `: ${UC_MEM_TYPE_TEXT[b.type] ?? 'bad access'} of ${b.size} bytes at ${hex(b.address)}`;
      throw new GuestFaultError(msg, now);
    }
    if (!this.stopRequested) {
      const out = [0];
      if (this.lib.uc_query(this.uc.handle, UC_QUERY_TIMEOUT, out) === 0 && Number(out[0]) !== 0) {
        throw new RunTimeoutError(this.budget, now, timeoutMs, this.count);
      }
    }
    const reason = !this.stopRequested && until !== undefined && now === until ? 'until' : 'stopped';
    return { instructions: this.count, reason };
  }

  stop(): void {
    this.stopRequested = true;
    this.lib.uc_emu_stop(this.uc.handle);
  }

  instructionCount(): number {
    return this.count;
  }

  close(): void {
    if (this.uc.closed) return;
    this.uc.close();
    for (const h of this.nativeHooks) koffi.unregister(h.cb as bigint);
    this.nativeHooks.clear();
    this.intrHook = this.syscallHook = null;
  }
}

/** A Machine on Unicorn 2; throws EmulatorMissingError when libunicorn.so.2 cannot be loaded. */
export function createUnicornMachine(spec: MachineSpec): Machine {
  return new UnicornMachine(spec);
}

/** Version of the loaded Unicorn library, e.g. "2.0.1". */
export function unicornVersion(): string {
  return unicornVersionOf(loadUnicorn());
}
