// From the generator's options to what the templates render: the checks that refuse a
// request (one line each, naming the option, file or field), the descriptor the lib is made
// from (the options', or --descriptor's after the strict parser accepted it), and the facts
// the templates fill in.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Tree } from '@nx/devkit';
import { ENTRY_MODELS, parseDescriptor, type ArchDescriptor, type EntryModel } from '@archkit/generic-core/contracts/descriptor';
import { ASM_BACKENDS, cannotAssemble, defaultAssembler, familyByAssembler, familyByName, placeholderFamily, type AsmBackend, type CpuFamily } from './cpus.ts';
import { startingDescriptor } from './descriptor.ts';
import { renderFile } from './render.ts';
import type { ArchGeneratorSchema } from './schema.ts';

/** A request the generator refuses: one line, no stack (Nx prints just the message). */
export class GeneratorError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'GeneratorError';
    this.stack = '';
  }
}

/** The package version a new lib starts at, as the workspace's other packages did. */
export const NEW_LIB_VERSION = '0.1.0';
/** The Unicorn release the CPU models are calibrated with (arch.json emulator.version). */
export const UNICORN_VERSION = '2.0.1';

/** What every file of a lib is rendered from. */
export interface ArchModel {
  name: string;
  packageName: string;
  project: string;
  /** libs/arch-<name> */
  dir: string;
  /** package.json version and its @archkit/generic-core range: the lib's own when it exists */
  version: string;
  coreVersion: string;
  /** arch.json emulator.backend and assembler.backend (the project's tags) */
  emulator: string;
  assembler: string;
  descriptor: ArchDescriptor;
}

/** What only a new lib's starting files need besides the model. */
export interface NewArchModel extends ArchModel {
  /** the arch.json text the lib gets */
  archJson: string;
  /** --descriptor as given, when the lib starts from one */
  descriptorFile?: string;
  family: CpuFamily;
  /** the family stands in for a CPU archkit does not know */
  placeholder: boolean;
  /** the instruction the entry.S and user.hbs placeholders hold */
  trap: string;
}

// ---------------------------------------------------------------------------- names

