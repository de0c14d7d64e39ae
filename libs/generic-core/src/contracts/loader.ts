// Loading an arch lib: the same for every arch, so written once. An arch lib's index.ts is
// `export const createPort = portLoader(import.meta.url);`.
//
// A mutant is a patch to the lib's own files. Text files (arch.json, src/entry.S,
// src/user.hbs) are patched in memory. A patched TypeScript module is transpiled in
// memory, its imports pointed at the original modules' absolute URLs, and imported from a
// data: URL: nothing is ever written to disk, so a read-only install works and an
// interrupted run leaves nothing behind.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArchPort, EntryHooks, PortOptions, ProcessHooks, SignalHooks, SyscallHooks } from './port.ts';
import type { CpuModel } from './cpu.ts';
import { parseDescriptor, ENTRY_MODELS, type EntryModel } from './descriptor.ts';
import { applyMutant, parseMutant, type Mutant } from '../mutants/patch.ts';

/** The port's TypeScript modules and what each exports (see contracts/port.ts). */
export const PORT_MODULES = { cpu: 'src/cpu.ts', entry: 'src/entry.ts', process: 'src/process.ts', signal: 'src/signal.ts', syscall: 'src/syscall.ts' } as const;
const TEXT_FILES = ['arch.json', 'src/entry.S', 'src/user.hbs'];
export const PORT_FILES = [...TEXT_FILES, ...Object.values(PORT_MODULES)];

export class MutantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MutantError';
  }
}

export function listMutants(dir: string): Mutant[] {
  const mdir = join(dir, 'mutants');
  if (!existsSync(mdir)) return [];
  return readdirSync(mdir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => parseMutant(readFileSync(join(mdir, f), 'utf8'), relative(process.cwd(), join(mdir, f)) || f));
}

type Transpile = (ts: string, file: string) => string;
let transpiler: Promise<Transpile> | undefined;

/**
 * A TypeScript-to-JavaScript transpiler for patched modules: esbuild when it is installed
 * (about a millisecond a module), else TypeScript's own (the "typescript" package: tens of
 * milliseconds a module and half a second to load). Types are only erased either way.
 */
function loadTranspiler(): Promise<Transpile> {
  transpiler ??= import('esbuild').then(
    (mod) => {
      const esbuild = (mod as { default?: typeof import('esbuild') }).default ?? (mod as typeof import('esbuild'));
      return (text: string, file: string) => esbuild.transformSync(text, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: file }).code;
    },
    () =>
      import('typescript').then(
        (mod) => {
          const ts = (mod as { default?: typeof import('typescript') }).default ?? (mod as typeof import('typescript'));
          return (text: string, file: string) =>
            ts.transpileModule(text, {
              fileName: file,
              compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false, allowImportingTsExtensions: true },
            }).outputText;
        },
        () => {
          throw new MutantError('a mutant of a TypeScript file needs a TypeScript transpiler to compile it in memory: npm install esbuild (or typescript)');
        },
      ),
  );
  return transpiler;
}

const loaded = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Imports patched TypeScript from memory, its relative and package imports resolved as the
 * original's: `originalUrl` is the module it stands in for (src/*.ts under a TypeScript
 * loader, dist/*.js when built: then its relative imports of .ts files are of the .js
 * files built from them).
 */
