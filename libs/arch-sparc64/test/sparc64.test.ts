// What is only sparc64's: the CPU model on Unicorn 2.0.1 (a fresh engine in user mode, the
// privileged state reached through QEMU's exported internals, the V9 trap entry), register
// windows spilled and filled by the glue's handlers (the bad-stack fixups included), the
// signal frame, and the places where sparc Linux 6.18 differs from the shared scenarios'
// first assumptions: the SunOS fork return, the 8-byte handler-less restart, the stack
// bias, clone_stackframe, a handler returning to a zero restorer.

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { cpu, INSN, isDcti, PSTATE, TSTATE, TT, v9 } from '../src/cpu.ts';
import { RT_FRAME } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });
/** Raw instructions in a user program (a label op is emitted as is). */
const raw = (text: string): Op => label(`${text}\nraw_${Math.random().toString(36).slice(2, 8)}`);

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

describe('CPU model on Unicorn 2.0.1', () => {
  it('a fresh engine is in user mode; PSTATE, %pil, %wstate and %tba are reached through QEMU internals', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.map(0n, 0x2000);
      expect(cpu.privilege(m)).toBe(0);
      expect(m.reg('pstate')).toBe(0n);
      cpu.setPrivilege(m, 1);
      expect(m.reg('pstate') & PSTATE.PRIV).toBe(PSTATE.PRIV);
      m.setReg('wstate', 0x08n);
      m.setReg('tba', 0x18000n);
      m.setReg('cwp', 5n);
      expect(m.reg('wstate')).toBe(0x08n);
      expect(m.reg('tba')).toBe(0x18000n);
      expect(m.reg('cwp')).toBe(5n);
      cpu.setIrqsEnabled(m, false);
      expect(m.reg('pil')).toBe(14n);
      expect(cpu.irqsEnabled(m)).toBe(false);
      cpu.setIrqsEnabled(m, true);
      expect(cpu.irqsEnabled(m)).toBe(true);
      cpu.setPrivilege(m, 0);
      expect(cpu.privilege(m)).toBe(0);
    } finally {
      m.close();
    }
  });

  it('the V9 trap entry: ta 0x6d in user mode lands at %tba + 0x16d * 32 at TL 1, TPC/TNPC the ta and the next, PRIV|AG', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.map(0n, 0x10000);
      const w = (a: bigint, ...ws: number[]) => m.write(a, Buffer.from(ws.flatMap((x) => [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff])));
      w(0x100n, INSN.wrCcr0, INSN.ta6d, INSN.nop);
      m.setReg('tba', 0x8000n);
      w(0x8000n + BigInt(TT.SYSCALL * 32), INSN.nop, INSN.nop);
      const seen: number[] = [];
      m.hookInterrupt((intno) => {
        seen.push(intno);
        expect(v9(m.uc).trapEntry(intno)).toBe(0x8000n + BigInt(TT.SYSCALL * 32));
      });
      m.hookCode(0x8000n + BigInt(TT.SYSCALL * 32), 0x8000n + BigInt(TT.SYSCALL * 32), () => m.stop());
      m.run(0x100n, { instructions: 10 });
      expect(seen).toEqual([TT.SYSCALL]);
      expect(m.reg('pc')).toBe(0x8000n + BigInt(TT.SYSCALL * 32));
      expect(m.reg('tl')).toBe(1n);
      expect(m.reg('tpc')).toBe(0x104n);
      expect(m.reg('tnpc')).toBe(0x108n);
      expect(m.reg('tt')).toBe(BigInt(TT.SYSCALL));
      expect(m.reg('tstate') & TSTATE.PRIV).toBe(0n);
      expect(m.reg('pstate') & (PSTATE.PRIV | PSTATE.AG | PSTATE.IE)).toBe(PSTATE.PRIV | PSTATE.AG);
    } finally {
      m.close();
    }
  });

  it('delayed control transfers are recognised (no interrupt in a delay slot)', () => {
    expect(isDcti(0x10800004)).toBe(true); // ba
    expect(isDcti(0x10680004)).toBe(true); // ba,pt %xcc
    expect(isDcti(0x02c20004)).toBe(true); // brz,pt %o0
    expect(isDcti(0x40000010)).toBe(true); // call
    expect(isDcti(0x81c3e008)).toBe(true); // retl (jmpl)
    expect(isDcti(INSN.retry)).toBe(false);
    expect(isDcti(INSN.ta6d)).toBe(false);
    expect(isDcti(INSN.nop)).toBe(false);
  });
});

