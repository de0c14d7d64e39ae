// `--html FILE`: one self-contained page (inline CSS, no script, nothing fetched): the run's
// metadata, the scenario x arch[entry model] matrix with coloured, labelled cells, then each
// failure (arch, scenario, contract, origin, message, observed values), the unsupported
// scenarios with their reasons, and the arches that could not run.

import type { ArchReport, FailureOrigin, Report, RunMeta, ScenarioInfo, ScenarioReport, Status } from '../types.ts';
import { scenarioCatalogue, toJson } from './json.ts';
import { summaryLine } from './matrix.ts';

/** Cell colours (background, text); the screenshot test looks for the backgrounds. Each background is used by matrix cells only. */
export const COLORS: Record<Status | 'none', { bg: string; fg: string }> = {
  pass: { bg: '#c6efce', fg: '#006100' },
  fail: { bg: '#ffc7ce', fg: '#9c0006' },
  unsupported: { bg: '#ffeb9c', fg: '#7a4d00' },
  none: { bg: '#ffffff', fg: '#6e6e6e' },
};

/** The text label of each cell (the colour is never the only sign). */
export const LABEL: Record<Status, string> = { pass: 'pass', fail: 'FAIL', unsupported: 'unsupported' };

const ORIGIN: Record<FailureOrigin, string> = {
  contract: 'contract: a scenario check found the port breaking its contract',
  'kernel-check': 'kernel-check: a check of the port\'s work inside the kit\'s kernel',
  guest: 'guest: the port\'s code faulted or ran away',
  core: 'core: the kit itself failed (not the port)',
};

