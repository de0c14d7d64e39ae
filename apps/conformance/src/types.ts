// Report shapes (read by other tools: keep stable) and the runner seam the CLI uses.

import type { EntryModel } from '@archkit/generic-core/contracts/descriptor';

export type Status = 'pass' | 'fail' | 'unsupported';

/**
 * Where a failure comes from: the port broke a contract (`contract`: a scenario's check;
 * `kernel-check`: a check of the port's work inside the kernel; `guest`: its code faulted or
 * ran away), or the kit itself failed (`core`).
 */
export type FailureOrigin = 'contract' | 'kernel-check' | 'guest' | 'core';

export interface ScenarioReport {
  id: string;
  status: Status;
  /** what failed (naming the contract and what was seen), or why unsupported; "" on pass */
  message: string;
  /** set on failures */
  origin?: FailureOrigin;
  /** what user mode saw, arch-neutral: ret, handlers, syscallEntries, ... */
  observed: Record<string, unknown>;
  guestInstructions: number;
  ms: number;
}

export interface ArchReport {
  arch: string;
  /** the entry model the port ran (SPEC C5) */
  entryModel: string;
  emulator: string;
  assembler: string;
  /** set when `archkit mutants` ran this report against a mutant */
  mutant?: string;
  scenarios: ScenarioReport[];
}

/** Versions of the tools a run used. */
export interface ToolVersions {
  /** the Unicorn library, e.g. "2.0.1" (null when no arch ran on it) */
  unicorn: string | null;
  /** per arch: the assembler and its version, e.g. "GNU as 2.40 (mips-linux-gnu -EB -32)" */
  assemblers: Record<string, string>;
}

/** Where and with what a report was made. */
export interface RunMeta {
  /** `git rev-parse HEAD` of the working directory (GITHUB_SHA overrides); null outside a checkout */
  commit: string | null;
  /** the current branch (GITHUB_REF_NAME overrides); null on a detached HEAD or outside a checkout */
  branch: string | null;
  /** ISO 8601 time the report was written */
  generatedAt: string;
  /** Node.js version, e.g. "v20.20.2" */
  node: string;
  tools: ToolVersions;
}

/** A merged report's meta: its own (commit/branch only where every input agrees) and each input's. */
export interface ReportMeta extends RunMeta {
  /** set by `archkit merge`: each input file, its meta (when it had one) and the arch columns it gave */
  inputs?: Array<{ file: string; meta: ReportMeta | null; arches: string[] }>;
}

/** An arch that could not run at all (e.g. its arch.json is malformed). */
export interface ArchError {
  arch: string;
  /** one paragraph naming the file (and line:column) and what is wrong */
  message: string;
}

export interface Report {
  /** set by the CLI (always in `--json` output); optional for reports built elsewhere */
  meta?: ReportMeta;
  arches: ArchReport[];
  summary: { pass: number; fail: number; unsupported: number };
  /** arches that were selected but could not run; absent when there are none */
  errors?: ArchError[];
  /** group, contracts and title of each scenario in the report, in catalogue order */
  scenarios?: ScenarioInfo[];
}

export interface ScenarioInfo {
  id: string;
  /** kthread | fork | execve | regs | work | restart | signal | ptrace | rseq | unwind */
  group: string;
  /** C1..C12 */
  contracts: string[];
  title: string;
}

export interface MutantInfo {
  id: string;
  contract: string;
  description: string;
  file: string;
  /** entry models where the change is a bug (undefined: every model) */
  models?: string[];
}

export interface ArchInfo {
  arch: string;
  title: string;
  /** the Linux release its arch.json describes (absent when the lib cannot be loaded) */
  linux?: string;
  /** the entry model the arch's Linux uses, and every model the port offers */
  entryModel: string;
  entryModels: string[];
  emulator: string;
  assembler: string;
  mutants: MutantInfo[];
  /**
   * Set when the arch cannot be loaded (malformed arch.json, a bad mutant file, ...): one
   * paragraph naming the file and line:column. The other fields are then placeholders
   * ("unknown", no entry models, no mutants) and the arch cannot run.
   */
  error?: string;
}

/** Implemented in src/runner.ts. */
export interface Runner {
  listArches(): Promise<ArchInfo[]>;
  listScenarios(): ScenarioInfo[];
  /** Runs the scenarios (ids) on one arch, optionally with a mutant applied. Calls onResult after each. */
  runArch(
    arch: string,
    scenarioIds: string[],
    opts: { mutant?: string; entryModel?: EntryModel; onResult?: (r: ScenarioReport) => void; sweep?: (id: string) => boolean },
  ): Promise<ArchReport>;
}
