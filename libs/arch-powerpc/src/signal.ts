// arch/powerpc/kernel/signal.c and signal_32.c (Linux 6.18): do_signal() with
// check_syscall_restart() after get_signal() (the port's arch_do_signal_or_restart, which
// do_notify_resume() in entry.ts calls), the 32-bit signal frames and their returns.
//
// The restart decision is powerpc's own: a syscall frame (trap 0xc00) whose restart has not
// been decided yet (trap bit 0, "norestart", clear) that returned an error (CR0.SO set, a
// positive ERESTART* in r3) is rewound by 4 bytes (r3 = orig_gpr3; restart_syscall in r0
// for ERESTART_RESTARTBLOCK) or turned into EINTR. do_signal() sets the norestart bit
// after every pass, and sigreturn after restoring a frame: that is powerpc's guard
// against a second rewind.
//
// Frames: with SA_SIGINFO handle_rt_signal32's struct rt_sigframe { siginfo; ucontext
// (uc_regs points at uc_mcontext); abigap }, the handler called with r3 = sig, r4 = &info,
// r5 = &uc, r6 = frame and LR = the vDSO's __kernel_sigtramp_rt32; without it
// handle_signal32's struct sigframe { sigcontext; mcontext; abigap } and
// __kernel_sigtramp32 (sys_sigreturn, 119). mc_gregs is a copy of pt_regs; the return
// takes everything back but the MSR (only its LE bit), so user mode cannot set privileged
// MSR bits. sa_restorer is never used by powerpc.

import type { SignalHooks, SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi, KSignal } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, sigmask } from '@archkit/generic-core/kernel/abi';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { MSR } from './cpu.ts';

// asm/ptrace.h: the trap word's low bits are flags (TRAP_FLAGS_MASK 0xf on 32-bit); bit 0 is "norestart"
const INTERRUPT_SYSCALL = 0xc00n;
const TRAP_FLAGS_MASK = 0xfn;
/** trap_is_syscall(regs): TRAP(regs) == 0xc00 (32-bit has no scv) */
export const trapIsSyscall = (regs: PtRegs) => (regs.get('trap') & ~TRAP_FLAGS_MASK) === INTERRUPT_SYSCALL;
export const trapNorestart = (regs: PtRegs) => (regs.get('trap') & 1n) !== 0n;
export const setTrapNorestart = (regs: PtRegs) => regs.set('trap', regs.get('trap') | 1n);

const SO = 0x10000000n;
/** __SIGNAL_FRAMESIZE (32-bit): the caller frame below a signal frame. */
const SIGNAL_FRAMESIZE = 64n;
const SIGINFO_SIZE = 128n;
/** ELF_NGREG (48 words): mc_gregs is a copy of pt_regs (GP_REGS_SIZE = 192). */
const NGREG = 48;
const PT_MSR = 33;
const PT_ORIG_R3 = 34;
/** struct mcontext: mc_gregs[48], mc_fregs[33] (doubles), mc_pad[2], mc_vregs (16-aligned). */
export const MC = { gregs: 0n, fregs: 192n, pad: 456n, vregs: 464n, size: 992n } as const;
/** struct ucontext (32-bit): uc_flags, uc_link, uc_stack, uc_pad[7], uc_regs, uc_sigmask, uc_maskext[30], uc_pad2[3], uc_mcontext. */
export const UC = { flags: 0n, link: 4n, stack: 8n, regs: 48n, sigmask: 52n, mcontext: 192n, size: 192n + 992n } as const;
/** struct rt_sigframe: info, uc, abigap[56]. */
export const RT_SIGFRAME = { info: 0n, uc: SIGINFO_SIZE, size: SIGINFO_SIZE + UC.size + 224n } as const;
/** struct sigcontext (32-bit): _unused[4], signal, handler, oldmask, regs. */
export const SC = { unused3: 12n, signal: 16n, handler: 20n, oldmask: 24n, regs: 28n, size: 32n } as const;
/** struct sigframe: sctx, mctx, abigap[56]. */
export const SIGFRAME = { sctx: 0n, mctx: SC.size, size: SC.size + MC.size + 224n } as const;
const SS_DISABLE = 2n;

/** pt_regs word index of a user register (mc_gregs[] index), by machine or pt_regs name. */
const GREG_INDEX: Record<string, number> = {
  ...Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`r${i}`, i])),
  ...Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`gpr${i}`, i])),
  sp: 1, pc: 32, nip: 32, msr: 33, orig_gpr3: 34, ctr: 35, lr: 36, link: 36, xer: 37, cr: 38, ccr: 38, mq: 39, trap: 40, dar: 41, dsisr: 42, result: 43,
};

// ------------------------------------------------------------------ frames

/** save_user_regs(): pt_regs into mc_gregs (MSR without VSX), no FP/AltiVec state (zeros: none is modelled). */
function saveUserRegs(k: KernelApi, regs: PtRegs, mctx: bigint): void {
  k.m.write(mctx, k.m.read(regs.base, NGREG * 4));
  k.writeWord(mctx + BigInt(PT_MSR * 4), regs.get('msr'));
}

