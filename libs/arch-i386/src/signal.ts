// arch/x86/kernel/signal_32.c and signal.c (Linux 6.18, CONFIG_X86_32): the rt signal frame
// (ia32_setup_rt_frame, get_sigframe), rt_sigreturn (ia32_restore_sigcontext). The restart
// decision is x86's after-get_signal shape, which is the core's default: no hook here.
//
// struct rt_sigframe (asm/sigframe.h): pretcode, sig, pinfo, puc, struct siginfo, struct
// ucontext (uc_mcontext is struct sigcontext_32), retcode[8]; the FP state would follow,
// placed above the frame by fpu__alloc_mathframe (not modelled: sc.fpstate is 0, which
// rt_sigreturn takes as "no FP state"). A handler installed without SA_RESTORER returns
// through the vDSO's __kernel_rt_sigreturn: there is no on-stack fallback for rt frames.

import type { SignalHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { readSigset, writeSigset } from '@archkit/generic-core/kernel/signal';
import { EFLAGS, USER_CS, USER_DS } from './cpu.ts';

/** struct rt_sigframe (32-bit). */
export const RT_SIGFRAME = { pretcode: 0n, sig: 4n, pinfo: 8n, puc: 12n, info: 16n, uc: 144n, retcode: 260n, size: 268n } as const;
/** struct ucontext (asm-generic, 32-bit). */
export const UC = { flags: 0n, link: 4n, stack: 8n, mcontext: 20n, sigmask: 108n, size: 116n } as const;

/** struct sigcontext_32 (uapi/asm/sigcontext.h): slot -> offset. */
export const SIGCONTEXT: Record<string, number> = {
  gs: 0, fs: 4, es: 8, ds: 12, di: 16, si: 20, bp: 24, sp: 28, bx: 32, dx: 36, cx: 40, ax: 44,
  trapno: 48, err: 52, ip: 56, cs: 60, flags: 64, sp_at_signal: 68, ss: 72, fpstate: 76, oldmask: 80, cr2: 84,
};

/** The general registers sigcontext and pt_regs share (same names). */
const GPRS = ['bx', 'cx', 'dx', 'si', 'di', 'bp', 'ax', 'sp', 'ip'];

/** Machine register name -> sigcontext slot. */
const SC_ALIASES: Record<string, string> = {
  eax: 'ax', ebx: 'bx', ecx: 'cx', edx: 'dx', esi: 'si', edi: 'di', ebp: 'bp', esp: 'sp', eip: 'ip', eflags: 'flags', pc: 'ip',
};

/** Flags user space may change through sigreturn (signal.c FIX_EFLAGS). */
const FIX_EFLAGS =
  EFLAGS.AC | EFLAGS.OF | EFLAGS.DF | EFLAGS.TF | EFLAGS.SF | EFLAGS.ZF | EFLAGS.AF | EFLAGS.PF | EFLAGS.CF | EFLAGS.RF;

/** UC_FP_XSTATE only with XSAVE, which this CPU model does not report. */
const UC_FLAGS = 0n;
const SS_DISABLE = 2n;
/** The gdb marker ia32_setup_rt_frame still writes: movl $__NR_rt_sigreturn, %eax; int $0x80; pad. */
const retcode = (nr: number) => Uint8Array.from([0xb8, nr & 0xff, (nr >> 8) & 0xff, 0, 0, 0xcd, 0x80, 0]);

/** A NULL selector stays as it is (FRED-era fixup_rpl); any other gets RPL 3. */
const fixupRpl = (sel: bigint) => (sel <= 3n ? sel : sel | 3n);

const at = (base: bigint, off: number | bigint) => base + BigInt(off);

export const hooks: SignalHooks = {
  setup_rt_frame(k: KernelApi, ksig, regs) {
    const size = RT_SIGFRAME.size;
    // get_sigframe(): no red zone on i386, no sigaltstack, no math frame; aligned so that
    // the handler starts with sp + 4 16-byte aligned, as after a call
    const frame = ((regs.get('sp') - size + 4n) & ~15n) - 4n;
    if (!k.accessOk(frame, size)) return false;
    const t = k.current();
    const restorer = ksig.ka.flags & k.abi.sa.SA_RESTORER ? ksig.ka.restorer : k.sym(k.desc.symbols['vdsoRtSigreturn']!);
    const info = at(frame, RT_SIGFRAME.info);
    const uc = at(frame, RT_SIGFRAME.uc);
    const sc = at(uc, UC.mcontext);
    k.m.write(frame, new Uint8Array(Number(size)));
    k.writeWord(at(frame, RT_SIGFRAME.pretcode), restorer);
    k.writeWord(at(frame, RT_SIGFRAME.sig), BigInt(ksig.sig));
    k.writeWord(at(frame, RT_SIGFRAME.pinfo), info);
    k.writeWord(at(frame, RT_SIGFRAME.puc), uc);
    k.m.write(at(frame, RT_SIGFRAME.retcode), retcode(k.desc.syscall.numbers['rt_sigreturn']!));
    k.m.writeUint(info, 4, BigInt(ksig.sig)); // si_signo; si_code SI_USER = 0
    k.writeWord(at(uc, UC.flags), UC_FLAGS);
    k.writeWord(at(uc, UC.stack + 4n), SS_DISABLE); // __save_altstack: no alternate stack
    // __unsafe_setup_sigcontext32()
    k.writeWord(at(sc, SIGCONTEXT['gs']!), k.m.reg('gs'));
    for (const s of ['fs', 'es', 'ds', 'cs', 'ss']) k.writeWord(at(sc, SIGCONTEXT[s]!), regs.get(s));
    for (const r of GPRS) k.writeWord(at(sc, SIGCONTEXT[r]!), regs.get(r));
    k.writeWord(at(sc, SIGCONTEXT['flags']!), regs.get('flags'));
    k.writeWord(at(sc, SIGCONTEXT['sp_at_signal']!), regs.get('sp'));
    k.writeWord(at(sc, SIGCONTEXT['trapno']!), k.readWord(k.threadSlot(t, 'trap_nr')));
    k.writeWord(at(sc, SIGCONTEXT['err']!), k.readWord(k.threadSlot(t, 'error_code')));
    k.writeWord(at(sc, SIGCONTEXT['cr2']!), k.readWord(k.threadSlot(t, 'cr2')));
    k.writeWord(at(sc, SIGCONTEXT['fpstate']!), 0n);
    k.writeWord(at(sc, SIGCONTEXT['oldmask']!), ksig.oldset & 0xffffffffn);
    writeSigset(k, at(uc, UC.sigmask), ksig.oldset);
    // The handler: -mregparm=3 arguments (eax = sig, edx = &info, ecx = &uc) besides the
    // stack ones, returning into the restorer through pretcode; user segments.
    regs.set('sp', frame);
    regs.set('ip', ksig.ka.handler);
    regs.set('ax', BigInt(ksig.sig));
    regs.set('dx', info);
    regs.set('cx', uc);
    regs.set('ds', BigInt(USER_DS));
    regs.set('es', BigInt(USER_DS));
    regs.set('cs', BigInt(USER_CS));
    regs.set('ss', BigInt(USER_DS));
    // handle_signal(): the ABI's function entry state
    regs.set('flags', regs.get('flags') & ~(EFLAGS.DF | EFLAGS.RF | EFLAGS.TF));
    return true;
  },

  restore_rt_frame(k: KernelApi, regs) {
    // sys_rt_sigreturn(): the handler's `ret` popped pretcode
    const frame = regs.get('sp') - 4n;
    if (!k.accessOk(frame, RT_SIGFRAME.size)) return null;
    const uc = at(frame, RT_SIGFRAME.uc);
    const sc = at(uc, UC.mcontext);
    const blocked = readSigset(k, at(uc, UC.sigmask));
    // ia32_restore_sigcontext()
    for (const r of GPRS) regs.set(r, k.readWord(at(sc, SIGCONTEXT[r]!)));
    regs.set('cs', k.readWord(at(sc, SIGCONTEXT['cs']!)) | 3n);
    regs.set('ss', k.readWord(at(sc, SIGCONTEXT['ss']!)) | 3n);
    const scFlags = k.readWord(at(sc, SIGCONTEXT['flags']!));
    regs.set('flags', (regs.get('flags') & ~FIX_EFLAGS) | (scFlags & FIX_EFLAGS));
    regs.set('orig_ax', -1n); // disable syscall checks
    // loadsegment(gs, ...) (a selector that does not load becomes 0, as the exception
    // table fixup makes it); fs, es, ds go back through pt_regs and RESTORE_REGS
    const gs = fixupRpl(k.readWord(at(sc, SIGCONTEXT['gs']!)) & 0xffffn);
    try {
      k.m.setReg('gs', gs);
    } catch {
      k.m.setReg('gs', 0n);
    }
    for (const s of ['fs', 'es', 'ds']) regs.set(s, fixupRpl(k.readWord(at(sc, SIGCONTEXT[s]!)) & 0xffffn));
    return { blocked };
  },

  ucontext_reg_offset(reg: string): number {
    const slot = SC_ALIASES[reg] ?? reg;
    const off = SIGCONTEXT[slot];
    if (off === undefined || !(GPRS.includes(slot) || slot === 'flags')) throw new Error(`i386: no general register "${reg}" in struct sigcontext_32`);
    return Number(UC.mcontext) + off;
  },
};
