// Content-addressed cache of assembled images, for every backend: a subprocess assemble
// costs 15-200 ms and the same entry.S is assembled for every scenario, arch and mutant.
// Key: sha256 over everything that decides the output. Successes only; errors are always
// recomputed. In memory per process, and on disk in $ARCHKIT_CACHE_DIR, else
// $XDG_CACHE_HOME/archkit/asm, else ~/.cache/archkit/asm; a directory that cannot be
// written makes the cache memory-only, silently. ARCHKIT_NO_ASM_CACHE=1 bypasses both.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AsmSource, AssembleOptions, AssembleResult, Assembler } from './assembler.ts';
import { cacheDir, writeFileAtomic } from '../cache-dir.ts';

const FORMAT = 1;
const MAX_MEMORY_ENTRIES = 4096;

const memory = new Map<string, AssembleResult>();
const unwritable = new Set<string>();
const stats = { memoryHits: 0, diskHits: 0, misses: 0, diskWrites: 0 };

export interface AsmCacheStats {
  memoryHits: number;
  diskHits: number;
  misses: number;
  diskWrites: number;
  memoryEntries: number;
}

export function asmCacheStats(): AsmCacheStats {
  return { ...stats, memoryEntries: memory.size };
}

/** Forget the in-memory entries (the disk cache stays). */
export function clearAsmMemoryCache(): void {
  memory.clear();
}

export function asmCacheDisabled(): boolean {
  const v = process.env['ARCHKIT_NO_ASM_CACHE'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** The disk cache directory of `kind` (cache-dir.ts), or undefined when ARCHKIT_NO_ASM_CACHE turns the disk caches off. */
export function diskCacheDir(kind: string): string | undefined {
  return asmCacheDisabled() ? undefined : cacheDir(kind);
}

/** The on-disk cache directory (read from the environment at each use), or undefined. */
export function asmCacheDir(): string | undefined {
  return cacheDir('asm');
}

export interface CacheIdentity {
  backend: string;
  /** Tool versions and anything else of the assembler that changes its output. */
  identity: string;
  target: string;
  flags: readonly string[];
}

export function asmCacheKey(id: CacheIdentity, src: AsmSource, opts: AssembleOptions): string {
  const hex = (v: bigint) => `0x${v.toString(16)}`;
  const material = JSON.stringify([
    FORMAT,
    id.backend,
    id.identity,
    id.target,
    id.flags,
    src.prelude ?? '',
    src.text,
    hex(opts.base),
    Object.entries(opts.externs ?? {}).map(([k, v]) => [k, hex(v)]),
    opts.exports ?? null,
  ]);
  return createHash('sha256').update(material).digest('hex');
}

function copy(r: AssembleResult): AssembleResult {
  return { bytes: r.bytes.slice(), base: r.base, symbols: new Map(r.symbols) };
}

function entryPath(dir: string, key: string): string {
  return join(dir, key.slice(0, 2), `${key}.json`);
}

interface DiskEntry {
  format: number;
  key: string;
  base: string;
  bytes: string;
  symbols: [string, string][];
}

function readDisk(key: string): AssembleResult | undefined {
  const dir = asmCacheDir();
  if (dir === undefined) return undefined;
  try {
    const e = JSON.parse(readFileSync(entryPath(dir, key), 'utf8')) as DiskEntry;
    if (e.format !== FORMAT || e.key !== key || typeof e.bytes !== 'string' || !Array.isArray(e.symbols)) return undefined;
    const bytes = new Uint8Array(Buffer.from(e.bytes, 'base64'));
    return { bytes, base: BigInt(e.base), symbols: new Map(e.symbols.map(([n, v]) => [n, BigInt(v)])) };
  } catch {
    return undefined; // missing or damaged: assemble again
  }
}

function writeDisk(key: string, r: AssembleResult): void {
  const dir = asmCacheDir();
  if (dir === undefined || unwritable.has(dir)) return;
  const entry: DiskEntry = {
    format: FORMAT,
    key,
    base: `0x${r.base.toString(16)}`,
    bytes: Buffer.from(r.bytes).toString('base64'),
    symbols: [...r.symbols].map(([n, v]) => [n, `0x${v.toString(16)}`]),
  };
  if (writeFileAtomic(entryPath(dir, key), JSON.stringify(entry))) stats.diskWrites++;
  else unwritable.add(dir);
}

class CachedAssembler implements Assembler {
  readonly name: string;

  constructor(
    private readonly inner: Assembler,
    private readonly id: CacheIdentity,
  ) {
    this.name = inner.name;
  }

  assemble(src: AsmSource, opts: AssembleOptions): AssembleResult {
    if (asmCacheDisabled()) return this.inner.assemble(src, opts);
    const key = asmCacheKey(this.id, src, opts);
    const mem = memory.get(key);
    if (mem) {
      stats.memoryHits++;
      return copy(mem);
    }
    const disk = readDisk(key);
    if (disk) {
      stats.diskHits++;
      remember(key, disk);
      return copy(disk);
    }
    stats.misses++;
    const r = this.inner.assemble(src, opts); // an AsmError propagates, uncached
    const kept = copy(r);
    remember(key, kept);
    writeDisk(key, kept);
    return r;
  }
}

function remember(key: string, r: AssembleResult): void {
  if (memory.size >= MAX_MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
  memory.set(key, r);
}

export function withAsmCache(inner: Assembler, id: CacheIdentity): Assembler {
  return new CachedAssembler(inner, id);
}
