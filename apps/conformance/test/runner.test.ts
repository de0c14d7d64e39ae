// The runner end to end: real ports, real emulator. Passing scenarios, a mutant that must
// fail, and the three bad-input cases the kit promises to report in one paragraph naming the
// file / field / scenario, quickly, without a stack trace.

import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createAssembler } from '@archkit/generic-core/asm/create';
import { DescriptorError, parseDescriptor } from '@archkit/generic-core/contracts/descriptor';
import { portLoader } from '@archkit/generic-core/contracts/loader';
import { Kernel } from '@archkit/generic-core/kernel/kernel';
import { createUnicornMachine } from '@archkit/generic-core/machine/unicorn/machine';
import { createRunner } from '../src/runner.ts';
import { scenarios } from '../src/scenarios/index.ts';
import { label, prog, sys, type ScenarioDef } from '../src/scenarios/dsl.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const X86 = join(REPO, 'libs/arch-x86_64');

const runner = createRunner();
const tmps: string[] = [];
afterAll(() => {
  for (const d of tmps) rmSync(d, { recursive: true, force: true });
});

/** A copy of the x86_64 lib (arch.json, src/, mutants/) in a temp dir, with `edit` applied to one file. */
function libCopy(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'archkit-runner-test-'));
  tmps.push(dir);
  for (const f of ['arch.json', 'src', 'mutants']) cpSync(join(X86, f), join(dir, f), { recursive: true });
  // the copy's imports of @archkit/* resolve as the lib's own do
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const p = join(dir, file);
  const before = readFileSync(p, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before);
  writeFileSync(p, after);
  return dir;
}

/** One paragraph: no blank line, no stack frame lines. */
function expectOneParagraph(msg: string): void {
  expect(msg).not.toMatch(/\n\s*at /);
  expect(msg).not.toMatch(/\n\s*\n/);
  expect(msg.split('\n').length).toBeLessThanOrEqual(3);
}

describe('runArch on the real ports', () => {
  it('x86_64: a few scenarios pass', async () => {
    const ids = ['kthread.fn-arg', 'fork.child-returns-zero', 'restart.sys-sa-restart', 'signal.frame-roundtrip'];
    const seen: string[] = [];
    const r = await runner.runArch('x86_64', ids, { onResult: (s) => seen.push(s.id) });
    expect(r.arch).toBe('x86_64');
    expect(r.mutant).toBeUndefined();
    expect(r.scenarios.map((s) => [s.id, s.status, s.message])).toEqual(ids.map((id) => [id, 'pass', '']));
    expect(seen).toEqual(ids);
    for (const s of r.scenarios) expect(s.guestInstructions).toBeGreaterThan(0);
  });

  it('arm64: a restart scenario passes under both entry models it offers; the report says which model ran', async () => {
    for (const entryModel of ['arch', 'generic-entry'] as const) {
      const r = await runner.runArch('arm64', ['restart.block-no-handler'], { entryModel });
      expect(r.entryModel).toBe(entryModel);
      expect(r.scenarios[0]).toMatchObject({ id: 'restart.block-no-handler', status: 'pass' });
      expect(r.scenarios[0]!.observed['nrAfter']).toBe(128);
    }
    await expect(runner.runArch('x86_64', ['kthread.fn-arg'], { entryModel: 'do-work-pending' })).rejects.toThrow(/does not offer the entry model "do-work-pending"/);
  });

  it('a mutant makes the scenario of its contract fail, naming the contract', async () => {
    const r = await runner.runArch('x86_64', ['fork.child-returns-zero', 'restart.no-double-restart'], { mutant: 'fork-child-nonzero' });
    expect(r.mutant).toBe('fork-child-nonzero');
    const [fork, other] = r.scenarios;
    expect(fork!.status).toBe('fail');
    expect(fork!.message).toMatch(/^C3: /);
    expect(other!.status).toBe('pass');
  });

  it('the double-restart mutant fails restart.no-double-restart with a C6 message', async () => {
    const r = await runner.runArch('arm64', ['restart.no-double-restart'], { mutant: 'double-restart' });
    expect(r.scenarios[0]!.status).toBe('fail');
    expect(r.scenarios[0]!.message).toMatch(/C6/);
  });

  it('an unknown mutant or scenario is an error naming it', async () => {
    await expect(runner.runArch('x86_64', ['kthread.fn-arg'], { mutant: 'no-such-mutant' })).rejects.toThrow(/no mutant "no-such-mutant"/);
    await expect(runner.runArch('x86_64', ['no.such-scenario'], {})).rejects.toThrow(/no scenario "no.such-scenario"/);
  });
});

