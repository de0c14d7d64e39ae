// Reports people read and tools join: report paths checked before the run (and never a
// hang), "-" for stdout, the JSON report's meta, `archkit merge`, the kernel-style
// arch-support files, and the HTML page's content and escaping.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../src/cli.ts';
import { archSupportFiles, groupSupport, renderFeature } from '../src/report/arch-support.ts';
import { esc, renderHtml } from '../src/report/html.ts';
import { buildReport } from '../src/report/json.ts';
import { gitInfo, toolVersions } from '../src/report/meta.ts';
import { MergeError, parseReport } from '../src/report/merge.ts';
import { OutputError, prepareOutput } from '../src/report/output.ts';
import type { ArchInfo, ArchReport, Report, Runner, ScenarioInfo, ScenarioReport, Status } from '../src/types.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');

// ------------------------------------------------------------------ a fake runner

const SCENARIOS: ScenarioInfo[] = [
  { id: 'kthread.fn-arg', group: 'kthread', contracts: ['C1', 'C4'], title: 'fn gets arg' },
  { id: 'fork.child-returns-zero', group: 'fork', contracts: ['C3'], title: 'child sees 0' },
  { id: 'restart.block-handler', group: 'restart', contracts: ['C6'], title: 'restart block with handler' },
  { id: 'signal.frame-roundtrip', group: 'signal', contracts: ['C7'], title: 'frame round trip' },
];

const info = (arch: string, entryModel: string, entryModels = [entryModel], error?: string): ArchInfo => ({
  arch,
  title: arch,
  emulator: 'unicorn 2.0.1',
  assembler: `as for ${arch}`,
  entryModel,
  entryModels,
  mutants: [{ id: 'double-restart', contract: 'C6', description: 'rewinds twice', file: 'm.patch' }],
  ...(error ? { error } : {}),
});

/** arm64 fails restart.block-handler; x86_64 lacks signal frames. */
function outcome(arch: string, id: string, mutant?: string): [Status, string] {
  if (mutant && id.startsWith('restart.')) return ['fail', 'C6: restarted twice'];
  if (arch === 'arm64' && id === 'restart.block-handler') return ['fail', 'C6: expected ret -4 (EINTR), got <-516> & "x"'];
  if (arch === 'x86_64' && id === 'signal.frame-roundtrip') return ['unsupported', 'no signal frames yet'];
  return ['pass', ''];
}

