// The starting arch.json of a new arch made from the generator's options: every field the
// strict descriptor parser (generic-core contracts/descriptor.ts) asks for, with values that
// load and run but are placeholders a human replaces. What is asm-generic (syscall numbers,
// signals, errno, TIF bits, the exit work mask, struct sigaction) comes from generic-core's
// kernel/asm-generic.ts and kernel/abi.ts and is right for any arch that uses the generic
// headers; the registers are named r0.. and laid out like a generic RISC machine (arm64-like
// at 64 bits, arm-like at 32); every guess is marked TODO in `sources` and `notes`.

import { LINUX_RELEASE, type EntryModel } from '@archkit/generic-core/contracts/descriptor';
import { GENERIC_EXIT_TO_USER_MODE_WORK, GENERIC_SYSCALL_NUMBERS, GENERIC_TIF, genericSigaction } from '@archkit/generic-core/kernel/asm-generic';
import type { AsmBackend, CpuFamily } from './cpus.ts';

/** The memory map the porting guide gives (the kernel in the low MiBs, one user region). */
export const DEFAULT_MEMORY = { kernelText: '0x100000', stubs: '0x180000', kernelData: '0x200000', stacks: '0x400000', user: '0x800000', userSize: '0x40000' };

export interface StartingOptions {
  name: string;
  wordSize: 4 | 8;
  endian: 'little' | 'big';
  entryModel: EntryModel;
  emulator: 'unicorn';
  backend: AsmBackend;
  /** the CPU the lib runs on and assembles for */
  family: CpuFamily;
  /** the family stands in for a CPU archkit does not know */
  placeholder: boolean;
  /** the emulator release the CPU models are calibrated with */
  unicornVersion: string;
}

interface Field {
  name: string;
  offset: number;
  size: number;
  reg?: string;
}

const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

function layout(names: Array<string | [string, string | undefined]>, w: number, start = 0): Field[] {
  return names.map((n, i) => {
    const [name, reg] = typeof n === 'string' ? [n, n] : n;
    return { name, offset: start + i * w, size: w, ...(reg !== undefined ? { reg } : {}) };
  });
}

