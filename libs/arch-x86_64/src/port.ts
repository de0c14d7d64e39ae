// The x86-64 "C": what is arch code in Linux (arch/x86/kernel/process.c, process_64.c,
// signal.c, signal_64.c), written over emulated memory with the kernel's own layouts.
//
// task_struct.thread (at TASK_THREAD from the task_struct), this port's layout:
//   +0   sp       kernel rsp saved by __switch_to_asm; points at an inactive_task_frame
//   +8   fsbase   user TLS base (MSR_FS_BASE), saved/loaded by switchToC
//
// struct inactive_task_frame (arch/x86/include/asm/switch_to.h, 64-bit, lowest address
// first): r15 r14 r13 r12 bx bp ret_addr. A newborn's frame sits just below its pt_regs,
// so when __switch_to_asm pops it and returns into ret_from_fork, rsp is the pt_regs base.

import type { PortC, RestartHooks } from '@archkit/generic-core/contracts/port';
import type { PtRegs } from '@archkit/generic-core/kernel/ptregs';
import type { KernelApi, SigAction, Task } from '@archkit/generic-core/kernel/types';

export const THREAD_SP = 0n;
export const THREAD_FSBASE = 8n;

/** struct inactive_task_frame: word offsets and size. */
export const FRAME = { r15: 0n, r14: 8n, r13: 16n, r12: 24n, bx: 32n, bp: 40n, ret_addr: 48n, size: 56n } as const;

export const KERNEL_CS = 0x10n;
export const KERNEL_DS = 0x18n;
export const USER_DS = 0x2bn;
export const USER_CS = 0x33n;

const X86_EFLAGS_CF = 0x1n;
const X86_EFLAGS_FIXED = 0x2n;
const X86_EFLAGS_PF = 0x4n;
const X86_EFLAGS_AF = 0x10n;
const X86_EFLAGS_ZF = 0x40n;
const X86_EFLAGS_SF = 0x80n;
const X86_EFLAGS_TF = 0x100n;
const X86_EFLAGS_IF = 0x200n;
const X86_EFLAGS_DF = 0x400n;
const X86_EFLAGS_OF = 0x800n;
const X86_EFLAGS_RF = 0x10000n;
const X86_EFLAGS_AC = 0x40000n;
/** Flags user space may change through sigreturn (signal.c FIX_EFLAGS). */
const FIX_EFLAGS =
  X86_EFLAGS_AC | X86_EFLAGS_OF | X86_EFLAGS_DF | X86_EFLAGS_TF | X86_EFLAGS_SF | X86_EFLAGS_ZF |
  X86_EFLAGS_AF | X86_EFLAGS_PF | X86_EFLAGS_CF | X86_EFLAGS_RF;

const CLONE_SETTLS = 0x80000n;

// ---------------------------------------------------------------------------------------
// struct rt_sigframe (signal_64.c / sigframe.h): pretcode, ucontext, siginfo.
export const SIGFRAME = { pretcode: 0, uc: 8, info: 8 + 304, size: 8 + 304 + 128 } as const;

/** struct ucontext (uapi asm-generic/ucontext.h as x86 uses it). */
export const UC = { flags: 0, link: 8, stack: 16, mcontext: 40, sigmask: 296, size: 304 } as const;
const UC_SIGCONTEXT_SS = 0x2n;
const UC_STRICT_RESTORE_SS = 0x4n;
const SS_DISABLE = 2n;

/** struct sigcontext, 64-bit (uapi/asm/sigcontext.h): register -> offset in the sigcontext. */
export const SIGCONTEXT: Record<string, number> = {
  r8: 0, r9: 8, r10: 16, r11: 24, r12: 32, r13: 40, r14: 48, r15: 56,
  rdi: 64, rsi: 72, rbp: 80, rbx: 88, rdx: 96, rax: 104, rcx: 112, rsp: 120, rip: 128,
  eflags: 136, cs: 144, gs: 146, fs: 148, ss: 150,
  err: 152, trapno: 160, oldmask: 168, cr2: 176, fpstate: 184, reserved1: 192,
};
const SIGCONTEXT_SIZE = 256;

/** sigcontext slot <- pt_regs field, for the eight-byte general registers. */
const SC_FROM_PT: Array<[string, string]> = [
  ['r8', 'r8'], ['r9', 'r9'], ['r10', 'r10'], ['r11', 'r11'], ['r12', 'r12'], ['r13', 'r13'],
  ['r14', 'r14'], ['r15', 'r15'], ['rdi', 'di'], ['rsi', 'si'], ['rbp', 'bp'], ['rbx', 'bx'],
  ['rdx', 'dx'], ['rax', 'ax'], ['rcx', 'cx'], ['rsp', 'sp'], ['rip', 'ip'],
];

