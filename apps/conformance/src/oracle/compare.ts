// Holding a conformance report against what the real kernel did, field by field.

import type { ArchReport } from '../types.ts';
import { renderTable } from '../report/table.ts';
import { FIELD_KINDS, OracleError, notComparableReason } from './programs.ts';
import type { OracleResult, OracleScenarioResult } from './index.ts';

export interface OracleRow {
  scenario: string;
  /** dotted path into `observed` (`syscallEntries.read`, `ret.parent`); "" for a row about the whole scenario */
  field: string;
  /** the kit's value; undefined when the kit did not observe the field */
  kit?: unknown;
  /** the kernel's value; undefined when the kernel program did not observe it */
  kernel?: unknown;
  /** true: same; false: a disagreement; null: not comparable (see note) */
  agree: boolean | null;
  note?: string;
}

export interface OracleSummary {
  agree: number;
  disagree: number;
  notComparable: number;
}

export const NOT_OBSERVED_BY_KIT = 'not observed by the kit';
export const NOT_OBSERVED_BY_KERNEL = 'not observed by the kernel';

/** observed fields that are diagnostics, not observations */
const IGNORED = new Set(['trace']);

/**
 * One row per observed field of every scenario: the kit's scenarios in report order (with
 * what the kernel saw, or why the kernel cannot say), then the oracle's scenarios the report
 * does not have. Fields only one side has are "not observed by the kit/kernel" and count as
 * not comparable, never as disagreements. Pids compare as "a pid" (> 0); user addresses are
 * not compared. A failed oracle program is a disagreement: the judge must not go quiet.
 */
export function compareWithReport(oracle: OracleResult, kit: ArchReport): OracleRow[] {
  if (!oracle.comparable) return [{ scenario: '*', field: '', agree: null, note: oracle.reason }];
  if (oracle.arch !== kit.arch) {
    throw new OracleError(`the oracle ran for ${oracle.arch} but the conformance report is for ${kit.arch}: compare a report of the same arch`);
  }
  const byId = new Map<string, OracleScenarioResult>();
  for (const s of oracle.scenarios) for (const id of [s.id, ...s.aliases]) byId.set(id, s);
  const used = new Set<OracleScenarioResult>();
  const rows: OracleRow[] = [];

  for (const ks of kit.scenarios) {
    const os = byId.get(ks.id);
    if (!os) {
      const why = notComparableReason(ks.id) ?? oracle.notComparable.find((n) => n.pattern === ks.id)?.reason;
      rows.push({ scenario: ks.id, field: '', agree: null, note: why ? `not comparable: ${why}` : 'no oracle program for this scenario' });
      continue;
    }
    used.add(os);
    const name = os.id === ks.id ? ks.id : `${ks.id} (kernel: ${os.id})`;
    if (ks.status === 'unsupported') {
      rows.push({ scenario: name, field: '', agree: null, note: `unsupported by the kit: ${ks.message}` });
      continue;
    }
    if (os.status === 'error') {
      rows.push({ scenario: name, field: '', agree: false, note: `oracle program failed: ${os.reason}` });
      continue;
    }
    if (os.status === 'not-comparable') {
      rows.push({ scenario: name, field: '', agree: null, note: `not comparable: ${os.reason}` });
      continue;
    }
    rows.push(...compareObserved(name, os.id, ks.observed, os.observed));
  }

  for (const os of oracle.scenarios) {
    if (used.has(os)) continue;
    if (os.status === 'error') {
      rows.push({ scenario: os.id, field: '', agree: false, note: `oracle program failed: ${os.reason}` });
    } else if (os.status === 'not-comparable') {
      rows.push({ scenario: os.id, field: '', agree: null, note: `not comparable: ${os.reason}` });
    } else {
      const fields = flatten(os.observed);
      if (fields.size === 0) rows.push({ scenario: os.id, field: '', agree: null, note: 'no such scenario in the kit report' });
      for (const [field, kernel] of fields) rows.push({ scenario: os.id, field, kernel, agree: null, note: `${NOT_OBSERVED_BY_KIT} (no such scenario)` });
    }
  }
  return rows;
}

