// Unicorn 2 backend of the Machine interface, bound with koffi to libunicorn.so.2. It knows
// the Unicorn API, not any CPU: the uc_arch/uc_mode values and the register table come
// from the arch lib's CPU model.
//
// Instruction budget: one UC_HOOK_CODE over the whole address space counts every
// instruction (exact, readable from hooks) and stops the run at the budget. It is the native
// fast path's C counter (fastpath.ts), which calls the JavaScript counter below only where
// something may happen (the budget, an interrupt line, a stop, the deadline); without a C
// compiler the JavaScript counter sees every instruction. Unicorn's own `count` argument is
// not used: its counter is not readable, and switching it on/off between runs flushes the
// translation cache. The counter checks the wall-clock deadline.
import koffi from 'koffi';
import {
  BudgetExceededError,
  GuestFaultError,
  PROT_ALL,
  RunTimeoutError,
  type InterruptLine,
  type MachineState,
  type HookHandle,
  type Machine,
  type Perm,
  type RunLimits,
  type RunResult,
} from '../machine.ts';
import { loadHostMemory, loadUnicorn, unicornVersionOf, type UnicornLib } from './ffi.ts';
import { UcEngine } from './engine.ts';
import { AK, loadFastPath } from './fastpath.ts';
import {
  UC_CTL_TB_FLUSH_WRITE,
  UC_CTL_TB_REMOVE_CACHE_WRITE,
  UC_HOOK_BLOCK,
  UC_HOOK_CODE,
  UC_HOOK_INSN,
  UC_HOOK_INSN_INVALID,
  UC_HOOK_INTR,
  UC_HOOK_MEM_INVALID,
  UC_HOOK_MEM_WRITE,
  UC_MEM_TYPE_TEXT,
  UC_MODE_BIG_ENDIAN,
  UC_ERR_FETCH_UNMAPPED,
  UC_MEM_FETCH_UNMAPPED,
  ucErrText,
} from './api.ts';

const PAGE = 0x1000n;
const NO_UNTIL = 0xffff_ffff_ffff_ffffn;
const DEFAULT_TIMEOUT_MS = 10_000;

const big = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** How one register name is reached: a Unicorn register id, or accessors of the CPU model's own. */
export type RegAccess = number | { read(uc: UcEngine): bigint; write(uc: UcEngine, v: bigint): void };

/** What a CPU model tells the Unicorn backend. */
export interface UnicornCpu {
  /** uc_arch value (unicorn.h) */
  arch: number;
  /** uc_mode word, UC_MODE_BIG_ENDIAN included when the CPU is big-endian */
  mode: number;
  /** register name -> access; the names the port, its arch.json and the core use */
  registers: Readonly<Record<string, RegAccess>>;
  /** name of the program counter in `registers` (a plain register id) */
  pc: string;
  /** uc_cpu_<arch> model (unicorn/<arch>.h); the arch's Unicorn default when absent */
  model?: number;
  /**
   * Puts a bare engine (no port boot) in the state firmware hands over, where it runs
   * instructions at all (powerpc64's POWER10 takes a hypervisor decrementer exception at
   * once out of reset until MSR[HV] is on). Only the bench's bare-engine floor needs it.
   */
  bare?(uc: UcEngine): void;
  /**
   * Unicorn's pc write does not leave the translated block being executed (sparc64: its
   * reg_write sets no quit request, and the block goes on from its own next instruction).
   * A pc write from a code hook (or leaveBlock()) then ends the emulation there and the
   * run starts it again at the new pc: one run, one budget, one instruction count.
   */
  pcWriteStaysInBlock?: boolean;
  /**
   * uc_emu_start never returns when the run reaches its `until` address (sparc64 in 2.0.1:
   * no exit code is generated there): run() stops there with a code hook instead.
   */
  untilNeverReturns?: boolean;
  /**
   * The CPU state, where Unicorn's uc_context does not hold it (sparc64: the context is its
   * 16-byte header only): saveState()/restoreState() use these instead of uc_context.
   */
  state?: { save(uc: UcEngine): Uint8Array; restore(uc: UcEngine, s: Uint8Array): void };
}

