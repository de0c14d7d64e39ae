// asm -> TypeScript calls through stub addresses, and TypeScript -> asm calls back.
//
// Each C function callable from asm has a stub address; a code hook on the stub page turns a
// `call`/`bl` to it into a TypeScript call with the arguments read per the arch's C calling
// convention. C functions are generators: `yield guestCall(fn, args)` calls guest code (only
// switch_to in practice) and resumes with its return value. A suspended C frame belongs to the
// task that was running when it called out, exactly like a C frame on that task's kernel stack.

import type { Machine } from '../machine/machine.ts';

export interface GuestCall {
  call: bigint;
  args: bigint[];
}

export type CGen = Generator<GuestCall, bigint | number | void, bigint>;
export type CFunction = (...args: bigint[]) => CGen | bigint | number | void;

export function* guestCall(call: bigint, args: bigint[]): Generator<GuestCall, bigint, bigint> {
  return yield { call, args };
}

export interface CallingConvention {
  args: string[];
  ret: string;
  /** "stack" (x86: the return address is at [sp]) or the link register name ("x30"). */
  returnAddress: string;
  /** Arguments past the registers, in words at sp + offset (MIPS o32: 16, after the home area). */
  stackArgs?: { offset: number; count: number };
  /** Caller-saved registers: poisoned on every return from C, as compiled C may leave them anything. */
  callerSaved?: string[];
  /**
   * Bytes between the address the call leaves in the return-address register and where the
   * callee returns to (default 0). SPARC: `call` leaves its own address in %o7 and `retl`
   * returns to %o7 + 8, past the delay slot.
   */
  returnOffset?: number;
  sp: string;
  pc: string;
  wordSize: number;
}

/** What a caller-saved register holds after a call into C. */
export const POISON64 = 0x5ca7_c0de_5ca7_c0den;

interface Frame {
  name: string;
  gen: CGen;
  retAddr: bigint;
  /** words of arguments its guest call pushed on the stack (m68k: every C argument), for the caller to pop */
  pushed?: number;
}

export class Bridge {
  private readonly stubs = new Map<bigint, { name: string; fn: CFunction }>();
  private readonly byName = new Map<string, bigint>();
  private next: bigint;
  /** Where guest calls made from TypeScript return to. */
  readonly retStub: bigint;
  /** Suspended C frames per task key (task_struct address). */
  private readonly frames = new Map<bigint, Frame[]>();
  /** Name of the C function running now, for error messages. */
  running: string | undefined;

  constructor(
    private readonly m: Machine,
    private readonly cc: CallingConvention,
    readonly base: bigint,
    readonly size: number,
    private readonly currentKey: () => bigint,
  ) {
    this.retStub = base;
    this.next = base + 16n;
  }

