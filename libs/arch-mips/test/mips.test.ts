// What is only the MIPS port's: the CPU model on Unicorn 2.0.1 (calibration, privilege
// from hflags, EXL masking interrupts, the wired TLB, the exception entry Unicorn skips),
// the o32 syscall ABI (a3 flag, positive errno, arguments 5-6 from the user stack with
// their __ex_table fixups, the regs[0]/regs[26] restart bookkeeping), the rt_sigframe,
// the timer interrupt, and three places where MIPS Linux 6.18 does what the shared
// scenarios do not expect, pinned here as MIPS does them.

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import type { Kernel } from '@archkit/generic-core/kernel/kernel';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { createAssembler } from '@archkit/generic-core/asm/create';
import { asmOffsets } from '@archkit/generic-core/kernel/layout';
import { implemented } from '@archkit/generic-core/kernel/syscalls';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { comparableRegs, compileProgram, fillValue, type Op, type UserProgram, type Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { cpu, EBASE, EXCCODE, hasDelaySlot, ST0, wiredTlb } from '../src/cpu.ts';
import { RT_SIGFRAME, SC, UC } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});
const d = () => h.port.descriptor;
const abi = () => makeAbi(4, d().abi);
const nr = (name: string) => BigInt(d().syscall.numbers[name]!);

/** struct sigaction {sa_flags, sa_handler, sa_mask[4]} (o32) for a handler label. */
function sigaction(handler: string, flags: bigint): NonNullable<UserProgram['data']>[string] {
  return {
    size: 24,
    build(resolve) {
      const b = Buffer.alloc(24);
      b.writeUInt32BE(Number(flags), 0);
      b.writeUInt32BE(Number(resolve(handler)), 4);
      return b;
    },
  };
}

/** Cause/EPC/Status as the general exception vector sees them, for exceptions of `exc`. */
function vectorSees(k: Kernel, exc: number, out: Array<Record<string, bigint>>): void {
  k.m.hookCode(EBASE + 0x180n, EBASE + 0x180n, () => {
    const cause = k.m.reg('cause');
    if (Number((cause >> 2n) & 0x1fn) !== exc) return;
    out.push({ cause, epc: k.m.reg('epc'), status: k.m.reg('status'), badvaddr: k.m.reg('badvaddr'), priv: BigInt(k.cpu.privilege(k.m)) });
  });
}

describe('CPU model on Unicorn 2.0.1', () => {
  it('privilege is hflags KSU: Status.EXL makes it kernel whatever KSU says, and masks interrupts with IE set', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.setReg('status', ST0.KU_USER | ST0.EXL | ST0.IE);
      expect(cpu.privilege(m)).toBe(0);
      expect(cpu.irqsEnabled(m)).toBe(false);
      m.setReg('status', ST0.KU_USER | ST0.IE);
      expect(cpu.privilege(m)).toBe(cpu.userPrivilege);
      expect(cpu.irqsEnabled(m)).toBe(true);
      cpu.setPrivilege(m, 0);
      expect(cpu.privilege(m)).toBe(0);
      cpu.setIrqsEnabled(m, false);
      expect(cpu.irqsEnabled(m)).toBe(false);
    } finally {
      m.close();
    }
  });

  it('EPC and Cause, which Unicorn does not expose, read and write through the calibrated context', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.setReg('epc', 0x00401234n);
      m.setReg('cause', 0x8000002cn);
      expect(m.reg('epc')).toBe(0x00401234n);
      expect(m.reg('cause')).toBe(0x8000002cn);
    } finally {
      m.close();
    }
  });

  it('branches and jumps have delay slots; the rest does not', () => {
    for (const w of [0x10000003, 0x03e00008, 0x0c000000, 0x08000000, 0x04110002, 0x45010002, 0x1520fffe, 0x0320f809]) expect(hasDelaySlot(w), w.toString(16)).toBe(true);
    for (const w of [0x24020fa4, 0x0000000c, 0x42000018, 0x00000000, 0x8c880000]) expect(hasDelaySlot(w), w.toString(16)).toBe(false);
  });

  it('the wired TLB: the kernel in one kseg2 16 MiB page, the user region in the even page of a useg pair, unique kseg0 EntryHi elsewhere', () => {
    const t = wiredTlb({ desc: d() });
    expect(t).toHaveLength(16);
    expect(t[0]).toMatchObject({ entryHi: 0xc0000000n, pageMask: 0x01ffe000n });
    expect(t[0]!.entryLo0 & 7n).toBe(7n); // D, V, G
    expect(t[1]).toMatchObject({ entryHi: d().memory.user, pageMask: 0x7e000n });
    expect(t[1]!.entryLo1 & 2n).toBe(0n); // the odd page is invalid
    expect(t[5]!.entryHi).toBe(0x8000a000n);
    expect(() => wiredTlb({ desc: { ...d(), memory: { ...d().memory, kernelText: 0x80100000n } } })).toThrow(/kseg2/);
  });
});

