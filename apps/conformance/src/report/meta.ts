// Report metadata: the commit and branch a run was made from, when, with which Node, and the
// versions of the emulator and of each arch's assembler.

import { execFileSync } from 'node:child_process';
import type { ArchReport, RunMeta, ToolVersions } from '../types.ts';

/** How long `git rev-parse` may take before the commit is reported unknown. */
export const GIT_TIMEOUT_MS = 5000;

/**
 * The commit and branch of the git checkout at `cwd` (null outside one, on a detached HEAD,
 * or when git is missing or slow). GITHUB_SHA and GITHUB_REF_NAME override them (CI).
 */
export function gitInfo(cwd: string, env: Record<string, string | undefined>, timeoutMs = GIT_TIMEOUT_MS): { commit: string | null; branch: string | null } {
  let commit: string | null = env['GITHUB_SHA'] || null;
  let branch: string | null = env['GITHUB_REF_NAME'] || null;
  if (commit && branch) return { commit, branch };
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD'], {
      cwd,
      timeout: timeoutMs,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      // never prompt, never take a lock
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' },
    });
    const [sha, ref] = out.trim().split('\n').map((l) => l.trim());
    if (!commit && sha && /^[0-9a-f]{7,64}$/.test(sha)) commit = sha;
    if (!branch && ref && ref !== 'HEAD') branch = ref;
  } catch {
    /* not a checkout, no git, or too slow: leave them unknown */
  }
  return { commit, branch };
}

/** Unicorn's version (from the arch reports' emulator names, "unicorn 2.0.1") and each arch's assembler. */
export function toolVersions(arches: ArchReport[]): ToolVersions {
  const unicorn = [...new Set(arches.map((a) => /^unicorn (\d\S*)/.exec(a.emulator)?.[1]).filter((v): v is string => v !== undefined))];
  const assemblers: Record<string, string> = {};
  for (const a of arches) assemblers[a.arch] ??= a.assembler;
  return { unicorn: unicorn.length ? unicorn.join(', ') : null, assemblers };
}

/** The time a report is made: now, or SOURCE_DATE_EPOCH (seconds) for reproducible output. */
export function reportTime(env: Record<string, string | undefined>): string {
  const sde = env['SOURCE_DATE_EPOCH'];
  if (sde && /^\d+$/.test(sde)) return new Date(Number(sde) * 1000).toISOString();
  return new Date().toISOString();
}

export function runMeta(arches: ArchReport[], cwd: string, env: Record<string, string | undefined>): RunMeta {
  return { ...gitInfo(cwd, env), generatedAt: reportTime(env), node: process.version, tools: toolVersions(arches) };
}
