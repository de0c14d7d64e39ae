// What is only arm's: the CPU model on Unicorn 2.0.1 (privilege and banking through CPSR
// writes, the svc and undefined-instruction entries, high vectors, the run going on after an
// undefined instruction), the state the hardware entry leaves for vector_swi and __und_usr,
// 6.18's do_work_pending() getting the flags shifted left by 16, the in-kernel restart's
// abi_syscall, the signal frames (rt and non-rt, sigpage fallback, valid_user_regs) and the
// TLS registers (TPIDRURO as current in the kernel, set_tls, TPIDRURW per task).

import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '@archkit/generic-core/testing/contract-suite';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { Kernel } from '@archkit/generic-core/kernel/kernel';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { USER_RESULTS } from '@archkit/generic-core/kernel/layout';
import type { CGen, KernelApi, UserImage } from '@archkit/generic-core/kernel/types';
import type { Op, UserProgram, Val } from '@archkit/generic-core/user/compile';
import { createPort } from '../src/index.ts';
import { cpu, HIGH_VECTORS, INSN, MODE, MODE_MASK, PSR_I_BIT, SCTLR_V, STUBS_PAGE } from '../src/cpu.ts';
import { RT_SIGFRAME, SC, SIGFRAME, UC, VFP_MAGIC, VFP_STORAGE_SIZE } from '../src/signal.ts';

const sys = (name: string, ...args: Val[]): Op => ({ op: 'syscall', name, args });
const store = (reg: string, slot: string): Op => ({ op: 'store', reg, slot });
const label = (name: string): Op => ({ op: 'label', name });
const set = (reg: string, value: Val): Op => ({ op: 'set', reg, value });
const prog = (ops: Op[], data?: UserProgram['data']): Record<string, UserProgram> => ({ '/init': { name: '/init', ops: [label('_start'), ...ops], data } });

let h: Harness;
beforeAll(async () => {
  h = await harness(createPort);
});

const abi = () => makeAbi(4, h.port.descriptor.abi);

/** struct sigaction {handler, flags, restorer, mask} (arm: __ARCH_HAS_SA_RESTORER). */
function sigaction(handler: string, flags: bigint, restorer?: string): NonNullable<UserProgram['data']>[string] {
  return {
    size: 20,
    build(resolve) {
      const b = Buffer.alloc(20);
      b.writeUInt32LE(Number(resolve(handler)), 0);
      b.writeUInt32LE(Number(flags), 4);
      if (restorer) b.writeUInt32LE(Number(resolve(restorer)), 8);
      return b;
    },
  };
}

/** A program from raw ARM assembly (for what the user-program ops cannot say: cp15 TLS registers). */
function rawImage(text: string): UserImage {
  const base = h.port.descriptor.memory.user;
  const res = h.asm.assemble({ file: 'arm.test raw program', text: `\t.syntax unified\n\t.arm\n${text}` }, { base });
  return { base, entry: res.symbols.get('_start')!, bytes: res.bytes, symbols: res.symbols, slots: new Map(), regSets: new Map(), data: new Map(), dataInit: [], source: text };
}

/** Boots a kernel with raw images; pid 1 execs /init. */
function runRaw(imgs: Record<string, UserImage>, setup?: (k: Kernel) => void): Kernel {
  const m = createUnicornMachine(h.port.cpu.unicorn);
  const k = new Kernel({
    port: h.port,
    machine: m,
    assembler: h.asm,
    programs: imgs,
    kfns: {
      *kernel_init(kk: KernelApi): CGen {
        if (kk.kernelExecve('/init') !== 0n) yield* kk.doExit(127 << 8);
        return 0n;
      },
    },
  });
  try {
    k.boot();
    setup?.(k);
    k.kernelThread('kernel_init', 0n).next();
    k.run(200_000);
  } finally {
    m.close();
  }
  return k;
}

/** The i-th 8-byte results slot of task pid (the word in its low half). */
const result = (k: Kernel, pid: number, i: number) => k.results.get(pid)?.get(BigInt(i));

