import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIO, defaultThreads, globToRegExp, main, parseArgs, UsageError } from '../src/cli.ts';
import { renderJUnit, xmlAttr, xmlText } from '../src/report/junit.ts';
import { buildReport, toJson } from '../src/report/json.ts';
import { mutantCell } from '../src/report/mutants.ts';
import type { ArchInfo, ArchReport, Report, Runner, ScenarioInfo, ScenarioReport, Status } from '../src/types.ts';

// ------------------------------------------------------------------ fake runner

const SCENARIOS: ScenarioInfo[] = [
  { id: 'kthread.fn-arg', group: 'kthread', contracts: ['C1'], title: 'fn gets arg' },
  { id: 'fork.child-returns-zero', group: 'fork', contracts: ['C3'], title: 'child sees 0' },
  { id: 'restart.sys-sa-restart', group: 'restart', contracts: ['C6'], title: 'ERESTARTSYS + SA_RESTART' },
  { id: 'restart.block-handler', group: 'restart', contracts: ['C6'], title: 'restart block with handler' },
  { id: 'signal.frame-roundtrip', group: 'signal', contracts: ['C7'], title: 'frame round trip' },
];

const ARCHES: ArchInfo[] = [
  {
    arch: 'x86_64',
    title: 'x86-64',
    emulator: 'unicorn x86 64',
    assembler: 'keystone x86',
    entryModel: 'generic-entry',
    entryModels: ['generic-entry'],
    mutants: [
      { id: 'double-restart', contract: 'C6', description: 'rewinds twice', file: 'mutants/double-restart.patch' },
      { id: 'fork-child-nonzero', contract: 'C3', description: 'child returns pid', file: 'mutants/f.patch' },
    ],
  },
  {
    arch: 'arm64',
    title: 'AArch64',
    emulator: 'unicorn arm64',
    assembler: 'keystone arm64',
    entryModel: 'arch',
    entryModels: ['arch', 'generic-entry'],
    mutants: [
      { id: 'double-restart', contract: 'C6', description: 'rewinds twice', file: 'mutants/double-restart.patch' },
      { id: 'harmless', contract: 'C7', description: 'changes nothing observable', file: 'mutants/h.patch' },
      { id: 'stale', contract: 'C5', description: 'no longer applies', file: 'mutants/stale.patch' },
    ],
  },
];

/** Default outcomes: arm64 fails restart.block-handler (with XML-hostile text); x86_64 lacks signal.frame-roundtrip. */
function outcome(arch: string, id: string, mutant?: string): [Status, string] {
  if (mutant === 'double-restart' && id.startsWith('restart.')) return ['fail', `C6: restarted twice on ${arch}`];
  if (mutant === 'fork-child-nonzero' && id === 'fork.child-returns-zero') return ['fail', 'C3: child saw ret=1234'];
  if (arch === 'arm64' && id === 'restart.block-handler')
    return ['fail', 'C6: expected ret -4 (EINTR) <got> "-516" & \'x\'\nsecond line\u0001'];
  if (arch === 'x86_64' && id === 'signal.frame-roundtrip') return ['unsupported', 'no signal frames yet'];
  return ['pass', ''];
}

interface Call {
  arch: string;
  ids: string[];
  mutant?: string;
}

function fakeRunner(calls: Call[] = []): Runner {
  return {
    async listArches() {
      return ARCHES;
    },
    listScenarios() {
      return SCENARIOS;
    },
    async runArch(arch, ids, opts) {
      calls.push({ arch, ids, mutant: opts.mutant });
      if (opts.mutant === 'stale') {
        const e = new Error('mutant "stale" no longer applies to libs/arch-arm64/src/entry.S:42');
        e.name = 'MutantError';
        throw e;
      }
      const info = ARCHES.find((a) => a.arch === arch)!;
      const scenarios: ScenarioReport[] = [];
      for (const id of ids) {
        const [status, message] = outcome(arch, id, opts.mutant);
        const r: ScenarioReport = { id, status, message, observed: { ret: 0, big: 0xffff_ffff_ffff_fff0n }, guestInstructions: 100, ms: 3 };
        scenarios.push(r);
        opts.onResult?.(r);
      }
      const rep: ArchReport = { arch, entryModel: opts.entryModel ?? info.entryModel, emulator: info.emulator, assembler: info.assembler, scenarios };
      if (opts.mutant) rep.mutant = opts.mutant;
      return rep;
    },
  };
}

