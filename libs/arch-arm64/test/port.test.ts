// Unit tests of the arm64 port: descriptor facts, entry.S assembly, and the entry glue, CPU
// model and port TypeScript running on Unicorn, with small AArch64 stand-ins for the core's
// C functions at the stub addresses (so these tests do not depend on the generic kernel).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AssembleResult } from '@archkit/generic-core/asm/assembler';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import type { PortC } from '@archkit/generic-core/contracts/port';
import { TASK_THREAD, TI_FLAGS } from '@archkit/generic-core/kernel/offsets';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import type { KernelApi, Task } from '@archkit/generic-core/kernel/types';
import { portHarness, type Booted } from '@archkit/generic-core/testing/port-harness';
import { cpu, undefSyndrome } from '../src/cpu.ts';
import { createPort } from '../src/index.ts';
import { c, CPU_CONTEXT, RT_SIGFRAME, SC, THREAD_TP_VALUE, UC } from '../src/port.ts';

const LIB = join(dirname(fileURLToPath(import.meta.url)), '..');
const h = portHarness({ lib: LIB, cpu });
const { desc, mem, K, NR, LOG, PCPU, USER_TEXT, USER_STACK, log, setLog, mkTask, kernelApi, enterKernel } = h;
const TIF = h.tif;
beforeAll(() => h.init());
afterEach(() => h.closeMachines());

