#!/usr/bin/env node
// Compares two archkit JSON reports apart from what legitimately differs between runs and
// runtimes: `meta` (commit, time, node version, tools) and every timing field (`ms`, and
// any key ending in `Ms` or named `wallMs`/`durationMs`). Prints one line; exit 1 on a
// difference (the first few differing paths are listed on stderr), 2 on a usage error.
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: compare-reports.mjs A.json B.json');
  process.exit(2);
}
const load = (f) => JSON.parse(readFileSync(f, 'utf8'));
const isTiming = (k) => k === 'ms' || /Ms$/.test(k) || k === 'seconds';
function strip(v) {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (!isTiming(k)) o[k] = strip(x);
    return o;
  }
  return v;
}
const ra = load(a), rb = load(b);
delete ra.meta;
delete rb.meta;
const sa = strip(ra), sb = strip(rb);
const diffs = [];
function walk(x, y, path) {
  if (diffs.length >= 10) return;
  if (typeof x !== typeof y || Array.isArray(x) !== Array.isArray(y) || (x === null) !== (y === null)) {
    diffs.push(`${path}: ${JSON.stringify(x)?.slice(0, 80)} vs ${JSON.stringify(y)?.slice(0, 80)}`);
  } else if (x && typeof x === 'object') {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) walk(x[k], y[k], `${path}${Array.isArray(x) ? `[${k}]` : `.${k}`}`);
  } else if (x !== y) diffs.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
}
walk(sa, sb, '$');
const n = (r) => r.arches?.reduce((s, x) => s + (x.scenarios?.length ?? 0), 0) ?? 0;
if (diffs.length) {
  for (const d of diffs) console.error(`  ${d}`);
  console.log(`reports differ (${diffs.length >= 10 ? '10+' : diffs.length} differences apart from meta and timings): ${a} vs ${b}`);
  process.exit(1);
}
console.log(`reports identical apart from meta and timings: ${ra.arches?.length ?? 0} arches, ${n(ra)} scenario results, summary ${JSON.stringify(ra.summary)}`);
