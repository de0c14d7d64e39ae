// The machine's per-instruction work in C. A JavaScript UC_HOOK_CODE costs about a
// microsecond per guest instruction (a call from the JIT into koffi and back); counting an
// instruction costs nanoseconds in C. The shim below is compiled once per C source and host
// with the system's C compiler, cached like assembled images, and loaded with koffi.
//
// - ak_code: the instruction counter. It counts (and keeps the last two instructions) in C
//   and calls the machine's JavaScript counter only when something may happen there: the
//   count reached the threshold (the budget, or an armed interrupt line), a stop was asked
//   for, or every 4096th instruction (the wall-clock deadline). Results are exactly the
//   JavaScript counter's: the slow path is that counter.
// - ak_write: marks the 4 KiB pages of guest RAM the guest stores to, so a reset to the
//   boot state copies back only what a scenario changed.
//
// Without a C compiler (or with ARCHKIT_NATIVE=0) the machine counts in JavaScript and
// compares whole regions at a reset: the same results, slower.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import koffi from 'koffi';
import { cacheDir, makeDirs } from '../../cache-dir.ts';

export const SHIM_SOURCE = `
#include <stdint.h>
#include <stddef.h>
#include <dlfcn.h>

typedef void (*ak_hookcode)(void *uc, uint64_t addr, uint32_t size, void *user);

struct ak_region { uint64_t base, end, map; };

/* shared with JavaScript: keep in step with the offsets in fastpath.ts */
struct ak_state {
  uint64_t count, threshold;                    /*  0  8 */
  uint32_t force, skip, cur_size, last_size;    /* 16 20 24 28 */
  uint64_t cur_addr, last_addr;                 /* 32 40 */
  ak_hookcode slow;                             /* 48 */
  void *slow_user;                              /* 56 */
  uint32_t nregions, pad;                       /* 64 68 */
  struct ak_region regions[16];                 /* 72: maps are byte offsets from the struct */
};

void ak_code(void *uc, uint64_t addr, uint32_t size, void *user) {
  struct ak_state *s = user;
  if (s->force || s->count >= s->threshold || (s->count & 4095u) == 4095u) {
    s->slow(uc, addr, size, s->slow_user);
    return;
  }
  s->skip = 0;
  s->last_addr = s->cur_addr;
  s->last_size = s->cur_size;
  s->cur_addr = addr;
  s->cur_size = size;
  s->count++;
}

static void mark(struct ak_state *s, uint64_t a) {
  for (uint32_t i = 0; i < s->nregions; i++) {
    struct ak_region *r = &s->regions[i];
    if (a >= r->base && a < r->end) {
      ((uint8_t *)s)[r->map + ((a - r->base) >> 12)] = 1;
      return;
    }
  }
}

void ak_write(void *uc, int type, uint64_t addr, int size, int64_t value, void *user) {
  (void)uc; (void)type; (void)value;
  struct ak_state *s = user;
  mark(s, addr);
  if (size > 1) mark(s, addr + (uint64_t)size - 1);
}

typedef int (*uc_hook_add_fn)(void *uc, size_t *hh, int type, void *cb, void *user, uint64_t begin, uint64_t end, ...);

/* Adds both hooks on the engine, through the Unicorn library the machine loaded. */
int ak_install(const char *libpath, void *uc, struct ak_state *s, int code_type, int write_type) {
  void *lib = dlopen(libpath, RTLD_NOW | RTLD_NOLOAD);
  if (!lib) lib = dlopen(libpath, RTLD_NOW);
  if (!lib) return -1;
  uc_hook_add_fn add = (uc_hook_add_fn)dlsym(lib, "uc_hook_add");
  if (!add) return -2;
  size_t hh;
  int err = add(uc, &hh, code_type, (void *)ak_code, s, 1, 0);
  if (err) return err;
  return add(uc, &hh, write_type, (void *)ak_write, s, 1, 0);
}
`;

/** Byte offsets of struct ak_state. */
export const AK = {
  count: 0,
  threshold: 8,
  force: 16,
  skip: 20,
  curSize: 24,
  lastSize: 28,
  curAddr: 32,
  lastAddr: 40,
  slow: 48,
  slowUser: 56,
  nregions: 64,
  regions: 72,
  regionSize: 24,
  maxRegions: 16,
  /** where the page maps start (after the 16 regions, rounded up) */
  maps: 512,
} as const;

export interface FastPath {
  path: string;
  ak_install: (libpath: string, uc: unknown, state: unknown, codeType: number, writeType: number) => number;
}

let loaded: FastPath | null | undefined;
let why = '';

function disabled(): boolean {
  const v = process.env['ARCHKIT_NATIVE'];
  return v !== undefined && (v === '0' || v.toLowerCase() === 'false');
}

/** Why the native fast path is not in use ('' when it is, or was not asked for yet). */
export function fastPathStatus(): string {
  return loaded ? `native (${loaded.path})` : why || 'not loaded';
}

/** The compiled shim, or null (no C compiler, ARCHKIT_NATIVE=0): the machine then counts in JavaScript. */
export function loadFastPath(): FastPath | null {
  if (disabled()) {
    why = 'ARCHKIT_NATIVE=0';
    return null;
  }
  if (loaded !== undefined) return loaded;
  loaded = null;
  const cc = process.env['CC'] || 'cc';
  const key = createHash('sha256').update(SHIM_SOURCE).update(`\0${platform()}\0${arch()}\0${cc}`).digest('hex').slice(0, 24);
  const dir = cacheDir('native') ?? join(process.env['TMPDIR'] || '/tmp', `archkit-native-${process.getuid?.() ?? 0}`);
  const so = join(dir, `fastpath-${key}.so`);
  try {
    if (!existsSync(so)) {
      makeDirs(dir);
      const tmp = `${so}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      const src = `${tmp}.c`;
      writeFileSync(src, SHIM_SOURCE);
      const r = spawnSync(cc, ['-O2', '-shared', '-fPIC', '-o', tmp, src, '-ldl'], { encoding: 'utf8', timeout: 60_000 });
      rmSync(src, { force: true });
      if (r.error || r.status !== 0) {
        rmSync(tmp, { force: true });
        const detail = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : (r.stderr || '').trim().split('\n')[0];
        why = `no C compiler to build the instruction counter (${cc}: ${detail}); install one (apt-get install gcc) for the fast path`;
        note();
        return null;
      }
      renameSync(tmp, so); // atomic: a concurrent process sees the whole file or none
    }
    const lib = koffi.load(so);
    loaded = {
      path: so,
      ak_install: lib.func('int ak_install(const char *libpath, void *uc, void *state, int code_type, int write_type)') as FastPath['ak_install'],
    };
    return loaded;
  } catch (e) {
    why = `the native instruction counter could not be built or loaded (${(e as Error).message})`;
    note();
    return null;
  }
}

let noted = false;
function note(): void {
  if (noted || !isMainThread) return;
  noted = true;
  process.stderr.write(`archkit: ${why}: counting guest instructions in JavaScript (same results, slower)\n`);
}
