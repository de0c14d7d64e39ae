// Text reporter for `archkit conformance`: scenario x arch matrix, failure messages, summary.

import type { ArchReport, FailureOrigin, Report, Status } from '../types.ts';
import { indentRest, renderTable } from './table.ts';

export const CELL: Record<Status, string> = { pass: 'pass', fail: 'FAIL', unsupported: 'unsupported' };

/** Where a failure comes from: the port (its contract, a kernel check, its guest code) or the kit. */
const ORIGIN: Record<FailureOrigin, string> = { contract: '[contract]', 'kernel-check': '[kernel check]', guest: '[guest fault]', core: '[kit error]' };

/** The summary line, exactly `N passed, N failed, N unsupported`. */
export function summaryLine(summary: Report['summary']): string {
  return `${summary.pass} passed, ${summary.fail} failed, ${summary.unsupported} unsupported`;
}

/** An arch's column name; an arch that ran under several entry models is named with the model. */
export function archLabel(report: Report, a: ArchReport): string {
  const twice = report.arches.filter((x) => x.arch === a.arch && x.mutant === a.mutant).length > 1;
  const base = twice ? `${a.arch}[${a.entryModel}]` : a.arch;
  return a.mutant ? `${base}+${a.mutant}` : base;
}

/**
 * Rows = scenarios (in `order`, then any others the reports contain), columns = arches.
 * A scenario an arch report does not contain shows as "-".
 */
export function renderMatrix(report: Report, order: string[] = []): string {
  const ids: string[] = [...order];
  const seen = new Set(ids);
  for (const a of report.arches)
    for (const s of a.scenarios)
      if (!seen.has(s.id)) {
        seen.add(s.id);
        ids.push(s.id);
      }
  const byArch = report.arches.map((a) => new Map(a.scenarios.map((s) => [s.id, s.status] as const)));
  const header = ['scenario', ...report.arches.map((a) => archLabel(report, a))];
  const rows = ids.map((id) => [id, ...byArch.map((m) => { const st = m.get(id); return st ? CELL[st] : '-'; })]);
  return renderTable(header, rows);
}

/** One block per failure (arch, id, message), then the reasons for unsupported scenarios. */
export function renderProblems(report: Report): string {
  const out: string[] = [];
  const fails = report.arches.flatMap((a) => a.scenarios.filter((s) => s.status === 'fail').map((s) => ({ a, s })));
  if (fails.length) {
    out.push('', `Failures (${fails.length}):`);
    for (const { a, s } of fails) out.push(`  FAIL ${archLabel(report, a)} ${s.id} ${ORIGIN[s.origin ?? 'contract']}: ${indentRest(s.message || '(no message)', '    ')}`);
  }
  const unsup = report.arches.flatMap((a) => a.scenarios.filter((s) => s.status === 'unsupported').map((s) => ({ a, s })));
  if (unsup.length) {
    out.push('', `Unsupported (${unsup.length}):`);
    for (const { a, s } of unsup) out.push(`  ${a.arch} ${s.id}: ${indentRest(s.message || '(no reason given)', '    ')}`);
  }
  const errors = report.errors ?? [];
  if (errors.length) {
    out.push('', `Arches that could not run (${errors.length}):`);
    for (const e of errors) out.push(`  ERROR ${e.arch}: ${indentRest(e.message, '    ')}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** Matrix, problems, blank line, summary line (then how many arches could not run, if any). */
export function renderConformance(report: Report, order: string[] = []): string {
  const n = report.errors?.length ?? 0;
  const errs = n ? `${n} arch${n === 1 ? '' : 'es'} could not run\n` : '';
  const matrix = report.arches.length ? renderMatrix(report, order) : '(no arch ran)\n';
  return matrix + renderProblems(report) + '\n' + summaryLine(report.summary) + '\n' + errs;
}