/**
 * restore_user_regs(regs, sr, sig = 1): everything of mc_gregs but the MSR (words 0..32,
 * then orig_gpr3 to the end), the norestart mark, the LE bit of the saved MSR; FP state is
 * given back lazily (MSR_FP and the FP exception modes off). False: not in user memory.
 */
function restoreUserRegs(k: KernelApi, regs: PtRegs, sr: bigint): boolean {
  if (!k.accessOk(sr, MC.size)) return false;
  const g = k.m.read(sr, NGREG * 4);
  k.m.write(regs.base, g.subarray(0, PT_MSR * 4));
  k.m.write(regs.base + BigInt(PT_ORIG_R3 * 4), g.subarray(PT_ORIG_R3 * 4));
  setTrapNorestart(regs);
  const msr = k.readWord(sr + BigInt(PT_MSR * 4));
  const FE = 0x900n; // MSR_FE0 | MSR_FE1
  regs.set('msr', (((regs.get('msr') & ~MSR.LE) | (msr & MSR.LE)) & ~(MSR.FP | FE)));
  return true;
}

/** get_sigframe(): below the user r1 (no sigaltstack), 16-byte aligned. */
const getSigframe = (regs: PtRegs, size: bigint) => (BigInt.asUintN(32, regs.sp) - size) & ~0xfn;

/** handle_rt_signal32(): the SA_SIGINFO frame. */
function handleRtSignal32(k: KernelApi, ksig: KSignal, regs: PtRegs): boolean {
  const frame = getSigframe(regs, RT_SIGFRAME.size);
  if (!k.accessOk(frame, RT_SIGFRAME.size)) return false;
  const uc = frame + RT_SIGFRAME.uc;
  const mctx = uc + UC.mcontext;
  k.m.write(frame, new Uint8Array(Number(RT_SIGFRAME.size)));
  // uc_flags = 0, uc_link = 0; __save_altstack: no alternate stack
  k.writeWord(uc + UC.stack + 4n, SS_DISABLE);
  k.writeWord(uc + UC.regs, mctx);
  saveUserRegs(k, regs, mctx);
  writeSigset(k, uc + UC.sigmask, ksig.oldset);
  // copy_siginfo_to_user(): si_signo (si_errno, si_code SI_USER = 0)
  k.writeWord(frame + RT_SIGFRAME.info, BigInt(ksig.sig));
  // the handler returns to the vDSO trampoline (sa_restorer is never used)
  regs.set('link', k.sym('__kernel_sigtramp_rt32'));
  // the handler's stack starts with an empty frame whose back chain is the interrupted r1
  const newsp = frame - (SIGNAL_FRAMESIZE + 16n);
  if (!k.accessOk(newsp, 4n)) return false;
  k.writeWord(newsp, regs.sp);
  regs.sp = newsp;
  regs.set('gpr3', BigInt(ksig.sig));
  regs.set('gpr4', frame + RT_SIGFRAME.info);
  regs.set('gpr5', uc);
  regs.set('gpr6', frame);
  regs.pc = ksig.ka.handler;
  // entered in the kernel's endianness (MSR_KERNEL has no LE)
  regs.set('msr', regs.get('msr') & ~MSR.LE);
  return true;
}

/** handle_signal32(): the old frame, for a handler installed without SA_SIGINFO. */
function handleSignal32(k: KernelApi, ksig: KSignal, regs: PtRegs): boolean {
  const frame = getSigframe(regs, SIGFRAME.size);
  if (!k.accessOk(frame, SIGFRAME.size)) return false;
  const sc = frame + SIGFRAME.sctx;
  const mctx = frame + SIGFRAME.mctx;
  k.m.write(frame, new Uint8Array(Number(SIGFRAME.size)));
  k.writeWord(sc + SC.handler, ksig.ka.handler);
  k.writeWord(sc + SC.oldmask, ksig.oldset & 0xffffffffn);
  k.writeWord(sc + SC.unused3, ksig.oldset >> 32n);
  k.writeWord(sc + SC.regs, mctx);
  k.writeWord(sc + SC.signal, BigInt(ksig.sig));
  saveUserRegs(k, regs, mctx);
  regs.set('link', k.sym('__kernel_sigtramp32'));
  const newsp = frame - SIGNAL_FRAMESIZE;
  if (!k.accessOk(newsp, 4n)) return false;
  k.writeWord(newsp, regs.sp);
  regs.sp = newsp;
  regs.set('gpr3', BigInt(ksig.sig));
  regs.set('gpr4', sc);
  regs.pc = ksig.ka.handler;
  regs.set('msr', regs.get('msr') & ~MSR.LE);
  return true;
}

/**
 * sys_sigreturn() (119, 32-bit only): the old frame at r1 + __SIGNAL_FRAMESIZE. A bad frame
 * is SIGSEGV. _TIF_RESTOREALL: the exit reloads every register from pt_regs.
 */
