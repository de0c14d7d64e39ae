// arch/sparc/kernel/signal_32.c (Linux 6.18): struct rt_signal_frame, setup_rt_frame,
// do_rt_sigreturn, and do_signal() with its restart decisions, which sparc makes itself
// (no arch_do_signal_or_restart: rtrap_32.S calls do_notify_resume(regs, orig_i0, flags)).
//
// struct rt_signal_frame (344 bytes, %sp = the frame): ss (struct sparc_stackf, 96: a copy
// of the interrupted window, the handler's own window save area), info (siginfo_t, 128),
// regs (struct pt_regs, 80), mask (sigset_t, 8), fpu_save, insns[2] (the sigreturn
// trampoline written when no restorer was given), stack (stack_t, 12), extra_size,
// rwin_save. The handler gets %o0 = sig, %o1 = &info, %o2 = &regs, and returns with
// `retl` to %o7 + 8: %o7 = the restorer (glibc passes its stub - 8) or the trampoline - 8.
//
// Restarts, as 6.18 has them: the candidate is a frame still marked PSR_SYSCALL whose
// carry is set (i0 holds the positive ERESTART* code); the original %o0 travels in pt_regs
// %g6 across get_signal(). With a handler, syscall_restart(): RESTARTBLOCK, NOHAND and SYS
// without SA_RESTART become EINTR, SYS with SA_RESTART and NOINTR rewind pc/npc by 4 with
// %o0 back. Without one, the NOHAND/SYS/NOINTR case rewinds by 4 and falls through into
// the RESTARTBLOCK case, which sets %g1 = __NR_restart_syscall and rewinds by 4 again: the
// instruction before `ta 0x10` runs again first (glibc's `mov NR, %g1` there replays the
// original call). 3.8 had two separate ifs and rewound by 4.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi, KSignal } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { frameField } from '@archkit/generic-core/kernel/layout';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, sigmask } from '@archkit/generic-core/kernel/abi';
import { forceSig, readSigset, recalcSigpending, writeSigset } from '@archkit/generic-core/kernel/signal';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import { PSR } from './cpu.ts';

/** struct rt_signal_frame (offsets by clang for sparc-linux-gnu, notes section 4.6). */
export const RT_FRAME = { ss: 0n, info: 96n, regs: 224n, mask: 304n, fpuSave: 312n, insns: 316n, stack: 324n, extraSize: 336n, rwinSave: 340n, size: 344n } as const;
/** struct reg_window32 */
export const REG_WINDOW_SIZE = 64n;
const SS_DISABLE = 2n;
/** mov __NR_rt_sigreturn, %g1; t 0x10 (setup_rt_frame's trampoline words) */
export const SIGRETURN_INSNS = [0x82102065n, 0x91d02010n] as const;
/** asm/ptrace.h UREG_* are pt_regs u_regs[]: g0..g7, then i0..i7 (the user's o0..o7). */
const UREGS = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7'];
/** The window buffer in the kit's layout: at the bottom of the kernel stack (entry.S KSTK_*). */
export const NSWINS = 8n;
export const KSTK = { regWindow: 0n, rwinSptrs: NSWINS * 64n, wSaved: NSWINS * 64n + NSWINS * 4n } as const;

/** struct pt_regs field offsets, from arch.json. */
function ptOffset(k: KernelApi, name: string): bigint {
  return BigInt(frameField(k.desc.ptRegs, name, `${k.desc.name}: arch.json ptRegs`).offset);
}

export const wSavedAddr = (k: KernelApi) => k.current().stackBase + KSTK.wSaved;

/** synchronize_user_stack() (windows.c): every user window out to the user stack, then the buffered ones. */
export function* synchronizeUserStack(k: KernelApi): Gen {
  yield* guestCall(k.sym(k.desc.symbols['flushUserWindows']!), []);
  const t = k.current();
  let w = Number(k.m.readUint(wSavedAddr(k), 4));
  for (let i = w - 1; i >= 0; i--) {
    const sp = k.m.readUint(t.stackBase + KSTK.rwinSptrs + BigInt(i * 4), 4);
    if (!k.accessOk(sp, REG_WINDOW_SIZE)) continue;
    k.m.write(sp, k.m.read(t.stackBase + KSTK.regWindow + BigInt(i) * REG_WINDOW_SIZE, Number(REG_WINDOW_SIZE)));
    // shift_window_buffer()
    for (let j = i; j < w - 1; j++) {
      k.m.write(t.stackBase + KSTK.regWindow + BigInt(j) * REG_WINDOW_SIZE, k.m.read(t.stackBase + KSTK.regWindow + BigInt(j + 1) * REG_WINDOW_SIZE, 64));
      k.m.writeUint(t.stackBase + KSTK.rwinSptrs + BigInt(j * 4), 4, k.m.readUint(t.stackBase + KSTK.rwinSptrs + BigInt((j + 1) * 4), 4));
    }
    w--;
    k.m.writeUint(wSavedAddr(k), 4, BigInt(w));
  }
}

