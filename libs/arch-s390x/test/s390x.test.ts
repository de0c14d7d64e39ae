// What is only s390x's: the CPU model on Unicorn 2.0.1 (calibration, the PSW swap through
// the lowcore the interrupt hook performs, access registers through the context), the
// signal frame layout, and the places where s390 Linux 6.18 behaves in its own way (the
// ILC-sized rewind, svc under EXECUTE, restart_syscall through the vDSO with
// restart_block.arch_data, the ptrace ABI's number in gpr2). Programs that need
// instructions the arch-neutral ops do not have (ipm, ex, svc with an immediate) are
// assembled here from raw source.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine, type UnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { Kernel } from '@archkit/generic-core/kernel/kernel';
import { attach } from '@archkit/generic-core/kernel/ptrace';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { USER_RESULTS } from '@archkit/generic-core/kernel/layout';
import type { CGen, KernelApi, Tracer, UserImage, World } from '@archkit/generic-core/kernel/types';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { contextOffsets, cpu, LC, PSW, PSW_USER_BITS, pswAddressFixes } from '../src/cpu.ts';
import { RT_SIGFRAME, SREGS, UC } from '../src/signal.ts';
import { ARCH_DATA } from '../src/entry.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

const machines: UnicornMachine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

const d = () => h.port.descriptor;
const nr = (name: string) => d().syscall.numbers[name]!;
/** Results slot i of a raw program: the word at user + USER_RESULTS + 8 i. */
const RES = (i: number) => `0x${(d().memory.user + USER_RESULTS + BigInt(8 * i)).toString(16)}`;

/**
 * Boots the kernel with one raw-assembly /init (GNU as, `_start` its entry) and runs it;
 * what the harness does for arch-neutral programs.
 */
function runRaw(text: string, o: { world?: World['events']; setup?(k: Kernel): void; tracer?: Tracer; budget?: number } = {}) {
  const base = d().memory.user;
  const res = h.asm.assemble({ file: 'raw /init', text }, { base });
  const img: UserImage = { base, entry: res.symbols.get('_start') ?? base, bytes: res.bytes, symbols: res.symbols, slots: new Map(), regSets: new Map(), data: new Map(), dataInit: [], source: text };
  const m = createUnicornMachine(h.port.cpu.unicorn);
  machines.push(m);
  const k = new Kernel({
    port: h.port,
    machine: m,
    assembler: h.asm,
    programs: { '/init': img },
    ...(o.world ? { world: { events: o.world } } : {}),
    kfns: {
      *kernel_init(kk: KernelApi): CGen {
        if (o.tracer) attach(kk, kk.current(), o.tracer);
        if (kk.kernelExecve('/init') !== 0n) yield* kk.doExit(127 << 8);
        return 0n;
      },
    },
  });
  k.boot();
  o.setup?.(k);
  expect(k.kernelThread('kernel_init', 0n).next().done).toBe(true);
  k.run(o.budget ?? 2_000_000);
  const slot = (pid: number, i: number) => k.results.get(pid)?.get(BigInt(i));
  return { k, img, slot };
}

const EXIT = (code = 0) => `\tlghi\t%r2,${code}\n\tsvc\t${nr('exit')}\n`;

