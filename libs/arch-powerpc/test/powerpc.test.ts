// What is only powerpc's (32-bit): the CPU model on Unicorn 2.0.1 (privilege through the
// MSR, SPRs through the context, the interrupt entry, the BATs keeping problem state out of
// the kernel), the exception frame and the trap word, the two signal frames, and the places
// where powerpc Linux 6.18 differs from what the shared scenarios assume (volatile registers
// across a syscall, the non-volatiles an exec'd image inherits, a skipped syscall's result).

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { POISON64 } from '@archkit/generic-core/kernel/bridge';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { batPair, batsFor, cpu, MSR, MSR_USER, SRR1_PROG } from '../src/cpu.ts';
import { MC, RT_SIGFRAME, SC, SIGFRAME, UC } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });
const POISON = POISON64 & 0xffffffffn;

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

/** struct sigaction {handler, flags, restorer, mask[2]} (32-bit, big-endian). */
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

describe('CPU model on Unicorn 2.0.1 (7400)', () => {
  it('privilege is MSR[PR] and takes effect through the register API; SRR0/SRR1 written in the context are what mfspr reads', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.map(0n, 0x4000);
      const code = Buffer.alloc(12);
      code.writeUInt32BE(0x7d3a02a6, 0); // mfsrr0 r9
      code.writeUInt32BE(0x7d4000a6, 4); // mfmsr r10
      code.writeUInt32BE(0x60000000, 8);
      m.write(0x1000n, code);
      m.setReg('srr0', 0x1234n);
      m.setReg('msr', MSR.ME);
      expect(cpu.privilege(m)).toBe(0);
      const intr: number[] = [];
      m.hookInterrupt((i) => {
        intr.push(i);
        m.stop();
      });
      m.run(0x1000n, { instructions: 10 }, 0x1008n);
      expect(m.reg('r9')).toBe(0x1234n);
      expect(m.reg('r10')).toBe(MSR.ME);
      cpu.setPrivilege(m, 1);
      expect(cpu.privilege(m)).toBe(1);
      m.run(0x1000n, { instructions: 10 }, 0x1008n);
      expect(intr).toEqual([6]); // the same, already translated mfsrr0 is now a program check
    } finally {
      m.close();
    }
  });

  it('BATs: the kernel one is supervisor-only from 0, the user one valid in problem state; a user BAT over kernel memory is refused', () => {
    const d = h.port.descriptor;
    const b = batsFor(d.memory);
    expect(b.kernel.upper & 3n).toBe(2n); // Vs only
    expect(b.user.upper & 3n).toBe(3n); // Vs and Vp
    expect(b.user.upper & 0xfffe0000n).toBe(d.memory.user);
    expect(batPair(0x10000000n, 0x40000n, true)).toEqual({ upper: 0x10000007n, lower: 0x10000002n });
    expect(() => batsFor({ ...d.memory, user: 0x100000n })).toThrow(/overlaps the kernel BAT/);
  });
});