/** Machine or pt_regs register name -> sigcontext slot name. */
const SC_ALIASES: Record<string, string> = {
  ...Object.fromEntries(SC_FROM_PT.map(([sc, pt]) => [pt, sc])),
  ...Object.fromEntries(SC_FROM_PT.map(([sc]) => [sc, sc])),
  flags: 'eflags', rflags: 'eflags', eflags: 'eflags', pc: 'rip', sp: 'rsp',
};

function threadOf(k: KernelApi, t: Task): bigint {
  return k.taskThread(t);
}

/** The live user TLS base of the running task (MSR_FS_BASE). */
function liveFsBase(k: KernelApi): bigint {
  return k.m.reg('fs_base');
}

// ---------------------------------------------------------------------------------------
// restart primitives (signal.c, syscall.h)

const restart: RestartHooks = {
  // syscall_get_nr(): orig_ax, -1 when the frame is not a syscall
  syscallNr: (regs) => regs.gets('orig_ax'),
  // a tracer writing the syscall number writes orig_ax (ptrace.c putreg)
  setSyscallNr: (regs, nr) => regs.set('orig_ax', nr),
  returnValue: (regs) => regs.gets('ax'),
  setReturnValue: (regs, v) => regs.set('ax', v),
  // the return value overwrote rax, which held the syscall number
  restoreOrigArg: (regs) => regs.set('ax', regs.get('orig_ax')),
  // `syscall` is 2 bytes (0f 05)
  restartAddress: (regs) => regs.get('ip') - 2n,
  forgetSyscall: (regs) => regs.set('orig_ax', -1n),
};

// ---------------------------------------------------------------------------------------

