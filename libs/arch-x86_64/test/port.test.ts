// Unit tests of the x86-64 port: descriptor facts, entry.S assembly, and the entry glue and
// port TypeScript running on Unicorn with small hand-written stand-ins for the core's C.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Assembler, AssembleResult } from '@archkit/generic-core/asm/assembler';
import { createKeystoneAssembler } from '@archkit/generic-core/asm/keystone';
import { loadDescriptor, type ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import { asmOffsetConstants, asmOffsets } from '@archkit/generic-core/kernel/offsets';
import { PtRegs, type PtRegsLayout } from '@archkit/generic-core/kernel/ptregs';
import type { KernelApi, SigAction, Task } from '@archkit/generic-core/kernel/types';
import type { Machine } from '@archkit/generic-core/machine/machine';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn';
import { cpu, GDT_OFFSET } from '../src/cpu.ts';
import { createPort } from '../src/index.ts';
import { c, FRAME, SIGCONTEXT, THREAD_FSBASE, THREAD_SP, UC } from '../src/port.ts';

const LIB = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = readFileSync(join(LIB, 'src/entry.S'), 'utf8');
const desc: ArchDescriptor = loadDescriptor(join(LIB, 'arch.json'));
const mem = desc.memory;

const TI_FLAGS = 0n;
const TASK_STACK = 8n;
const TASK_THREAD = 64n;
const THREAD_SIZE = 0x4000n;
const PCPU = mem.kernelData;
const SYS_CALL_TABLE = mem.kernelData + 0x1000n;
const TASKS = mem.kernelData + 0x10000n;
const TASK_STRUCT_SIZE = 0x400n;

const EXTRA = {
  TI_FLAGS,
  TASK_STACK,
  TASK_THREAD,
  THREAD_SIZE,
  PCPU_CURRENT_TASK: PCPU,
  PCPU_TOP_OF_STACK: PCPU + 8n,
  PCPU_SCRATCH: PCPU + 16n,
  PCPU_SCRATCH2: PCPU + 24n,
};

let as: Assembler;
beforeAll(async () => {
  as = await createKeystoneAssembler(desc.assembler.arch);
});

// Stand-ins for the core's C functions, in real x86-64 at the stub addresses: each records
// that it ran (a counter in kernel data) and returns what the test needs.
const LOG = mem.kernelData + 0x9000n; // arch-private area after the GDT
const C_STUBS = `
schedule_tail:
    mov qword ptr [riz*1 + ${LOG + 0x00n}], rdi       # prev
    inc qword ptr [riz*1 + ${LOG + 0x08n}]            # calls
    ret
do_work_pending:
    mov qword ptr [riz*1 + ${LOG + 0x10n}], rsi       # flags seen
    pushfq
    pop rax
    mov qword ptr [riz*1 + ${LOG + 0x18n}], rax       # rflags at entry (IF must be clear)
    mov rax, qword ptr [riz*1 + ${LOG + 0x20n}]       # the test's chosen return value
    mov qword ptr [riz*1 + ${LOG + 0x20n}], 0          # only once
    ret
syscall_trace_enter:
    mov rax, qword ptr [rdi + 120]                     # orig_ax
    ret
syscall_trace_exit:
    ret
sys_ni_syscall:
    mov rax, -38
    ret
sys_getpid:
    inc qword ptr [riz*1 + ${LOG + 0x28n}]
    mov qword ptr [riz*1 + ${LOG + 0x30n}], rdi
    mov qword ptr [riz*1 + ${LOG + 0x38n}], rsi
    mov qword ptr [riz*1 + ${LOG + 0x40n}], rdx
    mov qword ptr [riz*1 + ${LOG + 0x48n}], rcx
    mov qword ptr [riz*1 + ${LOG + 0x50n}], r8
    mov qword ptr [riz*1 + ${LOG + 0x58n}], r9
    pushfq
    pop rax
    mov qword ptr [riz*1 + ${LOG + 0x60n}], rax       # rflags in the syscall (IF must be set)
    mov rax, 4242
    ret
kthread_fn:
    mov qword ptr [riz*1 + ${LOG + 0x68n}], rdi       # arg
    mov rax, qword ptr [riz*1 + ${LOG + 0x08n}]
    mov qword ptr [riz*1 + ${LOG + 0x70n}], rax       # schedule_tail calls seen by fn
    xor eax, eax
    ret
`;
const STUB_NAMES = ['schedule_tail', 'do_work_pending', 'syscall_trace_enter', 'syscall_trace_exit', 'sys_ni_syscall'];

interface Booted {
  m: Machine;
  sym: Map<string, bigint>;
  stubs: AssembleResult;
}

const machines: Machine[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.close();
});

