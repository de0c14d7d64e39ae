// What is only riscv64's: the CPU model on Unicorn 2.0.1 (calibration, privilege, CSRs
// from any mode, the trap and interrupt entry, Sv39 keeping user mode out of the kernel),
// the signal frame layout, and three places where riscv Linux 6.18 differs from what the
// shared scenarios expect (first syscall argument in orig_a0, tp as `current` in the
// kernel, no register clearing at exec), pinned here as riscv does them.

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { createAssembler } from '@archkit/generic-core/asm/create';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { comparableRegs, fillValue, type Op, type UserProgram, type Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { cpu, EXC, interruptEntry, IRQ_S_TIMER, kernelPte, PRV_M, PRV_S, PRV_U, SR, sv39RootTable, userPte } from '../src/cpu.ts';
import { RT_SIGFRAME, UC, USER_REGS } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

/** struct sigaction {handler, flags, mask} (riscv: no sa_restorer) for a handler label. */
function sigaction(handler: string, flags: bigint): NonNullable<UserProgram['data']>[string] {
  return {
    size: 24,
    build(resolve) {
      const b = Buffer.alloc(24);
      b.writeBigUInt64LE(resolve(handler), 0);
      b.writeBigUInt64LE(flags, 8);
      return b;
    },
  };
}

describe('CPU model on Unicorn 2.0.1', () => {
  it('switches privilege through the context and reads S-mode CSRs from U-mode, where the register API cannot', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      expect(cpu.privilege(m)).toBe(PRV_M); // Unicorn starts in M-mode
      cpu.setPrivilege(m, PRV_S);
      m.setReg('sepc', 0x1234n);
      m.setReg('sstatus', SR.SPIE | SR.SIE);
      cpu.setPrivilege(m, PRV_U);
      expect(cpu.privilege(m)).toBe(PRV_U);
      expect(m.reg('sepc')).toBe(0x1234n);
      expect(m.reg('sstatus') & (SR.SPIE | SR.SIE)).toBe(SR.SPIE | SR.SIE);
      expect(cpu.irqsEnabled(m)).toBe(true);
      // the pitfall the context accessors avoid: the API refuses S CSRs in U-mode, silently
      expect(m.uc.regRead(140)).not.toBe(0x1234n);
    } finally {
      m.close();
    }
  });

  it('Sv39 root table: identity gigapages, U only on the user region; a region sharing the user gigapage is refused', () => {
    const d = h.port.descriptor;
    const t = sv39RootTable(d.memory);
    expect(t[0]).toBe(kernelPte(0n));
    expect(t[Number(d.memory.user >> 30n)]).toBe(userPte(d.memory.user));
    expect(t.filter((x) => x !== 0n)).toHaveLength(2);
    expect(() => sv39RootTable({ ...d.memory, user: 0x800000n })).toThrow(/share the gigapage/);
  });

  it('an all-zero halfword gets no code hook (why the C stub page is filled with unimp)', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.map(0n, 0x4000);
      const jal = Buffer.alloc(4);
      jal.writeUInt32LE(0x000010ef, 0); // jal ra, +0x1000
      m.write(0x1000n, jal);
      cpu.setPrivilege(m, PRV_S);
      let hooked = 0;
      const intr: number[] = [];
      m.hookCode(0x2000n, 0x2fffn, () => {
        hooked++;
        m.setReg('pc', m.reg('ra'));
      });
      m.hookInterrupt((i) => {
        intr.push(i);
        m.stop();
      });
      m.run(0x1000n, { instructions: 10 }, 0x1004n);
      expect(hooked).toBe(0);
      expect(intr).toEqual([EXC.INST_ILLEGAL]);
    } finally {
      m.close();
    }
  });
});

