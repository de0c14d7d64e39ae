// Runs scenarios on arch ports: one emulated machine per scenario run.

import { readdirSync, existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createUnicornMachine, unicornVersion } from '@archkit/generic-core/machine/unicorn/machine';
import { createAssembler, describeAssembler } from '@archkit/generic-core/asm/create';
import type { Assembler } from '@archkit/generic-core/asm/assembler';
import type { ArchModule, ArchPort } from '@archkit/generic-core/contracts/port';
import type { CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { EntryModel } from '@archkit/generic-core/contracts/descriptor';
import { Kernel, KernelHost } from '@archkit/generic-core/kernel/kernel';
import { attach } from '@archkit/generic-core/kernel/ptrace';
import { symbolize } from '@archkit/generic-core/kernel/symbols';
import type { CGen, KernelApi, UserImage } from '@archkit/generic-core/kernel/types';
import { compileProgram } from '@archkit/generic-core/user/compile';
import { BudgetExceededError, type GuestFaultError } from '@archkit/generic-core/machine/machine';
import { isNotImplemented } from '@archkit/generic-core/contracts/todo';
import type { ArchInfo, ArchReport, FailureOrigin, Runner, ScenarioInfo, ScenarioReport } from './types.ts';
import type { IrqPlan } from '@archkit/generic-core/kernel/types';
import { scenarios } from './scenarios/index.ts';
import { readArchInfo } from './arches.ts';
import { ScenarioFailure, abiOf, type Env, type ScenarioDef } from './scenarios/dsl.ts';

// this module's tree: sources (runner.ts) or the built package (runner.js)
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// every scenario runs in under 5000 guest instructions on every arch: 20 times that is runaway code
const DEFAULT_BUDGET = 100_000;

/** Errors that mean the kit or a port is broken, not that a contract was violated. */
const FATAL = new Set(['AsmError', 'AsmToolchainError', 'DescriptorError', 'PatchError', 'MutantError', 'EmulatorMissingError', 'CalibrationError']);

/** arch-<name> directories holding an arch.json under `dir`, by arch name. */
function scanArchLibs(dir: string, out: Map<string, string>): void {
  if (!existsSync(dir)) return;
  for (const d of readdirSync(dir).sort()) {
    const lib = join(dir, d);
    if (!d.startsWith('arch-') || !existsSync(join(lib, 'arch.json')) || out.has(d.slice(5))) continue;
    out.set(d.slice(5), realpathSync(lib));
  }
}

/**
 * The arch libs the CLI can run, by arch name: in a source checkout the workspace's
 * libs/arch-*, then every @archkit/arch-* package installed where this package resolves
 * its dependencies (a consumer's node_modules). `libs` alone is a test seam.
 */
export function archDirs(libs?: string): Map<string, string> {
  const out = new Map<string, string>();
  if (libs !== undefined) {
    scanArchLibs(libs, out);
    return out;
  }
  if (FROM_SOURCES && existsSync(join(REPO, 'libs')) && existsSync(join(REPO, 'package.json'))) scanArchLibs(join(REPO, 'libs'), out);
  for (const nm of createRequire(import.meta.url).resolve.paths('@archkit/generic-core') ?? []) scanArchLibs(join(nm, '@archkit'), out);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The entry module of the arch lib in `dir`: its sources under a TypeScript loader, else its build. */
function archModuleUrl(dir: string): string {
  const src = join(dir, 'src', 'index.ts');
  return pathToFileURL(FROM_SOURCES && existsSync(src) ? src : join(dir, 'dist', 'index.js')).href;
}

/** The CPU model calibrated against the installed emulator, then a machine for it. */
function createMachine(cpu: CpuModel) {
  cpu.unicorn.calibrate?.();
  return createUnicornMachine(cpu.unicorn);
}

/** `libsDir`: where the arch libs are (default: the repository's libs/); a test seam. */
export function createRunner(config: { libsDir?: string } = {}): Runner {
  const ports = new Map<string, Promise<ArchPort>>();
  const asms = new Map<string, Promise<Assembler>>();
  const images = new Map<string, Record<string, UserImage>>();

  const port = (arch: string, mutant?: string, entryModel?: EntryModel): Promise<ArchPort> => {
    const key = `${arch}#${mutant ?? ''}#${entryModel ?? ''}`;
    let p = ports.get(key);
    if (!p) {
      const dir = archDirs(config.libsDir).get(arch);
      if (!dir) throw new Error(`no arch "${arch}" (have: ${[...archDirs(config.libsDir).keys()].join(', ')})`);
      p = (import(archModuleUrl(dir)) as Promise<ArchModule>).then((m) => m.createPort({ mutant, entryModel }));
      ports.set(key, p);
    }
    return p;
  };
  const assembler = (p: ArchPort): Promise<Assembler> => {
    const spec = p.descriptor.assembler;
    const key = JSON.stringify(spec);
    let a = asms.get(key);
    if (!a) asms.set(key, (a = createAssembler(spec)));
    return a;
  };

  async function programs(p: ArchPort, def: ScenarioDef, asm: Assembler): Promise<Record<string, UserImage>> {
    const d = p.descriptor;
    // user programs depend on arch.json, user.hbs and the ucontext layout (signal.ts) only:
    // a mutant of another file runs the unmutated programs
    const ownPrograms = p.patched?.some((f) => f === 'arch.json' || f === 'src/user.hbs' || f.startsWith('src/signal.'));
    const ikey = `${d.name}#${ownPrograms ? p.mutant : ''}#${def.id}`;
    let imgs = images.get(ikey);
    if (!imgs) {
      imgs = {};
      Object.entries(def.programs?.(d) ?? {}).forEach(([path, prog], i) => {
        imgs![path] = compileProgram({ desc: d, templates: p.sources.userTemplates, signal: p.signal, assembler: asm }, prog, BigInt(i) * 0x2000n);
      });
      images.set(ikey, imgs);
    }
    return imgs;
  }

  async function runOne(p: ArchPort, def: ScenarioDef, sweep: boolean): Promise<ScenarioReport> {
    const t0 = performance.now();
    const d = p.descriptor;
    const report = (o: Pick<ScenarioReport, 'status' | 'message' | 'observed' | 'guestInstructions'> & { origin?: FailureOrigin }): ScenarioReport => ({
      id: def.id,
      status: o.status,
      message: o.message,
      ...(o.origin ? { origin: o.origin } : {}),
      observed: o.observed,
      guestInstructions: o.guestInstructions,
      ms: Math.round((performance.now() - t0) * 100) / 100,
    });
    const why = def.unsupported?.(d) ?? (def.needsIrq || sweep ? noIrqReason(p) : undefined);
    if (why) return report({ status: 'unsupported', message: why, observed: {}, guestInstructions: 0 });
    const asm = await assembler(p);
    let imgs: Record<string, UserImage>;
    try {
      imgs = await programs(p, def, asm);
    } catch (e) {
      // a part of the port not written yet (todo(), a generated lib): this scenario fails, the run goes on
      if (isNotImplemented(e)) return report({ status: 'fail', message: e.message, origin: 'contract', observed: {}, guestInstructions: 0 });
      throw e;
    }
    if (!sweep) {
      const o = execute(p, def, asm, imgs, {});
      return report(o);
    }
    const s = runSweep(p, def, asm, imgs);
    return report(s);
  }

  /** One run of a scenario on a fresh machine. */
  function execute(p: ArchPort, def: ScenarioDef, asm: Assembler, imgs: Record<string, UserImage>, opts: RunOpts): Outcome {
    const d = p.descriptor;
    const host = hostOf(p);
    const m = host.m;
    const env = { d, abi: abiOf(d), model: p.entryModel, images: imgs, observed: {}, state: {} } as unknown as Env;
    let k: Kernel | undefined;
    try {
      k = new Kernel({
        host,
        port: p,
        machine: m,
        assembler: asm,
        programs: imgs,
        kfns: { ...def.kfns, kernel_init: (kk: KernelApi) => kernelInit(kk, env, def) },
      });
      env.k = k;
      k.boot();
      k.world.events.push(...(def.world?.(env) ?? []));
      def.setup?.(env);
      if (opts.irqPlan) k.irqPlan = opts.irqPlan;
      opts.before?.(k);
      drive(k.kernelThread(def.init?.fn ?? 'kernel_init', def.init?.arg ?? 0n));
      k.run(def.budget ?? DEFAULT_BUDGET);
      const irq = k.exits.find((e) => e.irqsOn);
      if (irq) throw new ScenarioFailure('C5', `task ${irq.pid} returned to user mode (pc ${hex(irq.pc)}) with interrupts enabled at ${irq.at}`);
      const sp = k.exits.find((e) => e.spDelta !== 0n);
      if (sp) throw new ScenarioFailure('C2', `task ${sp.pid} returned to user mode with ${sp.spDelta} bytes on the kernel stack besides pt_regs (at ${sp.at})`);
      def.check(env);
      return { status: 'pass', message: '', observed: env.observed, guestInstructions: m.instructionCount(), k, env };
    } catch (e) {
      const err = e as Error;
      if (FATAL.has(err.name)) throw err;
      const { message, origin } = explain(err, k, def);
      let msg = message;
      const todo = isNotImplemented(err);
      if (k?.bridge.running && !todo) msg += ` [in ${k.bridge.running}]`;
      if (process.env.ARCHKIT_TRACE && k) (env.observed as Record<string, unknown>).trace = k.trace.slice(-200);
      const guestInstructions = m.instructionCount();
      // a machine whose boot did not finish cannot be reset to its boot state: the next scenario gets a new one
      if (!host.state) releaseHost(p);
      return { status: 'fail', message: msg, origin, observed: env.observed ?? {}, guestInstructions, k, env, ...(todo ? { todo } : {}) };
    }
  }

  /**
   * One machine per port, booted by its first scenario and reset to that boot state for
   * each later one (RAM, CPU state and the hooks' kernel; kernel-text translations kept).
   * ARCHKIT_FRESH_ENGINE=1 gives every scenario a fresh machine instead.
   */
  const hosts = new Map<ArchPort, KernelHost>();
  function hostOf(p: ArchPort): KernelHost {
    let h = hosts.get(p);
    if (!h || process.env.ARCHKIT_FRESH_ENGINE) {
      h?.m.close();
      h = new KernelHost(createMachine(p.cpu));
      hosts.set(p, h);
    }
    return h;
  }
  function releaseHost(p: ArchPort): void {
    hosts.get(p)?.m.close();
    hosts.delete(p);
  }

  /**
   * A sweep (C12): a reference run records every instruction before which the CPU would
   * take an interrupt; then one run per such instruction takes a timer tick exactly there.
   * Each run must pass the scenario's checks and leave every task's results, exit status
   * and output as in the reference run.
   */
  function runSweep(p: ArchPort, def: ScenarioDef, asm: Assembler, imgs: Record<string, UserImage>): Outcome {
    const points: Array<{ index: number; user: boolean }> = [];
    const ref = execute(p, def, asm, imgs, {
      before: (k) =>
        k.m.setInterrupt({
          at: 0,
          take: () => {
            if (k.cpu.irq!.canTake(k.m)) points.push({ index: k.m.instructionCount(), user: k.cpu.privilege(k.m) === k.cpu.userPrivilege });
            return false;
          },
        }),
    });
    if (ref.status !== 'pass') return ref.todo ? ref : { ...ref, message: `without any interrupt: ${ref.message}` };
    const want = userView(ref.k!);
    const failures: string[] = [];
    let firstFailure: Outcome | undefined;
    let instructions = ref.guestInstructions;
    for (const pt of points) {
      const o = execute(p, def, asm, imgs, { irqPlan: { source: { kind: 'tick' }, at: [pt.index], limit: 1 } });
      instructions += o.guestInstructions;
      let why = o.status === 'fail' ? o.message : '';
      const taken = o.k?.irqs[0];
      if (!why && (!taken || taken.index !== pt.index)) why = `C12: the interrupt raised before instruction ${pt.index} was ${taken ? `taken at ${taken.index} (${taken.at})` : 'never taken'}`;
      if (!why) {
        const got = userView(o.k!);
        const diff = Object.keys(want).find((key) => want[key] !== got[key]);
        if (diff) why = `C12: user mode saw something else: ${diff} is ${got[diff] ?? 'missing'}, was ${want[diff]} without the interrupt`;
      }
      if (why) {
        const where = taken?.at ?? `instruction ${pt.index}`;
        failures.push(`interrupt at ${where} (${pt.user ? 'user' : 'kernel'} mode, instruction ${pt.index}): ${why}`);
        firstFailure ??= o;
      }
    }
    const observed = {
      ...ref.observed,
      injectionPoints: points.length,
      userPoints: points.filter((x) => x.user).length,
      kernelPoints: points.filter((x) => !x.user).length,
      failedPoints: failures.length,
      ...(failures.length ? { failures: failures.slice(0, 5) } : {}),
    };
    if (failures.length === 0) return { status: 'pass', message: '', observed, guestInstructions: instructions };
    return {
      status: 'fail',
      message: `${failures.length} of ${points.length} interrupt points break the scenario; first: ${failures[0]}`,
      origin: firstFailure?.origin ?? 'contract',
      observed,
      guestInstructions: instructions,
    };
  }

  return {
    async listArches(): Promise<ArchInfo[]> {
      // a broken lib (malformed arch.json, ...) is listed with its `error`; it never breaks the others
      return [...archDirs(config.libsDir)].map(([arch, dir]) => readArchInfo(arch, dir, emulatorName));
    },
    listScenarios(): ScenarioInfo[] {
      return scenarios.map(({ id, group, contracts, title }) => ({ id, group, contracts, title }));
    },
    async runArch(arch, ids, opts): Promise<ArchReport> {
      const p = await port(arch, opts.mutant, opts.entryModel);
      const out: ScenarioReport[] = [];
      try {
        for (const id of ids) {
          const def = scenarios.find((s) => s.id === id);
          if (!def) throw new Error(`no scenario "${id}"`);
          const r = await runOne(p, def, def.sweep === true || (opts.sweep?.(id) ?? false));
          out.push(r);
          opts.onResult?.(r);
        }
      } finally {
        releaseHost(p);
      }
      return {
        arch,
        entryModel: p.entryModel,
        emulator: emulatorName(p.descriptor.emulator.backend),
        assembler: describeAssembler(p.descriptor.assembler),
        ...(opts.mutant ? { mutant: opts.mutant } : {}),
        scenarios: out,
      };
    },
  };
}

interface RunOpts {
  irqPlan?: IrqPlan;
  /** after setup, before the run */
  before?: (k: Kernel) => void;
}

interface Outcome {
  status: 'pass' | 'fail';
  message: string;
  origin?: FailureOrigin;
  observed: Record<string, unknown>;
  guestInstructions: number;
  k?: Kernel;
  env?: Env;
  /** the failure is a todo(): a part of the port not written yet */
  todo?: boolean;
}

function noIrqReason(p: ArchPort): string | undefined {
  return p.cpu.irq ? undefined : `the ${p.cpu.name} CPU model has no irq part yet (src/cpu.ts irq.canTake/take): interrupts cannot be raised`;
}

/** What user mode could see of a run: each task's results page, how it ended, and what was written. */
function userView(k: Kernel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [pid, slots] of k.results) for (const [i, v] of slots) if (v !== 0n) out[`task ${pid} results word ${i}`] = hex(v);
  for (const t of k.tasks) if (!t.idle) out[`task ${t.pid} end`] = `${t.state} exit ${t.exitCode} killed by ${t.killedBy}`;
  out['output'] = JSON.stringify([...k.output].sort());
  return out;
}

/**
 * A failure's message and where it comes from: the port broke a contract (a scenario
 * check, a check inside the kernel, a guest fault, runaway guest code), or the core
 * itself failed (a bug of the kit, not of the port).
 */
function explain(err: Error, k: Kernel | undefined, def: ScenarioDef): { message: string; origin: FailureOrigin } {
  if (err instanceof ScenarioFailure) return { message: err.message, origin: 'contract' };
  // todo(): "not yet implemented: <what>", the port's to write (a generated lib's skeleton)
  if (isNotImplemented(err)) return { message: err.message, origin: 'contract' };
  if (err.name === 'KernelBug') return { message: err.message, origin: 'kernel-check' };
  if (err instanceof BudgetExceededError) {
    return { message: `runaway guest code: ran past the budget of ${err.budget} instructions, pc ${hex(err.pc)}${k ? ` (${k.describePc(err.pc)})` : ''}`, origin: 'guest' };
  }
  if (err.name === 'GuestFaultError' || err.name === 'RunTimeoutError') {
    const pc = (err as GuestFaultError).pc;
    let where = '';
    if (k && pc !== undefined) {
      const mode = k.cpu.privilege(k.m) === k.cpu.userPrivilege ? 'user' : 'kernel';
      const last = k.m.lastInstruction();
      where = ` in ${mode} mode at ${k.describePc(pc)}${last ? `, after ${k.describePc(last.addr)}` : ''}, task ${k.current().pid}`;
    }
    return { message: `guest fault${where}: ${err.message} (scenario contracts ${def.contracts.join(', ')})`, origin: 'guest' };
  }
  return { message: `internal error of the kit (not the port's): ${err.name}: ${err.message}`, origin: 'core' };
}

function emulatorName(backend: string | undefined): string {
  if (backend !== 'unicorn') return String(backend);
  try {
    return `unicorn ${unicornVersion()}`;
  } catch {
    return 'unicorn (library not loaded)';
  }
}

/** pid 1's default payload: exec /init like the real kernel_init, return 0 into ret_from_kernel_thread. */
function* kernelInit(k: KernelApi, env: Env, def: ScenarioDef): CGen {
  const t = k.current();
  const tracer = def.tracer?.(env);
  if (tracer) attach(k, t, tracer);
  const r = k.kernelExecve('/init');
  env.state.initResult = r;
  if (r !== 0n) yield* k.doExit(127 << 8);
  return 0n;
}

function drive<T>(g: Generator<unknown, T, bigint>): T {
  const r = g.next();
  if (!r.done) throw new Error('a boot-time kernel_thread() tried to call guest code');
  return r.value;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