describe('CPU model on Unicorn 2.0.1', () => {
  it('a CPSR write switches mode, banks sp/lr/spsr and moves the privilege level; SYS reaches the USR bank', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      expect(m.reg('midr')).toBe(0x412fc0f1n); // Cortex-A15
      expect(m.reg('cpsr') & MODE_MASK).toBe(MODE.SVC);
      expect(cpu.privilege(m)).toBe(1);
      m.setReg('sp', 0x1110n);
      m.setReg('spsr', 0x1d3n);
      cpu.setPrivilege(m, 0);
      expect(cpu.privilege(m)).toBe(0);
      expect(m.reg('sp')).toBe(0n); // the USR bank
      m.setReg('sp', 0x2220n);
      cpu.setPrivilege(m, 1);
      expect([m.reg('sp'), m.reg('spsr')]).toEqual([0x1110n, 0x1d3n]);
      expect([m.reg('sp_usr'), m.reg('cpsr') & MODE_MASK]).toEqual([0x2220n, MODE.SVC]);
    } finally {
      m.close();
    }
  });

  it('an undefined instruction in USR mode reaches hookInvalidInsn with pc at it, and the run goes on where the hook says', () => {
    const m = createUnicornMachine(cpu.unicorn);
    try {
      m.map(0n, 0x4000);
      const put = (a: bigint, w: number[]) => m.write(a, Uint8Array.from(Buffer.concat(w.map((x) => Buffer.from(Uint32Array.of(x >>> 0).buffer)))));
      put(0x1000n, [INSN.mrcSctlr, INSN.nop]);
      put(0x2000n, [0xe3a01005, 0xeafffffe]); // mov r1, #5; b .
      cpu.setPrivilege(m, 0);
      const seen: bigint[] = [];
      m.hookInvalidInsn(() => {
        seen.push(m.reg('pc'));
        cpu.setPrivilege(m, 1);
        return 0x2000n;
      });
      const r = m.run(0x1000n, { instructions: 100 }, 0x2004n);
      expect(seen).toEqual([0x1000n]);
      expect([r.reason, m.reg('r1'), r.instructions]).toEqual(['until', 5n, 2]);
    } finally {
      m.close();
    }
  });
});

describe('exception entry', () => {
  it('svc: vector_swi runs in SVC mode with IRQs masked, SPSR the user CPSR, LR past the svc, through the high vectors page', () => {
    let at: Record<string, bigint> | undefined;
    const r = h.run(prog([sys('getpid'), sys('exit', 0)]), {
      setup(k) {
        k.m.hookCode(k.sym('vector_swi'), k.sym('vector_swi'), () => {
          at ??= { cpsr: k.m.reg('cpsr'), spsr: k.m.reg('spsr'), lr: k.m.reg('lr'), sctlr: k.m.reg('sctlr') };
        });
      },
    });
    expect(at).toBeDefined();
    expect(at!.cpsr & MODE_MASK).toBe(MODE.SVC);
    expect(at!.cpsr & PSR_I_BIT).toBe(PSR_I_BIT);
    expect(at!.spsr & MODE_MASK).toBe(MODE.USR);
    expect(Number(r.k.readWord(at!.lr - 4n))).toBe(INSN.svc0);
    expect(at!.sctlr & SCTLR_V).toBe(SCTLR_V);
    // early_trap_init's copies
    const k = r.k;
    const vs = k.sym('__vectors_start');
    expect(k.m.read(HIGH_VECTORS, 32)).toEqual(k.m.read(vs, 32));
    expect(k.m.readUint(STUBS_PAGE, 4)).toBe(k.sym('vector_swi'));
  });

  it('undefined instruction: vector_stub hands __und_usr {r0, lr_und = insn + 4, spsr = USR}; the frame pc is the insn; SIGILL with trap_no 6', () => {
    const usr1 = abi().sig.SIGILL;
    let modeStack: bigint[] = [];
    let frame: { trap: bigint; err: bigint } | undefined;
    let framePc: bigint | undefined;
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', usr1, { data: 'sa' }, 0, 8),
          label('bad'),
          { op: 'privileged' },
          label('after'),
          sys('exit', 0),
          label('handler'),
          { op: 'ctxStore', reg: 'pc', value: { label: 'after' } },
          { op: 'ret' },
          label('restorer'),
          sys('rt_sigreturn'),
        ],
        { sa: sigaction('handler', abi().sa.SA_SIGINFO | abi().sa.SA_RESTORER, 'restorer') },
      ),
      {
        setup(k) {
          k.m.hookCode(k.sym('__und_usr'), k.sym('__und_usr'), () => {
            const r0 = k.m.reg('r0');
            modeStack = [0n, 4n, 8n].map((o) => k.readWord(r0 + o));
          });
          k.m.hookCode(k.desc.memory.user, k.desc.memory.user + 0x2000n, (a) => {
            if (a === k.programs['/init']!.symbols.get('handler')) framePc = k.readWord(k.m.reg('r2') + UC.mcontext + SC.pc);
          });
          k.onSyscall = (name) => {
            if (name !== 'rt_sigreturn') return;
            const mc = k.currentPtRegs().sp + RT_SIGFRAME.sig + UC.mcontext;
            frame = { trap: k.readWord(mc + SC.trap_no), err: k.readWord(mc + SC.error_code) };
          };
        },
      },
    );
    const bad = r.imgs['/init']!.symbols.get('bad')!;
    expect(modeStack[1]).toBe(bad + 4n);
    expect(modeStack[2]! & MODE_MASK).toBe(MODE.USR);
    expect(framePc).toBe(bad);
    expect(r.k.trace).toContain(`1:fault sig${usr1}`);
    expect(frame).toEqual({ trap: 6n, err: 0n });
    expect(r.k.task(1)!.exitCode).toBe(0);
  });
});

