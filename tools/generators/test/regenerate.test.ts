// Regenerating the scaffolding of every arch lib in the repository from its arch.json gives
// its files byte for byte: what is the same for every arch is written once, in the templates.
// (The lib's version and its @archkit/generic-core range are the lib's own, kept.)

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import archGenerator, { renderScaffolding } from '../src/generators/arch/generator.ts';
import { existingArchModel } from '../src/generators/arch/model.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCAFFOLDING = ['LICENSE', 'package.json', 'project.json', 'src/index.ts', 'test/contract.test.ts', 'tsconfig.build.json', 'tsconfig.json', 'vitest.config.ts'];
const ARCHES = readdirSync(join(REPO, 'libs'))
  .filter((d) => d.startsWith('arch-') && existsSync(join(REPO, 'libs', d, 'arch.json')))
  .map((d) => d.slice('arch-'.length))
  .sort();

it('finds the arch libs of the repository', () => {
  expect(ARCHES).toEqual(expect.arrayContaining(['x86_64', 'arm64', 'riscv64']));
});

describe.each(ARCHES)('libs/arch-%s', (arch) => {
  const dir = join(REPO, 'libs', `arch-${arch}`);

  it('the templates render exactly the scaffolding files the lib has', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('libs/generic-core/package.json', readFileSync(join(REPO, 'libs/generic-core/package.json')));
    for (const f of ['arch.json', 'package.json']) tree.write(`libs/arch-${arch}/${f}`, readFileSync(join(dir, f)));
    const rendered = renderScaffolding(existingArchModel(tree, arch));
    expect([...rendered.keys()].sort()).toEqual(SCAFFOLDING);
    for (const [path, text] of rendered) expect(text, `libs/arch-${arch}/${path}`).toBe(readFileSync(join(dir, path), 'utf8'));
  });

  it('nx g @archkit/generators:arch --regenerate on the lib changes nothing', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('libs/generic-core/package.json', readFileSync(join(REPO, 'libs/generic-core/package.json')));
    for (const f of ['arch.json', ...SCAFFOLDING]) tree.write(`libs/arch-${arch}/${f}`, readFileSync(join(dir, f)));
    const before = new Map(SCAFFOLDING.map((f) => [f, tree.read(`libs/arch-${arch}/${f}`)!]));
    await archGenerator(tree, { name: arch, regenerate: true });
    for (const f of SCAFFOLDING) expect(tree.read(`libs/arch-${arch}/${f}`)!.equals(before.get(f)!), f).toBe(true);
  });
});