async function importPatched(text: string, originalUrl: string, rel: string): Promise<Record<string, unknown>> {
  const built = originalUrl.endsWith('.js');
  const key = createHash('sha256').update(originalUrl).update('\0').update(text).digest('hex');
  let p = loaded.get(key);
  if (!p) {
    p = (async () => {
      const js = (await loadTranspiler())(text, rel);
      const resolveSpec = (spec: string): string => {
        if (spec.startsWith('.')) return new URL(built ? spec.replace(/\.ts$/, '.js') : spec, originalUrl).href;
        if (/^[a-z]+:/.test(spec)) return spec;
        // the core: the same tree this loader runs from (sources under a TypeScript loader, dist/ when built)
        const core = /^@archkit\/generic-core\/(.+)$/.exec(spec);
        if (core) return new URL(`../${core[1]}${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
        // a package import resolves from where the original file lives
        return pathToFileURL(createRequire(fileURLToPath(originalUrl)).resolve(spec)).href;
      };
      const rewritten = js.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g, (_m, pre: string, q: string, spec: string) => `${pre}${q}${resolveSpec(spec)}${q}`);
      return (await import(`data:text/javascript;base64,${Buffer.from(rewritten).toString('base64')}`)) as Record<string, unknown>;
    })();
    loaded.set(key, p);
  }
  return p;
}

export function portLoader(indexUrl: string): (opts?: PortOptions) => Promise<ArchPort> {
  const srcDir = dirname(fileURLToPath(indexUrl));
  const dir = dirname(srcDir);
  // dev: src/index.ts next to src/cpu.ts; built: dist/index.js next to dist/cpu.js
  const ext = extname(fileURLToPath(indexUrl));
  return async (opts = {}) => {
    const rel = (p: string) => relative(process.cwd(), join(dir, p)) || p;
    const read = (f: string) => {
      try {
        return readFileSync(join(dir, f), 'utf8');
      } catch (e) {
        throw new MutantError(`${rel(f)}: cannot read a port file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); every arch lib has ${PORT_FILES.join(', ')}`);
      }
    };
    const files = new Map<string, string>();
    for (const f of TEXT_FILES) files.set(f, read(f));
    const mutants = listMutants(dir);
    let changed = new Map<string, string>();
    if (opts.mutant) {
      const m = mutants.find((x) => x.id === opts.mutant);
      if (!m) throw new MutantError(`${rel('mutants')}: no mutant "${opts.mutant}" (have: ${mutants.map((x) => x.id).join(', ') || 'none'})`);
      const libPrefix = /^libs\/arch-[^/]+\//;
      const patches = m.patches.map((p) => ({ ...p, path: p.path.replace(libPrefix, '') }));
      for (const p of patches) {
        if (!PORT_FILES.includes(p.path)) throw new MutantError(`${rel(`mutants/${m.id}.patch`)}: patches ${p.path}, which is not one of the port's files (${PORT_FILES.join(', ')})`);
      }
      changed = applyMutant({ ...m, patches }, (p) => files.get(p) ?? read(p), rel(`mutants/${m.id}.patch`));
      for (const [p, text] of changed) if (files.has(p)) files.set(p, text);
    }
    const descriptor = parseDescriptor(files.get('arch.json')!, rel('arch.json'));
    const entryModel: EntryModel = opts.entryModel ?? descriptor.entry.model;
    if (!ENTRY_MODELS.includes(entryModel)) throw new MutantError(`unknown entry model "${entryModel}" (models: ${ENTRY_MODELS.join(', ')})`);
    if (!descriptor.entry.offers.includes(entryModel)) {
      throw new MutantError(`${rel('arch.json')}: ${descriptor.name} does not offer the entry model "${entryModel}" (entry.offers: ${descriptor.entry.offers.join(', ')})`);
    }

    const load = async <T>(name: keyof typeof PORT_MODULES, exportName: string): Promise<T> => {
      const file = PORT_MODULES[name];
      const url = pathToFileURL(join(srcDir, `${name}${ext}`)).href;
      const patched = changed.get(file);
      const mod = patched !== undefined ? await importPatched(patched, url, rel(file)) : ((await import(url)) as Record<string, unknown>);
      const v = mod[exportName];
      if (!v) throw new MutantError(`${rel(file)} does not export "${exportName}"`);
      return v as T;
    };
    const [cpu, entry, proc, signal, syscall] = await Promise.all([
      load<CpuModel>('cpu', 'cpu'),
      load<EntryHooks>('entry', 'hooks'),
      load<ProcessHooks>('process', 'hooks'),
      load<SignalHooks>('signal', 'hooks'),
      load<SyscallHooks>('syscall', 'hooks'),
    ]);
    if (!entry.models?.[entryModel]) throw new MutantError(`${rel(PORT_MODULES.entry)}: no entry functions for the model "${entryModel}" the port offers`);
    return {
      descriptor,
      dir,
      sources: {
        entry: { file: rel('src/entry.S'), text: files.get('src/entry.S')! },
        userTemplates: { file: rel('src/user.hbs'), text: files.get('src/user.hbs')! },
      },
      cpu,
      entry,
      process: proc,
      signal,
      syscall,
      entryModel,
      mutants: mutants.map((m) => m.id),
      ...(opts.mutant ? { mutant: opts.mutant, patched: [...changed.keys()] } : {}),
    };
  };
}
