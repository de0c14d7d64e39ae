// The generic Unicorn backend: memory, registers through a CPU model's table, hooks, the
// instruction budget, faults. The CPUs here are minimal tables for the test; what one CPU is
// (privilege, trap entry) is tested in its arch lib.
import { Const, Keystone, loadKeystone } from 'keystone-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError, EmulatorMissingError, GuestFaultError, RunTimeoutError, type Machine } from '../src/machine/machine.ts';
import { createUnicornMachine, unicornVersion, type UnicornCpu } from '../src/machine/unicorn/machine.ts';
import { UC_MODE_BIG_ENDIAN } from '../src/machine/unicorn/api.ts';

let ksX86: Keystone;
let ksA64: Keystone;

beforeAll(async () => {
  await loadKeystone();
  ksX86 = new Keystone(Const.KS_ARCH_X86, Const.KS_MODE_64);
  ksA64 = new Keystone(Const.KS_ARCH_ARM64, Const.KS_MODE_LITTLE_ENDIAN);
});

const x86 = (text: string, address: bigint) => ksX86.asm(text, { address });
const a64 = (text: string, address: bigint) => ksA64.asm(text, { address });

// unicorn.h / x86.h / arm64.h ids
const X86: UnicornCpu = { arch: 4, mode: 1 << 3, pc: 'rip', registers: { rax: 35, rbx: 37, rip: 41, pc: 41, rsp: 44, r15: 113 } };
const A64: UnicornCpu = {
  arch: 2,
  mode: 0,
  pc: 'pc',
  registers: {
    x0: 199, x1: 200, x30: 2, lr: 2, pc: 260, sp: 4,
    // a register reached through accessors of the CPU model's own (here: x1 doubled)
    twice_x1: { read: (uc) => uc.regRead(200) * 2n, write: (uc, v) => uc.regWrite(200, v / 2n) },
  },
};

const machines: Machine[] = [];
function mk(kind: 'x86' | 'arm64', big = false): Machine {
  const cpu = kind === 'x86' ? X86 : { ...A64, mode: big ? UC_MODE_BIG_ENDIAN : 0 };
  const m = createUnicornMachine(cpu);
  machines.push(m);
  return m;
}
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