function assembleEntry(externs: Record<string, bigint>): AssembleResult {
  return as.assemble(
    { file: 'libs/arch-x86_64/src/entry.S', text: ENTRY, prelude: asmOffsets(desc, EXTRA) },
    { base: mem.kernelText, externs: { sys_call_table: SYS_CALL_TABLE, ...externs } },
  );
}

function boot(): Booted {
  const stubs = as.assemble({ file: 'stubs', text: C_STUBS }, { base: mem.stubs });
  const externs = Object.fromEntries(STUB_NAMES.map((n) => [n, stubs.symbols.get(n)!]));
  const entry = assembleEntry(externs);
  const m = createUnicornMachine({ arch: desc.emulator.arch, mode: desc.emulator.mode, endian: desc.endian });
  machines.push(m);
  m.map(mem.kernelText, 0x10000);
  m.map(mem.stubs, 0x1000);
  m.map(mem.kernelData, 0x100000);
  m.map(mem.stacks, Number(THREAD_SIZE) * 4);
  m.map(mem.user, Number(mem.userSize));
  m.write(mem.kernelText, entry.bytes);
  m.write(mem.stubs, stubs.bytes);
  const nrs = asmOffsetConstants(desc, EXTRA)['NR_syscalls'] as number;
  for (let i = 0; i < nrs; i++) m.writeUint(SYS_CALL_TABLE + BigInt(i * 8), 8, stubs.symbols.get('sys_ni_syscall')!);
  m.writeUint(SYS_CALL_TABLE + BigInt(desc.syscall.numbers['getpid']! * 8), 8, stubs.symbols.get('sys_getpid')!);
  const sym = new Map([...entry.symbols, ...stubs.symbols, ['sys_call_table', SYS_CALL_TABLE] as [string, bigint]]);
  return { m, sym, stubs };
}

const layout = (): PtRegsLayout => ({
  size: desc.ptRegs.size,
  fields: desc.ptRegs.fields,
  pc: desc.registers.pc,
  sp: desc.registers.sp,
  ret: desc.registers.ret,
  nr: desc.registers.nr,
  args: desc.registers.args,
});

function mkTask(pid: number): Task {
  const stackBase = mem.stacks + BigInt(pid) * THREAD_SIZE;
  return {
    pid,
    comm: `t${pid}`,
    addr: TASKS + BigInt(pid) * TASK_STRUCT_SIZE,
    stackBase,
    stackTop: stackBase + THREAD_SIZE,
    kthread: false,
    idle: false,
    state: 'running',
    mm: null,
    parent: null,
    exitCode: 0,
    killedBy: 0,
    sigactions: [],
    pending: 0n,
    blocked: 0n,
    arch: {},
  };
}

/** The KernelApi surface the port uses, over a bare machine. */
function kernelApi(b: Booted, cur: { t: Task }): KernelApi {
  const { m } = b;
  const regsOf = (t: Task) => new PtRegs(m, t.stackTop - BigInt(desc.ptRegs.size), layout());
  return {
    m,
    desc,
    wordSize: desc.wordSize,
    sym: (n) => {
      const v = b.sym.get(n);
      if (v === undefined) throw new Error(`no symbol ${n}`);
      return v;
    },
    current: () => cur.t,
    taskPtRegs: regsOf,
    currentPtRegs: () => regsOf(cur.t),
    taskThread: (t) => t.addr + TASK_THREAD,
    readWord: (a) => m.readUint(a, 8),
    writeWord: (a, v) => m.writeUint(a, 8, BigInt.asUintN(64, v)),
    bug: (contract, message) => {
      throw new Error(`[${contract}] ${message}`);
    },
  };
}

const USER_TEXT = mem.user;
const USER_STACK = mem.user + 0x3e000n;