describe('exception entry and frames', () => {
  it('sc: SystemCall at 0xc00 with SRR0 = the next instruction and SRR1 = MSR_USER; pt_regs at the stack top with trap 0xc00, orig_gpr3, the REGS marker, SO cleared in ccr', () => {
    let seen: Record<string, bigint> | undefined;
    let frame: Record<string, bigint> | undefined;
    const r = h.run(prog([set('r3', 0x77n), sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('SystemCall');
        k.m.hookCode(vec, vec, () => {
          if (seen) return;
          seen = { srr0: k.m.reg('srr0'), srr1: k.m.reg('srr1'), msr: k.m.reg('msr'), sprg3: k.m.reg('sprg3') };
        });
        k.onSyscall = (name) => {
          if (name !== 'getpid') return;
          const regs = k.currentPtRegs();
          frame = { base: regs.base, trap: regs.get('trap'), orig: regs.get('orig_gpr3'), msr: regs.get('msr'), ccr: regs.get('ccr'), marker: k.readWord(regs.base - 8n) };
        };
      },
    });
    const getpid = r.k.syscalls.find((s) => s.name === 'getpid')!;
    expect(seen!.srr0).toBe(getpid.userPc + 4n);
    expect(seen!.srr1).toBe(MSR_USER);
    expect(seen!.msr).toBe(MSR.ME); // supervisor, real mode, EE off
    expect(seen!.sprg3).toBe(r.k.task(1)!.addr + 64n); // &current->thread
    expect(frame!.base).toBe(r.k.task(1)!.stackTop - 192n);
    expect(frame!.trap).toBe(0xc00n);
    expect(frame!.marker).toBe(0x52454753n);
    expect(frame!.orig).toBe(0x77n);
    expect(frame!.ccr & 0x10000000n).toBe(0n);
    expect(r.slot(1, 'r')).toBe(1n);
  });

  it('an error comes back as a positive errno with CR0.SO set; success clears SO', () => {
    const r = h.run(prog([sys('kill', 999, 0), store('ret', 'e'), store('cr', 'ecr'), sys('getpid'), store('ret', 'p'), store('cr', 'pcr'), sys('exit', 0)]));
    expect(r.slot(1, 'e')).toBe(3n); // ESRCH
    expect(r.slot(1, 'ecr')! & 0x10000000n).toBe(0x10000000n);
    expect(r.slot(1, 'p')).toBe(1n);
    expect(r.slot(1, 'pcr')! & 0x10000000n).toBe(0n);
  });

  it('a privileged instruction in problem state is a program check with SRR1[PRIV]: SIGILL', () => {
    let reason: bigint | undefined;
    const r = h.run(prog([{ op: 'privileged' }, sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('ProgramCheck');
        k.m.hookCode(vec, vec, () => (reason = k.m.reg('srr1')));
      },
    });
    expect(reason! & SRR1_PROG.PRIV).toBe(SRR1_PROG.PRIV);
    expect(r.k.task(1)!.killedBy).toBe(4);
  });

  it('problem state cannot reach kernel memory: a store is a DSI (DAR = the address), a jump an ISI; both SIGSEGV', () => {
    const d = h.port.descriptor;
    const target = d.memory.kernelData + 0x100n;
    let dar: bigint | undefined;
    // ctx_store writes r5 + offset: r5 chosen so that the store hits `target`
    const off = BigInt(h.port.signal.ucontext_reg_offset('r3'));
    const r = h.run(prog([set('r5', target - off), { op: 'ctxStore', reg: 'r3', value: 0x5a5an }, sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('DataAccess');
        k.m.hookCode(vec, vec, () => (dar = k.m.reg('dar')));
      },
    });
    expect(dar).toBe(target);
    expect(r.k.m.readUint(target, 4)).toBe(0n);
    expect(r.k.task(1)!.killedBy).toBe(11);
    const r2 = h.run(prog([set('lr', 0x3000n), { op: 'ret' }, sys('exit', 0)]));
    expect(r2.k.trace).toContain('1:fault sig11');
    expect(r2.k.task(1)!.killedBy).toBe(11);
  });
});

