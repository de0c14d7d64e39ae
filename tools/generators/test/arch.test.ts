// The arch generator on a virtual tree (Nx's createTreeWithEmptyWorkspace) and, for the
// dry-run property, on an FsTree over a scratch directory nothing may be written to.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson, type Tree } from '@nx/devkit';
import { FsTree } from 'nx/src/generators/tree';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDescriptor, type ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import { createAssembler, describeAssembler } from '@archkit/generic-core/asm/create';
import { asmOffsets } from '@archkit/generic-core/kernel/layout';
import { compileProgram } from '@archkit/generic-core/user/compile';
import archGenerator, { GeneratorError } from '../src/generators/arch/generator.ts';
import type { ArchGeneratorSchema } from '../src/generators/arch/schema.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCAFFOLDING = ['LICENSE', 'package.json', 'project.json', 'src/index.ts', 'test/contract.test.ts', 'tsconfig.build.json', 'tsconfig.json', 'vitest.config.ts'];
const STARTING = ['CHANGELOG.md', 'README.md', 'arch.json', 'src/cpu.ts', 'src/entry.S', 'src/entry.ts', 'src/process.ts', 'src/signal.ts', 'src/syscall.ts', 'src/user.hbs'];
const PORT_MODULES = ['src/cpu.ts', 'src/entry.ts', 'src/process.ts', 'src/signal.ts', 'src/syscall.ts'];

/** An empty Nx workspace with the files the generator reads: the core's and the conformance app's package.json, an existing arch. */
function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('libs/generic-core/package.json', readFileSync(join(REPO, 'libs/generic-core/package.json')));
  tree.write('apps/conformance/package.json', readFileSync(join(REPO, 'apps/conformance/package.json')));
  for (const f of ['arch.json', 'package.json', 'project.json']) tree.write(`libs/arch-x86_64/${f}`, readFileSync(join(REPO, 'libs/arch-x86_64', f)));
  return tree;
}

async function generate(tree: Tree, o: Partial<ArchGeneratorSchema> & { name: string }) {
  return archGenerator(tree, { skipInstall: true, ...o });
}

