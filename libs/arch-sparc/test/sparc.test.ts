// What is only sparc32's: the CPU model on Unicorn 2.0.1 (a fresh engine in user mode,
// privilege and PSR fields through the calibrated context, the V8 trap entry, register
// windows spilled and filled by the glue's own overflow/underflow handlers), the signal
// frame, and the places where sparc Linux 6.18 differs from the shared scenarios' first
// assumptions: the SunOS fork return, the 8-byte handler-less restart, the restart block
// rt_sigreturn keeps, clone_stackframe.

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { cpu, INSN, isDcti, PSR, trapEntry, TT } from '../src/cpu.ts';
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
  it('a fresh engine is in user mode with traps off; privilege and interrupt state go through the context', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      expect(cpu.privilege(m)).toBe(0);
      expect(m.reg('psr') & (PSR.S | PSR.ET)).toBe(0n);
      cpu.setPrivilege(m, 1);
      expect(m.reg('psr') & PSR.S).toBe(PSR.S);
      m.setReg('wim', 0x24n);
      m.setReg('tbr', 0x7000n);
      expect(m.reg('wim')).toBe(0x24n);
      expect(m.reg('tbr')).toBe(0x7000n);
      cpu.setIrqsEnabled(m, false);
      expect(m.reg('psr') & PSR.PIL).toBe(PSR.PIL);
      expect(cpu.irqsEnabled(m)).toBe(false);
    } finally {
      m.close();
    }
  });

  it('the V8 trap entry: ta 0x10 in user mode lands at TBR + 0x900, one window down, %l1/%l2 = pc/npc, supervisor, traps off', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.map(0n, 0x4000);
      const w = (a: bigint, ...ws: number[]) => m.write(a, Buffer.from(ws.flatMap((x) => [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff])));
      w(0x100n, INSN.cmpG0G0, 0x91d02010 /* ta 0x10 */, INSN.nop);
      w(0x1900n, INSN.nop, INSN.nop);
      m.setReg('psr', PSR.S | PSR.ET | 3n); // traps on, CWP 3
      m.setReg('tbr', 0x1000n);
      cpu.setPrivilege(m, 0);
      const seen: number[] = [];
      m.hookInterrupt((intno) => {
        seen.push(intno);
        trapEntry(m, intno);
        m.stop();
      });
      m.run(0x100n, { instructions: 10 });
      expect(seen).toEqual([TT.SYSCALL]);
      expect(m.reg('pc')).toBe(0x1900n);
      const psr = m.reg('psr');
      expect(psr & (PSR.S | PSR.PS | PSR.ET)).toBe(PSR.S);
      expect(psr & PSR.CWP).toBe(2n);
      expect(m.reg('l1')).toBe(0x104n);
      expect(m.reg('l2')).toBe(0x108n);
    } finally {
      m.close();
    }
  });

  it('delayed control transfers are recognised (no interrupt in a delay slot)', () => {
    expect(isDcti(0x10800004)).toBe(true); // ba
    expect(isDcti(0x40000010)).toBe(true); // call
    expect(isDcti(0x81c3e008)).toBe(true); // retl (jmpl)
    expect(isDcti(INSN.rettL2)).toBe(true);
    expect(isDcti(0x91d02010)).toBe(false); // ta 0x10
    expect(isDcti(INSN.nop)).toBe(false);
  });
});

describe('register windows and the trap glue', () => {
  it('window overflow and underflow traps reach the glue (switch_to flushes every window) and user registers come back', () => {
    let traps = 0;
    const r = h.run(prog([set('g2', 0x1234), sys('sched_yield'), sys('getpid'), store('g2', 'g2'), store('ret', 'pid'), sys('exit', 0)]), {
      setup(k) {
        k.m.hookInterrupt((intno) => {
          if (intno === TT.WINDOW_OVERFLOW || intno === TT.WINDOW_UNDERFLOW) traps++;
        });
      },
    });
    expect(traps).toBeGreaterThan(6);
    expect(r.slot(1, 'g2')).toBe(0x1234n);
    expect(r.slot(1, 'pid')).toBe(1n);
  });

  it('an unknown syscall returns the positive errno with PSR.C set (ENOSYS is 90 on sparc)', () => {
    const r = h.run(prog([sys('gettid'), store('ret', 'ok'), store('psr', 'okc'), set('g1', 400), raw('ta 0x10'), store('ret', 'e'), store('psr', 'ec'), sys('exit', 0)]));
    expect(r.slot(1, 'ok')).toBe(1n);
    expect(r.slot(1, 'okc')).toBe(0n);
    expect(r.slot(1, 'e')).toBe(90n);
    expect(r.slot(1, 'ec')).toBe(BigInt(PSR.C));
  });

  it('fork: the child gets the parent pid in %o0 and 1 in %o1 from the kernel; the libc fixup makes it 0', () => {
    const r = h.run(
      prog([
        set('o1', 0x77),
        set('g1', 2), // fork, without the wrapper's fixup
        raw('ta 0x10'),
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

  it('clone with a new stack from the outermost frame (%fp 0): clone_stackframe has nothing to copy, -EFAULT', () => {
    const r = h.run(
      prog(
        [set('o0', 0x100 | 20), set('o1', { data: 'top' }), set('o2', 0), set('o3', 0), set('o4', 0), set('g1', 217), raw('ta 0x10'), store('ret', 'r'), store('psr', 'rc'), sys('exit', 0)],
        { stack: new Array<bigint>(64).fill(0n), top: [0n] },
      ),
    );
    expect(r.slot(1, 'r')).toBe(14n); // EFAULT
    expect(r.slot(1, 'rc')).toBe(BigInt(PSR.C));
    expect(r.k.tasks.filter((t) => t.parent?.pid === 1 && t.state !== 'dead')).toHaveLength(0);
  });
});

describe('signals and restarts as sparc 6.18 does them', () => {
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
    expect(reads[1]!.userInsns).toBe(2); // mov 3, %g1; ta 0x10
    expect(r.k.trace).toContain('1:restart-rewind restart_syscall');
    expect(r.slot(1, 'r')).toBe(4n);
  });

  it('the rt signal frame: pt_regs at +224, the window copy at +0, the handler gets %o2 = &regs', () => {
    expect(RT_FRAME.regs).toBe(224n);
    expect(RT_FRAME.size).toBe(344n);
    expect(h.port.signal.ucontext_reg_offset('o0')).toBe(48);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(4);
    expect(h.port.signal.ucontext_reg_offset('g2')).toBe(24);
  });
});