/** syscall_restart(): a handler runs; the restart code in i0 decides. */
function syscallRestart(k: KernelApi, origI0: bigint, regs: PtRegs, saFlags: bigint): void {
  const i0 = regs.get('i0');
  const eintr = () => {
    regs.set('i0', k.abi.errno.EINTR);
    regs.set('psr', regs.get('psr') | PSR.C);
  };
  if (i0 === ERESTART_RESTARTBLOCK || i0 === ERESTARTNOHAND) eintr();
  else if (i0 === ERESTARTSYS && !(saFlags & k.abi.sa.SA_RESTART)) eintr();
  else if (i0 === ERESTARTSYS || i0 === ERESTARTNOINTR) {
    regs.set('i0', origI0);
    regs.pc = regs.pc - 4n;
    regs.set('npc', regs.get('npc') - 4n);
  }
}

/** do_signal(regs, orig_i0): deliver one signal, or restart a syscall no handler took. */
export function* doSignal(k: KernelApi, regs: PtRegs, origI0: bigint): Gen {
  const restartable = () => (regs.get('psr') & PSR.SYSCALL) !== 0n && (regs.get('psr') & PSR.C) !== 0n;
  // orig_i0 in the user's %g6 across get_signal(), where a debugger may change it
  if (restartable()) regs.set('g6', origI0);
  const ksig = yield* k.getSignal();
  let restart = false;
  if (restartable()) {
    restart = true;
    origI0 = regs.get('g6');
  }
  if (ksig) {
    if (restart) syscallRestart(k, origI0, regs, ksig.ka.flags);
    yield* synchronizeUserStack(k);
    k.handleSignal(ksig, regs);
    return;
  }
  if (restart) {
    const i0 = regs.get('i0');
    // switch (i0): the NOHAND/SYS/NOINTR case falls through into the RESTARTBLOCK one
    const replay = i0 === ERESTARTNOHAND || i0 === ERESTARTSYS || i0 === ERESTARTNOINTR;
    if (replay) {
      // back onto the trap with the caller's %o0 so it runs again on return
      regs.set('i0', origI0);
      regs.pc = regs.pc - 4n;
      regs.set('npc', regs.get('npc') - 4n);
      regs.set('psr', regs.get('psr') & ~PSR.SYSCALL);
      k.trace.push(`${k.current().pid}:restart-rewind`);
    }
    if (replay || i0 === ERESTART_RESTARTBLOCK) {
      regs.set('g1', BigInt(k.desc.syscall.numbers['restart_syscall']!));
      regs.pc = regs.pc - 4n;
      regs.set('npc', regs.get('npc') - 4n);
      regs.set('psr', regs.get('psr') & ~PSR.SYSCALL);
      k.trace.push(`${k.current().pid}:restart-rewind restart_syscall`);
    }
  }
}

/**
 * sys_rt_sigreturn's C half (do_rt_sigreturn): the user windows out, then every register
 * back from the frame at the user %sp. sparc32's does not cancel a pending restart block
 * (its do_sigreturn and the 64-bit do_rt_sigreturn set restart_block.fn =
 * do_no_restart_syscall; this one does not): restart_syscall afterwards still runs it.
 */
export function* do_rt_sigreturn_body(k: KernelApi): Gen<bigint> {
  const t = k.current();
  const regs = k.currentPtRegs();
  yield* synchronizeUserStack(k);
  const r = hooks.restore_rt_frame(k, regs);
  if (!r) {
    k.trace.push(`${t.pid}:sigreturn-bad-frame`);
    forceSig(k, k.abi.sig.SIGSEGV);
    return 0n;
  }
  t.blocked = r.blocked & ~(sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP));
  recalcSigpending(k, t);
  k.trace.push(`${t.pid}:sigreturn`);
  return regs.gets('i0');
}

/** invalid_frame_pointer(): 16-byte aligned and in user memory. */
const invalidFramePointer = (k: KernelApi, fp: bigint, len: bigint) => (fp & 15n) !== 0n || !k.accessOk(fp, len);

/**
 * sparc's own signal entry points, beside the generic hooks: do_signal(regs, orig_i0) for
 * do_notify_resume (entry.ts) and do_rt_sigreturn for the syscall (syscall.ts). Called
 * through the port object, so a mutant of this file is the one that runs.
 */
export type SparcSignalHooks = SignalHooks & {
  sparc_do_signal(k: KernelApi, regs: PtRegs, origI0: bigint): Gen;
  sparc_do_rt_sigreturn(k: KernelApi): Gen<bigint>;
};

export const sparcSignal = (k: KernelApi) => k.port.signal as unknown as SparcSignalHooks;

