// What is only powerpc64's: the CPU model on Unicorn 2.0.1 (POWER10 in hypervisor mode,
// radix MMU with privileged kernel pages, SPRs through the context, the interrupt entry
// with SRRs or HSRRs), the PACA, the exception frame and the trap word, the one 64-bit
// signal frame, and the places where powerpc64 Linux 6.18 differs from what the shared
// scenarios assume (registers sanitized at the syscall exit, r0 and r12 at exec, a
// skipped syscall's result, TIF_RESTORE_TM).

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { cpu, leafPte, MSR, MSR_USER64, pacaAddress, PACA, R_PTE, radixTables, SRR1_PROG } from '../src/cpu.ts';
import { RT_SIGFRAME, SC, SIGNAL_FRAMESIZE, UC } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

/** struct sigaction {handler, flags, restorer, mask} (64-bit, big-endian). */
function sigaction(handler: string, flags: bigint): NonNullable<UserProgram['data']>[string] {
  return {
    size: 32,
    build(resolve) {
      const b = Buffer.alloc(32);
      b.writeBigUInt64BE(resolve(handler), 0);
      b.writeBigUInt64BE(flags, 8);
      return b;
    },
  };
}

describe('CPU model on Unicorn 2.0.1 (POWER10, hypervisor mode, radix)', () => {
  it('the radix tree maps the kernel in privileged 2 MiB pages and the user region in user pages; a user page over kernel memory is refused', () => {
    const d = h.port.descriptor;
    const words = radixTables(d.memory);
    const leaves = [...words.values()].filter((v) => v & R_PTE.L);
    expect(leaves).toContain(leafPte(0n, false));
    expect(leaves).toContain(leafPte(d.memory.user, true));
    expect(leafPte(0n, false) & R_PTE.PRIV).toBe(R_PTE.PRIV);
    expect(leafPte(d.memory.user, true) & R_PTE.PRIV).toBe(0n);
    expect(() => radixTables({ ...d.memory, user: d.memory.kernelData + 0x100000n })).toThrow(/share the 2 MiB page/);
  });

  it('the kernel runs with MSR_KERNEL (SF, HV, ME, RI, IR, DR): hypervisor state set through the context, EE off at boot', () => {
    let msr: bigint | undefined;
    const r = h.run(prog([sys('getpid'), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name) => {
          if (name === 'getpid') msr = k.m.reg('msr');
        };
      },
    });
    expect(msr! & ~MSR.EE).toBe(MSR.SF | MSR.HV | MSR.ME | MSR.RI | MSR.IR | MSR.DR);
    expect(msr! & MSR.EE).toBe(MSR.EE); // system_call_exception enabled them
    expect(cpu.privilege(r.k.m)).toBe(0);
  });
});

