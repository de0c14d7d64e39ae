// Loading an arch lib: the same for every arch, so written once. An arch lib's index.ts is
// `export const createPort = portLoader(import.meta.url);`.
// A mutant is applied to the lib's own files (arch.json, src/entry.S, src/user.hbs,
// src/port.ts, src/cpu.ts) before they are used; TypeScript files are loaded from a patched
// copy written next to the original (ignored by git) and removed right after import.

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArchPort, CpuModel, PortC } from './port.ts';
import { parseDescriptor } from './descriptor.ts';
import { applyMutant, parseMutant, type Mutant } from '../mutants/patch.ts';

const PORT_FILES = ['arch.json', 'src/entry.S', 'src/user.hbs', 'src/port.ts', 'src/cpu.ts'];

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
    .map((f) => parseMutant(readFileSync(join(mdir, f), 'utf8'), relative(process.cwd(), join(mdir, f))));
}

let seq = 0;

export function portLoader(indexUrl: string): (opts?: { mutant?: string }) => Promise<ArchPort> {
  const dir = dirname(dirname(fileURLToPath(indexUrl)));
  return async (opts = {}) => {
    const rel = (p: string) => relative(process.cwd(), join(dir, p)) || p;
    const files = new Map<string, string>();
    for (const f of PORT_FILES) files.set(f, readFileSync(join(dir, f), 'utf8'));
    const mutants = listMutants(dir);
    if (opts.mutant) {
      const m = mutants.find((x) => x.id === opts.mutant);
      if (!m) throw new MutantError(`${rel('mutants')}: no mutant "${opts.mutant}" (have: ${mutants.map((x) => x.id).join(', ') || 'none'})`);
      const libPrefix = /^libs\/arch-[^/]+\//;
      for (const p of m.patches) p.path = p.path.replace(libPrefix, '');
      for (const p of m.patches) {
        if (!files.has(p.path)) throw new MutantError(`${rel(`mutants/${m.id}.patch`)}: patches ${p.path}, which is not one of the port's files (${PORT_FILES.join(', ')})`);
      }
      const changed = applyMutant(m, (p) => files.get(p)!, rel(`mutants/${m.id}.patch`));
      for (const [p, text] of changed) files.set(p, text);
    }
    const descriptor = parseDescriptor(files.get('arch.json')!, rel('arch.json'));
    const importTs = async <T>(name: string, exportName: string): Promise<T> => {
      const original = readFileSync(join(dir, name), 'utf8');
      const text = files.get(name)!;
      let url = pathToFileURL(join(dir, name)).href;
      let tmp: string | undefined;
      if (text !== original) {
        tmp = join(dir, name.replace(/\.ts$/, `.mutant.${process.pid}-${++seq}.ts`));
        writeFileSync(tmp, text);
        url = pathToFileURL(tmp).href;
      }
      try {
        const mod = (await import(url)) as Record<string, unknown>;
        const v = mod[exportName];
        if (!v) throw new Error(`${rel(name)} does not export "${exportName}"`);
        return v as T;
      } finally {
        if (tmp) rmSync(tmp, { force: true });
      }
    };
    const c = await importTs<PortC>('src/port.ts', 'c');
    const cpu = await importTs<CpuModel>('src/cpu.ts', 'cpu');
    return {
      descriptor,
      dir,
      sources: {
        entry: { file: rel('src/entry.S'), text: files.get('src/entry.S')! },
        userTemplates: { file: rel('src/user.hbs'), text: files.get('src/user.hbs')! },
      },
      cpu,
      c,
      mutants: mutants.map((m) => m.id),
    };
  };
}
