// What is only m68k's: the 68040 CPU model on Unicorn 2.0.1 (calibration, the lazy
// condition codes, banked stack pointers, exception entry and rte done by the model), the
// entry state at system_call, the switch_stack next to pt_regs, the signal frames with
// their trampolines on the user stack, and the places where m68k Linux 6.18 does not do
// what the shared scenarios expect, pinned here as 6.18 does them.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine, type UnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { USER_STACK_TOP } from '@archkit/generic-core/kernel/layout';
import { comparableRegs, fillValue, type Op, type UserProgram, type Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { ccEffect, cpu, SR, TIMER_LEVEL, VEC } from '../src/cpu.ts';
import { GREGS, RT_SIGFRAME, SIGFRAME, SC, UC } from '../src/signal.ts';
import { THREAD_INFO } from '../src/process.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

const machines: UnicornMachine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

/** Machine code for a bare machine, assembled by the port's own assembler. */
function asm(text: string, base: bigint): Uint8Array {
  return h.asm.assemble({ file: 'test.S', text: `${text}\n` }, { base }).bytes;
}

/** struct sigaction {handler, flags, restorer, mask} (m68k: 20 bytes, big-endian) for a handler label. */
function sigaction(handler: string, flags: bigint): NonNullable<UserProgram['data']>[string] {
  return {
    size: 20,
    build(resolve) {
      const b = Buffer.alloc(20);
      b.writeUInt32BE(Number(resolve(handler)), 0);
      b.writeUInt32BE(Number(flags), 4);
      return b;
    },
  };
}

describe('68040 CPU model on Unicorn 2.0.1', () => {
  it('starts in user mode with no stack bank selected; SR banks A7 between the ISP and the USP, usp/isp reach the other bank', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    expect(cpu.privilege(m)).toBe(0); // QEMU's reset (S, IPL 7) never ran
    m.setReg('sr', 0x2700n);
    m.setReg('sp', 0x4000n);
    m.setReg('usp', 0x9000n);
    expect(m.reg('isp')).toBe(0x4000n);
    cpu.setPrivilege(m, 0);
    expect(m.reg('sp')).toBe(0x9000n);
    expect(m.reg('usp')).toBe(0x9000n);
    expect(m.reg('isp')).toBe(0x4000n);
    cpu.setPrivilege(m, 1);
    expect(m.reg('sp')).toBe(0x4000n);
    expect(cpu.irqsEnabled(m)).toBe(false);
    cpu.setIrqsEnabled(m, true);
    expect(m.reg('sr') & BigInt(SR.IPL)).toBe(0n);
    expect(cpu.irqsEnabled(m)).toBe(true);
  });

  it('SR read through the model carries the condition codes QEMU keeps lazily (the register API gives only the system byte)', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0x1000n, 0x1000);
    m.write(0x1000n, asm('movel #0x80000000,%d3\n subql #1,%d3\n nop', 0x1000n));
    m.setReg('sr', 0x2700n);
    m.run(0x1000n, { instructions: 10 }, 0x1008n);
    expect(m.uc.regRead(17) & 0x1fn).toBe(0n);
    expect(m.reg('sr')).toBe(0x2702n); // SUBL overflow: V
    cpu.setIrqsEnabled(m, true);
    expect(m.reg('sr')).toBe(0x2002n); // the CCR survives an IPL change
  });

  it('user mode is enforced: move to SR, move usp and rte at user level are privilege violations (vector 8) with the pc on the instruction', () => {
    for (const insn of ['movew #0x2700,%sr', 'movel %a0,%usp', 'rte']) {
      const m = createUnicornMachine(cpu.unicorn);
      machines.push(m);
      m.map(0x1000n, 0x1000);
      m.write(0x1000n, asm(`nop\n ${insn}\n nop`, 0x1000n));
      m.setReg('sr', 0x0000n);
      const seen: Array<[number, bigint]> = [];
      m.hookInterrupt((n) => {
        seen.push([n, m.reg('pc')]);
        m.stop();
      });
      m.run(0x1000n, { instructions: 10 });
      expect(seen, insn).toEqual([[VEC.PRIV, 0x1002n]]);
    }
  });
});

