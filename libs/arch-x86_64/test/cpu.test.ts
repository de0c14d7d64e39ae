// The x86-64 CPU model on its own: the calibrated privilege switch, SYSCALL entry, #GP
// delivery through the gate, the return-to-user check. What every arch shares is in
// test/contract.test.ts.
import { Const, Keystone, loadKeystone } from 'keystone-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { createUnicornMachine, type UnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { cpu, ENTRY_STACK_OFFSET, ENTRY_STACK_SIZE, GDT, GDT_OFFSET, MSR_LSTAR, SYSCALL_MASK } from '../src/cpu.ts';

let ks: Keystone;
beforeAll(async () => {
  await loadKeystone();
  ks = new Keystone(Const.KS_ARCH_X86, Const.KS_MODE_64);
  cpu.unicorn.calibrate?.();
});
const asm = (text: string, address: bigint) => ks.asm(text, { address });

const machines: UnicornMachine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

const DATA = 0x200000n;
const KTEXT = 0x100000n;
const UTEXT = 0x800000n;
const STACK_TOP = 0x404000n;

/** A machine with the layout the kernel uses and cpu.boot() done, with a stand-in kernel that records bugs. */
function booted(): { m: UnicornMachine; bugs: string[]; entry: bigint; gp: bigint; irq: bigint } {
  const m = createUnicornMachine(cpu.unicorn);
  machines.push(m);
  m.map(KTEXT, 0x10000);
  m.map(DATA, 0x10000);
  m.map(0x400000n, 0x4000);
  m.map(UTEXT, 0x10000);
  const entry = KTEXT + 0x100n;
  const gp = KTEXT + 0x200n;
  const irq = KTEXT + 0x300n;
  const bugs: string[] = [];
  const task = { pid: 1, stackTop: STACK_TOP } as Task;
  const k = {
    symbols: new Map([['entry_SYSCALL_64', entry], ['asm_exc_general_protection', gp], ['irq_entries_start', irq]]),
    desc: { memory: { kernelData: DATA } },
    current: () => task,
    bug: (c: string, msg: string) => {
      bugs.push(`${c}: ${msg}`);
      m.stop();
      throw new Error(msg);
    },
  } as unknown as KernelApi;
  cpu.boot(m, k);
  return { m, bugs, entry, gp, irq };
}

