// arch/riscv/kernel/signal.c (Linux 6.18): the rt signal frame, rt_sigreturn, and
// arch_do_signal_or_restart in arm64's shape (riscv's is modelled on it): the frame is
// marked "not a syscall" (cause = -1) and pre-rewound before get_signal, so a debugger
// sees the restarted pc.
//
// struct rt_sigframe { siginfo_t info; struct ucontext uc; } (no trampoline in the frame
// with an MMU). struct ucontext: uc_flags, uc_link, uc_stack, uc_sigmask, __unused up to
// 128 bytes of sigset, then uc_mcontext aligned 16 (the FP union holds 16-aligned quad
// state): struct sigcontext { user_regs_struct sc_regs; union { __riscv_fp_state
// sc_fpregs; __riscv_extra_ext_header sc_extdesc; } }. The handler returns through the
// vDSO's __vdso_rt_sigreturn, which setup_rt_frame puts in ra: riscv has no SA_RESTORER.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';

export const SIGINFO_SIZE = 128n;
/** struct ucontext (uapi asm/ucontext.h). */
export const UC = { flags: 0n, link: 8n, stack: 16n, sigmask: 40n, mcontext: 176n } as const;
/** struct sigcontext (uapi asm/sigcontext.h): sc_regs, sc_fpregs (528 bytes), sc_extdesc over it. */
export const SC = { regs: 0n, fpregs: 256n, extReserved: 256n + 516n, extHdr: 256n + 520n, size: 256n + 528n } as const;
export const RT_SIGFRAME = { info: 0n, uc: SIGINFO_SIZE, size: SIGINFO_SIZE + UC.mcontext + SC.size } as const;
/** __riscv_ctx_hdr magic of the terminating record (END_MAGIC, END_HDR_SIZE). */
const END_MAGIC = 0n;
const END_HDR_SIZE = 0n;
const SS_DISABLE = 2n;
const EXC_NONE = -1n;

/** struct user_regs_struct: pc, then x1..x31 by ABI name; the first 32 words of pt_regs. */
export const USER_REGS = ['pc', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
const ALIASES: Record<string, string> = { epc: 'pc', fp: 's0', x1: 'ra', x2: 'sp' };

function scRegOffset(reg: string): bigint {
  const r = ALIASES[reg] ?? (/^x(\d+)$/.test(reg) ? USER_REGS[Number(reg.slice(1))] : reg);
  const i = r === undefined ? -1 : USER_REGS.indexOf(r);
  if (i < 0) throw new Error(`riscv64: struct sigcontext has no slot for register "${reg}"`);
  return BigInt(i * 8);
}

export const hooks: SignalHooks = {
  setup_rt_frame(k: KernelApi, ksig, regs) {
    // get_sigframe(): below the user sp (no sigaltstack), 16-byte aligned
    const frame = (regs.sp - RT_SIGFRAME.size) & ~15n;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return false;
    k.m.write(frame, new Uint8Array(Number(RT_SIGFRAME.size)));
    const uc = frame + RT_SIGFRAME.uc;
    const sc = uc + UC.mcontext;
    k.m.writeUint(frame + RT_SIGFRAME.info, 4, BigInt(ksig.sig)); // si_signo; si_code SI_USER = 0
    k.m.writeUint(uc + UC.stack + 8n, 4, SS_DISABLE); // __save_altstack: no alternate stack
    // setup_sigcontext(): sc_regs is the start of pt_regs; the FP state is not modelled
    // (zeros); reserved word 0 and the END record
    USER_REGS.forEach((r, i) => k.writeWord(sc + SC.regs + BigInt(i * 8), regs.get(r)));
    k.m.writeUint(sc + SC.extReserved, 4, 0n);
    k.m.writeUint(sc + SC.extHdr, 4, END_MAGIC);
    k.m.writeUint(sc + SC.extHdr + 4n, 4, END_HDR_SIZE);
    writeSigset(k, uc + UC.sigmask, ksig.oldset);
    // The handler as a call returning to the vDSO trampoline; siginfo and ucontext always
    // passed, SA_SIGINFO or not.
    regs.set('ra', k.sym('__vdso_rt_sigreturn'));
    regs.pc = ksig.ka.handler;
    regs.sp = frame;
    regs.set('a0', BigInt(ksig.sig));
    regs.set('a1', frame + RT_SIGFRAME.info);
    regs.set('a2', uc);
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    // sys_rt_sigreturn(): the frame is at the user sp
    const frame = regs.sp;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = frame + RT_SIGFRAME.uc;
    const sc = uc + UC.mcontext;
    const blocked = readSigset(k, uc + UC.sigmask);
    // restore_sigcontext(): sc_regs over the start of pt_regs (status, cause, orig_a0 are
    // not in it: user mode cannot set privileged status bits); the reserved word must be 0
    // and the extension records end with END (no vector state on this CPU)
    USER_REGS.forEach((r, i) => regs.set(r, k.readWord(sc + SC.regs + BigInt(i * 8))));
    if (k.m.readUint(sc + SC.extReserved, 4) !== 0n) return null;
    if (k.m.readUint(sc + SC.extHdr, 4) !== END_MAGIC || k.m.readUint(sc + SC.extHdr + 4n, 4) !== END_HDR_SIZE) return null;
    // never restart a syscall because of what the restored a0 happens to hold
    regs.set('cause', EXC_NONE);
    return { blocked };
  },

  arch_do_signal_or_restart: (k, regs) => k.signalRestartBeforeGetSignal(regs),

  ucontext_reg_offset(reg: string): number {
    return Number(UC.mcontext + SC.regs + scRegOffset(reg));
  },
};
