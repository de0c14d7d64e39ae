// The arch test harness (src/testing/port-harness.ts) must lay a bare machine out as the
// generic kernel does, or the ports' unit tests would test their glue against a different
// layout from the one the conformance runs use.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ArchPort } from '../src/contracts/port.ts';
import { Kernel } from '../src/kernel/kernel.ts';
import { kernelLayoutConstants, TASK_THREAD, THREAD_SIZE } from '../src/kernel/offsets.ts';
import type { Machine } from '../src/machine/machine.ts';
import { createUnicornMachine } from '../src/machine/unicorn.ts';
import { BugReport, ENTRY_C_FUNCTIONS, portHarness, type PortHarness } from '../src/testing/port-harness.ts';

type ArchName = 'x86_64' | 'arm64';
const loaders: Record<ArchName, () => Promise<ArchPort>> = {
  x86_64: async () => (await import('@archkit/arch-x86_64')).createPort(),
  arm64: async () => (await import('@archkit/arch-arm64')).createPort(),
};

const arches = new Map<ArchName, { port: ArchPort; h: PortHarness }>();
beforeAll(async () => {
  for (const name of Object.keys(loaders) as ArchName[]) {
    const port = await loaders[name]();
    const h = portHarness({ lib: port.dir, cpu: port.cpu });
    await h.init();
    arches.set(name, { port, h });
  }
});

const machines: Machine[] = [];
afterEach(() => {
  for (const { h } of arches.values()) h.closeMachines();
  for (const m of machines.splice(0)) m.close();
});

/** Stand-ins that only return: every C function entry.S links against, and sys_getpid. */
const RET_STUBS = [...ENTRY_C_FUNCTIONS, 'sys_getpid'].map((n) => `${n}:\n    ret\n`).join('');

describe.each(Object.keys(loaders) as ArchName[])('port harness (%s)', (name) => {
  const arch = () => arches.get(name)!;

  it('reads the lib the port loader reads and gives entry.S the core\'s layout constants', () => {
    const { port, h } = arch();
    expect(h.desc).toEqual(port.descriptor);
    expect(h.entryText).toBe(port.sources.entry.text);
    expect(h.layoutConstants).toEqual(kernelLayoutConstants(port.descriptor));
    expect(h.K).toMatchObject(h.layoutConstants);
  });

  it('lays kernel data out as the generic Kernel does: sys_call_table, per-cpu words, task_structs, vdso', () => {
    const { port, h } = arch();
    const d = port.descriptor;
    const m = createUnicornMachine({ arch: d.emulator.arch, mode: d.emulator.mode, endian: d.endian, cpuModel: d.emulator.cpuModel });
    machines.push(m);
    const k = new Kernel({ port, machine: m, assembler: h.as, programs: {} });
    k.boot();
    const idle = k.tasks[0]!;
    expect(idle.pid).toBe(0);
    expect(h.SYS_CALL_TABLE).toBe(k.sym('sys_call_table'));
    expect(h.TASKS).toBe(idle.addr);
    expect(m.readUint(h.PCPU.current, 8)).toBe(idle.addr);
    expect(m.readUint(h.PCPU.topOfStack, 8)).toBe(idle.stackTop);
    expect(h.mkTask(0).stackTop).toBe(idle.stackTop);
    expect(k.taskThread(idle)).toBe(idle.addr + TASK_THREAD);
    const b = h.boot(RET_STUBS);
    expect(b.sym.get('__kernel_rt_sigreturn')).toBe(k.sym('__kernel_rt_sigreturn'));
    expect(b.sym.get('sys_call_table')).toBe(k.sym('sys_call_table'));
  });

  it('boots entry.S against the stand-ins: sys_call_table holds sys_ni_syscall but for the sys_<name> stand-ins', () => {
    const { h } = arch();
    const b = h.boot(RET_STUBS);
    const w = BigInt(h.desc.wordSize);
    const slot = (nr: number) => b.m.readUint(h.SYS_CALL_TABLE + BigInt(nr) * w, h.desc.wordSize);
    for (const [sc, nr] of Object.entries(h.NR)) {
      expect(slot(nr), sc).toBe(b.sym.get(sc === 'getpid' ? 'sys_getpid' : 'sys_ni_syscall'));
    }
    for (const n of ENTRY_C_FUNCTIONS) expect(b.sym.get(n)! >= h.mem.stubs && b.sym.get(n)! < h.mem.stubs + 0x1000n, n).toBe(true);
    expect(b.entry.base).toBe(h.mem.kernelText);
    expect([...b.m.read(h.mem.kernelText, b.entry.bytes.length)]).toEqual([...b.entry.bytes]);
  });

  it('gives tasks their own task_struct and THREAD_SIZE stack, and a KernelApi over the bare machine', () => {
    const { h } = arch();
    const b = h.boot(RET_STUBS);
    const t1 = h.mkTask(1);
    const t2 = h.mkTask(2);
    expect(t2.addr - t1.addr).toBeGreaterThanOrEqual(TASK_THREAD + 0x100n);
    expect(t1.stackTop - t1.stackBase).toBe(THREAD_SIZE);
    expect(t2.stackBase).toBe(t1.stackTop);
    const cur = { t: t1 };
    const k = h.kernelApi(b, cur);
    expect(k.current()).toBe(t1);
    expect(k.currentPtRegs().base).toBe(t1.stackTop - BigInt(h.desc.ptRegs.size));
    cur.t = t2;
    expect(k.currentPtRegs().base).toBe(k.taskPtRegs(t2).base);
    expect(k.taskThread(t2)).toBe(t2.addr + TASK_THREAD);
    k.writeWord(t1.addr, -1n);
    expect(k.readWord(t1.addr)).toBe((1n << BigInt(8 * h.desc.wordSize)) - 1n);
    expect(() => k.sym('no_such_symbol')).toThrow(/no symbol no_such_symbol/);
    expect(() => k.bug('C2', 'boom')).toThrow(BugReport);
    expect(() => k.bug('C2', 'boom')).toThrow('[C2] boom');
    h.setCurrent(b, t2);
    expect(b.m.readUint(h.PCPU.current, 8)).toBe(t2.addr);
    expect(b.m.readUint(h.PCPU.topOfStack, 8)).toBe(t2.stackTop);
  });

  it('userFrame loads the user text and points the kernel sp at a zeroed frame the arch fills', () => {
    const { h } = arch();
    const b = h.boot(RET_STUBS);
    const t = h.mkTask(1);
    const k = h.kernelApi(b, { t });
    k.taskPtRegs(t).set(h.desc.registers.ret, 0x55n);
    const { regs, user } = h.userFrame(b, k, t, 'start:\nnop\n', (r) => (r.pc = h.USER_TEXT));
    expect(user.symbols.get('start')).toBe(h.USER_TEXT);
    expect(regs.base).toBe(t.stackTop - BigInt(h.desc.ptRegs.size));
    expect(b.m.reg(h.desc.registers.sp)).toBe(regs.base);
    expect(regs.pc).toBe(h.USER_TEXT);
    expect(regs.get(h.desc.registers.ret)).toBe(0n);
  });
});

it('port harness: assembling before init() says so', () => {
  const { port } = arches.get('x86_64')!;
  const h = portHarness({ lib: port.dir, cpu: port.cpu });
  expect(() => h.assembleEntry()).toThrow(/init\(\)/);
});
