// User programs: the rendered lines of a user.hbs are kept on disk, so a cold process
// renders only what no run rendered before, and reads back exactly what was written.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Assembler, AsmSource } from '../src/asm/assembler.ts';
import { loadDescriptor } from '../src/contracts/descriptor.ts';
import { compileProgram, renderedLinesFile } from '../src/user/compile.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const desc = loadDescriptor(join(ROOT, 'libs/arch-x86_64/arch.json'));
const hbs = readFileSync(join(ROOT, 'libs/arch-x86_64/src/user.hbs'), 'utf8');

/** An assembler that keeps the sources it is given and returns a byte per line. */
function recorder(): Assembler & { sources: string[] } {
  const sources: string[] = [];
  return {
    name: 'recorder',
    sources,
    assemble: (src: AsmSource, opts) => {
      sources.push(src.text);
      return { bytes: new Uint8Array(src.text.split('\n').length), base: opts.base, symbols: new Map([['_start', opts.base]]) };
    },
  } as Assembler & { sources: string[] };
}

let scratch = '';
const saved = process.env['ARCHKIT_CACHE_DIR'];
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'archkit-render-'));
  process.env['ARCHKIT_CACHE_DIR'] = scratch;
});
afterAll(() => {
  if (saved === undefined) delete process.env['ARCHKIT_CACHE_DIR'];
  else process.env['ARCHKIT_CACHE_DIR'] = saved;
  rmSync(scratch, { recursive: true, force: true });
});

describe('rendered lines on disk', () => {
  it('a first compile writes its lines; a memo read from disk gives them back, as written', () => {
    // a text of its own: this process has no memo of it yet
    const text = `${hbs}\n{{!-- ${scratch} --}}\n`;
    const file = renderedLinesFile(text)!;
    expect(file.startsWith(scratch)).toBe(true);
    const prog = { name: '/init', ops: [{ op: 'label' as const, name: '_start' }, { op: 'nop' as const }, { op: 'syscall' as const, name: 'exit', args: [0] }] };
    const a = recorder();
    compileProgram({ desc, templates: { file: 'user.hbs', text }, signal: { ucontext_reg_offset: () => 0 }, assembler: a }, prog);
    expect(existsSync(file)).toBe(true);
    const lines = new Map(JSON.parse(readFileSync(file, 'utf8')) as Array<[string, string]>);
    expect(lines.get('nop\0{}')).toBeDefined();
    expect(a.sources[0]).toContain(lines.get('nop\0{}')!);

    // another text whose file holds a line no partial renders: the compile uses the file's
    const text2 = `${text}{{!-- 2 --}}\n`;
    writeFileSync(renderedLinesFile(text2)!, JSON.stringify([['nop\0{}', '# the line on disk']]));
    const b = recorder();
    compileProgram({ desc, templates: { file: 'user.hbs', text: text2 }, signal: { ucontext_reg_offset: () => 0 }, assembler: b }, prog);
    expect(b.sources[0]).toContain('# the line on disk');
    expect(b.sources[0]).not.toContain(lines.get('nop\0{}')!);
  });

  it('a damaged file is rendered again, and rewritten', () => {
    const text = `${hbs}\n{{!-- damaged ${scratch} --}}\n`;
    const file = renderedLinesFile(text)!;
    writeFileSync(file, '[["nop\\u0000{}", ');
    const a = recorder();
    compileProgram({ desc, templates: { file: 'user.hbs', text }, signal: { ucontext_reg_offset: () => 0 }, assembler: a }, { name: '/init', ops: [{ op: 'label', name: '_start' }, { op: 'nop' }] });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toContainEqual(['nop\0{}', expect.any(String)]);
  });
});
