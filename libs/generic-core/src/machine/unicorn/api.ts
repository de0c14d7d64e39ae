// Constants of Unicorn 2's public C API (unicorn.h) that do not depend on the CPU: hook
// types, errors, queries and controls. What is one CPU's (uc_arch / uc_mode values,
// register ids) lives in that CPU's arch lib (src/cpu.ts).

export const UC_MODE_BIG_ENDIAN = 1 << 30;

export const UC_HOOK_INTR = 1 << 0;
export const UC_HOOK_INSN = 1 << 1;
export const UC_HOOK_CODE = 1 << 2;
/** The start of every translation block executed (callback as UC_HOOK_CODE's: address, block size). */
export const UC_HOOK_BLOCK = 1 << 3;
/** every store to guest memory (the native fast path's record of written pages) */
export const UC_HOOK_MEM_WRITE = 1 << 11;
/** An instruction the CPU finds undefined (callback `bool cb(uc, user_data)`: true = handled). */
export const UC_HOOK_INSN_INVALID = 1 << 14;
export const UC_HOOK_MEM_INVALID = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);

export const UC_MEM_TYPE_TEXT: Record<number, string> = {
  19: 'read of unmapped memory',
  20: 'write to unmapped memory',
  21: 'fetch from unmapped memory',
  22: 'write to write-protected memory',
  23: 'read from read-protected memory',
  24: 'fetch from non-executable memory',
};

export const UC_QUERY_PAGE_SIZE = 2;
/** uc_err UC_ERR_FETCH_UNMAPPED and uc_mem_type UC_MEM_FETCH_UNMAPPED */
export const UC_ERR_FETCH_UNMAPPED = 8;
export const UC_MEM_FETCH_UNMAPPED = 21;
export const UC_QUERY_TIMEOUT = 4;
/** UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1): the CPU model, before anything but uc_open. */
export const UC_CTL_CPU_MODEL_WRITE = 7 | (1 << 26) | (1 << 30);
/** UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0): drop all translated blocks. */
export const UC_CTL_TB_FLUSH_WRITE = 10 | (0 << 26) | (1 << 30);
/** UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2): drop blocks in [address, end). */
export const UC_CTL_TB_REMOVE_CACHE_WRITE = 9 | (2 << 26) | (1 << 30);

/** uc_err -> what it means for the guest. */
export const UC_ERR_TEXT: Record<number, string> = {
  1: 'out of memory (UC_ERR_NOMEM)',
  2: 'unsupported architecture (UC_ERR_ARCH)',
  3: 'invalid handle (UC_ERR_HANDLE)',
  4: 'invalid or unsupported mode (UC_ERR_MODE)',
  5: 'unsupported version (UC_ERR_VERSION)',
  6: 'guest read from unmapped memory (UC_ERR_READ_UNMAPPED)',
  7: 'guest write to unmapped memory (UC_ERR_WRITE_UNMAPPED)',
  8: 'guest fetched an instruction from unmapped memory (UC_ERR_FETCH_UNMAPPED)',
  9: 'invalid hook type (UC_ERR_HOOK)',
  10: 'invalid or undefined instruction (UC_ERR_INSN_INVALID)',
  11: 'invalid memory mapping (UC_ERR_MAP)',
  12: 'guest write to write-protected memory (UC_ERR_WRITE_PROT)',
  13: 'guest read from read-protected memory (UC_ERR_READ_PROT)',
  14: 'guest fetched from non-executable memory (UC_ERR_FETCH_PROT)',
  15: 'invalid argument (UC_ERR_ARG)',
  16: 'unaligned read (UC_ERR_READ_UNALIGNED)',
  17: 'unaligned write (UC_ERR_WRITE_UNALIGNED)',
  18: 'unaligned fetch (UC_ERR_FETCH_UNALIGNED)',
  19: 'hook already exists (UC_ERR_HOOK_EXIST)',
  20: 'insufficient resource (UC_ERR_RESOURCE)',
  21: 'unhandled CPU exception: no interrupt hook took it (UC_ERR_EXCEPTION)',
};

export function ucErrText(code: number): string {
  return UC_ERR_TEXT[code] ?? `unicorn error ${code}`;
}