describe('the return to user mode (6.18 entry-common.S)', () => {
  it('do_work_pending() gets the thread flags shifted left by 16 (movs r1, r1, lsl #16), so its first pass runs resume_user_mode_work', () => {
    const s = abi().sa;
    const r = h.run(
      prog(
        [sys('rt_sigaction', abi().sig.SIGUSR1, { data: 'sa' }, 0, 8), sys('kill', 1, abi().sig.SIGUSR1), sys('exit', 0), label('h'), { op: 'ret' }, label('restorer'), sys('rt_sigreturn')],
        { sa: sigaction('h', s.SA_SIGINFO | s.SA_RESTORER, 'restorer') },
      ),
    );
    const t = r.k.trace;
    const i = t.indexOf('1:do_work_pending 0x10000'); // _TIF_SIGPENDING << 16
    expect(i).toBeGreaterThan(0);
    expect(t[i + 1]).toBe('1:resume_user_mode_work');
    expect(t[i + 2]).toBe(`1:handler ${abi().sig.SIGUSR1}`);
  });

  it('a handler-less ERESTART_RESTARTBLOCK restart stores __NR_restart_syscall in thread_info.abi_syscall (what a tracer sees); user r7 keeps nanosleep', () => {
    const d = h.port.descriptor;
    let nrs: bigint[] = [];
    h.run(prog([sys('nanosleep', { data: 'ts' }, { data: 'rem' }), store('r7', 'nr'), sys('exit', 0)], { ts: [5n, 0n], rem: [0n, 0n] }), {
      setup(k) {
        k.world.events.push(
          (kk) => kk.sendSignal(kk.task(1)!, abi().sig.SIGSTOP),
          (kk) => kk.sendSignal(kk.task(1)!, abi().sig.SIGCONT),
          (kk) => {
            kk.clock += 10_000_000_000n;
            for (const t of kk.tasks) kk.wakeUp(t);
          },
        );
        k.onSyscall = (name) => {
          if (name === 'restart_syscall') nrs = [k.syscallGetNr(k.currentPtRegs()), k.currentPtRegs().get('r7')];
        };
      },
    });
    expect(nrs).toEqual([BigInt(d.syscall.numbers['restart_syscall']!), BigInt(d.syscall.numbers['nanosleep']!)]);
  });
});

