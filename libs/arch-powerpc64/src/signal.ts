// arch/powerpc/kernel/signal.c and signal_64.c (Linux 6.18): do_signal() with
// check_syscall_restart() after get_signal() (the port's arch_do_signal_or_restart, which
// do_notify_resume() in entry.ts calls), the 64-bit signal frame and rt_sigreturn.
//
// The restart decision is powerpc's own: a syscall frame (trap 0xc00) whose restart has not
// been decided yet (trap bit 0, "norestart", clear) that returned an error (CR0.SO set, a
// positive ERESTART* in r3) is rewound by 4 bytes (r3 = orig_gpr3; restart_syscall in r0
// for ERESTART_RESTARTBLOCK) or turned into EINTR. do_signal() sets the norestart bit
// after every pass, and rt_sigreturn after restoring a frame: that is powerpc's guard
// against a second rewind.
//
// The frame: handle_rt_signal64()'s struct rt_sigframe { ucontext uc; ucontext uc_transact
// (CONFIG_PPC_TRANSACTIONAL_MEM); _unused[2]; tramp[7]; pinfo; puc; siginfo info; abigap
// [512] } whatever SA_SIGINFO says (64-bit has one frame). The handler is entered at the
// vDSO's __kernel_start_sigtramp_rt64 (which bctrl's to it, ELFv2: CTR = r12 = the
// handler) with r1 = a dummy caller frame of __SIGNAL_FRAMESIZE below the frame, r3 = sig,
// r4 = &info and r5 = &uc with SA_SIGINFO, else r4 = &uc.uc_mcontext; it returns to
// __kernel_sigtramp_rt64, which pops the dummy frame and calls rt_sigreturn with r1 = &uc.
// sigcontext.gp_regs is a copy of pt_regs (softe forced to 1); the return takes back the
// gprs (r13, the TLS pointer, too), nip, orig_gpr3, ctr, link, xer, ccr, dar, dsisr,
// result and only the LE bit of the MSR, so user mode cannot set privileged MSR bits.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi, KSignal } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '@archkit/generic-core/kernel/abi';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { MSR } from './cpu.ts';

// asm/ptrace.h: the trap word's low bit is a flag on 64-bit (TRAP_FLAGS_MASK 0x1): "norestart"
const INTERRUPT_SYSCALL = 0xc00n;
const TRAP_FLAGS_MASK = 0x1n;
/** trap_is_syscall(regs): TRAP(regs) == 0xc00 (scv's 0x3000 is not modelled) */
export const trapIsSyscall = (regs: PtRegs) => (regs.get('trap') & ~TRAP_FLAGS_MASK) === INTERRUPT_SYSCALL;
export const trapNorestart = (regs: PtRegs) => (regs.get('trap') & 1n) !== 0n;
export const setTrapNorestart = (regs: PtRegs) => regs.set('trap', regs.get('trap') | 1n);

const SO = 0x10000000n;
/** __SIGNAL_FRAMESIZE (64-bit): the dummy caller frame below a signal frame. */
export const SIGNAL_FRAMESIZE = 128n;
/** ELF_NGREG (48 doublewords): gp_regs is a copy of pt_regs (GP_REGS_SIZE = 384). */
const NGREG = 48;
const PT_MSR = 33;
const PT_ORIG_R3 = 34;
const PT_SOFTE = 39;
/** struct sigcontext (64-bit): _unused[4], signal, _pad0, handler, oldmask, regs, gp_regs[48], fp_regs[33], v_regs, vmx_reserve[101]. */
export const SC = { signal: 32n, handler: 40n, oldmask: 48n, regs: 56n, gpRegs: 64n, fpRegs: 448n, vRegs: 712n, size: 1528n } as const;
/** struct ucontext (64-bit): uc_flags, uc_link, uc_stack, uc_sigmask, __unused[15], uc_mcontext. */
export const UC = { flags: 0n, link: 8n, stack: 16n, sigmask: 40n, mcontext: 168n, size: 168n + SC.size } as const;
const SIGINFO_SIZE = 128n;
/** USER_REDZONE_SIZE: the ELFv2 red zone a frame must not overwrite. */
const USER_REDZONE_SIZE = 512n;
/** struct rt_sigframe (CONFIG_PPC_TRANSACTIONAL_MEM: uc_transact), aligned to 16. */
export const RT_SIGFRAME = {
  uc: 0n,
  ucTransact: UC.size,
  tramp: 2n * UC.size + 16n,
  pinfo: 2n * UC.size + 16n + 32n,
  puc: 2n * UC.size + 16n + 40n,
  info: 2n * UC.size + 16n + 48n,
  size: 2n * UC.size + 16n + 48n + SIGINFO_SIZE + USER_REDZONE_SIZE,
} as const;
const SS_DISABLE = 2n;