describe('CPU model on Unicorn 2.0.1', () => {
  it('calibration finds int_svc_code/ilen, int_pgm_code/ilen and the access registers in the uc_context', () => {
    const o = contextOffsets();
    expect(o.svcIlen).toBe(o.svcCode + 4);
    expect(o.pgmIlen).toBe(o.pgmCode + 4);
    expect(o.aregs).toBeGreaterThan(16);
  });

  it('access registers go through the context: a0:a1 is the thread pointer; the API ids (A0..A15) would alias the GPRs', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.setReg('r2', 0x1111n);
    m.setReg('a0a1', 0x1234_5678_9abc_def0n);
    expect(m.reg('a0')).toBe(0x1234_5678n);
    expect(m.reg('a1')).toBe(0x9abc_def0n);
    expect(m.reg('a0a1')).toBe(0x1234_5678_9abc_def0n);
    expect(m.reg('r2')).toBe(0x1111n);
    // the pitfall: Unicorn 2.0.1's UC_S390X_REG_A2 (51) writes r2
    m.uc.regWrite(49 + 2, 0xabcdn);
    expect(m.reg('r2')).toBe(0xabcdn);
    expect(m.reg('a2')).toBe(0n);
  });

  it('Unicorn 2.0.1 quirk: a privileged operation on the first halfword of a mapped region (not at 0) is reported as an addressing exception (5), with DAT as a page-translation exception (0x11), length 2', () => {
    const off = contextOffsets();
    const run = (base: bigint) => {
      const m = createUnicornMachine(cpu.unicorn);
      machines.push(m);
      m.map(0n, 0x2000);
      m.map(0x40000n, 0x40000);
      m.write(base, Uint8Array.from([0x80, 0x00, 0xf0, 0x00])); // ssm 0(%r15)
      m.setReg('r15', 0x7e000n);
      m.setReg('pswm', (PSW_USER_BITS & ~PSW.DAT) | PSW.EA | PSW.BA); // DAT off: no tables here
      let got: [number, number, number] | undefined;
      m.hookInterrupt((intno) => {
        const dv = m.uc.saveContext();
        got = [intno, dv.getUint32(off.pgmCode, true), dv.getUint32(off.pgmIlen, true)];
        m.stop();
      });
      m.run(base, { instructions: 10 }, base + 4n);
      return got;
    };
    expect(run(0x40008n)).toEqual([3, 2, 4]); // privileged operation, ILC 4
    expect(run(0x40000n)).toEqual([3, 5, 2]); // the region's first halfword
    // with DAT on (the booted kernel), the same instruction at the user region's start
    // comes as a page-translation exception: the task gets SIGSEGV, not SIGILL
    let seen: bigint | undefined;
    const r = runRaw(`_start:
\tssm\t0(%r15)
${EXIT()}`, {
      setup(k) {
        const at = k.sym('pgm_check_handler');
        k.m.hookCode(at, at, () => void (seen ??= k.m.readUint(LC.PGM_ILC, 4)));
      },
    });
    expect(r.img.entry).toBe(d().memory.user);
    expect(seen).toBe((2n << 16n) | 0x11n);
    expect(r.k.task(1)!.killedBy).toBe(makeAbi(8, d().abi).sig.SIGSEGV);
  });

  it('privilege is PSW bit 15; irqs are the I/O and external masks; a fresh engine starts with PSWM 0 (24-bit addressing)', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    expect(m.reg('pswm')).toBe(0n);
    cpu.setPrivilege(m, 1);
    expect(m.reg('pswm')).toBe(PSW.PSTATE);
    cpu.setIrqsEnabled(m, true);
    expect(m.reg('pswm') & (PSW.IO | PSW.EXT)).toBe(PSW.IO | PSW.EXT);
    cpu.setPrivilege(m, 0);
    expect(cpu.irqsEnabled(m)).toBe(true);
    expect(cpu.privilege(m)).toBe(0);
  });
});

