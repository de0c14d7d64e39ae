// JSON reporter: writes the Report shape of ../types.ts (read by other tools: keep stable).

import { writeFileSync } from 'node:fs';
import type { ArchError, ArchReport, Report, ReportMeta, ScenarioInfo, Status } from '../types.ts';
import { ensureParentDir } from './output.ts';

/** Recomputes the summary from the per-arch scenario lists. */
export function summarize(arches: ArchReport[]): Report['summary'] {
  const summary = { pass: 0, fail: 0, unsupported: 0 };
  for (const a of arches) for (const s of a.scenarios) summary[s.status as Status] += 1;
  return summary;
}

/** The report, keys in a stable order: meta, arches, summary, then errors and scenarios when given. */
export function buildReport(arches: ArchReport[], extra: { meta?: ReportMeta; errors?: ArchError[]; scenarios?: ScenarioInfo[] } = {}): Report {
  return {
    ...(extra.meta ? { meta: extra.meta } : {}),
    arches,
    summary: summarize(arches),
    ...(extra.errors?.length ? { errors: extra.errors } : {}),
    ...(extra.scenarios ? { scenarios: extra.scenarios } : {}),
  };
}

/**
 * Group, contracts and title of every scenario in the report, in order: the report's own
 * `scenarios` list, then `known` (the current catalogue), else the group from the id
 * ("restart.block-handler" is in "restart") and the contracts its failure messages name.
 */
export function scenarioCatalogue(report: Report, known: ScenarioInfo[] = []): ScenarioInfo[] {
  const have = new Map<string, ScenarioInfo>();
  for (const s of report.scenarios ?? []) if (!have.has(s.id)) have.set(s.id, s);
  const out: ScenarioInfo[] = [];
  const seen = new Set<string>();
  const ids = [...(report.scenarios ?? []).map((s) => s.id), ...report.arches.flatMap((a) => a.scenarios.map((s) => s.id))];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const info = have.get(id) ?? known.find((k) => k.id === id);
    if (info) {
      out.push(info);
      continue;
    }
    const contracts = new Set<string>();
    for (const a of report.arches)
      for (const s of a.scenarios) if (s.id === id) for (const m of s.message.matchAll(/\b(C\d+):/g)) contracts.add(m[1]!);
    out.push({ id, group: id.includes('.') ? id.slice(0, id.indexOf('.')) : id, contracts: [...contracts].sort(byContract), title: '' });
  }
  return out;
}

/** C2 before C10. */
export function byContract(a: string, b: string): number {
  const na = Number(a.replace(/^\D+/, ''));
  const nb = Number(b.replace(/^\D+/, ''));
  return na - nb || a.localeCompare(b);
}

/**
 * JSON.stringify replacer for values the runner may leave in `observed`:
 * bigints become numbers when they are safe integers, else "0x..." strings;
 * typed arrays become plain arrays; Maps and Sets become objects and arrays.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : (value < 0n ? '-0x' + (-value).toString(16) : '0x' + value.toString(16));
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>);
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2) + '\n';
}

/** Writes `value` as JSON to `file`, creating parent directories (one level at a time; never under /proc or /sys). */
export function writeJsonFile(file: string, value: unknown): void {
  ensureParentDir(file);
  writeFileSync(file, toJson(value));
}

export function writeJsonReport(file: string, report: Report): void {
  writeJsonFile(file, report);
}