/** The arch.json object (keys in the order the repository's arch.json files have them). */
export function startingDescriptor(o: StartingOptions): Record<string, unknown> {
  const w = o.wordSize;
  const wide = w === 8;
  const bits = w * 8;
  const n = o.name;
  // a generic register file: r0..r30 + sp (64-bit), r0..r14 + sp (32-bit)
  const gprs = wide ? range('r', 0, 30) : range('r', 0, 14);
  const user = [...gprs, 'sp'];
  const calleeSaved = wide ? range('r', 19, 29) : range('r', 4, 11);
  const ra = wide ? 'r30' : 'r14';
  const ccArgs = wide ? range('r', 0, 7) : range('r', 0, 3);
  const callerSaved = wide ? range('r', 1, 18) : ['r1', 'r2', 'r3', 'r12'];
  const nr = wide ? 'r8' : 'r7';
  const scratch = wide ? ['r16', 'r17'] : ['r12'];
  const ptFields = [...layout(user, w), ...layout([['pc', 'pc'], ['status', undefined], ['orig_r0', undefined], ['syscallno', undefined]], w, user.length * w)];
  const sfFields = [...layout(calleeSaved, w), ...layout([['sp', undefined], ['pc', undefined]], w, calleeSaved.length * w)];
  const sfSize = sfFields.length * w;
  const workModel = o.entryModel === 'generic-entry';
  const tif: Record<string, number> = { ...GENERIC_TIF };
  const workMasks: Record<string, string[]> = {};
  if (workModel) workMasks['EXIT_TO_USER_MODE_WORK'] = [...GENERIC_EXIT_TO_USER_MODE_WORK];
  else {
    Object.assign(tif, { SYSCALL_TRACE: 16, SYSCALL_AUDIT: 17, SYSCALL_TRACEPOINT: 18, SECCOMP: 19 });
    workMasks['_TIF_WORK_MASK'] = ['NEED_RESCHED', 'SIGPENDING', 'NOTIFY_RESUME', 'UPROBE', 'NOTIFY_SIGNAL'];
    workMasks['_TIF_SYSCALL_WORK'] = ['SYSCALL_TRACE', 'SYSCALL_AUDIT', 'SYSCALL_TRACEPOINT', 'SECCOMP'];
  }
  const asm = o.family.assemblers[o.backend]!;
  const f = o.family;
  return {
    name: n,
    title: o.placeholder ? `TODO: ${n}, a ${bits}-bit ${o.endian}-endian CPU (its name and the kernel's configuration)` : `TODO: ${f.title} (${n}): the kernel's configuration`,
    linux: LINUX_RELEASE,
    sources: {
      numbers: `include/uapi/asm-generic/unistd.h (TODO: arch/${n}/kernel/syscalls/syscall.tbl if ${n} has its own table)`,
      syscall: `TODO: arch/${n}/include/asm/syscall.h, arch/${n}/kernel/entry.S (the syscall entry)`,
      abi: `include/uapi/asm-generic/signal.h, signal-defs.h and errno-base.h (TODO: arch/${n}/include/uapi/asm/ where ${n} differs)`,
      ptRegs: `TODO: arch/${n}/include/asm/ptrace.h (struct pt_regs)`,
      switchFrame: `TODO: arch/${n}/include/asm/processor.h (struct thread_struct), arch/${n}/kernel/entry.S (__switch_to)`,
      thread: `TODO: arch/${n}/include/asm/processor.h (struct thread_struct)`,
      kthread: `TODO: arch/${n}/kernel/process.c (copy_thread)`,
      tif: `include/asm-generic/thread_info_tif.h (TODO: arch/${n}/include/asm/thread_info.h)`,
      workMasks: workModel ? 'include/linux/irq-entry-common.h (EXIT_TO_USER_MODE_WORK)' : `TODO: arch/${n}/include/asm/thread_info.h (_TIF_WORK_MASK, _TIF_SYSCALL_WORK)`,
      entry: `TODO: arch/${n}/kernel/entry.S${workModel ? ', kernel/entry/common.c (GENERIC_ENTRY)' : ''}`,
      restart: `TODO: arch/${n}/kernel/signal.c (the syscall restart)`,
      signal: `TODO: arch/${n}/kernel/signal.c (rt_sigframe, setup_rt_frame, rt_sigreturn)`,
      registers: `TODO: arch/${n}/include/asm/ (the registers as the kernel names them), the ${o.placeholder ? 'CPU' : f.title} architecture manual (privilege levels, exception entry)`,
    },
    wordSize: w,
    endian: o.endian,
    emulator: { backend: o.emulator, version: o.unicornVersion },
    assembler: { backend: o.backend, target: asm.target, ...(asm.flags ? { flags: asm.flags } : {}), ...(asm.package ? { package: asm.package } : {}) },
    entry: { model: o.entryModel, offers: [o.entryModel] },
    memory: DEFAULT_MEMORY,
    registers: { pc: 'pc', sp: 'sp', user, calleeSaved, tls: 'tp', scratch, extra: ['status', 'tp'] },
    callingConvention: { args: ccArgs, ret: 'r0', returnAddress: ra, callerSaved },
    syscall: {
      instruction: o.placeholder ? 'TODO: the system call instruction' : f.syscall.text,
      insnBytes: f.syscall.bytes,
      nr,
      args: range('r', 0, 5),
      ret: 'r0',
      error: { convention: 'negative' },
      clobbers: [],
      cloneTlsArg: 3,
      numbers: { ...GENERIC_SYSCALL_NUMBERS },
    },
    ptRegs: { size: ptFields.length * w, fields: ptFields },
    switchFrame: { location: 'thread', offset: 0, size: sfSize, fields: sfFields },
    thread: { size: sfSize + w, fields: [{ name: 'cpu_context', offset: 0, size: sfSize }, { name: 'tp_value', offset: sfSize, size: w }] },
    kthread: { fn: calleeSaved[0]!, arg: calleeSaved[1]! },
    tif,
    workMasks,
    abi: { sa: { SA_RESTORER: null }, sigaction: genericSigaction(w), libcRestorer: false, restorerFallback: 'vdso' },
    symbols: { retFromFork: 'ret_from_fork', switchTo: '__switch_to', vectors: 'vectors', copyToUser: '__copy_to_user', vdsoRtSigreturn: '__kernel_rt_sigreturn' },
    notes: [
      `TODO: generated by @archkit/generators (nx g @archkit/generators:arch ${n}) with placeholder facts that load and run: replace each with ${n}'s own from Linux ${LINUX_RELEASE} and cite its kernel file in "sources".`,
      `TODO: registers r0..${gprs[gprs.length - 1]} and sp, the calling convention (arguments ${ccArgs[0]}-${ccArgs[ccArgs.length - 1]}, return address ${ra}), the syscall registers (number in ${nr}, arguments r0-r5, result r0 as -errno) and the pt_regs, switch frame and thread layouts are a generic RISC machine's: write ${n}'s.`,
      'TODO: syscall numbers, signals, errno, sigaction (no SA_RESTORER: the vDSO holds the sigreturn trampoline), the TIF bits and the exit work mask are asm-generic\'s: list the differences if the arch has its own (its uapi headers).',
      o.placeholder
        ? `TODO: ${n} is not a CPU archkit knows: the lib runs on Unicorn's ${f.title} and assembles with ${o.backend} for ${asm.target}, the CPU that fits a ${bits}-bit ${o.endian}-endian port, as a placeholder; put ${n}'s in "assembler" and src/cpu.ts.`
        : `The CPU is ${f.title} on Unicorn (src/cpu.ts), assembled with ${o.backend} for ${asm.target}.`,
      `TODO: entry model ${o.entryModel}${o.entryModel === 'generic-entry' ? ' (what Linux asks of a new arch)' : ''}: the one ${n}'s Linux uses (its Kconfig: GENERIC_ENTRY or the arch's own exit work).`,
    ],
  };
}
