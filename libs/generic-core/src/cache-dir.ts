// Where archkit keeps what it computed once and can use again (assembled images, the native
// fast path, precompiled templates, tool versions, the oracle's binaries), and how a cache
// file is written so that a concurrent reader sees the old file or the whole new one.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The cache directory for `kind`: $ARCHKIT_CACHE_DIR/<kind> (the assembled images, kind
 * "asm", in $ARCHKIT_CACHE_DIR itself), else $XDG_CACHE_HOME/archkit/<kind>, else
 * ~/.cache/archkit/<kind>; undefined without any of them. Read from the environment at each use.
 */
export function cacheDir(kind: string, env: Record<string, string | undefined> = process.env): string | undefined {
  if (env['ARCHKIT_CACHE_DIR']) return kind === 'asm' ? resolve(env['ARCHKIT_CACHE_DIR']) : join(resolve(env['ARCHKIT_CACHE_DIR']), kind);
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'archkit', kind);
  let home = '';
  try {
    home = homedir();
  } catch {
    /* no home: no disk cache */
  }
  return home ? join(home, '.cache', 'archkit', kind) : undefined;
}

/** Writes `data` to `path` through a temporary file renamed over it, making its directory; false when that cannot be done. */
export function writeFileAtomic(path: string, data: string | Uint8Array): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    makeDirs(dirname(path));
    writeFileSync(tmp, data);
    renameSync(tmp, path);
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* never created */
    }
    return false;
  }
}

/**
 * mkdir -p, one level at a time: Node 20's `mkdirSync(p, { recursive: true })` never
 * returns for a path under /proc (ENOENT on a parent that exists).
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = dir;
  while (!existsSync(d)) {
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) mkdirSync(m);
}