describe('exception entry, frames and the PACA', () => {
  it('sc: system_call at 0xc00 with SRR0 = the next instruction, SRR1 = MSR_USER64, HSPRG0 = the PACA; pt_regs at the stack top with trap 0xc00, orig_gpr3, the REGS marker, softe IRQS_ENABLED, SO cleared', () => {
    let seen: Record<string, bigint> | undefined;
    let frame: Record<string, bigint> | undefined;
    const r = h.run(prog([set('r3', 0x77n), sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('system_call');
        k.m.hookCode(vec, vec, () => {
          if (seen) return;
          seen = { srr0: k.m.reg('srr0'), srr1: k.m.reg('srr1'), msr: k.m.reg('msr'), hsprg0: k.m.reg('hsprg0') };
        });
        k.onSyscall = (name) => {
          if (name !== 'getpid') return;
          const regs = k.currentPtRegs();
          frame = {
            base: regs.base, trap: regs.get('trap'), orig: regs.get('orig_gpr3'), msr: regs.get('msr'), ccr: regs.get('ccr'), softe: regs.get('softe'),
            marker: k.readWord(regs.base - 16n), r13: k.m.reg('r13'),
          };
        };
      },
    });
    const getpid = r.k.syscalls.find((s) => s.name === 'getpid')!;
    const paca = pacaAddress(r.k.desc);
    expect(seen!.srr0).toBe(getpid.userPc + 4n);
    expect(seen!.srr1).toBe(MSR_USER64);
    expect(seen!.msr).toBe(MSR.SF | MSR.HV | MSR.ME); // hypervisor, real mode, EE and RI off
    expect(seen!.hsprg0).toBe(paca);
    expect(frame!.base).toBe(r.k.task(1)!.stackTop - 384n);
    expect(frame!.trap).toBe(0xc00n);
    expect(frame!.marker).toBe(0x52454753n);
    expect(frame!.orig).toBe(0x77n);
    expect(frame!.msr).toBe(MSR_USER64);
    expect(frame!.softe).toBe(0n);
    expect(frame!.ccr & 0x10000000n).toBe(0n);
    expect(frame!.r13).toBe(paca);
    expect(r.slot(1, 'r')).toBe(1n);
  });

  it('the PACA follows the running task: current and PACAKSAVE (its stack top less pt_regs and the 48-byte frame header)', () => {
    const seen: Array<[bigint, bigint, bigint, bigint]> = [];
    h.run(
      {
        '/init': { name: '/init', ops: [label('_start'), sys('fork'), sys('sched_yield'), sys('getpid'), sys('exit', 0)] },
      },
      {
        setup(k) {
          const paca = pacaAddress(k.desc);
          k.onSyscall = (name, t) => {
            if (name === 'getpid') seen.push([k.readWord(paca + PACA.CURRENT), t.addr, k.readWord(paca + PACA.KSAVE), t.stackTop - 384n - 48n]);
          };
        },
      },
    );
    expect(seen.length).toBe(2);
    for (const [cur, addr, ksave, want] of seen) {
      expect(cur).toBe(addr);
      expect(ksave).toBe(want);
    }
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
        const vec = k.sym('program_check');
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
    let isi: bigint | undefined;
    // ctx_store writes r5 + offset: r5 chosen so that the store hits `target`
    const off = BigInt(h.port.signal.ucontext_reg_offset('r3'));
    const r = h.run(prog([set('r5', target - off), { op: 'ctxStore', reg: 'r3', value: 0x5a5an }, sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('data_access');
        k.m.hookCode(vec, vec, () => (dar = k.m.reg('dar')));
      },
    });
    expect(dar).toBe(target);
    expect(r.k.m.readUint(target, 8)).toBe(0n);
    expect(r.k.task(1)!.killedBy).toBe(11);
    const r2 = h.run(prog([set('lr', 0x3000n), { op: 'ret' }, sys('exit', 0)]), {
      setup(k) {
        const vec = k.sym('instruction_access');
        k.m.hookCode(vec, vec, () => (isi = k.m.reg('srr0')));
      },
    });
    expect(isi).toBe(0x3000n);
    expect(r2.k.task(1)!.killedBy).toBe(11);
  });

  it('an external interrupt in hypervisor mode saves HSRR0/HSRR1 and enters hardware_interrupt (0x500); the trap word says 0x500 and every register comes back', () => {
    let hsrr: [bigint, bigint] | undefined;
    let trap: bigint | undefined;
    const r = h.run(prog([set('r9', 0x9999n), set('r12', 0x1212n), label('here'), store('r9', 'r9'), store('r12', 'r12'), sys('exit', 0)]), {
      setup(k) {
        // the line rises after the last instruction before `here`
        k.irqPlan = { source: { kind: 'tick' }, afterPc: k.programs['/init']!.symbols.get('here')! - 4n, limit: 1 };
        const vec = k.sym('hardware_interrupt');
        k.m.hookCode(vec, vec, () => (hsrr = [k.m.reg('hsrr0'), k.m.reg('hsrr1')]));
        // after do_IRQ: the frame is at r1 + STACK_INT_FRAME_REGS
        const ret = k.sym('interrupt_return_hsrr');
        k.m.hookCode(ret, ret, () => (trap = k.ptRegsAt(k.m.reg('r1') + 48n).get('trap')));
      },
    });
    const here = r.imgs['/init']!.symbols.get('here')!;
    expect(hsrr![0]).toBe(here);
    expect(hsrr![1]).toBe(MSR_USER64);
    expect(trap).toBe(0x500n);
    expect(r.k.irqs.map((i) => i.at)).toEqual([`user 0x${here.toString(16)}`]);
    expect(r.slot(1, 'r9')).toBe(0x9999n);
    expect(r.slot(1, 'r12')).toBe(0x1212n);
  });

  it('the way out hard-disables EE and RI before the rfid (prep_irq_for_enabled_exit, interrupt_exit_not_reentrant); SRR1 gives user mode both back', () => {
    const at: Array<[bigint, bigint]> = [];
    h.run(prog([sys('getpid'), sys('exit', 0)]), {
      setup(k) {
        const text = k.m.read(k.desc.memory.kernelText, 0x4000);
        for (let i = 0; i + 4 <= text.length; i += 4) {
          const w = (text[i]! << 24) | (text[i + 1]! << 16) | (text[i + 2]! << 8) | text[i + 3]!;
          if (w !== 0x4c000024) continue;
          const a = k.desc.memory.kernelText + BigInt(i);
          k.m.hookCode(a, a, () => {
            const srr1 = k.m.reg('srr1');
            if (srr1 & MSR.PR) at.push([k.m.reg('msr'), srr1]);
          });
        }
      },
    });
    expect(at.length).toBeGreaterThan(0);
    for (const [msr, srr1] of at) {
      expect(msr & (MSR.EE | MSR.RI)).toBe(0n);
      expect(srr1 & (MSR.EE | MSR.RI | MSR.PR)).toBe(MSR.EE | MSR.RI | MSR.PR);
    }
  });
});