describe('unicorn backend: identity and memory', () => {
  it('names its version', () => {
    expect(unicornVersion()).toMatch(/^2\.\d+\.\d+$/);
    expect(mk('x86').backendName).toBe(`unicorn ${unicornVersion()}`);
  });

  it('round-trips bytes and words (little endian, both arches)', () => {
    for (const kind of ['x86', 'arm64'] as const) {
      const m = mk(kind);
      m.map(0x10000n, 0x2000);
      m.write(0x10010n, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
      expect([...m.read(0x10010n, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(m.readUint(0x10010n, 4)).toBe(0x04030201n);
      expect(m.readUint(0x10010n, 8)).toBe(0x0807060504030201n);
      m.writeUint(0x10ff8n, 8, 0x1122334455667788n); // crosses no page, but the top of the first
      expect([...m.read(0x10ff8n, 2)]).toEqual([0x88, 0x77]);
      m.writeUint(0x11000n, 2, 0xbeefn);
      expect(m.readUint(0x11000n, 2)).toBe(0xbeefn);
      m.writeUint(0x11004n, 1, 0x1ffn); // truncated to the size
      expect(m.readUint(0x11004n, 1)).toBe(0xffn);
      expect(() => m.read(0x900000n, 4)).toThrow(GuestFaultError);
    }
  });

  it('stores words big-endian on a big-endian machine', () => {
    const m = mk('arm64', true);
    m.map(0x10000n, 0x1000);
    m.writeUint(0x10000n, 4, 0x11223344n);
    expect([...m.read(0x10000n, 4)]).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect(m.readUint(0x10000n, 4)).toBe(0x11223344n);
  });

  it('reads and writes registers by the names in the CPU model table, ids and accessors', () => {
    const m = mk('x86');
    m.setReg('r15', 0xdeadbeefcafen);
    expect(m.reg('r15')).toBe(0xdeadbeefcafen);
    m.setReg('rip', 0x1234n);
    expect(m.reg('pc')).toBe(0x1234n);
    expect(m.hasReg('rax')).toBe(true);
    expect(m.hasReg('x0')).toBe(false);
    expect(() => m.reg('x0')).toThrow(/unknown register "x0" \(the CPU model's register table has: rax/);
    const a = mk('arm64');
    a.setReg('x30', 7n);
    expect(a.reg('lr')).toBe(7n);
    a.setReg('twice_x1', 10n);
    expect(a.reg('x1')).toBe(5n);
    expect(a.reg('twice_x1')).toBe(10n);
  });
});

describe('unicorn backend: hooks and budget', () => {
  it('fires code hooks at the right address and a pc change from a hook redirects (x86)', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    // 0x10000: mov eax,1 ; 0x10005: mov eax,2 (skipped) ; 0x1000a: mov ebx,3 ; 0x1000f: end
    m.write(0x10000n, x86('mov eax, 1; mov eax, 2; mov ebx, 3', 0x10000n));
    const seen: bigint[] = [];
    m.hookCode(0x10005n, 0x10005n, (addr, size) => {
      seen.push(addr);
      expect(size).toBe(5);
      m.setReg('rip', 0x1000an);
    });
    const r = m.run(0x10000n, { instructions: 100 }, 0x1000fn);
    expect(seen).toEqual([0x10005n]);
    expect(r.reason).toBe('until');
    expect(m.reg('rax')).toBe(1n);
    expect(m.reg('rbx')).toBe(3n);
  });

  it('fires code hooks and redirects on arm64', () => {
    const m = mk('arm64');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, a64('mov x0, #1; mov x0, #2; mov x1, #3', 0x10000n));
    const seen: bigint[] = [];
    const h = m.hookCode(0x10004n, 0x10004n, (addr) => {
      seen.push(addr);
      m.setReg('pc', 0x10008n);
    });
    m.run(0x10000n, { instructions: 100 }, 0x1000cn);
    expect(seen).toEqual([0x10004n]);
    expect([m.reg('x0'), m.reg('x1')]).toEqual([1n, 3n]);
    h.remove();
    m.run(0x10000n, { instructions: 100 }, 0x1000cn);
    expect(seen).toHaveLength(1);
    expect(m.reg('x0')).toBe(2n);
  });

  it('a code hook added after a run still fires on code translated before it', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('inc rax; inc rax; inc rax', 0x10000n));
    m.run(0x10000n, { instructions: 10 }, 0x10009n);
    const seen: bigint[] = [];
    m.hookCode(0x10003n, 0x10003n, (a) => seen.push(a));
    m.run(0x10000n, { instructions: 10 }, 0x10009n);
    expect(seen).toEqual([0x10003n]);
    // Native hooks cannot be registered from inside a run.
    m.hookCode(0x10006n, 0x10006n, () => m.hookCode(0n, 0n, () => {}));
    expect(() => m.run(0x10000n, { instructions: 10 }, 0x10009n)).toThrow(/between runs/);
  });

  it('turns `jmp .` / `b .` into BudgetExceededError quickly', () => {
    for (const [kind, code] of [
      ['x86', [0xeb, 0xfe]],
      ['arm64', [0x00, 0x00, 0x00, 0x14]],
    ] as const) {
      const m = mk(kind);
      m.map(0x10000n, 0x1000);
      m.write(0x10000n, Uint8Array.from(code));
      const t0 = performance.now();
      let err: unknown;
      try {
        m.run(0x10000n, { instructions: 1e6 });
      } catch (e) {
        err = e;
      }
      const ms = performance.now() - t0;
      expect(err).toBeInstanceOf(BudgetExceededError);
      expect(err).not.toBeInstanceOf(RunTimeoutError);
      expect((err as BudgetExceededError).pc).toBe(0x10000n);
      expect(m.instructionCount()).toBe(1e6);
      expect(ms).toBeLessThan(1500);
    }
  });

  it('counts instructions exactly, also from inside hooks', () => {
    for (const [kind, nop, width] of [
      ['x86', [0x90], 1],
      ['arm64', [0x1f, 0x20, 0x03, 0xd5], 4],
    ] as const) {
      const m = mk(kind);
      const N = 1000;
      m.map(0x10000n, 0x2000);
      const code = new Uint8Array(N * width);
      for (let i = 0; i < N; i++) code.set(nop, i * width);
      m.write(0x10000n, code);
      const end = 0x10000n + BigInt(N * width);
      const at = 0x10000n + BigInt(599 * width); // the 600th instruction
      let inHook = -1;
      m.hookCode(at, at, () => {
        inHook = m.instructionCount();
      });
      const r = m.run(0x10000n, { instructions: 1e6 }, end);
      expect(r).toEqual({ instructions: N, reason: 'until' });
      expect(m.instructionCount()).toBe(N);
      expect(inHook).toBe(600);
      // A budget one short stops before the last instruction.
      expect(() => m.run(0x10000n, { instructions: N - 1 }, end)).toThrow(BudgetExceededError);
      expect(m.instructionCount()).toBe(N - 1);
      expect(m.reg('pc')).toBe(end - BigInt(width));
    }
  });

  it('knows the last instruction that ran (what an interrupt shadow needs)', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('inc rax; inc rax; sti; inc rax; inc rax', 0x10000n));
    m.setReg('rax', 0n);
    const r = m.run(0x10000n, { instructions: 100 }, 0x10007n);
    expect(r).toEqual({ instructions: 3, reason: 'until' });
    expect(m.reg('rax')).toBe(2n);
    // the instruction just executed: sti (one byte at 0x10006)
    expect(m.lastInstruction()).toEqual({ addr: 0x10006n, size: 1 });
    const r2 = m.run(0x10007n, { instructions: 100 }, 0x1000dn);
    expect(r2).toEqual({ instructions: 2, reason: 'until' });
    expect(m.reg('rax')).toBe(4n);
  });

  it('a hook that stops the run uncounts the instruction it fired at, which never ran', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('inc rax; inc rax; inc rax', 0x10000n));
    m.setReg('rax', 0n);
    m.hookCode(0x10006n, 0x10006n, () => m.stop());
    const r = m.run(0x10000n, { instructions: 100 }, 0x10009n);
    expect(r).toEqual({ instructions: 2, reason: 'stopped' });
    expect(m.reg('rax')).toBe(2n);
    expect(m.lastInstruction()).toEqual({ addr: 0x10003n, size: 3 });
  });

  it('takes an interrupt before a given instruction index, once the take callback accepts it', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('inc rax; inc rax; inc rax; inc rax; jmp 0x10200', 0x10000n));
    m.write(0x10100n, x86('inc rbx; jmp 0x10009', 0x10100n)); // the "vector": back to the 4th inc
    m.setReg('rax', 0n);
    m.setReg('rbx', 0n);
    const asked: bigint[] = [];
    let otherHook = 0;
    m.hookCode(0x10006n, 0x10006n, () => otherHook++);
    m.setInterrupt({
      at: 1,
      take: () => {
        asked.push(m.reg('rip'));
        if (asked.length < 2) return false; // "masked" at index 1
        m.setReg('rip', 0x10100n);
        return true;
      },
    });
    const r = m.run(0x10000n, { instructions: 100 }, 0x10200n);
    // asked before the 2nd inc (refused) and the 3rd (taken: it never runs, nor its hook)
    expect(asked).toEqual([0x10003n, 0x10006n]);
    expect(otherHook).toBe(0);
    expect(m.reg('rax')).toBe(3n);
    expect(m.reg('rbx')).toBe(1n);
    // inc, inc, [irq] inc rbx, jmp, inc, jmp: the taken instruction is not counted
    expect(r).toEqual({ instructions: 6, reason: 'until' });
  });

  it('restoreState puts back every byte and the CPU state, and reports the code regions it changed', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000); // code
    m.map(0x20000n, 0x2000, 7, { data: true });
    m.write(0x10000n, x86('inc rax; mov qword ptr [riz*1 + 0x20010], rax', 0x10000n));
    m.writeUint(0x21000n, 8, 0x1122334455667788n);
    m.setReg('rax', 5n);
    const st = m.saveState();
    m.run(0x10000n, { instructions: 10 }, 0x1000bn);
    expect(m.readUint(0x20010n, 8)).toBe(6n);
    m.writeUint(0x21000n, 4, 0xdeadn); // a direct write to a data region
    expect(m.restoreState(st)).toEqual([]); // code unchanged: translations kept
    expect(m.readUint(0x20010n, 8)).toBe(0n);
    expect(m.readUint(0x21000n, 8)).toBe(0x1122334455667788n);
    expect(m.reg('rax')).toBe(5n);
    const again = m.saveState();
    again.regions.forEach((r, i) => expect(Buffer.compare(r.bytes, st.regions[i]!.bytes)).toBe(0));
    expect(Buffer.compare(again.cpu, st.cpu)).toBe(0);
    // new code at the same address: reported, and after invalidation the new code runs
    m.write(0x10000n, x86('dec rax; mov qword ptr [riz*1 + 0x20010], rax', 0x10000n));
    expect(m.restoreState(st)).toEqual([{ base: 0x10000n, end: 0x11000n }]);
    m.write(0x10000n, x86('dec rax; mov qword ptr [riz*1 + 0x20010], rax', 0x10000n));
    m.invalidateCode(0x10000n, 0x10fffn);
    m.run(0x10000n, { instructions: 10 }, 0x1000bn);
    expect(m.readUint(0x20010n, 8)).toBe(4n);
  });

  it('a reset copies back only the pages written since the state was saved, guest stores and host writes alike', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x3000); // code and data in one region: a guest store here is a code change
    m.map(0x20000n, 0x4000, 7, { data: true });
    m.write(0x10000n, x86('mov qword ptr [riz*1 + 0x12008], rax; mov qword ptr [riz*1 + 0x21ffc], rax', 0x10000n));
    const st = m.saveState();
    m.setReg('rax', 0x0102030405060708n);
    m.run(0x10000n, { instructions: 10 }, 0x10010n);
    expect(m.readUint(0x12008n, 8)).toBe(0x0102030405060708n);
    expect(m.readUint(0x21ffcn, 8)).toBe(0x0102030405060708n); // a store across two data pages
    // the store to the code region is reported (one page); the data store restored silently
    expect(m.restoreState(st)).toEqual([{ base: 0x12000n, end: 0x13000n }]);
    expect(m.readUint(0x12008n, 8)).toBe(0n);
    expect(m.readUint(0x21ffcn, 8)).toBe(0n);
    m.writeUint(0x22ffcn, 8, 0xffn); // a host write across two data pages
    m.write(0x20ffen, Uint8Array.from([1, 2, 3, 4]));
    m.restoreState(st);
    expect(m.readUint(0x22ffcn, 8)).toBe(0n);
    expect(m.readUint(0x20ffen, 4)).toBe(0n);
    // restoring a state other than the last saved one compares everything
    m.writeUint(0x20000n, 8, 1n);
    const st2 = m.saveState();
    m.restoreState(st);
    expect(m.readUint(0x20000n, 8)).toBe(0n);
    m.writeUint(0x20000n, 8, 2n);
    m.restoreState(st2);
    expect(m.readUint(0x20000n, 8)).toBe(1n);
  });

  it('counts, knows the last instruction and takes an interrupt the same with the JavaScript counter (ARCHKIT_NATIVE=0)', () => {
    const once = () => {
      const m = mk('x86');
      m.map(0x10000n, 0x1000);
      m.write(0x10000n, x86('inc rax; inc rax; sti; inc rax; inc rax; jmp 0x10200', 0x10000n));
      m.write(0x10100n, x86('inc rbx; jmp 0x10007', 0x10100n));
      const seen: Array<[number, bigint | undefined]> = [];
      m.setInterrupt({
        at: 2,
        take: () => {
          seen.push([m.instructionCount(), m.lastInstruction()?.addr]);
          if (seen.length < 2) return false;
          m.setReg('rip', 0x10100n);
          return true;
        },
      });
      const r = m.run(0x10000n, { instructions: 100 }, 0x10200n);
      return { r, seen, rax: m.reg('rax'), rbx: m.reg('rbx'), last: m.lastInstruction(), prev: m.previousInstruction() };
    };
    const native = once();
    const saved = process.env.ARCHKIT_NATIVE;
    process.env.ARCHKIT_NATIVE = '0';
    try {
      expect(once()).toEqual(native);
    } finally {
      if (saved === undefined) delete process.env.ARCHKIT_NATIVE;
      else process.env.ARCHKIT_NATIVE = saved;
    }
    expect(native.seen).toEqual([
      [2, 0x10003n],
      [3, 0x10006n],
    ]);
    expect(native.r).toEqual({ instructions: 8, reason: 'until' });
  });

  it('reads and writes data regions in the guest byte order without the emulator, and sees guest stores at once', () => {
    const m = mk('arm64', true);
    m.map(0x20000n, 0x1000, 7, { data: true });
    m.writeUint(0x20000n, 4, 0x01020304n);
    expect([...m.read(0x20000n, 4)]).toEqual([1, 2, 3, 4]);
    m.writeUint(0x20008n, 8, 0x0102030405060708n);
    expect(m.readUint(0x20008n, 8)).toBe(0x0102030405060708n);
    expect(m.readUint(0x2000cn, 2)).toBe(0x0506n);
    expect(() => m.readUint(0x30000n, 8)).toThrow(GuestFaultError);
  });

  it('has a wall-clock backstop', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, Uint8Array.from([0xeb, 0xfe]));
    const t0 = performance.now();
    expect(() => m.run(0x10000n, { instructions: 1e12, timeoutMs: 100 })).toThrow(RunTimeoutError);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(m.instructionCount()).toBeGreaterThan(0);
  });

  it('stop() from a hook ends the run, even when the hook also moved the pc', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('inc rax; inc rax; inc rax; inc rax', 0x10000n));
    m.setReg('rax', 0n);
    m.hookCode(0x10003n, 0x10003n, () => {
      m.setReg('rip', 0x10006n);
      m.stop();
    });
    const r = m.run(0x10000n, { instructions: 100 }, 0x1000cn);
    expect(r).toEqual({ instructions: 1, reason: 'stopped' });
    expect(m.reg('rax')).toBe(1n);
    expect(m.reg('rip')).toBe(0x10006n);
  });

  it('rethrows an exception thrown inside a hook from run()', () => {
    const m = mk('arm64');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, a64('mov x0, #1; mov x0, #2; mov x0, #3', 0x10000n));
    const boom = new Error('boom from hook');
    m.hookCode(0x10004n, 0x10004n, () => {
      throw boom;
    });
    expect(() => m.run(0x10000n, { instructions: 100 }, 0x1000cn)).toThrow(boom);
    expect(m.reg('x0')).toBe(1n);
  });

  it('reports guest faults with the pc', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('mov rax, qword ptr [rbx + 0x500000]', 0x10000n));
    m.setReg('rbx', 0n);
    try {
      m.run(0x10000n, { instructions: 100 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GuestFaultError);
      expect((e as GuestFaultError).pc).toBe(0x10000n);
      expect((e as Error).message).toMatch(/READ_UNMAPPED.*0x500000/);
    }
    expect(() => m.run(0x700000n, { instructions: 100 })).toThrow(/FETCH_UNMAPPED/);
  });
});

describe('unicorn backend: missing library', () => {
  it('throws EmulatorMissingError naming the package', () => {
    const saved = process.env.ARCHKIT_UNICORN_LIB;
    process.env.ARCHKIT_UNICORN_LIB = '/nonexistent/libunicorn.so.2';
    try {
      let err: unknown;
      try {
        createUnicornMachine(X86);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EmulatorMissingError);
      expect((err as Error).message).toContain('apt-get install libunicorn2');
      expect((err as Error).message).toContain('/nonexistent/libunicorn.so.2');
    } finally {
      if (saved === undefined) delete process.env.ARCHKIT_UNICORN_LIB;
      else process.env.ARCHKIT_UNICORN_LIB = saved;
    }
  });
});
