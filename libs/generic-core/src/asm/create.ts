// One entry point from an arch.json `assembler` object to an Assembler, whichever the
// backend, with the content-addressed cache (cache.ts) around it.

import type { Assembler } from './assembler.ts';
import { withAsmCache } from './cache.ts';
import { describeGnuAs, createGnuAsAssembler } from './gnu-as.ts';
import { createKeystoneAssembler, keystoneVersion } from './keystone.ts';
import { createLlvmMcAssembler, describeLlvmMc } from './llvm-mc.ts';
import type { LinkedAssembler } from './toolchain.ts';

export type AsmBackend = 'keystone' | 'gnu-as' | 'llvm-mc';
export const ASM_BACKENDS: readonly AsmBackend[] = ['keystone', 'gnu-as', 'llvm-mc'];

/** arch.json `assembler`. */
export interface AssemblerSpec {
  backend: string;
  /** Keystone arch name (x86_64, arm64, ...), binutils triple (mips-linux-gnu) or LLVM triple (riscv64). */
  target?: string;
  /** The descriptor's former name for `target`, still accepted. */
  arch?: string;
  /** Extra assembler flags (gnu-as: `-32`; llvm-mc: `-mattr=+c`). Not for keystone. */
  flags?: readonly string[];
  /** Debian package that provides the tool, named when it is missing. */
  package?: string;
}

export interface CreateAssemblerOptions {
  /** Content-addressed cache (memory and disk); default true. ARCHKIT_NO_ASM_CACHE=1 also turns it off. */
  cache?: boolean;
  /** keystone: the per-arch lint (default true). */
  lint?: boolean;
  /** gnu-as / llvm-mc: per tool call, default 20 s. */
  timeoutMs?: number;
  /** gnu-as / llvm-mc: binary names or paths instead of `<triple>-as`/`-ld`, llvm-mc-19/ld.lld-19. */
  tools?: { as?: string; ld?: string };
}

interface Checked {
  backend: AsmBackend;
  target: string;
  flags: string[];
  package?: string;
}

function check(spec: AssemblerSpec): Checked {
  const backend = spec.backend as AsmBackend;
  if (!ASM_BACKENDS.includes(backend)) {
    throw new Error(`unknown assembler backend '${String(spec.backend)}' (known: ${ASM_BACKENDS.join(', ')})`);
  }
  const target = spec.target ?? spec.arch;
  if (typeof target !== 'string' || target === '') throw new Error(`assembler backend '${backend}': no target given`);
  const flags = spec.flags ?? [];
  if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string')) throw new Error(`assembler flags must be a list of strings`);
  if (backend === 'keystone' && flags.length > 0) throw new Error(`the keystone backend takes no flags (got ${flags.join(' ')})`);
  return { backend, target, flags: [...flags], ...(spec.package !== undefined ? { package: spec.package } : {}) };
}

/** The assembler an arch.json `assembler` object names, cached unless told otherwise. */
export async function createAssembler(spec: AssemblerSpec, opts: CreateAssemblerOptions = {}): Promise<Assembler> {
  const c = check(spec);
  const common = {
    flags: c.flags,
    ...(c.package !== undefined ? { package: c.package } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
  let inner: Assembler;
  let identity: string;
  switch (c.backend) {
    case 'keystone': {
      const lint = opts.lint ?? true;
      inner = await createKeystoneAssembler(c.target, { lint });
      identity = `${inner.name} lint=${lint}`; // a lint-free success must not serve a linted assembler
      break;
    }
    case 'gnu-as':
      inner = await createGnuAsAssembler(c.target, {
        ...common,
        ...(opts.tools?.as !== undefined ? { as: opts.tools.as } : {}),
        ...(opts.tools?.ld !== undefined ? { ld: opts.tools.ld } : {}),
      });
      identity = (inner as LinkedAssembler).identity;
      break;
    case 'llvm-mc':
      inner = await createLlvmMcAssembler(c.target, {
        ...common,
        ...(opts.tools?.as !== undefined ? { mc: opts.tools.as } : {}),
        ...(opts.tools?.ld !== undefined ? { lld: opts.tools.ld } : {}),
      });
      identity = (inner as LinkedAssembler).identity;
      break;
  }
  if (opts.cache === false) return inner;
  return withAsmCache(inner, { backend: c.backend, identity, target: c.target, flags: c.flags });
}

const descriptions = new Map<string, string>();

/**
 * Display name with the real tool version, e.g. "GNU as 2.40 (mips-linux-gnu)",
 * "llvm-mc 19.1.7 (riscv64)", "keystone 0.9.2 (keystone-wasm 1.0.4)"; for a tool that is
 * not installed, says so and how to install it. Cached per process.
 */
export function describeAssembler(spec: AssemblerSpec): string {
  const c = check(spec);
  const key = JSON.stringify(c);
  let d = descriptions.get(key);
  if (d === undefined) {
    const o = { flags: c.flags, ...(c.package !== undefined ? { package: c.package } : {}) };
    d = c.backend === 'keystone' ? keystoneVersion() : c.backend === 'gnu-as' ? describeGnuAs(c.target, o) : describeLlvmMc(c.target, o);
    descriptions.set(key, d);
  }
  return d;
}

export { asmCacheDir, asmCacheStats, clearAsmMemoryCache } from './cache.ts';
export { toolSpawnCount } from './toolchain.ts';