describe('the 64-bit signal frame', () => {
  it('struct rt_sigframe is 4096 bytes (uc, uc_transact, tramp, pinfo, puc, info, the 512-byte red zone); gp_regs is pt_regs', () => {
    expect(UC.size).toBe(1696n);
    expect(UC.mcontext).toBe(168n);
    expect(SC.size).toBe(1528n);
    expect(RT_SIGFRAME.info).toBe(3456n);
    expect(RT_SIGFRAME.size).toBe(4096n);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(168 + 64 + 256);
    for (const f of h.port.descriptor.ptRegs.fields.filter((x) => x.reg)) expect(h.port.signal.ucontext_reg_offset(f.reg!)).toBe(168 + 64 + f.offset);
  });

  it('SA_SIGINFO: entered through the vDSO with CTR = r12 = the handler; r3 = sig, r4 = &info, r5 = &uc = frame, r6 = frame, r1 = frame - 128 with a back chain, LR after __kernel_start_sigtramp_rt64', () => {
    const abi = makeAbi(8, h.port.descriptor.abi);
    let sp0: bigint | undefined;
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8),
          store('sp', 'sp0'),
          sys('kill', 1, abi.sig.SIGUSR1),
          store('ret', 'r'),
          sys('exit', 0),
          label('handler'),
          ...['r1', 'r3', 'r4', 'r5', 'r6', 'r12', 'ctr', 'lr'].map((x) => store(x, `h.${x}`)),
          { op: 'ret' },
        ],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
    );
    const s = (n: string) => r.slot(1, n)!;
    sp0 = s('sp0');
    const frame = s('h.r6');
    const handler = r.imgs['/init']!.symbols.get('handler')!;
    expect(s('h.r3')).toBe(BigInt(abi.sig.SIGUSR1));
    expect(s('h.r4')).toBe(frame + RT_SIGFRAME.info);
    expect(s('h.r5')).toBe(frame + RT_SIGFRAME.uc);
    expect(frame).toBe((sp0 - RT_SIGFRAME.size) & ~15n);
    expect(s('h.r1')).toBe(frame - SIGNAL_FRAMESIZE);
    expect(r.k.m.readUint(frame - SIGNAL_FRAMESIZE, 8)).toBe(sp0);
    expect(s('h.r12')).toBe(handler);
    expect(s('h.ctr')).toBe(handler);
    expect(s('h.lr')).toBe(r.k.sym('__kernel_start_sigtramp_rt64') + 4n);
    expect(r.k.syscalls.find((x) => x.name === 'rt_sigreturn')?.userPc).toBe(r.k.sym('__kernel_sigtramp_rt64') + 8n);
    expect(r.slot(1, 'r')).toBe(0n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('without SA_SIGINFO the same frame, r4 = &uc.uc_mcontext; the frame keeps softe as 1 and sigreturn restores the TLS pointer r13 with the rest', () => {
    const abi = makeAbi(8, h.port.descriptor.abi);
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8),
          { op: 'tlsSet', value: 0x7e57n },
          set('r20', 0x2020n),
          sys('kill', 1, abi.sig.SIGUSR1),
          store('r20', 'r20'),
          store('r13', 'r13'),
          sys('exit', 0),
          label('handler'),
          store('r1', 'h.r1'),
          store('r4', 'h.r4'),
          { op: 'tlsSet', value: 0x6666n },
          set('r20', 0x6666n),
          { op: 'ret' },
        ],
        { sa: sigaction('handler', 0n) },
      ),
    );
    const s = (n: string) => r.slot(1, n)!;
    const frame = s('h.r1') + SIGNAL_FRAMESIZE;
    expect(s('h.r4')).toBe(frame + UC.mcontext);
    expect(r.k.m.readUint(frame + UC.mcontext + SC.gpRegs + 39n * 8n, 8)).toBe(1n); // softe
    expect(r.k.m.readUint(frame + UC.mcontext + SC.regs, 8)).toBe(frame + UC.mcontext + SC.gpRegs);
    expect(r.k.syscalls.filter((x) => x.name === 'rt_sigreturn')).toHaveLength(1);
    expect(s('r20')).toBe(0x2020n);
    expect(s('r13')).toBe(0x7e57n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('sigreturn takes nothing of the saved MSR but LE: a handler cannot give itself hypervisor state', () => {
    const abi = makeAbi(8, h.port.descriptor.abi);
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8),
          sys('kill', 1, abi.sig.SIGUSR1),
          sys('getpid'),
          store('ret', 'r'),
          sys('exit', 0),
          label('handler'),
          { op: 'ctxStore', reg: 'msr', value: MSR.SF | MSR.HV | MSR.ME | MSR.IR | MSR.DR | MSR.RI },
          { op: 'ret' },
        ],
        { sa: sigaction('handler', abi.sa.SA_SIGINFO) },
      ),
    );
    expect(r.slot(1, 'r')).toBe(1n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});