function compareObserved(name: string, oracleId: string, kitObs: Record<string, unknown>, kernelObs: Record<string, unknown>): OracleRow[] {
  const k = flatten(kitObs);
  const o = flatten(kernelObs);
  const kinds = FIELD_KINDS[oracleId] ?? {};
  const fields = [...k.keys(), ...[...o.keys()].filter((f) => !k.has(f))];
  if (fields.length === 0) return [{ scenario: name, field: '', agree: null, note: 'neither side observed a field' }];
  return fields.map((field): OracleRow => {
    const kit = k.get(field);
    const kernel = o.get(field);
    if (!k.has(field)) return { scenario: name, field, kernel, agree: null, note: NOT_OBSERVED_BY_KIT };
    if (!o.has(field)) return { scenario: name, field, kit, agree: null, note: NOT_OBSERVED_BY_KERNEL };
    const kind = kinds[field];
    if (kind === 'address') return { scenario: name, field, kit, kernel, agree: null, note: 'a user address: the memory layouts differ, not compared' };
    if (kind === 'pid') {
      const ok = isPid(kit) && isPid(kernel);
      return { scenario: name, field, kit, kernel, agree: ok, note: ok ? 'a pid on both sides' : 'expected a pid (> 0) on both sides' };
    }
    if (Array.isArray(kit) && Array.isArray(kernel)) {
      // element-wise, so that an address inside an array (syscall arguments) is skipped
      const skipped = Object.entries(kinds)
        .filter(([f, kd]) => kd === 'address' && f.startsWith(`${field}.`))
        .map(([f]) => Number(f.slice(field.length + 1)));
      const same = kit.length === kernel.length && kit.every((v, i) => skipped.includes(i) || sameValue(v, kernel[i]));
      const note = skipped.length ? `element ${skipped.join(', ')} is a user address, not compared` : undefined;
      return { scenario: name, field, kit, kernel, agree: same, ...(note ? { note } : {}) };
    }
    return { scenario: name, field, kit, kernel, agree: sameValue(kit, kernel) };
  });
}

/** Objects become dotted paths; arrays and scalars are leaves; undefined is "not observed". */
export function flatten(obs: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [key, v] of Object.entries(obs)) {
    if (v === undefined || (!prefix && IGNORED.has(key))) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, path, out);
    else out.set(path, v);
  }
  return out;
}

/** An integer, whether written as a number or as the kit's "0x..." / "-0x..." string. */
function asInteger(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') {
    const m = /^(-?)0x([0-9a-f]+)$/i.exec(v.trim());
    if (m) return (m[1] ? -1n : 1n) * BigInt(`0x${m[2]}`);
  }
  return undefined;
}

function isPid(v: unknown): boolean {
  const n = asInteger(v);
  return n !== undefined && n > 0n;
}

export function sameValue(a: unknown, b: unknown): boolean {
  const x = asInteger(a);
  const y = asInteger(b);
  if (x !== undefined && y !== undefined) return x === y;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const fa = flatten(a as Record<string, unknown>);
    const fb = flatten(b as Record<string, unknown>);
    return fa.size === fb.size && [...fa].every(([k, v]) => fb.has(k) && sameValue(v, fb.get(k)));
  }
  return a === b;
}

export function oracleSummary(rows: OracleRow[]): OracleSummary {
  return {
    agree: rows.filter((r) => r.agree === true).length,
    disagree: rows.filter((r) => r.agree === false).length,
    notComparable: rows.filter((r) => r.agree === null).length,
  };
}

/** Exactly `N agree, N disagree, N not comparable`. */
export function summaryLine(s: OracleSummary): string {
  return `${s.agree} agree, ${s.disagree} disagree, ${s.notComparable} not comparable`;
}

function show(v: unknown): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

/**
 * The rows as a table (scenario, field, kit, kernel, result; the scenario named once per
 * group), then the disagreements again in full, then the summary line.
 */
export function renderOracle(rows: OracleRow[]): string {
  const result = (r: OracleRow) => (r.agree === true ? 'agree' : r.agree === false ? 'DISAGREE' : 'n/c');
  let last = '';
  const body = rows.map((r) => {
    const first = r.scenario !== last;
    last = r.scenario;
    const res = result(r) + (r.note && r.agree !== true ? `: ${r.note}` : '');
    return [first ? r.scenario : '', r.field || '(scenario)', show(r.kit), show(r.kernel), res];
  });
  const out = [renderTable(['scenario', 'field', 'kit', 'kernel', 'result'], body)];
  const bad = rows.filter((r) => r.agree === false);
  if (bad.length) {
    out.push('', `Disagreements (${bad.length}):`);
    for (const r of bad) {
      const what = r.field ? `${r.field}: kit ${show(r.kit)}, kernel ${show(r.kernel)}` : r.note ?? '';
      out.push(`  ${r.scenario}${r.field ? ' ' : ': '}${what}${r.field && r.note ? ` (${r.note})` : ''}`);
    }
  }
  out.push('', summaryLine(oracleSummary(rows)));
  return out.join('\n') + '\n';
}
