// JSON reporter: writes the Report shape of ../types.ts (read by other tools: keep stable).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ArchReport, Report, Status } from '../types.ts';

/** Recomputes the summary from the per-arch scenario lists. */
export function summarize(arches: ArchReport[]): Report['summary'] {
  const summary = { pass: 0, fail: 0, unsupported: 0 };
  for (const a of arches) for (const s of a.scenarios) summary[s.status as Status] += 1;
  return summary;
}

export function buildReport(arches: ArchReport[]): Report {
  return { arches, summary: summarize(arches) };
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

/** Writes `value` as JSON to `file`, creating parent directories. */
export function writeJsonFile(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, toJson(value));
}

export function writeJsonReport(file: string, report: Report): void {
  writeJsonFile(file, report);
}
