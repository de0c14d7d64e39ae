// What is only i386's: the CPU model on Unicorn 2.0.1 (calibration, the privilege switch,
// the IDT gate delivery the interrupt hook stands in for: int $0x80 on TSS.esp0, faults with
// their error code, a software interrupt through a DPL 0 gate, paging keeping user mode out
// of the kernel, external interrupts from user and kernel mode), the return-to-user check,
// and, with the whole kernel, the rt_sigframe as Linux lays it out, the vDSO return, a
// fault's trap number in the signal context, set_thread_area's thread pointer.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Assembler } from '@archkit/generic-core/asm/assembler';
import { createAssembler } from '@archkit/generic-core/asm/create';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { Kernel } from '@archkit/generic-core/kernel/kernel';
import { USER_RESULTS } from '@archkit/generic-core/kernel/layout';
import type { CGen, KernelApi, Task, UserImage } from '@archkit/generic-core/kernel/types';
import { createUnicornMachine, type UnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { calibrate, cpu, GDT_ENTRY_TLS_MIN, GDT_OFFSET, IDT_GATES, IDT_OFFSET, KERNEL_CS, KERNEL_DS, pageDirectory, PDE, tssAddress, TSS, USER_CS, USER_DS } from '../src/cpu.ts';
import { RT_SIGFRAME, SIGCONTEXT, UC } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const label = (name: string): Op => ({ op: 'label', name });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });

let h: Harness;
let gas: Assembler;
beforeAll(async () => {
  h = await harness(createPort);
  gas = await createAssembler(h.port.descriptor.assembler);
});
const asm = (text: string, base: bigint) => gas.assemble({ file: 'test.S', text: `.code32\n${text}\n` }, { base }).bytes;

const machines: UnicornMachine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

const KTEXT = 0x100000n;
const DATA = 0x200000n;
const STACKS = 0x400000n;
const UTEXT = 0x800000n;
const STACK_TOP = STACKS + 0x4000n;

/**
 * A machine with the kit's memory map and cpu.boot() done, with a stand-in kernel: every
 * IDT gate points at its own `hlt` in kernel text, TSS.esp0 is one task's stack top.
 */
function booted(): { m: UnicornMachine; bugs: string[]; gate: (label: string) => bigint } {
  const m = createUnicornMachine(cpu.unicorn);
  machines.push(m);
  const d = h.port.descriptor;
  m.map(KTEXT, 0x10000);
  m.map(DATA, 0x100000);
  m.map(STACKS, 0x10000);
  m.map(UTEXT, 0x40000);
  const symbols = new Map<string, bigint>();
  Object.values(IDT_GATES).forEach((g, i) => symbols.set(g.label, KTEXT + 0x100n * BigInt(i + 1)));
  m.write(KTEXT, new Uint8Array(0x2000).fill(0xf4)); // hlt
  const bugs: string[] = [];
  const task = { pid: 1, stackTop: STACK_TOP } as Task;
  const k = {
    symbols,
    desc: d,
    current: () => task,
    bug: (c: string, msg: string) => {
      bugs.push(`${c}: ${msg}`);
      m.stop();
      throw new Error(msg);
    },
  } as unknown as KernelApi;
  cpu.boot(m, k);
  m.writeUint(tssAddress(d) + TSS.esp0, 4, STACK_TOP);
  return { m, bugs, gate: (label) => symbols.get(label)! };
}

