// C1 kernel_thread, C2 kernel_execve, C3 fork/vfork/clone/execve, C4 current_pt_regs.

import type { CGen, KernelApi as Kernel } from '@archkit/generic-core/kernel/types';
import { USER_STACK_TOP } from '@archkit/generic-core/kernel/layout';
import { comparableRegs, fillValue } from '@archkit/generic-core/user/compile';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import {
  type Env,
  type ScenarioDef,
  entries,
  exit,
  expect,
  forkOp,
  hex,
  label,
  pidOf,
  prog,
  set,
  slot,
  store,
  strWords,
  sys,
  vforkOp,
  forkSplit,
  childOf,
  storeResult,
  result,
  sig,
  cloneArgs,
} from './dsl.ts';

const ARG = 0x1234_5678_9abc_def0n;

/** A kthread payload that records how it was called. */
function* probe(k: Kernel, arg: bigint): CGen {
  const t = k.current();
  const regs = k.currentPtRegs();
  k.trace.push(`${t.pid}:kfn probe`);
  (k as unknown as { probe: unknown }).probe = {
    pid: t.pid,
    arg,
    scheduleTailFirst: t.scheduleTailDone === true,
    ptRegsBase: regs.base,
    // the stack pointer fn was called with: ret_from_fork must run it on the kthread's own
    // stack, below its pt_regs
    sp: k.m.reg(k.desc.registers.sp),
    stackBase: t.stackBase,
  };
  yield* k.doExit(0);
  return 0n;
}

function userRan(env: Env, pid: number): boolean {
  return env.k.exits.some((e) => e.pid === pid) || env.k.syscalls.some((s) => s.pid === pid);
}

const simpleInit = (d: ArchDescriptor) => ({ '/init': prog('/init', [sys('getpid'), ...storeResult(d, 'pid'), ...exit(0)]) });

