// A freshly generated lib loads and runs before anyone writes a line of it: written from the
// virtual tree into a throw-away libs/ directory (the runner's libsDir seam; nothing goes
// into the repository's libs/), `archkit list` reads it without error and the conformance
// runner reports every scenario as failing with "not yet implemented: <what>", never a crash.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createRunner } from '@archkit/conformance/runner';
import archGenerator from '../src/generators/arch/generator.ts';
import type { ArchGeneratorSchema } from '../src/generators/arch/schema.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'archkit-skeleton-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const libs = join(tmp, 'libs');
// the lib's tsconfig.json extends ../../tsconfig.base.json (Vite's transform reads it)
writeFileSync(join(tmp, 'tsconfig.base.json'), readFileSync(join(REPO, 'tsconfig.base.json')));

async function generateInto(o: ArchGeneratorSchema): Promise<void> {
  const tree = createTreeWithEmptyWorkspace();
  for (const f of ['libs/generic-core/package.json', 'apps/conformance/package.json']) tree.write(f, readFileSync(join(REPO, f)));
  await archGenerator(tree, { skipInstall: true, ...o });
  for (const c of tree.listChanges()) {
    if (!c.path.startsWith(`libs/arch-${o.name}/`) || !c.content) continue;
    const file = join(tmp, c.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, c.content);
  }
}

const SKELETONS: Array<[string, Partial<ArchGeneratorSchema>]> = [
  ['demo', {}],
  ['ks32', { assembler: 'keystone', wordSize: 32, entryModel: 'do-work-pending' }],
  ['be64', { endian: 'big', entryModel: 'arch' }],
];

describe.each(SKELETONS)('a generated %s %o', (name, opts) => {
  it('is listed without error, and every scenario fails with "not yet implemented: <what>"', async () => {
    await generateInto({ name, ...opts });
    const runner = createRunner({ libsDir: libs });
    const info = (await runner.listArches()).find((a) => a.arch === name)!;
    expect(info.error).toBeUndefined();
    const ids = runner.listScenarios().map((s) => s.id);
    const report = await runner.runArch(name, ids, {});
    expect(report.scenarios.map((s) => s.id)).toEqual(ids);
    for (const s of report.scenarios) {
      expect(s.status, s.id).toBe('fail');
      expect(s.message, s.id).toMatch(/^not yet implemented: src\/\w+\.ts \w+/);
      expect(s.origin, s.id).toBe('contract');
    }
    // the first thing a scenario needs: the CPU's boot state (or, for a handler's context edit, the ucontext layout)
    const whats = new Set(report.scenarios.map((s) => s.message.replace(/^not yet implemented: (src\/\S+ \w+).*$/, '$1')));
    expect([...whats].sort()).toEqual(['src/cpu.ts boot', 'src/signal.ts ucontext_reg_offset']);
  }, 60_000);
});
