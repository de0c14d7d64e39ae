// arch/m68k/kernel/signal.c (Linux 6.18, CONFIG_MMU, not ColdFire): the rt and the old
// signal frames with their trampolines on the user stack, rt_restore_ucontext /
// restore_sigcontext, and do_signal()'s restart decision.
//
// There is no vDSO: setup_rt_frame writes retcode (moveq #(__NR_rt_sigreturn ^ 0xff),%d0;
// not.b %d0; trap #0) into the frame and points pretcode, the handler's return address,
// at it; sa_restorer is ignored. The user stack pointer is the banked usp (rdusp/wrusp),
// and d6, d7, a3-a6 come from and go to the switch_stack entry.S pushed just below
// pt_regs (do_signal_return, the sigreturn wrappers). The restart decision is taken after
// get_signal() (handle_restart, x86's shape), keyed on orig_d0 >= 0; a rewind puts the
// syscall number back in d0, so a second pass finds no -ERESTART value there, and both
// sigreturns set orig_d0 = -1.
//
// Only format-0 exception frames are modelled (the CPU model delivers no other):
// frame_extra_sizes() is 0, stkadj stays 0 and mangle_kernel_stack() has nothing to move.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi, KSignal } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { handled } from '@archkit/generic-core/kernel/entry/common';

export const SWITCH_STACK_SIZE = 28n;
/** struct switch_stack (uapi asm/ptrace.h). */
export const SW = { d6: 0n, d7: 4n, a3: 8n, a4: 12n, a5: 16n, a6: 20n, retpc: 24n } as const;
export const SIGINFO_SIZE = 128n;
/** struct rt_sigframe: pretcode, sig, pinfo, puc, retcode[8], info, uc. */
export const RT_SIGFRAME = { pretcode: 0n, sig: 4n, pinfo: 8n, puc: 12n, retcode: 16n, info: 24n, uc: 152n, size: 684n } as const;
/** struct ucontext (asm/ucontext.h): uc_mcontext {version, gregs[18], fpregs}, uc_filler[80] (uc_fpstate, uc_formatvec = filler[54], uc_extra), uc_sigmask. */
export const UC = { flags: 0n, link: 4n, stack: 8n, mcontext: 20n, gregs: 24n, fpregs: 96n, fpstate: 204n, formatvec: 420n, extra: 424n, sigmask: 524n, size: 532n } as const;
export const MCONTEXT_VERSION = 2n;
/** gregs[]: d0-d7, a0-a6, usp, pc, sr. */
export const GREGS = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'usp', 'pc', 'sr'];
/** struct sigframe: pretcode, sig, code, psc, retcode[8], extramask[1], sc. */
export const SIGFRAME = { pretcode: 0n, sig: 4n, code: 8n, psc: 12n, retcode: 16n, extramask: 24n, sc: 28n, size: 312n } as const;
/** struct sigcontext (uapi asm/sigcontext.h). */
export const SC = { mask: 0n, usp: 4n, d0: 8n, d1: 12n, a0: 16n, a1: 20n, sr: 24n, pc: 26n, formatvec: 30n, size: 284n } as const;
/** moveq #(__NR_rt_sigreturn ^ 0xff),%d0; not.b %d0 / trap #0. */
const RT_RETCODE = (nr: number) => [0x70004600n + (BigInt(nr ^ 0xff) << 16n), 0x4e40n];
/** moveq #__NR_sigreturn,%d0; trap #0. */
const RETCODE = (nr: number) => 0x70004e40n + (BigInt(nr) << 16n);
const SS_DISABLE = 2n;
/** signal.c frame_size_change[] (680x0): extra bytes per frame format, -1: a format user mode may not return to. */
const FRAME_SIZE_CHANGE = [0, -1, 4, 4, 8, -1, -1, 52, -1, 12, 24, 84, -1, -1, -1, -1];

const sw = (regs: PtRegs) => regs.base - SWITCH_STACK_SIZE;
const w32 = (k: KernelApi, a: bigint, v: bigint) => k.m.writeUint(a, 4, BigInt.asUintN(32, v));
const r32 = (k: KernelApi, a: bigint) => k.m.readUint(a, 4);

/** A register as the signal code reads it: pt_regs, the switch_stack below it, or rdusp(). */
function getReg(k: KernelApi, regs: PtRegs, r: string): bigint {
  if (r === 'usp') return k.m.reg('usp');
  if (r in SW) return r32(k, sw(regs) + SW[r as keyof typeof SW]);
  return regs.get(r);
}

