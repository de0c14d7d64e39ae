// arch/sparc/kernel/signal_64.c (Linux 6.18): struct rt_signal_frame, setup_rt_frame,
// do_rt_sigreturn, and do_signal() with its restart decisions, which sparc makes itself
// (no arch_do_signal_or_restart: rtrap_64.S calls do_notify_resume(regs, orig_i0, flags)).
// The window buffer parts of arch/sparc/kernel/process_64.c (synchronize_user_stack,
// fault_in_user_windows) are here too.
//
// struct rt_signal_frame (528 bytes; the handler's %sp = the frame - STACK_BIAS): ss
// (struct sparc_stackf, 192: a copy of the interrupted window, the handler's own window
// save area), info (siginfo_t, 128), regs (struct pt_regs, 160), fpu_save, stack (stack_t,
// 24), mask (sigset_t, 8), rwin_save. The handler gets %o0 = sig, %o1 = &info and %o2 =
// &info too (glibc's sparc64 struct sigcontext is the 128-byte siginfo followed by the
// pt_regs); it returns with `retl` to %o7 + 8, %o7 = ka_restorer, the rt_sigaction
// argument (glibc passes its stub - 8), whatever that is: there is no trampoline fallback.
//
// Restarts, as 6.18 has them: the candidate is a frame still marked TSTATE_SYSCALL with
// the carry set (i0 holds the positive ERESTART* code); the original %o0 travels in pt_regs
// %g6 across get_signal(). With a handler, syscall_restart(): RESTARTBLOCK, NOHAND and SYS
// without SA_RESTART become EINTR, SYS with SA_RESTART and NOINTR rewind tpc/tnpc by 4 with
// %o0 back. Without one, the NOHAND/SYS/NOINTR case rewinds by 4 and falls through into the
// RESTARTBLOCK case, which sets %g1 = __NR_restart_syscall and rewinds by 4 again: the
// instruction before `ta 0x6d` runs again first (glibc's `mov NR, %g1` there replays the
// original call).

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi, KSignal } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { frameField } from '@archkit/generic-core/kernel/layout';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, sigmask } from '@archkit/generic-core/kernel/abi';
import { forceSig, readSigset, recalcSigpending, writeSigset } from '@archkit/generic-core/kernel/signal';
import { guestCall } from '@archkit/generic-core/kernel/bridge';
import { STACK_BIAS, TSTATE } from './cpu.ts';

/** struct rt_signal_frame (offsets by clang for sparc64-linux-gnu, notes section 4.6). */
export const RT_FRAME = { ss: 0n, info: 192n, regs: 320n, fpuSave: 480n, stack: 488n, mask: 512n, rwinSave: 520n, size: 528n } as const;
/** struct reg_window (64-bit) */
export const REG_WINDOW_SIZE = 128n;
const SS_DISABLE = 2n;
const SI_NOINFO = 32767n;
/** asm/ptrace.h UREG_* are pt_regs u_regs[]: g0..g7, then i0..i7 (the user's o0..o7). */
export const UREGS = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7'];
/** The window buffer in the kit's layout: at the bottom of the kernel stack (entry.S KSTK_*). */
export const NSWINS = 7n;
export const KSTK = { regWindow: 0n, rwinSptrs: NSWINS * REG_WINDOW_SIZE } as const;
/** thread_info's flags word: its byte fields (asm/thread_info_64.h TI_FLAG_BYTE_*) */
export const TI_BYTE = { faultCode: 0n, wstate: 1n, noerror: 2n, fpdepth: 3n, cwp: 4n, wsaved: 5n } as const;

/** struct pt_regs field offsets, from arch.json. */
export function ptOffset(k: KernelApi, name: string): bigint {
  return BigInt(frameField(k.desc.ptRegs, name, `${k.desc.name}: arch.json ptRegs`).offset);
}

/** A byte field of a task's thread_info flags word. */
export const tiByte = (k: KernelApi, addr: bigint, field: keyof typeof TI_BYTE) => addr + TI_BYTE[field];
export const wsaved = (k: KernelApi) => Number(k.m.readUint(tiByte(k, k.current().addr, 'wsaved'), 1));
export const setWsaved = (k: KernelApi, v: number) => k.m.writeUint(tiByte(k, k.current().addr, 'wsaved'), 1, BigInt(v));
const bufWindow = (k: KernelApi, i: number) => k.current().stackBase + KSTK.regWindow + BigInt(i) * REG_WINDOW_SIZE;
const bufSp = (k: KernelApi, i: number) => k.current().stackBase + KSTK.rwinSptrs + BigInt(i * 8);

/** copy_to_user() of a buffered window to the stack it belongs to: false when that is not user memory. */
function writeBackWindow(k: KernelApi, i: number): boolean {
  const sp = k.m.readUint(bufSp(k, i), 8) + STACK_BIAS;
  if (!k.accessOk(sp, REG_WINDOW_SIZE)) return false;
  k.m.write(sp, k.m.read(bufWindow(k, i), Number(REG_WINDOW_SIZE)));
  return true;
}