// Characters that have no place in an HTML text node (C0 controls other than tab/LF/CR, lone surrogates, noncharacters).
const INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for element content and double- or single-quoted attribute values. */
export function esc(s: unknown): string {
  return String(s)
    .replace(INVALID, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; color: #1f2328; background: #fff; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 8px; }
section > h3 { margin-top: 16px; }
.summary { font-size: 16px; margin: 0 0 16px; }
.summary .n-fail { color: ${COLORS.fail.fg}; font-weight: 600; }
.summary .n-pass { color: ${COLORS.pass.fg}; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
table.meta th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
.scroll { overflow-x: auto; }
table.matrix td.cell { text-align: center; font-weight: 600; white-space: nowrap; min-width: 90px; }
table.matrix th.scenario { font-weight: normal; white-space: nowrap; }
table.matrix tr.group th { background: #eaeef2; font-weight: 600; }
table.matrix th .model { display: block; font-weight: normal; color: #57606a; font-size: 12px; }
td.pass { background: ${COLORS.pass.bg}; color: ${COLORS.pass.fg}; }
td.fail { background: ${COLORS.fail.bg}; color: ${COLORS.fail.fg}; }
td.unsupported { background: ${COLORS.unsupported.bg}; color: ${COLORS.unsupported.fg}; }
td.none { color: ${COLORS.none.fg}; }
td.cell a { color: inherit; }
.failure { border: 1px solid #d0d7de; border-left: 6px solid ${COLORS.fail.fg}; padding: 10px 14px; margin: 12px 0; }
.failure dl { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 0 0 8px; }
.failure dt { font-weight: 600; }
.failure dd { margin: 0; }
pre.message { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; border: 1px solid #d0d7de; padding: 8px; margin: 0 0 8px; }
table.observed td pre { margin: 0; white-space: pre-wrap; }
.error { border-left: 6px solid ${COLORS.fail.fg}; padding: 4px 12px; margin: 8px 0; }
footer { margin-top: 32px; color: #57606a; font-size: 12px; }
@media print { .scroll { overflow: visible; } }
`;

/** A column's name: arch[entry model] (+mutant). */
function column(a: ArchReport): string {
  return `${a.arch}[${a.entryModel}]${a.mutant ? `+${a.mutant}` : ''}`;
}

function columnHtml(a: ArchReport): string {
  return `${esc(a.arch)}<span class="model">[${esc(a.entryModel)}]${a.mutant ? ` +${esc(a.mutant)}` : ''}</span>`;
}

/** A value of `observed` as readable text: strings as they are, numbers in decimal (and hex when large), the rest as JSON. */
function valueHtml(v: unknown): string {
  if (typeof v === 'string') return `<code>${esc(v)}</code>`;
  if (typeof v === 'number') {
    const hex = Number.isInteger(v) && Math.abs(v) >= 0x1000 ? ` <span class="mono">(${v < 0 ? '-' : ''}0x${Math.abs(v).toString(16)})</span>` : '';
    return `<code>${esc(v)}</code>${hex}`;
  }
  if (v === null || typeof v === 'boolean') return `<code>${esc(v)}</code>`;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string') && v.some((x) => x.length > 40)) {
    return `<ol>${v.map((x) => `<li><code>${esc(x)}</code></li>`).join('')}</ol>`;
  }
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return `<code>[${esc(v.map((x) => JSON.stringify(x)).join(', '))}]</code>`;
  // a small record of plain values: one "key: value" per line
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => x === null || typeof x !== 'object')) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return '<code>{}</code>';
    return entries.map(([k, x]) => `<code>${esc(k)}: ${esc(typeof x === 'string' ? x : JSON.stringify(x))}</code>`).join('<br>');
  }
  return `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
}

function observedHtml(observed: Record<string, unknown>): string {
  const keys = Object.keys(observed);
  if (keys.length === 0) return '<p>Observed: nothing was recorded before the failure.</p>';
  const rows = keys.map((k) => `<tr><th scope="row"><code>${esc(k)}</code></th><td>${valueHtml(observed[k])}</td></tr>`).join('\n');
  return `<table class="observed"><caption class="sr">Observed values</caption><thead><tr><th scope="col">observed</th><th scope="col">value</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function metaRows(meta: RunMeta): string[] {
  const rows: Array<[string, string]> = [
    ['commit', meta.commit ? `<code>${esc(meta.commit)}</code>` : 'unknown (not a git checkout)'],
    ['branch', meta.branch ? `<code>${esc(meta.branch)}</code>` : 'unknown'],
    ['generated', esc(meta.generatedAt)],
    ['Node.js', esc(meta.node)],
    ['Unicorn', meta.tools.unicorn ? esc(meta.tools.unicorn) : 'unknown'],
  ];
  for (const [arch, asm] of Object.entries(meta.tools.assemblers)) rows.push([`assembler (${esc(arch)})`, esc(asm)]);
  return rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`);
}

function metaHtml(report: Report): string {
  const m = report.meta;
  if (!m) return '<p>No run metadata in this report.</p>';
  let out = `<table class="meta"><tbody>\n${metaRows(m).join('\n')}\n</tbody></table>`;
  if (m.inputs?.length) {
    out += `\n<h3>Merged from ${m.inputs.length} report${m.inputs.length === 1 ? '' : 's'}</h3>\n<table class="inputs"><thead><tr><th scope="col">file</th><th scope="col">commit</th><th scope="col">branch</th><th scope="col">generated</th><th scope="col">arches</th></tr></thead><tbody>\n`;
    out += m.inputs
      .map(
        (i) =>
          `<tr><td><code>${esc(i.file)}</code></td><td>${i.meta?.commit ? `<code>${esc(i.meta.commit)}</code>` : 'unknown'}</td><td>${esc(i.meta?.branch ?? 'unknown')}</td><td>${esc(i.meta?.generatedAt ?? 'unknown')}</td><td>${esc(i.arches.join(', '))}</td></tr>`,
      )
      .join('\n');
    out += '\n</tbody></table>';
  }
  return out;
}

/** The contract a failure names ("C6: ...") or, failing that, the scenario's contracts. */
function failureContract(s: ScenarioReport, info: ScenarioInfo | undefined): string {
  const named = /^(C\d+):/.exec(s.message)?.[1];
  if (named) return named;
  return info?.contracts.length ? info.contracts.join(', ') : 'unknown';
}

/** The whole page. `title` defaults to "archkit conformance". */
export function renderHtml(input: Report, title = 'archkit conformance'): string {
  // what the JSON report would say (bigints as numbers or "0x..." strings, typed arrays as arrays)
  const report = JSON.parse(toJson(input)) as Report;
  const catalogue = scenarioCatalogue(report);
  const info = new Map(catalogue.map((s) => [s.id, s] as const));
  const groups = new Map<string, ScenarioInfo[]>();
  for (const s of catalogue) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  const arches = report.arches;
  const byArch = arches.map((a) => new Map(a.scenarios.map((s) => [s.id, s] as const)));

  // failures get anchors the matrix cells link to
  const failures: Array<{ a: ArchReport; s: ScenarioReport; anchor: string }> = [];
  const anchorOf = new Map<string, string>();
  arches.forEach((a, ai) =>
    a.scenarios.forEach((s) => {
      if (s.status !== 'fail') return;
      const anchor = `fail-${failures.length + 1}`;
      failures.push({ a, s, anchor });
      anchorOf.set(`${ai}\0${s.id}`, anchor);
    }),
  );

  const body: string[] = [];
  const sum = report.summary;
  body.push(`<header><h1>${esc(title)}</h1>`);
  body.push(
    `<p class="summary"><span class="n-pass">${sum.pass} passed</span>, ${sum.fail ? `<span class="n-fail">${sum.fail} failed</span>` : '0 failed'}, ${sum.unsupported} unsupported` +
      (report.errors?.length ? `; <span class="n-fail">${report.errors.length} arch${report.errors.length === 1 ? '' : 'es'} could not run</span>` : '') +
      ` (${arches.length} arch column${arches.length === 1 ? '' : 's'} x ${catalogue.length} scenario${catalogue.length === 1 ? '' : 's'})</p></header>`,
  );

  body.push('<section id="run"><h2>Run</h2>', metaHtml(report), '</section>');

  body.push('<section id="matrix"><h2>Matrix</h2>');
  if (arches.length === 0) body.push('<p>No arch ran.</p>');
  else {
    body.push('<div class="scroll"><table class="matrix">');
    body.push(`<thead><tr><th scope="col">scenario</th>${arches.map((a) => `<th scope="col">${columnHtml(a)}</th>`).join('')}</tr></thead>`);
    for (const [group, ss] of groups) {
      body.push(`<tbody><tr class="group"><th scope="colgroup" colspan="${arches.length + 1}">${esc(group)} (${ss.length})</th></tr>`);
      for (const s of ss) {
        const cells = arches.map((a, ai) => {
          const r = byArch[ai]!.get(s.id);
          if (!r) return '<td class="cell none">not run</td>';
          const tip = r.message ? ` title="${esc(r.message.split('\n')[0])}"` : '';
          const anchor = anchorOf.get(`${ai}\0${s.id}`);
          const label = anchor ? `<a href="#${anchor}">${LABEL[r.status]}</a>` : LABEL[r.status];
          return `<td class="cell ${r.status}"${tip}>${label}</td>`;
        });
        const t = s.title ? ` title="${esc(s.title)}"` : '';
        body.push(`<tr><th scope="row" class="scenario"${t}><code>${esc(s.id)}</code></th>${cells.join('')}</tr>`);
      }
      body.push('</tbody>');
    }
    body.push('</table></div>');
  }
  body.push('</section>');

  if (failures.length) {
    body.push(`<section id="failures"><h2>Failures (${failures.length})</h2>`);
    for (const { a, s, anchor } of failures) {
      const i = info.get(s.id);
      body.push(`<article class="failure" id="${anchor}">`);
      body.push(`<h3>FAIL ${esc(column(a))} <code>${esc(s.id)}</code></h3>`);
      body.push('<dl>');
      body.push(`<dt>arch</dt><dd>${esc(a.arch)} (entry model ${esc(a.entryModel)}; ${esc(a.emulator)}; ${esc(a.assembler)})</dd>`);
      body.push(`<dt>scenario</dt><dd><code>${esc(s.id)}</code>${i?.title ? `: ${esc(i.title)}` : ''}</dd>`);
      body.push(`<dt>contract</dt><dd>${esc(failureContract(s, i))}${i?.contracts.length ? ` (the scenario checks ${esc(i.contracts.join(', '))})` : ''}</dd>`);
      body.push(`<dt>origin</dt><dd>${esc(ORIGIN[s.origin ?? 'contract'] ?? s.origin)}</dd>`);
      body.push(`<dt>guest instructions</dt><dd>${esc(s.guestInstructions)} in ${esc(s.ms)} ms</dd>`);
      body.push('</dl>');
      body.push(`<pre class="message">${esc(s.message || '(no message)')}</pre>`);
      body.push(observedHtml(s.observed ?? {}));
      body.push('</article>');
    }
    body.push('</section>');
  }

  const unsup = arches.flatMap((a) => a.scenarios.filter((s) => s.status === 'unsupported').map((s) => ({ a, s })));
  if (unsup.length) {
    body.push(`<section id="unsupported"><h2>Unsupported (${unsup.length})</h2>`);
    body.push('<table class="unsupported"><thead><tr><th scope="col">arch</th><th scope="col">scenario</th><th scope="col">reason</th></tr></thead><tbody>');
    for (const { a, s } of unsup) body.push(`<tr><td>${esc(column(a))}</td><td><code>${esc(s.id)}</code></td><td>${esc(s.message || '(no reason given)')}</td></tr>`);
    body.push('</tbody></table></section>');
  }

  if (report.errors?.length) {
    body.push(`<section id="errors"><h2>Arches that could not run (${report.errors.length})</h2>`);
    for (const e of report.errors) body.push(`<div class="error"><h3>${esc(e.arch)}</h3><pre class="message">${esc(e.message)}</pre></div>`);
    body.push('</section>');
  }

  body.push(`<footer>${esc(summaryLine(sum))}. Written by archkit; this page needs no script and loads nothing.</footer>`);

  const pageTitle = `${title}: ${summaryLine(sum)}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // nothing may be fetched: not even by a hostile message
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${esc(pageTitle)}</title>`,
    `<style>${CSS}.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