interface Region {
  base: bigint;
  end: bigint;
  view: Uint8Array;
  dv: DataView;
  ptr: unknown;
  /** no code runs here: written directly */
  data: boolean;
  /** byte offset of this region's page map in the fast path's state (one byte per 4 KiB page), or -1: untracked */
  map: number;
}

/** the counter hook looks at the clock once per this many instructions (a power of two) */
const DEADLINE_EVERY = 4096;
const PROT_READ_WRITE = 3;
const MAP_PRIVATE_ANONYMOUS = 0x22;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

interface NativeHook {
  hh: bigint | number;
  cb: unknown; // koffi registered callback, kept referenced until removed
}

export class UnicornMachine implements Machine {
  readonly backendName: string;
  readonly endian: 'little' | 'big';
  readonly uc: UcEngine;
  private readonly lib: UnicornLib;
  private readonly pcId: number;
  private readonly regs: Readonly<Record<string, RegAccess>>;
  /** mapping granule: 4 KiB, or the target's page size when larger */
  private readonly page: bigint = PAGE;

  // run state, read by the counter hook. With the native fast path the count, the last two
  // instructions and skipInsn live in its C state (ak_state), read through these accessors.
  private jsCount = 0;
  private jsSkip = false;
  private jsLast: { addr: bigint; size: number } | undefined;
  private jsCurrent: { addr: bigint; size: number } | undefined;
  /** the fast path's state: C struct ak_state and the page maps after it */
  private readonly ak: { ptr: unknown; len: number; u32: Uint32Array; u64: BigUint64Array; u8: Uint8Array; mapEnd: number } | null = null;
  /** the state the page maps are relative to (the last one saved or restored) */
  private synced: MachineState | null = null;
  private budget = 0;
  private stopBeforeCounted = false;
  /** wall-clock deadline of the run (Date.now() ms), checked every DEADLINE_EVERY instructions */
  private deadline = 0;
  private timedOut = false;
  private _line: InterruptLine | undefined;
  private readonly regions: Region[] = [];
  private lastRegion: Region | undefined;
  private budgetHit = false;
  private _stopRequested = false;
  private _pendingError: unknown = null;
  private running = false;
  private inCodeHook = 0;
  private hasRun = false;
  private badAccess: { type: number; address: bigint; size: number } | null = null;

  private readonly nativeHooks = new Set<NativeHook>();
  private deferredUnregister: unknown[] = [];
  private intrListeners: Array<(intno: number) => void> = [];
  private intrHook: NativeHook | null = null;
  private invalidHook: NativeHook | null = null;
  /** where the invalid-instruction hook said the run goes on (it took an exception) */
  private resumeAt: bigint | null = null;
  private fetchFault: ((addr: bigint) => bigint | null) | null = null;

  constructor(readonly cpu: UnicornCpu) {
    this.lib = loadUnicorn();
    this.uc = new UcEngine(this.lib, cpu.arch, cpu.mode, cpu.model);
    this.endian = cpu.mode & UC_MODE_BIG_ENDIAN ? 'big' : 'little';
    this.backendName = `unicorn ${unicornVersionOf(this.lib)}`;
    this.regs = cpu.registers;
    const pc = cpu.registers[cpu.pc];
    if (typeof pc !== 'number') throw new Error(`CPU model: the pc register "${cpu.pc}" must be a plain Unicorn register id`);
    this.pcId = pc;
    // the target's page size (sparc64: 8 KiB): uc_mem_map wants multiples of it
    const ps = this.uc.pageSize();
    if (ps !== undefined && ps > Number(PAGE)) this.page = BigInt(ps);
    this.ak = this.installFastPath();
    this.installCounter();
    this.installMemFaultHook();
  }

  // ------------------------------------------------------------ counter state