describe('the PSW swap and the return', () => {
  it('svc 0 enters system_call in supervisor state, I/O and external masked, with the svc old PSW (problem state, the address after the svc) and svc_int_code (ILC 2 << 16) in the lowcore', () => {
    let seen: { pswm: bigint; old: bigint; oldAddr: bigint; code: bigint; r15: bigint } | undefined;
    const r = h.run(prog([sys('getpid'), store('ret', 'r'), sys('exit', 0)]), {
      setup(k) {
        const at = k.sym('system_call');
        k.m.hookCode(at, at, () => {
          if (seen) return;
          seen = { pswm: k.m.reg('pswm'), old: k.m.readUint(LC.SVC_OLD_PSW, 8), oldAddr: k.m.readUint(LC.SVC_OLD_PSW + 8n, 8), code: k.m.readUint(LC.SVC_ILC, 4), r15: k.m.reg('r15') };
        });
      },
    });
    const svc = r.k.syscalls.find((s) => s.name === 'getpid')!;
    expect(seen).toBeDefined();
    expect(seen!.pswm & PSW.PSTATE).toBe(0n);
    expect(seen!.pswm & (PSW.IO | PSW.EXT)).toBe(0n);
    expect(seen!.pswm & (PSW.EA | PSW.BA)).toBe(PSW.EA | PSW.BA);
    expect(seen!.old & PSW.PSTATE).toBe(PSW.PSTATE);
    expect(seen!.oldAddr).toBe(svc.userPc + 2n);
    expect(seen!.code).toBe((2n << 16n) | 0n); // svc 0: the number is in r1
    expect(seen!.r15).toBe(d().memory.user + 0x3e000n); // still the user's stack pointer
    expect(r.slot(1, 'r')).toBe(1n);
  });

  it('the condition code survives a syscall: the old PSW carries it, lpswe restores it', () => {
    const r = runRaw(`_start:
\tlghi\t%r5,5
\tcghi\t%r5,7\t\t# CC 1 (low)
\tlghi\t%r1,${nr('getpid')}
\tsvc\t0
\tipm\t%r6
\tsrl\t%r6,28
\tstg\t%r6,${RES(0)}
\tlghi\t%r5,9
\tcghi\t%r5,7\t\t# CC 2 (high)
\tsvc\t${nr('getpid')}
\tipm\t%r6
\tsrl\t%r6,28
\tstg\t%r6,${RES(1)}
${EXIT()}`);
    expect(r.slot(1, 0)).toBe(1n);
    expect(r.slot(1, 1)).toBe(2n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('svc with the number as its immediate: int_code carries it, r1 plays no part; gpr2 holds the number at the ptrace entry stop', () => {
    const atStop: bigint[] = [];
    const r = runRaw(
      `_start:
\tlghi\t%r1,${nr('kill')}\t# ignored: the immediate is not 0
\tsvc\t${nr('getpid')}
\tstg\t%r2,${RES(0)}
${EXIT()}`,
      { tracer: { onSyscallEntry: (_t, v) => void atStop.push(v.get('r2'), v.nr()) } },
    );
    expect(r.k.syscalls.map((s) => s.name)).toEqual(['getpid', 'exit']);
    expect(r.slot(1, 0)).toBe(1n);
    expect(atStop.slice(0, 2)).toEqual([BigInt(nr('getpid')), BigInt(nr('getpid'))]);
  });

  it('a privileged operation in problem state is program interruption 2 with ILC 4, the old PSW past the instruction (suppression); SIGILL', () => {
    let seen: { code: bigint; addr: bigint } | undefined;
    // (not the program's first instruction: see the Unicorn quirk below)
    const r = runRaw(`_start:
\tnopr\t%r7
the_ssm:
\tssm\t0(%r15)
${EXIT()}`, {
      setup(k) {
        const at = k.sym('pgm_check_handler');
        k.m.hookCode(at, at, () => {
          seen ??= { code: k.m.readUint(LC.PGM_ILC, 4), addr: k.m.readUint(LC.PGM_OLD_PSW + 8n, 8) };
        });
      },
    });
    expect(seen?.code).toBe((4n << 16n) | 2n);
    expect(seen?.addr).toBe(r.img.symbols.get('the_ssm')! + 4n);
    expect(r.k.trace).toContain('1:fault sig4');
    expect(r.k.task(1)!.killedBy).toBe(makeAbi(8, d().abi).sig.SIGILL);
  });
});

describe('external interruptions (C12)', () => {
  it('a block entered through a chained jump starts with a stale PSW address in Unicorn; the block hook writes it back', () => {
    const seen: bigint[] = [];
    const r = runRaw(
      `_start:
\tlghi\t%r3,5
a:
\taghi\t%r4,1
\tj\tloop\t\t# once the blocks are linked, a chained jump
\tnopr\t%r7
loop:
\tbrctg\t%r3,a
${EXIT()}`,
      {
        setup(k) {
          const at = k.programs['/init']!.symbols.get('loop')!;
          k.m.hookCode(at, at, () => void seen.push(k.m.reg('pc')));
        },
      },
    );
    const loop = r.img.symbols.get('loop')!;
    expect(seen).toHaveLength(5);
    expect(seen.every((pc) => pc === loop)).toBe(true);
    expect(pswAddressFixes(r.k.m)).toBeGreaterThan(0);
  });

  it('a tick taken at a block start in user mode keeps the condition code (the external old PSW carries it) and returns to the instruction it arrived before', () => {
    const r = runRaw(
      `_start:
\tlghi\t%r5,5
cmp:
\tcghi\t%r5,7\t\t# CC 1 (low)
\tj\t1f
\tnopr\t%r7
1:
here:
\tipm\t%r6
\tsrl\t%r6,28
\tstg\t%r6,${RES(0)}
${EXIT()}`,
      {
        setup(k) {
          k.irqPlan = { source: { kind: 'tick' }, afterPc: k.programs['/init']!.symbols.get('cmp')!, limit: 1 };
        },
      },
    );
    expect(r.k.irqs).toHaveLength(1);
    expect(r.k.irqs[0]!.user).toBe(true);
    expect(r.k.irqs[0]!.pc).toBe(r.img.symbols.get('here'));
    expect(r.k.irqs[0]!.handled).toBe(true);
    expect(r.slot(1, 0)).toBe(1n);
  });
});

describe('signal frame', () => {
  it('rt_sigframe is 808 bytes without vector state: siginfo at 168, ucontext at 296, uc_mcontext (_sigregs) at +40, uc_sigmask at +384', () => {
    expect(RT_SIGFRAME.size).toBe(808n);
    expect(RT_SIGFRAME.uc).toBe(296n);
    expect(UC.mcontext).toBe(40n);
    expect(UC.sigmask).toBe(384n);
    expect(SREGS.size).toBe(344n);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(48);
    expect(h.port.signal.ucontext_reg_offset('r6')).toBe(40 + 16 + 48);
    expect(h.port.signal.ucontext_reg_offset('a1')).toBe(40 + 144 + 4);
  });

  it('a handler gets r2 = sig, r3 = &info, r4 = &uc, r14 = the vDSO __kernel_rt_sigreturn (no SA_RESTORER), r15 = the frame holding the back chain; the saved mask is PSW_USER_BITS | EA | BA with the CC', () => {
    const abi = makeAbi(8, d().abi);
    let at: Record<string, bigint> | undefined;
    const sa = {
      size: 32,
      build(resolve: (l: string) => bigint) {
        const b = Buffer.alloc(32);
        b.writeBigUInt64BE(resolve('handler'), 0);
        b.writeBigUInt64BE(abi.sa.SA_SIGINFO, 8);
        return b;
      },
    };
    const r = h.run(prog([sys('rt_sigaction', abi.sig.SIGUSR1, { data: 'sa' }, 0, 8), sys('kill', 1, abi.sig.SIGUSR1), sys('exit', 0), label('handler'), { op: 'ret' }], { sa }), {
      setup(k) {
        const handler = k.programs['/init']!.symbols.get('handler')!;
        k.m.hookCode(handler, handler, () => {
          if (at) return;
          at = Object.fromEntries(['r2', 'r3', 'r4', 'r14', 'r15'].map((x) => [x, k.m.reg(x)]));
        });
      },
    });
    expect(at).toBeDefined();
    const frame = at!.r15!;
    const m = r.k.m;
    expect(at!.r2).toBe(BigInt(abi.sig.SIGUSR1));
    expect(at!.r3).toBe(frame + RT_SIGFRAME.info);
    expect(at!.r4).toBe(frame + RT_SIGFRAME.uc);
    expect(at!.r14).toBe(r.k.sym('__kernel_rt_sigreturn'));
    expect(frame % 8n).toBe(0n);
    // the back chain: the sp the handler interrupted (the stack top: nothing pushed yet)
    expect(m.readUint(frame, 8)).toBe(d().memory.user + 0x3e000n);
    const mask = m.readUint(frame + RT_SIGFRAME.uc + UC.mcontext + SREGS.pswMask, 8);
    expect(mask & ~PSW.CC).toBe(PSW_USER_BITS | PSW.EA | PSW.BA);
    expect(r.k.syscalls.find((s) => s.name === 'rt_sigreturn')?.userPc).toBe(r.k.sym('__kernel_rt_sigreturn'));
  });
});

describe('s390 restarts (arch/s390/kernel/signal.c, syscall.c)', () => {
  it('the rewind is the ILC in int_code: an svc under EXECUTE (ILC 4) restarts at the ex', () => {
    const r = runRaw(
      `_start:
\tlghi\t%r2,0
\tlarl\t%r3,buf
\tlghi\t%r4,16
\tlghi\t%r1,${nr('read')}
\tlarl\t%r5,target
the_ex:
\tex\t%r0,0(%r5)
\tstg\t%r2,${RES(0)}
${EXIT()}
target:
\tsvc\t0
\t.balign 8
buf:
\t.fill 16,1,0
`,
      {
        world: [
          (k) => k.sendSignal(k.task(1)!, makeAbi(8, d().abi).sig.SIGSTOP),
          (k) => k.sendSignal(k.task(1)!, makeAbi(8, d().abi).sig.SIGCONT),
          (k) => {
            k.inputQueue.push(new TextEncoder().encode('hello'));
            for (const t of k.tasks) k.wakeUp(t);
          },
        ],
      },
    );
    const reads = r.k.syscalls.filter((s) => s.name === 'read');
    expect(reads).toHaveLength(2);
    expect(r.k.trace).toContain('1:restart-rewind');
    expect(r.slot(1, 0)).toBe(5n);
    // the second read came from the ex again, the one user instruction between the two entries
    expect(reads[1]!.userInsns).toBe(1);
    expect(reads[1]!.userPc).toBe(r.img.symbols.get('the_ex'));
  });

  it('ERESTART_RESTARTBLOCK without a handler: r2 = orig_gpr2, arch_data = the return address, psw to __kernel_restart_syscall; its svc 7 takes the task back to after the original svc and arch_data to 1', () => {
    let archData: bigint[] = [];
    const r = h.run(prog([sys('fork'), { op: 'bnez', reg: 'ret', label: 'parent' }, sys('nanosleep', { data: 'ts' }, 0), store('ret', 'r'), sys('exit', 0), label('parent'), sys('wait4', -1, 0, 0, 0), sys('exit', 0)], { ts: [10n, 0n] }), {
      setup(k) {
        k.world.events.push(
          (kk) => void (kk.clock += 3_000_000_000n),
          (kk) => kk.sendSignal(kk.task(2)!, makeAbi(8, d().abi).sig.SIGSTOP),
          (kk) => kk.sendSignal(kk.task(2)!, makeAbi(8, d().abi).sig.SIGCONT),
          (kk) => {
            kk.clock += 7_000_000_000n;
            for (const t of kk.tasks) kk.wakeUp(t);
          },
        );
        k.onSyscall = (name, t) => {
          if (t.pid === 2) archData.push(t.arch[ARCH_DATA] ?? -1n);
          void name;
        };
      },
    });
    const child = r.k.task(2)!;
    const e = r.k.syscalls.filter((s) => s.pid === 2).map((s) => s.name);
    expect(e).toEqual(['nanosleep', 'restart_syscall', 'exit']);
    expect(r.k.syscalls.find((s) => s.pid === 2 && s.name === 'restart_syscall')!.userPc).toBe(r.k.sym('__kernel_restart_syscall'));
    // copy_thread set 1 (nothing stored); the restart stored the return address, the entry consumed it
    expect(archData[0]).toBe(1n);
    expect(archData[1]).toBe(1n);
    expect(r.slot(2, 'r')).toBe(0n);
    expect(child.exitCode).toBe(0);
    archData = [];
  });

  it('Linux 6.18 quirk: pid 1 inherits restart_block.arch_data = 0 from init_task (copy_thread sets 1 only for user forks), so a restart_syscall it makes itself returns to address 0 (SIGSEGV); a fork child gets -EINTR at the call site', () => {
    const EINTR = -makeAbi(8, d().abi).errno.EINTR;
    const r = h.run(prog([sys('fork'), { op: 'bnez', reg: 'ret', label: 'parent' }, sys('restart_syscall'), store('ret', 'r'), sys('exit', 0), label('parent'), sys('wait4', -1, 0, 0, 0), sys('restart_syscall'), store('ret', 'r'), sys('exit', 0)]));
    // the child: arch_data 1, restart_block cancelled: -EINTR right after its svc
    expect(r.slot(2, 'r')).toBe(EINTR);
    expect(r.k.task(2)!.exitCode).toBe(0);
    // pid 1: psw.addr = arch_data = 0, which the user address space does not map: SIGSEGV
    expect(r.k.syscalls.filter((s) => s.pid === 1).map((s) => s.name)).toEqual(['fork', 'wait4', 'restart_syscall']);
    expect(r.k.syscalls.find((s) => s.pid === 1 && s.name === 'restart_syscall')!.result).toBe(EINTR);
    expect(r.k.task(1)!.killedBy).toBe(makeAbi(8, d().abi).sig.SIGSEGV);
    expect(r.slot(1, 'r')).toBe(0n);
  });
});

describe('assemblers', () => {
  it('llvm-mc (the declared alternative) assembles entry.S to the same code as GNU as (GNU as pads the section end with nopr)', async () => {
    const { asmOffsets } = await import('@archkit/generic-core/kernel/layout');
    const { createAssembler } = await import('@archkit/generic-core/asm/create');
    const dd = d();
    const externs = Object.fromEntries(
      ['schedule_tail', ...Object.keys(h.port.entry.models['generic-entry']!)].map((n, i) => [n, dd.memory.stubs + BigInt(16 * (i + 1))]),
    );
    const src = { ...h.port.sources.entry, prelude: asmOffsets(dd) };
    const gnu = h.asm.assemble(src, { base: dd.memory.kernelText, externs });
    const llvm = (await createAssembler(dd.assembler.alternative!)).assemble(src, { base: dd.memory.kernelText, externs });
    const end = Number(gnu.symbols.get('__vdso_end')! - dd.memory.kernelText);
    expect(Buffer.from(llvm.bytes.subarray(0, end)).equals(Buffer.from(gnu.bytes.subarray(0, end)))).toBe(true);
    expect(llvm.symbols).toEqual(gnu.symbols);
  });
});
