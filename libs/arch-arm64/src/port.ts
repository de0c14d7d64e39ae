// The arm64 "C": what is arch code in Linux (arch/arm64/kernel/process.c, signal.c and
// the restart helpers of asm/ptrace.h / asm/syscall.h), written over emulated memory with
// the kernel's own layouts.
//
// task_struct.thread (at TASK_THREAD from the task_struct), as arm64's thread_struct
// starts:
//   +0   struct cpu_context { x19, x20, ..., x28, fp, sp, pc }   (13 words, cpu_switch_to)
//   +104 uw.tp_value: the user TLS register TPIDR_EL0 while the task is switched out
//
// The rt signal frame is arm64's (signal.c get_sigframe / setup_sigframe / setup_return):
// below the interrupted sp, 16-byte aligned, a frame record {fp, lr} for unwinders and
// under it struct rt_sigframe { siginfo_t info; struct ucontext uc; }.

import type { PortC, RestartHooks } from '@archkit/generic-core/contracts/port';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import type { KernelApi, SigAction, Task } from '@archkit/generic-core/kernel/types';

// ------------------------------------------------------------------ layouts

/** struct cpu_context field offsets (asm/processor.h), relative to task_struct.thread. */
export const CPU_CONTEXT = {
  x19: 0n, x20: 8n, x21: 16n, x22: 24n, x23: 32n, x24: 40n, x25: 48n, x26: 56n, x27: 64n, x28: 72n,
  fp: 80n, sp: 88n, pc: 96n,
} as const;
export const CPU_CONTEXT_SIZE = 104n;
/** thread.uw.tp_value: saved TPIDR_EL0. */
export const THREAD_TP_VALUE = 104n;

/** siginfo_t is 128 bytes on every Linux arch. */
export const SIGINFO_SIZE = 128n;
/** struct ucontext (uapi asm/ucontext.h) offsets. */
export const UC = {
  flags: 0n,
  link: 8n,
  stack: 16n, // stack_t { void *ss_sp; int ss_flags; size_t ss_size; } = 24 bytes
  sigmask: 40n, // sigset_t (8 bytes) then padding to glibc's 1024-bit sigset
  mcontext: 176n, // struct sigcontext, 16-byte aligned (its __reserved is)
} as const;
/** struct sigcontext (uapi asm/sigcontext.h) offsets. */
export const SC = {
  fault_address: 0n,
  regs: 8n, // regs[31]
  sp: 256n,
  pc: 264n,
  pstate: 272n,
  reserved: 288n, // __reserved[4096], aligned 16
} as const;
export const SC_RESERVED_SIZE = 4096n;
export const SIGCONTEXT_SIZE = SC.reserved + SC_RESERVED_SIZE; // 4384
export const UCONTEXT_SIZE = UC.mcontext + SIGCONTEXT_SIZE; // 4560
/** struct rt_sigframe { siginfo_t info; struct ucontext uc; } */
export const RT_SIGFRAME = { info: 0n, uc: SIGINFO_SIZE, size: SIGINFO_SIZE + UCONTEXT_SIZE } as const; // 4688
/** struct frame_record { fp, lr } */
export const FRAME_RECORD_SIZE = 16n;

export const PSR_MODE_EL0t = 0x0n;
export const PSR_MODE_EL1h = 0x5n;
export const PSR_MODE_MASK = 0xfn;
export const PSR_F_BIT = 0x40n;
export const PSR_I_BIT = 0x80n;
export const PSR_IL_BIT = 1n << 20n;
export const FRAME_META_TYPE_FINAL = 1n;

export const CLONE_SETTLS = 0x00080000n;
export const SA_RESTORER = 0x04000000n;
export const SS_DISABLE = 2n;
export const SI_USER = 0n;
export const NO_SYSCALL = -1n;

const NGREG = 31;

// ------------------------------------------------------------------ helpers

function zero(k: KernelApi, addr: bigint, len: bigint): void {
  k.m.write(addr, new Uint8Array(Number(len)));
}

function ctx(k: KernelApi, t: Task, field: keyof typeof CPU_CONTEXT): bigint {
  return k.taskThread(t) + CPU_CONTEXT[field];
}

function regName(reg: string): string {
  if (reg === 'fp') return 'x29';
  if (reg === 'lr') return 'x30';
  return reg;
}

