// Report output paths: checked before anything runs, written after.
//
// Every --json / --junit / --html / --arch-support path is checked up front: a run must
// never be lost to a path that cannot be written, and no path may hang the CLI (Node 20's
// `mkdir(..., { recursive: true })` loops forever under /proc). Missing parent directories
// are created one level at a time, with a bound, never recursively. `-` means stdout.

import { accessSync, closeSync, constants, mkdirSync, openSync, realpathSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/** A report path that cannot be used: one line naming the option and the path (exit 2 before a run). */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

/** A single file (`-` allowed: stdout) or a directory of files. */
export type OutputKind = 'file' | 'dir';

export interface OutputSpec {
  /** the option without dashes, e.g. "json" */
  option: string;
  /** the value as given on the command line (named in messages) */
  value: string;
  kind: OutputKind;
}

export interface Output extends OutputSpec {
  /** `-`: written to stdout */
  stdout: boolean;
  /** the absolute path ("" for stdout) */
  path: string;
}

/** At most this many missing directories are created for one path. */
export const MAX_NEW_DIRS = 32;

/** Kernel pseudo-filesystems: nothing a report can be written to, and places where mkdir misbehaves. */
const PSEUDO_FS: Array<[string, string]> = [
  ['/proc', 'the kernel\'s process filesystem'],
  ['/sys', 'the kernel\'s sysfs'],
];

function pseudoFs(path: string): string | undefined {
  for (const [root, what] of PSEUDO_FS) if (path === root || path.startsWith(root + sep)) return `${root} is ${what}, not a place for reports`;
  return undefined;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

const REASON: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
};

function why(e: unknown): string {
  const code = errCode(e);
  return REASON[code] ? `${REASON[code]} (${code})` : code;
}

/** A named pipe nobody reads would block the write forever; says so (undefined when someone reads it). */
function fifoWithoutReader(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    return undefined;
  } catch (e) {
    if (errCode(e) === 'ENXIO') return 'is a named pipe that nobody reads (writing would wait forever)';
    return `cannot open it: ${why(e)}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function statOrUndefined(p: string): Stats | undefined | 'notdir' {
  try {
    return statSync(p);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return 'notdir';
    throw e;
  }
}

/**
 * Checks one path and creates its missing parent directories (for a `dir` output, the
 * directory itself). Throws OutputError with one line: `--<option> <value>: <what is wrong>`.
 */
export function prepareOutput(spec: OutputSpec, cwd: string): Output {
  const { option, value, kind } = spec;
  const fail = (what: string): never => {
    throw new OutputError(`--${option} ${value}: ${what}`);
  };
  if (value === '-') {
    if (kind === 'dir') fail('needs a directory; "-" (stdout) is only for single-file reports');
    return { ...spec, stdout: true, path: '' };
  }
  if (value.includes('\0')) fail('the path contains a NUL byte');
  const path = resolve(cwd, value);
  const pseudo = pseudoFs(path);
  if (pseudo) fail(pseudo);

  // The path itself.
  let st: ReturnType<typeof statOrUndefined>;
  try {
    st = statOrUndefined(path);
  } catch (e) {
    return fail(`cannot look at it: ${why(e)}`);
  }
  if (st && st !== 'notdir') {
    // A symlink into /proc or /sys (e.g. to /proc/sys/...) is refused for files and directories;
    // devices and pipes (/dev/null, /dev/stdout on a pipe resolves to /proc/<pid>/fd/pipe:[n]) are fine.
    if (st.isFile() || st.isDirectory()) {
      let real = path;
      try {
        real = realpathSync(path);
      } catch (e) {
        fail(`cannot resolve it: ${why(e)}`);
      }
      const p2 = pseudoFs(real);
      if (p2) fail(`it leads to ${real}: ${p2}`);
    }
    if (kind === 'file' && st.isDirectory()) fail('is a directory (give a file name)');
    if (st.isBlockDevice()) fail('is a block device, not a place for reports');
    if (st.isSocket()) fail('is a socket');
    if (st.isFIFO()) {
      const why = fifoWithoutReader(path);
      if (why) fail(why);
    }
    if (kind === 'dir' && !st.isDirectory()) fail('exists and is not a directory');
    try {
      accessSync(path, kind === 'dir' ? constants.W_OK | constants.X_OK : constants.W_OK);
    } catch (e) {
      fail(`not writable: ${why(e)}`);
    }
    return { ...spec, stdout: false, path };
  }

  // Missing: find the nearest existing ancestor, then create what lies between, one level at a time.
  const missing: string[] = kind === 'dir' ? [path] : [];
  let dir = dirname(path);
  for (;;) {
    let s: ReturnType<typeof statOrUndefined>;
    try {
      s = statOrUndefined(dir);
    } catch (e) {
      return fail(`cannot look at ${dir}: ${why(e)}`);
    }
    if (s === undefined || s === 'notdir') {
      missing.push(dir);
      if (missing.length > MAX_NEW_DIRS) fail(`more than ${MAX_NEW_DIRS} directories would have to be created`);
      const up = dirname(dir);
      if (up === dir) fail(`no existing directory above it`);
      dir = up;
      continue;
    }
    if (!s.isDirectory()) fail(`${dir} is a file, not a directory`);
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch (e) {
      fail(`cannot resolve ${dir}: ${why(e)}`);
    }
    const p2 = pseudoFs(real);
    if (p2) fail(real === dir ? p2 : `${dir} leads to ${real}: ${p2}`);
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (e) {
      fail(`cannot write in ${dir}: ${why(e)}`);
    }
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if (errCode(e) === 'EEXIST' && statSync(d).isDirectory()) continue; // made meanwhile
      fail(`cannot create the directory ${d}: ${why(e)}`);
    }
  }
  return { ...spec, stdout: false, path };
}

/**
 * Checks every output (and that at most one goes to stdout and no two share a path),
 * creating missing parent directories. Returns them in the order given.
 */
export function prepareOutputs(specs: Array<OutputSpec | undefined>, cwd: string): Output[] {
  const given = specs.filter((s): s is OutputSpec => s !== undefined);
  const toStdout = given.filter((s) => s.value === '-');
  if (toStdout.length > 1) throw new OutputError(`${toStdout.map((s) => `--${s.option} -`).join(' and ')}: only one report can go to stdout`);
  const seen = new Map<string, OutputSpec>();
  for (const s of given) {
    if (s.value === '-') continue;
    const p = resolve(cwd, s.value);
    const other = seen.get(p);
    if (other) throw new OutputError(`--${other.option} ${other.value} and --${s.option} ${s.value}: both would write ${p}`);
    seen.set(p, s);
  }
  return given.map((s) => prepareOutput(s, cwd));
}

/** Writes a single-file output: to `stdout` for `-`, else to its path. Throws OutputError naming the option and path. */
export function writeOutput(out: Output, text: string, stdout: (s: string) => void): void {
  if (out.stdout) {
    stdout(text);
    return;
  }
  // the reader of a named pipe may have gone since the check
  let st: Stats | undefined;
  try {
    st = statSync(out.path);
  } catch {
    /* not there yet: the usual case */
  }
  const fifo = st?.isFIFO() ? fifoWithoutReader(out.path) : undefined;
  if (fifo) throw new OutputError(`--${out.option} ${out.value}: ${fifo}`);
  try {
    writeFileSync(out.path, text);
  } catch (e) {
    throw new OutputError(`--${out.option} ${out.value}: cannot write it: ${why(e)}`);
  }
}

/** Writes the files of a directory output (paths relative to it, `/`-separated, one level of subdirectory at a time). */
export function writeOutputDir(out: Output, files: Map<string, string>): void {
  for (const [rel, text] of files) {
    const parts = rel.split('/');
    let d = out.path;
    try {
      for (const part of parts.slice(0, -1)) {
        d = join(d, part);
        try {
          mkdirSync(d);
        } catch (e) {
          if (!(errCode(e) === 'EEXIST' && statSync(d).isDirectory())) throw e;
        }
      }
      writeFileSync(join(out.path, ...parts), text);
    } catch (e) {
      throw new OutputError(`--${out.option} ${out.value}: cannot write ${rel}: ${why(e)}`);
    }
  }
}

/** Checks `file` and creates its parent directories one level at a time (bounded; never a recursive mkdir). */
export function ensureParentDir(file: string, option = 'json'): void {
  prepareOutput({ option, value: file, kind: 'file' }, process.cwd());
}
