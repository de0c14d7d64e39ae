// arch/mips/kernel/signal.c (Linux 6.18): struct rt_sigframe, setup_sigcontext /
// restore_sigcontext, get_sigframe, and arch_do_signal_or_restart in MIPS's shape: the
// restart is decided after get_signal() (handle_signal, do_signal), through the syscall
// hooks of syscall.ts (regs[0] marks the frame, regs[26] holds the caller's a3).
//
// o32 frame: struct rt_sigframe { u32 rs_ass[4]; u32 rs_pad[2]; siginfo_t rs_info;
// struct ucontext rs_uc; } with uc { uc_flags, uc_link, stack_t uc_stack (ss_sp, ss_size,
// ss_flags), struct sigcontext uc_mcontext, sigset_t uc_sigmask (16 bytes) }. sigcontext
// keeps pc and the 32 registers as 64-bit slots (the 32-bit value zero-extended: the low
// word at +4, big-endian). The handler returns through the vDSO's __vdso_rt_sigreturn,
// which setup_rt_frame puts in ra: there is no SA_RESTORER on MIPS.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { GPR_NAMES } from './cpu.ts';

/** struct sigcontext (uapi/asm/sigcontext.h, _MIPS_SIM_ABI32). */
export const SC = { regmask: 0n, status: 4n, pc: 8n, regs: 16n, fpregs: 272n, usedMath: 540n, mdhi: 552n, mdlo: 560n, size: 592n } as const;
/** struct ucontext (uapi/asm/ucontext.h). */
export const UC = { flags: 0n, link: 4n, stack: 8n, mcontext: 24n, sigmask: 24n + SC.size, size: 24n + SC.size + 16n } as const;
/** struct rt_sigframe. */
export const RT_SIGFRAME = { ass: 0n, pad: 16n, info: 24n, uc: 24n + 128n, size: 24n + 128n + UC.size } as const;
const SS_DISABLE = 2n;
/** ALMASK of o32 (asm/asm.h): 8-byte alignment. */
const ALMASK = ~7n;

/** The low (value) word of a 64-bit sigcontext slot. */
const low = (slot: bigint) => slot + 4n;

function scRegOffset(reg: string): bigint {
  if (reg === 'pc' || reg === 'epc') return low(SC.pc);
  if (reg === 'hi') return low(SC.mdhi);
  if (reg === 'lo') return low(SC.mdlo);
  const n = reg === 's8' ? 30 : /^r(\d+)$/.test(reg) ? Number(reg.slice(1)) : GPR_NAMES.indexOf(reg);
  if (n < 0 || n > 31) throw new Error(`mips: struct sigcontext has no slot for register "${reg}"`);
  return low(SC.regs + BigInt(n * 8));
}

/** setup_sigcontext(): pc, $0 = 0 and $1-$31, hi/lo; no FPU context (used_math 0). */
function setupSigcontext(k: KernelApi, regs: PtRegs, sc: bigint): void {
  k.writeWord(low(sc + SC.pc), regs.pc);
  for (let i = 1; i < 32; i++) k.writeWord(low(sc + SC.regs + BigInt(i * 8)), regs.get(`r${i}`));
  k.writeWord(low(sc + SC.mdhi), regs.get('hi'));
  k.writeWord(low(sc + SC.mdlo), regs.get('lo'));
}

/** restore_sigcontext(): pc, hi/lo, $1-$31 (regs[0] is left alone); Status is not user-settable. */
function restoreSigcontext(k: KernelApi, regs: PtRegs, sc: bigint): void {
  regs.pc = k.readWord(low(sc + SC.pc));
  regs.set('hi', k.readWord(low(sc + SC.mdhi)));
  regs.set('lo', k.readWord(low(sc + SC.mdlo)));
  for (let i = 1; i < 32; i++) regs.set(`r${i}`, k.readWord(low(sc + SC.regs + BigInt(i * 8))));
}

export const hooks: SignalHooks = {
  setup_rt_frame(k: KernelApi, ksig, regs) {
    // get_sigframe(): 32 bytes below the interrupted sp (no sigaltstack), ALMASK-aligned
    const frame = (regs.sp - 32n - RT_SIGFRAME.size) & ALMASK;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return false;
    k.m.write(frame, new Uint8Array(Number(RT_SIGFRAME.size)));
    const uc = frame + RT_SIGFRAME.uc;
    k.m.writeUint(frame + RT_SIGFRAME.info, 4, BigInt(ksig.sig)); // si_signo; si_code SI_USER = 0
    k.m.writeUint(uc + UC.stack + 8n, 4, SS_DISABLE); // __save_altstack: ss_sp, ss_size, ss_flags
    setupSigcontext(k, regs, uc + UC.mcontext);
    writeSigset(k, uc + UC.sigmask, ksig.oldset);
    // a0 = signal, a1 = &info, a2 = &uc; $25 and epc = the handler, sp = the frame,
    // ra = the vDSO trampoline
    regs.set('a0', BigInt(ksig.sig));
    regs.set('a1', frame + RT_SIGFRAME.info);
    regs.set('a2', uc);
    regs.sp = frame;
    regs.set('ra', k.sym('__vdso_rt_sigreturn'));
    regs.set('t9', ksig.ka.handler);
    regs.pc = ksig.ka.handler;
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    // sys_rt_sigreturn(): the frame is at the user sp
    const frame = regs.sp;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = frame + RT_SIGFRAME.uc;
    const blocked = readSigset(k, uc + UC.sigmask);
    restoreSigcontext(k, regs, uc + UC.mcontext);
    return { blocked };
  },

  // handle_signal()/do_signal(): get_signal() first, then the restart decision on regs[0]
  arch_do_signal_or_restart: (k, regs) => k.signalRestartAfterGetSignal(regs),

  ucontext_reg_offset(reg: string): number {
    return Number(UC.mcontext + scRegOffset(reg));
  },
};
