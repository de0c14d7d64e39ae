// `archkit merge`: joins the conformance reports (`--json`) of parallel jobs or branches into
// one: the arches of all inputs (the same arch + entry model twice is an error naming both
// files, unless the last one is preferred), the summary recomputed, each input's metadata kept.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { JsonError, parseStrictJson } from '@archkit/generic-core/contracts/json';
import type { ArchError, ArchReport, Report, ReportMeta, ScenarioInfo, ScenarioReport } from '../types.ts';
import { buildReport } from './json.ts';
import { toolVersions } from './meta.ts';

/** An input file that cannot be merged: the message names the file (and line:column where known). */
export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export interface MergeInput {
  /** the file as given (named in messages and in meta.inputs) */
  file: string;
  report: Report;
}

const STATUSES = ['pass', 'fail', 'unsupported'];
const ORIGINS = ['contract', 'kernel-check', 'guest', 'core'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks one conformance report. `cwd` resolves relative names. */
export function readReport(file: string, cwd: string): Report {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new MergeError(`${file}: cannot read it: ${what}`);
  }
  return parseReport(text, file);
}

/** Parses and checks a conformance report's text; errors name `file` and line:column. */
export function parseReport(text: string, file: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // the strict parser says where
    try {
      parseStrictJson(text);
    } catch (e) {
      if (e instanceof JsonError) throw new MergeError(`${file}:${e.line}:${e.column}: not valid JSON: ${e.detail}`);
    }
    throw new MergeError(`${file}: not valid JSON${text.trim() === '' ? ' (the file is empty)' : ''}`);
  }
  const where = (path: string): string => {
    try {
      const pos = parseStrictJson(text).positions.get(path);
      return pos ? `${file}:${pos.line}:${pos.column}` : file;
    } catch {
      return file;
    }
  };
  const bad = (path: string, what: string): never => {
    throw new MergeError(`${where(path)}: ${path ? `"${path}" ` : ''}${what}`);
  };
  if (!isObj(value)) return bad('', 'is not a conformance report (expected a JSON object with "arches" and "summary")');
  if (!('arches' in value) && Array.isArray(value['mutants'])) bad('', 'is an `archkit mutants` report; merge joins conformance reports (`archkit conformance --json`) only');
  if (!Array.isArray(value['arches'])) bad('arches' in value ? 'arches' : '', 'is not a conformance report: "arches" must be a list of arch reports');
  const arches = value['arches'] as unknown[];
  arches.forEach((a, i) => {
    const p = `arches[${i}]`;
    if (!isObj(a)) return bad(p, 'must be an object');
    if (typeof a['arch'] !== 'string' || a['arch'] === '') bad(`${p}.arch`, 'must be a non-empty string');
    for (const k of ['entryModel', 'emulator', 'assembler', 'mutant']) if (a[k] !== undefined && typeof a[k] !== 'string') bad(`${p}.${k}`, 'must be a string');
    if (!Array.isArray(a['scenarios'])) return bad(`${p}.scenarios`, 'must be a list');
    (a['scenarios'] as unknown[]).forEach((s, j) => {
      const q = `${p}.scenarios[${j}]`;
      if (!isObj(s)) return bad(q, 'must be an object');
      if (typeof s['id'] !== 'string' || s['id'] === '') bad(`${q}.id`, 'must be a non-empty string');
      if (!STATUSES.includes(s['status'] as string)) bad(`${q}.status`, `must be "pass", "fail" or "unsupported", not ${JSON.stringify(s['status'])}`);
      if (s['message'] !== undefined && typeof s['message'] !== 'string') bad(`${q}.message`, 'must be a string');
      if (s['origin'] !== undefined && !ORIGINS.includes(s['origin'] as string)) bad(`${q}.origin`, `must be one of ${ORIGINS.join(', ')}`);
      if (s['observed'] !== undefined && !isObj(s['observed'])) bad(`${q}.observed`, 'must be an object');
      for (const k of ['guestInstructions', 'ms']) if (s[k] !== undefined && typeof s[k] !== 'number') bad(`${q}.${k}`, 'must be a number');
    });
  });
  if (value['errors'] !== undefined) {
    if (!Array.isArray(value['errors'])) bad('errors', 'must be a list');
    (value['errors'] as unknown[]).forEach((e, i) => {
      if (!isObj(e) || typeof e['arch'] !== 'string' || typeof e['message'] !== 'string') bad(`errors[${i}]`, 'must be { "arch": string, "message": string }');
    });
  }
  if (value['scenarios'] !== undefined) {
    if (!Array.isArray(value['scenarios'])) bad('scenarios', 'must be a list');
    (value['scenarios'] as unknown[]).forEach((s, i) => {
      if (!isObj(s) || typeof s['id'] !== 'string' || typeof s['group'] !== 'string' || !Array.isArray(s['contracts'])) bad(`scenarios[${i}]`, 'must be { "id", "group", "contracts", "title" }');
    });
  }
  if (value['meta'] !== undefined && !isObj(value['meta'])) bad('meta', 'must be an object');

  // normalise what older reports may lack
  const norm: ArchReport[] = (arches as Obj[]).map((a) => ({
    arch: a['arch'] as string,
    entryModel: (a['entryModel'] as string | undefined) ?? 'unknown',
    emulator: (a['emulator'] as string | undefined) ?? 'unknown',
    assembler: (a['assembler'] as string | undefined) ?? 'unknown',
    ...(a['mutant'] !== undefined ? { mutant: a['mutant'] as string } : {}),
    scenarios: (a['scenarios'] as Obj[]).map(
      (s): ScenarioReport => ({
        id: s['id'] as string,
        status: s['status'] as ScenarioReport['status'],
        message: (s['message'] as string | undefined) ?? '',
        ...(s['origin'] !== undefined ? { origin: s['origin'] as ScenarioReport['origin'] } : {}),
        observed: (s['observed'] as Obj | undefined) ?? {},
        guestInstructions: (s['guestInstructions'] as number | undefined) ?? 0,
        ms: (s['ms'] as number | undefined) ?? 0,
      }),
    ),
  }));
  return buildReport(norm, {
    ...(isObj(value['meta']) ? { meta: value['meta'] as unknown as ReportMeta } : {}),
    ...(value['errors'] ? { errors: value['errors'] as ArchError[] } : {}),
    ...(value['scenarios'] ? { scenarios: value['scenarios'] as ScenarioInfo[] } : {}),
  });
}