  private get count(): number {
    return this.ak ? Number(this.ak.u64[AK.count / 8]!) : this.jsCount;
  }
  private set count(v: number) {
    if (this.ak) this.ak.u64[AK.count / 8] = BigInt(v);
    else this.jsCount = v;
  }
  /** an interrupt was entered at the instruction being hooked: the other code hooks skip it */
  private get skipInsn(): boolean {
    return this.ak ? this.ak.u32[AK.skip / 4] !== 0 : this.jsSkip;
  }
  private set skipInsn(v: boolean) {
    if (this.ak) this.ak.u32[AK.skip / 4] = v ? 1 : 0;
    else this.jsSkip = v;
  }
  private get current(): { addr: bigint; size: number } | undefined {
    if (!this.ak) return this.jsCurrent;
    const size = this.ak.u32[AK.curSize / 4]!;
    return size ? { addr: this.ak.u64[AK.curAddr / 8]!, size } : undefined;
  }
  private set current(v: { addr: bigint; size: number } | undefined) {
    if (!this.ak) this.jsCurrent = v;
    else {
      this.ak.u32[AK.curSize / 4] = v?.size ?? 0;
      this.ak.u64[AK.curAddr / 8] = v?.addr ?? 0n;
    }
  }
  private get last(): { addr: bigint; size: number } | undefined {
    if (!this.ak) return this.jsLast;
    const size = this.ak.u32[AK.lastSize / 4]!;
    return size ? { addr: this.ak.u64[AK.lastAddr / 8]!, size } : undefined;
  }
  private set last(v: { addr: bigint; size: number } | undefined) {
    if (!this.ak) this.jsLast = v;
    else {
      this.ak.u32[AK.lastSize / 4] = v?.size ?? 0;
      this.ak.u64[AK.lastAddr / 8] = v?.addr ?? 0n;
    }
  }
  private get line(): InterruptLine | undefined {
    return this._line;
  }
  private set line(v: InterruptLine | undefined) {
    this._line = v;
    this.syncFastPath();
  }
  private get stopRequested(): boolean {
    return this._stopRequested;
  }
  private set stopRequested(v: boolean) {
    this._stopRequested = v;
    this.syncFastPath();
  }
  private get pendingError(): unknown {
    return this._pendingError;
  }
  private set pendingError(v: unknown) {
    this._pendingError = v;
    this.syncFastPath();
  }

