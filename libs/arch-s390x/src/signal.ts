// arch/s390/kernel/signal.c (Linux 6.18): the rt signal frame, rt_sigreturn's
// restore_sigregs, and arch_do_signal_or_restart in s390's own shape: the syscall the frame
// belongs to (int_code, while PIF_SYSCALL is set) is captured in thread.system_call before
// get_signal, PIF_SYSCALL is cleared on the first pass whatever happens, and a restart
// rewinds psw.addr by the instruction length in int_code >> 16 (__rewind_psw), except for
// ERESTART_RESTARTBLOCK without a handler, which goes through the vDSO's
// __kernel_restart_syscall with the return address in restart_block.arch_data.
//
// The rt_sigframe holds, from the new sp up: 160 bytes the handler may use as its own
// stack frame, the svc halfword, the siginfo, then an extended ucontext (flags, link,
// the stack, the mcontext as _sigregs, the signal mask in a 128-byte slot ending at
// offset 512, and _sigregs_ext). _sigregs is the PSW, 16 gprs, 16 access registers,
// then fpc, a pad word and 16 fprs. The model CPU has no vector
// facility (cpu_has_vx() false): the frame ends before uc_mcontext_ext and uc_flags is 0.
// A handler returns through r14: sa_restorer with SA_RESTORER, else the vDSO's
// __kernel_rt_sigreturn (glibc on s390 sets no restorer of its own).

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { Gen, KernelApi, KSignal } from '@archkit/generic-core/kernel/types';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '@archkit/generic-core/kernel/abi';
import { PSW, PSW_USER_BITS } from './cpu.ts';
import { clearPif, PIF, testPif } from './syscall.ts';
import { ARCH_DATA } from './entry.ts';

/** _sigregs (uapi asm/sigcontext.h): psw, gprs, acrs, fpregs. */
export const SREGS = { pswMask: 0n, pswAddr: 8n, gprs: 16n, acrs: 144n, fpc: 208n, fprs: 216n, size: 344n } as const;
/** struct ucontext_extended (uapi asm/ucontext.h). */
export const UC = { flags: 0n, link: 8n, stack: 16n, mcontext: 40n, sigmask: 384n, mcontextExt: 512n } as const;
/** struct rt_sigframe, without _sigregs_ext (no vector facility). */
export const RT_SIGFRAME = { svcInsn: 160n, info: 168n, uc: 296n, size: 296n + UC.mcontextExt } as const;
const SS_DISABLE = 2n;

/**
 * __rewind_psw(psw, ilc): the address of the instruction `ilc` bytes back, wrapped to the
 * addressing mode.
 */
export function rewindPsw(mask: bigint, addr: bigint, ilc: bigint): bigint {
  const amode = mask & PSW.EA ? (1n << 64n) - 1n : mask & PSW.BA ? 0x7fffffffn : 0xffffffn;
  return (addr - ilc) & amode;
}

function ucRegOffset(reg: string): bigint {
  if (reg === 'pc' || reg === 'psw_addr') return UC.mcontext + SREGS.pswAddr;
  if (reg === 'pswm' || reg === 'psw_mask') return UC.mcontext + SREGS.pswMask;
  const m = /^r(\d+)$/.exec(reg);
  if (m && Number(m[1]) < 16) return UC.mcontext + SREGS.gprs + 8n * BigInt(m[1]!);
  const a = /^a(\d+)$/.exec(reg);
  if (a && Number(a[1]) < 16) return UC.mcontext + SREGS.acrs + 4n * BigInt(a[1]!);
  throw new Error(`s390x: _sigregs has no slot for register "${reg}"`);
}

/** save_sigregs(): the clean user PSW mask, the address, r0-r15, the access and FP registers. */
function saveSigregs(k: KernelApi, regs: PtRegs, sregs: bigint): void {
  k.writeWord(sregs + SREGS.pswMask, PSW_USER_BITS | (regs.get('psw_mask') & (PSW.USER | PSW.RI)));
  k.writeWord(sregs + SREGS.pswAddr, regs.pc);
  for (let i = 0; i < 16; i++) k.writeWord(sregs + SREGS.gprs + BigInt(8 * i), regs.get(`r${i}`));
  // store_sigregs(): save_access_regs(current->thread.acrs), save_user_fpu_regs()
  for (let i = 0; i < 16; i++) k.m.writeUint(sregs + SREGS.acrs + BigInt(4 * i), 4, k.m.reg(`a${i}`));
  k.m.writeUint(sregs + SREGS.fpc, 4, 0n);
  for (let i = 0; i < 16; i++) k.writeWord(sregs + SREGS.fprs + BigInt(8 * i), k.m.reg(`f${i}`));
}

/** restore_sigregs(): false for a frame the kernel refuses (-EINVAL: runtime instrumentation it never enabled). */
function restoreSigregs(k: KernelApi, regs: PtRegs, sregs: bigint): boolean {
  // (restart_block.fn = do_no_restart_syscall: the core's rt_sigreturn drops the block)
  const userMask = k.readWord(sregs + SREGS.pswMask);
  if (userMask & PSW.RI) return false;
  let mask = (regs.get('psw_mask') & ~(PSW.USER | PSW.RI)) | (userMask & (PSW.USER | PSW.RI));
  // no home space for user mode; EA forces BA
  if ((mask & PSW.ASC) === PSW.ASC_HOME) mask = PSW.ASC_PRIMARY | (mask & ~PSW.ASC);
  if (mask & PSW.EA) mask |= PSW.BA;
  regs.set('psw_mask', mask);
  regs.pc = k.readWord(sregs + SREGS.pswAddr);
  for (let i = 0; i < 16; i++) regs.set(`r${i}`, k.readWord(sregs + SREGS.gprs + BigInt(8 * i)));
  const acrs = k.threadSlot(k.current(), 'acrs');
  for (let i = 0; i < 16; i++) {
    const v = k.m.readUint(sregs + SREGS.acrs + BigInt(4 * i), 4);
    k.m.writeUint(acrs + BigInt(4 * i), 4, v);
    k.m.setReg(`a${i}`, v); // load_sigregs(): restore_access_regs
  }
  for (let i = 0; i < 16; i++) k.m.setReg(`f${i}`, k.readWord(sregs + SREGS.fprs + BigInt(8 * i)));
  // the restored r2 is the user's, not a -ERESTART* code: drop the syscall mark
  clearPif(regs, PIF.SYSCALL);
  return true;
}

