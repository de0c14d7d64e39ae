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

export interface Report {
  arches: ArchReport[];
  summary: { pass: number; fail: number; unsupported: number };
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
  /** the entry model the arch's Linux uses, and every model the port offers */
  entryModel: string;
  entryModels: string[];
  emulator: string;
  assembler: string;
  mutants: MutantInfo[];
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