describe('signal frames', () => {
  it('struct rt_sigframe is 1536 bytes (siginfo, ucontext with uc_mcontext at 192, abigap); mc_gregs is pt_regs', () => {
    expect(RT_SIGFRAME.size).toBe(1536n);
    expect(UC.mcontext).toBe(192n);
    expect(MC.size).toBe(992n);
    expect(SIGFRAME.size).toBe(1248n);
    expect(SC.size).toBe(32n);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(192 + 128);
    expect(h.port.signal.ucontext_reg_offset('cr')).toBe(192 + 152);
    for (const f of h.port.descriptor.ptRegs.fields.filter((x) => x.reg)) expect(h.port.signal.ucontext_reg_offset(f.reg!)).toBe(192 + f.offset);
  });

  it('SA_SIGINFO: r3 = sig, r4 = &info, r5 = &uc, r6 = frame, r1 80 bytes below it with a back chain, LR = __kernel_sigtramp_rt32', () => {
    const abi = makeAbi(4, h.port.descriptor.abi);
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8),
          sys('kill', 1, abi.sig.SIGUSR1),
          store('ret', 'r'),
          sys('exit', 0),
          label('handler'),
          ...['r1', 'r3', 'r4', 'r5', 'r6', 'lr'].map((x) => store(x, `h.${x}`)),
          { op: 'ret' },
        ],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
    );
    const s = (n: string) => BigInt.asUintN(32, r.slot(1, n)!);
    const frame = s('h.r6');
    expect(s('h.r3')).toBe(BigInt(abi.sig.SIGUSR1));
    expect(s('h.r4')).toBe(frame);
    expect(s('h.r5')).toBe(frame + RT_SIGFRAME.uc);
    expect(s('h.r1')).toBe(frame - 80n);
    expect(s('h.lr')).toBe(r.k.sym('__kernel_sigtramp_rt32'));
    expect(r.k.syscalls.find((x) => x.name === 'rt_sigreturn')?.userPc).toBe(r.k.sym('__kernel_sigtramp_rt32') + 4n);
    expect(r.slot(1, 'r')).toBe(0n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('without SA_SIGINFO: the old struct sigframe, r4 = &sigcontext, LR = __kernel_sigtramp32, and sys_sigreturn (119) restores it', () => {
    const abi = makeAbi(4, h.port.descriptor.abi);
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8),
          set('r20', 0x2020n),
          sys('kill', 1, abi.sig.SIGUSR1),
          store('r20', 'r20'),
          sys('exit', 0),
          label('handler'),
          store('r1', 'h.r1'),
          store('r4', 'h.r4'),
          store('lr', 'h.lr'),
          set('r20', 0x6666n),
          { op: 'ret' },
        ],
        { sa: sigaction('handler', 0n) },
      ),
    );
    const s = (n: string) => BigInt.asUintN(32, r.slot(1, n)!);
    expect(s('h.r4')).toBe(s('h.r1') + 64n); // the sigcontext starts the frame, 64 bytes above r1
    expect(s('h.lr')).toBe(r.k.sym('__kernel_sigtramp32'));
    expect(r.k.syscalls.filter((x) => x.name === 'sigreturn')).toHaveLength(1);
    expect(r.slot(1, 'r20')).toBe(0x2020n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('sigreturn takes nothing of the saved MSR but LE: a handler cannot give itself supervisor state', () => {
    const abi = makeAbi(4, h.port.descriptor.abi);
    const r = h.run(
      prog(
        [sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8), sys('kill', 1, abi.sig.SIGUSR1), sys('getpid'), store('ret', 'r'), sys('exit', 0), label('handler'), { op: 'ctxStore', reg: 'msr', value: 0x1032n }, { op: 'ret' }],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
    );
    expect(r.slot(1, 'r')).toBe(1n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});

describe('powerpc Linux 6.18 where it differs from the shared scenarios', () => {
  it('the fast syscall exit restores r1, r2, r3, cr, lr only: the volatile registers hold what the kernel left (here the poison of C calls, or its own values)', () => {
    const r = h.run(prog([...['r0', 'r4', 'r9', 'r12', 'r14'].map((x) => set(x, 0x1111n)), sys('getpid'), ...['r0', 'r4', 'r9', 'r12', 'r14'].map((x) => store(x, x)), sys('exit', 0)]));
    const s = (n: string) => BigInt.asUintN(32, r.slot(1, n)!);
    expect(s('r0')).toBe(POISON);
    expect(s('r9')).toBe(POISON);
    expect(s('r4')).toBe(0n); // _LINK, the user's lr, loaded by the exit path itself
    expect(s('r14')).toBe(0x1111n); // non-volatile: kept
  });

  it('execve: the new image starts with r1, r2, r3, lr and cr from the fresh pt_regs, but the non-volatiles r13..r31 of the old image', () => {
    const words = (str: string) => {
      const b = Buffer.alloc(16);
      b.write(str);
      return [0, 4, 8, 12].map((o) => BigInt(b.readUInt32BE(o)));
    };
    const r = h.run({
      '/init': { name: '/init', ops: [label('_start'), set('r2', 0x2222n), set('r13', 0x1313n), set('r31', 0x3131n), sys('execve', { data: 'path' }, 0, 0), sys('exit', 1)], data: { path: words('/bin/next') } },
      '/bin/next': { name: '/bin/next', ops: [label('_start'), store('r2', 'r2'), store('r13', 'r13'), store('r31', 'r31'), store('lr', 'lr'), sys('exit', 0)] },
    });
    const slot = (name: string) => r.k.results.get(1)?.get(BigInt(r.imgs['/bin/next']!.slots.get(name)!));
    expect(slot('r2')).toBe(0n);
    expect(slot('lr')).toBe(0n);
    expect(slot('r13')).toBe(0x1313n);
    expect(slot('r31')).toBe(0x3131n);
  });

  it('a tracer that skips a syscall at the entry stop finds -ENOSYS in r3 afterwards: do_syscall_trace_enter() writes it over whatever the tracer set', () => {
    const d = h.port.descriptor;
    const r = h.run(prog([sys('getpid'), store('ret', 'r'), store('cr', 'cr'), sys('exit', 0)]), {
      tracer: {
        onSyscallEntry(_t, v) {
          if (v.nr() !== BigInt(d.syscall.numbers['getpid']!)) return;
          v.setNr(-1n);
          v.setReturn(0x5a5an);
        },
      },
    });
    expect(r.k.syscalls.some((s) => s.name === 'getpid')).toBe(false);
    expect(r.slot(1, 'r')).toBe(38n); // ENOSYS, with CR0.SO
    expect(r.slot(1, 'cr')! & 0x10000000n).toBe(0x10000000n);
  });

  it('the exit loop masks TIF_RESTORE_TM out: set alone it stays set (only 64-bit transactional memory sets and clears it)', () => {
    let flagsAfter: bigint | undefined;
    const r = h.run(prog([sys('getpid'), sys('gettid'), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name, t) => {
          if (name === 'getpid') k.setTif(t, 'RESTORE_TM');
          if (name === 'gettid') flagsAfter = k.tiFlags(t);
        };
      },
    });
    expect(flagsAfter! & r.k.tifBit('RESTORE_TM')).toBe(r.k.tifBit('RESTORE_TM'));
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});