export const c: PortC = {
  copyThread(k: KernelApi, p: Task, cloneFlags: bigint, usp: bigint, arg: bigint, regs: PtRegs | null, tls: bigint): void {
    const childregs = k.taskPtRegs(p);
    const frame = childregs.base - FRAME.size;
    const thread = threadOf(k, p);
    k.m.write(frame, new Uint8Array(Number(FRAME.size)));
    k.writeWord(frame + FRAME.ret_addr, k.sym('ret_from_fork'));
    k.writeWord(thread + THREAD_SP, frame);

    if (regs === null) {
      // Kernel thread: usp is fn, arg its argument (kthread_frame_init). The pt_regs are
      // not a user frame (yet): no syscall, kernel segments, interrupts on.
      childregs.zero();
      childregs.set('orig_ax', -1n);
      childregs.set('cs', KERNEL_CS);
      childregs.set('ss', KERNEL_DS);
      childregs.set('flags', X86_EFLAGS_IF | X86_EFLAGS_FIXED);
      k.writeWord(frame + FRAME.bx, usp);
      k.writeWord(frame + FRAME.r12, arg);
      k.writeWord(thread + THREAD_FSBASE, 0n);
      return;
    }

    // User fork/clone: the parent's registers, returning 0 in the child. bx = 0 in the
    // frame tells ret_from_fork there is no kernel function to call.
    if (childregs.base !== regs.base) childregs.copyFrom(regs);
    childregs.set('ax', 0n);
    if (usp !== 0n) childregs.set('sp', usp);
    // The parent is running: its TLS base is the live MSR.
    k.writeWord(thread + THREAD_FSBASE, cloneFlags & CLONE_SETTLS ? tls : liveFsBase(k));
  },

  startThread(k: KernelApi, regs: PtRegs, pc: bigint, sp: bigint): void {
    // start_thread_common(): fs/gs 0, user segments, IF; ELF_PLAT_INIT clears the rest.
    const orig = regs.get('orig_ax');
    regs.zero();
    regs.set('orig_ax', orig);
    regs.set('ip', pc);
    regs.set('sp', sp);
    regs.set('cs', USER_CS);
    regs.set('ss', USER_DS);
    regs.set('flags', X86_EFLAGS_IF);
    const cur = k.current();
    k.writeWord(threadOf(k, cur) + THREAD_FSBASE, 0n);
    k.m.setReg('fs_base', 0n);
  },

  setupRtFrame(k: KernelApi, sig: number, ka: SigAction, regs: PtRegs, blocked: bigint): void {
    // get_sigframe(): skip the 128-byte red zone, then align so that the handler starts
    // as if called (rsp + 8 is 16-byte aligned).
    let sp = regs.get('sp') - 128n - BigInt(SIGFRAME.size);
    sp = (sp & ~15n) - 8n;
    const frame = sp;
    const uc = frame + BigInt(SIGFRAME.uc);
    const info = frame + BigInt(SIGFRAME.info);
    const sc = uc + BigInt(UC.mcontext);
    const m = k.m;

    k.m.write(frame, new Uint8Array(SIGFRAME.size));
    k.writeWord(frame + BigInt(SIGFRAME.pretcode), restorerOf(k, ka));

    // siginfo: si_signo, si_errno, si_code = SI_USER
    m.writeUint(info, 4, BigInt(sig));

    k.writeWord(uc + BigInt(UC.flags), UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
    k.writeWord(uc + BigInt(UC.link), 0n);
    // uc_stack: no sigaltstack modelled
    m.writeUint(uc + BigInt(UC.stack) + 8n, 4, SS_DISABLE);

    // setup_sigcontext()
    for (const [slot, field] of SC_FROM_PT) k.writeWord(sc + BigInt(SIGCONTEXT[slot]!), regs.get(field));
    k.writeWord(sc + BigInt(SIGCONTEXT['eflags']!), regs.get('flags'));
    m.writeUint(sc + BigInt(SIGCONTEXT['cs']!), 2, regs.get('cs') & 0xffffn);
    m.writeUint(sc + BigInt(SIGCONTEXT['ss']!), 2, regs.get('ss') & 0xffffn);
    k.writeWord(sc + BigInt(SIGCONTEXT['oldmask']!), blocked);
    k.writeWord(uc + BigInt(UC.sigmask), blocked);

    // The handler: rdi = sig, rsi = &info, rdx = &uc, rax = 0 (unprototyped handlers),
    // returning into the restorer through the pretcode slot.
    regs.set('di', BigInt(sig));
    regs.set('ax', 0n);
    regs.set('si', info);
    regs.set('dx', uc);
    regs.set('ip', ka.handler);
    regs.set('sp', frame);
    regs.set('cs', USER_CS);
    regs.set('ss', USER_DS);
    regs.set('flags', regs.get('flags') & ~(X86_EFLAGS_DF | X86_EFLAGS_RF | X86_EFLAGS_TF));
  },

  restoreRtFrame(k: KernelApi, regs: PtRegs): { blocked: bigint } {
    // The handler's `ret` popped pretcode, so the frame starts one word below sp.
    const frame = regs.get('sp') - 8n;
    const uc = frame + BigInt(SIGFRAME.uc);
    const sc = uc + BigInt(UC.mcontext);
    const m = k.m;
    const blocked = k.readWord(uc + BigInt(UC.sigmask));

    // restore_sigcontext()
    for (const [slot, field] of SC_FROM_PT) regs.set(field, k.readWord(sc + BigInt(SIGCONTEXT[slot]!)));
    const scFlags = k.readWord(sc + BigInt(SIGCONTEXT['eflags']!));
    regs.set('flags', (regs.get('flags') & ~FIX_EFLAGS) | (scFlags & FIX_EFLAGS) | X86_EFLAGS_FIXED);
    regs.set('cs', m.readUint(sc + BigInt(SIGCONTEXT['cs']!), 2) | 3n);
    regs.set('ss', m.readUint(sc + BigInt(SIGCONTEXT['ss']!), 2) | 3n);
    // Disable syscall checks: whatever ax holds now is never taken for a restart (C6).
    regs.set('orig_ax', -1n);
    return { blocked };
  },

  switchToC(k: KernelApi, prev: Task, next: Task): void {
    // x86_fsbase save/load of __switch_to()
    k.writeWord(threadOf(k, prev) + THREAD_FSBASE, liveFsBase(k));
    k.m.setReg('fs_base', k.readWord(threadOf(k, next) + THREAD_FSBASE));
  },

  ucontextRegOffset(reg: string): number {
    const slot = SC_ALIASES[reg] ?? reg;
    const off = SIGCONTEXT[slot];
    if (off === undefined || off >= SIGCONTEXT['err']!) {
      throw new Error(`x86_64: no general register "${reg}" in struct sigcontext`);
    }
    return UC.mcontext + off;
  },

  restart,

  normaliseResult(raw: Record<string, bigint>): bigint {
    const rax = raw['rax'];
    if (rax === undefined) throw new Error('x86_64: normaliseResult needs rax');
    return BigInt.asIntN(64, rax);
  },
};

/** sa_restorer, or the vdso trampoline when user space gave none. */
function restorerOf(k: KernelApi, ka: SigAction): bigint {
  if (ka.restorer !== 0n) return ka.restorer;
  return k.sym('__kernel_rt_sigreturn');
}

export { SIGCONTEXT_SIZE };