function fakeRunner(arches: ArchInfo[] = [info('x86_64', 'generic-entry'), info('arm64', 'arch', ['arch', 'generic-entry'])], calls: string[] = []): Runner {
  return {
    listArches: async () => arches,
    listScenarios: () => SCENARIOS,
    async runArch(arch, ids, opts) {
      calls.push(arch);
      const a = arches.find((x) => x.arch === arch)!;
      const scenarios: ScenarioReport[] = ids.map((id) => {
        const [status, message] = outcome(arch, id, opts.mutant);
        return { id, status, message, ...(status === 'fail' ? { origin: 'contract' as const } : {}), observed: { ret: status === 'fail' ? -516 : 0, big: 0xffff_ffff_ffff_fff0n }, guestInstructions: 10, ms: 1 };
      });
      for (const s of scenarios) opts.onResult?.(s);
      return { arch, entryModel: opts.entryModel ?? a.entryModel, emulator: a.emulator, assembler: a.assembler, ...(opts.mutant ? { mutant: opts.mutant } : {}), scenarios };
    },
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'archkit-reports-'));
afterAll(() => {
  try {
    chmodSync(join(tmp, 'locked'), 0o755);
  } catch {
    /* not made */
  }
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
  calls: string[];
}

async function run(argv: string[], opts: { runner?: Runner; env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const calls: string[] = [];
  const r = opts.runner ?? fakeRunner(undefined, calls);
  const io: CliIO = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    stderrIsTTY: false,
    env: opts.env ?? {},
    cwd: opts.cwd ?? tmp,
    createRunner: () => r,
  };
  const code = await main(argv, io);
  return { code, out, err, calls };
}

// ------------------------------------------------------------------ output paths

describe('report paths are checked before anything runs', () => {
  it('--json under /proc: exit 2 at once with one line, nothing run (Node 20 recursive mkdir loops forever there)', { timeout: 5000 }, async () => {
    const t0 = performance.now();
    const r = await run(['conformance', '--json', '/proc/nope/x.json']);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.code).toBe(2);
    expect(r.err).toBe("archkit: --json /proc/nope/x.json: /proc is the kernel's process filesystem, not a place for reports\n");
    expect(r.calls).toEqual([]);
    expect(r.out).toBe('');
  });

  it('the real CLI process returns quickly on a /proc path too', { timeout: 30_000 }, () => {
    const t0 = performance.now();
    const p = spawnSync(process.execPath, [join(REPO, 'apps/conformance/bin/archkit.js'), 'mutants', '--arch', 'x86_64', '--json', '/proc/nope/deeper/x.json'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(p.signal).toBeNull(); // not killed by the timeout
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('archkit: --json /proc/nope/deeper/x.json: /proc is');
    expect(performance.now() - t0).toBeLessThan(25_000);
  });

  it('/sys, a directory, a file where a directory should be: exit 2 naming option and path', async () => {
    writeFileSync(join(tmp, 'plain.txt'), 'x');
    mkdirSync(join(tmp, 'adir'), { recursive: true });
    const cases: Array<[string[], RegExp]> = [
      [['--junit', '/sys/x.xml'], /^archkit: --junit \/sys\/x\.xml: \/sys is the kernel's sysfs, not a place for reports\n$/],
      [['--html', 'adir'], /^archkit: --html adir: is a directory \(give a file name\)\n$/],
      [['--json', 'plain.txt/r.json'], /^archkit: --json plain\.txt\/r\.json: .*plain\.txt is a file, not a directory\n$/],
      [['--arch-support', 'plain.txt'], /^archkit: --arch-support plain\.txt: exists and is not a directory\n$/],
      [['--arch-support', '-'], /^archkit: --arch-support -: needs a directory; "-" \(stdout\) is only for single-file reports\n$/],
      [['--json', '-', '--html', '-'], /^archkit: --json - and --html -: only one report can go to stdout\n$/],
      [['--json', 'same', '--junit', './same'], /^archkit: --json same and --junit \.\/same: both would write .*same\n$/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(['conformance', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.calls, args.join(' ')).toEqual([]);
    }
  });

  it('mutants, list and oracle check --json up front as well', async () => {
    for (const argv of [
      ['mutants', '--json', '/proc/x/m.json'],
      ['list', '--json', '/proc/x/l.json'],
      ['oracle', '--json', '/proc/x/o.json'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv[0]).toBe(2);
      expect(r.err, argv[0]).toMatch(/^archkit: --json \/proc\/x\/\w\.json: \/proc is/);
      expect(r.calls).toEqual([]);
    }
  });

  it('merge has help; every command with reports documents "-" and the up-front check', async () => {
    for (const c of ['conformance', 'mutants', 'list', 'oracle', 'merge']) {
      const r = await run([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toContain(`Usage: archkit ${c}`);
      expect(r.out, c).toContain('FILE "-" writes the\nreport to stdout; the human-readable output then goes to stderr');
    }
    expect((await run(['--help'])).out).toContain('merge         join the JSON reports');
  });

  it('usage errors still come first, and a bad path wins over running', async () => {
    const r = await run(['conformance', '--arch', 'nope', '--json', '/proc/x.json']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown arch "nope"');
  });

  it('missing parent directories are created one level at a time; the report lands there', async () => {
    const r = await run(['conformance', '--json', 'a/b/c/r.json', '--junit', 'a/b/r.xml', '--html', 'h/r.html', '--arch-support', 'feat/x']);
    expect(r.code).toBe(1);
    expect(JSON.parse(readFileSync(join(tmp, 'a/b/c/r.json'), 'utf8')).summary).toEqual({ pass: 6, fail: 1, unsupported: 1 });
    expect(readFileSync(join(tmp, 'a/b/r.xml'), 'utf8')).toContain('<testsuites ');
    expect(readFileSync(join(tmp, 'h/r.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(statSync(join(tmp, 'feat/x/restart/arch-support.txt')).isFile()).toBe(true);
  });

  it('too deep a chain of missing directories is refused, not created', () => {
    const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join('/') + '/r.json';
    expect(() => prepareOutput({ option: 'json', value: deep, kind: 'file' }, tmp)).toThrow(/--json d0\/.*: more than 32 directories would have to be created/);
    expect(existsSync(join(tmp, 'd0'))).toBe(false);
  });

  it('an unwritable directory is refused (checked as an unprivileged user when run as root)', { timeout: 30_000 }, () => {
    const locked = join(tmp, 'locked');
    mkdirSync(locked, { recursive: true });
    chmodSync(locked, 0o555);
    const value = join(locked, 'sub', 'r.json');
    if (process.getuid?.() !== 0) {
      expect(() => prepareOutput({ option: 'json', value, kind: 'file' }, tmp)).toThrow(new OutputError(`--json ${value}: cannot write in ${locked}: permission denied (EACCES)`));
      return;
    }
    // root may write anywhere: ask as nobody (setpriv is in util-linux, on every Debian).
    // nobody may not reach the checkout (a clone under a 0700 directory): output.ts (node
    // built-ins only) goes to the scratch directory as JavaScript, beside the probe
    const source = readFileSync(join(REPO, 'apps/conformance/src/report/output.ts'), 'utf8');
    writeFileSync(join(tmp, 'output.mjs'), transformSync(source, { loader: 'ts', format: 'esm' }).code);
    const script = join(tmp, 'probe.mjs');
    writeFileSync(
      script,
      `import { prepareOutput } from './output.mjs';\n` +
        `try { prepareOutput({ option: 'json', value: ${JSON.stringify(value)}, kind: 'file' }, '/'); console.log('accepted'); } catch (e) { console.log(e.message); }\n`,
    );
    chmodSync(tmp, 0o755);
    for (const f of ['output.mjs', 'probe.mjs']) chmodSync(join(tmp, f), 0o644);
    const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script], {
      encoding: 'utf8',
      timeout: 25_000,
      env: { ...process.env, HOME: tmp },
      cwd: '/',
    });
    expect(out.trim()).toBe(`--json ${value}: cannot write in ${locked}: permission denied (EACCES)`);
  });

  it('devices are fine: --json /dev/null', async () => {
    const r = await run(['conformance', '--arch', 'x86_64', '--json', '/dev/null']);
    expect(r.code).toBe(0);
  });

  it('a named pipe nobody reads is refused at once instead of blocking forever', { timeout: 5000 }, async () => {
    execFileSync('mkfifo', [join(tmp, 'fifo')]);
    const t0 = performance.now();
    const r = await run(['conformance', '--json', 'fifo']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('archkit: --json fifo: is a named pipe that nobody reads (writing would wait forever)\n');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

// ------------------------------------------------------------------ "-" is stdout

describe('"-" writes the report to stdout and the human output to stderr', () => {
  it('conformance --json -: stdout is exactly the JSON report; the matrix is on stderr', async () => {
    const r = await run(['conformance', '--json', '-']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.out) as Report;
    expect(rep.summary).toEqual({ pass: 6, fail: 1, unsupported: 1 });
    expect(r.err).toMatch(/^scenario\s+x86_64\s+arm64$/m);
    expect(r.err).toContain('6 passed, 1 failed, 1 unsupported');
    expect(existsSync(join(tmp, '-'))).toBe(false);
  });

  it('--junit - and --html - too; without "-" the matrix stays on stdout', async () => {
    const j = await run(['conformance', '--junit', '-']);
    expect(j.out.startsWith('<?xml')).toBe(true);
    const h = await run(['conformance', '--html', '-', '--json', 'r2.json']);
    expect(h.out.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(h.err).toContain('FAIL arm64 restart.block-handler');
    const plain = await run(['conformance', '--json', 'r3.json']);
    expect(plain.out).toMatch(/^scenario/);
  });

  it('list --json - and mutants --json -', async () => {
    const l = await run(['list', '--json', '-']);
    expect(l.code).toBe(0);
    expect(JSON.parse(l.out).arches.map((a: ArchInfo) => a.arch)).toEqual(['x86_64', 'arm64']);
    expect(l.err).toContain('Arches');
    const m = await run(['mutants', '--json', '-', '--no-baseline']);
    expect(JSON.parse(m.out).summary).toEqual({ killed: 2, survived: 0, errors: 0 });
    expect(m.err).toContain('2 killed, 0 survived');
  });
});

// ------------------------------------------------------------------ meta

describe('JSON report metadata', () => {
  it('meta: commit, branch (from CI env), time, node, tools; each arch its entry model', async () => {
    const r = await run(['conformance', '--json', '-', '--entry-model', 'all'], {
      env: { GITHUB_SHA: 'deadbeefcafe', GITHUB_REF_NAME: 'feature/x', SOURCE_DATE_EPOCH: '1700000000' },
    });
    const rep = JSON.parse(r.out) as Report;
    expect(Object.keys(rep)).toEqual(['meta', 'arches', 'summary', 'scenarios']);
    expect(rep.meta).toEqual({
      commit: 'deadbeefcafe',
      branch: 'feature/x',
      generatedAt: '2023-11-14T22:13:20.000Z',
      node: process.version,
      tools: { unicorn: '2.0.1', assemblers: { x86_64: 'as for x86_64', arm64: 'as for arm64' } },
    });
    expect(rep.arches.map((a) => `${a.arch}[${a.entryModel}]`)).toEqual(['x86_64[generic-entry]', 'arm64[arch]', 'arm64[generic-entry]']);
    expect(rep.scenarios?.map((s) => s.id)).toEqual(SCENARIOS.map((s) => s.id));
  });

  it('outside a git checkout: commit and branch are null, no error', () => {
    expect(gitInfo(tmp, {})).toEqual({ commit: null, branch: null });
  });

  it('in a git checkout: git rev-parse of the working directory', () => {
    const repo = join(tmp, 'repo');
    mkdirSync(repo, { recursive: true });
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'topic');
    git('commit', '-q', '--allow-empty', '-m', 'x');
    expect(gitInfo(repo, {})).toEqual({ commit: git('rev-parse', 'HEAD'), branch: 'topic' });
    git('checkout', '-q', '--detach');
    expect(gitInfo(repo, {}).branch).toBeNull();
    expect(gitInfo(repo, { GITHUB_REF_NAME: 'main' }).branch).toBe('main');
  });

  it('tool versions from the arch reports', () => {
    const a = (arch: string, emulator: string, assembler: string): ArchReport => ({ arch, entryModel: 'm', emulator, assembler, scenarios: [] });
    expect(toolVersions([a('x', 'unicorn 2.0.1', 'GNU as 2.40 (x)'), a('y', 'unicorn 2.0.1', 'keystone 0.9.2')])).toEqual({
      unicorn: '2.0.1',
      assemblers: { x: 'GNU as 2.40 (x)', y: 'keystone 0.9.2' },
    });
    expect(toolVersions([a('x', 'unicorn (library not loaded)', '?')]).unicorn).toBeNull();
  });
});

// ------------------------------------------------------------------ merge

describe('archkit merge', () => {
  const write = (name: string, value: unknown) => {
    writeFileSync(join(tmp, name), typeof value === 'string' ? value : JSON.stringify(value, null, 2));
    return name;
  };

  it('joins the reports of parallel jobs: columns in order, summary recomputed, each input meta kept; exit 1 on a failure', async () => {
    await run(['conformance', '--arch', 'x86_64', '--json', 'job-x86.json'], { env: { GITHUB_SHA: 'aaa111', GITHUB_REF_NAME: 'main' } });
    await run(['conformance', '--arch', 'arm64', '--json', 'job-arm.json'], { env: { GITHUB_SHA: 'bbb222', GITHUB_REF_NAME: 'main' } });
    const r = await run(['merge', 'job-x86.json', 'job-arm.json', '--json', 'merged.json', '--html', 'merged.html', '--junit', 'merged.xml', '--arch-support', 'merged-feat']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^scenario\s+x86_64\s+arm64$/m);
    expect(r.out).toContain('6 passed, 1 failed, 1 unsupported');
    const m = JSON.parse(readFileSync(join(tmp, 'merged.json'), 'utf8')) as Report;
    expect(m.summary).toEqual({ pass: 6, fail: 1, unsupported: 1 });
    expect(m.arches.map((a) => a.arch)).toEqual(['x86_64', 'arm64']);
    expect(m.meta?.commit).toBeNull(); // the inputs differ
    expect(m.meta?.branch).toBe('main'); // they agree
    expect(m.meta?.inputs?.map((i) => [i.file, i.meta?.commit, i.arches])).toEqual([
      ['job-x86.json', 'aaa111', ['x86_64[generic-entry]']],
      ['job-arm.json', 'bbb222', ['arm64[arch]']],
    ]);
    expect(m.meta?.tools.assemblers).toEqual({ x86_64: 'as for x86_64', arm64: 'as for arm64' });
    expect(readFileSync(join(tmp, 'merged.html'), 'utf8')).toContain('Merged from 2 reports');
    expect(readFileSync(join(tmp, 'merged.xml'), 'utf8')).toContain('<testsuite name="arm64" tests="4" failures="1"');
    expect(readFileSync(join(tmp, 'merged-feat/restart/arch-support.txt'), 'utf8')).toContain('|       arm64: | TODO |');
  });

  it('exit 0 when nothing failed; --json - writes the merged report to stdout', async () => {
    await run(['conformance', '--arch', 'x86_64', '--json', 'only-x86.json']);
    const r = await run(['merge', 'only-x86.json', '--json', '-']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as Report).summary).toEqual({ pass: 3, fail: 0, unsupported: 1 });
    expect(r.err).toContain('3 passed, 0 failed, 1 unsupported');
  });

  it('the same arch and entry model in two inputs is an error naming both files, unless --prefer last', async () => {
    await run(['conformance', '--arch', 'arm64', '--json', 'arm-a.json']);
    await run(['conformance', '--arch', 'arm64', '--scenario', 'kthread', '--json', 'arm-b.json']);
    const clash = await run(['merge', 'arm-a.json', 'arm-b.json', '--json', 'clash.json']);
    expect(clash.code).toBe(2);
    expect(clash.err).toBe('archkit: arm64[arch] is in both arm-a.json and arm-b.json (use --prefer last to keep the later one)\n');
    expect(existsSync(join(tmp, 'clash.json'))).toBe(false);
    const last = await run(['merge', 'arm-a.json', 'arm-b.json', '--prefer', 'last', '--json', '-']);
    expect(last.code).toBe(0);
    const m = JSON.parse(last.out) as Report;
    expect(m.arches).toHaveLength(1);
    expect(m.arches[0]!.scenarios.map((s) => s.id)).toEqual(['kthread.fn-arg']);
    expect(m.meta?.inputs?.map((i) => i.arches)).toEqual([[], ['arm64[arch]']]);
    // other entry models of one arch do not clash
    await run(['conformance', '--arch', 'arm64', '--entry-model', 'generic-entry', '--json', 'arm-ge.json']);
    expect((await run(['merge', 'arm-a.json', 'arm-ge.json'])).out).toMatch(/^scenario\s+arm64\[arch\]\s+arm64\[generic-entry\]$/m);
    expect((await run(['merge', 'arm-a.json', 'arm-b.json', '--prefer', 'first'])).code).toBe(2);
  });

  it('bad inputs: one line naming the file (and line:column), exit 2', async () => {
    const good = JSON.parse(readFileSync(join(tmp, 'arm-a.json'), 'utf8')) as Report;
    const text = JSON.stringify(good, null, 2);
    write('truncated.json', text.slice(0, Math.floor(text.length / 2)));
    write('mutants.json', { mutants: [], summary: { killed: 0, survived: 0, errors: 0 } });
    const bad = structuredClone(good);
    (bad.arches[0]!.scenarios[1] as { status: string }).status = 'maybe';
    write('badstatus.json', bad);
    const cases: Array<[string, RegExp]> = [
      ['truncated.json', /^archkit: truncated\.json:\d+:\d+: not valid JSON: /],
      ['mutants.json', /^archkit: mutants\.json: is an `archkit mutants` report; merge joins conformance reports/],
      ['badstatus.json', /^archkit: badstatus\.json:\d+:\d+: "arches\[0\]\.scenarios\[1\]\.status" must be "pass", "fail" or "unsupported", not "maybe"\n$/],
      ['nope.json', /^archkit: nope\.json: cannot read it: no such file\n$/],
    ];
    for (const [file, msg] of cases) {
      const r = await run(['merge', 'arm-a.json', file, '--json', 'bad-out.json']);
      expect(r.code, file).toBe(2);
      expect(r.err, file).toMatch(msg);
      expect(r.err.trimEnd().split('\n'), file).toHaveLength(1);
    }
    expect(existsSync(join(tmp, 'bad-out.json'))).toBe(false);
    expect((await run(['merge'])).err).toContain('merge needs at least one report file');
    expect((await run(['merge', 'arm-a.json', '--json', '/proc/m.json'])).code).toBe(2);
  });

  it('parseReport fills in what older reports lack', () => {
    const r = parseReport(JSON.stringify({ arches: [{ arch: 'x', scenarios: [{ id: 'a.b', status: 'pass' }] }], summary: {} }), 'old.json');
    expect(r.arches[0]).toMatchObject({ arch: 'x', entryModel: 'unknown', scenarios: [{ id: 'a.b', status: 'pass', message: '', observed: {} }] });
    expect(r.summary).toEqual({ pass: 1, fail: 0, unsupported: 0 });
    expect(() => parseReport('[]', 'x.json')).toThrow(MergeError);
  });
});

// ------------------------------------------------------------------ arch-support

describe('--arch-support: the kernel Documentation/features layout', () => {
  it('renders the exact layout of the kernel files (header lines, separators, rows sorted by arch)', () => {
    const text = renderFeature({ name: 'restart', kconfig: 'C6', description: 'arch restarts syscalls' }, [
      ['x86_64', 'ok'],
      ['arm64', 'TODO'],
      ['riscv64', 'N/A'],
    ]);
    expect(text).toBe(
      [
        '#',
        '# Feature name:          restart',
        '#         Kconfig:       C6',
        '#         description:   arch restarts syscalls',
        '#',
        '    -----------------------',
        '    |         arch |status|',
        '    -----------------------',
        '    |       arm64: | TODO |',
        '    |     riscv64: |  N/A |',
        '    |      x86_64: |  ok  |',
        '    -----------------------',
        '',
      ].join('\n'),
    );
  });

  it('matches a real kernel file line for line in its layout', () => {
    // Documentation/features/core/thread-info-in-task/arch-support.txt (Linux 6.18), abridged
    const kernel = [
      '#',
      '# Feature name:          thread-info-in-task',
      '#         Kconfig:       THREAD_INFO_IN_TASK',
      '#         description:   arch makes use of the core kernel facility to embed thread_info in task_struct',
      '#',
      '    -----------------------',
      '    |         arch |status|',
      '    -----------------------',
      '    |       alpha: | TODO |',
      '    |         arm: |  ok  |',
      '    |  microblaze: | TODO |',
      '    -----------------------',
      '',
    ].join('\n');
    expect(
      renderFeature({ name: 'thread-info-in-task', kconfig: 'THREAD_INFO_IN_TASK', description: 'arch makes use of the core kernel facility to embed thread_info in task_struct' }, [
        ['microblaze', 'TODO'],
        ['arm', 'ok'],
        ['alpha', 'TODO'],
      ]),
    ).toBe(kernel);
  });

  it('a group is ok when all passed, TODO when one failed (or some are unsupported), N/A when all are unsupported', () => {
    expect(groupSupport(['pass', 'pass'])).toBe('ok');
    expect(groupSupport(['pass', 'fail'])).toBe('TODO');
    expect(groupSupport(['pass', 'unsupported'])).toBe('TODO');
    expect(groupSupport(['unsupported', 'unsupported'])).toBe('N/A');
    expect(groupSupport([])).toBeUndefined();
  });

  it('one file per scenario group from a run; Kconfig names the contracts; a broken arch is TODO', async () => {
    const runner = fakeRunner([info('x86_64', 'generic-entry'), info('arm64', 'arch'), info('sparc', 'unknown', [], 'libs/arch-sparc/arch.json:3:1: malformed JSON: unexpected end of input')]);
    const r = await run(['conformance', '--arch-support', 'feat-run'], { runner });
    expect(r.code).toBe(1);
    const files = ['kthread', 'fork', 'restart', 'signal'].map((g) => `feat-run/${g}/arch-support.txt`);
    for (const f of files) expect(existsSync(join(tmp, f)), f).toBe(true);
    const kthread = readFileSync(join(tmp, 'feat-run/kthread/arch-support.txt'), 'utf8');
    expect(kthread).toContain('# Feature name:          kthread\n#         Kconfig:       C1 C4\n#         description:   arch starts kernel threads');
    expect(kthread).toContain('archkit scenarios: kthread.fn-arg\n');
    expect(kthread.split('\n').slice(8, 11)).toEqual(['    |       arm64: |  ok  |', '    |       sparc: | TODO |', '    |      x86_64: |  ok  |']);
    const signal = readFileSync(join(tmp, 'feat-run/signal/arch-support.txt'), 'utf8');
    expect(signal).toContain('    |      x86_64: |  N/A |');
    expect(readFileSync(join(tmp, 'feat-run/restart/arch-support.txt'), 'utf8')).toContain('    |       arm64: | TODO |');
  });

  it('arch names longer than 12 characters widen the column for every row', () => {
    const rep = buildReport(
      ['arch', 'generic-entry'].map((m) => ({ arch: 'arm64', entryModel: m, emulator: 'e', assembler: 'a', scenarios: [{ id: 'x.y', status: 'pass' as const, message: '', observed: {}, guestInstructions: 0, ms: 0 }] })),
    );
    const text = archSupportFiles(rep).get('x/arch-support.txt')!;
    const lines = text.split('\n');
    // printf "%20s:" as the kernel's "%12s:" for the longest name, arm64[generic-entry]
    expect(lines[5]).toBe(`    ${'-'.repeat(31)}`);
    expect(lines[6]).toBe('    |                 arch |status|');
    expect(lines[8]).toBe('    |         arm64[arch]: |  ok  |');
    expect(lines[9]).toBe('    |arm64[generic-entry]: |  ok  |');
    expect(new Set(lines.slice(5).filter((l) => l).map((l) => l.length)).size).toBe(1);
  });
});

// ------------------------------------------------------------------ html content

describe('--html: a self-contained page', () => {
  it('has the matrix, each failure with contract, origin, message and observed values; escapes everything; loads nothing', async () => {
    const r = await run(['conformance', '--html', 'page.html', '--entry-model', 'all']);
    expect(r.code).toBe(1);
    const html = readFileSync(join(tmp, 'page.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).toContain('<title>archkit conformance: 9 passed, 2 failed, 1 unsupported</title>');
    // no script, nothing fetched
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(|@import|https?:\/\//i);
    // columns arch[entry model], grouped rows, labelled coloured cells
    expect(html).toContain('<th scope="col">arm64<span class="model">[generic-entry]</span></th>');
    expect(html).toContain('<tr class="group"><th scope="colgroup" colspan="4">restart (1)</th></tr>');
    expect(html).toMatch(/<td class="cell fail" title="C6: expected ret -4 \(EINTR\), got &lt;-516&gt; &amp; &quot;x&quot;"><a href="#fail-1">FAIL<\/a><\/td>/);
    expect(html).toContain('<td class="cell unsupported" title="no signal frames yet">unsupported</td>');
    // a failure section
    const f = html.slice(html.indexOf('<article class="failure" id="fail-1">'), html.indexOf('</article>'));
    expect(f).toContain('<h3>FAIL arm64[arch] <code>restart.block-handler</code></h3>');
    expect(f).toContain('<dt>contract</dt><dd>C6 (the scenario checks C6)</dd>');
    expect(f).toContain('<dt>origin</dt><dd>contract: a scenario check found the port breaking its contract</dd>');
    expect(f).toContain('<pre class="message">C6: expected ret -4 (EINTR), got &lt;-516&gt; &amp; &quot;x&quot;</pre>');
    expect(f).toContain('<tr><th scope="row"><code>ret</code></th><td><code>-516</code></td></tr>');
    expect(f).toContain('<tr><th scope="row"><code>big</code></th><td><code>0xfffffffffffffff0</code></td></tr>');
    expect(html).toContain('<section id="unsupported"><h2>Unsupported (1)</h2>');
  });

  it('escapes hostile text everywhere', () => {
    expect(esc(`<img src=x onerror="a">&'\u0001`)).toBe('&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;\uFFFD');
    const evil = '<script>alert(1)</script>';
    const html = renderHtml(
      buildReport(
        [{ arch: evil, entryModel: evil, emulator: evil, assembler: evil, scenarios: [{ id: evil, status: 'fail', message: evil, origin: 'core', observed: { [evil]: evil }, guestInstructions: 0, ms: 0 }] }],
        { errors: [{ arch: evil, message: evil }], meta: { commit: evil, branch: evil, generatedAt: evil, node: evil, tools: { unicorn: evil, assemblers: { [evil]: evil } } } },
      ),
      evil,
    );
    expect(html).not.toContain('<script');
    expect(html.match(/&lt;script&gt;/g)!.length).toBeGreaterThan(10);
  });
});