describe('bad input: one paragraph naming the file and what is wrong', () => {
  it('malformed arch.json: DescriptorError naming arch.json and the field path', async () => {
    const t0 = performance.now();
    const dir = libCopy('arch.json', (s) => s.replace('"ret": "rax"', '"ret": 7'));
    const load = portLoader(pathToFileURL(join(dir, 'src/index.ts')).href);
    const e = (await load().catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(DescriptorError);
    expect(e.message).toMatch(/arch\.json:\d+:\d+: field "callingConvention\.ret": expected a non-empty string, got 7/);
    expectOneParagraph(e.message);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('arch.json that is not JSON: DescriptorError with arch.json:<line>:<column>', () => {
    const text = readFileSync(join(X86, 'arch.json'), 'utf8').replace('"wordSize": 8,', '"wordSize": 8,,');
    const e = (() => {
      try {
        parseDescriptor(text, 'libs/arch-x86_64/arch.json');
      } catch (x) {
        return x as Error;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(DescriptorError);
    expect(e.message).toMatch(/^libs\/arch-x86_64\/arch\.json:\d+:\d+: malformed JSON/);
    expectOneParagraph(e.message);
  });

  it('an assembler error in entry.S: AsmError with entry.S:<line>', async () => {
    const t0 = performance.now();
    let badLine = 0;
    const dir = libCopy('src/entry.S', (s) => {
      const lines = s.split('\n');
      // the first instruction outside a macro body (errors inside one are reported at its use)
      let inMacro = false;
      badLine =
        lines.findIndex((l) => {
          if (/^\s*\.macro\b/.test(l)) inMacro = true;
          else if (/^\s*\.endm\b/.test(l)) inMacro = false;
          else if (!inMacro && /^\s+(mov|push|pop)\b/.test(l)) return true;
          return false;
        }) + 1;
      lines[badLine - 1] = '    frobnicate rax, rbx';
      return lines.join('\n');
    });
    expect(badLine).toBeGreaterThan(0);
    const port = await portLoader(pathToFileURL(join(dir, 'src/index.ts')).href)();
    const d = port.descriptor;
    const m = createUnicornMachine(port.cpu.unicorn);
    let e: Error | undefined;
    try {
      const k = new Kernel({ port, machine: m, assembler: await createAssembler({ ...d.assembler }, { cache: false }), programs: {} });
      k.boot();
    } catch (x) {
      e = x as Error;
    } finally {
      m.close();
    }
    expect(e?.name).toBe('AsmError');
    expect(e!.message).toContain(`entry.S:${badLine}: assembler error`);
    expect(e!.message).toContain('frobnicate rax, rbx');
    expectOneParagraph(e!.message);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('runaway guest code: status fail, "runaway guest code" and the budget, quickly', async () => {
    const def: ScenarioDef = {
      id: 'test.runaway',
      group: 'test',
      contracts: [],
      title: 'a user program that loops forever',
      programs: () => ({ '/init': prog('/init', [sys('getpid'), label('l'), { op: 'jmp', label: 'l' }]) }),
      check() {
        throw new Error('check must not run after a runaway');
      },
    };
    scenarios.push(def);
    try {
      const t0 = performance.now();
      const r = await runner.runArch('x86_64', ['test.runaway'], {});
      const ms = performance.now() - t0;
      const s = r.scenarios[0]!;
      expect(s.status).toBe('fail');
      expect(s.message).toMatch(/^runaway guest code: ran past the budget of 100000 instructions, pc 0x[0-9a-f]+/);
      expectOneParagraph(s.message);
      expect(s.guestInstructions).toBeGreaterThanOrEqual(100_000);
      expect(ms).toBeLessThan(8000);
    } finally {
      scenarios.splice(scenarios.indexOf(def), 1);
    }
  });
});
