// Thin typed wrapper over one uc_engine handle: registers, memory, contexts.
// Shared by the Machine and by the start-up calibration of privilege offsets.
import koffi from 'koffi';
import type { SysRegId } from './machine.ts';
import { GuestFaultError } from './machine.ts';
import type { UnicornLib } from './unicorn-ffi.ts';
import { UC_ARM64_REG_CP_REG, UC_X86_REG_MSR, ucErrText } from './unicorn-tables.ts';

export class UcCallError extends Error {
  constructor(
    readonly op: string,
    readonly code: number,
  ) {
    super(`unicorn ${op} failed: ${ucErrText(code)}`);
    this.name = 'UcCallError';
  }
}

export class Uc {
  readonly handle: unknown;
  private readonly buf = Buffer.alloc(32);
  private ctx: unknown = null;
  private ctxView: Uint8Array | null = null;
  private ctxDv: DataView | null = null;
  closed = false;

  constructor(
    readonly lib: UnicornLib,
    arch: number,
    mode: number,
  ) {
    const out = [null as unknown];
    const err = lib.uc_open(arch, mode, out) as number;
    if (err) throw new UcCallError(`uc_open(arch=${arch}, mode=0x${mode.toString(16)})`, err);
    this.handle = out[0];
  }

  check(op: string, err: number): void {
    if (err) throw new UcCallError(op, err);
  }

  regRead(id: number): bigint {
    const b = this.buf;
    b.fill(0, 0, 16);
    this.check(`uc_reg_read(${id})`, this.lib.uc_reg_read(this.handle, id, b));
    return b.readBigUInt64LE(0);
  }

  regWrite(id: number, value: bigint): void {
    const b = this.buf;
    b.fill(0, 0, 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, value), 0);
    this.check(`uc_reg_write(${id})`, this.lib.uc_reg_write(this.handle, id, b));
  }

  /** uc_arm64_cp_reg {u32 crn, crm, op0, op1, op2; u64 val} (32 bytes). */
  cpRead(r: SysRegId): bigint {
    const b = this.cpBuf(r, 0n);
    const err = this.lib.uc_reg_read(this.handle, UC_ARM64_REG_CP_REG, b) as number;
    if (err) throw new UcCallError(`reading system register ${sysRegName(r)}`, err);
    return b.readBigUInt64LE(24);
  }

  cpWrite(r: SysRegId, value: bigint): void {
    const b = this.cpBuf(r, value);
    const err = this.lib.uc_reg_write(this.handle, UC_ARM64_REG_CP_REG, b) as number;
    if (err) throw new UcCallError(`writing system register ${sysRegName(r)}`, err);
  }

  private cpBuf(r: SysRegId, value: bigint): Buffer {
    const b = this.buf;
    b.fill(0);
    b.writeUInt32LE(r.crn, 0);
    b.writeUInt32LE(r.crm, 4);
    b.writeUInt32LE(r.op0, 8);
    b.writeUInt32LE(r.op1, 12);
    b.writeUInt32LE(r.op2, 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, value), 24);
    return b;
  }

  /** uc_x86_msr {u32 rid; u64 value} (16 bytes). */
  msrRead(index: number): bigint {
    const b = this.buf;
    b.fill(0);
    b.writeUInt32LE(index >>> 0, 0);
    this.check(`reading MSR 0x${index.toString(16)}`, this.lib.uc_reg_read(this.handle, UC_X86_REG_MSR, b));
    return b.readBigUInt64LE(8);
  }

  msrWrite(index: number, value: bigint): void {
    const b = this.buf;
    b.fill(0);
    b.writeUInt32LE(index >>> 0, 0);
    b.writeBigUInt64LE(BigInt.asUintN(64, value), 8);
    this.check(`writing MSR 0x${index.toString(16)}`, this.lib.uc_reg_write(this.handle, UC_X86_REG_MSR, b));
  }

  /** uc_x86_mmr {u16 selector; u64 base; u32 limit; u32 flags} (24 bytes). */
  mmrWrite(id: number, base: bigint, limit: number, selector = 0, flags = 0): void {
    const b = this.buf;
    b.fill(0);
    b.writeUInt16LE(selector, 0);
    b.writeBigUInt64LE(BigInt.asUintN(64, base), 8);
    b.writeUInt32LE(limit >>> 0, 16);
    b.writeUInt32LE(flags >>> 0, 20);
    this.check(`uc_reg_write(mmr ${id})`, this.lib.uc_reg_write(this.handle, id, b));
  }

  mmrRead(id: number): { base: bigint; limit: number; selector: number; flags: number } {
    const b = this.buf;
    b.fill(0);
    this.check(`uc_reg_read(mmr ${id})`, this.lib.uc_reg_read(this.handle, id, b));
    return { selector: b.readUInt16LE(0), base: b.readBigUInt64LE(8), limit: b.readUInt32LE(16), flags: b.readUInt32LE(20) };
  }

  memMap(base: bigint, size: number, perms: number): void {
    this.check(
      `uc_mem_map(0x${base.toString(16)}, 0x${size.toString(16)})`,
      this.lib.uc_mem_map(this.handle, base, size, perms),
    );
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
  }

  /**
   * Saves the CPU state into this engine's scratch uc_context and returns a live
   * view of its bytes (header included); edit it, then restoreContext().
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ctx) this.lib.uc_context_free(this.ctx);
    this.ctx = null;
    this.lib.uc_close(this.handle);
  }
}

export function sysRegName(r: SysRegId): string {
  return `S${r.op0}_${r.op1}_C${r.crn}_C${r.crm}_${r.op2}`;
}