/** The `privileged` user-program op, as src/user.hbs renders it. */
const PRIVILEGED = /\{\{#\*inline "privileged"\}\}\n([\s\S]*?)\{\{\/inline\}\}/.exec(readFileSync(join(LIB, 'src/user.hbs'), 'utf8'))![1]!.trim();

/** movz/movk of a value below 2^32 into a register. */
const abs = (reg: string, v: bigint) => `movz ${reg}, #0x${(v & 0xffffn).toString(16)}\n    movk ${reg}, #0x${((v >> 16n) & 0xffffn).toString(16)}, lsl #16`;

// Stand-ins for the core's C functions, in real AArch64 at the stub addresses: each records
// what it saw in a log area of kernel data (LOG) and returns what the test asks for.
const L = {
  prev: 0x00n, stCalls: 0x08n, dwpFlags: 0x10n, dwpDaif: 0x18n, dwpRet: 0x20n, getpidCalls: 0x28n, args: 0x30n,
  getpidDaif: 0x60n, kfnArg: 0x68n, kfnStCalls: 0x70n, trArg0: 0x78n, trNr: 0x80n, trEnter: 0x88n, trExit: 0x90n,
  restartCalls: 0x98n, dwpCalls: 0xa0n, dwpRet2: 0xa8n, dwpWhy: 0xb0n, faultCalls: 0xb8n, faultRegs: 0xc0n, faultSig: 0xc8n,
  faultNr: 0xd0n, faultDaif: 0xd8n,
} as const;
const C_STUBS = `
schedule_tail:
    ${abs('x9', LOG)}
    str x0, [x9, #${L.prev}]
    ldr x10, [x9, #${L.stCalls}]
    add x10, x10, #1
    str x10, [x9, #${L.stCalls}]
    ret
// do_work_pending(regs, flags, syscall): log, clear the flags as the core's loop would,
// return the test's value once (then a second one); a restart puts orig_x0 back in x0
// and enables irqs, as the core's does.
do_work_pending:
    ${abs('x9', LOG)}
    str x1, [x9, #${L.dwpFlags}]
    str x2, [x9, #${L.dwpWhy}]
    mrs x10, daif
    str x10, [x9, #${L.dwpDaif}]
    ldr x10, [x9, #${L.dwpCalls}]
    add x10, x10, #1
    str x10, [x9, #${L.dwpCalls}]
    ${abs('x10', PCPU.current)}
    ldr x10, [x10]
    str xzr, [x10, #${TI_FLAGS}]
    ldr x11, [x9, #${L.dwpRet}]
    ldr x12, [x9, #${L.dwpRet2}]
    str x12, [x9, #${L.dwpRet}]
    str xzr, [x9, #${L.dwpRet2}]
    mov x12, x0
    mov x0, x11
    cbz x0, .Ldwp_done
    ldr x13, [x12, #${K['PT_ORIG_X0']}]
    str x13, [x12, #${K['PT_X0']}]
    msr daifclr, #2
.Ldwp_done:
    ret
// syscall_trace_enter(regs): a tracer rewrites x0 and the number when the log says so.
syscall_trace_enter:
    ${abs('x9', LOG)}
    ldr x10, [x9, #${L.trEnter}]
    add x10, x10, #1
    str x10, [x9, #${L.trEnter}]
    ldr x10, [x9, #${L.trArg0}]
    cbz x10, .Ltr_nr
    str x10, [x0, #${K['PT_X0']}]
.Ltr_nr:
    ldr x10, [x9, #${L.trNr}]
    cbz x10, .Ltr_ret
    str w10, [x0, #${K['PT_SYSCALLNO']}]
.Ltr_ret:
    ldrsw x0, [x0, #${K['PT_SYSCALLNO']}]
    ret
syscall_trace_exit:
    ${abs('x9', LOG)}
    ldr x10, [x9, #${L.trExit}]
    add x10, x10, #1
    str x10, [x9, #${L.trExit}]
    ret
sys_ni_syscall:
    mov x0, #-38
    ret
// do_user_fault(regs, sig): log what it got (and the frame's syscallno, irq state), then
// what force_sig() leaves behind: TIF_SIGPENDING on current.
do_user_fault:
    ${abs('x9', LOG)}
    stp x0, x1, [x9, #${L.faultRegs}]
    ldrsw x10, [x0, #${K['PT_SYSCALLNO']}]
    str x10, [x9, #${L.faultNr}]
    mrs x10, daif
    str x10, [x9, #${L.faultDaif}]
    ldr x10, [x9, #${L.faultCalls}]
    add x10, x10, #1
    str x10, [x9, #${L.faultCalls}]
    ${abs('x10', PCPU.current)}
    ldr x10, [x10]
    ldr x11, [x10, #${TI_FLAGS}]
    ${abs('x12', TIF('SIGPENDING'))}
    orr x11, x11, x12
    str x11, [x10, #${TI_FLAGS}]
    ret
sys_restart_syscall:
    ${abs('x9', LOG)}
    ldr x10, [x9, #${L.restartCalls}]
    add x10, x10, #1
    str x10, [x9, #${L.restartCalls}]
    mov x0, #-4
    ret
sys_getpid:
    ${abs('x9', LOG)}
    ldr x10, [x9, #${L.getpidCalls}]
    add x10, x10, #1
    str x10, [x9, #${L.getpidCalls}]
    stp x0, x1, [x9, #${L.args}]
    stp x2, x3, [x9, #${L.args + 16n}]
    stp x4, x5, [x9, #${L.args + 32n}]
    mrs x10, daif
    str x10, [x9, #${L.getpidDaif}]
    mov x0, #4242
    ret
kthread_fn:
    ${abs('x9', LOG)}
    str x0, [x9, #${L.kfnArg}]
    ldr x10, [x9, #${L.stCalls}]
    str x10, [x9, #${L.kfnStCalls}]
    mov x0, #0
    ret
`;
const PSR_I = 0x80n;
const boot = (entryText?: string): Booted => h.boot(C_STUBS, entryText);
/** boot(), then the kernel entered in task 1. */
const start = (entryText?: string) => h.bootInTask(C_STUBS, entryText);

/** A user image at USER_TEXT and a pt_regs frame for the first return to it through ret_to_user. */
function userFrame(b: Booted, k: KernelApi, t: Task, text: string): { regs: PtRegs; user: AssembleResult } {
  return h.userFrame(b, k, t, text, (regs) => c.startThread(k, regs, USER_TEXT, USER_STACK));
}

describe('arch.json', () => {
  it('validates and carries the arm64 facts', () => {
    expect(desc.name).toBe('arm64');
    expect(desc.emulator).toEqual({ backend: 'unicorn', arch: 'arm64', mode: 'arm' });
    expect(desc.registers.args).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'x5']);
    expect(desc.registers).toMatchObject({ pc: 'pc', sp: 'sp', ret: 'x0', nr: 'x8' });
    expect(desc.callingConvention).toEqual({ args: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'], ret: 'x0', returnAddress: 'x30' });
    expect(desc.syscall).toMatchObject({ instruction: 'svc #0', insnBytes: 4, restartRewind: 4, error: 'negative' });
    // asm-generic unistd.h
    expect(NR).toEqual({
      read: 63, write: 64, ppoll: 73, exit: 93, exit_group: 94, nanosleep: 101, sched_yield: 124, restart_syscall: 128,
      kill: 129, rt_sigaction: 134, rt_sigprocmask: 135, rt_sigreturn: 139, getpid: 172, gettid: 178, clone: 220,
      execve: 221, wait4: 260,
    });
    expect(NR['fork']).toBeUndefined();
    expect(NR['vfork']).toBeUndefined();
    expect(desc.kthread).toEqual({ fnReg: 'x19', argReg: 'x20' });
    expect(desc.switchStack).toBeNull();
    expect(desc.symbols).toEqual({ retFromFork: 'ret_from_fork', switchTo: 'cpu_switch_to', restoreUserRegs: 'ret_to_user', entry: 'vectors' });
  });

  it('lays pt_regs out as v6.18 arch/arm64/include/asm/ptrace.h does', () => {
    expect(desc.ptRegs.size).toBe(320);
    expect(desc.ptRegs.size % 16).toBe(0);
    for (let i = 0; i <= 30; i++) expect(K[`PT_X${i}`]).toBe(i * 8);
    expect(K).toMatchObject({
      PT_SP: 248, PT_PC: 256, PT_PSTATE: 264, PT_ORIG_X0: 272, PT_SYSCALLNO: 280, PT_PMR: 284, PT_SDEI_TTBR1: 288,
      PT_STACKFRAME_FP: 296, PT_STACKFRAME_LR: 304, PT_STACKFRAME_TYPE: 312, PT_REGS_SIZE: 320,
    });
    expect(desc.ptRegs.fields.find((f) => f.name === 'syscallno')!.size).toBe(4);
    const regOf = Object.fromEntries(desc.ptRegs.fields.map((f) => [f.name, f.reg]));
    expect(regOf).toMatchObject({ x0: 'x0', x30: 'x30', sp: 'sp', pc: 'pc', pstate: 'pstate', orig_x0: undefined, syscallno: undefined });
  });

  it('has v6.18 TIF bit numbers and only handled bits in the work masks', () => {
    expect(desc.tif).toMatchObject({ SIGPENDING: 0, NEED_RESCHED: 1, NOTIFY_RESUME: 3, UPROBE: 5, NOTIFY_SIGNAL: 7, SYSCALL_TRACE: 8 });
    expect(desc.workMasks['_TIF_SYSCALL_WORK']).toEqual(['SYSCALL_TRACE']);
    expect(K['_TIF_WORK_MASK']).toBe(0b1010_1011n);
    for (const bit of desc.workMasks['_TIF_WORK_MASK']!) {
      expect(['NEED_RESCHED', 'SIGPENDING', 'NOTIFY_RESUME', 'NOTIFY_SIGNAL', 'UPROBE']).toContain(bit);
    }
    expect(desc.rseq.abortIpReg).toBe('x17');
    expect(desc.registers.scratch).toEqual(['x16', 'x17']);
  });
});

describe('entry.S', () => {
  it('assembles with the asm-offsets prelude and defines every label the core needs', () => {
    const r = h.assembleEntry();
    for (const label of [
      'vectors', 'el0_sync', 'el0_svc', 'el0_undef', 'local_restart', 'ret_to_user', 'ret_from_fork', 'cpu_switch_to',
      '__vdso_start', '__kernel_rt_sigreturn', '__vdso_end', ...Object.values(desc.symbols ?? {}),
    ]) {
      expect(r.symbols.has(label), label).toBe(true);
    }
    // vdso: mov x8, #__NR_rt_sigreturn (139); svc #0
    const vs = Number(r.symbols.get('__vdso_start')! - r.base);
    const ve = Number(r.symbols.get('__vdso_end')! - r.base);
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset);
    expect(ve - vs).toBe(8);
    expect(dv.getUint32(vs, true)).toBe((0xd2800008 | (139 << 5)) >>> 0);
    expect(dv.getUint32(vs + 4, true)).toBe(0xd4000001);
  });

  it('has a 2 KiB aligned vector table whose EL0 sync entry (+0x400) branches to el0_sync', () => {
    const r = h.assembleEntry();
    const vectors = r.symbols.get('vectors')!;
    expect(vectors & 0x7ffn).toBe(0n);
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset);
    const target = (slot: number) => {
      const at = vectors + BigInt(slot * 0x80);
      const insn = dv.getUint32(Number(at - r.base), true);
      expect(insn >>> 26, `vector ${slot} is a b`).toBe(0b000101);
      return at + BigInt.asIntN(28, BigInt((insn & 0x3ffffff) << 2 >>> 0) & 0xfffffffn);
    };
    expect(target(8)).toBe(r.symbols.get('el0_sync'));
    for (let slot = 0; slot < 16; slot++) if (slot !== 8) expect(target(slot)).not.toBe(r.symbols.get('el0_sync'));
  });
});