function setReg(k: KernelApi, regs: PtRegs, r: string, v: bigint): void {
  if (r === 'usp') k.m.setReg('usp', BigInt.asUintN(32, v));
  else if (r in SW) w32(k, sw(regs) + SW[r as keyof typeof SW], v);
  else regs.set(r, v);
}

/** The frame the rte will pop: pt_regs moved by stkadj (always 0 here), and its format. */
function rteRegs(k: KernelApi, regs: PtRegs): { format: number; vector: bigint } {
  if (regs.get('stkadj') !== 0n) k.bug('C7', 'm68k: a signal frame for pt_regs with stkadj set (a longer exception frame) is not modelled');
  const fv = regs.get('formatvec');
  return { format: Number(fv >> 12n), vector: fv & 0xfffn };
}

/** get_sigframe(): below the usp (no sigaltstack), 8-byte aligned. */
const getSigframe = (k: KernelApi, size: bigint) => (k.m.reg('usp') - size) & ~7n;

/** mangle_kernel_stack(): the format the user's frame asks for; a longer one would move pt_regs. */
function mangleKernelStack(k: KernelApi, regs: PtRegs, formatvec: bigint): boolean {
  const extra = FRAME_SIZE_CHANGE[Number((formatvec >> 12n) & 0xfn)]!;
  if (extra < 0) return false; // a format the CPU never stacks: a bad frame
  if (extra > 0) k.bug('C7', `m68k: sigreturn to a format-${formatvec >> 12n} frame: mangle_kernel_stack would move pt_regs below the stack top, which the kit's task_pt_regs() does not follow (not modelled)`);
  regs.set('formatvec', formatvec & 0xffffn);
  return true;
}

/** setup_frame(): the old-style frame, for a handler without SA_SIGINFO. */
function setupFrame(k: KernelApi, ksig: KSignal, regs: PtRegs): boolean {
  const t = rteRegs(k, regs);
  if (FRAME_SIZE_CHANGE[t.format]! !== 0) return false;
  const frame = getSigframe(k, SIGFRAME.size);
  if (!k.accessOk(frame, SIGFRAME.size)) return false;
  k.m.write(frame, new Uint8Array(Number(SIGFRAME.size)));
  w32(k, frame + SIGFRAME.sig, BigInt(ksig.sig));
  w32(k, frame + SIGFRAME.code, t.vector);
  w32(k, frame + SIGFRAME.psc, frame + SIGFRAME.sc);
  w32(k, frame + SIGFRAME.extramask, ksig.oldset >> 32n);
  // setup_sigcontext(): the scratch registers only; a handler preserves the rest (C ABI)
  const sc = frame + SIGFRAME.sc;
  w32(k, sc + SC.mask, ksig.oldset & 0xffffffffn);
  w32(k, sc + SC.usp, k.m.reg('usp'));
  w32(k, sc + SC.d0, regs.get('d0'));
  w32(k, sc + SC.d1, regs.get('d1'));
  w32(k, sc + SC.a0, regs.get('a0'));
  w32(k, sc + SC.a1, regs.get('a1'));
  k.m.writeUint(sc + SC.sr, 2, regs.get('sr'));
  w32(k, sc + SC.pc, regs.pc);
  k.m.writeUint(sc + SC.formatvec, 2, regs.get('formatvec'));
  w32(k, frame + SIGFRAME.pretcode, frame + SIGFRAME.retcode);
  w32(k, frame + SIGFRAME.retcode, RETCODE(k.desc.syscall.numbers['sigreturn']!));
  k.m.setReg('usp', frame);
  regs.pc = ksig.ka.handler;
  return true;
}

/**
 * do_sigreturn()'s body: the old-style frame at usp - 4 (the handler's rts popped pretcode)
 * back into pt_regs and the usp. Returns the mask to restore, or null for a bad frame.
 */
export function restoreSigframe(k: KernelApi, regs: PtRegs): { blocked: bigint } | null {
  const frame = k.m.reg('usp') - 4n;
  if (!k.accessOk(frame, SIGFRAME.size)) return null;
  const sc = frame + SIGFRAME.sc;
  const blocked = r32(k, sc + SC.mask) | (r32(k, frame + SIGFRAME.extramask) << 32n);
  // restore_sigcontext(): pending restarted syscalls return -EINTR
  k.current().restartBlock = undefined;
  regs.set('d0', r32(k, sc + SC.d0));
  regs.set('d1', r32(k, sc + SC.d1));
  regs.set('a0', r32(k, sc + SC.a0));
  regs.set('a1', r32(k, sc + SC.a1));
  regs.set('sr', (regs.get('sr') & 0xff00n) | (k.m.readUint(sc + SC.sr, 2) & 0xffn));
  regs.pc = r32(k, sc + SC.pc);
  regs.set('orig_d0', -1n); // no longer a syscall frame: nothing to restart
  k.m.setReg('usp', r32(k, sc + SC.usp));
  if (!mangleKernelStack(k, regs, k.m.readUint(sc + SC.formatvec, 2))) return null;
  return { blocked };
}