describe('exception entry and the o32 syscall ABI', () => {
  it('a syscall reaches the general vector in kernel mode with EPC at the syscall, ExcCode 8, EXL set and the user KSU kept', () => {
    const seen: Array<Record<string, bigint>> = [];
    const r = h.run(prog([sys('getpid'), ...[store('v0', 'r'), store('a3', 'e')], sys('exit', 0)]), { setup: (k) => vectorSees(k, EXCCODE.SYS, seen) });
    const getpid = r.k.syscalls.find((s) => s.name === 'getpid')!;
    expect(seen[0]!.epc).toBe(getpid.userPc);
    expect(seen[0]!.cause & (1n << 31n)).toBe(0n);
    expect(seen[0]!.status & (ST0.EXL | ST0.KSU)).toBe(ST0.EXL | ST0.KU_USER);
    expect(seen[0]!.priv).toBe(0n);
    expect([r.slot(1, 'r'), r.slot(1, 'e')]).toEqual([1n, 0n]);
    for (const e of r.k.exits) expect([e.irqsOn, e.spDelta]).toEqual([false, 0n]);
  });

  it('an error comes back as a3 = 1 and a positive errno (syscall(2), 4000, has no routine here: ENOSYS 89), with the number in regs[0]', () => {
    let r0: bigint | undefined;
    const r = h.run(prog([sys('syscall', 7), store('v0', 'r'), store('a3', 'e'), sys('getpid'), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name) => {
          if (name === 'getpid' && r0 === undefined) r0 = k.readWord(k.currentPtRegs().base + 32n);
        };
      },
    });
    expect([r.slot(1, 'r'), r.slot(1, 'e')]).toEqual([89n, 1n]);
    expect(r0).toBe(0n); // SAVE_SOME stored $0 at the next entry
  });

  it('arguments 5 and 6 come from 16(sp) and 20(sp) of the caller, through pt_regs.args[4..5]', () => {
    const r = h.run(prog([sys('ppoll', 0, 0, 0, 0, 8), sys('exit', 0)]), {
      setup(k) {
        k.world.events.push((kk) => kk.sendSignal(kk.task(1)!, abi().sig.SIGKILL));
      },
    });
    expect(r.k.syscalls.find((s) => s.name === 'ppoll')?.args.slice(0, 5)).toEqual([0n, 0n, 0n, 0n, 8n]);
  });

  it('a user sp whose argument area reaches kernel space is EFAULT; one the TLB does not map takes the __ex_table fixups (arguments 0)', () => {
    const top = d().memory.user + 0x3e000n;
    const r = h.run(
      prog([
        set('sp', 0x7ffffff0n),
        sys('getpid'),
        store('v0', 'r1'),
        store('a3', 'e1'),
        set('sp', 0x10n),
        sys('getpid'),
        store('v0', 'r2'),
        store('a3', 'e2'),
        set('sp', top),
        sys('exit', 0),
      ]),
    );
    expect([r.slot(1, 'r1'), r.slot(1, 'e1')]).toEqual([14n, 1n]);
    expect([r.slot(1, 'r2'), r.slot(1, 'e2')]).toEqual([1n, 0n]);
    expect(r.k.trace.filter((l) => l.startsWith('1:fixup'))).toHaveLength(4);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('a handler-less restart puts regs[0] back in v0 and the caller a3 (regs[26]) back in a3, and rewinds epc by 4', () => {
    let a3 = -1n;
    const r = h.run(prog([set('a3', 0x1234n), sys('read', 0, { data: 'buf' }, 4), store('v0', 'n'), sys('exit', 0)], { buf: [0n] }), {
      setup(k) {
        k.world.events.push(
          (kk) => kk.sendSignal(kk.task(1)!, abi().sig.SIGSTOP),
          (kk) => kk.sendSignal(kk.task(1)!, abi().sig.SIGCONT),
          (kk) => {
            kk.inputQueue.push(new TextEncoder().encode('mips'));
            for (const t of kk.tasks) kk.wakeUp(t);
          },
        );
        k.onSyscall = (name) => {
          if (name === 'read') a3 = k.currentPtRegs().get('a3');
        };
      },
    });
    const reads = r.k.syscalls.filter((s) => s.name === 'read');
    expect(reads).toHaveLength(2);
    expect(reads[1]!.userPc).toBe(reads[0]!.userPc);
    expect(reads[1]!.userInsns).toBe(1);
    expect(a3).toBe(0x1234n);
    expect(r.slot(1, 'n')).toBe(4n);
  });
});

describe('user faults', () => {
  it('a privileged instruction is Coprocessor Unusable (CE 0) at the instruction: SIGILL', () => {
    const seen: Array<Record<string, bigint>> = [];
    const r = h.run(prog([label('priv'), { op: 'privileged' }, sys('exit', 0)]), { setup: (k) => vectorSees(k, EXCCODE.CPU, seen) });
    expect(seen[0]!.epc).toBe(r.imgs['/init']!.symbols.get('priv'));
    expect((seen[0]!.cause >> 28n) & 3n).toBe(0n);
    expect(r.k.task(1)!.killedBy).toBe(abi().sig.SIGILL);
  });

  it('user mode cannot reach the kernel: a store to kseg2 is AdES with BadVAddr, a jump into kernel text is an AdEL fetch: SIGBUS', () => {
    const target = d().memory.kernelData + 0x100n;
    const seen: Array<Record<string, bigint>> = [];
    // ctx_store writes $at to offset(a2): aim a2 so that it hits `target`
    const off = BigInt(h.port.signal.ucontext_reg_offset('pc'));
    const r = h.run(prog([set('a2', target - off), { op: 'ctxStore', reg: 'pc', value: 0x5a5an }, sys('exit', 0)]), { setup: (k) => vectorSees(k, EXCCODE.ADES, seen) });
    expect(seen[0]!.badvaddr).toBe(target);
    expect(r.k.m.readUint(target, 4)).toBe(0n);
    expect(r.k.task(1)!.killedBy).toBe(abi().sig.SIGBUS);
    const fetch: Array<Record<string, bigint>> = [];
    const r2 = h.run(prog([set('ra', d().memory.kernelText), { op: 'ret' }, sys('exit', 0)]), { setup: (k) => vectorSees(k, EXCCODE.ADEL, fetch) });
    expect([fetch[0]!.epc, fetch[0]!.badvaddr]).toEqual([d().memory.kernelText, d().memory.kernelText]);
    expect(r2.k.task(1)!.killedBy).toBe(abi().sig.SIGBUS);
  });

  it('an address no TLB entry maps is a TLB refill (EBase + 0x000), then do_page_fault: SIGSEGV', () => {
    let refills = 0;
    const r = h.run(prog([set('a2', 0n), { op: 'ctxStore', reg: 'pc', value: 1n }, sys('exit', 0)]), {
      setup(k) {
        k.m.hookCode(EBASE, EBASE, () => refills++);
      },
    });
    expect(refills).toBe(1);
    expect(r.k.task(1)!.killedBy).toBe(abi().sig.SIGSEGV);
  });
});

describe('signal frame', () => {
  it('o32 rt_sigframe: 784 bytes, rs_uc at 152, uc_mcontext at +24, 64-bit sigcontext slots with the value in the low word', () => {
    expect(RT_SIGFRAME.size).toBe(784n);
    expect(RT_SIGFRAME.uc).toBe(152n);
    expect(UC.sigmask).toBe(616n);
    expect(SC.size).toBe(592n);
    expect(h.port.signal.ucontext_reg_offset('pc')).toBe(36);
    expect(h.port.signal.ucontext_reg_offset('a0')).toBe(24 + 16 + 4 * 8 + 4);
    expect(h.port.signal.ucontext_reg_offset('ra')).toBe(24 + 16 + 31 * 8 + 4);
  });

  it('the handler gets a0 = sig, a1 = &info, a2 = &uc, t9 = epc = handler, ra = the vDSO trampoline, sp = the frame', () => {
    const ops: Op[] = [
      sys('rt_sigaction', abi().sig.SIGUSR1, { data: 'sa' }, 0, 16),
      store('sp', 'sp0'),
      sys('kill', 1, abi().sig.SIGUSR1),
      sys('exit', 0),
      label('handler'),
      ...['a0', 'a1', 'a2', 't9', 'ra', 'sp'].map((x) => store(x, `h.${x}`)),
      { op: 'ret' },
    ];
    const r = h.run(prog(ops, { sa: sigaction('handler', abi().sa.SA_SIGINFO) }));
    const s = (n: string) => BigInt.asUintN(32, r.slot(1, n)!);
    const frame = s('h.sp');
    expect(s('h.a0')).toBe(BigInt(abi().sig.SIGUSR1));
    expect(s('h.a1')).toBe(frame + RT_SIGFRAME.info);
    expect(s('h.a2')).toBe(frame + RT_SIGFRAME.uc);
    expect(s('h.t9')).toBe(r.imgs['/init']!.symbols.get('handler'));
    expect(s('h.ra')).toBe(r.k.sym('__vdso_rt_sigreturn'));
    expect(frame & 7n).toBe(0n);
    expect(frame).toBeLessThanOrEqual(s('sp0') - 32n - RT_SIGFRAME.size);
    expect(r.k.syscalls.find((x) => x.name === 'rt_sigreturn')?.userPc).toBe(r.k.sym('__vdso_rt_sigreturn') + 4n);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});

describe('the timer interrupt', () => {
  it('is taken with Cause.IP7 and ExcCode 0, EPC at the instruction it arrived before, and never in a branch delay slot', () => {
    const seen: Array<Record<string, bigint>> = [];
    const ops: Op[] = [{ op: 'fillRegs', seed: 0x5100n }, set('s0', 0n), label('br'), { op: 'beqz', reg: 's0', label: 'there' }, label('there'), { op: 'nop' }, { op: 'storeRegs', prefix: 'after' }, sys('exit', 0)];
    let br = 0n;
    const r = h.run(prog(ops), {
      setup(k) {
        br = k.programs['/init']!.symbols.get('br')!;
        k.irqPlan = { source: { kind: 'tick' }, afterPc: br, limit: 1 };
        vectorSees(k, EXCCODE.INT, seen);
      },
    });
    expect(r.k.irqs).toHaveLength(1);
    // the beqz ran, its delay slot (br + 4) did too: the interrupt waits for the target
    expect(r.k.irqs[0]).toMatchObject({ user: true, pc: br + 8n, handled: true });
    expect(seen[0]!.epc).toBe(br + 8n);
    expect((seen[0]!.cause >> 8n) & 0xffn).toBe(0x80n);
    comparableRegs(d()).forEach((x, i) => {
      if (x !== 's0') expect(r.slot(1, `after.${x}`), x).toBe(BigInt.asIntN(32, fillValue(0x5100n, i)));
    });
  });
});

describe('MIPS Linux 6.18 where it differs from the shared scenarios', () => {
  it('handle_sys saves a partial frame: during sched_yield pt_regs have no s0-s7/fp; fork saves them first (__sys_fork), and so does the traced exit path', () => {
    const regsAt: Record<string, bigint> = {};
    h.run(prog([set('s0', 0x5eedn), sys('sched_yield'), sys('fork'), { op: 'bnez', reg: 'v0', label: 'parent' }, sys('exit', 0), label('parent'), sys('wait4', -1, 0, 0, 0), sys('exit', 0)]), {
      setup(k) {
        k.onSyscall = (name) => {
          if (name === 'sched_yield' || name === 'fork') regsAt[name] = k.currentPtRegs().get('s0');
        };
      },
    });
    expect(regsAt['sched_yield']).toBe(0n);
    expect(regsAt['fork']).toBe(0x5eedn);
  });

  it('a tracer that skips a syscall (number -1) at the entry stop gets -ENOSYS over its return value (syscall_trace_enter); at the exit stop its value stands', () => {
    const run = (at: 'entry' | 'exit') =>
      h.run(prog([sys('getpid'), store('v0', 'r'), store('a3', 'e'), sys('exit', 0)]), {
        tracer: {
          onSyscallEntry(_t, v) {
            if (v.nr() !== nr('getpid')) return;
            v.setNr(-1n);
            if (at === 'entry') v.setReturn(0x5a5an);
          },
          onSyscallExit(_t, v) {
            if (at === 'exit' && v.nr() === -1n) v.setReturn(0x5a5an);
          },
        },
      });
    const entry = run('entry');
    expect([entry.slot(1, 'r'), entry.slot(1, 'e')]).toEqual([89n, 1n]);
    const exit = run('exit');
    expect([exit.slot(1, 'r'), exit.slot(1, 'e')]).toEqual([0x5a5an, 0n]);
    expect(exit.k.syscalls.some((s) => s.name === 'getpid')).toBe(false);
  });

  it('execve: ELF_PLAT_INIT clears pt_regs, but the o32 exit reloads only SAVE_SOME\'s registers: s0-s7 and fp keep their values', () => {
    const words = (s: string) => {
      const b = Buffer.alloc(12);
      b.write(s);
      return [0, 4, 8].map((o) => BigInt(b.readUInt32BE(o)));
    };
    const r = h.run({
      '/init': { name: '/init', ops: [label('_start'), { op: 'fillRegs', seed: 0x2200n }, sys('execve', { data: 'path' }, 0, 0), sys('exit', 1)], data: { path: words('/bin/next') } },
      '/bin/next': { name: '/bin/next', ops: [label('_start'), store('v0', 'ret0'), { op: 'storeRegs', prefix: 'start' }, sys('exit', 0)] },
    });
    const slot = (name: string) => r.k.results.get(1)?.get(BigInt(r.imgs['/bin/next']!.slots.get(name)!));
    const regs = comparableRegs(d());
    const kept = regs.filter((x, i) => slot(`start.${x}`) === fillValue(0x2200n, i));
    expect(kept).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 'fp']);
    for (const x of ['v1', 't9', 'gp', 'ra']) expect(slot(`start.${x}`), x).toBe(0n);
    expect(slot('ret0')).toBe(0n);
  });
});

describe('assemblers', () => {
  it('llvm-mc (the declared alternative) assembles entry.S and every user-program op to the same bytes as GNU as', async () => {
    const port = h.port;
    const desc = port.descriptor;
    const names = new Set(['sys_call_table', 'schedule', 'schedule_tail', 'sys_ni_syscall', 'cpu_startup_entry', ...Object.keys(port.entry.models.arch!)]);
    for (const n of Object.keys(desc.syscall.numbers)) if (implemented({ port }, n)) names.add(`sys_${n}`);
    const externs = Object.fromEntries([...names].map((n, i) => [n, desc.memory.stubs + BigInt(16 * (i + 1))]));
    const src = { ...port.sources.entry, prelude: asmOffsets(desc) };
    const llvmAsm = await createAssembler(desc.assembler.alternative!);
    const gnu = h.asm.assemble(src, { base: desc.memory.kernelText, externs });
    const llvm = llvmAsm.assemble(src, { base: desc.memory.kernelText, externs });
    expect(Buffer.from(llvm.bytes).equals(Buffer.from(gnu.bytes))).toBe(true);
    expect(llvm.symbols).toEqual(gnu.symbols);
    const every: UserProgram = {
      name: '/every-op',
      ops: [
        label('_start'),
        { op: 'tlsSet', value: { data: 'w' } },
        { op: 'fillRegs', seed: 0x1000n, all: true },
        sys('ppoll', 0, 0, 0, 0, 8),
        { op: 'storeAllRegs', prefix: 'all' },
        { op: 'tlsLoad', reg: 'callee0' },
        store('callee0', 's'),
        { op: 'load', reg: 'callee1', slot: 's' },
        { op: 'inc', slot: 's' },
        { op: 'beqz', reg: 'callee1', label: 'x' },
        { op: 'bnez', reg: 'callee1', label: 'x' },
        { op: 'jmp', label: 'x' },
        label('x'),
        { op: 'ctxStore', reg: 'pc', value: { label: 'x' } },
        { op: 'privileged' },
        { op: 'nop' },
        { op: 'ret' },
      ],
      data: { w: [1n] },
    };
    const ctx = (a: typeof h.asm) => ({ desc, templates: port.sources.userTemplates, signal: port.signal, assembler: a });
    expect(Buffer.from(compileProgram(ctx(llvmAsm), every).bytes).equals(Buffer.from(compileProgram(ctx(h.asm), every).bytes))).toBe(true);
  });
});
