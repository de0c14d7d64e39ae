// Bug-zoo mutants: unified diffs against an arch port's own files, kept as
// libs/arch-<name>/mutants/<id>.patch with a header of `# key: value` lines:
//
//   # mutant: double-restart
//   # contract: C6
//   # models: arch            (optional: the entry models where the change is a bug; default all)
//   # description: the restart path rewinds the pc a second time
//   #   (continuation lines start with "#" and are indented)
//   --- a/libs/arch-x86_64/src/entry.S
//   +++ b/libs/arch-x86_64/src/entry.S
//   @@ -40,7 +40,7 @@ label
//    context
//   -old line
//   +new line
//
// Hunks apply with exact context; when the stated line numbers drifted the hunk is
// searched for in the whole file and must match in exactly one place.

export interface HunkLine {
  kind: ' ' | '-' | '+';
  text: string;
}

export interface Hunk {
  /** 1-based hunk number within its file patch (for messages). */
  index: number;
  /** The `@@ ... @@` line as written. */
  header: string;
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: HunkLine[];
  /** "\ No newline at end of file" followed the last new-side line. */
  newNoEol?: boolean;
  /** "\ No newline at end of file" followed the last old-side line. */
  oldNoEol?: boolean;
}

export interface FilePatch {
  /** Target path as written after `+++ b/` (or `--- a/` when the new side is /dev/null). */
  path: string;
  hunks: Hunk[];
}

export interface Mutant {
  id: string;
  contract: string;
  description: string;
  /** The entry models the mutant applies to (a bug in one model can be the right thing in another); undefined: all. */
  models?: string[];
  /** All `# key: value` header entries, including the three above. */
  meta: Record<string, string>;
  patches: FilePatch[];
}