interface Run {
  code: number;
  out: string;
  err: string;
  calls: Call[];
}

const tmp = mkdtempSync(join(tmpdir(), 'archkit-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[], runner?: Runner, env: Record<string, string> = {}, tty = false): Promise<Run> {
  let out = '';
  let err = '';
  const calls: Call[] = [];
  const r = runner ?? fakeRunner(calls);
  const io: CliIO = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    stderrIsTTY: tty,
    env,
    cwd: tmp,
    createRunner: () => r,
  };
  const code = await main(argv, io);
  return { code, out, err, calls };
}

// ------------------------------------------------------------------ tests

describe('threads by default', () => {
  const ids = Array.from({ length: 41 }, (_, i) => `g.s${i}`);
  const arches = (n: number, extra: string[] = []) => Array.from({ length: n }, (_, i) => ({ arch: `a${i}`, ids: [...ids, ...extra] }));
  it('one thread for a run too short to pay a worker, more for long ones, never more than the cores or jobs', () => {
    expect(defaultThreads(arches(12), 2)).toBe(0); // the matrix: ~500 scenario runs
    expect(defaultThreads(arches(12, ['irq.sweep']), 2)).toBe(2); // a sweep per arch: thousands of runs
    expect(defaultThreads(arches(12, ['irq.sweep']), 1)).toBe(0);
    expect(defaultThreads(arches(181), 2)).toBe(2); // the mutants
    expect(defaultThreads(arches(1, ['irq.sweep']), 8)).toBe(0); // one job: one thread
    expect(defaultThreads([{ arch: 'x', ids, sweep: ['g.s1'] }, { arch: 'y', ids, sweep: ['g.s1'] }, { arch: 'z', ids, sweep: ['g.s1'] }, { arch: 'w', ids, sweep: ['g.s1'] }], 8)).toBe(0);
  });
});

describe('argv parsing', () => {
  it('accepts --opt value and --opt=value', () => {
    expect(parseArgs(['conformance', '--arch', 'arm64', '--scenario=restart.*']).opts).toEqual({
      arch: 'arm64',
      scenario: 'restart.*',
    });
  });
  it('rejects unknown options and missing values', () => {
    expect(() => parseArgs(['conformance', '--frob'])).toThrow(UsageError);
    expect(() => parseArgs(['conformance', '--arch'])).toThrow(/needs a value/);
    expect(() => parseArgs(['mutants', '--arch', 'a', '--arch', 'b'])).toThrow(/twice/);
  });
  it('globs: * is the only wildcard', () => {
    expect(globToRegExp('restart.*').test('restart.block-handler')).toBe(true);
    expect(globToRegExp('restart.*').test('restartXblock')).toBe(false);
    expect(globToRegExp('*.block-*').test('restart.block-handler')).toBe(true);
    expect(globToRegExp('fork.vfork').test('fork.vforkX')).toBe(false);
  });
});

