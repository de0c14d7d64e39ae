// Report shapes (read by other tools: keep stable) and the runner seam the CLI uses.

export type Status = 'pass' | 'fail' | 'unsupported';

export interface ScenarioReport {
  id: string;
  status: Status;
  /** what failed (naming the contract and what was seen), or why unsupported; "" on pass */
  message: string;
  /** what user mode saw, arch-neutral: ret, handlers, syscallEntries, ... */
  observed: Record<string, unknown>;
  guestInstructions: number;
  ms: number;
}

export interface ArchReport {
  arch: string;
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
  /** C1..C11 */
  contracts: string[];
  title: string;
}

export interface MutantInfo {
  id: string;
  contract: string;
  description: string;
  file: string;
}

export interface ArchInfo {
  arch: string;
  title: string;
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
    opts: { mutant?: string; onResult?: (r: ScenarioReport) => void },
  ): Promise<ArchReport>;
}
