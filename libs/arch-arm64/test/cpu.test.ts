// The AArch64 CPU model on its own: the calibrated EL switch with SP banking, svc and
// undefined-instruction entry through the vectors, the ESR syndrome, the return-to-user
// check. What every arch shares is in test/contract.test.ts.
import { Const, Keystone, loadKeystone } from 'keystone-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { createUnicornMachine, type UnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { cpu, undefSyndrome, ESR_ELx_EC_SHIFT } from '../src/cpu.ts';

let ks: Keystone;
beforeAll(async () => {
  await loadKeystone();
  ks = new Keystone(Const.KS_ARCH_ARM64, Const.KS_MODE_LITTLE_ENDIAN);
  cpu.unicorn.calibrate?.();
});
const asm = (text: string, address: bigint) => ks.asm(text, { address });

const machines: UnicornMachine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

const VECTORS = 0x100800n;
const UTEXT = 0x800000n;
const KSTACK = 0x404000n;
const USTACK = 0x830000n;

function booted(): { m: UnicornMachine; bugs: string[] } {
  const m = createUnicornMachine(cpu.unicorn);
  machines.push(m);
  m.map(0x100000n, 0x10000);
  m.map(0x400000n, 0x4000);
  m.map(UTEXT, 0x40000);
  const bugs: string[] = [];
  const k = {
    symbols: new Map([['vectors', VECTORS]]),
    desc: { memory: { kernelData: 0x200000n } },
    bug: (c: string, msg: string) => {
      bugs.push(`${c}: ${msg}`);
      throw new Error(msg);
    },
  } as unknown as KernelApi;
  cpu.boot(m, k);
  return { m, bugs };
}

describe('AArch64 CPU model', () => {
  it('setPrivilege switches EL and banks SP; an EL1-only register read at EL0 is undefined', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, asm('mrs x0, elr_el1; nop', 0x10000n));
    m.setReg('sp', KSTACK);
    m.setReg('sp_el0', USTACK);
    m.setReg('elr_el1', 0x4242n);
    cpu.setPrivilege(m, 0);
    expect(cpu.privilege(m)).toBe(0);
    expect(m.reg('sp')).toBe(USTACK);
    expect(m.reg('sp_el1')).toBe(KSTACK);
    const ints: number[] = [];
    m.hookInterrupt((n) => {
      ints.push(n);
      m.stop();
    });
    m.run(0x10000n, { instructions: 10 }, 0x10008n);
    expect(ints).toEqual([1]); // EXCP_UDEF
    expect(m.reg('x0')).toBe(0n);
    cpu.setPrivilege(m, 1);
    expect(m.reg('sp')).toBe(KSTACK);
    expect(m.run(0x10000n, { instructions: 10 }, 0x10008n).reason).toBe('until');
    expect(m.reg('x0')).toBe(0x4242n);
    expect(() => cpu.setPrivilege(m, 2)).toThrow(/EL0\) or 1/);
  });

  it('svc from EL0 lands at vectors + 0x400 at EL1h with DAIF masked and ELR/SPSR/ESR as the architecture sets them', () => {
    const { m } = booted();
    m.write(UTEXT, asm('mov x8, #172; svc #0; nop', UTEXT));
    m.write(VECTORS + 0x400n, asm('nop', VECTORS + 0x400n));
    let at: Record<string, bigint | number | boolean> | undefined;
    m.hookCode(VECTORS + 0x400n, VECTORS + 0x400n, () => {
      at = { el: cpu.privilege(m), elr: m.reg('elr_el1'), spsr: m.reg('spsr_el1'), ec: Number(m.reg('esr_el1') >> ESR_ELx_EC_SHIFT), irq: cpu.irqsEnabled(m), sp: m.reg('sp'), sp0: m.reg('sp_el0') };
      m.stop();
    });
    m.setReg('sp', KSTACK);
    cpu.setPrivilege(m, 0);
    m.setReg('pstate', 0n);
    m.setReg('sp', USTACK);
    m.run(UTEXT, { instructions: 100 });
    expect(at).toEqual({ el: 1, elr: UTEXT + 8n, spsr: 0n, ec: 0x15, irq: false, sp: KSTACK, sp0: USTACK });
  });

  it('an EL0 access to DAIF traps with EC 0x18 and the ISS fields; an EL1 register read is EC 0x00', () => {
    const msrDaifset = Number(asm('msr daifset, #2', 0n).reduce((v, b, i) => v | (b << (8 * i)), 0) >>> 0);
    const esr = undefSyndrome(msrDaifset, 0n);
    expect(Number(esr >> ESR_ELx_EC_SHIFT)).toBe(0x18);
    const mrsElr = Number(asm('mrs x0, elr_el1', 0n).reduce((v, b, i) => v | (b << (8 * i)), 0) >>> 0);
    expect(Number(undefSyndrome(mrsElr, 0n) >> ESR_ELx_EC_SHIFT)).toBe(0);
    expect(Number(undefSyndrome(undefined, 0n) >> ESR_ELx_EC_SHIFT)).toBe(0);
  });

  it('an exception taken at EL1 is a kernel bug', () => {
    const { m, bugs } = booted();
    m.write(0x101000n, asm('svc #0', 0x101000n));
    expect(() => m.run(0x101000n, { instructions: 10 })).toThrow(/taken at EL1/);
    expect(bugs[0]).toMatch(/^CPU: arm64: SWI taken at EL1/);
  });

  it('returnToUser: eret with SPSR_EL1 in EL0t returns to user mode with SP_EL1 at the stack top; to EL1h it does not', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    m.map(0x10000n, 0x1000);
    m.write(0x10000n, asm('eret', 0x10000n));
    m.setReg('elr_el1', 0x800123n);
    m.setReg('spsr_el1', 0n);
    m.setReg('sp', KSTACK);
    expect(cpu.returnToUser.check(m, 0x10000n, 4, KSTACK, 320)).toEqual({ pc: 0x800123n, sp: KSTACK, expectedSp: KSTACK });
    m.setReg('spsr_el1', 5n);
    expect(cpu.returnToUser.check(m, 0x10000n, 4, KSTACK, 320)).toBeNull();
  });

  it('refuses a vector table that is not 2 KiB aligned', () => {
    const m = createUnicornMachine(cpu.unicorn);
    machines.push(m);
    const k = { symbols: new Map([['vectors', 0x100100n]]) } as unknown as KernelApi;
    expect(() => cpu.boot(m, k)).toThrow(/not 2 KiB aligned/);
  });
});