describe('trap entry and return', () => {
  it('a syscall enters handle_exception in S-mode with sepc at the ecall, scause 8, SPP clear, SPIE from SIE, SIE off; pt_regs saved; sret leaves kernel_sp at the stack top', () => {
    let seen: Record<string, bigint> | undefined;
    const r = h.run(prog([sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('handle_exception');
        k.m.hookCode(vec, vec, () => {
          if (seen) return;
          seen = { priv: BigInt(k.cpu.privilege(k.m)), sepc: k.m.reg('sepc'), scause: k.m.reg('scause'), sstatus: k.m.reg('sstatus'), sscratch: k.m.reg('sscratch'), tp: k.m.reg('tp') };
        });
      },
    });
    expect(seen).toBeDefined();
    expect(seen!.priv).toBe(BigInt(PRV_S));
    expect(seen!.scause).toBe(8n);
    expect(seen!.sepc).toBe(r.k.syscalls.find((s) => s.name === 'getpid')!.userPc); // the ecall itself
    expect(seen!.sstatus & (SR.SPP | SR.SIE)).toBe(0n);
    expect(seen!.sstatus & SR.SPIE).toBe(SR.SPIE);
    expect(seen!.sscratch).toBe(r.k.task(1)!.addr); // current, left there by ret_from_exception
    expect(r.slot(1, 'r')).toBe(1n);
    for (const e of r.k.exits) expect(e.spDelta).toBe(0n);
  });

  it('a timer interrupt at a user instruction goes through handle_exception -> do_irq and back to the same instruction, every register intact', () => {
    const d = h.port.descriptor;
    let mark = 0n;
    const r = h.run(prog([{ op: 'fillRegs', seed: 0x5100n }, label('mark'), { op: 'nop' }, { op: 'storeRegs', prefix: 'after' }, sys('exit', 0)]), {
      setup(k) {
        mark = k.programs['/init']!.symbols.get('mark')!;
        k.irqPlan = { source: { kind: 'tick' }, afterPc: mark, limit: 1 };
      },
    });
    expect(r.k.irqs).toHaveLength(1);
    // taken before the instruction after the nop (c.nop: 2 bytes under rv64gc)
    expect(r.k.irqs[0]).toMatchObject({ user: true, pc: mark + 2n, handled: true });
    expect(r.k.handledWork['handle_irq']).toBe(1);
    comparableRegs(d).forEach((x, i) => expect(r.slot(1, `after.${x}`), x).toBe(BigInt.asIntN(64, fillValue(0x5100n, i))));
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('interruptEntry: taken in U-mode, refused in S-mode with SIE clear', () => {
    const r = h.run(prog([sys('exit', 0)]));
    const m = r.k.m;
    cpu.setPrivilege(m, PRV_S);
    m.setReg('sstatus', m.reg('sstatus') & ~SR.SIE);
    expect(cpu.irq!.canTake(m)).toBe(false);
    expect(interruptEntry(m, IRQ_S_TIMER)).toBe(false);
    cpu.setPrivilege(m, PRV_U);
    expect(cpu.irq!.canTake(m)).toBe(true);
  });

  it('user mode cannot run kernel text: a jump there is an instruction page fault, SIGSEGV', () => {
    const r = h.run(prog([set('ra', 0x100000n), { op: 'ret' }, sys('exit', 0)]));
    expect(r.k.trace).toContain('1:fault sig11');
    expect(r.k.task(1)!.killedBy).toBe(11);
  });

  it('user mode cannot write kernel memory: a store page fault with stval = the address, SIGSEGV; a handler can step over it', () => {
    const d = h.port.descriptor;
    const abi = makeAbi(8, d.abi);
    let fault: { cause: bigint; badaddr: bigint; epc: bigint } | undefined;
    const target = d.memory.kernelData + 0x100n;
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGSEGV, { data: 'sa' }, 0, 8),
          set('a2', target - 176n - 8n * 10n), // ctx_store writes a2 + offset of a0
          { op: 'ctxStore', reg: 'a0', value: 0x5a5an },
          label('after'),
          set('s0', 1n),
          store('s0', 'after'),
          sys('exit', 0),
          label('handler'),
          { op: 'ctxStore', reg: 'pc', value: { label: 'after' } },
          { op: 'ret' },
        ],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
      {
        setup(k) {
          // (a hook on the do_page_fault stub itself would never run: the bridge's moves the pc first)
          const at = k.sym('handle_exception');
          k.m.hookCode(at, at, () => {
            if (k.m.reg('scause') === BigInt(EXC.STORE_PAGE_FAULT)) fault = { cause: k.m.reg('scause'), badaddr: k.m.reg('stval'), epc: k.m.reg('sepc') };
          });
        },
      },
    );
    expect(fault?.cause).toBe(BigInt(EXC.STORE_PAGE_FAULT));
    expect(fault?.badaddr).toBe(target);
    expect(r.k.m.readUint(target, 8)).toBe(0n);
    expect(r.slot(1, 'after')).toBe(1n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});

describe('signal frame', () => {
  it('rt_sigframe is 1088 bytes: siginfo, ucontext with uc_mcontext at 176, sc_regs in user_regs_struct order', () => {
    expect(RT_SIGFRAME.size).toBe(1088n);
    expect(UC.mcontext).toBe(176n);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(176);
    expect(h.port.signal.ucontext_reg_offset('a0')).toBe(176 + 80);
    expect(h.port.signal.ucontext_reg_offset('t6')).toBe(176 + 248);
    expect(USER_REGS).toEqual(h.port.descriptor.ptRegs.fields.slice(0, 32).map((f) => f.reg));
  });

  it('a handler without SA_RESTORER returns through the vDSO (ra = __vdso_rt_sigreturn); rt_sigreturn marks the frame cause = -1', () => {
    const abi = makeAbi(8, h.port.descriptor.abi);
    let causeAfter: bigint | undefined;
    const r = h.run(
      prog(
        [sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8), sys('kill', 1, abi.sig.SIGUSR1), store('ret', 'r'), sys('getpid'), sys('exit', 0), label('handler'), store('ra', 'ra'), { op: 'ret' }],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
      {
        setup(k) {
          k.onSyscall = (name) => {
            if (name === 'getpid') causeAfter = k.currentPtRegs().gets('cause');
          };
        },
      },
    );
    expect(r.slot(1, 'ra')).toBe(r.k.sym('__vdso_rt_sigreturn'));
    expect(r.k.syscalls.find((s) => s.name === 'rt_sigreturn')?.userPc).toBe(r.k.sym('__vdso_rt_sigreturn') + 4n);
    expect(r.slot(1, 'r')).toBe(0n);
    expect(causeAfter).toBe(8n); // a new syscall frame again
  });
});

describe('riscv Linux 6.18 where it differs from the shared scenarios', () => {
  it('the first syscall argument is orig_a0: a tracer writing a0 at the entry stop does not change it, writing orig_a0 (PTRACE_SET_SYSCALL_INFO) does', () => {
    const d = h.port.descriptor;
    const run = (reg: string) =>
      h.run(prog([set('a0', 7n), sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
        tracer: {
          onSyscallEntry(_t, v) {
            if (v.nr() !== BigInt(d.syscall.numbers['getpid']!)) return;
            v.setNr(BigInt(d.syscall.numbers['kill']!));
            v.set(reg, 1n);
            v.set('a1', 0n);
          },
        },
      });
    // getpid had no argument: a0 (and so orig_a0) still held 7
    expect(run('a0').k.syscalls.find((s) => s.name === 'kill')?.args.slice(0, 2)).toEqual([7n, 0n]);
    expect(run('orig_a0').k.syscalls.find((s) => s.name === 'kill')?.args.slice(0, 2)).toEqual([1n, 0n]);
  });

  it('CLONE_SETTLS sets the child\'s user tp (pt_regs); in the kernel tp is current', () => {
    const abi = makeAbi(8, h.port.descriptor.abi);
    let kernelTp: bigint | undefined;
    const r = h.run(
      prog(
        [
          sys('clone', 0x100 | 0x80000 | abi.sig.SIGCHLD, { data: 'top' }, 0, 0x7e570000n, 0),
          { op: 'bnez', reg: 'ret', label: 'parent' },
          store('tp', 'ctp'),
          sys('exit', 0),
          label('parent'),
          sys('wait4', -1, 0, 0, 0),
          sys('exit', 0),
        ],
        { stack: new Array<bigint>(32).fill(0n), top: [0n] },
      ),
      {
        setup(k) {
          k.onSyscall = (name, t) => {
            if (name === 'exit' && t.pid !== 1) kernelTp = k.m.reg('tp');
          };
        },
      },
    );
    const child = r.k.tasks.find((t) => t.parent?.pid === 1)!;
    expect(r.slot(child.pid, 'ctp')).toBe(0x7e570000n);
    expect(kernelTp).toBe(child.addr);
  });

  it('execve clears no register: start_thread sets status, pc and sp only and riscv has no ELF_PLAT_INIT', () => {
    const d = h.port.descriptor;
    const words = (s: string) => {
      const b = Buffer.alloc(16);
      b.write(s);
      return [b.readBigUInt64LE(0), b.readBigUInt64LE(8)];
    };
    const r = h.run({
      '/init': { name: '/init', ops: [label('_start'), { op: 'fillRegs', seed: 0x2200n }, sys('execve', { data: 'path' }, 0, 0), sys('exit', 1)], data: { path: words('/bin/next') } },
      '/bin/next': { name: '/bin/next', ops: [label('_start'), store('ret', 'ret0'), { op: 'storeRegs', prefix: 'start' }, sys('exit', 0)] },
    });
    const slot = (name: string) => {
      const i = r.imgs['/bin/next']!.slots.get(name)!;
      return r.k.results.get(1)?.get(BigInt(i));
    };
    expect(slot('ret0')).toBe(0n);
    const kept = comparableRegs(d).filter((x, i) => slot(`start.${x}`) === fillValue(0x2200n, i));
    expect(kept).toEqual(expect.arrayContaining(['s0', 's11', 'ra', 'tp', 't0']));
    expect(kept).not.toContain('a0');
  });
});

describe('assemblers', () => {
  it('llvm-mc (the declared alternative) assembles entry.S to the same bytes as GNU as', async () => {
    const d = h.port.descriptor;
    const { asmOffsets } = await import('@archkit/generic-core/kernel/layout');
    const externs = Object.fromEntries(
      ['schedule_tail', ...Object.keys(h.port.entry.models['generic-entry']!)].map((n, i) => [n, d.memory.stubs + BigInt(16 * (i + 1))]),
    );
    const src = { ...h.port.sources.entry, prelude: asmOffsets(d) };
    const gnu = h.asm.assemble(src, { base: d.memory.kernelText, externs });
    const llvm = (await createAssembler(d.assembler.alternative!)).assemble(src, { base: d.memory.kernelText, externs });
    expect(Buffer.from(llvm.bytes).equals(Buffer.from(gnu.bytes))).toBe(true);
    expect(llvm.symbols).toEqual(gnu.symbols);
  });
});
