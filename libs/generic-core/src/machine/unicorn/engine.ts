// Thin typed wrapper over one uc_engine handle: registers by id, memory, contexts, and a
// way to run a scratch engine with hooks. Shared by the Machine and by the start-up
// calibrations a CPU model (in its arch lib) performs on the emulator's internals.
import koffi from 'koffi';
import { GuestFaultError } from '../machine.ts';
import { loadUnicorn, unicornVersionOf, type UnicornLib } from './ffi.ts';
import { UC_CTL_CPU_MODEL_WRITE, UC_HOOK_CODE, UC_HOOK_INSN, UC_HOOK_INTR, UC_QUERY_PAGE_SIZE, ucErrText } from './api.ts';

export class UcCallError extends Error {
  constructor(
    readonly op: string,
    readonly code: number,
  ) {
    super(`unicorn ${op} failed: ${ucErrText(code)}`);
    this.name = 'UcCallError';
  }
}

export class UcEngine {
  readonly handle: unknown;
  private readonly buf = Buffer.alloc(64);
  private readonly words = new BigUint64Array(this.buf.buffer, this.buf.byteOffset, 8);
  private ctx: unknown = null;
  private ctxView: Uint8Array | null = null;
  private ctxDv: DataView | null = null;
  private readonly callbacks: unknown[] = [];
  closed = false;
  /** told of every write through uc_mem_write (the machine's record of pages a reset must restore) */
  onMemWrite: ((addr: bigint, len: number) => void) | null = null;

  constructor(
    readonly lib: UnicornLib,
    readonly arch: number,
    readonly mode: number,
    /** uc_cpu_<arch> value (UC_CTL_CPU_MODEL), set right after uc_open; the arch's default when absent */
    readonly cpuModel?: number,
  ) {
    const out = [null as unknown];
    const err = lib.uc_open(arch, mode, out) as number;
    if (err) throw new UcCallError(`uc_open(arch=${arch}, mode=0x${mode.toString(16)})`, err);
    this.handle = out[0];
    if (cpuModel !== undefined) {
      const e = lib.uc_ctl(this.handle, UC_CTL_CPU_MODEL_WRITE, 'int', cpuModel) as number;
      if (e) {
        lib.uc_close(this.handle);
        throw new UcCallError(`uc_ctl(UC_CTL_CPU_MODEL, ${cpuModel})`, e);
      }
    }
  }

  /** A scratch engine on the system library (for calibration runs). */
  static open(arch: number, mode: number, cpuModel?: number): UcEngine {
    return new UcEngine(loadUnicorn(), arch, mode, cpuModel);
  }

  get version(): string {
    return unicornVersionOf(this.lib);
  }

  check(op: string, err: number): void {
    if (err) throw new UcCallError(op, err);
  }

  // Hot (a few hundred calls a scenario): the value through a typed view of the buffer, the
  // error text built only on an error. Unicorn stores a register in host byte order, a
  // narrower one in the first bytes: a little-endian host's view of the zeroed word.
  regRead(id: number): bigint {
    const w = this.words;
    w[0] = 0n;
    w[1] = 0n;
    const err = this.lib.uc_reg_read(this.handle, id, this.buf) as number;
    if (err) this.check(`uc_reg_read(${id})`, err);
    return w[0]!;
  }

  regWrite(id: number, value: bigint): void {
    const w = this.words;
    w[1] = 0n;
    w[0] = BigInt.asUintN(64, value);
    const err = this.lib.uc_reg_write(this.handle, id, this.buf) as number;
    if (err) this.check(`uc_reg_write(${id})`, err);
  }

  /**
   * Register access through a struct (x86 MSRs and descriptor tables, AArch64 system
   * registers by encoding, ...): `fill` prepares the in/out buffer, the return is the
   * buffer after the call. The layout is the CPU model's business.
   */
  regReadStruct(id: number, fill: (b: Buffer) => void, what = `register ${id}`): Buffer {
    const b = this.buf;
    b.fill(0);
    fill(b);
    const err = this.lib.uc_reg_read(this.handle, id, b) as number;
    if (err) throw new UcCallError(`reading ${what}`, err);
    return b;
  }

  regWriteStruct(id: number, fill: (b: Buffer) => void, what = `register ${id}`): void {
    const b = this.buf;
    b.fill(0);
    fill(b);
    const err = this.lib.uc_reg_write(this.handle, id, b) as number;
    if (err) throw new UcCallError(`writing ${what}`, err);
  }

  /** The target's page size (uc_query), or undefined when the engine does not say. */
  pageSize(): number | undefined {
    const ps = [0];
    return this.lib.uc_query(this.handle, UC_QUERY_PAGE_SIZE, ps) === 0 && ps[0]! > 0 ? ps[0]! : undefined;
  }

  memMap(base: bigint, size: number, perms: number): void {
    this.check(`uc_mem_map(0x${base.toString(16)}, 0x${size.toString(16)})`, this.lib.uc_mem_map(this.handle, base, size, perms));
  }

  memRead(addr: bigint, len: number): Uint8Array {
    const out = Buffer.alloc(len);
    const err = this.lib.uc_mem_read(this.handle, addr, out, len) as number;
    if (err) throw new GuestFaultError(`reading ${len} bytes at 0x${addr.toString(16)}: ${ucErrText(err)}`, addr);
    return new Uint8Array(out.buffer, out.byteOffset, len);
  }

  memWrite(addr: bigint, data: Uint8Array): void {
    const err = this.lib.uc_mem_write(this.handle, addr, data, data.length) as number;
    if (err) throw new GuestFaultError(`writing ${data.length} bytes at 0x${addr.toString(16)}: ${ucErrText(err)}`, addr);
    this.onMemWrite?.(addr, data.length);
  }