describe('createPort', () => {
  it('loads the port and every mutant applies', async () => {
    const port = await createPort();
    expect(port.descriptor.name).toBe('arm64');
    expect(port.mutants.sort()).toEqual([
      'copy-thread-ignores-null-regs', 'double-restart', 'fault-exit-irqs-on', 'fn-before-schedule-tail', 'fork-child-nonzero',
      'handlerless-restart-via-user', 'irqs-on-exit', 'no-arg-reload-after-ptrace', 'restart-after-sigreturn',
      'work-bit-not-cleared',
    ]);
    for (const id of port.mutants) {
      const mp = await createPort({ mutant: id });
      const changed =
        mp.sources.entry.text !== port.sources.entry.text ||
        JSON.stringify(mp.descriptor.workMasks) !== JSON.stringify(port.descriptor.workMasks) ||
        mp.c !== port.c;
      expect(changed, id).toBe(true);
      // a mutated entry.S still assembles
      h.assembleEntry(h.placeholderExterns, mp.sources.entry.text);
    }
  });
});

describe('on Unicorn', () => {
  it('cpu.init: EL1h, DAIF masked, VBAR_EL1 = vectors', () => {
    const b = boot();
    const t = mkTask(1);
    enterKernel(b, kernelApi(b, { t }), t);
    expect(b.m.privilege()).toBe(1);
    expect(b.m.reg('vbar_el1')).toBe(b.sym.get('vectors'));
    expect(b.m.reg('pstate') & 0x3cfn).toBe(0x3c5n);
    expect(b.m.irqsEnabled()).toBe(false);
  });

  it('svc from EL0 lands at vectors+0x400 at EL1h with ELR/SPSR/ESR and the banked sp right', () => {
    const { b, t, k } = start();
    const { user } = userFrame(b, k, t, `movz x8, #${NR['getpid']}\ncmp x8, x8\nsvc #0x12\ndone:\nnop\n`);
    const seen: Record<string, bigint | number | boolean> = {};
    const at = b.sym.get('vectors')! + 0x400n;
    b.m.hookCode(at, at, () => {
      seen['el'] = b.m.privilege();
      seen['elr'] = b.m.reg('elr_el1');
      seen['spsr'] = b.m.reg('spsr_el1');
      seen['esr'] = b.m.reg('esr_el1');
      seen['irqs'] = b.m.irqsEnabled();
      seen['pstate'] = b.m.reg('pstate');
      seen['sp'] = b.m.reg('sp');
      seen['sp_el0'] = b.m.reg('sp_el0');
      b.m.stop();
    });
    let userEl = -1;
    b.m.hookCode(USER_TEXT, USER_TEXT, () => (userEl = b.m.privilege()));
    b.m.run(b.sym.get('ret_to_user')!, { instructions: 1000 });
    expect(userEl).toBe(0);
    expect(seen['el']).toBe(1);
    expect(seen['elr']).toBe(user.symbols.get('done'));
    expect((seen['spsr'] as bigint) & 0xf00003cfn).toBe(0x60000000n); // Z and C from the cmp, EL0t, DAIF clear
    expect(seen['esr']).toBe((0x15n << 26n) | (1n << 25n) | 0x12n);
    expect(seen['irqs']).toBe(false);
    expect((seen['pstate'] as bigint) & 0x3cfn).toBe(0x3c5n); // EL1h, DAIF masked
    expect(seen['sp']).toBe(t.stackTop);
    expect(seen['sp_el0']).toBe(USER_STACK);
  });

  it('round trip: pt_regs in the kernel layout, args in x0-x5, irqs on in the syscall and off at ret_to_user, eret to EL0', () => {
    const { b, t, k } = start();
    const vals: Record<string, bigint> = {};
    for (let i = 0; i <= 30; i++) if (i !== 8) vals[`x${i}`] = 0x1000n + BigInt(i);
    const text =
      Object.entries(vals).map(([r, v]) => `movz ${r}, #0x${v.toString(16)}`).join('\n') +
      `\nmovz x8, #${NR['getpid']}\nsvc #0\ndone:\nnop\n`;
    const { regs, user } = userFrame(b, k, t, text);
    let atRestore: { irqs: boolean; sp: bigint; snap: Record<string, bigint> } | undefined;
    const restore = b.sym.get('ret_to_user')!;
    let first = true;
    b.m.hookCode(restore, restore, () => {
      if (first) return void (first = false); // the initial return to user
      atRestore = { irqs: b.m.irqsEnabled(), sp: b.m.reg('sp'), snap: regs.snapshot() };
    });
    const done = user.symbols.get('done')!;
    b.m.run(restore, { instructions: 5000 }, done);
    expect(b.m.privilege()).toBe(0);
    expect(b.m.reg('x0')).toBe(4242n);
    expect(log(b, L.getpidCalls)).toBe(1n);
    expect([0n, 8n, 16n, 24n, 32n, 40n].map((o) => log(b, L.args + o))).toEqual([0, 1, 2, 3, 4, 5].map((i) => vals[`x${i}`]));
    expect(log(b, L.getpidDaif) & PSR_I).toBe(0n); // the syscall ran with irqs on
    expect(atRestore?.irqs).toBe(false);
    expect(atRestore?.sp).toBe(regs.base);
    const snap = atRestore!.snap;
    expect(snap).toMatchObject({ ...vals, x0: 4242n, x8: BigInt(NR['getpid']!), orig_x0: vals['x0'], syscallno: BigInt(NR['getpid']!), pc: done, sp: USER_STACK, stackframe_type: 1n });
    expect(snap['pstate']! & 0x3cfn).toBe(0n);
    // after eret the user registers are the pt_regs ones and SP_EL1 is back at the stack top
    for (const [r, v] of Object.entries(vals)) if (r !== 'x0') expect(b.m.reg(r), r).toBe(v);
    expect(b.m.reg('sp')).toBe(USER_STACK);
    expect(b.m.reg('sp_el1')).toBe(t.stackTop);
  });

  it('unknown syscall numbers (and w8 = -1) return -ENOSYS', () => {
    const { b, t, k } = start();
    const { user } = userFrame(b, k, t, `movz x8, #999\nsvc #0\nmov x19, x0\nmovn x8, #0\nsvc #0\ndone:\nnop\n`);
    b.m.run(b.sym.get('ret_to_user')!, { instructions: 5000 }, user.symbols.get('done')!);
    expect(BigInt.asIntN(64, b.m.reg('x19'))).toBe(-38n);
    expect(BigInt.asIntN(64, b.m.reg('x0'))).toBe(-38n);
  });

  it('a non-zero do_work_pending re-dispatches in the kernel: nr from pt_regs x8, args reloaded, no user instructions in between', () => {
    const { b, t, k } = start();
    const { regs, user } = userFrame(b, k, t, `movz x0, #7\nmovz x8, #${NR['getpid']}\nsvc #0\ndone:\nnop\n`);
    let counting = false;
    let userInsnsBetween = 0;
    const svc = user.symbols.get('done')! - 4n;
    b.m.hookCode(svc, svc, () => {
      b.m.writeUint(t.addr + TI_FLAGS, 8, TIF('SIGPENDING'));
      setLog(b, L.dwpRet, 1n); // restart once
    });
    const dwp = b.sym.get('do_work_pending')!;
    b.m.hookCode(dwp, dwp, () => (counting = true));
    b.m.hookCode(USER_TEXT, USER_TEXT + 0x100n, () => {
      if (counting) userInsnsBetween++;
    });
    b.m.run(b.sym.get('ret_to_user')!, { instructions: 5000 }, user.symbols.get('done')!);
    expect(log(b, L.getpidCalls)).toBe(2n);
    expect(log(b, L.args)).toBe(7n); // x0 reloaded from pt_regs (orig_x0 put back)
    expect(log(b, L.dwpDaif) & PSR_I).toBe(PSR_I); // do_work_pending entered with irqs off
    expect(log(b, L.dwpFlags)).toBe(TIF('SIGPENDING'));
    expect(userInsnsBetween).toBe(0);
    expect(b.m.reg('x0')).toBe(4242n);
    expect(regs.gets('syscallno')).toBe(BigInt(NR['getpid']!));
  });

  it('a negative do_work_pending restarts through __NR_restart_syscall', () => {
    const { b, t, k } = start();
    const { regs, user } = userFrame(b, k, t, `movz x8, #${NR['getpid']}\nsvc #0\ndone:\nnop\n`);
    const svc = user.symbols.get('done')! - 4n;
    b.m.hookCode(svc, svc, () => {
      b.m.writeUint(t.addr + TI_FLAGS, 8, TIF('SIGPENDING'));
      setLog(b, L.dwpRet, 0xffffffffffffffffn);
    });
    b.m.run(b.sym.get('ret_to_user')!, { instructions: 5000 }, user.symbols.get('done')!);
    expect(log(b, L.getpidCalls)).toBe(1n);
    expect(log(b, L.restartCalls)).toBe(1n);
    expect(regs.gets('syscallno')).toBe(BigInt(NR['restart_syscall']!));
    expect(BigInt.asIntN(64, b.m.reg('x0'))).toBe(-4n);
  });

  it('syscall tracing: the number and arguments come from pt_regs after syscall_trace_enter; -1 skips the call', () => {
    const { b, t, k } = start();
    b.m.writeUint(t.addr + TI_FLAGS, 8, TIF('SYSCALL_TRACE'));
    setLog(b, L.trArg0, 0x77n);
    setLog(b, L.trNr, BigInt(NR['getpid']!));
    const { user } = userFrame(b, k, t, `movz x0, #1\nmovz x8, #${NR['read']}\nsvc #0\nmov x19, x0\ndone:\nnop\n`);
    // the first return to user must not clear the flag: do_work_pending is not reached
    b.m.run(b.sym.get('ret_to_user')!, { instructions: 5000 }, user.symbols.get('done')!);
    expect(log(b, L.trEnter)).toBe(1n);
    expect(log(b, L.trExit)).toBe(1n);
    expect(log(b, L.getpidCalls)).toBe(1n);
    expect(log(b, L.args)).toBe(0x77n);
    expect(b.m.reg('x19')).toBe(4242n);

    // skip: the tracer sets the number to -1; x0 in pt_regs is the result
    const b2 = boot();
    const k2 = kernelApi(b2, { t });
    enterKernel(b2, k2, t);
    b2.m.writeUint(t.addr + TI_FLAGS, 8, TIF('SYSCALL_TRACE'));
    setLog(b2, L.trArg0, 0x55n);
    setLog(b2, L.trNr, 0xffffffffn);
    const u2 = userFrame(b2, k2, t, `movz x8, #${NR['getpid']}\nsvc #0\ndone:\nnop\n`).user;
    b2.m.run(b2.sym.get('ret_to_user')!, { instructions: 5000 }, u2.symbols.get('done')!);
    expect(log(b2, L.getpidCalls)).toBe(0n);
    expect(log(b2, L.trExit)).toBe(1n);
    expect(b2.m.reg('x0')).toBe(0x55n);
  });

  it('cpu_switch_to switches between two hand-built contexts and returns prev in x0', () => {
    const { b, t: a } = start();
    const n = mkTask(2);
    const resume = h.as.assemble({ file: 'resume', text: 'resume:\nnop\nnop\n' }, { base: mem.kernelText + 0xf000n });
    b.m.write(resume.base, resume.bytes);
    const nctx = n.addr + TASK_THREAD;
    const names = ['x19', 'x20', 'x21', 'x22', 'x23', 'x24', 'x25', 'x26', 'x27', 'x28', 'x29'];
    names.forEach((r, i) => b.m.writeUint(nctx + BigInt(i * 8), 8, 0xb00n + BigInt(i)));
    const nsp = n.stackTop - 0x200n;
    b.m.writeUint(nctx + CPU_CONTEXT.sp, 8, nsp);
    b.m.writeUint(nctx + CPU_CONTEXT.pc, 8, resume.base);
    const asp = a.stackTop - 0x300n;
    b.m.setReg('sp', asp);
    names.forEach((r, i) => b.m.setReg(r, 0xa00n + BigInt(i)));
    b.m.setReg('x30', 0xdead0n);
    b.m.setReg('x0', a.addr);
    b.m.setReg('x1', n.addr);
    b.m.run(b.sym.get('cpu_switch_to')!, { instructions: 100 }, resume.base);
    expect(b.m.reg('x0')).toBe(a.addr);
    expect(names.map((r) => b.m.reg(r))).toEqual(names.map((_, i) => 0xb00n + BigInt(i)));
    expect(b.m.reg('sp')).toBe(nsp);
    expect(b.m.reg('x30')).toBe(resume.base);
    const actx = a.addr + TASK_THREAD;
    expect(names.map((_, i) => b.m.readUint(actx + BigInt(i * 8), 8))).toEqual(names.map((_, i) => 0xa00n + BigInt(i)));
    expect(b.m.readUint(actx + CPU_CONTEXT.sp, 8)).toBe(asp);
    expect(b.m.readUint(actx + CPU_CONTEXT.pc, 8)).toBe(0xdead0n);
  });

  it('copyThread(regs = null) leaves fn/arg in cpu_context x19/x20: schedule_tail, then fn(arg), then the exit path to EL0', () => {
    const { b, t: prev, k, cur } = start();
    const p = mkTask(2);
    const fn = b.sym.get('kthread_fn')!;
    c.copyThread(k, p, 0x100n, fn, 0xa7a7n, null, 0n);
    const regs = k.taskPtRegs(p);
    const ctx = p.addr + TASK_THREAD;
    expect(b.m.readUint(ctx + CPU_CONTEXT.x19, 8)).toBe(fn);
    expect(b.m.readUint(ctx + CPU_CONTEXT.x20, 8)).toBe(0xa7a7n);
    expect(b.m.readUint(ctx + CPU_CONTEXT.pc, 8)).toBe(b.sym.get('ret_from_fork'));
    expect(b.m.readUint(ctx + CPU_CONTEXT.sp, 8)).toBe(regs.base);
    expect(regs.get('pstate')).toBe(0x5n | (1n << 20n)); // EL1h + IL: no user context yet
    // kernel_execve from fn would fill pt_regs through start_thread: do it up front here
    cur.t = p;
    h.loadUser(b, 'u:\nnop\n');
    c.startThread(k, regs, USER_TEXT, USER_STACK);
    // switch prev -> p as schedule() would: cpu_switch_to(prev, p), x30 a dummy
    const atRestore = h.switchAndRun(b, prev, p, USER_TEXT, 0xdead0n);
    expect(log(b, L.prev)).toBe(prev.addr); // schedule_tail(prev)
    expect(log(b, L.kfnArg)).toBe(0xa7a7n); // fn(arg)
    expect(log(b, L.kfnStCalls)).toBe(1n); // schedule_tail ran before fn
    expect(atRestore).toEqual({ irqs: false, sp: regs.base }); // C2: only pt_regs on the stack
    expect(b.m.privilege()).toBe(0);
    expect(b.m.reg('sp')).toBe(USER_STACK);
  });

  it('copyThread for a user fork: child regs = parent regs with x0 = 0, new sp and TLS when asked, x19 = 0', () => {
    const { b, t: parent, k } = start();
    const child = mkTask(2);
    const pr = k.taskPtRegs(parent);
    pr.zero();
    desc.ptRegs.fields.forEach((f, i) => pr.set(f.name, 0x100n + BigInt(i)));
    b.m.setReg('tpidr_el0', 0x7000n);
    b.m.writeUint(child.addr + TASK_THREAD + CPU_CONTEXT.x19, 8, 0x1234n); // stale
    c.copyThread(k, child, 0x11n, 0n, 0n, pr, 0n);
    const cr = k.taskPtRegs(child);
    expect(cr.snapshot()).toEqual({ ...pr.snapshot(), x0: 0n });
    expect(b.m.readUint(child.addr + TASK_THREAD + THREAD_TP_VALUE, 8)).toBe(0x7000n);
    expect(b.m.readUint(child.addr + TASK_THREAD + CPU_CONTEXT.x19, 8)).toBe(0n);
    expect(b.m.readUint(child.addr + TASK_THREAD + CPU_CONTEXT.pc, 8)).toBe(b.sym.get('ret_from_fork'));
    c.copyThread(k, child, 0x80000n, USER_STACK - 0x1000n, 0n, pr, 0x9000n);
    expect(cr.get('sp')).toBe(USER_STACK - 0x1000n);
    expect(b.m.readUint(child.addr + TASK_THREAD + THREAD_TP_VALUE, 8)).toBe(0x9000n);
    // switchToC: TPIDR_EL0 follows the task
    c.switchToC(k, parent, child);
    expect(b.m.reg('tpidr_el0')).toBe(0x9000n);
    expect(b.m.readUint(parent.addr + TASK_THREAD + THREAD_TP_VALUE, 8)).toBe(0x7000n);
  });

  it('signal frame: arm64 rt_sigframe layout, every register saved and restored, edits take effect', () => {
    const { b, t, k } = start();
    const regs = k.taskPtRegs(t);
    regs.zero();
    for (let i = 0; i <= 30; i++) regs.set(`x${i}`, 0x1000n + BigInt(i) * 0x11n);
    regs.set('sp', USER_STACK - 8n);
    regs.pc = USER_TEXT + 0x40n;
    regs.set('pstate', 0x60000000n);
    regs.set('orig_x0', 0x1000n);
    regs.set('syscallno', 63n);
    const before = regs.snapshot();
    const handler = USER_TEXT + 0x100n;
    c.setupRtFrame(k, 10, { handler, flags: 0n, restorer: 0n, mask: 0n }, regs, 0x5n);
    const frame = regs.sp;
    const record = (USER_STACK - 8n - 16n) & ~15n;
    expect(frame).toBe(record - RT_SIGFRAME.size);
    expect(frame % 16n).toBe(0n);
    expect(regs.pc).toBe(handler);
    expect(regs.get('x0')).toBe(10n);
    expect(regs.get('x1')).toBe(frame);
    expect(regs.get('x2')).toBe(frame + 128n);
    expect(regs.get('x29')).toBe(record);
    expect(regs.get('x30')).toBe(b.sym.get('__kernel_rt_sigreturn')); // no SA_RESTORER: the vdso
    expect([b.m.readUint(record, 8), b.m.readUint(record + 8n, 8)]).toEqual([before['x29'], before['x30']]);
    const uc = regs.get('x2');
    expect(c.ucontextRegOffset('x0')).toBe(184);
    expect(c.ucontextRegOffset('sp')).toBe(176 + 256);
    expect(c.ucontextRegOffset('pc')).toBe(176 + 264);
    for (let i = 0; i <= 30; i++) expect(b.m.readUint(uc + BigInt(c.ucontextRegOffset(`x${i}`)), 8)).toBe(before[`x${i}`]);
    expect(b.m.readUint(uc + UC.mcontext + SC.sp, 8)).toBe(USER_STACK - 8n);
    expect(b.m.readUint(uc + UC.mcontext + SC.pc, 8)).toBe(USER_TEXT + 0x40n);
    expect(b.m.readUint(uc + UC.mcontext + SC.pstate, 8)).toBe(0x60000000n);
    expect(b.m.readUint(uc + UC.sigmask, 8)).toBe(0x5n);
    expect(b.m.readUint(frame, 4)).toBe(10n); // si_signo
    // SA_RESTORER: the given restorer
    const r2 = k.taskPtRegs(mkTask(2));
    r2.zero();
    r2.sp = USER_STACK - 0x8000n;
    c.setupRtFrame(k, 12, { handler, flags: 0x04000000n, restorer: USER_TEXT + 0x200n, mask: 0n }, r2, 0n);
    expect(r2.get('x30')).toBe(USER_TEXT + 0x200n);
    // the handler edits x19 and pc in its context and returns; rt_sigreturn (sp = frame)
    b.m.writeUint(uc + BigInt(c.ucontextRegOffset('x19')), 8, 0xb0b0n);
    b.m.writeUint(uc + BigInt(c.ucontextRegOffset('pc')), 8, USER_TEXT + 0x44n);
    regs.set('syscallno', BigInt(NR['rt_sigreturn']!));
    const { blocked } = c.restoreRtFrame(k, regs);
    expect(blocked).toBe(0x5n);
    expect(regs.snapshot()).toEqual({ ...before, x19: 0xb0b0n, pc: USER_TEXT + 0x44n, syscallno: 0xffffffffn });
    expect(c.restart.syscallNr(regs)).toBe(-1n);
  });

  it('restart hooks speak syscallno / orig_x0 / x0 / pc - 4', () => {
    const b = boot();
    const t = mkTask(1);
    const k = kernelApi(b, { t });
    const regs = k.taskPtRegs(t);
    regs.zero();
    regs.set('orig_x0', 7n);
    regs.set('syscallno', 172n);
    regs.set('x0', -512n);
    regs.pc = USER_TEXT + 0x10n;
    const R = c.restart;
    expect(R.syscallNr(regs)).toBe(172n);
    expect(R.returnValue(regs)).toBe(-512n);
    expect(R.restartAddress(regs)).toBe(USER_TEXT + 0xcn);
    R.restoreOrigArg(regs);
    expect(regs.gets('x0')).toBe(7n);
    R.setReturnValue(regs, -4n);
    expect(regs.gets('x0')).toBe(-4n);
    R.setSyscallNr(regs, 63n);
    expect(R.syscallNr(regs)).toBe(63n);
    R.forgetSyscall(regs);
    expect(R.syscallNr(regs)).toBe(-1n);
    expect(regs.get('syscallno')).toBe(0xffffffffn);
    expect(c.normaliseResult({ x0: 0xfffffffffffffffcn })).toBe(-4n);
  });

  it('user mode really is EL0: the privileged op traps (EC 0x18) to vectors+0x400 at EL1h with ELR = its pc; do_user_fault(regs, SIGILL) on a NO_SYSCALL frame', () => {
    expect(PRIVILEGED).toBe('msr daifset, #2');
    const r = faultRun(undefined, PRIVILEGED);
    // the architectural exception entry
    expect(r.vec.el).toBe(1);
    expect(r.vec.elr).toBe(r.fault);
    // MSR (immediate) DAIFSet trapped by SCTLR_EL1.UMA: Op0 0, Op2 6, Op1 3, CRn 4, Rt 31, CRm = #2, write
    expect(r.vec.esr).toBe((0x18n << 26n) | (1n << 25n) | (6n << 17n) | (3n << 14n) | (4n << 10n) | (31n << 5n) | (2n << 1n));
    expect(r.vec.spsr! & 0x3cfn).toBe(0n); // EL0t, DAIF clear
    expect(r.vec.pstate! & 0x3cfn).toBe(0x3c5n); // EL1h, DAIF masked
    expect(r.vec.irqs).toBe(false);
    expect(r.vec.sp).toBe(r.t.stackTop);
    expect(r.vec.sp_el0).toBe(USER_STACK);
    // el0_undef: do_user_fault(current_pt_regs(), SIGILL) once, irqs on, the frame marked as no syscall
    expect(log(r.b, L.faultCalls)).toBe(1n);
    expect(log(r.b, L.faultRegs)).toBe(r.regs.base);
    expect(log(r.b, L.faultSig)).toBe(4n);
    expect(BigInt.asIntN(64, log(r.b, L.faultNr))).toBe(-1n);
    expect(log(r.b, L.faultDaif) & PSR_I).toBe(0n);
    // then the exit work: do_work_pending(regs, flags with SIGPENDING, 0) with irqs off
    expect(log(r.b, L.dwpCalls)).toBe(1n);
    expect(log(r.b, L.dwpFlags) & TIF('SIGPENDING')).not.toBe(0n);
    expect(log(r.b, L.dwpWhy)).toBe(0n);
    expect(log(r.b, L.dwpDaif) & PSR_I).not.toBe(0n);
    // C2 at every ret_to_user: irqs off, sp = the pt_regs base
    expect(r.atRestore).toEqual([{ irqs: false, sp: r.regs.base }, { irqs: false, sp: r.regs.base }]);
    // the saved frame: pc of the faulting instruction, user registers as they were, no syscall
    expect(r.faultFrame).toMatchObject({ pc: r.fault, x0: 0x55n, x8: BigInt(NR['getpid']!), x19: 0x19n, sp: USER_STACK, syscallno: 0xffffffffn });
    // back at EL0 where the "handler" pointed the frame, nothing clobbered (x0 is no return value)
    expect(mach(r).privilege()).toBe(0);
    expect([mach(r).reg('x0'), mach(r).reg('x8'), mach(r).reg('x19'), mach(r).reg('sp')]).toEqual([0x55n, BigInt(NR['getpid']!), 0x19n, USER_STACK]);
  });

  it('an EL1-only system register read at EL0 is UNDEFINED: EC 0x00 (unknown), same fault path', () => {
    const r = faultRun(undefined, 'mrs x0, elr_el1');
    expect(r.vec.elr).toBe(r.fault);
    expect(r.vec.esr).toBe((0x00n << 26n) | (1n << 25n));
    expect([log(r.b, L.faultCalls), log(r.b, L.faultSig), log(r.b, L.dwpWhy)]).toEqual([1n, 4n, 0n]);
    expect(mach(r).reg('x0')).toBe(0x55n);
  });

  it('undefSyndrome: EC 0x18 only for what an SCTLR_EL1 EL0 control traps, with the ISS fields; else EC 0x00', () => {
    const enc = (insn: string) => Number(new DataView(h.as.assemble({ file: 'i', text: insn }, { base: USER_TEXT }).bytes.buffer).getUint32(0, true));
    const SYS = (0x18n << 26n) | (1n << 25n);
    const sctlr = 0xc50838n; // Unicorn's reset value: UMA, DZE, UCT, UCI clear
    // mrs x3, daif (S3_3_C4_C2_1), a read
    expect(undefSyndrome(enc('mrs x3, daif'), sctlr)).toBe(SYS | (3n << 20n) | (1n << 17n) | (3n << 14n) | (4n << 10n) | (3n << 5n) | (2n << 1n) | 1n);
    // msr daifclr, #15
    expect(undefSyndrome(enc('msr daifclr, #15'), sctlr)).toBe(SYS | (7n << 17n) | (3n << 14n) | (4n << 10n) | (31n << 5n) | (15n << 1n));
    // mrs x0, ctr_el0 (S3_3_C0_C0_1) with UCT clear
    expect(undefSyndrome(enc('mrs x0, ctr_el0'), sctlr)).toBe(SYS | (3n << 20n) | (1n << 17n) | (3n << 14n) | (0n << 10n) | (0n << 5n) | 1n);
    // the control set: not a trap (the access would not fault)
    expect(undefSyndrome(enc('msr daifset, #2'), sctlr | (1n << 9n)) >> 26n).toBe(0n);
    // UNDEFINED at EL0: EL1 registers, eret, hvc, an unallocated encoding
    for (const i of ['mrs x0, elr_el1', 'msr sctlr_el1, x0', 'eret', 'hvc #0']) expect(undefSyndrome(enc(i), sctlr), i).toBe(1n << 25n);
    expect(undefSyndrome(0, sctlr)).toBe(1n << 25n);
  });

  it('other EL0 exceptions (brk) still stop the run; any exception taken at EL1 is a kernel bug', () => {
    const { b: m1, t, k } = start();
    const { user } = userFrame(m1, k, t, `nop\nbrk #1\ndone:\nnop\n`);
    expect(() => m1.m.run(m1.sym.get('ret_to_user')!, { instructions: 1000 }, user.symbols.get('done')!)).toThrow(/user fault \(BKPT\) at EL0/);

    const { b: m2, t: t2 } = start();
    const blob = h.as.assemble({ file: 'k', text: 'nop\nmsr daifset, #2\nmrs x0, elr_el2\nnop\n' }, { base: mem.kernelText + 0xf000n });
    m2.m.write(blob.base, blob.bytes);
    m2.m.setReg('sp', t2.stackTop);
    expect(() => m2.m.run(blob.base, { instructions: 100 }, blob.base + 12n)).toThrow(/UDEF taken at EL1 .*the kernel raised an exception/);
    expect(m2.m.reg('pc')).toBe(blob.base + 8n); // msr daifset is fine at EL1; mrs elr_el2 is not
  });
});