describe('arch.json', () => {
  it('validates and carries the x86-64 facts', () => {
    expect(desc.name).toBe('x86_64');
    expect(desc.registers.args).toEqual(['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9']);
    expect(desc.callingConvention.args).toEqual(['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9']);
    expect(desc.syscall).toMatchObject({ instruction: 'syscall', insnBytes: 2, restartRewind: 2, error: 'negative' });
    const n = desc.syscall.numbers;
    expect(n).toMatchObject({
      read: 0, write: 1, rt_sigaction: 13, rt_sigprocmask: 14, rt_sigreturn: 15, sched_yield: 24, nanosleep: 35,
      getpid: 39, clone: 56, fork: 57, vfork: 58, execve: 59, exit: 60, wait4: 61, kill: 62, gettid: 186,
      restart_syscall: 219, exit_group: 231, ppoll: 271,
    });
    expect(desc.kthread).toEqual({ fnReg: 'rbx', argReg: 'r12' });
    expect(desc.rseq.abortIpReg).toBe('r10');
    expect(desc.switchStack).toBeNull();
  });

  it('lays pt_regs out as arch/x86/include/asm/ptrace.h does', () => {
    const order = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];
    expect(desc.ptRegs.size).toBe(168);
    expect(desc.ptRegs.fields.map((f) => f.name)).toEqual(order);
    desc.ptRegs.fields.forEach((f, i) => {
      expect(f.offset).toBe(i * 8);
      expect(f.size).toBe(8);
    });
    const k = asmOffsetConstants(desc, EXTRA);
    expect(k['PT_ORIG_AX']).toBe(120);
    expect(k['PT_IP']).toBe(128);
    expect(k['PT_SP']).toBe(152);
    expect(k['PT_REGS_SIZE']).toBe(168);
    const regOf = Object.fromEntries(desc.ptRegs.fields.map((f) => [f.name, f.reg]));
    expect(regOf).toMatchObject({ ip: 'rip', flags: 'rflags', sp: 'rsp', ax: 'rax', bp: 'rbp', orig_ax: undefined });
  });

  it('puts in the work masks only bits the exit loop handles', () => {
    const k = asmOffsetConstants(desc, EXTRA);
    expect(desc.workMasks['_TIF_SYSCALL_WORK']).toEqual(['SYSCALL_TRACE']);
    expect(k['_TIF_SYSCALL_WORK']).toBe(1n);
    for (const bit of desc.workMasks['_TIF_WORK_MASK']!) {
      expect(['NEED_RESCHED', 'SIGPENDING', 'NOTIFY_RESUME', 'NOTIFY_SIGNAL', 'UPROBE', 'USER_RETURN_NOTIFY']).toContain(bit);
    }
    // test imm32 in entry.S is sign-extended: masks must stay below bit 31
    expect(k['_TIF_WORK_MASK'] as bigint).toBeLessThan(1n << 31n);
  });
});

describe('entry.S', () => {
  it('assembles with the asm-offsets prelude and defines every label the core needs', () => {
    const r = assembleEntry(Object.fromEntries(STUB_NAMES.map((n, i) => [n, mem.stubs + BigInt(16 * (i + 1))])));
    const syms = (desc as ArchDescriptor & { symbols?: Record<string, string> }).symbols ?? {};
    for (const label of [
      'entry_SYSCALL_64', 'ret_from_fork', '__switch_to_asm', 'restoreUserRegs', 'local_restart',
      '__vdso_start', '__kernel_rt_sigreturn', '__vdso_end', ...Object.values(syms),
    ]) {
      expect(r.symbols.has(label), label).toBe(true);
    }
    // the vdso trampoline: mov eax, __NR_rt_sigreturn; syscall
    const vs = Number(r.symbols.get('__vdso_start')! - r.base);
    const ve = Number(r.symbols.get('__vdso_end')! - r.base);
    expect([...r.bytes.slice(vs, ve)]).toEqual([0xb8, 15, 0, 0, 0, 0x0f, 0x05]);
  });
});