/** Offset of a register's slot in struct sigcontext. */
function sigcontextOffset(reg: string): bigint {
  const r = regName(reg);
  const m = /^x(\d+)$/.exec(r);
  if (m) {
    const i = Number(m[1]);
    if (i < NGREG) return SC.regs + BigInt(i * 8);
  }
  if (r === 'sp') return SC.sp;
  if (r === 'pc') return SC.pc;
  if (r === 'pstate') return SC.pstate;
  throw new Error(`arm64: struct sigcontext has no slot for register "${reg}"`);
}

// ------------------------------------------------------------------ restart (signal.c, ptrace.h)

export const restart: RestartHooks = {
  /** in_syscall(): syscallno != NO_SYSCALL; syscallno is an s32. */
  syscallNr: (regs) => regs.gets('syscallno'),
  /** NT_ARM_SYSTEM_CALL writes syscallno only (x8 alone was never picked up: 766a85d7bc5d). */
  setSyscallNr: (regs, nr) => regs.set('syscallno', nr),
  returnValue: (regs) => regs.gets('x0'),
  setReturnValue: (regs, v) => regs.set('x0', v),
  restoreOrigArg: (regs) => regs.set('x0', regs.get('orig_x0')),
  /** The svc is 4 bytes (compat Thumb would be 2; no AArch32 here). */
  restartAddress: (regs) => regs.pc - 4n,
  forgetSyscall: (regs) => regs.set('syscallno', NO_SYSCALL),
};

// ------------------------------------------------------------------ the port

