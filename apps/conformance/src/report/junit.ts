// JUnit XML reporter: one <testsuite> per arch, one <testcase> per scenario,
// <failure> for fail, <skipped> for unsupported.

import { writeFileSync } from 'node:fs';
import type { ArchError, ArchReport, Report } from '../types.ts';
import { ensureParentDir } from './output.ts';

// Characters XML 1.0 does not allow at all (C0 controls other than tab, LF, CR; lone surrogates; U+FFFE/F).
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text content. */
export function xmlText(s: string): string {
  return s
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Escapes an attribute value (double-quoted); newlines and tabs survive as character references. */
export function xmlAttr(s: string): string {
  return xmlText(s)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function secs(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function suite(a: ArchReport): string {
  const name = a.mutant ? `${a.arch} (mutant ${a.mutant})` : a.arch;
  const failures = a.scenarios.filter((s) => s.status === 'fail').length;
  const skipped = a.scenarios.filter((s) => s.status === 'unsupported').length;
  const time = a.scenarios.reduce((t, s) => t + s.ms, 0);
  const out: string[] = [];
  out.push(
    `  <testsuite name="${xmlAttr(name)}" tests="${a.scenarios.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(time)}">`,
  );
  out.push('    <properties>');
  out.push(`      <property name="emulator" value="${xmlAttr(a.emulator)}"/>`);
  out.push(`      <property name="assembler" value="${xmlAttr(a.assembler)}"/>`);
  out.push('    </properties>');
  for (const s of a.scenarios) {
    const group = s.id.includes('.') ? s.id.slice(0, s.id.indexOf('.')) : s.id;
    const open = `    <testcase classname="${xmlAttr(`${a.arch}.${group}`)}" name="${xmlAttr(s.id)}" time="${secs(s.ms)}"`;
    if (s.status === 'pass') {
      out.push(`${open}/>`);
    } else if (s.status === 'fail') {
      const first = s.message.split('\n')[0] ?? '';
      out.push(`${open}>`);
      out.push(`      <failure message="${xmlAttr(first)}" type="conformance">${xmlText(s.message)}</failure>`);
      out.push('    </testcase>');
    } else {
      out.push(`${open}>`);
      out.push(`      <skipped message="${xmlAttr(s.message)}"/>`);
      out.push('    </testcase>');
    }
  }
  out.push('  </testsuite>');
  return out.join('\n');
}

/** An arch that could not run: a suite with one errored test case naming the problem. */
function errorSuite(e: ArchError): string {
  const first = e.message.split('\n')[0] ?? '';
  return [
    `  <testsuite name="${xmlAttr(e.arch)}" tests="1" failures="0" errors="1" skipped="0" time="0.000">`,
    `    <testcase classname="${xmlAttr(e.arch)}" name="load ${xmlAttr(e.arch)}" time="0.000">`,
    `      <error message="${xmlAttr(first)}" type="load">${xmlText(e.message)}</error>`,
    '    </testcase>',
    '  </testsuite>',
  ].join('\n');
}

export function renderJUnit(report: Report, name = 'archkit conformance'): string {
  const all = report.arches.flatMap((a) => a.scenarios);
  const time = all.reduce((t, s) => t + s.ms, 0);
  const errors = report.errors ?? [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlAttr(name)}" tests="${all.length + errors.length}" failures="${report.summary.fail}" errors="${errors.length}" skipped="${report.summary.unsupported}" time="${secs(time)}">`,
    ...report.arches.map(suite),
    ...errors.map(errorSuite),
    '</testsuites>',
    '',
  ].join('\n');
}

export function writeJUnitReport(file: string, report: Report): void {
  ensureParentDir(file, 'junit');
  writeFileSync(file, renderJUnit(report));
}