/** validate-npm-package-name's rules for the part after the scope. */
function packageNameProblem(name: string): string | undefined {
  const pkg = `@archkit/arch-${name}`;
  if (name === '') return 'it is empty';
  if (name.trim() !== name) return 'it has leading or trailing spaces';
  if (pkg.length > 214) return 'a package name has at most 214 characters';
  if (name.toLowerCase() !== name) return 'a package name has no capital letters';
  if (/[~'!()*]/.test(name) || encodeURIComponent(name) !== name) return 'a package name has only URL-safe characters (letters, digits, "-", "_", ".")';
  return undefined;
}

/** Refuses a name that cannot be a package name, an arch id (arch.json "name") or a directory. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string') throw new GeneratorError('the arch name is missing: nx g @archkit/generators:arch <name>');
  const bad = packageNameProblem(name);
  if (bad !== undefined) throw new GeneratorError(`"${name}" is not a valid package name for @archkit/arch-${name}: ${bad}`);
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new GeneratorError(`"${name}" cannot be an arch name: arch.json "name" is lower-case letters, digits and "_", starting with a letter (as x86_64, riscv64)`);
  }
  return name;
}

// ---------------------------------------------------------------------------- reading the workspace

function readJson(tree: Tree, path: string): Record<string, unknown> | undefined {
  if (!tree.exists(path)) return undefined;
  try {
    return JSON.parse(tree.read(path, 'utf-8')!) as Record<string, unknown>;
  } catch (e) {
    throw new GeneratorError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** The lib's own version and core range when it exists; else a new lib's. */
function versions(tree: Tree, dir: string): { version: string; coreVersion: string } {
  const own = readJson(tree, `${dir}/package.json`);
  const core = readJson(tree, 'libs/generic-core/package.json');
  const deps = (own?.['dependencies'] ?? {}) as Record<string, string>;
  return {
    version: typeof own?.['version'] === 'string' ? own['version'] : NEW_LIB_VERSION,
    coreVersion: deps['@archkit/generic-core'] ?? (typeof core?.['version'] === 'string' ? core['version'] : NEW_LIB_VERSION),
  };
}

/** --descriptor's text: a workspace path (also in a virtual tree), else a file on disk. */
function readDescriptorFile(tree: Tree, file: string): { text: string; shown: string } {
  const abs = resolve(process.cwd(), file);
  const rel = relative(tree.root, abs);
  const candidates = [...(!rel.startsWith('..') && !isAbsolute(rel) ? [rel] : []), ...(!isAbsolute(file) ? [file] : [])];
  for (const p of candidates) if (tree.exists(p) && tree.isFile(p)) return { text: tree.read(p, 'utf-8')!, shown: file };
  if (existsSync(abs)) {
    try {
      return { text: readFileSync(abs, 'utf8'), shown: file };
    } catch (e) {
      throw new GeneratorError(`--descriptor ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  throw new GeneratorError(`--descriptor ${file}: no such file`);
}

function parse(text: string, file: string): ArchDescriptor {
  try {
    return parseDescriptor(text, file);
  } catch (e) {
    if ((e as Error).name === 'DescriptorError') throw new GeneratorError(`the descriptor does not parse: ${(e as Error).message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------- options

const BITS: Record<number, 4 | 8> = { 32: 4, 64: 8 };

function checkOptions(o: ArchGeneratorSchema): void {
  if (o.emulator !== undefined && o.emulator !== 'unicorn') throw new GeneratorError(`--emulator ${String(o.emulator)}: archkit runs on unicorn only`);
  if (o.assembler !== undefined && !ASM_BACKENDS.includes(o.assembler)) throw new GeneratorError(`--assembler ${String(o.assembler)}: one of ${ASM_BACKENDS.join(', ')}`);
  if (o.wordSize !== undefined && BITS[Number(o.wordSize)] === undefined) throw new GeneratorError(`--word-size ${String(o.wordSize)}: 32 or 64`);
  if (o.endian !== undefined && o.endian !== 'little' && o.endian !== 'big') throw new GeneratorError(`--endian ${String(o.endian)}: little or big`);
  if (o.entryModel !== undefined && !ENTRY_MODELS.includes(o.entryModel)) throw new GeneratorError(`--entry-model ${String(o.entryModel)}: one of ${ENTRY_MODELS.join(', ')}`);
}

/** An option given alongside --descriptor must say what the descriptor says. */
function agree(file: string, option: string, given: unknown, field: string, has: unknown): void {
  if (given !== undefined && given !== has) throw new GeneratorError(`${option} ${String(given)} disagrees with ${file} (${field} ${JSON.stringify(has)}): leave the option out or change the descriptor`);
}

/** The CPU a lib runs on: the one its descriptor or name names, else the placeholder that fits. */
function chooseFamily(name: string, wordSize: 4 | 8, endian: 'little' | 'big', backend: AsmBackend, d?: ArchDescriptor): { family: CpuFamily; placeholder: boolean } {
  const known = d
    ? (familyByAssembler(d.assembler, d.wordSize) ?? (d.assembler.alternative ? familyByAssembler(d.assembler.alternative, d.wordSize) : undefined) ?? familyByName(d.name))
    : familyByName(name);
  if (known && known.wordSize === wordSize && known.endian === endian) return { family: known, placeholder: false };
  const p = placeholderFamily(wordSize, endian, backend);
  if (typeof p === 'string') throw new GeneratorError(p);
  return { family: p, placeholder: true };
}

/** Model of an existing lib, from its arch.json (--regenerate, and the regeneration test). */
export function existingArchModel(tree: Tree, name: string): ArchModel {
  const dir = `libs/arch-${name}`;
  const file = `${dir}/arch.json`;
  if (!tree.exists(file)) throw new GeneratorError(`${file}: no such file: --regenerate re-renders the scaffolding of an existing arch lib from its arch.json`);
  const descriptor = parse(tree.read(file, 'utf-8')!, file);
  if (descriptor.name !== name) throw new GeneratorError(`${file}: field "name" is ${JSON.stringify(descriptor.name)}, but the lib is libs/arch-${name}`);
  return {
    name,
    packageName: `@archkit/arch-${name}`,
    project: `arch-${name}`,
    dir,
    ...versions(tree, dir),
    emulator: descriptor.emulator.backend,
    assembler: descriptor.assembler.backend,
    descriptor,
  };
}

/** Model of a new lib: checks the request, makes (or reads) its descriptor. */
export function newArchModel(tree: Tree, o: ArchGeneratorSchema): NewArchModel {
  const name = checkName(o.name);
  checkOptions(o);
  const dir = `libs/arch-${name}`;
  const project = `arch-${name}`;
  const conformancePkg = readJson(tree, 'apps/conformance/package.json') ?? {};
  const conformanceDeps = { ...(conformancePkg['dependencies'] ?? {}), ...(conformancePkg['peerDependencies'] ?? {}) } as Record<string, string>;
  if (tree.exists(dir)) throw new GeneratorError(`${dir} already exists: the workspace has an arch named "${name}" (choose another name; --regenerate re-renders its scaffolding)`);
  if (conformanceDeps[`@archkit/arch-${name}`] !== undefined) {
    throw new GeneratorError(`@archkit/arch-${name} already exists: apps/conformance/package.json depends on it, though ${dir} is missing (choose another name, or remove the dependency)`);
  }
  const given = { wordSize: o.wordSize === undefined ? undefined : BITS[Number(o.wordSize)], endian: o.endian, backend: o.assembler, entryModel: o.entryModel };

  let descriptor: ArchDescriptor;
  let archJson: string;
  let family: CpuFamily;
  let placeholder: boolean;
  let descriptorFile: string | undefined;
  if (o.descriptor !== undefined) {
    const { text, shown } = readDescriptorFile(tree, o.descriptor);
    descriptorFile = shown;
    descriptor = parse(text, shown);
    if (descriptor.name !== name) throw new GeneratorError(`${shown}: field "name" is ${JSON.stringify(descriptor.name)}, but the arch to generate is "${name}"`);
    agree(shown, '--word-size', o.wordSize === undefined ? undefined : Number(o.wordSize), 'wordSize', descriptor.wordSize * 8);
    agree(shown, '--endian', o.endian, 'endian', descriptor.endian);
    agree(shown, '--assembler', o.assembler, 'assembler.backend', descriptor.assembler.backend);
    agree(shown, '--emulator', o.emulator, 'emulator.backend', descriptor.emulator.backend);
    agree(shown, '--entry-model', o.entryModel, 'entry.model', descriptor.entry.model);
    ({ family, placeholder } = chooseFamily(name, descriptor.wordSize, descriptor.endian, descriptor.assembler.backend as AsmBackend, descriptor));
    archJson = text.endsWith('\n') ? text : `${text}\n`;
  } else {
    const byName = familyByName(name);
    const wordSize = given.wordSize ?? byName?.wordSize ?? 8;
    const endian = given.endian ?? byName?.endian ?? 'little';
    if (byName && (byName.wordSize !== wordSize || byName.endian !== endian)) {
      throw new GeneratorError(`"${name}" is ${byName.title}, ${byName.wordSize * 8}-bit ${byName.endian}-endian: --word-size/--endian say otherwise`);
    }
    const backend = given.backend ?? defaultAssembler(byName);
    ({ family, placeholder } = chooseFamily(name, wordSize, endian, backend));
    const why = cannotAssemble(family, backend);
    if (why !== undefined) throw new GeneratorError(`--assembler ${backend} cannot assemble for ${family.title}${placeholder ? ` (the CPU a ${wordSize * 8}-bit ${endian}-endian port runs on)` : ''}: ${why}`);
    const raw = startingDescriptor({ name, wordSize, endian, entryModel: (given.entryModel ?? 'generic-entry') as EntryModel, emulator: 'unicorn', backend, family, placeholder, unicornVersion: UNICORN_VERSION });
    archJson = renderFile('arch.json.hbs', { d: raw });
    // the generator's own output must pass the strict parser: a failure here is the generator's bug
    descriptor = parseDescriptor(archJson, `${dir}/arch.json`);
  }
  const known = familyByAssembler(descriptor.assembler, descriptor.wordSize);
  return {
    name,
    packageName: `@archkit/arch-${name}`,
    project,
    dir,
    ...versions(tree, dir),
    emulator: descriptor.emulator.backend,
    assembler: descriptor.assembler.backend,
    descriptor,
    archJson,
    ...(descriptorFile !== undefined ? { descriptorFile } : {}),
    family,
    placeholder,
    // a placeholder instruction the lib's own assembler takes; an unknown target gets a data word
    trap: known ? known.trap : '.long 0',
  };
}
