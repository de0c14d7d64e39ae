// Text and JSON shapes for `archkit mutants`.

import type { ArchError } from '../types.ts';
import { indentRest, renderTable } from './table.ts';

export interface MutantResult {
  arch: string;
  mutant: string;
  contract: string;
  description: string;
  /** scenario ids that failed with the mutant applied (and pass without it) */
  killedBy: string[];
  survived: boolean;
  /** set when the run with this mutant could not complete (e.g. the mutant no longer applies) */
  error?: string;
  ms?: number;
}

export interface MutantsReport {
  mutants: MutantResult[];
  summary: { killed: number; survived: number; errors: number };
  /** selected arches that could not be loaded (their mutants did not run); absent when none */
  errors?: ArchError[];
}

export function mutantsSummary(results: MutantResult[]): MutantsReport['summary'] {
  return {
    killed: results.filter((r) => !r.error && r.killedBy.length > 0).length,
    survived: results.filter((r) => !r.error && r.survived).length,
    errors: results.filter((r) => r.error !== undefined).length,
  };
}

/** How many killer ids a table cell names before it abbreviates (the JSON always lists all). */
export const MAX_KILLERS_SHOWN = 4;

/**
 * `killed by a, b` / `SURVIVED` / `ERROR`; long killer lists are abbreviated
 * (`killed by a, b, c and 26 more`, or `killed by all 32 scenarios` when `ran` is given).
 */
export function mutantCell(r: MutantResult, ran?: number): string {
  if (r.error !== undefined) return 'ERROR (see below)';
  if (r.survived) return 'SURVIVED';
  const k = r.killedBy;
  if (ran !== undefined && ran > MAX_KILLERS_SHOWN && k.length === ran) return `killed by all ${ran} scenarios`;
  if (k.length <= MAX_KILLERS_SHOWN) return `killed by ${k.join(', ')}`;
  const shown = MAX_KILLERS_SHOWN - 1;
  return `killed by ${k.slice(0, shown).join(', ')} and ${k.length - shown} more`;
}

/** `N killed, N survived` */
export function mutantsSummaryLine(s: MutantsReport['summary']): string {
  return `${s.killed} killed, ${s.survived} survived`;
}

/** Rows grouped by mutant id (so the same bug on several arches sits together), then the errors. */
export function renderMutants(report: MutantsReport, ran?: number): string {
  const order: string[] = [];
  for (const r of report.mutants) if (!order.includes(r.mutant)) order.push(r.mutant);
  const sorted = order.flatMap((id) => report.mutants.filter((r) => r.mutant === id));
  let out = renderTable(
    ['mutant', 'arch', 'contract', 'result'],
    sorted.map((r) => [r.mutant, r.arch, r.contract, mutantCell(r, ran)]),
  );
  const survivors = sorted.filter((r) => !r.error && r.survived);
  if (survivors.length) {
    out += `\nSurvivors (${survivors.length}):\n`;
    for (const r of survivors) out += `  SURVIVED ${r.arch} ${r.mutant} [${r.contract}]: ${indentRest(r.description, '    ')}\n`;
  }
  const errors = sorted.filter((r) => r.error !== undefined);
  if (errors.length) {
    out += `\nErrors (${errors.length}):\n`;
    for (const r of errors) out += `  ERROR ${r.arch} ${r.mutant}: ${indentRest(r.error ?? '', '    ')}\n`;
  }
  const broken = report.errors ?? [];
  if (broken.length) {
    out += `\nArches that could not run (${broken.length}):\n`;
    for (const e of broken) out += `  ERROR ${e.arch}: ${indentRest(e.message, '    ')}\n`;
  }
  out += '\n' + mutantsSummaryLine(report.summary) + '\n';
  if (report.summary.errors) out += `${report.summary.errors} mutant run${report.summary.errors === 1 ? '' : 's'} errored\n`;
  if (broken.length) out += `${broken.length} arch${broken.length === 1 ? '' : 'es'} could not run\n`;
  return out;
}
