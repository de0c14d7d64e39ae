// koffi binding to the system libunicorn.so.2. Only what the Machine needs; the
// layout of the C API is stable across Unicorn 2.x.
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import { EmulatorMissingError } from '../machine.ts';

// koffi's function objects are untyped callables.
type Fn = (...args: unknown[]) => any;

export interface UnicornLib {
  path: string;
  uc_version: Fn;
  uc_open: Fn;
  uc_close: Fn;
  uc_strerror: Fn;
  uc_errno: Fn;
  uc_reg_read: Fn;
  uc_reg_write: Fn;
  uc_mem_map: Fn;
  uc_mem_map_ptr: Fn;
  uc_mem_read: Fn;
  uc_mem_write: Fn;
  uc_emu_start: Fn;
  uc_emu_stop: Fn;
  uc_hook_add: Fn;
  uc_hook_del: Fn;
  uc_query: Fn;
  uc_ctl: Fn;
  uc_context_alloc: Fn;
  uc_context_free: Fn;
  uc_context_save: Fn;
  uc_context_restore: Fn;
  uc_context_size: Fn;
  /** Callback prototypes, for koffi.register. */
  HookCode: TypeObject;
  HookIntr: TypeObject;
  /** UC_HOOK_INSN callbacks of the `void cb(uc, user_data)` kind (x86 syscall/sysenter, ...). */
  HookInsn: TypeObject;
  HookMemInvalid: TypeObject;
  /** UC_HOOK_INSN_INVALID callbacks: `bool cb(uc, user_data)`, true when the hook handled the instruction. */
  HookInsnInvalid: TypeObject;
}

export const DEFAULT_UNICORN_LIB = 'libunicorn.so.2';

let cached: UnicornLib | undefined;
let cachedPath: string | undefined;

/** Loads (once per path) the Unicorn library; ARCHKIT_UNICORN_LIB overrides the path. */
export function loadUnicorn(): UnicornLib {
  const path = process.env.ARCHKIT_UNICORN_LIB || DEFAULT_UNICORN_LIB;
  if (cached && cachedPath === path) return cached;
  let lib: LibraryHandle;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new EmulatorMissingError(
      `The Unicorn 2 CPU emulator library could not be loaded (looked for "${path}"` +
        (process.env.ARCHKIT_UNICORN_LIB ? ', set by ARCHKIT_UNICORN_LIB' : '') +
        `: ${(e as Error).message}). archkit runs the guest code on Unicorn 2 through this shared library. ` +
        `Install it with "apt-get install libunicorn2" (Debian/Ubuntu), or point ARCHKIT_UNICORN_LIB at a libunicorn.so.2 file.`,
    );
  }
  // Callback prototypes get a per-load unique name: koffi type names are global.
  const tag = Math.random().toString(36).slice(2, 8);
  const f = (decl: string): Fn => lib.func(decl) as Fn;
  const u: UnicornLib = {
    path,
    uc_version: f('unsigned int uc_version(_Out_ unsigned int *major, _Out_ unsigned int *minor)'),
    uc_open: f('int uc_open(int arch, int mode, _Out_ void **uc)'),
    uc_close: f('int uc_close(void *uc)'),
    uc_strerror: f('const char *uc_strerror(int code)'),
    uc_errno: f('int uc_errno(void *uc)'),
    uc_reg_read: f('int uc_reg_read(void *uc, int regid, void *value)'),
    uc_reg_write: f('int uc_reg_write(void *uc, int regid, const void *value)'),
    uc_mem_map: f('int uc_mem_map(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_map_ptr: f('int uc_mem_map_ptr(void *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)'),
    uc_mem_read: f('int uc_mem_read(void *uc, uint64_t address, void *bytes, size_t size)'),
    uc_mem_write: f('int uc_mem_write(void *uc, uint64_t address, const void *bytes, size_t size)'),
    uc_emu_start: f('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
    uc_emu_stop: f('int uc_emu_stop(void *uc)'),
    uc_hook_add: f(
      'int uc_hook_add(void *uc, _Out_ size_t *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...)',
    ),
    uc_hook_del: f('int uc_hook_del(void *uc, size_t hh)'),
    uc_query: f('int uc_query(void *uc, int type, _Out_ size_t *result)'),
    uc_ctl: f('int uc_ctl(void *uc, int control, ...)'),
    uc_context_alloc: f('int uc_context_alloc(void *uc, _Out_ void **context)'),
    uc_context_free: f('int uc_context_free(void *context)'),
    uc_context_save: f('int uc_context_save(void *uc, void *context)'),
    uc_context_restore: f('int uc_context_restore(void *uc, void *context)'),
    uc_context_size: f('size_t uc_context_size(void *uc)'),
    HookCode: koffi.proto(`void uc_cb_hookcode_${tag}(void *uc, uint64_t address, uint32_t size, void *user_data)`),
    HookIntr: koffi.proto(`void uc_cb_hookintr_${tag}(void *uc, uint32_t intno, void *user_data)`),
    HookInsn: koffi.proto(`void uc_cb_insn_${tag}(void *uc, void *user_data)`),
    HookInsnInvalid: koffi.proto(`bool uc_cb_hookinsn_invalid_${tag}(void *uc, void *user_data)`),
    HookMemInvalid: koffi.proto(
      `bool uc_cb_eventmem_${tag}(void *uc, int type, uint64_t address, int size, int64_t value, void *user_data)`,
    ),
  };
  cached = u;
  cachedPath = path;
  return u;
}

export function unicornVersionOf(u: UnicornLib): string {
  const maj = [0];
  const min = [0];
  const packed = u.uc_version(maj, min) as number;
  // uc_version packs major<<24 | minor<<16 | patch<<8 | extra.
  const patch = (packed >>> 8) & 0xff;
  return `${maj[0]}.${min[0]}.${patch}`;
}

/** mmap/munmap from the C library: page-aligned host memory for guest RAM (uc_mem_map_ptr). */
export interface HostMemory {
  mmap: Fn;
  munmap: Fn;
}

let libc: HostMemory | undefined;
export function loadHostMemory(): HostMemory {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  libc = {
    mmap: l.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)') as Fn,
    munmap: l.func('int munmap(void *addr, size_t len)') as Fn,
  };
  return libc;
}
