// arch/x86/kernel/signal.c and signal_64.c (Linux 6.18): the rt signal frame, rt_sigreturn.
// The restart decision is the generic after-get_signal shape (x86's own): no hook here.
//
// struct rt_sigframe (asm/sigframe.h): pretcode, struct ucontext, struct siginfo. x86-64
// has no sigreturn trampoline in its vDSO: a handler installed without SA_RESTORER cannot
// return, and x64_setup_rt_frame() refuses it (-EFAULT: the task gets SIGSEGV).

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { writeSigset, readSigset } from '@archkit/generic-core/kernel/signal';
import { EFLAGS, USER_CS, USER_DS } from './cpu.ts';

export const SIGFRAME = { pretcode: 0, uc: 8, info: 8 + 304, size: 8 + 304 + 128 } as const;

/** struct ucontext (uapi asm-generic/ucontext.h as x86 uses it). */
export const UC = { flags: 0, link: 8, stack: 16, mcontext: 40, sigmask: 296, size: 304 } as const;
const UC_SIGCONTEXT_SS = 0x2n;
const UC_STRICT_RESTORE_SS = 0x4n;
const SS_DISABLE = 2n;

/** struct sigcontext, 64-bit (uapi/asm/sigcontext.h): slot -> offset in the sigcontext. */
export const SIGCONTEXT: Record<string, number> = {
  r8: 0, r9: 8, r10: 16, r11: 24, r12: 32, r13: 40, r14: 48, r15: 56,
  rdi: 64, rsi: 72, rbp: 80, rbx: 88, rdx: 96, rax: 104, rcx: 112, rsp: 120, rip: 128,
  eflags: 136, cs: 144, gs: 146, fs: 148, ss: 150,
  err: 152, trapno: 160, oldmask: 168, cr2: 176, fpstate: 184, reserved1: 192,
};

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

/** Flags user space may change through sigreturn (signal.c FIX_EFLAGS). */
const FIX_EFLAGS =
  EFLAGS.AC | EFLAGS.OF | EFLAGS.DF | EFLAGS.TF | EFLAGS.SF | EFLAGS.ZF | EFLAGS.AF | EFLAGS.PF | EFLAGS.CF | EFLAGS.RF;

const at = (base: bigint, off: number) => base + BigInt(off);

export const hooks: SignalHooks = {
  setup_rt_frame(k: KernelApi, ksig, regs) {
    if (!(ksig.ka.flags & k.abi.sa.SA_RESTORER)) return false;
    // get_sigframe(): skip the 128-byte red zone, then align so that the handler starts
    // as if called (rsp + 8 is 16-byte aligned).
    const sp = ((regs.get('sp') - 128n - BigInt(SIGFRAME.size)) & ~15n) - 8n;
    const frame = sp;
    if (!k.accessOk(frame, BigInt(SIGFRAME.size))) return false;
    const uc = at(frame, SIGFRAME.uc);
    const info = at(frame, SIGFRAME.info);
    const sc = at(uc, UC.mcontext);
    k.m.write(frame, new Uint8Array(SIGFRAME.size));
    k.writeWord(at(frame, SIGFRAME.pretcode), ksig.ka.restorer);
    k.m.writeUint(info, 4, BigInt(ksig.sig)); // si_signo; si_code SI_USER = 0
    k.writeWord(at(uc, UC.flags), UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
    k.m.writeUint(at(uc, UC.stack) + 8n, 4, SS_DISABLE); // no sigaltstack
    // setup_sigcontext()
    for (const [slot, field] of SC_FROM_PT) k.writeWord(at(sc, SIGCONTEXT[slot]!), regs.get(field));
    k.writeWord(at(sc, SIGCONTEXT['eflags']!), regs.get('flags'));
    k.m.writeUint(at(sc, SIGCONTEXT['cs']!), 2, regs.get('cs') & 0xffffn);
    k.m.writeUint(at(sc, SIGCONTEXT['ss']!), 2, regs.get('ss') & 0xffffn);
    k.writeWord(at(sc, SIGCONTEXT['oldmask']!), ksig.oldset);
    writeSigset(k, at(uc, UC.sigmask), ksig.oldset);
    // The handler: rdi = sig, rsi = &info, rdx = &uc, rax = 0 (unprototyped handlers),
    // returning into sa_restorer through the pretcode slot.
    regs.set('di', BigInt(ksig.sig));
    regs.set('ax', 0n);
    regs.set('si', info);
    regs.set('dx', uc);
    regs.set('ip', ksig.ka.handler);
    regs.set('sp', frame);
    regs.set('cs', BigInt(USER_CS));
    regs.set('ss', BigInt(USER_DS));
    regs.set('flags', regs.get('flags') & ~(EFLAGS.DF | EFLAGS.RF | EFLAGS.TF));
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    // The handler's `ret` popped pretcode, so the frame starts one word below sp.
    const frame = regs.get('sp') - 8n;
    if (!k.accessOk(frame, BigInt(SIGFRAME.size))) return null;
    const uc = at(frame, SIGFRAME.uc);
    const sc = at(uc, UC.mcontext);
    const blocked = readSigset(k, at(uc, UC.sigmask));
    // restore_sigcontext()
    for (const [slot, field] of SC_FROM_PT) regs.set(field, k.readWord(at(sc, SIGCONTEXT[slot]!)));
    const scFlags = k.readWord(at(sc, SIGCONTEXT['eflags']!));
    regs.set('flags', (regs.get('flags') & ~FIX_EFLAGS) | (scFlags & FIX_EFLAGS) | EFLAGS.FIXED);
    regs.set('cs', k.m.readUint(at(sc, SIGCONTEXT['cs']!), 2) | 3n);
    regs.set('ss', k.m.readUint(at(sc, SIGCONTEXT['ss']!), 2) | 3n);
    regs.set('orig_ax', -1n); // disable syscall checks
    return { blocked };
  },

  ucontext_reg_offset(reg: string): number {
    const slot = SC_ALIASES[reg] ?? reg;
    const off = SIGCONTEXT[slot];
    if (off === undefined || off >= SIGCONTEXT['err']!) throw new Error(`x86_64: no general register "${reg}" in struct sigcontext`);
    return UC.mcontext + off;
  },
};