/** The machine of a faultRun. */
const mach = (r: { b: Booted }) => r.b.m;

/**
 * User code that faults at `fault` with `insn` (x0, x8, x19 and a stale syscallno in the frame
 * set beforehand); when do_work_pending is reached the frame is pointed at `done` as a SIGILL
 * handler editing its context would, and the run ends there at EL0. Returns what the vector
 * entry, the stand-ins (in the log) and every ret_to_user saw.
 */
function faultRun(entryText: string | undefined, insn: string) {
  const { b: booted, t, k } = start(entryText);
  const { regs, user } = userFrame(booted, k, t, `movz x0, #0x55\nmovz x8, #${NR['getpid']}\nmovz x19, #0x19\nfault:\n${insn}\nnop\ndone:\nnop\n`);
  regs.set('syscallno', BigInt(NR['getpid']!)); // left over from an earlier syscall
  const fault = user.symbols.get('fault')!;
  const done = user.symbols.get('done')!;
  const m = booted.m;
  const vec: Partial<Record<'elr' | 'esr' | 'spsr' | 'pstate' | 'sp' | 'sp_el0', bigint> & { el: number; irqs: boolean }> = {};
  const at = booted.sym.get('vectors')! + 0x400n;
  m.hookCode(at, at, () =>
    Object.assign(vec, {
      el: m.privilege(), elr: m.reg('elr_el1'), esr: m.reg('esr_el1'), spsr: m.reg('spsr_el1'), pstate: m.reg('pstate'),
      irqs: m.irqsEnabled(), sp: m.reg('sp'), sp_el0: m.reg('sp_el0'),
    }),
  );
  let faultFrame: Record<string, bigint> | undefined;
  const duf = booted.sym.get('do_user_fault')!;
  m.hookCode(duf, duf, () => (faultFrame = regs.snapshot()));
  const dwp = booted.sym.get('do_work_pending')!;
  m.hookCode(dwp, dwp, () => (regs.pc = done));
  const restore = booted.sym.get('ret_to_user')!;
  const atRestore: { irqs: boolean; sp: bigint }[] = [];
  m.hookCode(restore, restore, () => atRestore.push({ irqs: m.irqsEnabled(), sp: m.reg('sp') }));
  m.run(restore, { instructions: 5000 }, done);
  return { b: booted, t, regs, fault, done, vec, atRestore, faultFrame };
}

