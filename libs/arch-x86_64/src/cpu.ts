// The part of an x86-64 CPU that Unicorn 2 does not do for us: the SYSCALL instruction's
// privilege transition (Unicorn only reports it through UC_HOOK_INSN), the delivery of a
// user-mode #GP through an interrupt gate (Unicorn reports exceptions through UC_HOOK_INTR
// and never reads an IDT), plus the boot-time state Linux's cpu_init()/syscall_init() set
// up: a GDT with Linux's selectors and the SYSCALL MSRs. IRETQ back to user mode, SWAPGS,
// STI/CLI and the CPL checks on privileged instructions are the emulator's own.

import type { CpuModel } from '@archkit/generic-core/contracts/port';
import type { Machine } from '@archkit/generic-core/machine/machine';
import type { KernelApi } from '@archkit/generic-core/kernel/types';

export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_SYSCALL_MASK = 0xc0000084;
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;

/** Where the GDT lives: the arch-private part of kernel data. */
export const GDT_OFFSET = 0x8000n;

/**
 * Linux's 64-bit GDT (arch/x86/include/asm/segment.h, cpu/common.c gdt_page), by entry:
 * 1 KERNEL32_CS, 2 KERNEL_CS (0x10), 3 KERNEL_DS (0x18), 4 USER32_CS (0x23),
 * 5 USER_DS (0x2b), 6 USER_CS (0x33). Flat; L=1 on the 64-bit code segments.
 */
export const GDT: bigint[] = [
  0n,
  0x00cf9b000000ffffn,
  0x00af9b000000ffffn,
  0x00cf93000000ffffn,
  0x00cffb000000ffffn,
  0x00cff3000000ffffn,
  0x00affb000000ffffn,
];

export const KERNEL_CS = 0x10n;
export const USER32_CS = 0x23n;

const EFLAGS = {
  CF: 0x1n, FIXED: 0x2n, PF: 0x4n, AF: 0x10n, ZF: 0x40n, SF: 0x80n, TF: 0x100n, IF: 0x200n,
  DF: 0x400n, OF: 0x800n, IOPL: 0x3000n, NT: 0x4000n, RF: 0x10000n, AC: 0x40000n, ID: 0x200000n,
} as const;

/** syscall_init(): every flag the kernel must not inherit from user mode, IF included. */
export const SYSCALL_MASK =
  EFLAGS.CF | EFLAGS.PF | EFLAGS.AF | EFLAGS.ZF | EFLAGS.SF | EFLAGS.TF | EFLAGS.IF | EFLAGS.DF |
  EFLAGS.OF | EFLAGS.IOPL | EFLAGS.NT | EFLAGS.RF | EFLAGS.AC | EFLAGS.ID;

/** STAR[47:32] = SYSCALL CS (SS = +8); STAR[63:48] = SYSRET base (CS = +16, SS = +8). */
export const STAR = ((USER32_CS << 16n) | KERNEL_CS) << 32n;

const VECTOR_NAMES: Record<number, string> = {
  0: '#DE divide error', 1: '#DB debug', 3: '#BP breakpoint', 4: '#OF overflow', 5: '#BR bound',
  6: '#UD invalid opcode', 7: '#NM device not available', 8: '#DF double fault',
  10: '#TS invalid TSS', 11: '#NP segment not present', 12: '#SS stack fault',
  13: '#GP general protection', 14: '#PF page fault', 16: '#MF x87 error', 17: '#AC alignment check',
  18: '#MC machine check', 19: '#XM SIMD exception',
};

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** #GP: the vector Linux turns into SIGSEGV for a user task (exc_general_protection). */
export const X86_TRAP_GP = 13;
/** #UD: Unicorn 2.0.1 never delivers it to UC_HOOK_INTR (ud2 ends the run with UC_ERR_INSN_INVALID). */
export const X86_TRAP_UD = 6;

/**
 * The user-mode exceptions this CPU model delivers, by vector: the arch.json `symbols`
 * role of the handler in entry.S (its IDT gate), and the label used when arch.json names
 * none. Only #GP: #UD does not reach the interrupt hook on Unicorn 2.0.1 (see X86_TRAP_UD).
 */
export const USER_EXCEPTIONS: Record<number, { role: string; label: string }> = {
  [X86_TRAP_GP]: { role: 'excGeneralProtection', label: 'asm_exc_general_protection' },
};

/**
 * Exception entry through a 64-bit interrupt gate from CPL 3 (Intel SDM vol. 3A 6.14,
 * "Exception and Interrupt Handling in 64-bit Mode"): rsp = TSS.RSP0 aligned down to 16;
 * push SS, RSP, RFLAGS, CS, RIP (of the faulting instruction: a fault) and the error code;
 * CPL 0 with the kernel CS/SS; RFLAGS.TF/NT/RF cleared and, for an interrupt gate, IF;
 * rip = the gate's handler. GS is untouched: the handler runs with the user's GS until
 * its swapgs. Must be called from the interrupt hook, where rip is the faulting instruction.
 */