/** Runs user code at CPL 3 until a gate's hlt; returns what the gate found on its stack. */
function runUser(m: UnicornMachine, code: string, gates: bigint[], words = 6) {
  m.write(UTEXT, asm(code, UTEXT));
  const seen: Array<{ at: bigint; cpl: number; frame: bigint[]; eflags: bigint; esp: bigint; cs: bigint; ss: bigint }> = [];
  for (const g of gates) {
    m.hookCode(g, g, () => {
      const esp = m.reg('esp');
      seen.push({ at: g, cpl: cpu.privilege(m), frame: [...Array(words).keys()].map((i) => m.readUint(esp + BigInt(4 * i), 4)), eflags: m.reg('eflags'), esp, cs: m.reg('cs'), ss: m.reg('ss') });
      m.stop();
    });
  }
  cpu.setPrivilege(m, 3);
  m.setReg('ds', BigInt(USER_DS));
  m.setReg('es', BigInt(USER_DS));
  m.setReg('eflags', 0x202n);
  m.setReg('esp', UTEXT + 0x3e000n);
  m.run(UTEXT, { instructions: 1000 });
  return seen;
}

describe('CPU model on Unicorn 2.0.1', () => {
  it('calibration finds hflags, the segment caches, old_exception and the error code; setPrivilege(3) makes cli fault, (0) lets it run', () => {
    const off = calibrate();
    expect(new Set([off.hflags, off.segs, off.oldException, off.errorCode]).size).toBe(4);
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0n, 0x2000);
    m.write(0x100n, asm('cli\nnop', 0x100n));
    const ints: number[] = [];
    m.hookInterrupt((n) => {
      ints.push(n);
      m.stop();
    });
    cpu.setPrivilege(m, 3);
    expect(cpu.privilege(m)).toBe(3);
    expect([m.reg('cs'), m.reg('ss')]).toEqual([BigInt(USER_CS), BigInt(USER_DS)]);
    m.run(0x100n, { instructions: 10 }, 0x102n);
    expect(ints).toEqual([13]);
    cpu.setPrivilege(m, 0);
    expect([m.reg('cs'), m.reg('ss')]).toEqual([BigInt(KERNEL_CS), BigInt(KERNEL_DS)]);
    m.setReg('eflags', 0x202n);
    expect(m.run(0x100n, { instructions: 10 }, 0x102n).reason).toBe('until');
    expect(cpu.irqsEnabled(m)).toBe(false);
    expect(() => cpu.setPrivilege(m, 1)).toThrow(/CPL 0 or 3/);
  });

  it('boot: Linux GDT, IDT gates (int $0x80 with DPL 3), TSS ss0, paging on, CPL 0 with irqs off', () => {
    const { m } = booted();
    const d = h.port.descriptor;
    expect(m.readUint(DATA + GDT_OFFSET + 14n * 8n, 8)).toBe(0x00cffb000000ffffn);
    const g80 = m.readUint(DATA + IDT_OFFSET + 0x80n * 8n, 8);
    expect((g80 >> 45n) & 3n).toBe(3n); // DPL 3
    expect((g80 >> 40n) & 0x1fn).toBe(0xen); // interrupt gate
    expect((g80 >> 16n) & 0xffffn).toBe(BigInt(KERNEL_CS));
    expect(m.readUint(DATA + IDT_OFFSET + 13n * 8n, 8) >> 45n & 3n).toBe(0n);
    expect(m.readUint(tssAddress(d) + TSS.ss0, 4)).toBe(BigInt(KERNEL_DS));
    expect(m.reg('cr0') & 0x80000001n).toBe(0x80000001n);
    expect(cpu.privilege(m)).toBe(0);
    expect(cpu.irqsEnabled(m)).toBe(false);
  });

  it('int $0x80 from CPL 3 goes through its gate onto TSS.esp0: user ss, esp, eflags, cs, next eip; CPL 0, IF clear', () => {
    const { m, gate } = booted();
    const at = gate('entry_INT80_32');
    const [s] = runUser(m, 'movl $20, %eax\nint $0x80\nnop', [at], 5);
    expect(s).toBeDefined();
    expect(s!.cpl).toBe(0);
    expect(s!.esp).toBe(STACK_TOP - 20n);
    expect(s!.frame).toEqual([UTEXT + 7n, BigInt(USER_CS), 0x202n, UTEXT + 0x3e000n, BigInt(USER_DS)]);
    expect(s!.eflags & 0x200n).toBe(0n);
    expect([s!.cs, s!.ss]).toEqual([BigInt(KERNEL_CS), BigInt(KERNEL_DS)]);
  });

  it('a #GP at CPL 3 is delivered with its error code every time, never as a double fault', () => {
    const { m, gate } = booted();
    const gp = gate('asm_exc_general_protection');
    const frames: bigint[][] = [];
    // the handler skips the faulting instruction and irets, as a signal handler would
    m.write(gp, asm('addl $4, %esp\nincl (%esp)\nincl (%esp)\niret', gp));
    m.hookCode(gp, gp, () => {
      const esp = m.reg('esp');
      frames.push([0, 1, 2].map((i) => m.readUint(esp + BigInt(4 * i), 4)));
    });
    // mov %bx,%ds with a DPL 0 selector: #GP(0x68), 2 bytes; three in a row
    runUser(m, `movl $${KERNEL_DS}, %ebx\nmovw %bx, %ds\nmovw %bx, %ds\nmovw %bx, %ds\nint $0x80`, [], 0);
    expect(frames.map((f) => f[0])).toEqual([0x68n, 0x68n, 0x68n]);
    expect(frames.map((f) => f[1])).toEqual([UTEXT + 5n, UTEXT + 7n, UTEXT + 9n]);
  });

  it('int $13 from user mode (a DPL 0 gate) is #GP with error code 13 * 8 + 2 at the int instruction', () => {
    const { m, gate } = booted();
    const [s] = runUser(m, 'nop\nint $13', [gate('asm_exc_general_protection')]);
    expect(s!.frame.slice(0, 3)).toEqual([13n * 8n + 2n, UTEXT + 1n, BigInt(USER_CS)]);
  });

  it('int3 and into reach their DPL 3 gates with the next eip', () => {
    const { m, gate } = booted();
    const [s] = runUser(m, 'nop\nint3\nnop', [gate('asm_exc_int3')]);
    expect(s!.frame.slice(0, 2)).toEqual([UTEXT + 2n, BigInt(USER_CS)]);
  });

  it('paging: user mode reading or running kernel memory page-faults (#PF, error code, CR2); the page directory keeps U/S for the user region only', () => {
    const { m, gate } = booted();
    const pf = gate('asm_exc_page_fault');
    let cr2 = 0n;
    m.hookCode(pf, pf, () => (cr2 = m.reg('cr2')));
    const [s] = runUser(m, `movl ${DATA + 0x10n}, %eax`, [pf]);
    expect(s!.frame.slice(0, 2)).toEqual([5n, UTEXT]); // present, user, read
    expect(cr2).toBe(DATA + 0x10n);
    const d = h.port.descriptor;
    const dir = pageDirectory(d.memory);
    expect(dir[Number(d.memory.user >> 22n)]! & PDE.US).toBe(PDE.US);
    expect(dir.filter((e) => e & PDE.US)).toHaveLength(1);
    expect(dir[1023]! & (PDE.P | PDE.US)).toBe(PDE.P); // see the next test
    expect(dir[Number(d.memory.kernelText >> 22n)]! & PDE.US).toBe(0n);
    expect(() => pageDirectory({ ...d.memory, user: 0x500000n })).toThrow(/share the 4 MiB page/);
  });

  it("Unicorn's end-of-run translation of until - 1 leaves no exception in flight: a run after a run still sees #GP, not #DF", () => {
    const { m, gate } = booted();
    m.write(KTEXT + 0x3000n, asm('nop\nhlt', KTEXT + 0x3000n));
    m.run(KTEXT + 0x3000n, { instructions: 10 });
    m.run(KTEXT + 0x3000n, { instructions: 10 });
    const off = calibrate();
    expect(m.uc.saveContext().getInt32(off.oldException, true)).toBe(-1);
    const [s] = runUser(m, 'cli', [gate('asm_exc_general_protection')]);
    expect(s!.frame.slice(0, 2)).toEqual([0n, UTEXT]);
  });

  it('a fault at CPL 0 is an oops, reported as a bug; so is int $0x80 from the kernel', () => {
    const { m, bugs } = booted();
    m.write(KTEXT + 0x3000n, asm('int $0x80', KTEXT + 0x3000n));
    expect(() => m.run(KTEXT + 0x3000n, { instructions: 10 })).toThrow(/no syscalls from kernel mode/);
    m.write(KTEXT + 0x3100n, asm('movl $0x100, %eax\nmovw %ax, %ds', KTEXT + 0x3100n));
    expect(() => m.run(KTEXT + 0x3100n, { instructions: 10 })).toThrow(/kernel-mode fault #GP/);
    expect(bugs[0]).toMatch(/^C2: /);
    expect(bugs[1]).toMatch(/^cpu: kernel-mode fault #GP general protection at eip 0x103105/);
  });

  it('an external interrupt from user mode: before the instruction at eip, through vector 0x20 onto TSS.esp0, IF clear', () => {
    const { m, gate } = booted();
    const irq = gate('irq_entries_start');
    m.setInterrupt({
      at: 1,
      take: () => {
        cpu.irq!.take(m, {} as KernelApi);
        return true;
      },
    });
    const [s] = runUser(m, 'nop\nnop\nnop', [irq], 5);
    expect(s!.cpl).toBe(0);
    expect(s!.frame).toEqual([UTEXT + 1n, BigInt(USER_CS), 0x202n, UTEXT + 0x3e000n, BigInt(USER_DS)]);
    expect(s!.eflags & 0x200n).toBe(0n);
  });

  it('an external interrupt in the kernel: no stack switch, eflags cs eip on the stack in use; none while IF is clear or right after sti', () => {
    const { m, gate } = booted();
    const irq = gate('irq_entries_start');
    const code = KTEXT + 0x3000n;
    m.write(code, asm('sti\nnop\nnop\nhlt', code));
    const tries: Array<[bigint, boolean]> = [];
    let frame: bigint[] = [];
    // the interrupt line is up from the first instruction: the CPU takes it where it can
    m.setInterrupt({
      at: 0,
      take: () => {
        const can = cpu.irq!.canTake(m);
        tries.push([m.reg('eip') - code, can]);
        if (can) cpu.irq!.take(m, {} as KernelApi);
        return can;
      },
    });
    m.hookCode(irq, irq, () => {
      const esp = m.reg('esp');
      frame = [0, 1, 2].map((i) => m.readUint(esp + BigInt(4 * i), 4));
      m.stop();
    });
    m.setReg('esp', STACK_TOP - 0x100n);
    m.run(code, { instructions: 20 });
    // at sti: IF still clear; at the nop after sti: the shadow; at the next nop: taken
    expect(tries).toEqual([[0n, false], [1n, false], [2n, true]]);
    expect(frame).toEqual([code + 2n, BigInt(KERNEL_CS), 0x202n]);
    expect(m.reg('esp')).toBe(STACK_TOP - 0x100n - 12n);
  });

  it('returnToUser: iret to a CPL 3 frame returns to user mode with the kernel sp at the iret frame; iret to CPL 0 does not', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0x10000n, 0x4000);
    m.write(0x10000n, Uint8Array.from([0xcf]));
    const top = 0x13000n;
    const frame = top - 20n;
    [0x1234n, BigInt(USER_CS), 0x202n, 0x5000n, BigInt(USER_DS)].forEach((v, i) => m.writeUint(frame + BigInt(4 * i), 4, v));
    m.setReg('esp', frame);
    expect(cpu.returnToUser.check(m, 0x10000n, 1, top, 68)).toEqual({ pc: 0x1234n, sp: frame, expectedSp: frame });
    // the kernel's per-cpu segment still in fs is a violation (RESTORE_REGS missed the user's)
    cpu.setPrivilege(m, 0);
    const gdt = 0x11000n;
    m.writeUint(gdt + 27n * 8n, 8, 0x00cf93000000ffffn);
    m.uc.regWriteStruct(243, (b) => {
      b.writeBigUInt64LE(gdt, 8);
      b.writeUInt32LE(32 * 8 - 1, 16);
    });
    m.setReg('fs', 0xd8n);
    expect(cpu.returnToUser.check(m, 0x10000n, 1, top, 68)?.violation?.contract).toBe('C12');
    m.writeUint(frame + 4n, 4, BigInt(KERNEL_CS));
    expect(cpu.returnToUser.check(m, 0x10000n, 1, top, 68)).toBeNull();
  });
});