/** What identifies an arch column across reports. */
const key = (a: ArchReport) => `${a.arch}\0${a.entryModel}\0${a.mutant ?? ''}`;
const keyText = (a: ArchReport) => `${a.arch}[${a.entryModel}]${a.mutant ? `+${a.mutant}` : ''}`;

/** The value every input agrees on, else null. */
function common<T>(values: Array<T | null | undefined>): T | null {
  const set = new Set(values.map((v) => v ?? null));
  return set.size === 1 ? ([...set][0] as T | null) : null;
}

/**
 * Joins the inputs in order. The same arch + entry model in two inputs is an error naming
 * both files, unless `prefer` is "last" (the later input's results replace the earlier's,
 * in the earlier's place). `meta` gives the merge's own time and Node version.
 */
export function mergeReports(inputs: MergeInput[], opts: { prefer?: 'last'; generatedAt: string; node?: string }): Report {
  const arches: ArchReport[] = [];
  const from = new Map<string, { file: string; index: number }>();
  const errors: ArchError[] = [];
  const catalogue = new Map<string, ScenarioInfo>();
  for (const { file, report } of inputs) {
    for (const a of report.arches) {
      const k = key(a);
      const prev = from.get(k);
      if (prev) {
        if (opts.prefer !== 'last') throw new MergeError(`${keyText(a)} is in both ${prev.file} and ${file} (use --prefer last to keep the later one)`);
        arches[prev.index] = a;
        from.set(k, { file, index: prev.index });
      } else {
        from.set(k, { file, index: arches.length });
        arches.push(a);
      }
    }
    for (const e of report.errors ?? []) if (!errors.some((x) => x.arch === e.arch && x.message === e.message)) errors.push(e);
    for (const s of report.scenarios ?? []) if (!catalogue.has(s.id) || opts.prefer === 'last') catalogue.set(s.id, s);
  }
  const metas = inputs.map((i) => i.report.meta);
  // each input, its own meta as it was (a merged input keeps its own inputs) and the columns it gave
  const inputsMeta = inputs.map(({ file, report }) => ({
    file,
    meta: report.meta ?? null,
    arches: report.arches.filter((a) => from.get(key(a))?.file === file).map(keyText),
  }));
  const tools = toolVersions(arches);
  const unicorns = [...new Set([...metas.map((m) => m?.tools?.unicorn), tools.unicorn].filter((v): v is string => !!v).flatMap((v) => v.split(', ')))];
  const meta: ReportMeta = {
    commit: common(metas.map((m) => m?.commit)),
    branch: common(metas.map((m) => m?.branch)),
    generatedAt: opts.generatedAt,
    node: opts.node ?? process.version,
    tools: { unicorn: unicorns.length ? unicorns.join(', ') : null, assemblers: tools.assemblers },
    inputs: inputsMeta,
  };
  // scenarios in the inputs' catalogue order; ids no input describes are derived when rendering
  return buildReport(arches, { meta, errors, ...(catalogue.size ? { scenarios: [...catalogue.values()] } : {}) });
}