describe('register windows and the trap glue', () => {
  it('spill/fill and clean_window traps reach the glue from both modes, and user registers come back', () => {
    const traps = new Map<number, number>();
    const r = h.run(
      prog([
        set('g2', 0x1234),
        // ten windows deep in user mode: user spills (0x84), fills (0xc4), clean_window (0x24)
        raw(['mov 10, %g3', '1: save %sp, -192, %sp', 'brnz,pt %g3, 1b', ' sub %g3, 1, %g3'].join('\n')),
        raw(['mov 10, %g3', '2: restore', 'brnz,pt %g3, 2b', ' sub %g3, 1, %g3'].join('\n')),
        sys('sched_yield'),
        sys('getpid'),
        store('g2', 'g2'),
        store('ret', 'pid'),
        sys('exit', 0),
      ]),
      {
        setup(k) {
          k.m.hookInterrupt((intno) => traps.set(intno, (traps.get(intno) ?? 0) + 1));
        },
      },
    );
    expect(traps.get(0x84)).toBeGreaterThan(2);
    expect(traps.get(0xc4)).toBeGreaterThan(2);
    expect(traps.get(TT.CLEAN_WINDOW)).toBeGreaterThan(0);
    expect(traps.get(0x80)).toBeGreaterThan(0); // kernel windows, flushw in switch_to
    expect(traps.get(0xc0)).toBeGreaterThan(0);
    expect(r.slot(1, 'g2')).toBe(0x1234n);
    expect(r.slot(1, 'pid')).toBe(1n);
  });

  it('a user spill onto a stack that is not user memory parks the window and ends in SIGSEGV (winfixup.S spill_fixup)', () => {
    const r = h.run(prog([raw(['mov 0x10, %sp', 'mov 8, %g3', '1: save %sp, -192, %sp', 'brnz,pt %g3, 1b', ' sub %g3, 1, %g3'].join('\n')), sys('exit', 0)]));
    expect(r.k.task(1)!.killedBy).toBe(r.k.abi.sig.SIGSEGV);
    expect(r.k.trace.some((l) => l.startsWith('1:window fault code 0xb'))).toBe(true);
  });

  it('a user fill from a stack that is not user memory ends in SIGSEGV (fill_fixup)', () => {
    const r = h.run(prog([raw(['save %sp, -192, %sp', 'flushw', 'mov 0x10, %fp', 'restore'].join('\n')), sys('exit', 0)]));
    expect(r.k.task(1)!.killedBy).toBe(r.k.abi.sig.SIGSEGV);
    expect(r.k.trace.some((l) => l.startsWith('1:window fault code 0x8'))).toBe(true);
  });

  it('an unknown syscall returns the positive errno with xcc.C and icc.C set (ENOSYS is 90 on sparc)', () => {
    const r = h.run(prog([sys('gettid'), store('ret', 'ok'), store('ccr', 'okc'), set('g1', 400), raw('ta 0x6d'), store('ret', 'e'), store('ccr', 'ec'), sys('exit', 0)]));
    expect(r.slot(1, 'ok')).toBe(1n);
    expect(r.slot(1, 'okc')! & 0x11n).toBe(0n);
    expect(r.slot(1, 'e')).toBe(90n);
    expect(r.slot(1, 'ec')! & 0x11n).toBe(0x11n);
  });

  it('fork: the child gets the parent pid in %o0 and 1 in %o1 from the kernel; the libc fixup makes it 0', () => {
    const r = h.run(
      prog([
        set('o1', 0x77),
        set('g1', 2), // fork, without the wrapper's fixup
        raw('ta 0x6d'),
        store('o0', 'o0'),
        store('o1', 'o1'),
        { op: 'beqz', reg: 'o1', label: 'parent' },
        sys('exit', 0),
        label('parent'),
        sys('wait4', -1, 0, 0, 0),
        sys('exit', 0),
      ]),
    );
    const child = r.k.tasks.find((t) => t.parent?.pid === 1)!;
    expect(r.slot(1, 'o0')).toBe(BigInt(child.pid));
    expect(r.slot(1, 'o1')).toBe(0n);
    expect(r.slot(child.pid, 'o0')).toBe(1n);
    expect(r.slot(child.pid, 'o1')).toBe(1n);
  });

  it('clone with a new stack from the outermost frame (saved %fp 0): clone_stackframe cannot copy, -EFAULT', () => {
    const r = h.run(
      prog(
        [set('o0', 0x100 | 20), set('o1', { data: 'top' }), set('o2', 0), set('o3', 0), set('o4', 0), set('g1', 217), raw('ta 0x6d'), store('ret', 'r'), store('ccr', 'rc'), sys('exit', 0)],
        { stack: new Array<bigint>(64).fill(0n), top: [0n] },
      ),
    );
    expect(r.slot(1, 'r')).toBe(14n); // EFAULT
    expect(r.slot(1, 'rc')! & 0x11n).toBe(0x11n);
    expect(r.k.tasks.filter((t) => t.parent?.pid === 1 && t.state !== 'dead')).toHaveLength(0);
  });

  it('exec leaves the user %sp biased, one register window save area below the stack top', () => {
    const r = h.run(prog([store('sp', 'sp'), sys('exit', 0)]));
    const sp = r.slot(1, 'sp')!;
    expect((sp + 2047n) % 16n).toBe(0n);
    expect(r.k.desc.abi.execSpOffset).toBe(2175);
  });
});

describe('signals and restarts as sparc64 6.18 does them', () => {
  it('a handler-less ERESTARTSYS restart rewinds by 8: the instruction before `ta` runs again, %g1 = 0 after the kernel', () => {
    const r = h.run(prog([sys('read', 0, { data: 'buf' }, 4), store('ret', 'r'), sys('exit', 0)], { buf: [0n, 0n] }), {
      setup(k) {
        k.world.events.push((kk) => kk.sendSignal(kk.task(1)!, kk.abi.sig.SIGSTOP), (kk) => kk.sendSignal(kk.task(1)!, kk.abi.sig.SIGCONT), (kk) => {
          kk.inputQueue.push(new TextEncoder().encode('abcd'));
          for (const t of kk.tasks) kk.wakeUp(t);
        });
      },
    });
    const reads = r.k.syscalls.filter((s) => s.name === 'read');
    expect(reads).toHaveLength(2);
    expect(reads[1]!.userInsns).toBe(2); // mov 3, %g1; ta 0x6d
    expect(r.k.trace).toContain('1:restart-rewind restart_syscall');
    expect(r.slot(1, 'r')).toBe(4n);
  });

  it('the rt signal frame: pt_regs at +320; the handler gets %o2 = &info, the sigcontext with the regs 128 bytes on', () => {
    expect(RT_FRAME.regs).toBe(320n);
    expect(RT_FRAME.size).toBe(528n);
    expect(h.port.signal.ucontext_reg_offset('o0')).toBe(128 + 64);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(128 + 136);
    expect(h.port.signal.ucontext_reg_offset('ccr')).toBe(128 + 128 + 3);
  });
});