// ---------------------------------------------------------------- with the whole kernel

/** A user image from raw AT&T source (for what the arch-neutral ops cannot say). */
function rawImage(source: string): UserImage {
  const base = h.port.descriptor.memory.user;
  const res = gas.assemble({ file: 'raw.S', text: `.code32\n${source}\n` }, { base });
  return { base, entry: base, bytes: res.bytes, symbols: res.symbols, slots: new Map(), regSets: new Map(), data: new Map(), dataInit: [], source };
}

function runImage(img: UserImage): Kernel {
  const p = h.port;
  const m = createUnicornMachine(p.cpu.unicorn);
  machines.push(m);
  const k = new Kernel({
    port: p,
    machine: m,
    assembler: h.asm,
    programs: { '/init': img },
    kfns: {
      *kernel_init(kk: KernelApi): CGen {
        if (kk.kernelExecve('/init') !== 0n) yield* kk.doExit(127 << 8);
        return 0n;
      },
    },
  });
  k.boot();
  expect(k.kernelThread('kernel_init', 0n).next().done).toBe(true);
  k.run(200_000);
  return k;
}

describe('with the kernel', () => {
  it('a user read of kernel memory is a #PF that kills the task with SIGSEGV (paging keeps user mode out)', () => {
    const k = runImage(rawImage(`movl ${h.port.descriptor.memory.kernelData}, %eax\nmovl $1, %eax\nint $0x80`));
    expect(k.trace).toContain('1:fault sig11');
    expect(k.task(1)!.killedBy).toBe(11);
  });

  it("a fault's signal context has its trap number, error code and CR2 (sigcontext trapno, err, cr2)", () => {
    const user = h.port.descriptor.memory.user;
    const res = user + USER_RESULTS;
    // handler for SIGSEGV (SA_SIGINFO | SA_RESTORER): copies trapno/err/cr2 out of its
    // ucontext, points eip past the faulting load, returns through the restorer
    const mc = Number(UC.mcontext);
    const img = rawImage(`
      movl $174, %eax
      movl $11, %ebx
      movl $act, %ecx
      xorl %edx, %edx
      movl $8, %esi
      int $0x80
      movl ${h.port.descriptor.memory.kernelData + 4n}, %eax
    after:
      movl $1, %eax
      xorl %ebx, %ebx
      int $0x80
    handler:
      movl ${mc + SIGCONTEXT['trapno']!}(%ecx), %eax
      movl %eax, ${res}
      movl ${mc + SIGCONTEXT['err']!}(%ecx), %eax
      movl %eax, ${res + 8n}
      movl ${mc + SIGCONTEXT['cr2']!}(%ecx), %eax
      movl %eax, ${res + 16n}
      movl $after, ${mc + SIGCONTEXT['ip']!}(%ecx)
      ret
    restorer:
      movl $173, %eax
      int $0x80
      .balign 4
    act:
      .long handler, 0x04000004, restorer, 0, 0`);
    const k = runImage(img);
    const r = k.results.get(1)!;
    expect([r.get(0n), r.get(1n), r.get(2n)]).toEqual([14n, 5n, h.port.descriptor.memory.kernelData + 4n]);
    expect(k.task(1)!.exitCode).toBe(0);
  });

  it('rt_sigframe as signal_32.c lays it out: pretcode, sig, pinfo, puc, siginfo, ucontext, retcode; the handler gets regparm(3) arguments', () => {
    const prog: Record<string, UserProgram> = {
      '/init': {
        name: '/init',
        ops: [label('_start'), sys('kill', 1, 10), sys('exit', 0), label('h10'), store('eax', 'sig'), store('edx', 'info'), store('ecx', 'uc'), store('esp', 'sp'), { op: 'ret' }, label('__restore_rt'), sys('rt_sigreturn')],
        data: {
          sa10: {
            size: 20,
            build(resolve) {
              const b = Buffer.alloc(20);
              b.writeUInt32LE(Number(resolve('h10')), 0);
              b.writeUInt32LE(0x04000004, 4); // SA_RESTORER | SA_SIGINFO
              b.writeUInt32LE(Number(resolve('__restore_rt')), 8);
              return b;
            },
          },
        },
      },
    };
    prog['/init']!.ops.splice(1, 0, sys('rt_sigaction', 10, { data: 'sa10' }, 0, 8));
    const { slot, k } = h.run(prog);
    const u = (v: bigint | undefined) => BigInt.asUintN(32, v!);
    const sp = u(slot(1, 'sp'));
    expect((sp + 4n) % 16n).toBe(0n);
    expect(u(slot(1, 'sig'))).toBe(10n);
    expect(u(slot(1, 'info'))).toBe(sp + RT_SIGFRAME.info);
    expect(u(slot(1, 'uc'))).toBe(sp + RT_SIGFRAME.uc);
    expect(k.trace).toContain('1:sigreturn');
    expect(k.task(1)!.exitCode).toBe(0);
  });

  it('set_thread_area and %gs give user mode its own thread pointer: a GDT TLS entry, DPL 3, based at the value', () => {
    const prog: Record<string, UserProgram> = {
      '/init': {
        name: '/init',
        ops: [label('_start'), { op: 'tlsSet', value: { data: 'tls' } }, { op: 'tlsLoad', reg: 'ebx' }, store('ebx', 'seen'), sys('exit', 0)],
        data: { tls: [0x7115c0den] },
      },
    };
    const { slot, k, imgs } = h.run(prog);
    expect(BigInt.asUintN(32, slot(1, 'seen')!)).toBe(0x7115c0den);
    // the gs the task had when it was switched out for the last time (savesegment)
    expect(k.readWord(k.threadSlot(k.task(1)!, 'gs'))).toBe(BigInt(GDT_ENTRY_TLS_MIN * 8 + 3));
    // the task's TLS descriptor (the GDT holds the running task's: the idle task's by now)
    const desc = k.m.readUint(k.threadSlot(k.task(1)!, 'tls_array'), 8);
    const base = ((desc >> 16n) & 0xffffffn) | (((desc >> 56n) & 0xffn) << 24n);
    expect(base).toBe(imgs['/init']!.data.get('tls'));
    expect((desc >> 45n) & 3n).toBe(3n);
  });

  it('without SA_RESTORER the handler returns through the vDSO __kernel_rt_sigreturn', () => {
    const prog: Record<string, UserProgram> = {
      '/init': {
        name: '/init',
        ops: [label('_start'), sys('rt_sigaction', 10, { data: 'sa10' }, 0, 8), sys('kill', 1, 10), sys('exit', 0), label('h10'), { op: 'ret' }],
        data: {
          sa10: {
            size: 20,
            build(resolve) {
              const b = Buffer.alloc(20);
              b.writeUInt32LE(Number(resolve('h10')), 0);
              b.writeUInt32LE(0x4, 4); // SA_SIGINFO
              return b;
            },
          },
        },
      },
    };
    const { k } = h.run(prog);
    const sr = k.syscalls.find((s) => s.name === 'rt_sigreturn');
    expect(sr?.userPc).toBe(k.sym('__kernel_rt_sigreturn') + 5n); // the int $0x80 after movl $173, %eax
    expect(k.task(1)!.exitCode).toBe(0);
  });
});