export const c: PortC = {
  copyThread(k: KernelApi, p: Task, cloneFlags: bigint, usp: bigint, arg: bigint, regs: PtRegs | null, tls: bigint): void {
    const thread = k.taskThread(p);
    zero(k, thread, CPU_CONTEXT_SIZE + 8n);
    const childregs = k.taskPtRegs(p);

    if (regs !== null) {
      // fork/clone (and fork_idle's zero-filled regs): the parent's frame, x0 = 0.
      if (regs.base !== childregs.base) childregs.copyFrom(regs);
      childregs.set('x0', 0n);
      // TPIDR_EL0 may be newer than the parent's saved copy: read the live register.
      let tp = k.m.reg('tpidr_el0');
      if (usp !== 0n) childregs.sp = usp;
      if (cloneFlags & CLONE_SETTLS) tp = tls;
      k.writeWord(thread + THREAD_TP_VALUE, tp);
      // x19 = 0 (cpu_context zeroed): ret_from_fork takes the user path.
    } else {
      // Kernel thread: no user context to eret to. Until start_thread fills the frame,
      // a stray eret would be an illegal exception return (EL1h with PSTATE.IL).
      childregs.zero();
      childregs.set('pstate', PSR_MODE_EL1h | PSR_IL_BIT);
      childregs.set('stackframe_type', FRAME_META_TYPE_FINAL);
      k.writeWord(ctx(k, p, 'x19'), usp); // fn, untouched (C1)
      k.writeWord(ctx(k, p, 'x20'), arg); // its argument
    }
    k.writeWord(ctx(k, p, 'pc'), k.sym('ret_from_fork'));
    k.writeWord(ctx(k, p, 'sp'), childregs.base);
  },

  startThread(k: KernelApi, regs: PtRegs, pc: bigint, sp: bigint): void {
    void k;
    // start_thread_common(): every user register zero, pc and pstate set; syscallno is
    // kept (for the execve exit tracepoint), orig_x0 cleared; the final frame record
    // must stay valid.
    for (let i = 0; i < NGREG; i++) regs.set(`x${i}`, 0n);
    regs.set('pstate', PSR_MODE_EL0t);
    regs.pc = pc;
    regs.sp = sp;
    regs.set('orig_x0', 0n);
    regs.set('stackframe_fp', 0n);
    regs.set('stackframe_lr', 0n);
    regs.set('stackframe_type', FRAME_META_TYPE_FINAL);
  },

  setupRtFrame(k: KernelApi, sig: number, ka: SigAction, regs: PtRegs, blocked: bigint): void {
    // get_sigframe(): frame record just below sp, the rt_sigframe below that.
    const spTop = regs.sp;
    const nextFrame = (spTop - FRAME_RECORD_SIZE) & ~15n;
    const frame = (nextFrame & ~15n) - RT_SIGFRAME.size;
    zero(k, frame, spTop - frame);

    const uc = frame + RT_SIGFRAME.uc;
    const mc = uc + UC.mcontext;
    // setup_rt_frame(): uc_flags, uc_link, uc_stack (no sigaltstack: SS_DISABLE).
    k.writeWord(uc + UC.flags, 0n);
    k.writeWord(uc + UC.link, 0n);
    k.writeWord(uc + UC.stack, 0n);
    k.m.writeUint(uc + UC.stack + 8n, 4, SS_DISABLE);
    k.writeWord(uc + UC.stack + 16n, 0n);
    // setup_sigframe(): frame record, every register, fault address, mask. __reserved
    // holds no FP/SIMD record (not modelled): it starts with the zero terminator.
    k.writeWord(nextFrame, regs.get('x29'));
    k.writeWord(nextFrame + 8n, regs.get('x30'));
    for (let i = 0; i < NGREG; i++) k.writeWord(mc + SC.regs + BigInt(i * 8), regs.get(`x${i}`));
    k.writeWord(mc + SC.sp, regs.sp);
    k.writeWord(mc + SC.pc, regs.pc);
    k.writeWord(mc + SC.pstate, regs.get('pstate'));
    k.writeWord(mc + SC.fault_address, 0n);
    k.writeWord(uc + UC.sigmask, blocked);
    // siginfo: si_signo, si_errno, si_code (a kill(): SI_USER).
    k.m.writeUint(frame + RT_SIGFRAME.info, 4, BigInt(sig));
    k.m.writeUint(frame + RT_SIGFRAME.info + 4n, 4, 0n);
    k.m.writeUint(frame + RT_SIGFRAME.info + 8n, 4, SI_USER);

    // setup_return(): the handler as a call, returning to the sigreturn trampoline.
    const restorer = ka.flags & SA_RESTORER ? ka.restorer : k.sym('__kernel_rt_sigreturn');
    regs.set('x0', BigInt(sig));
    // Linux sets x1/x2 only for SA_SIGINFO; for other handlers the ABI leaves them
    // unspecified, so they are always set here (a handler may edit its context).
    regs.set('x1', frame + RT_SIGFRAME.info);
    regs.set('x2', uc);
    regs.sp = frame;
    regs.set('x29', nextFrame);
    regs.set('x30', restorer);
    regs.pc = ka.handler;
  },

  restoreRtFrame(k: KernelApi, regs: PtRegs): { blocked: bigint } {
    // rt_sigreturn(): the frame is at the user sp, which must be 16-byte aligned.
    const frame = regs.sp;
    if (frame & 15n) k.bug('C7', `rt_sigreturn: user sp 0x${frame.toString(16)} is not 16-byte aligned (arm64 raises SIGSEGV here)`);
    const uc = frame + RT_SIGFRAME.uc;
    const mc = uc + UC.mcontext;
    const blocked = k.readWord(uc + UC.sigmask);
    for (let i = 0; i < NGREG; i++) regs.set(`x${i}`, k.readWord(mc + SC.regs + BigInt(i * 8)));
    regs.sp = k.readWord(mc + SC.sp);
    regs.pc = k.readWord(mc + SC.pc);
    const pstate = k.readWord(mc + SC.pstate);
    regs.set('pstate', pstate);
    // Never restart a syscall because of what the restored x0 happens to hold (C6).
    restart.forgetSyscall(regs);
    // valid_user_regs(): only EL0t with IRQ/FIQ unmasked goes back to user mode.
    if ((pstate & PSR_MODE_MASK) !== PSR_MODE_EL0t || pstate & (PSR_I_BIT | PSR_F_BIT)) {
      k.bug('C7', `rt_sigreturn: saved pstate 0x${pstate.toString(16)} is not a valid EL0t state (arm64 raises SIGSEGV here)`);
    }
    return { blocked };
  },

  switchToC(k: KernelApi, prev: Task, next: Task): void {
    // tls_thread_switch(): save the outgoing TPIDR_EL0, load the incoming one.
    k.writeWord(k.taskThread(prev) + THREAD_TP_VALUE, k.m.reg('tpidr_el0'));
    k.m.setReg('tpidr_el0', k.readWord(k.taskThread(next) + THREAD_TP_VALUE));
  },

  ucontextRegOffset(reg: string): number {
    return Number(UC.mcontext + sigcontextOffset(reg));
  },

  restart,

  normaliseResult(raw: Record<string, bigint>): bigint {
    const x0 = raw['x0'] ?? raw['ret'];
    if (x0 === undefined) throw new Error('arm64: no x0 in the raw result registers');
    return BigInt.asIntN(64, x0);
  },
};