describe('x86-64 CPU model', () => {
  it('boot: Linux GDT in guest memory, SYSCALL MSRs, CPL0 with interrupts off', () => {
    const { m, entry } = booted();
    expect(m.readUint(DATA + GDT_OFFSET + 6n * 8n, 8)).toBe(GDT[6]);
    expect(m.reg('lstar')).toBe(entry);
    expect(m.reg('fmask')).toBe(SYSCALL_MASK);
    expect(cpu.privilege(m)).toBe(0);
    expect(cpu.irqsEnabled(m)).toBe(false);
    void MSR_LSTAR;
  });

  it('setPrivilege(3) makes cli fault with #GP; setPrivilege(0) makes it run; CS/SS follow', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, asm('cli; nop', 0x10000n));
    const ints: number[] = [];
    m.hookInterrupt((n) => {
      ints.push(n);
      m.stop();
    });
    cpu.setPrivilege(m, 3);
    expect(cpu.privilege(m)).toBe(3);
    expect(m.reg('cs')).toBe(0x33n);
    expect(m.reg('ss')).toBe(0x2bn);
    m.run(0x10000n, { instructions: 10 }, 0x10002n);
    expect(ints).toEqual([13]);
    cpu.setPrivilege(m, 0);
    expect(m.reg('cs')).toBe(0x10n);
    m.setReg('rflags', 0x202n);
    expect(m.run(0x10000n, { instructions: 10 }, 0x10002n).reason).toBe('until');
    expect(cpu.irqsEnabled(m)).toBe(false);
    expect(() => cpu.setPrivilege(m, 1)).toThrow(/CPL 0 or 3/);
  });

  it('SYSCALL from CPL3 lands at LSTAR at CPL0 with rcx = next rip, r11 = user rflags, IF clear', () => {
    const { m, entry } = booted();
    m.write(UTEXT, asm('mov eax, 39; syscall; nop', UTEXT));
    m.write(entry, asm('hlt', entry));
    let at: { rip: bigint; cpl: number; rcx: bigint; r11: bigint; irq: boolean } | undefined;
    m.hookCode(entry, entry, () => {
      at = { rip: m.reg('rip'), cpl: cpu.privilege(m), rcx: m.reg('rcx'), r11: m.reg('r11'), irq: cpu.irqsEnabled(m) };
      m.stop();
    });
    cpu.setPrivilege(m, 3);
    m.setReg('rflags', 0x202n);
    m.run(UTEXT, { instructions: 100 });
    expect(at).toEqual({ rip: entry, cpl: 0, rcx: UTEXT + 7n, r11: 0x202n, irq: false });
  });

  it('#GP at CPL3 enters its IDT gate on the entry stack (TSS.sp0) with the hardware frame; every time, never a double fault; a kernel fault is a bug', () => {
    const { m, gp, bugs } = booted();
    m.write(UTEXT, asm('cli; cli', UTEXT));
    const frames: bigint[][] = [];
    const sps: bigint[] = [];
    m.hookCode(gp, gp, () => {
      const sp = m.reg('rsp');
      sps.push(sp);
      frames.push([0, 1, 2, 3, 4, 5].map((i) => m.readUint(sp + BigInt(8 * i), 8)));
      // skip the faulting instruction and go back, as a handler would
      m.writeUint(sp + 8n, 8, m.readUint(sp + 8n, 8) + 1n);
      m.setReg('rsp', sp + 8n);
      m.setReg('rip', gp + 1n);
    });
    m.write(gp, Uint8Array.from([0x90, 0x48, 0xcf])); // nop; iretq
    cpu.setPrivilege(m, 3);
    m.setReg('rflags', 0x202n);
    m.setReg('rsp', UTEXT + 0x8000n);
    m.run(UTEXT, { instructions: 100 }, UTEXT + 2n);
    expect(sps[0]).toBe(DATA + ENTRY_STACK_OFFSET + ENTRY_STACK_SIZE - 6n * 8n);
    expect(frames.map((f) => f[1])).toEqual([UTEXT, UTEXT + 1n]);
    expect(frames[0]).toEqual([0n, UTEXT, 0x33n, 0x202n, UTEXT + 0x8000n, 0x2bn]);
    expect(bugs).toEqual([]);
    // at CPL0 a #GP (a selector past the GDT limit loaded into DS) is an oops, reported as a bug
    m.write(KTEXT, asm('mov eax, 0x100; mov ds, ax', KTEXT));
    cpu.setPrivilege(m, 0);
    expect(() => m.run(KTEXT, { instructions: 10 })).toThrow(/kernel-mode fault #GP/);
    expect(bugs[0]).toMatch(/^cpu: kernel-mode fault #GP general protection at rip 0x100005/);
  });

  it('returnToUser: iretq to a CPL3 frame is a return to user mode, with the kernel sp at the iret frame; iretq to CPL0 is not', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0x10000n, 0x4000);
    m.write(0x10000n, Uint8Array.from([0x48, 0xcf]));
    const top = 0x13000n;
    const frame = top - 40n;
    [0x1234n, 0x33n, 0x202n, 0x5000n, 0x2bn].forEach((v, i) => m.writeUint(frame + BigInt(8 * i), 8, v));
    m.setReg('rsp', frame);
    expect(cpu.returnToUser.check(m, 0x10000n, 2, top, 168)).toEqual({ pc: 0x1234n, sp: frame, expectedSp: frame });
    m.writeUint(frame + 8n, 8, 0x10n);
    expect(cpu.returnToUser.check(m, 0x10000n, 2, top, 168)).toBeNull();
    expect(cpu.returnToUser.check(m, 0x10001n, 1, top, 168)).toBeNull();
  });

  it('an external interrupt: taken only with IF set and not right after sti; from CPL3 on TSS.sp0, from CPL0 on the current stack', () => {
    const { m, irq } = booted();
    const irqModel = cpu.irq!;
    m.write(irq, asm('hlt', irq));
    // user mode: sti is privileged there, so the shadow is checked at CPL0 below
    cpu.setPrivilege(m, 3);
    m.setReg('rflags', 0x202n);
    m.setReg('rsp', UTEXT + 0x8000n);
    m.setReg('rip', UTEXT + 0x10n);
    expect(irqModel.canTake(m)).toBe(true);
    irqModel.take(m, {} as KernelApi);
    const sp0 = DATA + ENTRY_STACK_OFFSET + ENTRY_STACK_SIZE;
    expect(cpu.privilege(m)).toBe(0);
    expect(m.reg('rip')).toBe(irq);
    expect(m.reg('rsp')).toBe(sp0 - 40n);
    expect([0, 1, 2, 3, 4].map((i) => m.readUint(sp0 - 40n + BigInt(8 * i), 8))).toEqual([UTEXT + 0x10n, 0x33n, 0x202n, UTEXT + 0x8000n, 0x2bn]);
    expect(cpu.irqsEnabled(m)).toBe(false);
    expect(irqModel.canTake(m)).toBe(false);
    // kernel mode: sti; nop -- not before the nop (the sti shadow), then before the next one
    m.write(KTEXT, asm('sti; nop; nop', KTEXT));
    m.setReg('rsp', 0x403f08n);
    const seen: boolean[] = [];
    m.setInterrupt({ at: 0, take: () => (seen.push(irqModel.canTake(m)), false) });
    m.run(KTEXT, { instructions: 10 }, KTEXT + 3n);
    expect(seen).toEqual([false, false, true]);
    m.setInterrupt(undefined);
    m.setReg('rip', KTEXT + 2n);
    irqModel.take(m, {} as KernelApi);
    // aligned down to 16 first, then ss rsp rflags cs rip
    expect(m.reg('rsp')).toBe(0x403f00n - 40n);
    expect(m.readUint(0x403f00n - 40n, 8)).toBe(KTEXT + 2n);
  });

  it('returnToUser names the kernel GS base live at a return to user mode (a missing swapgs)', () => {
    const { m } = booted();
    const top = 0x404000n;
    const frame = top - 40n;
    [0x801234n, 0x33n, 0x202n, 0x805000n, 0x2bn].forEach((v, i) => m.writeUint(frame + BigInt(8 * i), 8, v));
    m.setReg('rsp', frame);
    m.write(KTEXT, Uint8Array.from([0x0f, 0x01, 0xf8, 0x48, 0xcf])); // swapgs; iretq
    expect(cpu.returnToUser.check(m, KTEXT + 3n, 2, top, 168)?.violation?.message).toMatch(/kernel's GS base .* live/);
    m.setReg('gs_base', 0n);
    m.setReg('kernel_gs_base', DATA);
    expect(cpu.returnToUser.check(m, KTEXT + 3n, 2, top, 168)?.violation).toBeUndefined();
  });
});