export const kthreadScenarios: ScenarioDef[] = [
  {
    id: 'kthread.fn-arg',
    group: 'kthread',
    contracts: ['C1', 'C4'],
    title: 'kernel_thread(fn, arg): copy_thread gets NULL regs, fn(arg) runs after schedule_tail with arg untouched',
    kfns: { probe },
    init: { fn: 'probe', arg: ARG },
    check(env) {
      const p = (env.k as unknown as { probe?: Record<string, bigint | number | boolean> }).probe;
      expect(p, 'C1', 'the kthread payload fn never ran (ret_from_kernel_thread did not call it)');
      env.observed.arg = hex(p.arg as bigint);
      env.observed.scheduleTailFirst = p.scheduleTailFirst;
      // fn's argument is a pointer-sized word (void *): all of ARG on 64-bit arches, its low half on 32-bit ones (i386)
      const want = BigInt.asUintN(env.d.wordSize * 8, ARG);
      expect(p.arg === want, 'C1', `fn got arg ${hex(p.arg as bigint)}, kernel_thread passed ${hex(want)}`);
      expect(p.pid === 1, 'C1', `fn ran in task ${p.pid}, not the new kthread (1)`);
      expect(p.scheduleTailFirst, 'C1', 'fn ran before schedule_tail(prev)');
      const sp = p.sp as bigint;
      env.observed.fnSpBelowPtRegs = sp > (p.stackBase as bigint) && sp <= (p.ptRegsBase as bigint);
      expect(env.observed.fnSpBelowPtRegs, 'C4', `fn ran with sp ${hex(sp)}, not on the kthread's own stack below its pt_regs (${hex(p.stackBase as bigint)}..${hex(p.ptRegsBase as bigint)})`);
      expect(!userRan(env, 1), 'C1', 'the kthread reached user mode although fn never exec\'d');
    },
  },
  {
    id: 'kthread.exit',
    group: 'kthread',
    contracts: ['C1'],
    title: 'a kthread that exits never reaches user mode; the CPU goes back to the scheduler',
    kfns: {
      *quitter(k: Kernel): CGen {
        k.trace.push(`${k.current().pid}:kfn quitter`);
        yield* k.doExit(3 << 8);
        return 0n;
      },
    },
    init: { fn: 'quitter' },
    check(env) {
      const t = env.k.task(1)!;
      env.observed.state = t.state;
      expect(env.k.trace.includes('1:kfn quitter'), 'C1', 'the payload never ran');
      expect(t.state === 'zombie' || t.state === 'dead', 'C1', `the kthread is ${t.state} after do_exit`);
      expect(t.exitCode === 3 << 8, 'C1', `exit code ${t.exitCode}`);
      expect(!userRan(env, 1), 'C1', 'the exited kthread reached user mode');
      expect(env.k.exits.length === 0, 'C2', `${env.k.exits.length} returns to user mode with no user task`);
    },
  },
  {
    id: 'kthread.execve-to-user',
    group: 'kthread',
    contracts: ['C1', 'C2'],
    title: 'kernel_execve() returns 0 normally; fn returns and the trampoline takes the task to user mode with only pt_regs on the stack',
    programs: (d) => ({
      '/init': prog('/init', [store('ret', 'ret0'), store(d.registers.sp, 'sp0'), sys('getpid'), ...storeResult(d, 'pid'), ...exit(0)]),
    }),
    check(env) {
      const init = env.state.initResult as bigint | undefined;
      env.observed.kernelExecve = init === undefined ? 'not called' : hex(init);
      expect(init === 0n, 'C2', `kernel_execve("/init") returned ${hex(init)}`);
      const first = env.k.exits.find((e) => e.pid === 1);
      expect(first, 'C2', 'the task never returned to user mode after kernel_execve');
      env.observed.spDelta = Number(first.spDelta);
      expect(first.spDelta === 0n, 'C2', `at the first return to user the kernel stack holds ${first.spDelta} bytes besides pt_regs`);
      expect(first.pc === env.images['/init']!.entry, 'C2', `user mode starts at ${hex(first.pc)}, not the image entry ${hex(env.images['/init']!.entry)}`);
      const ret0 = slot(env, 1, 'ret0');
      env.observed.ret = ret0 === undefined ? undefined : Number(ret0);
      expect(ret0 === 0n, 'C2', `the return register at the first user instruction is ${hex(ret0)}, expected 0`);
      // sparc's start_thread leaves a register window save area (and sparc64 the stack bias) under the top (arch.json abi.execSpOffset)
      const sp0want = env.d.memory.user + USER_STACK_TOP - BigInt(env.d.abi.execSpOffset ?? 0);
      expect(slot(env, 1, 'sp0') === BigInt.asIntN(env.d.wordSize * 8, sp0want), 'C2', `user sp at entry ${hex(slot(env, 1, 'sp0'))}, expected ${hex(sp0want)}`);
      expect(result(env, 1, 'pid') === 1n, 'C2', `getpid from the exec'd task returned ${hex(result(env, 1, 'pid'))}`);
    },
  },
  {
    id: 'kthread.execve-fails',
    group: 'kthread',
    contracts: ['C2'],
    title: 'a failed kernel_execve returns -ENOENT to the kthread, which never reaches user mode',
    kfns: {
      *tryExec(k: Kernel): CGen {
        const r = k.kernelExecve('/no/such/file');
        (k as unknown as { execResult: bigint }).execResult = r;
        yield* k.doExit(1 << 8);
        return 0n;
      },
    },
    init: { fn: 'tryExec' },
    check(env) {
      const r = (env.k as unknown as { execResult?: bigint }).execResult;
      env.observed.ret = r === undefined ? undefined : Number(r);
      expect(r === -env.abi.errno.ENOENT, 'C2', `kernel_execve of a missing file returned ${hex(r)}, expected -ENOENT`);
      expect(!userRan(env, 1), 'C2', 'the kthread reached user mode after a failed exec');
    },
  },
  {
    id: 'fork.child-returns-zero',
    group: 'fork',
    contracts: ['C3'],
    title: 'fork: the child sees 0, the parent the child pid',
    programs: (d) => ({
      '/init': prog('/init', [
        forkOp(d),
        ...storeResult(d, 'r'),
        ...forkSplit(),
      ]),
    }),
    check(env) {
      const parent = pidOf(env);
      const kids = env.k.tasks.filter((t) => t.parent?.pid === parent).map((t) => t.pid);
      expect(kids.length === 1, 'C3', `fork made ${kids.length} children`);
      const child = childOf(env, parent, 'C3');
      const pr = result(env, parent, 'r');
      const cr = result(env, child, 'r');
      env.observed.ret = { parent: Number(pr), child: Number(cr) };
      expect(pr === BigInt(child), 'C3', `parent got ${hex(pr)} from fork, child pid is ${child}`);
      expect(cr === 0n, 'C3', `the child got ${hex(cr)} from fork, expected 0`);
      expect(env.k.trace.includes(`${child}:schedule_tail`), 'C3', 'the child did not start in ret_from_fork/schedule_tail');
    },
  },
  {
    id: 'fork.callee-saved-copied',
    group: 'fork',
    contracts: ['C3'],
    title: 'fork: parent and child see identical registers apart from the return value',
    programs: (d) => ({
      '/init': prog('/init', [
        { op: 'fillRegs', seed: 0x1100n },
        forkOp(d),
        { op: 'storeRegs', prefix: 'after' },
        ...forkSplit(),
      ]),
    }),
    check(env) {
      const d = env.d;
      const parent = pidOf(env);
      const child = childOf(env, parent, 'C3');
      const skip = new Set([d.syscall.ret, d.syscall.nr, ...d.syscall.args.slice(0, 5), ...d.syscall.clobbers, ...(d.syscall.error.convention === 'flag' ? [d.syscall.error.flag] : [])]);
      const regs = comparableRegs(d);
      const diffs: string[] = [];
      regs.forEach((r, i) => {
        const p = slot(env, parent, `after.${r}`);
        const c = slot(env, child, `after.${r}`);
        if (p !== c) diffs.push(`${r}: parent ${hex(p)} child ${hex(c)}`);
        else if (!skip.has(r) && p !== BigInt.asIntN(d.wordSize * 8, fillValue(0x1100n, i))) diffs.push(`${r}: ${hex(p)} after fork, ${hex(fillValue(0x1100n, i))} before`);
      });
      const retDiff = diffs.filter((x) => x.startsWith(`${d.syscall.ret}:`));
      const others = diffs.filter((x) => !x.startsWith(`${d.syscall.ret}:`));
      env.observed.registersCompared = regs.length;
      env.observed.registersDiffering = diffs.filter((x) => x.includes(' parent ')).map((x) => x.split(':')[0]);
      env.observed.registersChanged = diffs.filter((x) => x.includes(' after fork')).map((x) => x.split(':')[0]);
      expect(others.length === 0, 'C3', `registers differ: ${others.join('; ')}`);
      expect(retDiff.length === 1, 'C3', 'parent and child returned the same value');
    },
  },
  {
    id: 'fork.clone-newsp-tls',
    group: 'fork',
    contracts: ['C3'],
    title: 'clone(CLONE_VM|CLONE_SETTLS, newsp, tls): the child runs on the new stack with the new thread pointer',
    unsupported: (d) =>
      d.registers.tls
        ? undefined
        : "arch.json names no thread-pointer register (registers.tls): this arch's CLONE_SETTLS argument is not a value a register takes (i386: a struct user_desc for a GDT entry, loaded into %gs by the child), so the scenario's check of a new thread pointer does not apply",
    programs: (d) => {
      const args = cloneArgs(d, 0x100 | 0x80000 | sig(d, 'SIGCHLD'), { data: 'cstack_top' }, 0x7e57_0000n);
      return {
        '/init': prog(
          '/init',
          [
            { op: 'syscall', name: 'clone', args },
            ...forkSplit([...storeResult(d, 'r')], [store(d.registers.sp, 'csp')]),
          ],
          { cstack: new Array<bigint>(64).fill(0n), cstack_top: [0n] },
        ),
      };
    },
    setup(env) {
      env.k.onSyscall = (name, t) => {
        // the user's thread pointer at the child's syscall entry: saved in pt_regs where the
        // kernel uses the register itself (riscv tp), else still live (x86 fs_base, arm64 tpidr_el0)
        if (name !== 'exit' || t.pid === 1) return;
        const tls = env.d.registers.tls!;
        const regs = env.k.currentPtRegs();
        env.state.childTls = regs.has(tls) ? regs.get(tls) : env.k.m.reg(tls);
      };
    },
    check(env) {
      const parent = pidOf(env);
      const child = childOf(env, parent, 'C3');
      const exitEntry = entries(env, 'exit', child)[0];
      expect(exitEntry, 'C3', 'the child never ran');
      // a biased stack pointer (SPARC V9) holds the stack top minus the bias
      const want = env.images['/init']!.data.get('cstack_top')! - BigInt(env.d.callingConvention.stackBias ?? 0);
      const csp = slot(env, child, 'csp');
      env.observed.childSp = hex(csp);
      env.observed.childSpIsNewsp = csp === BigInt.asIntN(env.d.wordSize * 8, want);
      env.observed.ret = Number(result(env, parent, 'r'));
      expect(csp === BigInt.asIntN(env.d.wordSize * 8, want), 'C3', `child sp ${hex(csp)}, clone asked for ${hex(want)}`);
      const tls = env.state.childTls as bigint | undefined;
      env.observed.childTls = hex(tls);
      expect(tls === 0x7e57_0000n, 'C3', `child ${env.d.registers.tls} = ${hex(tls)}, clone asked for 0x7e570000`);
      expect(result(env, parent, 'r') === BigInt(child), 'C3', `parent got ${hex(result(env, parent, 'r'))}`);
    },
  },
  {
    id: 'fork.vfork',
    group: 'fork',
    contracts: ['C3'],
    title: 'vfork: the child borrows the parent\'s memory; the parent sleeps until the child exits',
    programs: (d) => ({
      '/init': prog('/init', [
        set('callee0', 0),
        store('callee0', 'shared'),
        vforkOp(d),
        ...storeResult(d, 'r'),
        ...forkSplit([{ op: 'load', reg: 'callee0', slot: 'shared' }, store('callee0', 'seen')], [set('callee0', 0x5eed), store('callee0', 'shared')]),
      ]),
    }),
    check(env) {
      const parent = pidOf(env);
      const child = childOf(env, parent, 'C3');
      const seen = slot(env, parent, 'seen');
      env.observed.seen = hex(seen);
      expect(result(env, parent, 'r') === BigInt(child), 'C3', `parent got ${hex(result(env, parent, 'r'))} from vfork`);
      expect(seen === 0x5eedn, 'C3', `after vfork the parent read ${hex(seen)}, the child wrote 0x5eed into the shared memory`);
      const tr = env.k.trace;
      const childExit = tr.indexOf(`${child}:exit 0`);
      const parentNext = tr.findIndex((l, i) => i > tr.indexOf(`${parent}:fork ${child}`) && l === `${parent}:sys_wait4`);
      env.observed.parentWaitedForChild = childExit >= 0 && parentNext > childExit;
      env.observed.ret = Number(result(env, parent, 'r'));
      expect(childExit >= 0 && parentNext > childExit, 'C3', 'the parent ran again before the vfork child exited');
    },
  },
  {
    id: 'fork.idle-zero-regs',
    group: 'fork',
    contracts: ['C3'],
    title: 'fork_idle: copy_thread() of a kernel thread (fn = idle_dummy) leaves zeroed pt_regs; the idle task is never woken in ret_from_fork',
    programs: simpleInit,
    setup(env) {
      const idle = env.k.forkIdle();
      env.state.idle = idle.pid;
      env.state.idleRegs = env.k.taskPtRegs(idle).snapshot();
    },
    check(env) {
      const pid = env.state.idle as number;
      const regs = env.state.idleRegs as Record<string, bigint>;
      // copy_thread() wrote every field (the kit hands it pt_regs full of 0xa5), with zero in
      // every general register; status words may hold the arch's kthread value (arm64
      // pstate = EL1h|IL, riscv status = SPP|SPIE)
      const d = env.d;
      const poison = (f: { size: number }) => BigInt('0x' + 'a5'.repeat(f.size));
      const left = d.ptRegs.fields.filter((f) => regs[f.name] === poison(f)).map((f) => f.name);
      expect(left.length === 0, 'C3', `copy_thread() left pt_regs fields undefined (still the garbage the kit put there): ${left.join(', ')}`);
      // s390 (arch.json kthread.frame "ptRegs") leaves fn and its argument in pt_regs: gprs[9] = idle_dummy, gprs[10] = 0
      const fnInRegs = d.kthread.frame === 'ptRegs';
      const fnField = d.ptRegs.fields.find((f) => f.reg === d.kthread.fn);
      if (fnInRegs) expect(fnField && regs[fnField.name] === env.k.sym('idle_dummy'), 'C3', `copy_thread() left ${d.kthread.fn} = ${hex(fnField && regs[fnField.name])} in pt_regs, not fn (idle_dummy)`);
      const gprs = d.ptRegs.fields.filter((f) => f.reg !== undefined && d.registers.user.includes(f.reg) && f.reg !== d.registers.pc && !(fnInRegs && f.reg === d.kthread.fn));
      const nonzero = gprs.filter((f) => regs[f.name] !== 0n).map((f) => `${f.name}=${hex(regs[f.name])}`);
      env.observed.fieldsChecked = d.ptRegs.fields.length;
      expect(nonzero.length === 0, 'C3', `fork_idle left non-zero registers in pt_regs: ${nonzero.join(', ')}`);
      expect(!env.k.trace.includes(`${pid}:schedule_tail`), 'C3', 'the idle task was woken in ret_from_fork');
      expect(result(env, pidOf(env), 'pid') === BigInt(pidOf(env)), 'C3', 'the system did not run normally beside the extra idle task');
    },
  },
  {
    id: 'execve.from-user',
    group: 'execve',
    contracts: ['C2', 'C3'],
    title: 'execve from user mode: the new image starts with fresh registers; the old one never resumes',
    programs: (d) => ({
      '/init': prog(
        '/init',
        [{ op: 'fillRegs', seed: 0x2200n }, sys('execve', { data: 'path' }, 0, 0), set('callee0', 1), store('callee0', 'bad'), ...exit(1)],
        { path: strWords('/bin/next', d) },
      ),
      '/bin/next': prog('/bin/next', [store('ret', 'ret0'), store(d.registers.sp, 'sp0'), { op: 'storeRegs', prefix: 'start' }, ...exit(0)]),
    }),
    check(env) {
      const pid = pidOf(env);
      expect(pidOf(env, '/bin/next') === pid, 'C3', 'the exec\'d image runs in another task');
      const t = env.k.task(pid)!;
      expect(t.exitCode === 0, 'C3', `exit code ${t.exitCode >> 8}: the old image resumed after a successful execve`);
      const ret0 = slot(env, pid, 'ret0', '/bin/next');
      env.observed.ret = ret0 === undefined ? undefined : Number(ret0);
      expect(ret0 === 0n, 'C3', `return register at the new entry is ${hex(ret0)}`);
      const sp0 = slot(env, pid, 'sp0', '/bin/next');
      const spWant = env.d.memory.user + USER_STACK_TOP - BigInt(env.d.abi.execSpOffset ?? 0);
      expect(sp0 === BigInt.asIntN(env.d.wordSize * 8, spWant), 'C3', `new sp ${hex(sp0)}, expected ${hex(spWant)}`);
      // x86 (ELF_PLAT_INIT) and arm64 (start_thread_common) clear the general registers;
      // riscv's start_thread sets only status, epc and sp: the new image sees the old values
      // (what the execve call itself loaded is left out: its number and three arguments)
      const skip = new Set([env.d.syscall.ret, env.d.syscall.nr, env.d.registers.sp, ...env.d.syscall.args.slice(0, 3)]);
      const keeps = env.d.abi.execKeepsRegisters === true;
      const regs = comparableRegs(env.d).filter((r) => !skip.has(r));
      const kept = regs.filter((r) => slot(env, pid, `start.${r}`, '/bin/next') === fillValue(0x2200n, comparableRegs(env.d).indexOf(r)));
      env.observed.registersKept = kept.length;
      env.observed.staleRegs = keeps ? [] : kept;
      env.observed.regsAtEntry = Object.fromEntries(
        [env.d.syscall.ret, ...comparableRegs(env.d).filter((r) => r !== env.d.syscall.ret)].map((r) => [r, hex(slot(env, pid, r === env.d.syscall.ret ? 'ret0' : `start.${r}`, '/bin/next'))]),
      );
      env.observed.exitCode = t.exitCode >> 8;
      if (keeps) {
        // s390's ELF_PLAT_INIT zeroes r14 (the atexit pointer) and keeps the rest
        const clears = new Set(env.d.abi.execClearsRegisters ?? []);
        const lost = regs.filter((r) => !clears.has(r) && !kept.includes(r));
        expect(lost.length === 0, 'C3', `this kernel keeps the registers across execve, but ${lost.join(', ')} changed`);
        const notZero = regs.filter((r) => clears.has(r) && slot(env, pid, `start.${r}`, '/bin/next') !== 0n);
        expect(notZero.length === 0, 'C3', `this kernel zeroes ${[...clears].join(', ')} at execve, but ${notZero.map((r) => `${r}=${hex(slot(env, pid, `start.${r}`, '/bin/next'))}`).join(', ')}`);
      }
      else expect(kept.length === 0, 'C3', `registers kept their pre-exec values: ${kept.join(', ')}`);
    },
  },
  {
    id: 'regs.current-pt-regs',
    group: 'regs',
    contracts: ['C4'],
    title: 'in a syscall, C runs on the task stack below current_pt_regs(), which holds the user registers (the entry glue handing C any other frame fails every C entry)',
    programs: () => ({ '/init': prog('/init', [{ op: 'fillRegs', seed: 0x3300n }, sys('sched_yield'), ...exit(0)]) }),
    setup(env) {
      env.k.onSyscall = (name) => {
        if (name !== 'sched_yield') return;
        const k = env.k;
        const regs = k.currentPtRegs();
        env.state.base = regs.base;
        env.state.stackBase = k.current().stackBase;
        // the stack the entry glue runs C on: the task's own, below pt_regs
        env.state.sp = k.m.reg(k.desc.registers.sp);
        // a register pt_regs has no slot for (alpha/m68k: the callee-saved ones of switch_stack,
        // saved only around fork, signals and ptrace stops) is still live in the CPU here
        // a register the entry leaves out of pt_regs (MIPS SAVE_SOME) is still live here
        const unsaved = new Set(env.d.syscall.unsavedRegs ?? []);
        env.state.snap = Object.fromEntries(comparableRegs(env.d).map((r) => [r, regs.has(r) && !unsaved.has(r) ? regs.get(r) : k.m.reg(r)]));
      };
    },
    check(env) {
      expect(env.state.base !== undefined, 'C4', 'sched_yield never ran');
      const sp = env.state.sp as bigint;
      env.observed.cSpBelowPtRegs = sp > (env.state.stackBase as bigint) && sp <= (env.state.base as bigint);
      expect(env.observed.cSpBelowPtRegs, 'C4', `the syscall's C ran with sp ${hex(sp)}, not on the task's stack below current_pt_regs() ${hex(env.state.base as bigint)}`);
      const d = env.d;
      const skip = new Set([d.syscall.nr, d.syscall.ret, ...d.syscall.clobbers]);
      const snap = env.state.snap as Record<string, bigint>;
      const bad = comparableRegs(d).flatMap((r, i) => (skip.has(r) || snap[r] === fillValue(0x3300n, i) ? [] : [`${r}=${hex(snap[r])} (user had ${hex(fillValue(0x3300n, i))})`]));
      env.observed.registersChecked = comparableRegs(d).length - skip.size;
      expect(bad.length === 0, 'C4', `pt_regs do not hold the user registers: ${bad.join(', ')}`);
    },
  },
];
