import { Const, Keystone, loadKeystone } from 'keystone-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BudgetExceededError,
  EmulatorMissingError,
  GuestFaultError,
  RunTimeoutError,
  type Machine,
  type SysRegId,
} from '../src/machine/machine.ts';
import { createUnicornMachine, unicornVersion } from '../src/machine/unicorn.ts';

let ksX86: Keystone;
let ksA64: Keystone;

beforeAll(async () => {
  await loadKeystone();
  ksX86 = new Keystone(Const.KS_ARCH_X86, Const.KS_MODE_64);
  ksA64 = new Keystone(Const.KS_ARCH_ARM64, Const.KS_MODE_LITTLE_ENDIAN);
});

const x86 = (text: string, address: bigint) => ksX86.asm(text, { address });
const a64 = (text: string, address: bigint) => ksA64.asm(text, { address });

const machines: Machine[] = [];
function mk(kind: 'x86' | 'arm64'): Machine {
  const m =
    kind === 'x86'
      ? createUnicornMachine({ arch: 'x86', mode: '64', endian: 'little' })
      : createUnicornMachine({ arch: 'arm64', mode: 'arm', endian: 'little' });
  machines.push(m);
  return m;
}
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

const ELR_EL1: SysRegId = { op0: 3, op1: 0, crn: 4, crm: 0, op2: 1 };
const SPSR_EL1: SysRegId = { op0: 3, op1: 0, crn: 4, crm: 0, op2: 0 };