export const hooks: SparcSignalHooks = {
  sparc_do_signal: doSignal,
  sparc_do_rt_sigreturn: do_rt_sigreturn_body,

  setup_rt_frame(k: KernelApi, ksig: KSignal, regs) {
    // the caller flushed the user windows (synchronize_user_stack)
    const wsaved = k.m.readUint(wSavedAddr(k), 4);
    const sf = (regs.get('i6') - RT_FRAME.size) & ~15n;
    if (invalidFramePointer(k, sf, RT_FRAME.size)) return false;
    k.m.write(sf, new Uint8Array(Number(RT_FRAME.size)));
    const fr = sf + RT_FRAME.regs;
    k.m.writeUint(fr + ptOffset(k, 'pc'), 4, regs.pc);
    k.m.writeUint(fr + ptOffset(k, 'npc'), 4, regs.get('npc'));
    k.m.writeUint(fr + ptOffset(k, 'y'), 4, regs.get('y'));
    k.m.writeUint(fr + ptOffset(k, 'psr'), 4, regs.get('psr'));
    UREGS.forEach((r) => k.m.writeUint(fr + ptOffset(k, r), 4, regs.get(r)));
    k.m.writeUint(sf + RT_FRAME.extraSize, 4, 0n);
    k.m.writeUint(sf + RT_FRAME.fpuSave, 4, 0n); // no FPU state (PSR.EF never set)
    // windows parked in the buffer (a bad user stack) are not carried in this frame
    k.m.writeUint(sf + RT_FRAME.rwinSave, 4, 0n);
    writeSigset(k, sf + RT_FRAME.mask, ksig.oldset);
    // __save_altstack(): no alternate stack
    k.m.writeUint(sf + RT_FRAME.stack + 4n, 4, SS_DISABLE);
    // the interrupted window, from the user stack (or the buffer)
    const src = wsaved ? k.current().stackBase + KSTK.regWindow + (wsaved - 1n) * REG_WINDOW_SIZE : regs.get('i6');
    if (!wsaved && !k.accessOk(src, REG_WINDOW_SIZE)) return false;
    k.m.write(sf + RT_FRAME.ss, k.m.read(src, Number(REG_WINDOW_SIZE)));
    // copy_siginfo_to_user(): si_signo (si_code SI_USER = 0)
    k.m.writeUint(sf + RT_FRAME.info, 4, BigInt(ksig.sig));

    regs.set('i6', sf);
    regs.set('i0', BigInt(ksig.sig));
    regs.set('i1', sf + RT_FRAME.info);
    regs.set('i2', sf + RT_FRAME.regs);
    regs.pc = ksig.ka.handler;
    regs.set('npc', ksig.ka.handler + 4n);
    if (ksig.ka.restorer) regs.set('i7', ksig.ka.restorer);
    else {
      // mov __NR_rt_sigreturn, %g1; t 0x10 in the frame, and the handler returns there
      regs.set('i7', sf + RT_FRAME.insns - 8n);
      SIGRETURN_INSNS.forEach((w, i) => k.m.writeUint(sf + RT_FRAME.insns + BigInt(i * 4), 4, w));
    }
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    const sf = regs.get('i6');
    if (invalidFramePointer(k, sf, RT_FRAME.size)) return null;
    const fr = sf + RT_FRAME.regs;
    const ufp = k.m.readUint(fr + ptOffset(k, 'i6'), 4);
    if (ufp & 7n) return null;
    const pc = k.m.readUint(fr + ptOffset(k, 'pc'), 4);
    const npc = k.m.readUint(fr + ptOffset(k, 'npc'), 4);
    if ((pc | npc) & 3n) return null;
    regs.set('y', k.m.readUint(fr + ptOffset(k, 'y'), 4));
    const psr = k.m.readUint(fr + ptOffset(k, 'psr'), 4);
    UREGS.slice(1).forEach((r) => regs.set(r, k.m.readUint(fr + ptOffset(k, r), 4)));
    // only the condition codes come from the frame
    regs.set('psr', (regs.get('psr') & ~PSR.ICC) | (psr & PSR.ICC));
    // prevent syscall restart
    regs.set('psr', regs.get('psr') & ~PSR.SYSCALL);
    const blocked = readSigset(k, sf + RT_FRAME.mask);
    regs.pc = pc;
    regs.set('npc', npc);
    return { blocked };
  },

  ucontext_reg_offset(reg: string): number {
    // the handler's third argument is &frame->regs: a struct pt_regs
    const name = reg === 'sp' ? 'i6' : /^o\d$/.test(reg) ? `i${reg.slice(1)}` : reg;
    const off = PT_OFFSETS[name];
    if (off === undefined) throw new Error(`sparc: the signal frame's pt_regs has no slot for register "${reg}"`);
    return off;
  },
};

/** struct pt_regs (32-bit): psr, pc, npc, y, u_regs[16]. */
const PT_OFFSETS: Record<string, number> = { psr: 0, pc: 4, npc: 8, y: 12, ...Object.fromEntries(UREGS.map((r, i) => [r, 16 + 4 * i])) };