/** The generator's refusal: a GeneratorError whose message is one line. */
async function refusal(tree: Tree, o: Partial<ArchGeneratorSchema> & { name: string }): Promise<string> {
  const before = tree.listChanges().map((c) => `${c.type} ${c.path}`);
  let err: unknown;
  try {
    await generate(tree, o);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GeneratorError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  expect((err as Error).stack, 'no stack: Nx prints the one line').toBe('');
  expect(tree.listChanges().map((c) => `${c.type} ${c.path}`), 'a refusal writes nothing').toEqual(before);
  return message;
}

const text = (tree: Tree, path: string) => tree.read(path, 'utf-8')!;
const descriptorOf = (tree: Tree, name: string): ArchDescriptor => parseDescriptor(text(tree, `libs/arch-${name}/arch.json`), `libs/arch-${name}/arch.json`);

/** TypeScript syntax errors of a generated module (the build itself runs in the CLI checks). */
function syntaxErrors(source: string, file: string): string[] {
  const out = ts.transpileModule(source, { fileName: file, reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('a new arch from the options', () => {
  it('writes the lib, its changeset and the conformance dependency, and asks for npm install', async () => {
    const tree = workspace();
    const task = await archGenerator(tree, { name: 'demo' });
    expect(typeof task).toBe('function');
    const lib = tree
      .listChanges()
      .filter((c) => c.path.startsWith('libs/arch-demo/'))
      .map((c) => c.path.slice('libs/arch-demo/'.length))
      .sort();
    expect(lib).toEqual([...SCAFFOLDING, ...STARTING, 'test/demo.test.ts'].sort());
    expect(tree.exists('.changeset/arch-demo.md')).toBe(true);
    expect(text(tree, '.changeset/arch-demo.md')).toMatch(/^---\n"@archkit\/arch-demo": minor\n"@archkit\/conformance": patch\n---\n/);

    const pkg = readJson(tree, 'libs/arch-demo/package.json');
    expect(pkg.name).toBe('@archkit/arch-demo');
    expect(pkg.dependencies).toEqual({ '@archkit/generic-core': readJson(tree, 'libs/generic-core/package.json').version });
    const project = readJson(tree, 'libs/arch-demo/project.json');
    expect(project.name).toBe('arch-demo');
    expect(project.tags).toEqual(['type:lib', 'scope:arch', 'arch:demo', 'emulator:unicorn', 'assembler:gnu-as']);
    expect(project.targets.test.options.command).toBe('vitest run --project arch-demo');

    // the conformance app takes it as an optional peer, among the other arch libs in name order;
    // its dependencies stay as they were
    const conformance = JSON.parse(readFileSync(join(REPO, 'apps/conformance/package.json'), 'utf8'));
    const after = readJson(tree, 'apps/conformance/package.json');
    const peers = after.peerDependencies as Record<string, string>;
    expect(peers['@archkit/arch-demo']).toBe(pkg.version);
    expect((after.peerDependenciesMeta as Record<string, { optional: boolean }>)['@archkit/arch-demo']).toEqual({ optional: true });
    expect(Object.keys(peers).filter((k) => k !== '@archkit/arch-demo')).toEqual(Object.keys(conformance.peerDependencies));
    expect(Object.keys(peers)).toEqual([...Object.keys(peers)].sort());
    expect(after.dependencies).toEqual(conformance.dependencies);
  });

  it('adds the peer in name order, once', async () => {
    const peers = (tree: Tree) => Object.keys(readJson(tree, 'apps/conformance/package.json').peerDependencies as object);
    const t = workspace();
    t.write('apps/conformance/package.json', JSON.stringify({ dependencies: { '@archkit/generic-core': '0.1.0', typescript: '~6.0.2' }, peerDependencies: { '@archkit/arch-arm': '0.1.0', '@archkit/arch-x86_64': '0.1.0' } }));
    await generate(t, { name: 'demo' });
    expect(peers(t)).toEqual(['@archkit/arch-arm', '@archkit/arch-demo', '@archkit/arch-x86_64']);
    await generate(t, { name: 'zz' });
    expect(peers(t)).toEqual(['@archkit/arch-arm', '@archkit/arch-demo', '@archkit/arch-x86_64', '@archkit/arch-zz']);
    expect(Object.keys(readJson(t, 'apps/conformance/package.json').dependencies as object)).toEqual(['@archkit/generic-core', 'typescript']);
  });

  it('arch.json passes the strict descriptor parser: 64-bit little-endian, generic-entry, a placeholder RISC-V 64 assembled by GNU as, TODO where a human writes facts', async () => {
    const tree = workspace();
    await generate(tree, { name: 'demo' });
    const d = descriptorOf(tree, 'demo');
    expect(d).toMatchObject({ name: 'demo', linux: '6.18', wordSize: 8, endian: 'little', emulator: { backend: 'unicorn' }, entry: { model: 'generic-entry', offers: ['generic-entry'] } });
    expect(d.assembler).toMatchObject({ backend: 'gnu-as', target: 'riscv64-linux-gnu' });
    expect(d.registers.user.slice(0, 3)).toEqual(['r0', 'r1', 'r2']);
    // asm-generic numbers: what the core and the scenarios use
    expect(d.syscall.numbers).toMatchObject({ rt_sigreturn: 139, restart_syscall: 128, exit: 93, clone: 220, getpid: 172 });
    // what would make scenarios "unsupported" is there: a TLS register, copy_to_user
    expect(d.registers.tls).toBeDefined();
    expect(d.symbols.copyToUser).toBeDefined();
    for (const [group, cite] of Object.entries(d.sources)) expect(cite, `sources.${group}`).toMatch(/\S+\/\S+/);
    expect(Object.values(d.sources).some((s) => s.includes('TODO'))).toBe(true);
    expect(d.notes?.filter((n) => n.startsWith('TODO')).length).toBeGreaterThan(2);
  });

  it('src/ exports what the loader expects, each hook a human writes is a todo(), hooks with a generic default are left to it', async () => {
    const tree = workspace();
    await generate(tree, { name: 'demo' });
    const src = (f: string) => text(tree, `libs/arch-demo/${f}`);
    expect(src('src/index.ts')).toBe("import { portLoader } from '@archkit/generic-core/contracts/loader';\n\nexport const createPort = portLoader(import.meta.url);\n");
    expect(src('src/cpu.ts')).toMatch(/export const cpu: CpuModel = \{/);
    for (const f of ['src/entry.ts', 'src/process.ts', 'src/signal.ts', 'src/syscall.ts']) expect(src(f)).toMatch(/export const hooks: \w+Hooks = \{/);
    for (const f of PORT_MODULES) {
      expect(syntaxErrors(src(f), f), f).toEqual([]);
      expect(src(f)).toContain("import { todo");
    }
    for (const hook of ['syscall_get_nr', 'syscall_set_nr', 'syscall_rollback']) expect(src('src/syscall.ts')).toMatch(new RegExp(`${hook}: \\(\\) => todo\\('src/syscall.ts ${hook}\\(`));
    for (const hook of ['copy_thread', 'start_thread']) expect(src('src/process.ts')).toMatch(new RegExp(`${hook}: \\(\\) =>\\s+todo\\(\\s*'src/process.ts ${hook}\\(`));
    for (const hook of ['setup_rt_frame', 'restore_rt_frame', 'ucontext_reg_offset']) expect(src('src/signal.ts')).toMatch(new RegExp(`${hook}: \\(\\) =>\\s+todo\\(`));
    // generic defaults are not stubbed
    for (const hook of ['in_syscall:', 'forget_syscall:', 'syscall_get_return_value:', 'set_restart_syscall:', 'syscall_get_arguments:']) expect(src('src/syscall.ts')).not.toContain(hook);
    expect(src('src/signal.ts')).not.toContain('arch_do_signal_or_restart:');
    expect(src('src/process.ts')).not.toContain('__switch_to:');
    // the CPU: the placeholder's facts, said to be one
    expect(src('src/cpu.ts')).toContain('const UC_ARCH_RISCV = 8;');
    expect(src('src/cpu.ts')).toContain('TODO: demo is not a CPU archkit knows');
    expect(src('README.md')).toMatch(/## Status\n\nA skeleton: nothing is implemented yet/);
  });

  it('entry.S defines every label arch.json names, each under a TODO', async () => {
    const tree = workspace();
    await generate(tree, { name: 'demo' });
    const d = descriptorOf(tree, 'demo');
    const entry = text(tree, 'libs/arch-demo/src/entry.S');
    for (const [role, label] of Object.entries(d.symbols)) expect(entry, `symbols.${role}`).toMatch(new RegExp(`/\\* TODO symbols\\.${role}[^]*?\\*/\\n${label}:\\n\\tunimp\\n`));
    for (const label of ['__vdso_start', '__vdso_end']) expect(entry).toContain(`\n${label}:\n`);
  });

  it('the conformance dependency is added once, and not at all when the app is missing', async () => {
    const tree = workspace();
    tree.delete('apps/conformance/package.json');
    await generate(tree, { name: 'demo' });
    expect(tree.exists('apps/conformance/package.json')).toBe(false);
    expect(tree.exists('libs/arch-demo/arch.json')).toBe(true);
  });
});

// Every option combination the generator accepts: the descriptor parses, entry.S assembles
// with the chosen assembler (where the tool is installed), and a user program compiles
// through the generated user.hbs.
const COMBOS: Array<[string, Partial<ArchGeneratorSchema>, { family: string; target: string }]> = [
  ['demo', {}, { family: 'UC_ARCH_RISCV', target: 'riscv64-linux-gnu' }],
  ['w32', { wordSize: 32 }, { family: 'UC_ARCH_ARM', target: 'arm-linux-gnueabi' }],
  ['be64', { endian: 'big' }, { family: 'UC_ARCH_S390X', target: 's390x-linux-gnu' }],
  ['be32', { wordSize: 32, endian: 'big' }, { family: 'UC_ARCH_MIPS', target: 'mips-linux-gnu' }],
  ['ks64', { assembler: 'keystone' }, { family: 'UC_ARCH_ARM64', target: 'arm64' }],
  ['ks32', { assembler: 'keystone', wordSize: 32 }, { family: 'UC_ARCH_ARM', target: 'arm' }],
  ['mc64', { assembler: 'llvm-mc' }, { family: 'UC_ARCH_RISCV', target: 'riscv64' }],
  ['mc32be', { assembler: 'llvm-mc', wordSize: 32, endian: 'big' }, { family: 'UC_ARCH_MIPS', target: 'mips' }],
  ['wa', { entryModel: 'arch' }, { family: 'UC_ARCH_RISCV', target: 'riscv64-linux-gnu' }],
  ['wp', { entryModel: 'do-work-pending', wordSize: 32 }, { family: 'UC_ARCH_ARM', target: 'arm-linux-gnueabi' }],
];

describe.each(COMBOS)('%s %o', (name, opts, want) => {
  it('arch.json parses, entry.S assembles with the chosen assembler, user.hbs renders a program that assembles', async () => {
    const tree = workspace();
    await generate(tree, { name, ...opts });
    const d = descriptorOf(tree, name);
    expect(d.assembler.target).toBe(want.target);
    expect(d.wordSize * 8).toBe(opts.wordSize ?? 64);
    expect(d.endian).toBe(opts.endian ?? 'little');
    expect(d.entry.model).toBe(opts.entryModel ?? 'generic-entry');
    expect(text(tree, `libs/arch-${name}/src/cpu.ts`)).toContain(`arch: ${want.family},`);
    expect(readJson(tree, `libs/arch-${name}/project.json`).tags).toContain(`assembler:${d.assembler.backend}`);
    for (const f of PORT_MODULES) expect(syntaxErrors(text(tree, `libs/arch-${name}/${f}`), f), f).toEqual([]);
    if (describeAssembler(d.assembler).includes('not installed')) return;
    const asm = await createAssembler(d.assembler, { cache: false });
    const res = asm.assemble({ file: 'entry.S', text: text(tree, `libs/arch-${name}/src/entry.S`), prelude: asmOffsets(d) }, { base: d.memory.kernelText, externs: { sys_call_table: d.memory.kernelData + 0x1000n, schedule_tail: d.memory.stubs + 16n } });
    const addrs = new Set<bigint>();
    for (const label of Object.values(d.symbols)) {
      expect(res.symbols.has(label), label).toBe(true);
      addrs.add(res.symbols.get(label)!);
    }
    expect(addrs.size, 'every label at an address of its own').toBe(new Set(Object.values(d.symbols)).size);
    const img = compileProgram(
      { desc: d, templates: { file: 'user.hbs', text: text(tree, `libs/arch-${name}/src/user.hbs`) }, signal: { ucontext_reg_offset: () => 0 }, assembler: asm },
      {
        name: '/init',
        ops: [
          { op: 'label', name: '_start' },
          { op: 'fillRegs', seed: 0x100n },
          { op: 'syscall', name: 'getpid' },
          { op: 'store', reg: 'ret', slot: 'r' },
          { op: 'beqz', reg: 'ret', label: 'out' },
          { op: 'tlsSet', value: 1n },
          { op: 'storeAllRegs', prefix: 'all' },
          { op: 'label', name: 'out' },
          { op: 'syscall', name: 'exit', args: [0] },
        ],
      },
    );
    expect(img.bytes.length).toBeGreaterThan(0);
    expect(img.source).toContain('TODO set_reg');
  });
});

describe('a new arch from --descriptor', () => {
  const riscv = readFileSync(join(REPO, 'libs/arch-riscv64/arch.json'), 'utf8').replace('"name": "riscv64"', '"name": "rv"');

  it('copies the descriptor as arch.json and fills src/ with its facts: its CPU (RISC-V 64), registers and labels', async () => {
    const tree = workspace();
    tree.write('my/arch.json', riscv);
    await generate(tree, { name: 'rv', descriptor: 'my/arch.json' });
    expect(text(tree, 'libs/arch-rv/arch.json')).toBe(riscv);
    const cpu = text(tree, 'libs/arch-rv/src/cpu.ts');
    expect(cpu).toContain('const UC_ARCH_RISCV = 8;');
    expect(cpu).not.toContain('not a CPU archkit knows');
    expect(cpu).toMatch(/const REGISTERS = \['ra', 'sp', 'gp', 'tp'/);
    expect(cpu).toContain('pc: UC_RISCV_REG_PC');
    expect(text(tree, 'libs/arch-rv/src/entry.S')).toContain('\nhandle_exception:\n\tunimp\n');
    expect(text(tree, 'libs/arch-rv/src/entry.S')).toContain('\n__vdso_rt_sigreturn:\n\tunimp\n');
    expect(readJson(tree, 'libs/arch-rv/project.json').tags).toEqual(['type:lib', 'scope:arch', 'arch:rv', 'emulator:unicorn', 'assembler:gnu-as']);
    expect(text(tree, 'libs/arch-rv/README.md')).toContain('from `my/arch.json`');
  });

  it('refuses one that does not parse, naming the file, line:column and field', async () => {
    const tree = workspace();
    tree.write('bad.json', riscv.replace('"wordSize": 8', '"wordSize": 7'));
    expect(await refusal(tree, { name: 'rv', descriptor: 'bad.json' })).toMatch(/^the descriptor does not parse: bad\.json:\d+:\d+: field "wordSize": expected 4 or 8, got 7$/);
    tree.write('cut.json', riscv.slice(0, 500));
    expect(await refusal(tree, { name: 'rv', descriptor: 'cut.json' })).toMatch(/^the descriptor does not parse: cut\.json:\d+:\d+: malformed JSON: /);
  });

  it('refuses a missing file, another arch\'s name, and options that disagree with it', async () => {
    const tree = workspace();
    tree.write('my/arch.json', riscv);
    expect(await refusal(tree, { name: 'rv', descriptor: 'nope.json' })).toBe('--descriptor nope.json: no such file');
    expect(await refusal(tree, { name: 'other', descriptor: 'my/arch.json' })).toBe('my/arch.json: field "name" is "rv", but the arch to generate is "other"');
    expect(await refusal(tree, { name: 'rv', descriptor: 'my/arch.json', wordSize: 32 })).toBe('--word-size 32 disagrees with my/arch.json (wordSize 64): leave the option out or change the descriptor');
    expect(await refusal(tree, { name: 'rv', descriptor: 'my/arch.json', assembler: 'keystone' })).toMatch(/^--assembler keystone disagrees with my\/arch\.json \(assembler\.backend "gnu-as"\)/);
  });
});

describe('refusals', () => {
  it('a name that exists', async () => {
    const tree = workspace();
    expect(await refusal(tree, { name: 'x86_64' })).toBe('libs/arch-x86_64 already exists: the workspace has an arch named "x86_64" (choose another name; --regenerate re-renders its scaffolding)');
    await generate(tree, { name: 'demo' });
    expect(await refusal(tree, { name: 'demo' })).toMatch(/^libs\/arch-demo already exists/);
    // a package of that name the conformance app already depends on
    expect(await refusal(tree, { name: 'arm64' })).toBe('@archkit/arch-arm64 already exists: apps/conformance/package.json depends on it, though libs/arch-arm64 is missing (choose another name, or remove the dependency)');
  });

  it('a name that is not a valid package name, or not an arch id', async () => {
    const tree = workspace();
    expect(await refusal(tree, { name: 'Demo' })).toBe('"Demo" is not a valid package name for @archkit/arch-Demo: a package name has no capital letters');
    expect(await refusal(tree, { name: 'de mo' })).toMatch(/^"de mo" is not a valid package name for @archkit\/arch-de mo: a package name has only URL-safe characters/);
    expect(await refusal(tree, { name: 'a/b' })).toMatch(/is not a valid package name/);
    expect(await refusal(tree, { name: '' })).toMatch(/is not a valid package name for @archkit\/arch-: it is empty/);
    expect(await refusal(tree, { name: 'x'.repeat(220) })).toMatch(/at most 214 characters/);
    expect(await refusal(tree, { name: 'my-arch' })).toBe('"my-arch" cannot be an arch name: arch.json "name" is lower-case letters, digits and "_", starting with a letter (as x86_64, riscv64)');
    expect(await refusal(tree, { name: '9x' })).toMatch(/cannot be an arch name/);
  });

  it('an assembler that cannot assemble for the CPU', async () => {
    const tree = workspace();
    expect(await refusal(tree, { name: 'bigks', assembler: 'keystone', endian: 'big' })).toMatch(/^keystone cannot assemble for a big-endian CPU archkit runs/);
    expect(await refusal(tree, { name: 'sparc32', assembler: 'llvm-mc' })).toBe('--assembler llvm-mc cannot assemble for SPARC V8: ld.lld-19 cannot link SPARC objects');
    expect(await refusal(tree, { name: 'riscv64', assembler: 'keystone' })).toMatch(/already exists|keystone/);
  });
});

describe('--dry-run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'archkit-gen-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const listing = (root: string): string[] =>
    readdirSync(root, { recursive: true, withFileTypes: false })
      .map(String)
      .sort()
      .map((p) => `${p} ${statSync(join(root, p)).mtimeMs}`);

  it('the generator only writes through the tree (Nx neither flushes it nor runs the npm install task under --dry-run)', async () => {
    for (const f of ['nx.json', 'package.json', 'libs/generic-core/package.json', 'apps/conformance/package.json']) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), f === 'nx.json' ? '{}' : readFileSync(join(REPO, f)));
    }
    const before = listing(dir);
    const tree = new FsTree(dir, false);
    const task = await archGenerator(tree, { name: 'demo' });
    expect(typeof task).toBe('function');
    expect(tree.listChanges().filter((c) => c.type === 'CREATE').length).toBeGreaterThan(15);
    expect(listing(dir)).toEqual(before);
  });
});

describe('--regenerate', () => {
  it('re-renders only the scaffolding of an existing lib from its arch.json', async () => {
    const tree = workspace();
    await generate(tree, { name: 'demo' });
    const lib = (f: string) => `libs/arch-demo/${f}`;
    const kept = Object.fromEntries(STARTING.map((f) => [f, text(tree, lib(f))]));
    const scaffold = Object.fromEntries(SCAFFOLDING.map((f) => [f, text(tree, lib(f))]));
    for (const f of SCAFFOLDING) tree.write(lib(f), f.endsWith('.json') ? '{ "edited": true }\n' : 'edited\n');
    for (const f of STARTING) tree.write(lib(f), f === 'arch.json' ? kept[f]! : 'hand-written\n');
    expect(await archGenerator(tree, { name: 'demo', regenerate: true })).toBeUndefined();
    for (const f of SCAFFOLDING) expect(text(tree, lib(f)), f).toBe(scaffold[f]);
    for (const f of STARTING) expect(text(tree, lib(f)), f).toBe(f === 'arch.json' ? kept[f] : 'hand-written\n');
  });

  it('keeps the lib\'s own version and core range, and follows arch.json\'s assembler in the tags', async () => {
    const tree = workspace();
    await generate(tree, { name: 'demo' });
    tree.write('libs/arch-demo/package.json', text(tree, 'libs/arch-demo/package.json').replace('"version": "0.1.0"', '"version": "0.3.1"').replace('"@archkit/generic-core": "0.1.0"', '"@archkit/generic-core": "0.2.0"'));
    tree.write('libs/arch-demo/arch.json', text(tree, 'libs/arch-demo/arch.json').replace('"backend": "gnu-as",\n    "target": "riscv64-linux-gnu",\n    "flags": ["-march=rv64gc", "-mabi=lp64d"],\n    "package": "binutils-riscv64-linux-gnu"', '"backend": "llvm-mc",\n    "target": "riscv64"'));
    await archGenerator(tree, { name: 'demo', regenerate: true });
    expect(readJson(tree, 'libs/arch-demo/package.json')).toMatchObject({ version: '0.3.1', dependencies: { '@archkit/generic-core': '0.2.0' } });
    expect(readJson(tree, 'libs/arch-demo/project.json').tags).toContain('assembler:llvm-mc');
  });

  it('refuses a lib that does not exist, or whose arch.json does not parse', async () => {
    const tree = workspace();
    expect(await refusal(tree, { name: 'nope', regenerate: true })).toBe('libs/arch-nope/arch.json: no such file: --regenerate re-renders the scaffolding of an existing arch lib from its arch.json');
    tree.write('libs/arch-x86_64/arch.json', '{ "name": ');
    expect(await refusal(tree, { name: 'x86_64', regenerate: true })).toMatch(/^the descriptor does not parse: libs\/arch-x86_64\/arch\.json:1:\d+: malformed JSON/);
  });
});
