// What `listArches` says about one arch lib, without letting a broken lib break the others:
// its arch.json is parsed and checked by the core's strict descriptor parser (errors name the
// file and line:column), its mutants are listed, and any error becomes the arch's `error`.

import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { describeAssembler } from '@archkit/generic-core/asm/create';
import { parseDescriptor } from '@archkit/generic-core/contracts/descriptor';
import { listMutants } from '@archkit/generic-core/contracts/loader';
import type { ArchInfo } from './types.ts';

/** `path` relative to the working directory when it lies below it (as the core's loader names files), else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * The ArchInfo of the lib in `dir`; never throws. When the lib cannot be loaded the result
 * has `error` set and placeholder fields ("unknown", no entry models, no mutants).
 */
export function readArchInfo(arch: string, dir: string, emulatorName: (backend: string) => string): ArchInfo {
  const file = join(dir, 'arch.json');
  try {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`${displayPath(file)}: cannot read the descriptor: ${(e as Error).message}`);
    }
    const d = parseDescriptor(text, displayPath(file));
    return {
      arch,
      title: d.title,
      linux: d.linux,
      entryModel: d.entry.model,
      entryModels: [...d.entry.offers],
      emulator: emulatorName(d.emulator.backend),
      assembler: describeAssembler(d.assembler),
      mutants: listMutants(dir).map((mu) => ({
        id: mu.id,
        contract: mu.contract,
        description: mu.description,
        file: join(dir, 'mutants', `${mu.id}.patch`),
        ...(mu.models ? { models: mu.models } : {}),
      })),
    };
  } catch (e) {
    let message = e instanceof Error ? e.message : String(e);
    // every message names the lib: the core's errors name their file, others get the lib's directory
    if (!message.includes(displayPath(dir))) message = `${displayPath(dir)}: ${message}`;
    return { arch, title: 'unknown', entryModel: 'unknown', entryModels: [], emulator: 'unknown', assembler: 'unknown', mutants: [], error: message };
  }
}
