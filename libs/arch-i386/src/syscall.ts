// arch/x86/include/asm/syscall.h (Linux 6.18, CONFIG_X86_32): the syscall a frame belongs
// to is orig_ax (an int; -1 for "not a syscall": exceptions and rt_sigreturn set it), the
// result is ax (negative errno), and what the result overwrote was the syscall number, put
// back in ax from orig_ax for a restart. Nothing marks a restart consumed: once rewound, ax
// holds a syscall number, never an -ERESTART value. The arguments are bx cx dx si di bp,
// arch.json's syscall.args, read from pt_regs by the generic default.
//
// And the arch's own syscall user code needs: set_thread_area (arch/x86/kernel/tls.c), the
// i386 way to a thread pointer.

import type { SyscallHooks } from '@archkit/generic-core/contracts/port';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { GDT_ENTRY_TLS_ENTRIES, GDT_ENTRY_TLS_MIN } from './cpu.ts';
import { loadTLS } from './process.ts';

/**
 * struct user_desc (uapi/asm/ldt.h): entry_number, base_addr, limit, then the bit fields
 * seg_32bit:1 contents:2 read_exec_only:1 limit_in_pages:1 seg_not_present:1 useable:1.
 */
interface UserDesc {
  entry: bigint;
  base: bigint;
  limit: bigint;
  seg32: bigint;
  contents: bigint;
  readExecOnly: bigint;
  limitInPages: bigint;
  notPresent: bigint;
  useable: bigint;
}

function readUserDesc(k: KernelApi, at: bigint): UserDesc {
  const f = k.m.readUint(at + 12n, 4);
  return {
    entry: BigInt.asIntN(32, k.m.readUint(at, 4)),
    base: k.m.readUint(at + 4n, 4),
    limit: k.m.readUint(at + 8n, 4),
    seg32: f & 1n,
    contents: (f >> 1n) & 3n,
    readExecOnly: (f >> 3n) & 1n,
    limitInPages: (f >> 4n) & 1n,
    notPresent: (f >> 5n) & 1n,
    useable: (f >> 6n) & 1n,
  };
}

const ldtEmpty = (d: UserDesc) =>
  d.base === 0n && d.limit === 0n && d.contents === 0n && d.readExecOnly === 1n && d.seg32 === 0n && d.limitInPages === 0n && d.notPresent === 1n && d.useable === 0n;
const ldtZero = (d: UserDesc) =>
  d.base === 0n && d.limit === 0n && d.contents === 0n && d.readExecOnly === 0n && d.seg32 === 0n && d.limitInPages === 0n && d.notPresent === 0n && d.useable === 0n;

/** fill_ldt() (asm/desc.h): a DPL 3 data descriptor, accessed bit set. */
function fillLdt(d: UserDesc): bigint {
  const type = (((d.readExecOnly ^ 1n) << 1n) | (d.contents << 2n) | 1n) & 0xfn;
  const lo = (d.limit & 0xffffn) | ((d.base & 0xffffn) << 16n);
  const hi =
    ((d.base >> 16n) & 0xffn) |
    (type << 8n) |
    (1n << 12n) | // s: code/data
    (3n << 13n) | // dpl
    ((d.notPresent ^ 1n) << 15n) |
    (((d.limit >> 16n) & 0xfn) << 16n) |
    (d.useable << 20n) |
    (d.seg32 << 22n) |
    (d.limitInPages << 23n) |
    (((d.base >> 24n) & 0xffn) << 24n);
  return (hi << 32n) | lo;
}

export const hooks: SyscallHooks = {
  syscall_get_nr: (_k, regs) => BigInt.asIntN(32, regs.get('orig_ax')),
  syscall_set_nr: (_k, regs, nr) => regs.set('orig_ax', nr),
  syscall_rollback: (_k, regs) => regs.set('ax', regs.get('orig_ax')),
  // arch_do_signal_or_restart(): ax = get_nr_restart_syscall(regs), the i386 number
  set_restart_syscall: (k, regs) => regs.set('ax', BigInt(k.desc.syscall.numbers['restart_syscall']!)),
  arch_syscalls: {
    /**
     * set_thread_area(u_info) -> do_set_thread_area(current, -1, u_info, 1): a TLS
     * descriptor for the task (entry_number -1: the first free one, written back), loaded
     * into the GDT at once; a %gs that selects it is reloaded.
     */
    set_thread_area(k, uInfo) {
      const EINVAL = -k.abi.errno.EINVAL;
      if (!k.accessOk(uInfo!, 16n)) return -k.abi.errno.EFAULT;
      const info = readUserDesc(k, uInfo!);
      const empty = ldtEmpty(info) || ldtZero(info);
      // tls_desc_okay(): 32-bit data segments that are present, or "no segment"
      if (!empty && (info.seg32 === 0n || info.contents > 1n || info.notPresent === 1n)) return EINVAL;
      const t = k.current();
      const tls = k.threadSlot(t, 'tls_array');
      let idx = info.entry;
      if (idx === -1n) {
        // get_free_idx()
        idx = -1n;
        for (let i = 0; i < GDT_ENTRY_TLS_ENTRIES; i++) {
          if (k.m.readUint(tls + BigInt(i * 8), 8) === 0n) {
            idx = BigInt(GDT_ENTRY_TLS_MIN + i);
            break;
          }
        }
        if (idx < 0n) return -k.abi.errno.ESRCH;
        k.m.writeUint(uInfo!, 4, idx);
      }
      if (idx < GDT_ENTRY_TLS_MIN || idx >= GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES) return EINVAL;
      k.m.writeUint(tls + (idx - BigInt(GDT_ENTRY_TLS_MIN)) * 8n, 8, empty ? 0n : fillLdt(info));
      loadTLS(k, t);
      const sel = (idx << 3n) | 3n;
      if (k.m.reg('gs') === sel) k.m.setReg('gs', sel); // load_gs_index(): the new base
      return 0n;
    },
  },
};