/** pt_regs doubleword index of a user register (gp_regs[] index), by machine or pt_regs name. */
const GREG_INDEX: Record<string, number> = {
  ...Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`r${i}`, i])),
  ...Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`gpr${i}`, i])),
  sp: 1, pc: 32, nip: 32, msr: 33, orig_gpr3: 34, ctr: 35, lr: 36, link: 36, xer: 37, cr: 38, ccr: 38, softe: 39, trap: 40, dar: 41, dsisr: 42, result: 43,
};

// ------------------------------------------------------------------ frames

/**
 * setup_sigcontext(): sc->regs = &sc->gp_regs, gp_regs a copy of pt_regs with the MSR
 * (VSX cleared: no VSX state attached) and softe forced to 1. No FP or vector state is
 * modelled: fp_regs and v_regs stay zero (Linux with CONFIG_ALTIVEC points v_regs into
 * vmx_reserve).
 */
function setupSigcontext(k: KernelApi, sc: bigint, regs: PtRegs, sig: number, handler: bigint): void {
  const MSR_VSX = 0x800000n;
  k.writeWord(sc + SC.regs, sc + SC.gpRegs);
  k.m.write(sc + SC.gpRegs, k.m.read(regs.base, NGREG * 8));
  k.writeWord(sc + SC.gpRegs + BigInt(PT_MSR * 8), regs.get('msr') & ~MSR_VSX);
  k.writeWord(sc + SC.gpRegs + BigInt(PT_SOFTE * 8), 1n);
  k.m.writeUint(sc + SC.signal, 4, BigInt(sig));
  k.writeWord(sc + SC.handler, handler);
}

/**
 * restore_sigcontext(regs, sig = 1, sc): the gprs (r13 included: this is a signal return),
 * nip, the LE bit of the saved MSR, orig_gpr3, ctr, link, xer, ccr, dar, dsisr, result;
 * the norestart mark (trap and softe are not taken from user memory); FP/VMX/VSX given
 * back lazily (their MSR bits and the FP exception modes off). False: not in user memory.
 */
function restoreSigcontext(k: KernelApi, regs: PtRegs, sc: bigint): boolean {
  const g = sc + SC.gpRegs;
  if (!k.accessOk(g, BigInt(NGREG * 8))) return false;
  const word = (i: number) => k.readWord(g + BigInt(i * 8));
  k.m.write(regs.base, k.m.read(g, 32 * 8));
  regs.set('nip', word(32));
  const msr = word(PT_MSR);
  regs.set('msr', (regs.get('msr') & ~MSR.LE) | (msr & MSR.LE));
  regs.set('orig_gpr3', word(PT_ORIG_R3));
  for (const [f, i] of [['ctr', 35], ['link', 36], ['xer', 37], ['ccr', 38]] as const) regs.set(f, word(i));
  setTrapNorestart(regs);
  for (const [f, i] of [['dar', 41], ['dsisr', 42], ['result', 43]] as const) regs.set(f, word(i));
  const FE = 0x900n; // MSR_FE0 | MSR_FE1
  const MSR_VEC = 0x2000000n;
  const MSR_VSX = 0x800000n;
  regs.set('msr', regs.get('msr') & ~(MSR.FP | FE | MSR_VEC | MSR_VSX));
  return true;
}