/** A mutant file is malformed or a hunk does not apply. */
export class PatchError extends Error {
  constructor(
    readonly file: string,
    readonly hunk: number | undefined,
    readonly detail: string,
    readonly line?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${hunk !== undefined ? `hunk #${hunk}: ` : ''}${detail}`);
    this.name = 'PatchError';
  }
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function stripPrefix(p: string): string {
  const path = p.split('\t')[0]!.trim();
  return path.replace(/^[ab]\//, '');
}

/** Parses a mutant .patch file; `file` is used in messages (and checked against the id). */
export function parseMutant(text: string, file: string): Mutant {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const meta: Record<string, string> = {};
  let i = 0;
  let lastKey: string | undefined;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('--- ') || l.startsWith('diff ')) break;
    if (l.trim() === '') {
      lastKey = undefined;
      continue;
    }
    const kv = /^#\s*([A-Za-z][\w-]*)\s*:\s?(.*)$/.exec(l);
    if (kv) {
      lastKey = kv[1]!.toLowerCase();
      meta[lastKey] = kv[2]!.trim();
      continue;
    }
    const cont = /^#\s+(.*)$/.exec(l);
    if (cont && lastKey !== undefined) {
      meta[lastKey] = `${meta[lastKey]} ${cont[1]!.trim()}`.trim();
      continue;
    }
    if (l.startsWith('#')) continue; // free comment
    throw new PatchError(file, undefined, `expected '# key: value' header lines before the diff, got ${JSON.stringify(l)}`, i + 1);
  }
  for (const k of ['mutant', 'contract', 'description']) {
    if (!meta[k]) throw new PatchError(file, undefined, `header line '# ${k}: ...' is missing`);
  }
  const id = meta['mutant']!;
  const base = /([^/\\]+)\.patch$/.exec(file)?.[1];
  if (base !== undefined && base !== id) {
    throw new PatchError(file, undefined, `'# mutant: ${id}' does not match the file name (${base}.patch)`);
  }

  const patches: FilePatch[] = [];
  let cur: FilePatch | undefined;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.startsWith('diff ') || l.startsWith('index ') || l.startsWith('new file') || l.startsWith('deleted file')) {
      i++;
      continue;
    }
    if (l.startsWith('--- ')) {
      const next = lines[i + 1];
      if (next === undefined || !next.startsWith('+++ ')) {
        throw new PatchError(file, undefined, "'---' line not followed by a '+++' line", i + 1);
      }
      const oldPath = stripPrefix(l.slice(4));
      const newPath = stripPrefix(next.slice(4));
      if (newPath === '/dev/null' || oldPath === '/dev/null') {
        throw new PatchError(file, undefined, 'creating or deleting files is not supported in mutants', i + 1);
      }
      cur = { path: newPath, hunks: [] };
      patches.push(cur);
      i += 2;
      continue;
    }
    const hm = HUNK_RE.exec(l);
    if (hm) {
      if (cur === undefined) throw new PatchError(file, undefined, "hunk before any '---'/'+++' file header", i + 1);
      const hunk: Hunk = {
        index: cur.hunks.length + 1,
        header: l,
        oldStart: Number(hm[1]),
        oldCount: hm[2] === undefined ? 1 : Number(hm[2]),
        newStart: Number(hm[3]),
        newCount: hm[4] === undefined ? 1 : Number(hm[4]),
        lines: [],
      };
      const headerLine = i + 1;
      i++;
      let oldSeen = 0;
      let newSeen = 0;
      while (i < lines.length && (oldSeen < hunk.oldCount || newSeen < hunk.newCount || lines[i]!.startsWith('\\'))) {
        const b = lines[i]!;
        if (b.startsWith('\\')) {
          // "\ No newline at end of file": applies to the line just before.
          const prev = hunk.lines[hunk.lines.length - 1];
          if (prev && prev.kind !== '-') hunk.newNoEol = true;
          if (prev && prev.kind !== '+') hunk.oldNoEol = true;
          i++;
          continue;
        }
        const kind = b === '' ? ' ' : b[0];
        if (kind !== ' ' && kind !== '-' && kind !== '+') break;
        hunk.lines.push({ kind, text: b.slice(1) });
        if (kind !== '+') oldSeen++;
        if (kind !== '-') newSeen++;
        i++;
      }
      if (oldSeen !== hunk.oldCount || newSeen !== hunk.newCount) {
        throw new PatchError(
          file,
          hunk.index,
          `${hunk.header}: header counts -${hunk.oldCount} +${hunk.newCount} but the body has ${oldSeen} old and ${newSeen} new lines`,
          headerLine,
        );
      }
      cur.hunks.push(hunk);
      continue;
    }
    if (l.trim() === '') {
      i++;
      continue;
    }
    throw new PatchError(file, undefined, `unexpected line in diff: ${JSON.stringify(l)}`, i + 1);
  }
  if (patches.length === 0) throw new PatchError(file, undefined, 'no diff found after the header');
  for (const p of patches) {
    if (p.hunks.length === 0) throw new PatchError(file, undefined, `no hunks for ${p.path}`);
  }
  return {
    id,
    contract: meta['contract']!,
    description: meta['description']!,
    ...(meta['models'] ? { models: meta['models'].split(/[\s,]+/).filter(Boolean) } : {}),
    meta,
    patches,
  };
}

function matchesAt(lines: string[], at: number, block: string[]): boolean {
  if (at < 0 || at + block.length > lines.length) return false;
  for (let k = 0; k < block.length; k++) if (lines[at + k] !== block[k]) return false;
  return true;
}

/**
 * Applies hunks to `original`; `file` names the target (and, ideally, the patch) in errors.
 * Throws PatchError naming the hunk when its context is not found or is ambiguous.
 */
export function applyPatch(original: string, hunks: Hunk[], file: string): string {
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  let hadFinalEol = original.endsWith('\n');
  const lines = original.split(/\r?\n/);
  if (hadFinalEol) lines.pop();
  let delta = 0; // line shift caused by earlier hunks
  for (const h of hunks) {
    const hunkId = h.header.replace(/^(@@[^@]*@@).*$/, '$1');
    const oldBlock = h.lines.filter((l) => l.kind !== '+').map((l) => l.text);
    const newBlock = h.lines.filter((l) => l.kind !== '-').map((l) => l.text);
    // A hunk with no old lines inserts after line oldStart.
    const expected = (oldBlock.length === 0 ? h.oldStart : h.oldStart - 1) + delta;
    let at: number | undefined;
    if (matchesAt(lines, expected, oldBlock)) at = expected;
    else if (oldBlock.length > 0) {
      const found: number[] = [];
      for (let k = 0; k + oldBlock.length <= lines.length; k++) if (matchesAt(lines, k, oldBlock)) found.push(k);
      if (found.length === 1) at = found[0];
      else if (found.length > 1) {
        throw new PatchError(
          file,
          h.index,
          `${hunkId}: context matches in ${found.length} places (lines ${found.map((f) => f + 1).join(', ')}), none at the stated line ${expected + 1}`,
        );
      } else {
        // Say where the stated position first differs.
        let why = '';
        for (let k = 0; k < oldBlock.length; k++) {
          const got = lines[expected + k];
          if (got !== oldBlock[k]) {
            why =
              got === undefined
                ? `; the file ends before line ${expected + k + 1}`
                : `; at line ${expected + k + 1} expected ${JSON.stringify(oldBlock[k])}, found ${JSON.stringify(got)}`;
            break;
          }
        }
        throw new PatchError(file, h.index, `${hunkId}: context does not match anywhere in the file${why}`);
      }
    }
    if (at === undefined) {
      throw new PatchError(file, h.index, `${hunkId}: insertion point line ${expected} is outside the file (${lines.length} lines)`);
    }
    if (at > lines.length) {
      throw new PatchError(file, h.index, `${hunkId}: insertion point line ${at} is outside the file (${lines.length} lines)`);
    }
    lines.splice(at, oldBlock.length, ...newBlock);
    delta = at - (h.oldStart - 1) + newBlock.length - oldBlock.length;
    if (oldBlock.length === 0) delta = at - h.oldStart + newBlock.length;
    if (at + newBlock.length === lines.length) {
      if (h.newNoEol) hadFinalEol = false;
      else if (h.oldNoEol) hadFinalEol = true;
    }
  }
  return lines.join(eol) + (hadFinalEol ? eol : '');
}

/** Applies every file patch of a mutant; `read` supplies the current text of a path. */
export function applyMutant(m: Mutant, read: (path: string) => string, patchFile = `${m.id}.patch`): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of m.patches) {
    const before = out.get(p.path) ?? read(p.path);
    out.set(p.path, applyPatch(before, p.hunks, `${patchFile} -> ${p.path}`));
  }
  return out;
}
