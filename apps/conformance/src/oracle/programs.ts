// The oracle's C programs (apps/conformance/oracle/*.c), what they are for, and what the
// real kernel cannot be asked.
//
// Each program's leading `//` comment lines carry directives for the runner:
//   // oracle-scenario: <scenario id>        a program for that scenario
//   // oracle-aliases: <id> [<id>...]         other kit ids it answers for (renamed scenarios)
//   // oracle-helper: <name>                  not a scenario: a binary other programs run
//   // oracle-needs: <helper> [<helper>...]   helpers whose paths it gets as argv[1..]
//   // oracle-cflags: <flags>                 extra gcc flags
// The other leading comment lines say what the program does.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/conformance/oracle: the C sources. */
export const ORACLE_SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../oracle');

/** Raised for what stops the oracle as a whole (no compiler, no -m32 support, a malformed program). */
export class OracleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OracleError';
  }
}

export interface OracleProgram {
  /** the scenario id, or the helper's name */
  id: string;
  kind: 'scenario' | 'helper';
  /** absolute path of the .c file */
  file: string;
  source: string;
  aliases: string[];
  needs: string[];
  cflags: string[];
  /** the program's own description (its leading comment lines without the directives) */
  description: string;
}

export interface OracleSources {
  dir: string;
  scenarios: OracleProgram[];
  helpers: Map<string, OracleProgram>;
  /** the shared headers (*.h), name -> text; part of every program's cache key */
  headers: Map<string, string>;
}

const DIRECTIVE = /^\/\/\s*oracle-([a-z]+):\s*(.*)$/;

export function parseProgram(file: string, source: string): OracleProgram {
  const lines = source.split(/\r?\n/);
  const d: Record<string, string> = {};
  const desc: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('//')) break;
    const m = DIRECTIVE.exec(line.trim());
    if (m) {
      const key = m[1]!;
      if (!['scenario', 'aliases', 'helper', 'needs', 'cflags'].includes(key)) {
        throw new OracleError(`${file}: unknown directive "oracle-${key}" (known: oracle-scenario, oracle-aliases, oracle-helper, oracle-needs, oracle-cflags)`);
      }
      d[key] = m[2]!.trim();
    } else {
      desc.push(line.replace(/^\/\/ ?/, ''));
    }
  }
  const words = (v?: string) => (v ? v.split(/\s+/).filter(Boolean) : []);
  if (d.scenario && d.helper) throw new OracleError(`${file}: both oracle-scenario and oracle-helper; a file is one or the other`);
  const id = d.scenario ?? d.helper;
  if (!id) throw new OracleError(`${file}: no "// oracle-scenario: <id>" (or "// oracle-helper: <name>") line at the top`);
  return {
    id,
    kind: d.scenario ? 'scenario' : 'helper',
    file,
    source,
    aliases: words(d.aliases),
    needs: words(d.needs),
    cflags: words(d.cflags),
    description: desc.join('\n').trim(),
  };
}

/** Reads every *.c and *.h of dir. */
export function loadSources(dir: string = ORACLE_SOURCE_DIR): OracleSources {
  if (!existsSync(dir)) throw new OracleError(`${dir}: no such directory (the oracle's C programs live in apps/conformance/oracle)`);
  const names = readdirSync(dir).sort();
  const headers = new Map<string, string>();
  const scenarios: OracleProgram[] = [];
  const helpers = new Map<string, OracleProgram>();
  const seen = new Map<string, string>();
  for (const n of names) {
    const file = join(dir, n);
    if (n.endsWith('.h')) headers.set(n, readFileSync(file, 'utf8'));
    if (!n.endsWith('.c')) continue;
    const p = parseProgram(file, readFileSync(file, 'utf8'));
    for (const id of [p.id, ...p.aliases]) {
      const other = seen.get(id);
      if (other) throw new OracleError(`${file}: "${id}" is already answered by ${other}`);
      seen.set(id, basename(file));
    }
    if (p.kind === 'helper') helpers.set(p.id, p);
    else scenarios.push(p);
  }
  for (const p of scenarios)
    for (const h of p.needs)
      if (!helpers.has(h)) throw new OracleError(`${p.file}: oracle-needs names "${h}", but no program says "// oracle-helper: ${h}"`);
  return { dir, scenarios, helpers, headers };
}

/**
 * Scenarios no user-space program can reproduce on a real kernel, with the reason. Matched
 * against kit scenario ids: an exact id, or `group.*`.
 */
export const NOT_COMPARABLE: Array<{ pattern: string; reason: string }> = [
  { pattern: 'kthread.*', reason: 'kernel threads and kernel_execve run in kernel mode: no user program can start one or watch it' },
  { pattern: 'work.*', reason: 'the exit work flags (NEED_RESCHED, NOTIFY_RESUME, the work masks) are kernel-internal: user space can neither set nor see them' },
  { pattern: 'regs.*', reason: 'current_pt_regs() / task_pt_regs() are kernel addresses: user space cannot see them' },
  { pattern: 'fork.idle-zero-regs', reason: 'fork_idle makes each CPU\'s idle task at boot: user space cannot make or inspect one' },
  { pattern: 'irq.*', reason: 'the kit injects an interrupt at chosen instructions, kernel ones included: a real CPU cannot be made to' },
  { pattern: 'restart.no-double-restart', reason: 'its second signal arrives inside the exit work loop, after the restart was decided and before the return to user mode: user space cannot time that on a real kernel (restart.two-handlers-one-restart is the part it can)' },
  { pattern: 'unwind.*', reason: 'the pt_regs frame markers and the in-kernel unwinder are kernel-internal' },
];

export function notComparableReason(id: string): string | undefined {
  for (const n of NOT_COMPARABLE) {
    if (n.pattern === id) return n.reason;
    if (n.pattern.endsWith('.*') && id.startsWith(n.pattern.slice(0, -1))) return n.reason;
  }
  return undefined;
}

/**
 * Observed fields whose values depend on the machine, not on the contract: pids (compared
 * as "a pid", i.e. > 0) and user addresses (layout differs: not compared). Keys are field
 * paths as compareWithReport flattens them (`ret.parent`, `args.1`).
 */
export const FIELD_KINDS: Record<string, Record<string, 'pid' | 'address'>> = {
  'restart.nointr-handler': { ret: 'pid' },
  'fork.child-returns-zero': { 'ret.parent': 'pid' },
  'fork.vfork': { ret: 'pid' },
  'fork.clone-newsp-tls': { ret: 'pid', childSp: 'address' },
  'fork.signal-during-fork': { ret: 'pid' },
  'ptrace.entry-modify-args': { 'args.1': 'address' },
};