/** get_sigframe(): below the user r1 (no sigaltstack), 16-byte aligned. */
const getSigframe = (regs: PtRegs, size: bigint) => (BigInt.asUintN(64, regs.sp) - size) & ~0xfn;

/** handle_rt_signal64(): the one 64-bit frame, SA_SIGINFO or not. */
function handleRtSignal64(k: KernelApi, ksig: KSignal, regs: PtRegs): boolean {
  const frame = getSigframe(regs, RT_SIGFRAME.size);
  if (!k.accessOk(frame, RT_SIGFRAME.size)) return false;
  const uc = frame + RT_SIGFRAME.uc;
  const info = frame + RT_SIGFRAME.info;
  k.m.write(frame, new Uint8Array(Number(RT_SIGFRAME.size)));
  k.writeWord(frame + RT_SIGFRAME.pinfo, info);
  k.writeWord(frame + RT_SIGFRAME.puc, uc);
  // uc_flags = 0, uc_link = 0 (no transaction); __save_altstack: no alternate stack
  k.m.writeUint(uc + UC.stack + 8n, 4, SS_DISABLE);
  setupSigcontext(k, uc + UC.mcontext, regs, ksig.sig, ksig.ka.handler);
  writeSigset(k, uc + UC.sigmask, ksig.oldset);
  // copy_siginfo_to_user(): si_signo (si_errno, si_code SI_USER = 0)
  k.m.writeUint(info, 4, BigInt(ksig.sig));
  // the vDSO calls the handler and returns to its sigreturn trampoline (sa_restorer is never used)
  regs.pc = k.sym('__kernel_start_sigtramp_rt64');
  // the handler's stack starts with an empty frame whose back chain is the interrupted r1
  const newsp = frame - SIGNAL_FRAMESIZE;
  if (!k.accessOk(newsp, 8n)) return false;
  k.writeWord(newsp, regs.sp);
  // ELFv2 (is_elf2_task()): the handler's entry in CTR and r12
  regs.set('ctr', ksig.ka.handler);
  regs.set('gpr12', ksig.ka.handler);
  // entered in the kernel's endianness (big-endian: MSR_KERNEL has no LE)
  regs.set('msr', regs.get('msr') & ~MSR.LE);
  regs.sp = newsp;
  regs.set('gpr3', BigInt(ksig.sig));
  regs.set('result', 0n);
  if (ksig.ka.flags & k.abi.sa.SA_SIGINFO) {
    regs.set('gpr4', info);
    regs.set('gpr5', uc);
    regs.set('gpr6', frame);
  } else {
    regs.set('gpr4', uc + UC.mcontext);
  }
  return true;
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
  // handle_rt_signal64() and signal_setup_done(): the frame saves the trap word as it
  // was; the mark comes after
  k.handleSignal(ksig, regs);
  setTrapNorestart(regs);
}

// ------------------------------------------------------------------ hooks

export const hooks: SignalHooks = {
  setup_rt_frame: handleRtSignal64,

  /**
   * sys_rt_sigreturn(): the ucontext at r1 (the trampoline popped the dummy frame); no
   * transaction to recheckpoint (the saved MSR has no TS bits). _TIF_RESTOREALL: the exit
   * reloads every register, and the restored r3 is not overwritten with a result.
   */
  restore_rt_frame(k, regs) {
    const uc = BigInt.asUintN(64, regs.sp);
    if (!k.accessOk(uc, UC.size)) return null;
    const blocked = readSigset(k, uc + UC.sigmask);
    if (!restoreSigcontext(k, regs, uc + UC.mcontext)) return null;
    // restore_altstack(&uc->uc_stack): no alternate stack is modelled
    k.setTif(k.current(), 'RESTOREALL');
    return { blocked };
  },

  arch_do_signal_or_restart: do_signal,

  ucontext_reg_offset(reg: string): number {
    const i = GREG_INDEX[reg];
    if (i === undefined) throw new Error(`powerpc64: gp_regs has no slot for register "${reg}"`);
    return Number(UC.mcontext + SC.gpRegs) + i * 8;
  },
};