/** synchronize_user_stack(): every user window out to the user stack, then the buffered ones that can go. */
export function* synchronizeUserStack(k: KernelApi): Gen {
  yield* guestCall(k.sym(k.desc.symbols['flushUserWindows']!), []);
  for (let w = wsaved(k) - 1; w >= 0; w--) {
    if (!writeBackWindow(k, w)) continue;
    // shift_window_buffer()
    const last = wsaved(k) - 1;
    for (let j = w; j < last; j++) {
      k.m.write(bufWindow(k, j), k.m.read(bufWindow(k, j + 1), Number(REG_WINDOW_SIZE)));
      k.m.writeUint(bufSp(k, j), 8, k.m.readUint(bufSp(k, j + 1), 8));
    }
    setWsaved(k, wsaved(k) - 1);
  }
}

/**
 * fault_in_user_windows(regs): rtrap calls it while windows wait in the buffer. Every one
 * goes to its stack; one that cannot is the end of the task (SIGSEGV), an unaligned stack
 * pointer SIGBUS.
 */
export function* faultInUserWindows(k: KernelApi): Gen {
  yield* guestCall(k.sym(k.desc.symbols['flushUserWindows']!), []);
  const t = k.current();
  for (let w = wsaved(k) - 1; w >= 0; w--) {
    const sp = k.m.readUint(bufSp(k, w), 8) + STACK_BIAS;
    if (sp & 7n) forceSig(k, k.abi.sig.SIGBUS);
    if (!writeBackWindow(k, w)) {
      k.trace.push(`${t.pid}:bad user stack 0x${sp.toString(16)}`);
      setWsaved(k, w + 1);
      forceSig(k, k.abi.sig.SIGSEGV);
      return;
    }
  }
  setWsaved(k, 0);
}

/** syscall_restart(): a handler runs; the restart code in i0 decides. */
function syscallRestart(k: KernelApi, origI0: bigint, regs: PtRegs, saFlags: bigint): void {
  const i0 = regs.get('i0');
  const eintr = () => {
    regs.set('i0', k.abi.errno.EINTR);
    regs.set('tstate', regs.get('tstate') | TSTATE.ICARRY | TSTATE.XCARRY);
  };
  if (i0 === ERESTART_RESTARTBLOCK || i0 === ERESTARTNOHAND) eintr();
  else if (i0 === ERESTARTSYS && !(saFlags & k.abi.sa.SA_RESTART)) eintr();
  else if (i0 === ERESTARTSYS || i0 === ERESTARTNOINTR) {
    regs.set('i0', origI0);
    regs.pc = regs.pc - 4n;
    regs.set('tnpc', regs.get('tnpc') - 4n);
  }
}

/** do_signal(regs, orig_i0): deliver one signal, or restart a syscall no handler took. */
export function* doSignal(k: KernelApi, regs: PtRegs, origI0: bigint): Gen {
  const restartable = () => (regs.get('tstate') & TSTATE.SYSCALL) !== 0n && (regs.get('tstate') & (TSTATE.XCARRY | TSTATE.ICARRY)) !== 0n;
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
      regs.set('tnpc', regs.get('tnpc') - 4n);
      regs.set('tstate', regs.get('tstate') & ~TSTATE.SYSCALL);
      k.trace.push(`${k.current().pid}:restart-rewind`);
    }
    if (replay || i0 === ERESTART_RESTARTBLOCK) {
      regs.set('g1', BigInt(k.desc.syscall.numbers['restart_syscall']!));
      regs.pc = regs.pc - 4n;
      regs.set('tnpc', regs.get('tnpc') - 4n);
      regs.set('tstate', regs.get('tstate') & ~TSTATE.SYSCALL);
      k.trace.push(`${k.current().pid}:restart-rewind restart_syscall`);
    }
  }
}

/**
 * sys_rt_sigreturn's C half (do_rt_sigreturn): a restart_syscall still to come now fails
 * with -EINTR (restart_block.fn = do_no_restart_syscall), the user windows out, then
 * every register back from the frame at the user %sp.
 */