export const hooks: SignalHooks = {
  /** handle_signal(): setup_rt_frame for an SA_SIGINFO handler, setup_frame otherwise. */
  setup_rt_frame(k: KernelApi, ksig, regs) {
    if (!(ksig.ka.flags & k.abi.sa.SA_SIGINFO)) return setupFrame(k, ksig, regs);
    const t = rteRegs(k, regs);
    if (FRAME_SIZE_CHANGE[t.format]! !== 0) return false;
    const frame = getSigframe(k, RT_SIGFRAME.size);
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return false;
    k.m.write(frame, new Uint8Array(Number(RT_SIGFRAME.size)));
    w32(k, frame + RT_SIGFRAME.sig, BigInt(ksig.sig));
    w32(k, frame + RT_SIGFRAME.pinfo, frame + RT_SIGFRAME.info);
    w32(k, frame + RT_SIGFRAME.puc, frame + RT_SIGFRAME.uc);
    w32(k, frame + RT_SIGFRAME.info, BigInt(ksig.sig)); // si_signo; si_errno, si_code (SI_USER) 0
    // the ucontext: no link, no alternate stack (__save_altstack), rt_setup_ucontext()
    const uc = frame + RT_SIGFRAME.uc;
    w32(k, uc + UC.stack + 4n, SS_DISABLE);
    w32(k, uc + UC.mcontext, MCONTEXT_VERSION);
    GREGS.forEach((r, i) => w32(k, uc + UC.gregs + BigInt(4 * i), r === 'sr' ? regs.get('sr') : getReg(k, regs, r)));
    w32(k, uc + UC.formatvec, regs.get('formatvec'));
    // rt_save_fpu_state(): the FPU is not modelled, uc_fpstate stays a null frame
    writeSigset(k, uc + UC.sigmask, ksig.oldset);
    // the handler's rts lands on the sigreturn trampoline in the frame
    w32(k, frame + RT_SIGFRAME.pretcode, frame + RT_SIGFRAME.retcode);
    const [rc0, rc1] = RT_RETCODE(k.desc.syscall.numbers['rt_sigreturn']!);
    w32(k, frame + RT_SIGFRAME.retcode, rc0!);
    k.m.writeUint(frame + RT_SIGFRAME.retcode + 4n, 2, rc1!);
    k.m.setReg('usp', frame);
    regs.pc = ksig.ka.handler;
    return true;
  },

  /** do_rt_sigreturn()'s body: the frame at usp - 4, rt_restore_ucontext() into pt_regs and the switch_stack. */
  restore_rt_frame(k: KernelApi, regs) {
    const frame = k.m.reg('usp') - 4n;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = frame + RT_SIGFRAME.uc;
    const blocked = readSigset(k, uc + UC.sigmask);
    if (r32(k, uc + UC.mcontext) !== MCONTEXT_VERSION) return null;
    GREGS.forEach((r, i) => {
      const v = r32(k, uc + UC.gregs + BigInt(4 * i));
      if (r === 'sr') regs.set('sr', (regs.get('sr') & 0xff00n) | (v & 0xffn));
      else setReg(k, regs, r, v);
    });
    regs.set('orig_d0', -1n); // no longer a syscall frame: nothing to restart
    if (!mangleKernelStack(k, regs, r32(k, uc + UC.formatvec))) return null;
    return { blocked };
  },

  /**
   * do_signal(regs): get_signal() (which first clears TIF_NOTIFY_SIGNAL and runs task work),
   * then handle_signal() or, with no handler, handle_restart(regs, NULL, 0): the after-
   * get_signal shape, with the frame "in a syscall" while orig_d0 >= 0.
   */
  *arch_do_signal_or_restart(k, regs) {
    const t = k.current();
    k.writeWord(k.threadSlot(t, 'esp0'), regs.base);
    if (k.testTif(t, 'NOTIFY_SIGNAL')) handled(k, 'NOTIFY_SIGNAL', 'task_work_run');
    yield* k.signalRestartAfterGetSignal(regs);
  },

  ucontext_reg_offset(reg: string): number {
    const i = GREGS.indexOf(reg === 'sp' ? 'usp' : reg === 'fp' ? 'a6' : reg);
    if (i < 0) throw new Error(`m68k: uc_mcontext.gregs has no slot for register "${reg}"`);
    return Number(UC.gregs) + 4 * i;
  },
};