describe('signal frames (arch/arm/kernel/signal.c)', () => {
  it('rt frame: siginfo, ucontext with sigcontext, VFP record and end_magic; r1/r2 point at them; lr is sa_restorer', () => {
    const s = abi().sa;
    let at: Record<string, bigint> | undefined;
    const r = h.run(
      prog(
        [sys('rt_sigaction', abi().sig.SIGUSR1, { data: 'sa' }, 0, 8), set('r4', 0x4444), sys('kill', 1, abi().sig.SIGUSR1), sys('exit', 0), label('h'), { op: 'ret' }, label('restorer'), sys('rt_sigreturn')],
        { sa: sigaction('h', s.SA_SIGINFO | s.SA_RESTORER, 'restorer') },
      ),
      {
        setup(k) {
          k.onSyscall = (name) => {
            if (name !== 'rt_sigreturn') return;
            const sp = k.currentPtRegs().sp;
            const uc = sp + RT_SIGFRAME.sig;
            at = {
              ...at,
              sp,
              signo: k.readWord(sp),
              flags: k.readWord(uc + UC.flags),
              ssFlags: k.readWord(uc + UC.stack + 4n),
              r4: k.readWord(uc + UC.mcontext + SC.r0 + 16n),
              cpsr: k.readWord(uc + UC.mcontext + SC.cpsr),
              vfp: k.readWord(uc + UC.regspace),
              vfpSize: k.readWord(uc + UC.regspace + 4n),
              end: k.readWord(uc + UC.regspace + VFP_STORAGE_SIZE),
            };
          };
          k.m.hookCode(k.desc.memory.user, k.desc.memory.user + 0x2000n, (a) => {
            if (a !== (k.programs['/init']!.symbols.get('h') ?? -1n)) return;
            at = { ...at, r0: k.m.reg('r0'), r1: k.m.reg('r1'), r2: k.m.reg('r2'), hsp: k.m.reg('sp'), lr: k.m.reg('lr') };
          });
        },
      },
    );
    const img = r.imgs['/init']!;
    expect(at!.r0).toBe(BigInt(abi().sig.SIGUSR1));
    expect(at!.r1).toBe(at!.hsp);
    expect(at!.r2).toBe(at!.hsp + RT_SIGFRAME.sig);
    expect(at!.hsp & 7n).toBe(0n);
    expect(at!.lr).toBe(img.symbols.get('restorer'));
    expect(at!.sp).toBe(at!.hsp);
    expect([at!.signo, at!.flags, at!.ssFlags, at!.r4, at!.cpsr & MODE_MASK]).toEqual([BigInt(abi().sig.SIGUSR1), 0n, 2n, 0x4444n, MODE.USR]);
    expect([at!.vfp, at!.vfpSize, at!.end]).toEqual([VFP_MAGIC, VFP_STORAGE_SIZE, 0n]);
    expect(r.k.task(1)!.exitCode).toBe(0);
  });

  it('without SA_RESTORER: lr into the sigpage (sigreturn_codes slot 3 for rt, 0 for a non-rt frame), the same two words in retcode; a non-rt frame goes back through sigreturn', () => {
    const s = abi().sa;
    const usr1 = abi().sig.SIGUSR1;
    const usr2 = abi().sig.SIGUSR2;
    const lrs: bigint[] = [];
    const frames: bigint[][] = [];
    const r = h.run(
      prog(
        [
          sys('rt_sigaction', usr1, { data: 'sa1' }, 0, 8),
          sys('rt_sigaction', usr2, { data: 'sa2' }, 0, 8),
          set('r5', 0x5555),
          sys('kill', 1, usr1),
          sys('kill', 1, usr2),
          store('r5', 'r5'),
          sys('exit', 0),
          label('h1'),
          { op: 'ret' },
          label('h2'),
          set('r5', 0xdead),
          { op: 'ret' },
        ],
        { sa1: sigaction('h1', s.SA_SIGINFO), sa2: sigaction('h2', 0n) },
      ),
      {
        setup(k) {
          k.onSyscall = (name) => {
            const sp = k.currentPtRegs().sp;
            if (name === 'rt_sigreturn') frames.push([k.readWord(sp + RT_SIGFRAME.sig + SIGFRAME.retcode), k.readWord(sp + RT_SIGFRAME.sig + SIGFRAME.retcode + 4n)]);
            if (name === 'sigreturn') frames.push([k.readWord(sp + SIGFRAME.retcode), k.readWord(sp + SIGFRAME.retcode + 4n), k.readWord(sp + UC.flags)]);
          };
          k.m.hookCode(k.desc.memory.user, k.desc.memory.user + 0x2000n, (a) => {
            const img = k.programs['/init']!;
            if (a === img.symbols.get('h1') || a === img.symbols.get('h2')) lrs.push(k.m.reg('lr'));
          });
        },
      },
    );
    const codes = r.k.sym('sigreturn_codes');
    expect(lrs).toEqual([codes + 12n, codes]);
    expect(frames).toEqual([
      [0xe3a070adn, 0xef9000adn], // mov r7, #173; svc #0x9000ad
      [0xe3a07077n, 0xef900077n, 0x5ac3c35an], // mov r7, #119; svc #0x900077; uc_flags
    ]);
    expect(r.k.syscalls.filter((x) => x.name === 'sigreturn')).toHaveLength(1);
    expect(r.slot(1, 'r5')).toBe(0x5555n); // restored by sigreturn
  });

  it('rt_sigreturn refuses a context that asks for a privileged mode (valid_user_regs): SIGSEGV', () => {
    const s = abi().sa;
    const r = h.run(
      prog(
        [sys('rt_sigaction', abi().sig.SIGUSR1, { data: 'sa' }, 0, 8), sys('kill', 1, abi().sig.SIGUSR1), sys('exit', 0), label('h'), { op: 'ctxStore', reg: 'cpsr', value: MODE.SVC }, { op: 'ret' }, label('restorer'), sys('rt_sigreturn')],
        { sa: sigaction('h', s.SA_SIGINFO | s.SA_RESTORER, 'restorer') },
      ),
    );
    expect(r.k.task(1)!.killedBy).toBe(abi().sig.SIGSEGV);
    expect(r.k.trace).toContain('1:sigreturn-bad-frame');
  });
});