describe('powerpc64 Linux 6.18 where it differs from the shared scenarios', () => {
  it('the syscall exit zeroes r0, r4-r12, CTR and XER (INTERRUPT_SANITIZE_REGISTERS) and reloads the non-volatiles and LR from pt_regs', () => {
    const regs = ['r0', 'r4', 'r9', 'r12', 'ctr', 'r14', 'r31', 'lr'];
    const r = h.run(prog([...regs.map((x) => set(x, 0x1111n)), sys('getpid'), ...regs.map((x) => store(x, x)), sys('exit', 0)]));
    for (const x of ['r0', 'r4', 'r9', 'r12', 'ctr']) expect(r.slot(1, x)).toBe(0n);
    for (const x of ['r14', 'r31', 'lr']) expect(r.slot(1, x)).toBe(0x1111n);
  });

  it('execve: every gpr zero but r0 (still the execve number: start_thread clears from gpr[1]) and r12 (the ELFv2 entry); _TIF_RESTOREALL makes the exit load them all', () => {
    const words = (str: string) => {
      const b = Buffer.alloc(16);
      b.write(str);
      return [0, 8].map((o) => b.readBigUInt64BE(o));
    };
    const r = h.run({
      '/init': { name: '/init', ops: [label('_start'), set('r13', 0x1313n), set('r31', 0x3131n), set('r9', 0x99n), sys('execve', { data: 'path' }, 0, 0), sys('exit', 1)], data: { path: words('/bin/next') } },
      '/bin/next': { name: '/bin/next', ops: [label('_start'), ...['r0', 'r9', 'r12', 'r13', 'r31', 'lr', 'ctr'].map((x) => store(x, x)), sys('exit', 0)] },
    });
    const slot = (name: string) => r.k.results.get(1)?.get(BigInt(r.imgs['/bin/next']!.slots.get(name)!));
    expect(slot('r0')).toBe(BigInt(h.port.descriptor.syscall.numbers['execve']!));
    expect(slot('r12')).toBe(r.imgs['/bin/next']!.entry);
    for (const x of ['r9', 'r13', 'r31', 'lr', 'ctr']) expect(slot(x)).toBe(0n);
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

  it('TIF_RESTORE_TM is not in the loop but restore_tm_state() clears it after the loop (CONFIG_PPC_TRANSACTIONAL_MEM)', () => {
    let flagsAfter: bigint | undefined;
    const r = h.run(prog([sys('getpid'), sys('gettid'), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name, t) => {
          if (name === 'getpid') k.setTif(t, 'RESTORE_TM');
          if (name === 'gettid') flagsAfter = k.tiFlags(t);
        };
      },
    });
    expect(flagsAfter! & r.k.tifBit('RESTORE_TM')).toBe(0n);
    expect(r.k.trace.some((l) => l.includes('interrupt_exit_user_prepare_main'))).toBe(false);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});
