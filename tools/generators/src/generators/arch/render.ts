// Rendering the templates (files/): Handlebars, not Nx's EJS, so the generator speaks the
// same template language as the libs' own src/user.hbs. A template's output path is its
// path under its folder without ".hbs", "__name__" replaced by the arch name.
//
//   files/scaffolding/  what every arch lib has, identical up to the facts in arch.json (and
//                       the lib's own version): rendered for a new lib and by --regenerate;
//                       the regeneration test renders every lib's and compares byte for byte
//   files/new/          a new lib's starting versions of the files a human then owns
//                       (README, src/, test/<name>.test.ts, CHANGELOG.md)
//   files/arch.json.hbs the starting arch.json made from the options
//   files/changeset.md.hbs

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

/** The templates folder (the generator's sources, under Nx's transpiler or Vitest). */
export const TEMPLATES = fileURLToPath(new URL('./files/', import.meta.url));

/** `{ "a": 1, "b": [2, 3] }` on one line, as the repository's arch.json files write small objects. */
export function inlineJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inlineJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${inlineJson(x)}`).join(', ')} }` : '{}';
  }
  return JSON.stringify(v);
}

const scalarOrList = (x: unknown) => typeof x !== 'object' || x === null || (Array.isArray(x) && x.every((y) => typeof y !== 'object' || y === null));

/**
 * A value of arch.json in the repository's layout, at `indent`: small objects and lists of
 * scalars inline, lists of objects (frame fields) one per line, larger objects one key per line.
 */
export function jsonBlock(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    // lists of names inline (registers), of sentences (notes) or objects (frame fields) one per line
    if (v.every((x) => (typeof x !== 'object' || x === null) && String(x).length <= 40)) return inlineJson(v);
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => `${indent}  ${inlineJson(x)}`).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.every(([, x]) => scalarOrList(x)) && inlineJson(v).length <= 100) return inlineJson(v);
    return `{\n${entries.map(([k, x]) => `${indent}  ${JSON.stringify(k)}: ${jsonBlock(x, `${indent}  `)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

const hb = Handlebars.create();
hb.registerHelper('json', (v: unknown) => inlineJson(v));
hb.registerHelper('block', (v: unknown) => jsonBlock(v, '  '));
hb.registerHelper('hex', (v: number | bigint) => `0x${v.toString(16)}`);
/** Bytes as TypeScript: `Uint8Array.from([0x13, 0x00])`. */
hb.registerHelper('bytes', (v: number[]) => `Uint8Array.from([${v.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}])`);
hb.registerHelper('join', (v: unknown[], sep: unknown) => v.join(typeof sep === 'string' ? sep : ', '));
hb.registerHelper('quoted', (v: unknown[]) => v.map((x) => `'${String(x)}'`).join(', '));
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
/** A single-quoted TypeScript string literal of the (optional) prefix and the text. */
hb.registerHelper('q', (text: unknown, prefix: unknown) => `'${`${typeof prefix === 'string' ? prefix : ''}${String(text)}`.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** One template (a path under files/) rendered with `context`. */
export function renderFile(template: string, context: object): string {
  let t = compiled.get(template);
  if (!t) {
    t = hb.compile(readFileSync(join(TEMPLATES, template), 'utf8'), { noEscape: true, strict: true });
    compiled.set(template, t);
  }
  return t(context);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.hbs') ? [join(dir, e.name)] : []))
    .sort();
}

/** Every template of a folder under files/, rendered: output path (relative, "/"-separated) -> text. */
export function renderFolder(folder: string, context: { name: string }): Map<string, string> {
  const root = join(TEMPLATES, folder);
  const out = new Map<string, string>();
  for (const file of walk(root)) {
    const rel = relative(root, file).split(sep).join('/');
    out.set(rel.slice(0, -'.hbs'.length).replace(/__name__/g, context.name), renderFile(`${folder}/${rel}`, context));
  }
  return out;
}