// Linux's GDT layout: 0x10 kernel CS, 0x18 kernel DS, 0x2b user DS, 0x33 user CS.
function installGdt(m: Machine, at: bigint): void {
  const gdt = new Map<number, bigint>([
    [0x10, 0x00af9b000000ffffn],
    [0x18, 0x00cf93000000ffffn],
    [0x28, 0x00cff3000000ffffn],
    [0x30, 0x00affb000000ffffn],
  ]);
  for (const [off, d] of gdt) m.writeUint(at + BigInt(off), 8, d);
  m.setTableReg('gdtr', at, 8 * 8 - 1);
}

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
    const m = createUnicornMachine({ arch: 'arm64', mode: 'arm', endian: 'big' });
    machines.push(m);
    m.map(0x10000n, 0x1000);
    m.writeUint(0x10000n, 4, 0x11223344n);
    expect([...m.read(0x10000n, 4)]).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect(m.readUint(0x10000n, 4)).toBe(0x11223344n);
  });

  it('reads and writes registers by architectural name', () => {
    const m = mk('x86');
    m.setReg('r15', 0xdeadbeefcafen);
    expect(m.reg('r15')).toBe(0xdeadbeefcafen);
    m.setReg('rip', 0x1234n);
    expect(m.reg('pc')).toBe(0x1234n);
    expect(m.hasReg('fs_base')).toBe(true);
    expect(m.hasReg('x0')).toBe(false);
    expect(() => m.reg('x0')).toThrow(/unknown register/);
    const a = mk('arm64');
    a.setReg('x30', 7n);
    expect(a.reg('lr')).toBe(7n);
    a.setReg('spsr_el1', 0x3c5n);
    expect(a.sysReg(SPSR_EL1)).toBe(0x3c5n);
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
    expect(r.reason).toBe('stopped');
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
    m.write(0x10000n, x86('mov rax, qword ptr [0x500000]', 0x10000n));
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

describe('unicorn backend: x86-64 privilege', () => {
  const KTEXT = 0x10000n;
  const UTEXT = 0x11000n;
  const KENTRY = 0x12000n;
  const KSTACK = 0x17000n;
  const USTACK = 0x18000n;

  function setup(): Machine {
    const m = mk('x86');
    m.map(0x0n, 0x20000);
    installGdt(m, 0x1000n);
    // Unicorn starts at CPL0; make the selectors match (selector-only writes in 64-bit mode).
    m.setPrivilege(0);
    m.setReg('rsp', KSTACK);
    m.write(KTEXT, x86(`push 0x2b; push ${USTACK}; push 0x202; push 0x33; push ${UTEXT}; iretq`, KTEXT));
    return m;
  }

  it('iretq drops to CPL3; syscall enters CPL0 through the hook; the kernel runs privileged code and returns', () => {
    const m = setup();
    expect(m.privilege()).toBe(0);
    const user = x86('mov eax, 42; syscall; mov rbx, rax; hlt', UTEXT);
    m.write(UTEXT, user);
    const SYSCALL_AT = UTEXT + 5n;
    m.write(
      KENTRY,
      x86('cli; mov r8, cr0; mov r9, cr3; mov rax, 0x1234; push 0x2b; push r12; push r11; push 0x33; push rcx; iretq', KENTRY),
    );
    const events: string[] = [];
    m.hookCode(UTEXT, UTEXT, () => events.push(`user entry cpl=${m.privilege()} cs=${m.reg('cs')}`));
    m.hookCode(KENTRY, KENTRY, () => events.push(`kernel entry cpl=${m.privilege()} irq=${m.irqsEnabled()}`));
    m.hookSyscallInsn(() => {
      // rip reads as the instruction after `syscall` (what hardware puts in rcx).
      events.push(`syscall rip=${m.reg('rip').toString(16)} cpl=${m.privilege()} rax=${m.reg('rax')}`);
      m.setReg('rcx', m.reg('rip'));
      m.setReg('r11', m.reg('rflags'));
      m.setReg('r12', m.reg('rsp'));
      m.setPrivilege(0);
      m.setReg('rsp', KSTACK);
      m.setReg('rip', KENTRY); // lands exactly here: the backend hides Unicorn's +2
    });
    m.hookInterrupt((intno) => {
      events.push(`intr ${intno} rip=${m.reg('rip').toString(16)} cpl=${m.privilege()}`);
      m.stop();
    });
    m.setReg('cr3', 0x5000n);
    const r = m.run(KTEXT, { instructions: 1000 });
    const hltAt = UTEXT + BigInt(user.length - 1);
    expect(events).toEqual([
      'user entry cpl=3 cs=51',
      `syscall rip=${(SYSCALL_AT + 2n).toString(16)} cpl=3 rax=42`,
      'kernel entry cpl=0 irq=true',
      `intr 13 rip=${hltAt.toString(16)} cpl=3`, // hlt at CPL3 is a #GP
    ]);
    expect(r.reason).toBe('stopped');
    expect(m.reg('r8')).toBe(m.reg('cr0')); // mov from cr0 worked at CPL0
    expect(m.reg('r9')).toBe(0x5000n);
    expect(m.reg('rbx')).toBe(0x1234n); // the syscall "returned" through iretq
    expect(m.reg('rsp')).toBe(USTACK);
    expect(m.privilege()).toBe(3);
    expect(m.irqsEnabled()).toBe(true);
  });

  it('privileged instructions at CPL3 raise #GP (13) every time, never a double fault', () => {
    const m = setup();
    m.write(UTEXT, x86('cli; cli; mov rax, cr3; nop', UTEXT));
    const seen: Array<[number, bigint]> = [];
    m.hookInterrupt((intno) => {
      const rip = m.reg('rip');
      seen.push([intno, rip]);
      // Skip the faulting instruction (the "kernel" chose to ignore it).
      m.setReg('rip', rip === UTEXT + 2n ? UTEXT + 5n : rip + 1n);
    });
    const r = m.run(KTEXT, { instructions: 100 }, UTEXT + 5n);
    expect(r.reason).toBe('until');
    expect(seen).toEqual([
      [13, UTEXT],
      [13, UTEXT + 1n],
      [13, UTEXT + 2n],
    ]);
    expect(m.privilege()).toBe(3);
  });

  it('setPrivilege(3) makes cli fault; setPrivilege(0) makes it work', () => {
    const m = mk('x86');
    m.map(0x0n, 0x20000);
    installGdt(m, 0x1000n);
    m.write(0x10000n, x86('cli; nop', 0x10000n));
    const ints: number[] = [];
    m.hookInterrupt((n) => {
      ints.push(n);
      m.stop();
    });
    m.setPrivilege(3);
    expect(m.privilege()).toBe(3);
    expect(m.reg('cs')).toBe(0x33n);
    expect(m.reg('ss')).toBe(0x2bn);
    m.run(0x10000n, { instructions: 10 }, 0x10002n);
    expect(ints).toEqual([13]);
    m.setPrivilege(0);
    expect(m.privilege()).toBe(0);
    expect(m.reg('cs')).toBe(0x10n);
    m.setReg('rflags', 0x202n);
    expect(m.run(0x10000n, { instructions: 10 }, 0x10002n).reason).toBe('until');
    expect(ints).toEqual([13]);
    expect(m.irqsEnabled()).toBe(false);
  });

  it('irqsEnabled follows sti/cli', () => {
    const m = mk('x86');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, x86('sti; nop; cli; nop', 0x10000n));
    const seen: boolean[] = [];
    m.hookCode(0x10001n, 0x10001n, () => seen.push(m.irqsEnabled()));
    m.hookCode(0x10003n, 0x10003n, () => seen.push(m.irqsEnabled()));
    m.run(0x10000n, { instructions: 10 }, 0x10004n);
    expect(seen).toEqual([true, false]);
    m.setIrqsEnabled(true);
    expect(m.irqsEnabled()).toBe(true);
  });
});

describe('unicorn backend: AArch64 privilege', () => {
  const KTEXT = 0x10000n;
  const UTEXT = 0x11000n;
  const VBAR = 0x12000n;
  const KSTACK = 0x17000n;
  const USTACK = 0x18000n;

  it('eret drops to EL0; svc enters EL1 through the hook; EL1 may read ELR_EL1, EL0 may not', () => {
    const m = mk('arm64');
    m.map(0x0n, 0x20000);
    expect(m.privilege()).toBe(1);
    m.setReg('sp', KSTACK); // EL1h: the live SP is SP_EL1
    m.setReg('sp_el0', USTACK);
    m.setReg('vbar_el1', VBAR);
    m.setSysReg(ELR_EL1, UTEXT);
    m.setSysReg(SPSR_EL1, 0n); // EL0t, DAIF clear
    expect(m.sysReg(ELR_EL1)).toBe(UTEXT);
    expect(m.reg('elr_el1')).toBe(UTEXT);
    m.write(KTEXT, a64('eret', KTEXT));
    const user = a64('mov x8, #64; svc #0; mov x1, x0; mov x4, sp; mrs x2, elr_el1', UTEXT);
    m.write(UTEXT, user);
    const SVC_AT = UTEXT + 4n;
    m.write(VBAR + 0x400n, a64('mrs x0, elr_el1; msr daifset, #2; mov x3, sp; eret', VBAR + 0x400n));

    const events: string[] = [];
    m.hookCode(UTEXT, UTEXT, () => events.push(`user el=${m.privilege()} sp=${m.reg('sp').toString(16)}`));
    m.hookCode(VBAR + 0x400n, VBAR + 0x400n, () => events.push(`vector el=${m.privilege()} irq=${m.irqsEnabled()}`));
    m.hookInterrupt((intno) => {
      const pc = m.reg('pc');
      events.push(`intr ${intno} pc=${pc.toString(16)} el=${m.privilege()}`);
      if (intno !== 2) return m.stop(); // 1 = EXCP_UDEF: the EL0 mrs below
      // Architectural EL1 entry from EL0 (what an arch's cpu.ts does for svc).
      m.setSysReg(ELR_EL1, pc);
      m.setSysReg(SPSR_EL1, m.reg('pstate'));
      m.setReg('esr_el1', 0x56000000n);
      m.setPrivilege(1);
      m.setReg('pstate', m.reg('pstate') | 0x3c0n); // mask DAIF, as entry does
      m.setReg('pc', m.reg('vbar_el1') + 0x400n);
    });
    const r = m.run(KTEXT, { instructions: 100 });
    expect(events).toEqual([
      `user el=0 sp=${USTACK.toString(16)}`,
      `intr 2 pc=${(SVC_AT + 4n).toString(16)} el=0`,
      'vector el=1 irq=false',
      // The same mrs at EL0 is undefined: it reaches the hook as EXCP_UDEF (1), pc at the insn.
      `intr 1 pc=${(UTEXT + 16n).toString(16)} el=0`,
    ]);
    expect(r.reason).toBe('stopped');
    expect(m.reg('x0')).toBe(SVC_AT + 4n); // read at EL1
    expect(m.reg('x1')).toBe(SVC_AT + 4n); // and back in user mode after eret
    expect(m.reg('x3')).toBe(KSTACK); // SP_EL1 while in the kernel
    expect(m.reg('x4')).toBe(USTACK); // SP_EL0 after return
    expect(m.reg('x2')).toBe(0n); // the EL0 mrs did not execute
    expect(m.privilege()).toBe(0);
    expect(m.irqsEnabled()).toBe(true); // SPSR restored DAIF on eret
    expect(m.reg('esr_el1')).toBe(0x56000000n);
  });

  it('setPrivilege switches EL and banks SP', () => {
    const m = mk('arm64');
    m.map(0x0n, 0x20000);
    m.write(0x10000n, a64('mrs x0, elr_el1; nop', 0x10000n));
    m.setReg('sp', KSTACK);
    m.setReg('sp_el0', USTACK);
    m.setReg('elr_el1', 0x4242n);
    m.setPrivilege(0);
    expect(m.privilege()).toBe(0);
    expect(m.reg('sp')).toBe(USTACK);
    expect(m.reg('sp_el1')).toBe(KSTACK);
    m.setReg('sp', USTACK - 16n);
    expect(m.reg('sp_el0')).toBe(USTACK - 16n);
    // No interrupt hook: the undefined-instruction exception ends the run.
    expect(() => m.run(0x10000n, { instructions: 10 }, 0x10008n)).toThrow(/UC_ERR_EXCEPTION/);
    const ints: number[] = [];
    m.hookInterrupt((n) => {
      ints.push(n);
      m.stop();
    });
    m.run(0x10000n, { instructions: 10 }, 0x10008n);
    expect(ints).toEqual([1]);
    expect(m.reg('x0')).toBe(0n);
    m.setPrivilege(1);
    expect(m.privilege()).toBe(1);
    expect(m.reg('sp')).toBe(KSTACK);
    expect(m.reg('sp_el0')).toBe(USTACK - 16n);
    expect(m.run(0x10000n, { instructions: 10 }, 0x10008n).reason).toBe('until');
    expect(m.reg('x0')).toBe(0x4242n);
  });

  it('irqsEnabled follows msr daifclr/daifset, #2', () => {
    const m = mk('arm64');
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, a64('msr daifclr, #2; nop; msr daifset, #2; nop', 0x10000n));
    const seen: boolean[] = [];
    m.hookCode(0x10004n, 0x10004n, () => seen.push(m.irqsEnabled()));
    m.hookCode(0x1000cn, 0x1000cn, () => seen.push(m.irqsEnabled()));
    m.run(0x10000n, { instructions: 10 }, 0x10010n);
    expect(seen).toEqual([true, false]);
    m.setIrqsEnabled(true);
    expect(m.irqsEnabled()).toBe(true);
    expect(m.privilege()).toBe(1); // pstate writes kept the EL
  });
});

describe('unicorn backend: missing library', () => {
  it('throws EmulatorMissingError naming the package', () => {
    const saved = process.env.ARCHKIT_UNICORN_LIB;
    process.env.ARCHKIT_UNICORN_LIB = '/nonexistent/libunicorn.so.2';
    try {
      let err: unknown;
      try {
        createUnicornMachine({ arch: 'x86', mode: '64', endian: 'little' });
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