  register(name: string, fn: CFunction): bigint {
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      this.stubs.set(existing, { name, fn });
      return existing;
    }
    if (this.next >= this.base + BigInt(this.size)) throw new Error(`stub page full registering ${name}`);
    const addr = this.next;
    this.next += 16n;
    this.stubs.set(addr, { name, fn });
    this.byName.set(name, addr);
    return addr;
  }

  addr(name: string): bigint {
    const a = this.byName.get(name);
    if (a === undefined) throw new Error(`no C function "${name}" registered`);
    return a;
  }

  /** C function name -> stub address (a live view: do not change it). */
  names(): ReadonlyMap<string, bigint> {
    return this.byName;
  }

  /** Hooks the stub page to this bridge (a kernel that owns its machine; Kernel.boot hooks it itself). */
  install(): void {
    this.m.hookCode(this.base, this.base + BigInt(this.size) - 1n, (addr) => this.onStub(addr));
  }

  /** Frames still suspended (a task blocked in schedule()). */
  pendingFrames(key: bigint): number {
    return this.frames.get(key)?.length ?? 0;
  }

  dropFrames(key: bigint): void {
    this.frames.delete(key);
  }

  /** The code hook of the stub page: a call into C, or a guest call's return to C. */
  onStub(addr: bigint): void {
    if (addr === this.retStub) {
      const key = this.currentKey();
      const stack = this.frames.get(key);
      const frame = stack?.pop();
      if (!frame) throw new Error(`guest returned to the C return stub but task 0x${key.toString(16)} has no suspended C frame`);
      // the caller pops the arguments it pushed
      if (frame.pushed) this.m.setReg(this.cc.sp, this.m.reg(this.cc.sp) + BigInt(frame.pushed * this.cc.wordSize));
      this.step(frame, this.m.reg(this.cc.ret));
      return;
    }
    const stub = this.stubs.get(addr);
    if (!stub) throw new Error(`guest jumped into the stub page at 0x${addr.toString(16)}, where no C function lives`);
    const args = this.cc.args.map((r) => this.m.reg(r));
    if (this.cc.stackArgs) {
      const sp = this.m.reg(this.cc.sp);
      for (let i = 0; i < this.cc.stackArgs.count; i++) args.push(this.m.readUint(sp + BigInt(this.cc.stackArgs.offset + i * this.cc.wordSize), this.cc.wordSize));
    }
    const retAddr =
      this.cc.returnAddress === 'stack'
        ? this.m.readUint(this.m.reg(this.cc.sp), this.cc.wordSize)
        : this.m.reg(this.cc.returnAddress) + BigInt(this.cc.returnOffset ?? 0);
    this.running = stub.name;
    const out = stub.fn(...args);
    if (out !== null && typeof out === 'object' && typeof (out as CGen).next === 'function') {
      this.step({ name: stub.name, gen: out as CGen, retAddr }, 0n);
    } else {
      this.finish(retAddr, out as bigint | number | void);
    }
  }

  private step(frame: Frame, value: bigint): void {
    this.running = frame.name;
    // the frame belongs to the task running it now; schedule() changes `current` before it yields
    const key = this.currentKey();
    const r = frame.gen.next(value);
    if (r.done) {
      this.finish(frame.retAddr, r.value);
      return;
    }
    const call = r.value;
    let stack = this.frames.get(key);
    if (!stack) this.frames.set(key, (stack = []));
    stack.push(frame);
    const inRegs = this.cc.args.length;
    call.args.slice(0, inRegs).forEach((v, i) => this.m.setReg(this.cc.args[i]!, BigInt.asUintN(64, v)));
    // arguments past the registers go on the stack, the first one lowest (m68k passes every
    // C argument there), under the return address
    const onStack = call.args.slice(inRegs);
    frame.pushed = onStack.length;
    if (onStack.length > 0) {
      if (this.cc.returnAddress !== 'stack') throw new Error(`a guest call with ${call.args.length} arguments: only ${inRegs} fit in registers, and stack arguments are pushed only where the return address is on the stack`);
      const w = this.cc.wordSize;
      const sp = this.m.reg(this.cc.sp) - BigInt(onStack.length * w);
      onStack.forEach((v, i) => this.m.writeUint(sp + BigInt(i * w), w, BigInt.asUintN(w * 8, v)));
      this.m.setReg(this.cc.sp, sp);
    }
    if (this.cc.returnAddress === 'stack') {
      const sp = this.m.reg(this.cc.sp) - BigInt(this.cc.wordSize);
      this.m.writeUint(sp, this.cc.wordSize, this.retStub);
      this.m.setReg(this.cc.sp, sp);
    } else {
      this.m.setReg(this.cc.returnAddress, this.retStub - BigInt(this.cc.returnOffset ?? 0));
    }
    this.m.setReg(this.cc.pc, call.call);
  }

  /** Return from a C function to its asm caller. */
  private finish(retAddr: bigint, value: bigint | number | void): void {
    this.running = undefined;
    if (this.halted) return;
    const v = value === undefined ? 0n : BigInt(value);
    // entry code that keeps a value in a caller-saved register across a call into C, or an
    // interrupt entry that does not save one, shows up as this value
    for (const r of this.cc.callerSaved ?? []) this.m.setReg(r, this.poison);
    this.m.setReg(this.cc.ret, BigInt.asUintN(64, v));
    if (this.cc.returnAddress === 'stack') {
      this.m.setReg(this.cc.sp, this.m.reg(this.cc.sp) + BigInt(this.cc.wordSize));
    }
    this.m.setReg(this.cc.pc, retAddr);
  }

  private get poison(): bigint {
    return this.cc.wordSize === 8 ? POISON64 : POISON64 & 0xffffffffn;
  }

  /** Set when the kernel stops the machine from inside a C function: nothing returns any more. */
  halted = false;
}
