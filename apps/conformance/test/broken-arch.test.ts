// A malformed or truncated arch.json breaks only its own arch: `list` shows the error (file
// and line:column) against it and lists the others, `conformance --arch other` runs, the
// broken arch fails with its error (exit 1), and `--arch all` reports it and still runs the
// rest. Uses a throw-away libs/ directory (the real x86_64 lib linked in, a broken one
// beside it) through the runner's libsDir seam: nothing is written into libs/.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../src/cli.ts';
import { createRunner } from '../src/runner.ts';
import type { Report } from '../src/types.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'archkit-broken-arch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const libs = join(tmp, 'libs');
mkdirSync(libs);
symlinkSync(join(REPO, 'libs/arch-x86_64'), join(libs, 'arch-x86_64'), 'dir');
const x86json = readFileSync(join(REPO, 'libs/arch-x86_64/arch.json'), 'utf8');
// truncated in the middle of a line: "unexpected end of input" at the end of the file
mkdirSync(join(libs, 'arch-broken'));
const truncated = x86json.slice(0, Math.floor(x86json.length / 2));
writeFileSync(join(libs, 'arch-broken/arch.json'), truncated);
const endLine = truncated.split('\n').length;
// valid JSON, a bad field: named with its line:column too
mkdirSync(join(libs, 'arch-badfield'));
writeFileSync(join(libs, 'arch-badfield/arch.json'), x86json.replace(/"wordSize": 8/, '"wordSize": 7'));

const runner = createRunner({ libsDir: libs });

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stderrIsTTY: false, env: {}, cwd: tmp, createRunner: () => runner };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('a broken arch.json breaks only its arch', () => {
  it('listArches: the broken arch carries its error (file, line:column); the others load', async () => {
    const arches = await runner.listArches();
    expect(arches.map((a) => a.arch)).toEqual(['badfield', 'broken', 'x86_64']);
    const broken = arches.find((a) => a.arch === 'broken')!;
    expect(broken.error).toMatch(new RegExp(`arch-broken/arch\\.json:${endLine}:\\d+: malformed JSON: unexpected end of input`));
    expect(broken.error).not.toContain('Unexpected end of JSON input');
    expect(arches.find((a) => a.arch === 'badfield')!.error).toMatch(/arch-badfield\/arch\.json:\d+:\d+: field "wordSize": expected 4 or 8, got 7/);
    const x86 = arches.find((a) => a.arch === 'x86_64')!;
    expect(x86.error).toBeUndefined();
    expect(x86.mutants.length).toBeGreaterThan(0);
  });

  it('list shows the others and the error against the broken one; exit 1', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\nbroken\s+ERROR \(see below\)\s+-\s+-\s+-\n/);
    expect(r.out).toMatch(/\nx86_64\s+x86-64/);
    expect(r.out).toMatch(/Arches that cannot be loaded \(2\):\n {2}ERROR badfield: .*arch-badfield\/arch\.json:\d+:\d+: field "wordSize"/);
    expect(r.out).toMatch(/ {2}ERROR broken: .*arch-broken\/arch\.json:\d+:\d+: malformed JSON: unexpected end of input/);
    expect(r.out).toContain('Scenarios (');
  });

  it('conformance --arch x86_64 runs as if nothing were wrong', { timeout: 60_000 }, async () => {
    const r = await run(['conformance', '--arch', 'x86_64', '--scenario', 'kthread.fn-arg']);
    expect(r.err).not.toContain('arch-broken');
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 passed, 0 failed, 0 unsupported');
  });

  it('conformance --arch broken: the error naming the file and line:column, exit 1', async () => {
    const r = await run(['conformance', '--arch', 'broken', '--json', 'broken.json']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^archkit: broken cannot run: .*arch-broken\/arch\.json:\d+:\d+: malformed JSON: unexpected end of input\n/);
    expect(r.out).toContain('Arches that could not run (1):');
    expect(r.out).toContain('1 arch could not run');
    const rep = JSON.parse(readFileSync(join(tmp, 'broken.json'), 'utf8')) as Report;
    expect(rep.arches).toEqual([]);
    expect(rep.errors).toEqual([{ arch: 'broken', message: expect.stringMatching(/arch\.json:\d+:\d+: malformed JSON/) }]);
  });

  it('conformance --arch all: the broken arches are reported, the others still run; exit 1', { timeout: 60_000 }, async () => {
    const r = await run(['conformance', '--arch', 'all', '--scenario', 'kthread.fn-arg', '--junit', 'all.xml']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^scenario\s+x86_64$/m);
    expect(r.out).toMatch(/\nkthread\.fn-arg\s+pass\n/);
    expect(r.out).toContain('ERROR broken: ');
    expect(r.out).toContain('ERROR badfield: ');
    expect(r.out).toContain('1 passed, 0 failed, 0 unsupported\n2 arches could not run\n');
    const xml = readFileSync(join(tmp, 'all.xml'), 'utf8');
    expect(xml).toContain('<testsuite name="broken" tests="1" failures="0" errors="1"');
    expect(xml).toMatch(/<error message="[^"]*arch-broken\/arch\.json:\d+:\d+: malformed JSON/);
  });

  it('mutants skips the broken arch with its error, exit 1', async () => {
    const r = await run(['mutants', '--arch', 'broken']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('ERROR broken: ');
    expect(r.out).toContain('1 arch could not run');
  });
});