describe('archkit (usage)', () => {
  it('no command prints usage on stderr, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: archkit <command>');
  });
  it('--help for main and each command, exit 0', async () => {
    expect((await run(['--help'])).out).toContain('Commands:');
    for (const c of ['list', 'conformance', 'mutants']) {
      const r = await run([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: archkit ${c}`);
      expect((await run(['help', c])).out).toBe(r.out);
    }
  });
  it('unknown command / flag: exit 2', async () => {
    const a = await run(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/unknown command "frobnicate".*list, conformance, mutants, oracle/);
    const b = await run(['conformance', '--jsn', 'x']);
    expect(b.code).toBe(2);
    expect(b.err).toContain('--json');
  });
  it('unknown arch names the arches that exist, exit 2, nothing run', async () => {
    const r = await run(['conformance', '--arch', 'x86_64,sparc']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown arch "sparc" (arches: x86_64, arm64, or all)');
    expect(r.calls).toEqual([]);
  });
  it('scenario glob matching nothing lists the scenarios, exit 2', async () => {
    const r = await run(['conformance', '--scenario', 'restart.*,rseq.*']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--scenario "rseq.*" matches no scenario');
    expect(r.err).toContain('restart: restart.sys-sa-restart, restart.block-handler');
    expect(r.calls).toEqual([]);
  });
});

describe('archkit list', () => {
  it('shows arches with mutant counts and scenarios grouped', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/x86_64\s+x86-64\s+unicorn x86 64\s+keystone x86\s+2/);
    expect(r.out).toMatch(/arm64\s+AArch64\s+unicorn arm64\s+keystone arm64\s+3/);
    expect(r.out).toMatch(/restart \(2\)\n\s+restart.sys-sa-restart\s+C6\s+ERESTARTSYS \+ SA_RESTART/);
  });
});

describe('archkit conformance', () => {
  it('prints the matrix, failures and the summary line; exit 1 on a failure', async () => {
    const r = await run(['conformance']);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+x86_64\s+arm64$/);
    expect(r.out).toMatch(/\nkthread\.fn-arg\s+pass\s+pass\n/);
    expect(r.out).toMatch(/\nrestart\.block-handler\s+pass\s+FAIL\n/);
    expect(r.out).toMatch(/\nsignal\.frame-roundtrip\s+unsupported\s+pass\n/);
    expect(r.out).toContain('FAIL arm64 restart.block-handler [contract]: C6: expected ret -4');
    expect(r.out).toContain('x86_64 signal.frame-roundtrip: no signal frames yet');
    expect(lines.filter((l) => l.length).at(-1)).toBe('8 passed, 1 failed, 1 unsupported');
    // progress: one line per finished scenario on stderr
    expect(r.err).toContain('[ 1/10] x86_64 kthread.fn-arg pass 3 ms');
    expect(r.err).toContain('[ 9/10] arm64 restart.block-handler fail 3 ms');
    expect(r.err.match(/^\[\s*\d+\/10\]/gm)).toHaveLength(10);
  });

  it('on a TTY, progress redraws one line and keeps the failures', async () => {
    const r = await run(['conformance'], undefined, {}, true);
    expect(r.err).toContain('\r\x1b[K[ 1/10] x86_64 kthread.fn-arg pass 3 ms');
    expect(r.err).toContain('\r\x1b[K[ 9/10] arm64 restart.block-handler fail 3 ms\n');
    expect(r.err.split('\n').filter((l) => l.includes('[')).length).toBe(2); // up to the kept failure, then the rest
  });

  it('exit 0 when nothing fails (unsupported is not a failure)', async () => {
    const r = await run(['conformance', '--arch', 'x86_64']);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('4 passed, 0 failed, 1 unsupported');
    expect(r.calls.map((c) => c.arch)).toEqual(['x86_64']);
  });

  it('--scenario globs filter, in catalogue order; a bare group name means group.*', async () => {
    const r = await run(['conformance', '--arch', 'arm64,x86_64', '--scenario', 'signal.*,restart']);
    expect(r.calls.map((c) => c.arch)).toEqual(['arm64', 'x86_64']);
    expect(r.calls[0]!.ids).toEqual(['restart.sys-sa-restart', 'restart.block-handler', 'signal.frame-roundtrip']);
    expect(r.out).toMatch(/^scenario\s+arm64\s+x86_64$/m);
    expect(r.out).not.toContain('kthread.fn-arg');
  });

  it('--json writes the Report shape', async () => {
    const r = await run(['conformance', '--json', 'out/r.json']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(readFileSync(join(tmp, 'out/r.json'), 'utf8')) as Report;
    expect(rep.summary).toEqual({ pass: 8, fail: 1, unsupported: 1 });
    expect(rep.arches.map((a) => a.arch)).toEqual(['x86_64', 'arm64']);
    const a = rep.arches[1]!;
    expect(Object.keys(a).sort()).toEqual(['arch', 'assembler', 'emulator', 'entryModel', 'scenarios']);
    const s = a.scenarios.find((x) => x.id === 'restart.block-handler')!;
    expect(Object.keys(s).sort()).toEqual(['guestInstructions', 'id', 'message', 'ms', 'observed', 'status']);
    expect(s.status).toBe('fail');
    // bigints are written as numbers when safe, else hex strings
    expect(s.observed).toEqual({ ret: 0, big: '0xfffffffffffffff0' });
  });

  it('--junit writes escaped JUnit XML, one suite per arch', async () => {
    await run(['conformance', '--junit', 'out/r.xml']);
    const xml = readFileSync(join(tmp, 'out/r.xml'), 'utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml).toContain('<testsuite name="arm64" tests="5" failures="1" errors="0" skipped="0"');
    expect(xml).toContain('<testsuite name="x86_64" tests="5" failures="0" errors="0" skipped="1"');
    expect(xml).toContain('<testcase classname="x86_64.kthread" name="kthread.fn-arg" time="0.003"/>');
    expect(xml).toContain(
      '<failure message="C6: expected ret -4 (EINTR) &lt;got&gt; &quot;-516&quot; &amp; &apos;x&apos;" type="conformance">' +
        'C6: expected ret -4 (EINTR) &lt;got&gt; "-516" &amp; \'x\'\nsecond line\uFFFD</failure>',
    );
    expect(xml).toContain('<skipped message="no signal frames yet"/>');
    expect(xml).not.toMatch(/[\u0000-\u0008]/);
  });

  it('runner errors print one paragraph, no stack, exit 1', async () => {
    const runner = fakeRunner();
    runner.runArch = async () => {
      const e = new Error('libs/arch-arm64/arch.json: field "ptRegs.size": expected a positive integer');
      e.name = 'DescriptorError';
      throw e;
    };
    const r = await run(['conformance'], runner);
    expect(r.code).toBe(1);
    expect(r.err).toBe('archkit: libs/arch-arm64/arch.json: field "ptRegs.size": expected a positive integer\n');
    expect(r.out).toBe('');
    const d = await run(['conformance'], runner, { ARCHKIT_DEBUG: '1' });
    expect(d.err).toContain('DescriptorError: libs/arch-arm64/arch.json');
    expect(d.err).toMatch(/\n\s+at /);
  });
});

describe('archkit mutants', () => {
  it('reports killers, survivors and errors; exit 1', async () => {
    const r = await run(['mutants', '--json', 'out/m.json']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/double-restart\s+x86_64\s+C6\s+killed by restart\.sys-sa-restart, restart\.block-handler\n/);
    // arm64's baseline already fails restart.block-handler: it cannot count as a kill
    expect(r.out).toMatch(/double-restart\s+arm64\s+C6\s+killed by restart\.sys-sa-restart\n/);
    expect(r.out).toMatch(/fork-child-nonzero\s+x86_64\s+C3\s+killed by fork\.child-returns-zero\n/);
    expect(r.out).toMatch(/harmless\s+arm64\s+C7\s+SURVIVED\n/);
    expect(r.out).toMatch(/stale\s+arm64\s+C5\s+ERROR/);
    expect(r.out).toContain('ERROR arm64 stale: mutant "stale" no longer applies to libs/arch-arm64/src/entry.S:42');
    expect(r.out).toContain('\n3 killed, 1 survived\n1 mutant run errored\n');
    // baseline + mutants per arch
    expect(r.calls.map((c) => `${c.arch}:${c.mutant ?? '-'}`)).toEqual([
      'x86_64:-',
      'x86_64:double-restart',
      'x86_64:fork-child-nonzero',
      'arm64:-',
      'arm64:double-restart',
      'arm64:harmless',
      'arm64:stale',
    ]);
    const j = JSON.parse(readFileSync(join(tmp, 'out/m.json'), 'utf8'));
    expect(j.summary).toEqual({ killed: 3, survived: 1, errors: 1 });
    expect(j.mutants[0]).toMatchObject({
      arch: 'x86_64',
      mutant: 'double-restart',
      contract: 'C6',
      description: 'rewinds twice',
      killedBy: ['restart.sys-sa-restart', 'restart.block-handler'],
      survived: false,
    });
    expect(j.mutants.find((m: { mutant: string }) => m.mutant === 'harmless')).toMatchObject({ killedBy: [], survived: true });
    expect(j.mutants.find((m: { mutant: string }) => m.mutant === 'stale')).toMatchObject({ survived: false, error: expect.stringContaining('no longer applies') });
  });

  it('exit 0 when every selected mutant is killed', async () => {
    const r = await run(['mutants', '--arch', 'x86_64']);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('2 killed, 0 survived');
  });

  it('--mutant and --scenario filter; --no-baseline skips the baseline', async () => {
    const r = await run(['mutants', '--mutant', 'double-*', '--scenario', 'restart.block-handler', '--no-baseline']);
    expect(r.calls.map((c) => `${c.arch}:${c.mutant}`)).toEqual(['x86_64:double-restart', 'arm64:double-restart']);
    expect(r.calls[0]!.ids).toEqual(['restart.block-handler']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/double-restart\s+arm64\s+C6\s+killed by restart\.block-handler/);
  });

  it('a scenario set that kills nothing leaves survivors', async () => {
    const r = await run(['mutants', '--arch', 'x86_64', '--scenario', 'kthread.*']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('0 killed, 2 survived');
  });

  it('--mutant matching nothing is a usage error', async () => {
    const r = await run(['mutants', '--mutant', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('x86_64: double-restart, fork-child-nonzero');
  });
});

describe('reporters', () => {
  it('long killer lists are abbreviated in the table, never in the JSON', () => {
    const base = { arch: 'a', mutant: 'm', contract: 'C1', description: '', survived: false };
    const ids = ['s.1', 's.2', 's.3', 's.4', 's.5', 's.6'];
    expect(mutantCell({ ...base, killedBy: ids.slice(0, 4) }, 6)).toBe('killed by s.1, s.2, s.3, s.4');
    expect(mutantCell({ ...base, killedBy: ids.slice(0, 5) }, 6)).toBe('killed by s.1, s.2, s.3 and 2 more');
    expect(mutantCell({ ...base, killedBy: ids }, 6)).toBe('killed by all 6 scenarios');
    expect(mutantCell({ ...base, killedBy: [], survived: true }, 6)).toBe('SURVIVED');
  });

  it('xml escaping', () => {
    expect(xmlText('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
    expect(xmlAttr('"\'\n\t')).toBe('&quot;&apos;&#10;&#9;');
    expect(xmlText('x\u0000y\u001bz')).toBe('x\uFFFDy\uFFFDz');
  });
  it('summary is recomputed from the scenarios', () => {
    const rep = buildReport([
      {
        arch: 'a',
        entryModel: 'generic-entry',
        emulator: 'e',
        assembler: 's',
        scenarios: [
          { id: 'x.a', status: 'pass', message: '', observed: {}, guestInstructions: 1, ms: 1 },
          { id: 'x.b', status: 'unsupported', message: 'n/a', observed: {}, guestInstructions: 0, ms: 0 },
        ],
      },
    ]);
    expect(rep.summary).toEqual({ pass: 1, fail: 0, unsupported: 1 });
    expect(renderJUnit(rep)).toContain('tests="2" failures="0" errors="0" skipped="1"');
    expect(JSON.parse(toJson({ v: 5n, a: new Uint8Array([1, 2]) }))).toEqual({ v: 5, a: [1, 2] });
  });
});