describe('port loader and mutants', () => {
  it('loads the port through portLoader', async () => {
    const port = await createPort();
    expect(port.descriptor.name).toBe('x86_64');
    expect(port.c.restart).toBeDefined();
    expect(typeof port.cpu.init).toBe('function');
    expect(port.mutants).toEqual(expect.arrayContaining([
      'copy-thread-ignores-null-regs', 'fn-before-schedule-tail', 'fork-child-nonzero', 'irqs-on-exit',
      'handlerless-restart-via-user', 'restart-after-sigreturn', 'double-restart', 'no-arg-reload-after-ptrace',
      'work-bit-not-cleared',
    ]));
  });

  it('every mutant applies, loads and still assembles', async () => {
    const { mutants } = await createPort();
    for (const id of mutants) {
      const port = await createPort({ mutant: id });
      const r = as.assemble(
        { ...port.sources.entry, prelude: asmOffsets(port.descriptor, EXTRA) },
        { base: mem.kernelText, externs: { sys_call_table: SYS_CALL_TABLE, ...Object.fromEntries(STUB_NAMES.map((n, i) => [n, mem.stubs + BigInt(16 * (i + 1))])) } },
      );
      expect(r.symbols.has('restoreUserRegs'), id).toBe(true);
    }
  });
});

describe('on Unicorn', () => {
  /** Put the CPU in the kernel of task `t` the way the core does before running anything. */
  function enterKernel(b: Booted, k: KernelApi, t: Task): void {
    cpu.init(b.m, b.sym, k);
    b.m.writeUint(PCPU, 8, t.addr);
    b.m.writeUint(PCPU + 8n, 8, t.stackTop);
  }

  it('cpu.ts installs the GDT and the SYSCALL MSRs', () => {
    const b = boot();
    const t = mkTask(1);
    enterKernel(b, kernelApi(b, { t }), t);
    expect(b.m.msr(0xc0000082)).toBe(b.sym.get('entry_SYSCALL_64'));
    expect(b.m.msr(0xc0000081) >> 32n).toBe(0x230010n);
    expect(b.m.msr(0xc0000084) & 0x200n).toBe(0x200n); // IF masked
    expect(b.m.readUint(mem.kernelData + GDT_OFFSET + 0x30n, 8)).toBe(0x00affb000000ffffn);
    expect(b.m.privilege()).toBe(0);
  });

  it('a user syscall enters entry_SYSCALL_64 at CPL0 with rcx = next rip, r11 = user rflags, IF off', () => {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    enterKernel(b, k, t);
    const user = as.assemble({ file: 'user', text: 'mov eax, 39\nsyscall\nnop\n' }, { base: USER_TEXT });
    b.m.write(USER_TEXT, user.bytes);
    // first return to user through the real exit path: a pt_regs frame, restoreUserRegs
    const regs = k.taskPtRegs(t);
    regs.zero();
    regs.set('ip', USER_TEXT);
    regs.set('cs', 0x33n);
    regs.set('flags', 0x246n);
    regs.set('sp', USER_STACK);
    regs.set('ss', 0x2bn);
    b.m.setReg('rsp', regs.base);
    const seen: Record<string, bigint | number | boolean> = {};
    const entry = b.sym.get('entry_SYSCALL_64')!;
    b.m.hookCode(entry, entry, () => {
      seen['cpl'] = b.m.privilege();
      seen['rcx'] = b.m.reg('rcx');
      seen['r11'] = b.m.reg('r11');
      seen['irqs'] = b.m.irqsEnabled();
      seen['rsp'] = b.m.reg('rsp');
      b.m.stop();
    });
    let userCpl = -1;
    b.m.hookCode(USER_TEXT, USER_TEXT, () => (userCpl = b.m.privilege()));
    b.m.run(b.sym.get('restoreUserRegs')!, { instructions: 1000 });
    expect(userCpl).toBe(3);
    expect(seen['cpl']).toBe(0);
    expect(seen['rcx']).toBe(USER_TEXT + 5n + 2n);
    expect((seen['r11'] as bigint) & 0xfffn).toBe(0x246n);
    expect(seen['irqs']).toBe(false);
    expect(seen['rsp']).toBe(USER_STACK);
  });

  it('round trip: entry builds pt_regs in the kernel layout, dispatches with r10 -> rcx, irqs off at restoreUserRegs', () => {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    enterKernel(b, k, t);
    const vals = { rdi: 0x1111n, rsi: 0x2222n, rdx: 0x3333n, r10: 0x4444n, r8: 0x5555n, r9: 0x6666n, rbx: 0x7777n, rbp: 0x8888n, r12: 0xc12n, r13: 0xc13n, r14: 0xc14n, r15: 0xc15n };
    const text = Object.entries(vals).map(([r, v]) => `mov ${r}, ${v}`).join('\n') + '\nmov eax, 39\nsyscall\ndone:\nnop\n';
    const user = as.assemble({ file: 'user', text }, { base: USER_TEXT });
    b.m.write(USER_TEXT, user.bytes);
    const regs = k.taskPtRegs(t);
    regs.zero();
    Object.entries({ ip: USER_TEXT, cs: 0x33n, flags: 0x202n, sp: USER_STACK, ss: 0x2bn }).forEach(([f, v]) => regs.set(f, v));
    b.m.setReg('rsp', regs.base);
    let atRestore: { irqs: boolean; sp: bigint; snap: Record<string, bigint> } | undefined;
    const restore = b.sym.get('restoreUserRegs')!;
    b.m.hookCode(restore, restore, () => {
      atRestore = { irqs: b.m.irqsEnabled(), sp: b.m.reg('rsp'), snap: regs.snapshot() };
    });
    const done = user.symbols.get('done')!;
    b.m.run(restore, { instructions: 5000 }, done);
    expect(b.m.privilege()).toBe(3);
    expect(b.m.reg('rax')).toBe(4242n);
    expect(b.m.readUint(LOG + 0x28n, 8)).toBe(1n);
    // the C convention: r10 arrived in rcx
    expect([0x30n, 0x38n, 0x40n, 0x48n, 0x50n, 0x58n].map((o) => b.m.readUint(LOG + o, 8))).toEqual([
      vals.rdi, vals.rsi, vals.rdx, vals.r10, vals.r8, vals.r9,
    ]);
    expect(b.m.readUint(LOG + 0x60n, 8) & 0x200n).toBe(0x200n); // syscall ran with irqs on
    expect(atRestore?.irqs).toBe(false);
    expect(atRestore?.sp).toBe(regs.base);
    const snap = atRestore!.snap;
    expect(snap).toMatchObject({
      di: vals.rdi, si: vals.rsi, dx: vals.rdx, r10: vals.r10, r8: vals.r8, r9: vals.r9,
      bx: vals.rbx, bp: vals.rbp, r12: vals.r12, r13: vals.r13, r14: vals.r14, r15: vals.r15,
      orig_ax: 39n, ax: 4242n, ip: done, cx: done, cs: 0x33n, sp: USER_STACK, ss: 0x2bn,
    });
    expect(snap['flags']! & 0xfffn).toBe(0x202n);
    expect(snap['r11']! & 0xfffn).toBe(0x202n);
    // user registers after iretq are the pt_regs ones
    expect(b.m.reg('r13')).toBe(vals.r13);
    expect(b.m.reg('rbx')).toBe(vals.rbx);
  });

  it('a non-zero do_work_pending re-dispatches the syscall in the kernel, nr from pt_regs ax', () => {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    enterKernel(b, k, t);
    b.m.writeUint(t.addr + TI_FLAGS, 8, 1n << 2n); // SIGPENDING once
    b.m.writeUint(LOG + 0x20n, 8, 1n); // do_work_pending returns 1 once
    const user = as.assemble({ file: 'user', text: 'mov edi, 7\nmov eax, 39\nsyscall\ndone:\nnop\n' }, { base: USER_TEXT });
    b.m.write(USER_TEXT, user.bytes);
    const regs = k.taskPtRegs(t);
    regs.zero();
    Object.entries({ ip: USER_TEXT, cs: 0x33n, flags: 0x202n, sp: USER_STACK, ss: 0x2bn }).forEach(([f, v]) => regs.set(f, v));
    b.m.setReg('rsp', regs.base);
    // the stand-in do_work_pending clears the flag word through a hook, like the core would
    const dwp = b.sym.get('do_work_pending')!;
    let userInsnsBetween = 0;
    let counting = false;
    b.m.hookCode(dwp, dwp, () => {
      b.m.writeUint(t.addr + TI_FLAGS, 8, 0n);
      regs.set('ax', regs.get('orig_ax')); // restoreOrigArg, as the core's do_signal does
      counting = true;
    });
    b.m.hookCode(USER_TEXT, USER_TEXT + 0x100n, () => {
      if (counting) userInsnsBetween++;
    });
    b.m.run(b.sym.get('restoreUserRegs')!, { instructions: 5000 }, user.symbols.get('done')!);
    expect(b.m.readUint(LOG + 0x28n, 8)).toBe(2n); // sys_getpid ran twice
    expect(b.m.readUint(LOG + 0x30n, 8)).toBe(7n); // arg reloaded from pt_regs
    expect(b.m.readUint(LOG + 0x18n, 8) & 0x200n).toBe(0n); // do_work_pending entered with irqs off
    expect(userInsnsBetween).toBe(0);
    expect(b.m.reg('rax')).toBe(4242n);
  });

  function tracedRun(edit: (regs: PtRegs) => void): { b: Booted; rax: bigint } {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    enterKernel(b, k, t);
    b.m.writeUint(t.addr + TI_FLAGS, 8, 1n); // TIF_SYSCALL_TRACE
    const user = as.assemble({ file: 'user', text: 'mov edi, 7\nmov r10, 8\nmov eax, 39\nsyscall\ndone:\nnop\n' }, { base: USER_TEXT });
    b.m.write(USER_TEXT, user.bytes);
    const regs = k.taskPtRegs(t);
    regs.zero();
    Object.entries({ ip: USER_TEXT, cs: 0x33n, flags: 0x202n, sp: USER_STACK, ss: 0x2bn }).forEach(([f, v]) => regs.set(f, v));
    b.m.setReg('rsp', regs.base);
    // the tracer at the entry stop, acting on pt_regs like PTRACE_POKEUSER
    const ste = b.sym.get('syscall_trace_enter')!;
    b.m.hookCode(ste, ste, () => edit(regs));
    b.m.run(b.sym.get('restoreUserRegs')!, { instructions: 5000 }, user.symbols.get('done')!);
    return { b, rax: b.m.reg('rax') };
  }

  it('C8: arguments changed by a tracer at the entry stop are reloaded from pt_regs', () => {
    const { b, rax } = tracedRun((regs) => {
      regs.set('di', 99n);
      regs.set('r10', 98n);
    });
    expect(b.m.readUint(LOG + 0x28n, 8)).toBe(1n);
    expect(b.m.readUint(LOG + 0x30n, 8)).toBe(99n);
    expect(b.m.readUint(LOG + 0x48n, 8)).toBe(98n); // r10 -> rcx
    expect(rax).toBe(4242n);
  });

  it('C8: syscall number -1 from the tracer skips the call and leaves ax alone', () => {
    const { b, rax } = tracedRun((regs) => regs.set('orig_ax', -1n));
    expect(b.m.readUint(LOG + 0x28n, 8)).toBe(0n);
    expect(BigInt.asIntN(64, rax)).toBe(-38n);
  });

  it('__switch_to_asm switches between two hand-built task contexts and returns prev', () => {
    const b = boot();
    const a = mkTask(1);
    const n = mkTask(2);
    const k = kernelApi(b, { t: a });
    enterKernel(b, k, a);
    // next's saved context: an inactive_task_frame returning to `resume`
    const resume = as.assemble({ file: 'resume', text: 'resume:\nnop\nnop\n' }, { base: mem.kernelText + 0xf000n });
    b.m.write(resume.base, resume.bytes);
    const nf = n.stackTop - 0x200n;
    const frameVals = [0xf15n, 0xf14n, 0xf13n, 0xf12n, 0xfbbn, 0xfb0n, resume.base];
    frameVals.forEach((v, i) => b.m.writeUint(nf + BigInt(i * 8), 8, v));
    b.m.writeUint(n.addr + TASK_THREAD + THREAD_SP, 8, nf);
    // prev is running with its own callee-saved values, called from `caller`
    const asp = a.stackTop - 0x300n;
    b.m.writeUint(asp, 8, 0xdeadn); // its return address
    b.m.setReg('rsp', asp);
    Object.entries({ r15: 0xa15n, r14: 0xa14n, r13: 0xa13n, r12: 0xa12n, rbx: 0xabbn, rbp: 0xab0n }).forEach(([r, v]) => b.m.setReg(r, v));
    b.m.setReg('rdi', a.addr);
    b.m.setReg('rsi', n.addr);
    b.m.run(b.sym.get('__switch_to_asm')!, { instructions: 100 }, resume.base);
    expect(b.m.reg('rax')).toBe(a.addr);
    expect(['r15', 'r14', 'r13', 'r12', 'rbx', 'rbp'].map((r) => b.m.reg(r))).toEqual(frameVals.slice(0, 6));
    expect(b.m.reg('rsp')).toBe(nf + 56n);
    // prev's frame: r15 r14 r13 r12 bx bp ret_addr from thread.sp up
    const saved = b.m.readUint(a.addr + TASK_THREAD + THREAD_SP, 8);
    expect(saved).toBe(asp - 48n);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => b.m.readUint(saved + BigInt(i * 8), 8))).toEqual([
      0xa15n, 0xa14n, 0xa13n, 0xa12n, 0xabbn, 0xab0n, 0xdeadn,
    ]);
  });

  it('copyThread(regs = null) leaves fn/arg where ret_from_fork reads them: schedule_tail, then fn(arg), then the exit path', () => {
    const b = boot();
    const prev = mkTask(1);
    const p = mkTask(2);
    const cur = { t: prev };
    const k = kernelApi(b, cur);
    enterKernel(b, k, prev);
    b.m.write(p.stackBase, new Uint8Array(Number(THREAD_SIZE)));
    const fn = b.sym.get('kthread_fn')!;
    c.copyThread(k, p, 0x100n, fn, 0xa7a7n, null, 0n);
    const regs = k.taskPtRegs(p);
    expect(regs.gets('orig_ax')).toBe(-1n);
    const frame = b.m.readUint(p.addr + TASK_THREAD + THREAD_SP, 8);
    expect(frame).toBe(regs.base - FRAME.size);
    expect(b.m.readUint(frame + FRAME.bx, 8)).toBe(fn);
    expect(b.m.readUint(frame + FRAME.r12, 8)).toBe(0xa7a7n);
    expect(b.m.readUint(frame + FRAME.ret_addr, 8)).toBe(b.sym.get('ret_from_fork'));
    // kernel_execve from fn would fill pt_regs through start_thread: do it up front here
    cur.t = p;
    const user = as.assemble({ file: 'user', text: 'u:\nnop\n' }, { base: USER_TEXT });
    b.m.write(USER_TEXT, user.bytes);
    c.startThread(k, regs, USER_TEXT, USER_STACK);
    // switch prev -> p as schedule() would
    b.m.writeUint(PCPU, 8, p.addr);
    b.m.writeUint(PCPU + 8n, 8, p.stackTop);
    const asp = prev.stackTop - 0x300n;
    b.m.writeUint(asp, 8, 0xdeadn);
    b.m.setReg('rsp', asp);
    b.m.setReg('rdi', prev.addr);
    b.m.setReg('rsi', p.addr);
    let atRestore: { irqs: boolean; sp: bigint } | undefined;
    const restore = b.sym.get('restoreUserRegs')!;
    b.m.hookCode(restore, restore, () => (atRestore = { irqs: b.m.irqsEnabled(), sp: b.m.reg('rsp') }));
    b.m.run(b.sym.get('__switch_to_asm')!, { instructions: 1000 }, USER_TEXT);
    expect(b.m.readUint(LOG + 0x00n, 8)).toBe(prev.addr); // schedule_tail(prev)
    expect(b.m.readUint(LOG + 0x68n, 8)).toBe(0xa7a7n); // fn(arg)
    expect(b.m.readUint(LOG + 0x70n, 8)).toBe(1n); // schedule_tail ran before fn
    expect(atRestore).toEqual({ irqs: false, sp: regs.base }); // C2: only pt_regs on the stack
    expect(b.m.privilege()).toBe(3);
    expect(b.m.reg('rsp')).toBe(USER_STACK);
  });

  it('copyThread for a user fork: child regs = parent regs with ax 0, new sp and TLS when asked', () => {
    const b = boot();
    const parent = mkTask(1);
    const child = mkTask(2);
    const k = kernelApi(b, { t: parent });
    enterKernel(b, k, parent);
    const pr = k.taskPtRegs(parent);
    pr.zero();
    desc.ptRegs.fields.forEach((f, i) => pr.set(f.name, 0x100n + BigInt(i)));
    b.m.setReg('fs_base', 0x7000n);
    c.copyThread(k, child, 0n, 0n, 0n, pr, 0n);
    const cr = k.taskPtRegs(child);
    const want = { ...pr.snapshot(), ax: 0n };
    expect(cr.snapshot()).toEqual(want);
    expect(b.m.readUint(child.addr + TASK_THREAD + THREAD_FSBASE, 8)).toBe(0x7000n);
    const frame = b.m.readUint(child.addr + TASK_THREAD + THREAD_SP, 8);
    expect(b.m.readUint(frame + FRAME.bx, 8)).toBe(0n);
    c.copyThread(k, child, 0x80000n, USER_STACK - 0x1000n, 0n, pr, 0x9000n);
    expect(cr.get('sp')).toBe(USER_STACK - 0x1000n);
    expect(b.m.readUint(child.addr + TASK_THREAD + THREAD_FSBASE, 8)).toBe(0x9000n);
  });

  it('signal frame: every register saved in the kernel sigcontext order and restored by rt_sigreturn', () => {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    enterKernel(b, k, t);
    const regs = k.taskPtRegs(t);
    regs.zero();
    desc.ptRegs.fields.forEach((f, i) => regs.set(f.name, 0x1000n + BigInt(i) * 0x11n));
    regs.set('sp', USER_STACK);
    regs.set('cs', 0x33n);
    regs.set('ss', 0x2bn);
    regs.set('flags', 0x246n);
    regs.set('orig_ax', 0n);
    const before = regs.snapshot();
    const ka: SigAction = { handler: USER_TEXT + 0x100n, flags: 0x04000000n, restorer: USER_TEXT + 0x200n, mask: 0n };
    c.setupRtFrame(k, 10, ka, regs, 0x5n);
    const sp = regs.get('sp');
    expect((sp + 8n) % 16n).toBe(0n);
    expect(sp).toBeLessThan(USER_STACK - 128n);
    expect(b.m.readUint(sp, 8)).toBe(USER_TEXT + 0x200n); // pretcode
    expect(regs.get('ip')).toBe(USER_TEXT + 0x100n);
    expect(regs.get('di')).toBe(10n);
    expect(regs.get('ax')).toBe(0n);
    const uc = regs.get('dx');
    expect(uc).toBe(sp + 8n);
    expect(regs.get('si')).toBe(uc + BigInt(UC.size));
    for (const [reg, field] of [['rax', 'ax'], ['rbx', 'bx'], ['r15', 'r15'], ['rip', 'ip'], ['rsp', 'sp'], ['rcx', 'cx'], ['r11', 'r11']] as const) {
      expect(b.m.readUint(uc + BigInt(c.ucontextRegOffset(reg)), 8), reg).toBe(before[field]);
    }
    expect(c.ucontextRegOffset('rax')).toBe(40 + SIGCONTEXT['rax']!);
    expect(c.ucontextRegOffset('r8')).toBe(40);
    expect(b.m.readUint(uc + BigInt(UC.sigmask), 8)).toBe(0x5n);
    // the handler edits rbx in the context, returns (pops pretcode) and rt_sigreturn runs
    b.m.writeUint(uc + BigInt(c.ucontextRegOffset('rbx')), 8, 0xb0b0n);
    regs.set('sp', sp + 8n);
    regs.set('orig_ax', 15n);
    const { blocked } = c.restoreRtFrame(k, regs);
    expect(blocked).toBe(0x5n);
    expect(regs.snapshot()).toEqual({ ...before, bx: 0xb0b0n, orig_ax: 0xffffffffffffffffn });
  });

  it('restart hooks speak orig_ax / ax / ip - 2', () => {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    const regs = k.taskPtRegs(t);
    regs.zero();
    regs.set('orig_ax', 7n);
    regs.set('ax', -512n);
    regs.set('ip', USER_TEXT + 0x10n);
    const R = c.restart;
    expect(R.syscallNr(regs)).toBe(7n);
    expect(R.returnValue(regs)).toBe(-512n);
    expect(R.restartAddress(regs)).toBe(USER_TEXT + 0xen);
    R.restoreOrigArg(regs);
    expect(regs.gets('ax')).toBe(7n);
    R.setReturnValue(regs, -4n);
    expect(regs.gets('ax')).toBe(-4n);
    R.setSyscallNr(regs, 39n);
    expect(R.syscallNr(regs)).toBe(39n);
    R.forgetSyscall(regs);
    expect(R.syscallNr(regs)).toBe(-1n);
    expect(c.normaliseResult({ rax: 0xfffffffffffffffcn })).toBe(-4n);
  });
});