  /** Tells the C counter when it must call the JavaScript one: at the budget, at an armed line, after a stop. */
  private syncFastPath(): void {
    const ak = this.ak;
    if (!ak) return;
    const clamp = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER)) : Number.MAX_SAFE_INTEGER);
    const at = this._line ? clamp(this._line.at) : Number.MAX_SAFE_INTEGER;
    ak.u64[AK.threshold / 8] = BigInt(Math.min(at, clamp(this.budget)));
    ak.u32[AK.force / 4] = this._stopRequested || this._pendingError !== null ? 1 : 0;
  }

  /** The C counter and page-write recorder on this engine, or null (then JavaScript counts). */
  private installFastPath(): UnicornMachine['ak'] {
    const fp = loadFastPath();
    if (!fp) return null;
    const host = loadHostMemory();
    const len = 0x10000;
    const ptr = host.mmap(null, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0);
    if (koffi.address(ptr) === MAP_FAILED) return null;
    const ab = koffi.view(ptr, len);
    const ak = { ptr, len, u32: new Uint32Array(ab), u64: new BigUint64Array(ab), u8: new Uint8Array(ab), mapEnd: AK.maps };
    // the JavaScript counter, called from C
    const slow = this.registerCounter();
    ak.u64[AK.slow / 8] = BigInt(koffi.address(slow) as bigint | number);
    ak.u64[AK.threshold / 8] = 0n; // until a run sets it: every instruction goes to JavaScript
    const err = fp.ak_install(this.lib.path, this.uc.handle, ptr, UC_HOOK_CODE, UC_HOOK_MEM_WRITE);
    if (err !== 0) {
      host.munmap(ptr, len);
      throw new Error(`the native instruction counter could not hook the engine (ak_install: ${err}); run with ARCHKIT_NATIVE=0`);
    }
    this.uc.onMemWrite = (addr, n) => this.markWritten(addr, n);
    return ak;
  }

  /** Records pages written from the host side (the C hook sees only the guest's stores). */
  private markWritten(addr: bigint, len: number): void {
    const ak = this.ak;
    if (!ak || len <= 0) return;
    for (const r of this.regions) {
      if (r.map < 0 || addr + big(len) <= r.base || addr >= r.end) continue;
      const from = Number(((addr > r.base ? addr : r.base) - r.base) >> 12n);
      const lastByte = addr + big(len) - 1n;
      const to = Number(((lastByte < r.end ? lastByte : r.end - 1n) - r.base) >> 12n);
      ak.u8.fill(1, r.map + from, r.map + to + 1);
    }
  }

  // ------------------------------------------------------------ memory

  /**
   * Guest RAM is host memory the machine owns (mmap + uc_mem_map_ptr): reads, and writes
   * to data regions, go straight to it without a call into the emulator; a write to a
   * region that may hold code goes through uc_mem_write, which drops stale translations.
   */
  map(base: bigint, size: number, perms: Perm = PROT_ALL, opts: { data?: boolean } = {}): void {
    const page = this.page;
    const start = base & ~(page - 1n);
    const end = (base + big(size) + page - 1n) & ~(page - 1n);
    const len = Number(end - start);
    const host = loadHostMemory();
    const ptr = host.mmap(null, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0);
    if (koffi.address(ptr) === MAP_FAILED) throw new Error(`mmap of ${len} bytes for guest RAM at 0x${start.toString(16)} failed`);
    try {
      this.uc.memMapPtr(start, len, perms, ptr);
    } catch (e) {
      host.munmap(ptr, len);
      throw e;
    }
    const view = new Uint8Array(koffi.view(ptr, len));
    const region: Region = { base: start, end, view, dv: new DataView(view.buffer, view.byteOffset, len), ptr, data: opts.data === true, map: -1 };
    const ak = this.ak;
    const pages = Math.ceil(len / 4096);
    const n = ak ? ak.u32[AK.nregions / 4]! : 0;
    if (ak && n < AK.maxRegions && ak.mapEnd + pages <= ak.len) {
      // the C hook's region table (struct ak_region: base, end, map)
      const at = (AK.regions + n * AK.regionSize) / 8;
      ak.u64[at] = start;
      ak.u64[at + 1] = end;
      ak.u64[at + 2] = BigInt(ak.mapEnd);
      region.map = ak.mapEnd;
      ak.mapEnd += pages;
      ak.u32[AK.nregions / 4] = n + 1;
    }
    this.regions.push(region);
    this.regions.sort((a, b) => (a.base < b.base ? -1 : 1));
  }

  /** The region holding [addr, addr + len), if one does. */
  private region(addr: bigint, len: number): Region | undefined {
    const r = this.lastRegion;
    if (r && addr >= r.base && addr + big(len) <= r.end) return r;
    for (const x of this.regions) {
      if (addr >= x.base && addr + big(len) <= x.end) return (this.lastRegion = x);
    }
    return undefined;
  }

  read(addr: bigint, len: number): Uint8Array {
    const r = this.region(addr, len);
    if (!r) return this.uc.memRead(addr, len); // unmapped or across regions: the emulator's answer
    const off = Number(addr - r.base);
    return r.view.slice(off, off + len);
  }

  peek(addr: bigint, len: number): Uint8Array {
    const r = this.region(addr, len);
    if (!r) return this.read(addr, len);
    const off = Number(addr - r.base);
    return r.view.subarray(off, off + len);
  }

  write(addr: bigint, data: Uint8Array): void {
    const r = this.region(addr, data.length);
    if (r?.data) {
      r.view.set(data, Number(addr - r.base));
      this.markWritten(addr, data.length);
    } else this.uc.memWrite(addr, data);
  }

  readUint(addr: bigint, size: number): bigint {
    const r = this.region(addr, size);
    if (!r) {
      const b = this.uc.memRead(addr, size);
      let v = 0n;
      if (this.endian === 'little') for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      else for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[i]!);
      return v;
    }
    const off = Number(addr - r.base);
    const le = this.endian === 'little';
    switch (size) {
      case 1:
        return BigInt(r.view[off]!);
      case 2:
        return BigInt(r.dv.getUint16(off, le));
      case 4:
        return BigInt(r.dv.getUint32(off, le));
      case 8:
        return r.dv.getBigUint64(off, le);
      default:
        throw new RangeError(`readUint size must be 1, 2, 4 or 8, got ${size}`);
    }
  }

  writeUint(addr: bigint, size: number, value: bigint): void {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new RangeError(`writeUint size must be 1, 2, 4 or 8, got ${size}`);
    const le = this.endian === 'little';
    const r = this.region(addr, size);
    if (r?.data) {
      const off = Number(addr - r.base);
      const v = BigInt.asUintN(size * 8, value);
      if (size === 8) r.dv.setBigUint64(off, v, le);
      else if (size === 4) r.dv.setUint32(off, Number(v), le);
      else if (size === 2) r.dv.setUint16(off, Number(v), le);
      else r.view[off] = Number(v);
      // markWritten, inline: the kernel writes words here all the time
      if (r.map >= 0) {
        this.ak!.u8[r.map + (off >> 12)] = 1;
        this.ak!.u8[r.map + ((off + size - 1) >> 12)] = 1;
      }
      return;
    }
    const b = new Uint8Array(size);
    let v = BigInt.asUintN(size * 8, value);
    for (let i = 0; i < size; i++) {
      b[le ? i : size - 1 - i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.uc.memWrite(addr, b);
  }

  saveState(): MachineState {
    const st = { regions: this.regions.map((r) => ({ base: r.base, bytes: r.view.slice() })), cpu: this.cpu.state ? this.cpu.state.save(this.uc) : this.uc.snapshot() };
    this.clearWritten();
    this.synced = st;
    return st;
  }

  private clearWritten(): void {
    if (this.ak) this.ak.u8.fill(0, AK.maps, this.ak.mapEnd);
  }

  restoreState(st: MachineState): Array<{ base: bigint; end: bigint }> {
    if (this.running) throw new Error('restoreState() cannot be called during run()');
    if (st.regions.length !== this.regions.length) throw new Error('restoreState(): the saved state has other regions than this machine');
    const changed: Array<{ base: bigint; end: bigint }> = [];
    // the pages written since `st` was saved or last restored are all that differ from it
    const tracked = this.ak !== null && st === this.synced;
    st.regions.forEach((saved, i) => {
      const r = this.regions[i]!;
      if (saved.base !== r.base || saved.bytes.length !== r.view.length) throw new Error(`restoreState(): region ${i} is not the one saved`);
      if (tracked && r.map >= 0) {
        const u8 = this.ak!.u8;
        const pages = Math.ceil(r.view.length / 4096);
        for (let p = 0; p < pages; p++) {
          if (!u8[r.map + p]) continue;
          let q = p;
          while (q + 1 < pages && u8[r.map + q + 1]) q++;
          const from = p * 4096;
          const to = Math.min((q + 1) * 4096, r.view.length);
          r.view.set(saved.bytes.subarray(from, to), from);
          if (!r.data) changed.push({ base: r.base + big(from), end: r.base + big(to) });
          p = q;
        }
      } else if (r.data) {
        r.view.set(saved.bytes);
      } else if (Buffer.compare(saved.bytes, r.view) !== 0) {
        r.view.set(saved.bytes);
        changed.push({ base: r.base, end: r.end });
      }
    });
    if (this.cpu.state) this.cpu.state.restore(this.uc, st.cpu);
    else this.uc.restoreSnapshot(st.cpu);
    this.line = undefined;
    this.clearWritten();
    this.synced = st;
    if (process.env['ARCHKIT_VERIFY_RESET'] === '1') this.verifyRestored(st);
    return changed;
  }

  /** ARCHKIT_VERIFY_RESET=1: every byte of guest RAM is the saved state's again (proof that the page record missed no write). */
  private verifyRestored(st: MachineState): void {
    st.regions.forEach((saved, i) => {
      const r = this.regions[i]!;
      if (Buffer.compare(saved.bytes, r.view) === 0) return;
      let at = 0;
      while (saved.bytes[at] === r.view[at]) at++;
      throw new Error(`restoreState(): guest RAM at ${hex(r.base + big(at))} differs from the saved state after a reset (a write the page record missed)`);
    });
  }

  invalidateCode(begin: bigint, end: bigint): void {
    this.dropTranslations(begin, end);
  }

  // ------------------------------------------------------------ registers

  private access(name: string): RegAccess {
    const d = this.regs[name];
    if (d === undefined) throw new Error(`unknown register "${name}" (the CPU model's register table has: ${Object.keys(this.regs).join(', ')})`);
    return d;
  }

  hasReg(name: string): boolean {
    return this.regs[name] !== undefined;
  }

  reg(name: string): bigint {
    const d = this.access(name);
    return typeof d === 'number' ? this.uc.regRead(d) : d.read(this.uc);
  }

  setReg(name: string, value: bigint): void {
    const d = this.access(name);
    if (typeof d === 'number') this.uc.regWrite(d, value);
    else d.write(this.uc, value);
    if (d === this.pcId && this.cpu.pcWriteStaysInBlock) this.restartAtPc();
  }

  /** pcWriteStaysInBlock: from a code hook, end the emulation here and start it again at the pc. */
  private restartAtPc(): void {
    if (!this.running || this.inCodeHook === 0) return;
    this.resumeAt = this.uc.regRead(this.pcId);
    this.lib.uc_emu_stop(this.uc.handle);
  }

  // ------------------------------------------------------------ translation

  /**
   * In a code hook the rest of the current translation block was built for the old state;
   * rewriting the pc makes Unicorn leave it. Interrupt and instruction hooks run between
   * blocks, so nothing is needed there.
   */
  leaveBlock(): void {
    if (this.running && this.inCodeHook > 0) {
      this.uc.regWrite(this.pcId, this.uc.regRead(this.pcId));
      if (this.cpu.pcWriteStaysInBlock) this.restartAtPc();
    }
  }

  /** A full flush costs ~15 ms (2.7 s the first time), so drop only the hooked range when small. */
  private dropTranslations(begin: bigint, end: bigint): void {
    if (begin <= end && end - begin < 0x100000n) {
      const err = this.lib.uc_ctl(this.uc.handle, UC_CTL_TB_REMOVE_CACHE_WRITE, 'uint64_t', begin, 'uint64_t', end + 1n) as number;
      this.uc.check('uc_ctl(TB_REMOVE_CACHE)', err);
    } else {
      this.uc.check('uc_ctl(TB_FLUSH)', this.lib.uc_ctl(this.uc.handle, UC_CTL_TB_FLUSH_WRITE));
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

  /** The JavaScript counter as a C function pointer, for the fast path to call. */
  private registerCounter(): unknown {
    const cb = koffi.register((_u: unknown, addr: number | bigint, size: number) => this.countStep(addr, size), koffi.pointer(this.lib.HookCode as never));
    this.nativeHooks.add({ hh: 0, cb });
    return cb;
  }

  /** Without the fast path, JavaScript sees every instruction. */
  private installCounter(): void {
    if (this.ak) return;
    this.addNative(UC_HOOK_CODE, this.lib.HookCode, (_u: unknown, addr: number | bigint, size: number) => this.countStep(addr, size), 1n, 0n);
  }

  private countStep(addr: number | bigint, size: number): void {
    // Checked before counting: a stop asked for in a hook that also moved the pc
    // (Unicorn then resumes) takes effect here, before the next instruction.
    if ((this.count & (DEADLINE_EVERY - 1)) === DEADLINE_EVERY - 1 && Date.now() > this.deadline) {
      this.timedOut = true;
      this.stopRequested = true;
    }
    if (this.stopRequested || this.pendingError !== null || this.count >= this.budget) {
      if (!this.stopRequested && this.pendingError === null) this.budgetHit = true;
      this.stopRequested = true;
      this.lib.uc_emu_stop(this.uc.handle);
      return;
    }
    this.skipInsn = false;
    const line = this.line;
    if (line && this.count >= line.at) {
      let taken = false;
      this.inCodeHook++;
      try {
        this.guard(() => {
          taken = line.take();
        });
      } finally {
        this.inCodeHook--;
      }
      if (this.pendingError !== null) return;
      if (taken) {
        if (this.line === line) this.line = undefined;
        this.skipInsn = true; // not run, not counted: the next instruction is the vector's
        return;
      }
    }
    // this instruction runs now (unless a hook at it stops the run first: stop() undoes the count)
    this.last = this.current;
    this.current = { addr: big(addr), size };
    this.count++;
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
        if (this.stopRequested || this.skipInsn) return;
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

  /**
   * Called at the start of every translation block in [begin, end], before the code hooks
   * of its first instruction. Added for s390x: QEMU keeps the PSW address and the condition
   * code up to date only between blocks (a code hook in the middle of a block reads the
   * block's start address and a stale CC), which is also where QEMU itself takes
   * interrupts; the CPU model learns there which instruction starts a block.
   */
  hookBlock(begin: bigint, end: bigint, cb: (addr: bigint, size: number) => void): HookHandle {
    if (this.running) throw new Error('hookBlock() cannot be called during run(); add block hooks between runs');
    const h = this.addNative(
      UC_HOOK_BLOCK,
      this.lib.HookCode,
      (_u: unknown, addr: number | bigint, size: number) => {
        if (this.stopRequested) return;
        this.guard(() => cb(big(addr), size));
      },
      begin,
      end,
    );
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

  hookInsn(insn: number, cb: () => void): HookHandle {
    if (this.running) throw new Error('hookInsn() cannot be called during run()');
    const h = this.addNative(UC_HOOK_INSN, this.lib.HookInsn, () => this.guard(cb), 1n, 0n, 'int', insn);
    return { remove: () => this.removeNative(h) };
  }

  /**
   * UC_HOOK_INSN_INVALID: an instruction the CPU finds undefined. `cb` takes the exception
   * the way the CPU would (an undefined-instruction entry) and returns where execution goes
   * on, as uc_emu_start takes a start address; null leaves the instruction unhandled (the
   * run fails with UC_ERR_INSN_INVALID). Added for 32-bit ARM: Unicorn 2.0.1 ends
   * uc_emu_start after such an instruction whatever the hook does (EXCP_UDEF goes through
   * arm_stop_interrupt), so run() starts it again at that address, within the same run:
   * one budget, one instruction count. One such hook per machine.
   */
  /**
   * An instruction fetch from unmapped memory (at `addr`), which ends the emulation with
   * UC_ERR_FETCH_UNMAPPED: `cb` takes the exception the way the CPU would (the CPU model's
   * instruction access trap) and returns where execution goes on, or null to leave it an
   * error. Called between two emulation starts of the same run (one budget, one count).
   * Added for sparc64: with the MMU off, Unicorn turns such a fetch into an error, never
   * into the CPU's trap. One such handler per machine.
   */
  hookFetchFault(cb: (addr: bigint) => bigint | null): HookHandle {
    if (this.fetchFault) throw new Error('hookFetchFault(): this machine has one already');
    this.fetchFault = cb;
    return {
      remove: () => {
        if (this.fetchFault === cb) this.fetchFault = null;
      },
    };
  }

  hookInvalidInsn(cb: () => bigint | null): HookHandle {
    if (this.running) throw new Error('hookInvalidInsn() cannot be called during run()');
    if (this.invalidHook) throw new Error('hookInvalidInsn(): this machine has one already');
    const h = this.addNative(
      UC_HOOK_INSN_INVALID,
      this.lib.HookInsnInvalid,
      () => {
        let at: bigint | null = null;
        this.guard(() => {
          at = cb();
        });
        this.resumeAt = at;
        return at !== null;
      },
      1n,
      0n,
    );
    this.invalidHook = h;
    return {
      remove: () => {
        this.removeNative(h);
        if (this.invalidHook === h) this.invalidHook = null;
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
    this.stopBeforeCounted = false;
    this.last = this.current = undefined;
    this.budgetHit = false;
    this.stopRequested = false;
    this.pendingError = null;
    this.badAccess = null;
    // untilNeverReturns: `until` is a code hook that stops before the instruction there
    let untilHit = false;
    const untilHook =
      until !== undefined && this.cpu.untilNeverReturns
        ? this.hookCode(until, until, () => {
            untilHit = true;
            this.stop();
          })
        : null;
    this.running = true;
    this.hasRun = true;
    let err: number;
    const deadline = Date.now() + timeoutMs;
    this.deadline = deadline;
    this.timedOut = false;
    try {
      for (let start = pc; ; ) {
        this.resumeAt = null;
        const left = Math.max(1, deadline - Date.now());
        void left;
        // no timeout: Unicorn would start a timer thread per call; the counter hook checks the deadline
        err = this.lib.uc_emu_start(this.uc.handle, start, untilHook ? NO_UNTIL : (until ?? NO_UNTIL), 0n, 0) as number;
        // an instruction fetch from unmapped memory the fetch-fault handler takes as the CPU's
        // exception (see hookFetchFault): go on from its vector
        const fault = this.badAccess as { type: number; address: bigint } | null;
        if (err === UC_ERR_FETCH_UNMAPPED && this.fetchFault && fault?.type === UC_MEM_FETCH_UNMAPPED && !this.stopRequested && this.pendingError === null && !this.budgetHit) {
          let at: bigint | null = null;
          const cb = this.fetchFault;
          this.guard(() => {
            at = cb(fault.address);
          });
          if (at !== null && this.pendingError === null) {
            this.badAccess = null;
            start = at;
            continue;
          }
        }
        // an undefined instruction the invalid-instruction hook took: Unicorn ended the
        // run there (see hookInvalidInsn); go on from the exception vector
        if (err || this.resumeAt === null || this.stopRequested || this.pendingError !== null || this.budgetHit) break;
        start = this.resumeAt;
      }
    } finally {
      this.running = false;
      untilHook?.remove();
      for (const cb of this.deferredUnregister) koffi.unregister(cb as bigint);
      this.deferredUnregister = [];
    }
    const now = this.uc.regRead(this.pcId);
    // a hook stopped the run before the instruction the counter had already counted
    if (this.stopBeforeCounted) {
      this.count--;
      this.current = this.last;
    }
    if (this.pendingError !== null) throw this.pendingError;
    if (this.budgetHit) throw new BudgetExceededError(this.budget, now);
    if (err) {
      let msg = `${ucErrText(err)} at pc=${hex(now)}`;
      const b = this.badAccess as { type: number; address: bigint; size: number } | null;
      if (b && err >= 6 && err <= 14) msg += `: ${UC_MEM_TYPE_TEXT[b.type] ?? 'bad access'} of ${b.size} bytes at ${hex(b.address)}`;
      throw new GuestFaultError(msg, now);
    }
    if (this.timedOut) throw new RunTimeoutError(this.budget, now, timeoutMs, this.count);
    const reason = untilHit || (!this.stopRequested && until !== undefined && now === until) ? 'until' : 'stopped';
    return { instructions: this.count, reason };
  }

  stop(): void {
    // from a code hook: the instruction it fired at was counted but does not run
    if (this.inCodeHook > 0 && !this.stopRequested) this.stopBeforeCounted = true;
    this.stopRequested = true;
    this.lib.uc_emu_stop(this.uc.handle);
  }

  instructionCount(): number {
    return this.count;
  }

  setInterrupt(line: InterruptLine | undefined): void {
    this.line = line;
  }

  previousInstruction(): { addr: bigint; size: number } | undefined {
    return this.last;
  }

  lastInstruction(): { addr: bigint; size: number } | undefined {
    return this.current;
  }

  close(): void {
    if (this.uc.closed) return;
    this.uc.close();
    const host = loadHostMemory();
    for (const r of this.regions.splice(0)) host.munmap(r.ptr, r.view.length);
    if (this.ak) host.munmap(this.ak.ptr, this.ak.len);
    this.lastRegion = undefined;
    for (const h of this.nativeHooks) koffi.unregister(h.cb as bigint);
    this.nativeHooks.clear();
    this.intrHook = null;
    this.invalidHook = null;
  }
}

/** A Machine on Unicorn 2 for a CPU model; throws EmulatorMissingError when libunicorn.so.2 cannot be loaded. */
export function createUnicornMachine(cpu: UnicornCpu): UnicornMachine {
  return new UnicornMachine(cpu);
}

/** Version of the loaded Unicorn library, e.g. "2.0.1". */
export function unicornVersion(): string {
  return unicornVersionOf(loadUnicorn());
}