describe('interrupts (C12)', () => {
  it('ccEffect: how QEMU leaves cc_op after an instruction, from translate.c', () => {
    const op = (text: string) => {
      const b = asm(text, 0n);
      return ccEffect((b[0]! << 8) | b[1]!);
    };
    expect(op('moveq #1,%d0')).toBe(11); // LOGIC
    expect(op('movel %d0,%sp@(4)')).toBe(11);
    expect(op('movel %d0,%a0')).toBe('none'); // movea
    expect(op('addql #1,%d0')).toBe(4); // ADDL
    expect(op('addql #4,%sp')).toBe('none');
    expect(op('subql #1,%d0')).toBe(7); // SUBL
    expect(op('cmpil #5,%d0')).toBe(10); // CMPL
    expect(op('subiw #24,%d0')).toBe(6); // SUBW
    expect(op('btst #5,%sp@(44)')).toBe(1); // FLAGS
    expect(op('lslw #1,%d0')).toBe(1);
    expect(op('oriw #0x700,%sr')).toBe(1);
    expect(op('moveml %d1-%d5/%a0-%a2,%sp@-')).toBe('none');
    expect(op('jeq .')).toBe('env');
    expect(op('rts')).toBe('env');
    expect(op('movew #0x2700,%sr')).toBe('env');
    expect(op('fsave %a0@')).toBe('unknown');
  });

  it('the timer is the level-6 autovector: the entry stacks the interrupted pc and SR (its condition codes too) in a format-0 frame with vector 30, IPL 6', () => {
    let frame: { sr: bigint; pc: bigint; fv: bigint; ipl: bigint } | undefined;
    const r = h.run(prog([set('d1', 0), label('t'), { op: 'beqz', reg: 'd1', label: 'z' }, label('z'), { op: 'nop' }, sys('exit', 0)]), {
      setup(k) {
        const at = k.sym('auto_inthandler');
        k.m.hookCode(at, at, () => {
          const sp = k.m.reg('sp');
          frame = { sr: k.m.readUint(sp, 2), pc: k.m.readUint(sp + 2n, 4), fv: k.m.readUint(sp + 6n, 2), ipl: (k.m.reg('sr') >> 8n) & 7n };
        });
        // before the jeq, after the tstl that set Z
        k.irqPlan = { source: { kind: 'tick' }, afterPc: k.programs['/init']!.symbols.get('t')!, limit: 1 };
      },
    });
    expect(r.k.irqs).toHaveLength(1);
    expect(frame!.fv).toBe(BigInt((VEC.SPUR + TIMER_LEVEL) * 4));
    expect(frame!.ipl).toBe(BigInt(TIMER_LEVEL));
    expect(frame!.pc).toBe(r.k.irqs[0]!.pc);
    expect(frame!.sr & 0x04n).toBe(0x04n); // Z from tstl, mid-block: the model's cc_op, not env's stale one
    expect(frame!.sr & BigInt(SR.S)).toBe(0n);
  });

  it('an interrupt at any instruction leaves the branches on the condition codes as they were (the lazy CCR across the entry and the rte)', () => {
    const ops = [
      set('d1', 0),
      { op: 'beqz', reg: 'd1', label: 'a' } as Op,
      { op: 'inc', slot: 'bad' } as Op,
      label('a'),
      set('d2', 7),
      { op: 'bnez', reg: 'd2', label: 'b' } as Op,
      { op: 'inc', slot: 'bad' } as Op,
      label('b'),
      { op: 'inc', slot: 'good' } as Op,
      { op: 'load', reg: 'd3', slot: 'good' } as Op,
      { op: 'beqz', reg: 'd3', label: 'c' } as Op,
      { op: 'inc', slot: 'good' } as Op,
      label('c'),
      sys('exit', 0),
    ];
    const ref = h.run(prog(ops));
    const total = ref.k.m.instructionCount();
    let taken = 0;
    for (let i = 0; i < total; i++) {
      const r = h.run(prog(ops), { setup: (k) => (k.irqPlan = { source: { kind: 'tick' }, at: [i], limit: 1 }) });
      taken += r.k.irqs.length;
      expect(r.slot(1, 'bad'), `interrupt before instruction ${i}`).toBe(0n);
      expect(r.slot(1, 'good'), `interrupt before instruction ${i}`).toBe(2n);
    }
    expect(taken).toBeGreaterThan(total / 3);
  });

  it('the thread pointer (thread_info.tp_value) through set/get_thread_area and the tp pseudo-register', () => {
    let tp: bigint | undefined;
    const r = h.run(prog([{ op: 'tlsSet', value: 0x1234_5678n }, sys('get_thread_area'), store('ret', 'got'), sys('getpid'), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name) => {
          if (name === 'getpid') tp = k.m.reg('tp');
        };
      },
    });
    expect(r.slot(1, 'got')).toBe(0x12345678n);
    expect(tp).toBe(0x12345678n);
  });
});

