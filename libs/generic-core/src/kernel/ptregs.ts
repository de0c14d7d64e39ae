// A view of one pt_regs frame in emulated RAM, laid out as the arch's descriptor says.

import type { Machine } from '../machine/machine.ts';
import type { ArchDescriptor } from '../contracts/descriptor.ts';
import { frameField, frameIndex } from './layout.ts';

export interface PtRegsField {
  name: string;
  offset: number;
  size: number;
  /** The machine register saved in this slot (absent for orig_ax, syscallno, ...). */
  reg?: string;
}

export interface PtRegsLayout {
  size: number;
  fields: PtRegsField[];
  /** machine register names for the roles */
  pc: string;
  sp: string;
  ret: string;
  nr: string;
  args: string[];
}

/** The pt_regs layout an arch descriptor describes. */
const layouts = new WeakMap<ArchDescriptor, PtRegsLayout>();
export function ptRegsLayout(desc: ArchDescriptor): PtRegsLayout {
  let l = layouts.get(desc);
  if (!l) layouts.set(desc, (l = buildLayout(desc)));
  return l;
}

function buildLayout(desc: ArchDescriptor): PtRegsLayout {
  return {
    size: desc.ptRegs.size,
    fields: desc.ptRegs.fields as PtRegsLayout['fields'],
    pc: desc.registers.pc,
    sp: desc.registers.sp,
    ret: desc.syscall.ret,
    nr: desc.syscall.nr,
    args: desc.syscall.args,
  };
}

export function toSigned(v: bigint, bytes: number): bigint {
  return BigInt.asIntN(bytes * 8, v);
}

export class PtRegs {
  /** the layout's fields by name and by register (built once per layout: a PtRegs is made at every entry) */
  private readonly ix: ReadonlyMap<string, PtRegsField>;

  constructor(
    readonly m: Machine,
    readonly base: bigint,
    readonly layout: PtRegsLayout,
  ) {
    this.ix = frameIndex(layout);
  }

  field(name: string): PtRegsField {
    return this.ix.get(name) ?? frameField(this.layout, name, 'pt_regs');
  }

  has(name: string): boolean {
    return this.ix.has(name);
  }

  /** Unsigned value of a field (by pt_regs field name or by machine register name). */
  get(name: string): bigint {
    const f = this.field(name);
    return this.m.readUint(this.base + BigInt(f.offset), f.size);
  }

  /** Signed value of a field. */
  gets(name: string): bigint {
    const f = this.field(name);
    return toSigned(this.get(name), f.size);
  }

  set(name: string, v: bigint): void {
    const f = this.field(name);
    this.m.writeUint(this.base + BigInt(f.offset), f.size, BigInt.asUintN(f.size * 8, v));
  }

  get pc(): bigint {
    return this.get(this.layout.pc);
  }
  set pc(v: bigint) {
    this.set(this.layout.pc, v);
  }
  get sp(): bigint {
    return this.get(this.layout.sp);
  }
  set sp(v: bigint) {
    this.set(this.layout.sp, v);
  }
  /** Return-value register, signed. */
  get ret(): bigint {
    return this.gets(this.layout.ret);
  }
  set ret(v: bigint) {
    this.set(this.layout.ret, v);
  }
  arg(i: number): bigint {
    return this.get(this.layout.args[i]!);
  }

  /** Every field, for reports and register-equality checks. */
  snapshot(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const f of this.layout.fields) out[f.name] = this.get(f.name);
    return out;
  }

  zero(): void {
    this.m.write(this.base, new Uint8Array(this.layout.size));
  }

  copyFrom(other: PtRegs): void {
    this.m.write(this.base, this.m.read(other.base, this.layout.size));
  }

  /** The user-visible machine registers saved in this frame. */
  userRegs(): string[] {
    return this.layout.fields.filter((f) => f.reg !== undefined).map((f) => f.reg!);
  }
}