function sys_sigreturn(k: KernelApi): bigint {
  const t = k.current();
  const regs = k.currentPtRegs();
  // any pending restarted syscall returns -EINTR
  t.restartBlock = undefined;
  const sc = BigInt.asUintN(32, regs.sp) + SIGNAL_FRAMESIZE + SIGFRAME.sctx;
  if (!k.accessOk(sc, SC.size)) {
    k.forceSig(k.abi.sig.SIGSEGV);
    return 0n;
  }
  const set = k.readWord(sc + SC.oldmask) | (k.readWord(sc + SC.unused3) << 32n);
  t.blocked = set & ~(sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP));
  k.recalcSigpending(t);
  if (!restoreUserRegs(k, regs, k.readWord(sc + SC.regs))) {
    k.forceSig(k.abi.sig.SIGSEGV);
    return 0n;
  }
  k.setTif(t, 'RESTOREALL');
  k.trace.push(`${t.pid}:sigreturn`);
  return 0n;
}

// ------------------------------------------------------------------ restart and delivery

/**
 * check_syscall_restart(regs, ka, has_handler): after get_signal(). Only a syscall frame
 * whose restart is still open, that failed (CR0.SO) with an ERESTART* code in r3.
 */
function checkSyscallRestart(k: KernelApi, regs: PtRegs, ksig: KSignal | null): void {
  if (!trapIsSyscall(regs)) return;
  if (trapNorestart(regs)) return;
  if (!(regs.get('ccr') & SO)) return;
  const ret = regs.get('gpr3');
  const hasHandler = ksig !== null;
  let restart: boolean;
  switch (ret) {
    case ERESTART_RESTARTBLOCK:
    case ERESTARTNOHAND:
      restart = !hasHandler;
      break;
    case ERESTARTSYS:
      restart = !hasHandler || (ksig!.ka.flags & k.abi.sa.SA_RESTART) !== 0n;
      break;
    case ERESTARTNOINTR:
      restart = true;
      break;
    default:
      return;
  }
  if (restart) {
    if (ret === ERESTART_RESTARTBLOCK) regs.set('gpr0', BigInt(k.desc.syscall.numbers['restart_syscall']!));
    else regs.set('gpr3', regs.get('orig_gpr3'));
    regs.pc = regs.pc - 4n; // regs_add_return_ip(regs, -4): the sc again
    regs.set('result', 0n);
    k.trace.push(`${k.current().pid}:restart-rewind${ret === ERESTART_RESTARTBLOCK ? ' restart_syscall' : ''}`);
  } else {
    regs.set('result', -k.abi.errno.EINTR);
    regs.set('gpr3', k.abi.errno.EINTR);
    regs.set('ccr', regs.get('ccr') | SO);
  }
}

/**
 * do_signal(current), powerpc's arch_do_signal_or_restart(): get_signal(), the restart
 * decision, then the frame; the frame is marked "restart decided" either way.
 */
function* do_signal(k: KernelApi, regs: PtRegs): Gen {
  const ksig = yield* k.getSignal();
  checkSyscallRestart(k, regs, ksig);
  if (!ksig) {
    // no signal to deliver (restore_saved_sigmask(): sigsuspend is not modelled)
    setTrapNorestart(regs);
    return;
  }
  // handle_rt_signal32() / handle_signal32() and signal_setup_done(): the frame saves the
  // trap word as it was; the mark comes after
  k.handleSignal(ksig, regs);
  setTrapNorestart(regs);
}

// ------------------------------------------------------------------ hooks

export const hooks: SignalHooks = {
  setup_rt_frame(k, ksig, regs) {
    return ksig.ka.flags & k.abi.sa.SA_SIGINFO ? handleRtSignal32(k, ksig, regs) : handleSignal32(k, ksig, regs);
  },

  /**
   * sys_rt_sigreturn(): the frame at r1 + __SIGNAL_FRAMESIZE + 16; do_setcontext() follows
   * uc_regs (the user's pointer to the mcontext). _TIF_RESTOREALL: the exit reloads every
   * register, and the restored r3 is not overwritten with a result.
   */
  restore_rt_frame(k, regs) {
    const frame = BigInt.asUintN(32, regs.sp) + SIGNAL_FRAMESIZE + 16n;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = frame + RT_SIGFRAME.uc;
    const blocked = readSigset(k, uc + UC.sigmask);
    if (!restoreUserRegs(k, regs, k.readWord(uc + UC.regs))) return null;
    k.setTif(k.current(), 'RESTOREALL');
    return { blocked };
  },

  arch_do_signal_or_restart: do_signal,

  ucontext_reg_offset(reg: string): number {
    const i = GREG_INDEX[reg];
    if (i === undefined) throw new Error(`powerpc: mc_gregs has no slot for register "${reg}"`);
    return Number(UC.mcontext + MC.gregs) + i * 4;
  },
};

/** The 32-bit-only syscalls signal_32.c defines (arch_syscalls of syscall.ts). */
export const archSyscalls: NonNullable<SyscallHooks['arch_syscalls']> = {
  sigreturn: (k) => sys_sigreturn(k),
};