describe('entry and return', () => {
  it('trap #0 enters system_call in supervisor mode on the task stack: a format-0 frame (user SR, pc after the trap, vector 0x80), the usp untouched', () => {
    let seen: Record<string, bigint> | undefined;
    const r = h.run(prog([set('d5', 0x55n), sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
      setup(k) {
        const at = k.sym('system_call');
        k.m.hookCode(at, at, () => {
          if (seen) return;
          const sp = k.m.reg('sp');
          seen = { sr: k.m.reg('sr'), sp, fsr: k.m.readUint(sp, 2), fpc: k.m.readUint(sp + 2n, 4), fv: k.m.readUint(sp + 6n, 2), usp: k.m.reg('usp'), top: k.current().stackTop };
        });
      },
    });
    expect(seen).toBeDefined();
    expect(seen!.sr & BigInt(SR.S)).toBe(BigInt(SR.S));
    expect(seen!.sr & BigInt(SR.IPL)).toBe(0n); // a trap leaves the interrupt mask alone: syscalls run with interrupts on
    expect(seen!.sp).toBe(seen!.top - 8n);
    expect(seen!.fsr & BigInt(SR.S)).toBe(0n);
    expect(seen!.fpc).toBe(r.k.syscalls.find((s) => s.name === 'getpid')!.userPc + 2n);
    expect(seen!.fv).toBe(BigInt(VEC.SYS * 4));
    expect(seen!.usp).toBe(h.port.descriptor.memory.user + USER_STACK_TOP);
    expect(r.slot(1, 'r')).toBe(1n);
    for (const e of r.k.exits) {
      expect(e.irqsOn).toBe(false);
      expect(e.spDelta).toBe(0n);
    }
  });

  it('the work flags are tested with interrupts masked: IPL 7 from the oriw before the test up to the rte (6.18 leaves them enabled)', () => {
    const ipl: bigint[] = [];
    h.run(prog([sys('getpid'), sys('exit', 0)]), {
      setup(k) {
        const at = k.sym('ret_from_syscall') + 4n; // the movew of the flags, after the oriw
        k.m.hookCode(at, at, () => ipl.push(k.m.reg('sr') & BigInt(SR.IPL)));
      },
    });
    expect(ipl.length).toBeGreaterThan(0);
    expect(ipl.every((v) => v === BigInt(SR.IPL))).toBe(true);
  });

  it('a privileged instruction in user mode goes through trap and trap_c to SIGILL; the fault handler sees vector 8 and the instruction as pc', () => {
    let frame: { fv: bigint; pc: bigint } | undefined;
    const abi = makeAbi(4, h.port.descriptor.abi);
    const r = h.run(
      prog([label('bad'), { op: 'privileged' }, sys('exit', 0)]),
      {
        setup(k) {
          const at = k.sym('trap');
          k.m.hookCode(at, at, () => {
            const sp = k.m.reg('sp');
            frame = { fv: k.m.readUint(sp + 6n, 2), pc: k.m.readUint(sp + 2n, 4) };
          });
        },
      },
    );
    expect(frame?.fv).toBe(BigInt(VEC.PRIV * 4));
    expect(frame?.pc).toBe(r.imgs['/init']!.symbols.get('bad'));
    expect(r.k.task(1)!.killedBy).toBe(abi.sig.SIGILL);
  });

  it('an exception the 68040 stacks in a format-2 frame (zero divide) is not delivered: the model says so instead of building a wrong frame', () => {
    const run = () =>
      h.run(prog([set('d1', 0), label('div'), { op: 'nop' }, { op: 'nop' }, sys('exit', 0)]), {
        setup(k) {
          // divsl %d1,%d0 over the two nops (no arch-neutral op divides)
          const img = k.programs['/init']!;
          const at = Number(img.symbols.get('div')! - img.base);
          img.bytes.set(asm('divsl %d1,%d0', 0n), at);
        },
      });
    expect(run).toThrow(/zero divide from user mode .* not delivered by this CPU model \(the 68040 stacks a format-2/);
  });
});

describe('switch_stack and ptrace', () => {
  it('at the syscall exit stop d6, d7 and a3-a6 are in the switch_stack just below pt_regs, where the tracer reads them (regoff SW_REG)', () => {
    const d = h.port.descriptor;
    const seen: Record<string, bigint> = {};
    h.run(prog([{ op: 'fillRegs', seed: 0x6100n }, sys('getpid'), sys('exit', 0)]), {
      tracer: {
        onSyscallExit(_t, v) {
          if (v.nr() !== BigInt(d.syscall.numbers['getpid']!)) return;
          for (const r of ['d6', 'd7', 'a3', 'a6', 'd2']) seen[r] = v.get(r);
          seen['swD6'] = v.regs.m.readUint(v.regs.base - 28n, 4);
        },
      },
    });
    const val = (r: string) => fillValue(0x6100n, comparableRegs(d).indexOf(r));
    for (const r of ['d6', 'd7', 'a3', 'a6', 'd2']) expect(seen[r], r).toBe(val(r));
    expect(seen['swD6']).toBe(val('d6'));
  });

  it('fork copies the switch_stack __sys_fork pushed: the child wakes in ret_from_fork through resume with the parent\'s d6-d7/a3-a6', () => {
    let frame: { retpc: bigint; d6: bigint; ksp: bigint; sw: bigint } | undefined;
    let retFromFork = 0n;
    const d = h.port.descriptor;
    h.run(prog([{ op: 'fillRegs', seed: 0x7100n }, sys('fork'), { op: 'beqz', reg: 'ret', label: 'child' }, sys('wait4', -1, 0, 0, 0), label('child'), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name) => {
          if (name !== 'wait4' || frame) return;
          const child = k.tasks.find((t) => t.parent?.pid === 1)!;
          const sw = k.taskPtRegs(child).base - 28n;
          frame = { retpc: k.readWord(sw + 24n), d6: k.readWord(sw), ksp: k.readWord(k.taskThread(child)), sw };
          retFromFork = k.sym('ret_from_fork');
        };
      },
    });
    expect(frame).toBeDefined();
    expect(frame!.d6).toBe(fillValue(0x7100n, comparableRegs(d).indexOf('d6')));
    expect(frame!.ksp).toBe(frame!.sw);
    expect(frame!.retpc).toBe(retFromFork);
  });

  it('copy_thread of a kernel thread: thread_info.task at the stack base (GET_CURRENT), thread.ksp at the fork_frame, sr = PS_S, usp 0', () => {
    const r = h.run({}, {
      kfns: {
        *quit(k) {
          yield* k.doExit(0);
          return 0n;
        },
      },
      init: { fn: 'quit', arg: 0n },
    });
    const p = r.k.allocTask('probe', true);
    h.port.process.copy_thread(r.k, p, { flags: 0n, stack: 0n, tls: 0n, fn: 0xf00dn, fnArg: 0xa4an }, null);
    const regs = r.k.taskPtRegs(p);
    expect(r.k.readWord(p.stackBase + THREAD_INFO.task)).toBe(p.addr);
    expect(r.k.readWord(r.k.taskThread(p))).toBe(regs.base - 28n); // ksp
    expect(regs.get('sr')).toBe(BigInt(SR.S));
    expect(r.k.readWord(regs.base - 28n + 24n)).toBe(r.k.sym('ret_from_kernel_thread'));
    expect(r.k.readWord(r.k.taskThread(p) + 4n)).toBe(0n); // usp
  });
});

describe('signal frames', () => {
  it('rt_sigframe is 684 bytes: pretcode -> retcode in the frame (moveq/not.b/trap #0), sig, pinfo, puc; the handler returns through it', () => {
    expect(RT_SIGFRAME.size).toBe(684n);
    expect(UC.size).toBe(532n);
    expect(UC.formatvec).toBe(420n);
    expect(GREGS.length).toBe(18);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(24 + 16 * 4);
    expect(h.port.signal.ucontext_reg_offset('sp')).toBe(24 + 15 * 4);
    const abi = makeAbi(4, h.port.descriptor.abi);
    let seen: Record<string, bigint> | undefined;
    const r = h.run(
      prog(
        [sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8), sys('kill', 1, abi.sig.SIGUSR1), store('ret', 'r'), sys('exit', 0), label('handler'), { op: 'ret' }],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
      {
        setup(k) {
          const h0 = k.programs['/init']!.symbols.get('handler')!;
          k.m.hookCode(h0, h0, () => {
            const sp = k.m.reg('sp');
            seen = {
              sp,
              pretcode: k.readWord(sp),
              sig: k.readWord(sp + 4n),
              pinfo: k.readWord(sp + 8n),
              puc: k.readWord(sp + 12n),
              rc0: k.readWord(sp + 16n),
              rc1: k.m.readUint(sp + 20n, 2),
              version: k.readWord(sp + RT_SIGFRAME.uc + UC.mcontext),
            };
          });
        },
      },
    );
    expect(seen).toBeDefined();
    const s = seen!;
    expect(s.sp & 7n).toBe(0n);
    expect(s.pretcode).toBe(s.sp + 16n);
    expect(s.sig).toBe(BigInt(abi.sig.SIGUSR1));
    expect(s.pinfo).toBe(s.sp + 24n);
    expect(s.puc).toBe(s.sp + 152n);
    expect(s.rc0).toBe(0x70524600n); // moveq #(173 ^ 0xff),%d0; not.b %d0
    expect(s.rc1).toBe(0x4e40n); // trap #0
    expect(s.version).toBe(2n);
    expect(r.k.syscalls.find((x) => x.name === 'rt_sigreturn')?.userPc).toBe(s.sp + 20n);
    expect(r.slot(1, 'r')).toBe(0n);
  });

  it('a handler without SA_SIGINFO gets the old sigframe (sig, code, &sc) and returns through sigreturn (119) from its retcode', () => {
    const abi = makeAbi(4, h.port.descriptor.abi);
    let seen: Record<string, bigint> | undefined;
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGUSR2, { data: 'sa' }, 0, 8),
          set('a1', 0x1234n),
          sys('kill', 1, abi.sig.SIGUSR2),
          store('ret', 'r'),
          store('a1', 'a1'),
          sys('exit', 0),
          label('handler'),
          set('a1', 0x9999n),
          { op: 'ret' },
        ],
        { sa: sigaction('handler', 0n) },
      ),
      {
        setup(k) {
          const h0 = k.programs['/init']!.symbols.get('handler')!;
          k.m.hookCode(h0, h0, () => {
            const sp = k.m.reg('sp');
            seen = { sp, sig: k.readWord(sp + SIGFRAME.sig), code: k.readWord(sp + SIGFRAME.code), psc: k.readWord(sp + SIGFRAME.psc), rc: k.readWord(sp + SIGFRAME.retcode), scA1: k.readWord(sp + SIGFRAME.sc + SC.a1) };
          });
        },
      },
    );
    expect(SIGFRAME.size).toBe(312n);
    expect(seen!.sig).toBe(BigInt(abi.sig.SIGUSR2));
    expect(seen!.code).toBe(BigInt(VEC.SYS * 4));
    expect(seen!.psc).toBe(seen!.sp + 28n);
    expect(seen!.rc).toBe(0x70774e40n); // moveq #119,%d0; trap #0
    expect(seen!.scA1).toBe(0x1234n);
    expect(r.k.trace).toContain('1:sigreturn');
    expect(r.slot(1, 'r')).toBe(0n);
    expect(r.slot(1, 'a1')).toBe(0x1234n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});

