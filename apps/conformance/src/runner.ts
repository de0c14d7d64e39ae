// Runs scenarios on arch ports: one emulated machine per scenario run.

import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUnicornMachine, unicornVersion } from '@archkit/generic-core/machine/unicorn/machine';
import { createAssembler, describeAssembler } from '@archkit/generic-core/asm/create';
import type { Assembler } from '@archkit/generic-core/asm/assembler';
import type { ArchModule, ArchPort } from '@archkit/generic-core/contracts/port';
import type { CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { EntryModel } from '@archkit/generic-core/contracts/descriptor';
import { listMutants } from '@archkit/generic-core/contracts/loader';
import { Kernel } from '@archkit/generic-core/kernel/kernel';
import { attach } from '@archkit/generic-core/kernel/ptrace';
import { symbolize } from '@archkit/generic-core/kernel/symbols';
import type { CGen, KernelApi, UserImage } from '@archkit/generic-core/kernel/types';
import { compileProgram } from '@archkit/generic-core/user/compile';
import { BudgetExceededError } from '@archkit/generic-core/machine/machine';
import type { ArchInfo, ArchReport, Runner, ScenarioInfo, ScenarioReport } from './types.ts';
import { scenarios } from './scenarios/index.ts';
import { ScenarioFailure, abiOf, type Env, type ScenarioDef } from './scenarios/dsl.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DEFAULT_BUDGET = 2_000_000;

/** Errors that mean the kit or a port is broken, not that a contract was violated. */
const FATAL = new Set(['AsmError', 'AsmToolchainError', 'DescriptorError', 'PatchError', 'MutantError', 'EmulatorMissingError', 'CalibrationError']);

export function archDirs(): Map<string, string> {
  const out = new Map<string, string>();
  const libs = join(REPO, 'libs');
  for (const d of readdirSync(libs).sort()) {
    if (!d.startsWith('arch-') || !existsSync(join(libs, d, 'arch.json'))) continue;
    out.set(d.slice(5), join(libs, d));
  }
  return out;
}

/** The CPU model calibrated against the installed emulator, then a machine for it. */
function createMachine(cpu: CpuModel) {
  cpu.unicorn.calibrate?.();
  return createUnicornMachine(cpu.unicorn);
}

export function createRunner(): Runner {
  const ports = new Map<string, Promise<ArchPort>>();
  const asms = new Map<string, Promise<Assembler>>();
  const images = new Map<string, Record<string, UserImage>>();

  const port = (arch: string, mutant?: string, entryModel?: EntryModel): Promise<ArchPort> => {
    const key = `${arch}#${mutant ?? ''}#${entryModel ?? ''}`;
    let p = ports.get(key);
    if (!p) {
      const dir = archDirs().get(arch);
      if (!dir) throw new Error(`no arch "${arch}" (have: ${[...archDirs().keys()].join(', ')})`);
      p = (import(`@archkit/arch-${arch}`) as Promise<ArchModule>).then((m) => m.createPort({ mutant, entryModel }));
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

  async function runOne(p: ArchPort, def: ScenarioDef): Promise<ScenarioReport> {
    const t0 = performance.now();
    const d = p.descriptor;
    const report = (status: ScenarioReport['status'], message: string, observed: Record<string, unknown>, n: number): ScenarioReport => ({
      id: def.id,
      status,
      message,
      observed,
      guestInstructions: n,
      ms: Math.round((performance.now() - t0) * 10) / 10,
    });
    const why = def.unsupported?.(d);
    if (why) return report('unsupported', why, {}, 0);

    const asm = await assembler(p);
    const ikey = `${d.name}#${p.mutant ?? ''}#${def.id}`;
    let imgs = images.get(ikey);
    if (!imgs) {
      imgs = {};
      Object.entries(def.programs?.(d) ?? {}).forEach(([path, prog], i) => {
        imgs![path] = compileProgram({ desc: d, templates: p.sources.userTemplates, signal: p.signal, assembler: asm }, prog, BigInt(i) * 0x2000n);
      });
      images.set(ikey, imgs);
    }
    const m = createMachine(p.cpu);
    const env = { d, abi: abiOf(d), model: p.entryModel, images: imgs, observed: {}, state: {} } as unknown as Env;
    let k: Kernel | undefined;
    try {
      k = new Kernel({
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
      drive(k.kernelThread(def.init?.fn ?? 'kernel_init', def.init?.arg ?? 0n));
      k.run(def.budget ?? DEFAULT_BUDGET);
      const irq = k.exits.find((e) => e.irqsOn);
      if (irq) throw new ScenarioFailure('C5', `task ${irq.pid} returned to user mode (pc ${hex(irq.pc)}) with interrupts enabled at ${irq.at}`);
      const sp = k.exits.find((e) => e.spDelta !== 0n);
      if (sp) throw new ScenarioFailure('C2', `task ${sp.pid} returned to user mode with ${sp.spDelta} bytes on the kernel stack besides pt_regs (at ${sp.at})`);
      def.check(env);
      return report('pass', '', env.observed, m.instructionCount());
    } catch (e) {
      const err = e as Error;
      if (FATAL.has(err.name)) throw err;
      let msg = err.message;
      if (err instanceof BudgetExceededError) {
        msg = `runaway guest code: ran past the budget of ${err.budget} instructions, pc ${hex(err.pc)}${k ? ` (${symbolize(k.symbols, err.pc)})` : ''}`;
      } else if (!(err instanceof ScenarioFailure) && err.name !== 'KernelBug' && err.name !== 'GuestFaultError') {
        msg = `${err.name}: ${err.message}`;
      }
      if (k?.bridge.running) msg += ` [in ${k.bridge.running}]`;
      if (process.env.ARCHKIT_TRACE && k) (env.observed as Record<string, unknown>).trace = k.trace.slice(-200);
      return report('fail', msg, env.observed ?? {}, m.instructionCount());
    } finally {
      m.close();
    }
  }

  return {
    async listArches(): Promise<ArchInfo[]> {
      const out: ArchInfo[] = [];
      for (const [arch, dir] of archDirs()) {
        const desc = JSON.parse(readFileSync(join(dir, 'arch.json'), 'utf8')) as {
          title?: string;
          emulator?: { backend?: string };
          assembler?: { backend: string; target: string };
          entry?: { model?: string; offers?: string[] };
        };
        const model = desc.entry?.model ?? 'unknown';
        out.push({
          arch,
          title: desc.title ?? arch,
          entryModel: model,
          entryModels: desc.entry?.offers ?? [model],
          emulator: emulatorName(desc.emulator?.backend),
          assembler: desc.assembler ? describeAssembler(desc.assembler) : 'unknown',
          mutants: listMutants(dir).map((mu) => ({
            id: mu.id,
            contract: mu.contract,
            description: mu.description,
            file: join(dir, 'mutants', `${mu.id}.patch`),
            ...(mu.models ? { models: mu.models } : {}),
          })),
        });
      }
      return out;
    },
    listScenarios(): ScenarioInfo[] {
      return scenarios.map(({ id, group, contracts, title }) => ({ id, group, contracts, title }));
    },
    async runArch(arch, ids, opts): Promise<ArchReport> {
      const p = await port(arch, opts.mutant, opts.entryModel);
      const out: ScenarioReport[] = [];
      for (const id of ids) {
        const def = scenarios.find((s) => s.id === id);
        if (!def) throw new Error(`no scenario "${id}"`);
        const r = await runOne(p, def);
        out.push(r);
        opts.onResult?.(r);
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
