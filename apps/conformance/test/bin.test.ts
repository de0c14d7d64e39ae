// The archkit command in a checkout takes the built JavaScript only when dist/ was built from
// the sources as they are (bin/sources.mjs): a digest, not file times, decides.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript beside the command, without declarations
import { builtIsFresh, sourcesDigest } from '../bin/sources.mjs';

const root = mkdtempSync(join(tmpdir(), 'archkit-bin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function pkg(group: string, name: string, files: Record<string, string>): string {
  const dir = join(root, group, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

describe('bin/sources.mjs', () => {
  it('a package is fresh while its dist/.sources is the digest of its src/**/*.ts, whatever the file times', () => {
    const lib = pkg('libs', 'core', { 'src/a.ts': 'export const a = 1;\n', 'src/sub/b.ts': 'export const b = 2;\n', 'src/types.d.ts': 'declare const x: 1;\n' });
    const app = pkg('apps', 'cli', { 'src/cli.ts': 'export {};\n' });
    mkdirSync(join(root, 'libs', 'no-sources'), { recursive: true });
    expect(builtIsFresh(root)).toBe(false); // never built
    for (const d of [lib, app]) {
      mkdirSync(join(d, 'dist'), { recursive: true });
      writeFileSync(join(d, 'dist', '.sources'), sourcesDigest(d) + '\n');
    }
    expect(builtIsFresh(root)).toBe(true);
    // touched, not changed: still fresh
    utimesSync(join(lib, 'src', 'a.ts'), new Date(), new Date(Date.now() + 60_000));
    expect(builtIsFresh(root)).toBe(true);
    // a .d.ts is not a source of dist/
    writeFileSync(join(lib, 'src', 'types.d.ts'), 'declare const x: 2;\n');
    expect(builtIsFresh(root)).toBe(true);
    // changed, added or renamed: stale
    writeFileSync(join(lib, 'src', 'sub', 'b.ts'), 'export const b = 3;\n');
    expect(builtIsFresh(root)).toBe(false);
    writeFileSync(join(lib, 'src', 'sub', 'b.ts'), 'export const b = 2;\n');
    expect(builtIsFresh(root)).toBe(true);
    writeFileSync(join(app, 'src', 'new.ts'), 'export {};\n');
    expect(builtIsFresh(root)).toBe(false);
  });
});