export function exceptionEntry(m: Machine, sp0: bigint, handler: bigint, errorCode: bigint): bigint {
  const rflags = m.reg('rflags');
  const frame = [m.reg('ss'), m.reg('rsp'), rflags, m.reg('cs'), m.reg('rip'), errorCode];
  let sp = sp0 & ~0xfn;
  for (const v of frame) {
    sp -= 8n;
    m.writeUint(sp, 8, v);
  }
  m.setPrivilege(0); // CS = __KERNEL_CS, SS = __KERNEL_DS, CPL 0
  m.setReg('rsp', sp);
  m.setReg('rflags', (rflags & ~(EFLAGS.TF | EFLAGS.NT | EFLAGS.RF | EFLAGS.IF)) | EFLAGS.FIXED);
  m.setReg('rip', handler);
  return sp;
}

/** The architectural SYSCALL (Intel SDM vol. 2B, SYSCALL), from CPL 3. */
export function syscallEntry(m: Machine): void {
  const next = m.reg('rip'); // the machine reports the address after the instruction
  const rflags = m.reg('rflags');
  m.setReg('rcx', next);
  m.setReg('r11', rflags & ~EFLAGS.RF);
  m.setReg('rflags', (rflags & ~m.msr(MSR_SYSCALL_MASK) & ~EFLAGS.RF) | EFLAGS.FIXED);
  m.setPrivilege(0); // CS = STAR[47:32], SS = STAR[47:32] + 8, CPL 0
  m.setReg('rip', m.msr(MSR_LSTAR));
}

export const cpu: CpuModel = {
  init(m: Machine, symbols: ReadonlyMap<string, bigint>, k: KernelApi): void {
    const entry = symbols.get('entry_SYSCALL_64');
    if (entry === undefined) throw new Error('x86_64: entry.S defines no entry_SYSCALL_64 (the MSR_LSTAR target)');

    // GDT in guest memory (iretq reads the user descriptors from it).
    const gdt = k.desc.memory.kernelData + GDT_OFFSET;
    GDT.forEach((d, i) => m.writeUint(gdt + BigInt(i * 8), 8, d));
    m.setTableReg('gdtr', gdt, GDT.length * 8 - 1);

    // syscall_init()
    m.setMsr(MSR_STAR, STAR);
    m.setMsr(MSR_LSTAR, entry);
    m.setMsr(MSR_SYSCALL_MASK, SYSCALL_MASK);
    // Per-cpu data is addressed with absolute PCPU_* addresses: the kernel GS base is 0,
    // and so is the user's, so SWAPGS keeps both consistent.
    m.setMsr(MSR_KERNEL_GS_BASE, 0n);
    m.setReg('gs_base', 0n);
    m.setReg('fs_base', 0n);
    m.setPrivilege(0);
    m.setReg('rflags', EFLAGS.FIXED);

    m.hookSyscallInsn(() => {
      if (m.privilege() !== 3) {
        k.bug('C2', `syscall instruction executed at CPL ${m.privilege()} (rip ${hex(m.reg('rip'))}): no syscalls from kernel mode`);
      }
      syscallEntry(m);
    });

    // TSS.sp0, the kernel stack a CPL3 -> CPL0 exception switches to, is
    // task_top_of_stack(current), as __switch_to's load_sp0() kept it before PTI moved
    // sp0 to the entry trampoline stack: the same value as the per-cpu top_of_stack word
    // the core keeps for entry.S. (Only type imports from the core here: the loader may
    // import this file from a copy of the lib.)
    const gates = new Map<number, bigint>();
    for (const [vec, { role, label }] of Object.entries(USER_EXCEPTIONS)) {
      const name = k.desc.symbols?.[role] ?? label;
      const at = symbols.get(name);
      if (at === undefined) throw new Error(`x86_64: entry.S defines no ${name} (the ${VECTOR_NAMES[Number(vec)]} handler)`);
      gates.set(Number(vec), at);
    }

    // No IDT is read: the hook stands in for delivery. A #GP in user mode goes through
    // its gate (exceptionEntry) to entry.S, whose C half forces a signal on the task,
    // as Linux does. Any other fault, and every fault at CPL 0, stops the run as a
    // failure naming the vector, like a kernel oops.
    m.hookInterrupt((intno) => {
      const what = VECTOR_NAMES[intno] ?? `vector ${intno}`;
      const cpl = m.privilege();
      const where = `rip ${hex(m.reg('rip'))}, rsp ${hex(m.reg('rsp'))}`;
      const gate = gates.get(intno);
      if (cpl === 3 && gate !== undefined) {
        // #GP from CLI/HLT/a privileged instruction has error code 0 (no selector involved);
        // Unicorn does not report the error code, and no user program here faults otherwise.
        exceptionEntry(m, k.current().stackTop, gate, 0n);
        return;
      }
      if (cpl === 3) k.bug('cpu', `user-mode fault ${what} in task ${k.current().pid} at ${where}: this CPU model delivers only #GP to user mode`);
      k.bug('cpu', `kernel-mode fault ${what} at ${where} (CPL ${cpl}): an oops, the kernel must not fault`);
    });
  },
};