export function* do_rt_sigreturn_body(k: KernelApi): Gen<bigint> {
  const t = k.current();
  const regs = k.currentPtRegs();
  t.restartBlock = undefined;
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

/** invalid_frame_pointer(): 16-byte aligned (an inaccessible frame fails its copy_to_user/get_user). */
const invalidFramePointer = (k: KernelApi, fp: bigint, len: bigint) => (fp & 15n) !== 0n || !k.accessOk(fp, len);

/**
 * sparc's own signal entry points, beside the generic hooks: do_signal(regs, orig_i0) and
 * fault_in_user_windows(regs) for rtrap (entry.ts), do_rt_sigreturn for the syscall
 * (syscall.ts). Called through the port object, so a mutant of this file is the one that runs.
 */
export type SparcSignalHooks = SignalHooks & {
  sparc_do_signal(k: KernelApi, regs: PtRegs, origI0: bigint): Gen;
  sparc_do_rt_sigreturn(k: KernelApi): Gen<bigint>;
  sparc_fault_in_user_windows(k: KernelApi): Gen;
};

export const sparcSignal = (k: KernelApi) => k.port.signal as unknown as SparcSignalHooks;

export const hooks: SparcSignalHooks = {
  sparc_do_signal: doSignal,
  sparc_do_rt_sigreturn: do_rt_sigreturn_body,
  sparc_fault_in_user_windows: faultInUserWindows,

  setup_rt_frame(k: KernelApi, ksig: KSignal, regs) {
    // the caller flushed the user windows (synchronize_user_stack)
    const saved = wsaved(k);
    const sf = (regs.get('i6') + STACK_BIAS - RT_FRAME.size) & ~15n;
    if (invalidFramePointer(k, sf, RT_FRAME.size)) return false;
    k.m.write(sf, new Uint8Array(Number(RT_FRAME.size)));
    // the whole pt_regs
    k.m.write(sf + RT_FRAME.regs, k.m.read(regs.base, k.desc.ptRegs.size));
    k.m.writeUint(sf + RT_FRAME.fpuSave, 8, 0n); // no FPU state (PSTATE.PEF is off for user code)
    // windows parked in the buffer (a bad user stack) are not carried in this frame
    k.m.writeUint(sf + RT_FRAME.rwinSave, 8, 0n);
    // __save_altstack(): no alternate stack
    k.m.writeUint(sf + RT_FRAME.stack + 8n, 4, SS_DISABLE);
    writeSigset(k, sf + RT_FRAME.mask, ksig.oldset);
    // the interrupted window, from the user stack (or the buffer)
    const src = saved ? bufWindow(k, saved - 1) : regs.get('i6') + STACK_BIAS;
    if (!saved && !k.accessOk(src, REG_WINDOW_SIZE)) return false;
    k.m.write(sf + RT_FRAME.ss, k.m.read(src, Number(REG_WINDOW_SIZE)));
    // siginfo: si_signo, si_code (SI_USER = 0 with SA_SIGINFO; SI_NOINFO without)
    k.m.writeUint(sf + RT_FRAME.info, 4, BigInt(ksig.sig));
    if (!(ksig.ka.flags & k.abi.sa.SA_SIGINFO)) k.m.writeUint(sf + RT_FRAME.info + 8n, 4, SI_NOINFO);

    regs.set('i6', sf - STACK_BIAS);
    regs.set('i0', BigInt(ksig.sig));
    regs.set('i1', sf + RT_FRAME.info);
    regs.set('i2', sf + RT_FRAME.info);
    regs.pc = ksig.ka.handler;
    regs.set('tnpc', ksig.ka.handler + 4n);
    // return to kernel instructions: ka_restorer, even when it is 0
    regs.set('i7', ksig.ka.restorer);
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    const sf = regs.get('i6') + STACK_BIAS;
    if (invalidFramePointer(k, sf, RT_FRAME.size)) return null;
    const fr = sf + RT_FRAME.regs;
    const ufp = k.m.readUint(fr + ptOffset(k, 'i6'), 8);
    if ((ufp + STACK_BIAS) & 7n) return null;
    const tpc = k.m.readUint(fr + ptOffset(k, 'tpc'), 8);
    const tnpc = k.m.readUint(fr + ptOffset(k, 'tnpc'), 8);
    if ((tpc | tnpc) & 3n) return null;
    regs.set('y', k.m.readUint(fr + ptOffset(k, 'y'), 4));
    const tstate = k.m.readUint(fr + ptOffset(k, 'tstate'), 8);
    UREGS.forEach((r) => regs.set(r, k.m.readUint(fr + ptOffset(k, r), 8)));
    // the frame may set icc/xcc and %asi only; every privileged tstate bit stays the kernel's
    const user = TSTATE.ASI | TSTATE.ICC | TSTATE.XCC;
    regs.set('tstate', (regs.get('tstate') & ~user) | (tstate & user));
    const blocked = readSigset(k, sf + RT_FRAME.mask);
    regs.pc = tpc;
    regs.set('tnpc', tnpc);
    // the restored context is not a syscall in progress: no restart on the way out
    regs.set('tstate', regs.get('tstate') & ~TSTATE.SYSCALL);
    return { blocked };
  },

  ucontext_reg_offset(reg: string): number {
    // the handler's third argument is &frame->info: glibc's struct sigcontext, the siginfo
    // and then the pt_regs; %ccr is the byte of tstate bits 32-39 (big-endian: its fourth)
    const base = Number(RT_FRAME.regs - RT_FRAME.info);
    if (reg === 'ccr') return base + PT_OFFSETS['tstate']! + 3;
    const name = reg === 'sp' ? 'i6' : /^o\d$/.test(reg) ? `i${reg.slice(1)}` : reg === 'pc' ? 'tpc' : reg === 'npc' ? 'tnpc' : reg;
    const off = PT_OFFSETS[name];
    if (off === undefined) throw new Error(`sparc64: the signal frame's pt_regs has no slot for register "${reg}"`);
    return base + off;
  },
};

/** struct pt_regs (64-bit): u_regs[16], tstate, tpc, tnpc, y, magic. */
const PT_OFFSETS: Record<string, number> = { ...Object.fromEntries(UREGS.map((r, i) => [r, 8 * i])), tstate: 128, tpc: 136, tnpc: 144, y: 152 };
