#!/usr/bin/env node
// The arches a change affects, as a JSON array of arch names on stdout (for a CI matrix).
// `nx show projects --affected` (base/head from NX_BASE/NX_HEAD or --base/--head, default
// main..HEAD): the affected projects tagged scope:arch, or every scope:arch project when the
// change touches libs/generic-core or apps/conformance (the generic kernel and the runner
// touch every arch; root files nx counts as shared inputs make every project affected).
// Usage: node scripts/affected-arches.mjs [--base REF] [--head REF] [--all]
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const base = opt('--base') ?? process.env.NX_BASE;
const head = opt('--head') ?? process.env.NX_HEAD;
const nx = (...a) =>
  JSON.parse(
    execFileSync('npx', ['--no-install', 'nx', 'show', 'projects', '--json', ...a], {
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 180_000,
    }),
  );
const range = [...(base ? [`--base=${base}`] : []), ...(head ? [`--head=${head}`] : [])];
const archProjects = nx('--projects', 'tag:scope:arch');
let selected;
if (args.includes('--all')) selected = archProjects;
else {
  const affected = new Set(nx('--affected', ...range));
  // conformance depends on every arch package, so it is affected by any arch change: only a
  // change to its own files (or to generic-core, which every arch depends on) selects all
  const touched = execFileSync('git', ['diff', '--name-only', `${base ?? 'main'}...${head ?? 'HEAD'}`], { encoding: 'utf8', timeout: 60_000 }).split('\n');
  const core = touched.some((f) => f.startsWith('apps/conformance/') || f.startsWith('libs/generic-core/'));
  selected = core ? archProjects : archProjects.filter((p) => affected.has(p));
}
const arches = selected.map((p) => p.replace(/^arch-/, '')).sort();
console.error(`affected arches (${base ?? 'default base'}..${head ?? 'HEAD'}): ${arches.join(', ') || 'none'}`);
console.log(JSON.stringify(arches));
