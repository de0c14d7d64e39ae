// arch/arm/kernel/signal.c (Linux 6.18): do_signal(), the signal frames, sigreturn and
// rt_sigreturn. do_signal() is called by do_work_pending() (the core's do-work-pending loop)
// and decides restarts the arm way: it pre-rewinds before get_signal() so a debugger sees
// the restarted state, turns the restart back into -EINTR for a handler that does not want
// it, and hands a handler-less restart back to the asm, which re-enters the syscall in the
// kernel: the pc goes back to the continue address first, so user mode never sees the
// rewind (arm's guard against running the call a second time from user mode).
//
// struct sigframe { struct ucontext uc; unsigned long retcode[4]; } and struct
// rt_sigframe { siginfo_t info; struct sigframe sig; } (signal.h), with the ucontext of
// asm/ucontext.h: uc_flags, uc_link, uc_stack, uc_mcontext (struct sigcontext), uc_sigmask,
// __unused up to 128 bytes, uc_regspace (8-aligned) holding the aux_sigframe: the VFP
// record (CONFIG_VFP; the FP registers are not modelled: zeros) and end_magic. A handler
// without SA_RESTORER returns through the sigpage's sigreturn_codes; the same two words
// are written to retcode "to remain ABI compliant".

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, sigmask } from '@archkit/generic-core/kernel/abi';
import { MODE, MODE_MASK, PSR_A_BIT, PSR_E_BIT, PSR_F_BIT, PSR_I_BIT, PSR_IT_MASK, PSR_T_BIT } from './cpu.ts';

export const SIGINFO_SIZE = 128n;
/** struct ucontext (asm/ucontext.h, EABI alignment). */
export const UC = { flags: 0n, link: 4n, stack: 8n, mcontext: 20n, sigmask: 104n, regspace: 232n, size: 744n } as const;
/** struct sigcontext (uapi/asm/sigcontext.h). */
export const SC = { trap_no: 0n, error_code: 4n, oldmask: 8n, r0: 12n, fp: 56n, ip: 60n, sp: 64n, lr: 68n, pc: 72n, cpsr: 76n, fault_address: 80n } as const;
export const SIGFRAME = { uc: 0n, retcode: UC.size, size: UC.size + 16n } as const;
export const RT_SIGFRAME = { info: 0n, sig: SIGINFO_SIZE, size: SIGINFO_SIZE + SIGFRAME.size } as const;
/** struct vfp_sigframe: magic, size, user_vfp {fpregs[32], fpscr}, user_vfp_exc; then aux_sigframe.end_magic. */
export const VFP_MAGIC = 0x56465001n;
export const VFP_STORAGE_SIZE = 288n;
/** uc_flags of a non-rt frame: a value sc.trap_no would never have. */
const SIGFRAME_UC_FLAGS = 0x5ac3c35an;
const SS_DISABLE = 2n;
/** PSR_f: the flags byte (N Z C V Q, IT[1:0], J). */
const PSR_f = 0xff000000n;
/** The __NR_OABI_SYSCALL_BASE-tagged words of sigreturn_codes are read from the sigpage itself. */
const REGS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'lr', 'pc'] as const;

function scOffset(reg: string): bigint {
  const alias: Record<string, string> = { fp: 'r11', ip: 'r12', sl: 'r10', r13: 'sp', r14: 'lr', r15: 'pc' };
  const r = alias[reg] ?? reg;
  const m = /^r(\d+)$/.exec(r);
  if (m && Number(m[1]) <= 12) return SC.r0 + BigInt(Number(m[1]) * 4);
  if (r === 'sp' || r === 'lr' || r === 'pc' || r === 'cpsr') return SC[r];
  throw new Error(`arm: struct sigcontext has no slot for register "${reg}"`);
}

/**
 * valid_user_regs() (asm/ptrace.h): F and A always cleared; only USR mode with I clear
 * goes back to user mode, anything else is forced to a sane USR cpsr and refused.
 */
export function validUserRegs(regs: PtRegs): boolean {
  let cpsr = regs.get('cpsr') & ~(PSR_F_BIT | PSR_A_BIT);
  regs.set('cpsr', cpsr);
  if ((cpsr & PSR_I_BIT) === 0n && (cpsr & MODE_MASK) === MODE.USR) return true;
  cpsr &= PSR_f | 0x00ff0000n | 0x0000ff00n | PSR_T_BIT | 0x10n; // PSR_f | PSR_s | PSR_x | T | MODE32
  regs.set('cpsr', cpsr | MODE.USR);
  return false;
}