describe('TLS registers', () => {
  it('set_tls (__ARM_NR_set_tls) reaches user mode in TPIDRURO, which holds current while in the kernel; TPIDRURW is per task across switches', () => {
    const results = h.port.descriptor.memory.user + USER_RESULTS;
    const img = rawImage(`
_start:
	movw	r0, #0x5678
	movt	r0, #0x1234
	movw	r7, #5
	movt	r7, #0xf		@ __ARM_NR_set_tls
	svc	#0
	movw	r0, #0xaaaa
	mcr	p15, 0, r0, c13, c0, 2	@ TPIDRURW
	mov	r7, #2			@ fork
	svc	#0
	cmp	r0, #0
	bne	1f
	movw	r0, #0xbbbb
	mcr	p15, 0, r0, c13, c0, 2	@ the child's TPIDRURW
1:	mov	r7, #158		@ sched_yield
	svc	#0
	mov	r7, #158
	svc	#0
	movw	ip, #:lower16:${results}
	movt	ip, #:upper16:${results}
	mrc	p15, 0, r0, c13, c0, 3
	str	r0, [ip]
	mrc	p15, 0, r0, c13, c0, 2
	str	r0, [ip, #8]
	mov	r0, #0
	mov	r7, #1			@ exit
	svc	#0
`);
    let inKernel: bigint[] = [];
    const k = runRaw({ '/init': img }, (kk) => {
      kk.onSyscall = (name, t) => {
        if (name === 'fork') inKernel = [kk.m.reg('tpidruro'), t.addr, kk.m.reg('tls')];
      };
    });
    expect(inKernel).toEqual([k.task(1)!.addr, k.task(1)!.addr, 0x12345678n]);
    expect([result(k, 1, 0), result(k, 1, 1)]).toEqual([0x12345678n, 0xaaaan]);
    expect([result(k, 2, 0), result(k, 2, 1)]).toEqual([0x12345678n, 0xbbbbn]);
  });
});