/** handle_signal() -> setup_rt_frame() (every handler gets the rt frame here; see the README). */
function setupRtFrame(k: KernelApi, ksig: KSignal, regs: PtRegs): boolean {
  const sp = regs.get('r15');
  // get_sigframe(): below the user sp, 8-byte aligned (no sigaltstack)
  const frame = (sp - RT_SIGFRAME.size) & ~7n;
  if (!k.accessOk(frame, RT_SIGFRAME.size)) return false;
  k.m.write(frame, new Uint8Array(Number(RT_SIGFRAME.size)));
  // the back chain
  k.writeWord(frame, sp);
  const restorer = ksig.ka.flags & k.abi.sa.SA_RESTORER ? ksig.ka.restorer : k.sym('__kernel_rt_sigreturn');
  // siginfo: si_signo (SI_USER: si_code 0)
  k.m.writeUint(frame + RT_SIGFRAME.info, 4, BigInt(ksig.sig));
  const uc = frame + RT_SIGFRAME.uc;
  // uc_flags 0 (no UC_VXRS), uc_link NULL, __save_altstack: ss_sp 0, SS_DISABLE, ss_size 0
  k.m.writeUint(uc + UC.stack + 8n, 4, SS_DISABLE);
  saveSigregs(k, regs, uc + UC.mcontext);
  writeSigset(k, uc + UC.sigmask, ksig.oldset);
  // the handler: r14 = restorer, r15 = frame, default amode and primary space
  regs.set('r14', restorer);
  regs.set('r15', frame);
  regs.set('psw_mask', PSW.EA | PSW.BA | (PSW_USER_BITS & PSW.ASC) | (regs.get('psw_mask') & ~PSW.ASC));
  regs.pc = ksig.ka.handler;
  regs.set('r2', BigInt(ksig.sig));
  regs.set('r3', frame + RT_SIGFRAME.info);
  regs.set('r4', uc);
  regs.set('r5', k.readWord(k.threadSlot(k.current(), 'last_break')));
  return true;
}

/** arch_do_signal_or_restart(regs), in the exit loop with interrupts on. */
function* archDoSignalOrRestart(k: KernelApi, regs: PtRegs): Gen {
  const t = k.current();
  // thread.system_call: captured before get_signal, where a debugger may change everything
  const systemCall = testPif(regs, PIF.SYSCALL) ? regs.get('int_code') : 0n;
  k.m.writeUint(k.threadSlot(k.current(), 'system_call'), 4, systemCall);
  const ksig = yield* k.getSignal();
  const r2 = () => regs.gets('r2');
  const rewind = () => {
    regs.set('r2', regs.get('orig_gpr2'));
    regs.pc = rewindPsw(regs.get('psw_mask'), regs.pc, regs.get('int_code') >> 16n);
  };
  if (ksig) {
    if (systemCall) {
      regs.set('int_code', systemCall);
      const err = r2();
      if (err === -ERESTART_RESTARTBLOCK || err === -ERESTARTNOHAND || (err === -ERESTARTSYS && !(ksig.ka.flags & k.abi.sa.SA_RESTART))) {
        regs.set('r2', -k.abi.errno.EINTR);
      } else if (err === -ERESTARTSYS || err === -ERESTARTNOINTR) {
        rewind();
        k.trace.push(`${t.pid}:restart-rewind`);
      }
    }
    // decided once: a later pass must not restart it again
    clearPif(regs, PIF.SYSCALL);
    k.handleSignal(ksig, regs);
    return;
  }
  // nothing to deliver: an interrupted syscall may still need its restart
  clearPif(regs, PIF.SYSCALL);
  if (!systemCall) return;
  regs.set('int_code', systemCall);
  const err = r2();
  if (err === -ERESTART_RESTARTBLOCK) {
    // through restart_syscall in the vDSO; its entry comes back to this return address
    regs.set('r2', regs.get('orig_gpr2'));
    t.arch[ARCH_DATA] = regs.pc;
    regs.pc = k.sym('__kernel_restart_syscall');
    k.trace.push(`${t.pid}:restart-rewind restart_syscall`);
  } else if (err === -ERESTARTNOHAND || err === -ERESTARTSYS || err === -ERESTARTNOINTR) {
    rewind();
    k.trace.push(`${t.pid}:restart-rewind`);
  }
}

export const hooks: SignalHooks = {
  setup_rt_frame: setupRtFrame,

  restore_rt_frame(k: KernelApi, regs) {
    // sys_rt_sigreturn(): the frame is at the user sp
    const frame = regs.get('r15');
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = frame + RT_SIGFRAME.uc;
    const blocked = readSigset(k, uc + UC.sigmask);
    if (!restoreSigregs(k, regs, uc + UC.mcontext)) return null;
    return { blocked };
  },

  arch_do_signal_or_restart: archDoSignalOrRestart,

  ucontext_reg_offset(reg: string): number {
    return Number(ucRegOffset(reg));
  },
};
