// arch/arm64/kernel/signal.c (Linux 6.18): the rt signal frame, rt_sigreturn, and
// arch_do_signal_or_restart in arm64's shape (forget_syscall and the pre-rewind before
// get_signal, so a debugger sees the restarted pc).
//
// get_sigframe / setup_sigframe / setup_return: below the interrupted sp, 16-byte aligned,
// a frame record {fp, lr} for unwinders and under it struct rt_sigframe { siginfo_t info;
// struct ucontext uc; }. __reserved holds the mandatory fpsimd_context record (FP/SIMD
// registers are not modelled: zeros) and the terminator. Without SA_RESTORER the handler
// returns through the vDSO's __kernel_rt_sigreturn.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';

/** siginfo_t is 128 bytes on every Linux arch. */
export const SIGINFO_SIZE = 128n;
/** struct ucontext (uapi asm/ucontext.h): flags, link, stack_t (24), sigmask (glibc's 1024-bit room), mcontext aligned 16. */
export const UC = { flags: 0n, link: 8n, stack: 16n, sigmask: 40n, mcontext: 176n } as const;
/** struct sigcontext (uapi asm/sigcontext.h). */
export const SC = { fault_address: 0n, regs: 8n, sp: 256n, pc: 264n, pstate: 272n, reserved: 288n } as const;
export const SC_RESERVED_SIZE = 4096n;
export const RT_SIGFRAME = { info: 0n, uc: SIGINFO_SIZE, size: SIGINFO_SIZE + UC.mcontext + SC.reserved + SC_RESERVED_SIZE } as const;
/** struct fpsimd_context: _aarch64_ctx {magic, size}, fpsr, fpcr, vregs[32] (16 bytes each) */
export const FPSIMD_MAGIC = 0x46508001n;
export const FPSIMD_CONTEXT_SIZE = 528n;
const FRAME_RECORD_SIZE = 16n;
const SS_DISABLE = 2n;
const NGREG = 31;
const PSR_MODE_MASK = 0xfn;
const PSR_MODE_EL0t = 0x0n;
/** D, A, I, F: a user pstate has none of them set. */
const PSR_DAIF = 0x3c0n;
const PSR_NZCV = 0xf0000000n;

function sigcontextOffset(reg: string): bigint {
  const r = reg === 'fp' ? 'x29' : reg === 'lr' ? 'x30' : reg;
  const m = /^x(\d+)$/.exec(r);
  if (m && Number(m[1]) < NGREG) return SC.regs + BigInt(Number(m[1]) * 8);
  if (r === 'sp') return SC.sp;
  if (r === 'pc') return SC.pc;
  if (r === 'pstate') return SC.pstate;
  throw new Error(`arm64: struct sigcontext has no slot for register "${reg}"`);
}

export const hooks: SignalHooks = {
  setup_rt_frame(k: KernelApi, ksig, regs) {
    const spTop = regs.sp;
    const nextFrame = (spTop - FRAME_RECORD_SIZE) & ~15n;
    const frame = (nextFrame & ~15n) - RT_SIGFRAME.size;
    if (!k.accessOk(frame, spTop - frame)) return false;
    k.m.write(frame, new Uint8Array(Number(spTop - frame)));
    const uc = frame + RT_SIGFRAME.uc;
    const mc = uc + UC.mcontext;
    k.m.writeUint(uc + UC.stack + 8n, 4, SS_DISABLE); // no sigaltstack
    // setup_sigframe(): the frame record, every register, fault address, mask, FP/SIMD record
    k.writeWord(nextFrame, regs.get('x29'));
    k.writeWord(nextFrame + 8n, regs.get('x30'));
    for (let i = 0; i < NGREG; i++) k.writeWord(mc + SC.regs + BigInt(i * 8), regs.get(`x${i}`));
    k.writeWord(mc + SC.sp, regs.sp);
    k.writeWord(mc + SC.pc, regs.pc);
    k.writeWord(mc + SC.pstate, regs.get('pstate'));
    writeSigset(k, uc + UC.sigmask, ksig.oldset);
    k.m.writeUint(mc + SC.reserved, 4, FPSIMD_MAGIC);
    k.m.writeUint(mc + SC.reserved + 4n, 4, FPSIMD_CONTEXT_SIZE);
    k.m.writeUint(mc + SC.reserved + 8n, 4, k.m.reg('fpsr'));
    k.m.writeUint(mc + SC.reserved + 12n, 4, k.m.reg('fpcr'));
    // siginfo: si_signo (si_code SI_USER = 0)
    k.m.writeUint(frame + RT_SIGFRAME.info, 4, BigInt(ksig.sig));
    // setup_return(): the handler as a call, returning to sa_restorer or the vDSO trampoline
    const sigtramp = ksig.ka.flags & k.abi.sa.SA_RESTORER ? ksig.ka.restorer : k.sym('__kernel_rt_sigreturn');
    regs.set('x0', BigInt(ksig.sig));
    if (ksig.ka.flags & k.abi.sa.SA_SIGINFO) {
      regs.set('x1', frame + RT_SIGFRAME.info);
      regs.set('x2', uc);
    }
    regs.sp = frame;
    regs.set('x29', nextFrame);
    regs.set('x30', sigtramp);
    regs.pc = ksig.ka.handler;
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    // rt_sigreturn(): the frame is at the user sp, which must be 16-byte aligned
    const frame = regs.sp;
    if (frame & 15n || !k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = frame + RT_SIGFRAME.uc;
    const mc = uc + UC.mcontext;
    const blocked = readSigset(k, uc + UC.sigmask);
    for (let i = 0; i < NGREG; i++) regs.set(`x${i}`, k.readWord(mc + SC.regs + BigInt(i * 8)));
    regs.sp = k.readWord(mc + SC.sp);
    regs.pc = k.readWord(mc + SC.pc);
    const pstate = k.readWord(mc + SC.pstate);
    regs.set('pstate', pstate);
    // never restart a syscall because of what the restored x0 happens to hold
    regs.set('syscallno', -1n);
    // parse_user_sigframe(): the FP/SIMD record is mandatory
    if (k.m.readUint(mc + SC.reserved, 4) !== FPSIMD_MAGIC || k.m.readUint(mc + SC.reserved + 4n, 4) !== FPSIMD_CONTEXT_SIZE) return null;
    // valid_user_regs(): only EL0t with D, A, I, F clear goes back to user mode; anything
    // else is forced to a plain EL0t pstate and the frame is refused
    if ((pstate & PSR_MODE_MASK) !== PSR_MODE_EL0t || pstate & PSR_DAIF) {
      regs.set('pstate', pstate & PSR_NZCV);
      return null;
    }
    return { blocked };
  },

  arch_do_signal_or_restart: (k, regs) => k.signalRestartBeforeGetSignal(regs),

  ucontext_reg_offset(reg: string): number {
    return Number(UC.mcontext + sigcontextOffset(reg));
  },
};