// Each bug-zoo mutant must be caught by one of the checks above, run here against the
// mutated sources (entry.S text, port "C", descriptor) that createPort({ mutant }) gives.
describe('the bug zoo is caught by these unit checks', () => {
  type Check = (entryText: string, pc: PortC, d: ArchDescriptor) => void;

  /** Runs user code that does one getpid and returns what the exit path looked like. */
  function getpidRun(entryText: string, setup?: (b: Booted, t: Task, svc: bigint) => void) {
    const { b, t, k } = start(entryText);
    const { user } = userFrame(b, k, t, `movz x0, #7\nmovz x8, #${NR['getpid']}\nsvc #0\ndone:\nnop\n`);
    const done = user.symbols.get('done')!;
    setup?.(b, t, done - 4n);
    const restore = b.sym.get('ret_to_user')!;
    const irqsAtRestore: boolean[] = [];
    b.m.hookCode(restore, restore, () => irqsAtRestore.push(b.m.irqsEnabled()));
    let afterDwp = false;
    let userInsnsAfterDwp = 0;
    const dwp = b.sym.get('do_work_pending')!;
    b.m.hookCode(dwp, dwp, () => (afterDwp = true));
    b.m.hookCode(USER_TEXT, USER_TEXT + 0x100n, () => {
      if (afterDwp) userInsnsAfterDwp++;
    });
    b.m.run(restore, { instructions: 5000 }, done);
    return { b, irqsAtRestore, userInsnsAfterDwp };
  }

  const checks: Record<string, Check> = {
    'fault-exit-irqs-on': (e) => {
      const r = faultRun(e, PRIVILEGED);
      expect(log(r.b, L.dwpDaif) & PSR_I).not.toBe(0n);
      expect(r.atRestore.map((x) => x.irqs)).toEqual([false, false]);
    },
    'irqs-on-exit': (e) => {
      expect(getpidRun(e).irqsAtRestore).toEqual([false, false]);
    },
    'handlerless-restart-via-user': (e) => {
      const r = getpidRun(e, (b, t, svc) =>
        b.m.hookCode(svc, svc, () => {
          b.m.writeUint(t.addr + TI_FLAGS, 8, TIF('SIGPENDING'));
          setLog(b, L.dwpRet, 1n);
        }),
      );
      expect(r.userInsnsAfterDwp).toBe(0);
    },
    'no-arg-reload-after-ptrace': (e) => {
      const r = getpidRun(e, (b, t) => {
        b.m.writeUint(t.addr + TI_FLAGS, 8, TIF('SYSCALL_TRACE'));
        setLog(b, L.trArg0, 0x77n);
      });
      expect(log(r.b, L.args)).toBe(0x77n);
    },
    'fn-before-schedule-tail': (e, pc) => {
      const b = boot(e);
      const prev = mkTask(1);
      const p = mkTask(2);
      const k = kernelApi(b, { t: p });
      enterKernel(b, k, p);
      h.loadUser(b, 'nop\n');
      pc.copyThread(k, p, 0n, b.sym.get('kthread_fn')!, 5n, null, 0n);
      pc.startThread(k, k.taskPtRegs(p), USER_TEXT, USER_STACK);
      b.m.setReg('sp', prev.stackTop - 0x300n);
      b.m.setReg('x0', prev.addr);
      b.m.setReg('x1', p.addr);
      b.m.run(b.sym.get('cpu_switch_to')!, { instructions: 1000 }, USER_TEXT);
      expect(log(b, L.kfnStCalls)).toBe(1n);
      expect(log(b, L.prev)).toBe(prev.addr);
    },
    'copy-thread-ignores-null-regs': (_e, pc) => {
      const b = boot();
      const p = mkTask(2);
      const k = kernelApi(b, { t: mkTask(1) });
      pc.copyThread(k, p, 0n, 0x1234n, 5n, null, 0n);
      expect(b.m.readUint(p.addr + TASK_THREAD + CPU_CONTEXT.x19, 8)).toBe(0x1234n);
      expect(b.m.readUint(p.addr + TASK_THREAD + CPU_CONTEXT.x20, 8)).toBe(5n);
    },
    'fork-child-nonzero': (_e, pc) => {
      const b = boot();
      const parent = mkTask(1);
      const k = kernelApi(b, { t: parent });
      const pr = k.taskPtRegs(parent);
      pr.set('x0', 17n);
      pc.copyThread(k, mkTask(2), 17n, 0n, 0n, pr, 0n);
      expect(k.taskPtRegs(mkTask(2)).get('x0')).toBe(0n);
    },
    'restart-after-sigreturn': (_e, pc) => {
      const b = boot();
      const t = mkTask(1);
      const k = kernelApi(b, { t });
      const regs = k.taskPtRegs(t);
      regs.zero();
      regs.sp = USER_STACK;
      pc.setupRtFrame(k, 10, { handler: USER_TEXT, flags: 0n, restorer: 0n, mask: 0n }, regs, 0n);
      b.m.writeUint(regs.get('x2') + BigInt(pc.ucontextRegOffset('x0')), 8, BigInt.asUintN(64, -513n));
      regs.set('syscallno', BigInt(NR['rt_sigreturn']!));
      pc.restoreRtFrame(k, regs);
      expect(pc.restart.syscallNr(regs)).toBe(-1n);
    },
    'double-restart': (_e, pc) => {
      const b = boot();
      const regs = kernelApi(b, { t: mkTask(1) }).taskPtRegs(mkTask(1));
      regs.set('syscallno', 172n);
      pc.restart.forgetSyscall(regs);
      expect(pc.restart.syscallNr(regs)).toBe(-1n);
    },
    'work-bit-not-cleared': (_e, _pc, d) => {
      for (const bit of d.workMasks['_TIF_WORK_MASK']!) {
        expect(['NEED_RESCHED', 'SIGPENDING', 'NOTIFY_RESUME', 'NOTIFY_SIGNAL', 'UPROBE']).toContain(bit);
      }
    },
  };

  it('every check passes on the port itself and fails on its mutant', async () => {
    const port = await createPort();
    expect(Object.keys(checks).sort()).toEqual([...port.mutants].sort());
    for (const [id, check] of Object.entries(checks)) {
      check(port.sources.entry.text, port.c, port.descriptor);
      const mp = await createPort({ mutant: id });
      let caught = false;
      try {
        check(mp.sources.entry.text, mp.c, mp.descriptor);
      } catch {
        caught = true;
      }
      expect(caught, `mutant ${id} survived its check`).toBe(true);
    }
  });
});