/** setup_sigframe(): every register, the fault info, the mask, the VFP record, end_magic. */
function setupSigframe(k: KernelApi, sf: bigint, regs: PtRegs, set: bigint): void {
  const mc = sf + SIGFRAME.uc + UC.mcontext;
  const t = k.current();
  REGS.forEach((r) => k.writeWord(mc + scOffset(r), regs.get(r)));
  k.writeWord(mc + SC.cpsr, regs.get('cpsr'));
  k.writeWord(mc + SC.trap_no, t.arch['trap_no'] ?? 0n);
  k.writeWord(mc + SC.error_code, t.arch['error_code'] ?? 0n);
  k.writeWord(mc + SC.fault_address, t.arch['address'] ?? 0n);
  k.writeWord(mc + SC.oldmask, set & 0xffffffffn);
  writeSigset(k, sf + SIGFRAME.uc + UC.sigmask, set);
  const aux = sf + SIGFRAME.uc + UC.regspace;
  k.writeWord(aux, VFP_MAGIC);
  k.writeWord(aux + 4n, VFP_STORAGE_SIZE);
  k.writeWord(aux + VFP_STORAGE_SIZE, 0n); // end_magic
}

/** restore_sigframe(): the mask, every register, valid_user_regs(), the VFP record. */
function restoreSigframe(k: KernelApi, regs: PtRegs, sf: bigint): { blocked: bigint } | null {
  const uc = sf + SIGFRAME.uc;
  const mc = uc + UC.mcontext;
  const blocked = readSigset(k, uc + UC.sigmask);
  REGS.forEach((r) => regs.set(r, k.readWord(mc + scOffset(r))));
  regs.set('cpsr', k.readWord(mc + SC.cpsr));
  if (!validUserRegs(regs)) return null;
  const aux = uc + UC.regspace;
  if (k.readWord(aux) !== VFP_MAGIC || k.readWord(aux + 4n) !== VFP_STORAGE_SIZE) return null;
  return { blocked };
}

/** sys_sigreturn(): a non-rt frame at the user sp (8-byte aligned); never restarts (the asm wrapper cleared `why`). */
export function sysSigreturn(k: KernelApi): bigint {
  const t = k.current();
  const regs = k.currentPtRegs();
  t.restartBlock = undefined; // restart_block.fn = do_no_restart_syscall
  const frame = regs.sp;
  const r = frame & 7n || !k.accessOk(frame, SIGFRAME.size) ? null : restoreSigframe(k, regs, frame);
  if (!r) {
    k.trace.push(`${t.pid}:sigreturn-bad-frame`);
    k.forceSig(k.abi.sig.SIGSEGV);
    return 0n;
  }
  t.blocked = r.blocked & ~(sigmask(k.abi.sig.SIGKILL) | sigmask(k.abi.sig.SIGSTOP));
  k.recalcSigpending(t);
  k.trace.push(`${t.pid}:sigreturn`);
  return regs.get('r0');
}

/**
 * do_signal(regs, syscall): with `syscall` (the asm's `why`, cleared by do_work_pending()
 * after the first call) the frame is a syscall's whose -ERESTART* result may restart it.
 * Returns 0, or the restart code the asm carries out (1; -1 for restart_syscall).
 */