describe('m68k Linux 6.18 where it differs from the shared scenarios', () => {
  it('syscall_get_arguments() gives the six C arguments d1-d5, a0 (6.18 puts orig_d0 first: mutant linux-6.18-syscall-arguments)', () => {
    const d = h.port.descriptor;
    let args: bigint[] = [];
    h.run(prog([set('d1', 11), set('d2', 22), set('d3', 33), set('d4', 44), set('d5', 55), set('a0', 66), sys('getpid'), sys('exit', 0)]), {
      tracer: {
        onSyscallEntry(_t, v) {
          if (v.nr() === BigInt(d.syscall.numbers['getpid']!)) args = v.args();
        },
      },
    });
    expect(args).toEqual([11n, 22n, 33n, 44n, 55n, 66n]);
  });

  it('SIGKILL at the syscall entry stop short-circuits the syscall: do_trace_entry skips for any non-zero return (6.18 only for -1: mutant linux-6.18-sigkill-runs-syscall)', () => {
    const d = h.port.descriptor;
    const r = h.run(prog([sys('getpid'), sys('exit', 0)]), {
      tracer: { onSyscallEntry: (_t, v) => (v.nr() === BigInt(d.syscall.numbers['getpid']!) ? { kill: true } : undefined) },
    });
    expect(r.k.syscalls.some((s) => s.name === 'getpid')).toBe(false);
    expect(r.k.task(1)!.killedBy).toBe(9);
  });

  it('a tracer skipping with -1 (syscall_set_nr) works: -ENOSYS, or what it put in d0, and no syscall', () => {
    const d = h.port.descriptor;
    const r = h.run(prog([sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
      tracer: {
        onSyscallEntry(_t, v) {
          if (v.nr() === BigInt(d.syscall.numbers['getpid']!)) v.setNr(-1n);
        },
      },
    });
    expect(r.k.syscalls.some((s) => s.name === 'getpid')).toBe(false);
    expect(r.slot(1, 'r')).toBe(-38n);
  });

  it('execve keeps the registers but a1 (ELF_PLAT_INIT); start_thread sets pc, sr and the usp only', () => {
    const d = h.port.descriptor;
    const words = (s: string) => {
      const b = Buffer.alloc(16);
      b.write(s);
      return [0, 4, 8, 12].map((o) => BigInt(b.readUInt32BE(o)));
    };
    const r = h.run({
      '/init': { name: '/init', ops: [label('_start'), { op: 'fillRegs', seed: 0x2200n }, sys('execve', { data: 'path' }, 0, 0), sys('exit', 1)], data: { path: words('/bin/next') } },
      '/bin/next': { name: '/bin/next', ops: [label('_start'), { op: 'storeRegs', prefix: 'start' }, sys('exit', 0)] },
    });
    const slot = (name: string) => r.k.results.get(1)?.get(BigInt(r.imgs['/bin/next']!.slots.get(name)!));
    expect(slot('start.a1')).toBe(0n);
    expect(slot('start.a2')).toBe(fillValue(0x2200n, comparableRegs(d).indexOf('a2')));
    expect(slot('start.d7')).toBe(fillValue(0x2200n, comparableRegs(d).indexOf('d7')));
  });
});