  /**
   * Saves the CPU state into this engine's scratch uc_context and returns a live view of
   * its bytes (a byte copy of QEMU's CPU state: header included); edit it, then
   * restoreContext(). Offsets inside are emulator-internal: CPU models find the ones they
   * need by calibration.
   */
  saveContext(): DataView {
    if (!this.ctx) {
      const out = [null as unknown];
      this.check('uc_context_alloc', this.lib.uc_context_alloc(this.handle, out));
      this.ctx = out[0];
      const size = Number(this.lib.uc_context_size(this.handle));
      this.ctxView = new Uint8Array(koffi.view(this.ctx, size));
      this.ctxDv = new DataView(this.ctxView.buffer, this.ctxView.byteOffset, size);
    }
    this.check('uc_context_save', this.lib.uc_context_save(this.handle, this.ctx));
    return this.ctxDv!;
  }

  /** Copy of the context bytes (for calibration diffs). */
  snapshot(): Uint8Array {
    this.saveContext();
    return this.ctxView!.slice();
  }

  restoreContext(): void {
    if (!this.ctx) throw new Error('restoreContext before saveContext');
    this.check('uc_context_restore', this.lib.uc_context_restore(this.handle, this.ctx));
  }

  /** Puts back CPU state saved with snapshot(). */
  restoreSnapshot(bytes: Uint8Array): void {
    this.saveContext();
    if (bytes.length !== this.ctxView!.length) throw new Error(`CPU state of ${bytes.length} bytes, the context holds ${this.ctxView!.length}`);
    this.ctxView!.set(bytes);
    this.restoreContext();
  }

  /** uc_mem_map_ptr: guest RAM at `base` is the host memory at `ptr` (size bytes, page aligned). */
  memMapPtr(base: bigint, size: number, perms: number, ptr: unknown): void {
    this.check(`uc_mem_map_ptr(0x${base.toString(16)}, 0x${size.toString(16)})`, this.lib.uc_mem_map_ptr(this.handle, base, size, perms, ptr));
  }

  // ---------------------------------------------------------------- scratch runs

  /** A code hook for a scratch run (calibration); kept until close(). */
  onCode(begin: bigint, end: bigint, cb: (addr: bigint, size: number) => void): void {
    const fn = koffi.register((_u: unknown, addr: number | bigint, size: number) => cb(BigInt(addr), size), koffi.pointer(this.lib.HookCode));
    this.callbacks.push(fn);
    const hh = [0];
    this.check('uc_hook_add(code)', this.lib.uc_hook_add(this.handle, hh, UC_HOOK_CODE, fn, null, begin, end));
  }

  /** An interrupt hook for a scratch run. */
  onInterrupt(cb: (intno: number) => void): void {
    const fn = koffi.register((_u: unknown, intno: number) => cb(intno), koffi.pointer(this.lib.HookIntr));
    this.callbacks.push(fn);
    const hh = [0];
    this.check('uc_hook_add(intr)', this.lib.uc_hook_add(this.handle, hh, UC_HOOK_INTR, fn, null, 1n, 0n));
  }

  /** An instruction hook (UC_HOOK_INSN, `void cb(uc, user_data)` instructions) for a scratch run. */
  onInsn(insn: number, cb: () => void): void {
    const fn = koffi.register(() => cb(), koffi.pointer(this.lib.HookInsn));
    this.callbacks.push(fn);
    const hh = [0];
    this.check('uc_hook_add(insn)', this.lib.uc_hook_add(this.handle, hh, UC_HOOK_INSN, fn, null, 1n, 0n, 'int', insn));
  }

  /** uc_emu_start for a scratch run: returns the uc_err code (0 = ok). */
  start(begin: bigint, until: bigint, timeoutUs = 2_000_000n, count = 0): number {
    return this.lib.uc_emu_start(this.handle, begin, until, timeoutUs, count) as number;
  }

  stop(): void {
    this.lib.uc_emu_stop(this.handle);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ctx) this.lib.uc_context_free(this.ctx);
    this.ctx = null;
    this.lib.uc_close(this.handle);
    for (const cb of this.callbacks) koffi.unregister(cb as bigint);
    this.callbacks.length = 0;
  }
}

/** 32-bit little-endian words of a context snapshot for which `pred(offset)` holds. */
export function findWords(a: Uint8Array, pred: (o: number) => boolean): number[] {
  const r: number[] = [];
  for (let o = 0; o + 4 <= a.length; o += 4) if (pred(o)) r.push(o);
  return r;
}

export function dataView(a: Uint8Array): DataView {
  return new DataView(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * A calibration found nothing it can trust in this Unicorn build: refuse to run. The
 * message names the CPU, the Unicorn version the port was calibrated against and the one
 * installed.
 */
export class CalibrationError extends Error {
  constructor(cpu: string, detail: string, expected?: string, found?: string) {
    super(
      `archkit could not calibrate the ${cpu} CPU model against this Unicorn library: ${detail}. ` +
        `The model patches Unicorn-internal CPU state (privilege cached in QEMU's hflags, ...) at offsets it finds at start-up` +
        (expected ? `; it is known to work with Unicorn ${expected}` : '') +
        (found ? ` and the installed library is ${found}` : '') +
        `. Refusing to run with a privilege level that would not be enforced` +
        (expected && found && expected !== found ? ` (install Unicorn ${expected}: Debian bookworm's libunicorn2, or set ARCHKIT_UNICORN_LIB)` : '') +
        '.',
    );
    this.name = 'CalibrationError';
  }
}