export function* doSignal(k: KernelApi, regs: PtRegs, syscall: boolean): Gen<number> {
  let continueAddr = 0n;
  let restartAddr = 0n;
  let retval = 0n;
  let restart = 0;
  if (syscall) {
    continueAddr = regs.pc;
    // thumb_mode(regs) ? 2 : 4: the svc the pc is past
    restartAddr = continueAddr - (regs.get('cpsr') & PSR_T_BIT ? 2n : BigInt(k.desc.syscall.insnBytes));
    retval = regs.gets('r0');
    // Rewind before any handler is chosen, so a tracer stopped at the signal already
    // sees the registers of the restarted call.
    if (retval === -ERESTART_RESTARTBLOCK || retval === -ERESTARTNOHAND || retval === -ERESTARTSYS || retval === -ERESTARTNOINTR) {
      restart = retval === -ERESTART_RESTARTBLOCK ? -1 : 1;
      regs.set('r0', regs.get('orig_r0'));
      regs.pc = restartAddr;
    }
  }
  // get_signal(): a debugger may change every register here
  const ksig = yield* k.getSignal();
  if (ksig) {
    // a handler: revert the restart unless it wants it, or a debugger moved the pc
    if (restart && regs.pc === restartAddr) {
      if (retval === -ERESTARTNOHAND || retval === -ERESTART_RESTARTBLOCK || (retval === -ERESTARTSYS && !(ksig.ka.flags & k.abi.sa.SA_RESTART))) {
        regs.set('r0', -k.abi.errno.EINTR);
        regs.pc = continueAddr;
      }
    }
    k.handleSignal(ksig, regs);
    return 0;
  }
  // no handler (restore_saved_sigmask(): nothing saves a mask in this kernel): the asm
  // restarts the call without leaving the kernel
  if (restart && regs.pc === restartAddr) {
    regs.pc = continueAddr;
    k.trace.push(`${k.current().pid}:restart-in-kernel ${restart}`);
    return restart;
  }
  return 0;
}

export const hooks: SignalHooks = {
  do_signal: doSignal,

  // handle_signal(): setup_rt_frame() for SA_SIGINFO, else setup_frame(); then valid_user_regs()
  setup_rt_frame(k: KernelApi, ksig, regs) {
    const SA = k.abi.sa;
    const rt = (ksig.ka.flags & SA.SA_SIGINFO) !== 0n;
    const size = rt ? RT_SIGFRAME.size : SIGFRAME.size;
    // get_sigframe(): below the user sp (no sigaltstack), 8-byte aligned (ATPCS)
    const frame = (regs.sp - size) & ~7n;
    if (!k.accessOk(frame, size)) return false;
    k.m.write(frame, new Uint8Array(Number(size)));
    const sf = rt ? frame + RT_SIGFRAME.sig : frame;
    if (rt) {
      k.m.writeUint(frame + RT_SIGFRAME.info, 4, BigInt(ksig.sig)); // si_signo; si_code SI_USER = 0
      k.writeWord(sf + UC.stack + 4n, SS_DISABLE); // __save_altstack: no alternate stack
    } else {
      k.writeWord(sf + UC.flags, SIGFRAME_UC_FLAGS);
    }
    setupSigframe(k, sf, regs, ksig.oldset);

    // setup_return()
    const handler = ksig.ka.handler;
    const thumb = handler & 1n;
    let cpsr = regs.get('cpsr') & ~(PSR_f | PSR_E_BIT) & ~PSR_IT_MASK;
    cpsr = thumb ? cpsr | PSR_T_BIT : cpsr & ~PSR_T_BIT;
    let retcode: bigint;
    if (ksig.ka.flags & SA.SA_RESTORER) {
      retcode = ksig.ka.restorer;
    } else {
      // sigreturn_codes[idx], [idx+1] onto the frame; lr into the sigpage
      const idx = (thumb << 1n) + (rt ? 3n : 0n);
      const codes = k.sym('sigreturn_codes');
      k.writeWord(sf + SIGFRAME.retcode, k.readWord(codes + idx * 4n));
      k.writeWord(sf + SIGFRAME.retcode + 4n, k.readWord(codes + idx * 4n + 4n));
      retcode = codes + idx * 4n + thumb;
    }
    regs.set('r0', BigInt(ksig.sig));
    regs.sp = frame;
    regs.set('lr', retcode);
    regs.pc = handler;
    regs.set('cpsr', cpsr);
    if (rt) {
      regs.set('r1', frame + RT_SIGFRAME.info);
      regs.set('r2', sf + SIGFRAME.uc);
    }
    return validUserRegs(regs);
  },

  restore_rt_frame(k: KernelApi, regs) {
    // sys_rt_sigreturn(): the frame is at the user sp, which must be 8-byte aligned
    const frame = regs.sp;
    if (frame & 7n || !k.accessOk(frame, RT_SIGFRAME.size)) return null;
    // restore_altstack(): no alternate stack
    return restoreSigframe(k, regs, frame + RT_SIGFRAME.sig);
  },

  ucontext_reg_offset(reg: string): number {
    return Number(UC.mcontext + scOffset(reg));
  },
};
