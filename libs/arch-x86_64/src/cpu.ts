// The part of an x86-64 CPU that Unicorn 2 does not do for us: the SYSCALL instruction's
// privilege transition (Unicorn only reports it through UC_HOOK_INSN), plus the boot-time
// state Linux's cpu_init()/syscall_init() set up: a GDT with Linux's selectors and the
// SYSCALL MSRs. IRETQ back to user mode, SWAPGS, STI/CLI and the CPL checks on privileged
// instructions are the emulator's own.

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

    // Faults are never delivered through an IDT here. A fault in user mode would be a
    // SIGSEGV/SIGILL for the task in Linux; scenarios never fault on purpose, so a user
    // fault stops the run as a failure naming the vector, like a kernel fault (an oops).
    m.hookInterrupt((intno) => {
      const what = VECTOR_NAMES[intno] ?? `vector ${intno}`;
      const cpl = m.privilege();
      const where = `rip ${hex(m.reg('rip'))}, rsp ${hex(m.reg('rsp'))}`;
      if (cpl === 3) k.bug('cpu', `user-mode fault ${what} in task ${k.current().pid} at ${where}`);
      k.bug('cpu', `kernel-mode fault ${what} at ${where} (CPL ${cpl})`);
    });
  },
};
