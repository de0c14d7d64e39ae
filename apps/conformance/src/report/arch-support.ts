// `--arch-support DIR`: one file per scenario group in the layout of the kernel's
// Documentation/features/*/*/arch-support.txt, so the matrix reads like the kernel's own
// feature lists (and DIR can sit beside them: DIR/<group>/arch-support.txt).
//
//   #
//   # Feature name:          restart
//   #         Kconfig:       C6
//   #         description:   arch restarts interrupted syscalls as Linux does ...
//   #
//       -----------------------
//       |         arch |status|
//       -----------------------
//       |       arm64: |  ok  |
//       |      x86_64: | TODO |
//       -----------------------
//
// A group is "ok" on an arch when every scenario of it that ran there passed, "N/A" when all
// were unsupported, and "TODO" otherwise (one failed, or some are unsupported: the port
// still has work to do there). An arch that could not run at all is TODO everywhere.

import type { Report, ScenarioInfo, Status } from '../types.ts';
import { byContract, scenarioCatalogue } from './json.ts';
import { archLabel } from './matrix.ts';

/** What each scenario group checks, as a feature description (the kernel's one-line style). */
export const GROUP_DESCRIPTIONS: Record<string, string> = {
  kthread: 'arch starts kernel threads and kernel_execve()s to user mode the generic way (GENERIC_KERNEL_THREAD, GENERIC_KERNEL_EXECVE)',
  fork: 'arch copies a task for fork/vfork/clone so that the child returns 0 to user mode with the parent\'s registers (copy_thread, ret_from_fork)',
  execve: 'arch starts a new program from user mode with clean registers (start_thread)',
  regs: 'arch entry code hands the generic kernel the task\'s own pt_regs (current_pt_regs())',
  work: 'arch returns to user mode through the generic work loop, interrupts off, every work flag handled (do_work_pending / exit_to_user_mode)',
  restart: 'arch restarts interrupted syscalls as Linux does (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK)',
  signal: 'arch builds and restores signal frames (setup_rt_frame, rt_sigreturn)',
  ptrace: 'arch stops at syscall entry and exit for a tracer that may change or skip the syscall',
  irq: 'arch takes interrupts at any instruction without user mode seeing a difference',
  rseq: 'arch aborts restartable sequences on preemption and signal delivery',
  unwind: 'arch leaves pt_regs frames an unwinder can walk',
};

/** The kernel's cells: `|  ok  |`, `| TODO |`, `|  N/A |`. */
export type Support = 'ok' | 'TODO' | 'N/A';
const CELL: Record<Support, string> = { ok: '  ok  ', TODO: ' TODO ', 'N/A': '  N/A ' };

/** A group's status on one arch from the statuses of its scenarios there (none ran: undefined). */
export function groupSupport(statuses: Status[]): Support | undefined {
  if (statuses.length === 0) return undefined;
  if (statuses.every((s) => s === 'pass')) return 'ok';
  if (statuses.every((s) => s === 'unsupported')) return 'N/A';
  return 'TODO';
}

/** One arch-support.txt in the kernel's layout; arch names up to 12 characters keep its exact widths. */
export function renderFeature(feature: { name: string; kconfig: string; description: string }, rows: Array<[string, Support]>): string {
  // the kernel's `printf "    |%12s: |  ok  |\n"`; longer arch names widen the column for every row
  const w = Math.max(12, ...rows.map(([arch]) => arch.length));
  const rule = `    ${'-'.repeat(w + 11)}`;
  const sorted = [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  return [
    '#',
    `# Feature name:          ${oneLine(feature.name)}`,
    `#         Kconfig:       ${oneLine(feature.kconfig)}`,
    `#         description:   ${oneLine(feature.description)}`,
    '#',
    rule,
    `    |${'arch'.padStart(w + 1)} |status|`,
    rule,
    ...sorted.map(([arch, st]) => `    |${`${arch}:`.padStart(w + 1)} |${CELL[st]}|`),
    rule,
    '',
  ].join('\n');
}

/** The files of `--arch-support DIR`: "<group>/arch-support.txt" -> text, groups in catalogue order. */
export function archSupportFiles(report: Report, known: ScenarioInfo[] = []): Map<string, string> {
  const catalogue = scenarioCatalogue(report, known);
  const groups = new Map<string, ScenarioInfo[]>();
  for (const s of catalogue) {
    const g = groups.get(s.group) ?? [];
    g.push(s);
    groups.set(s.group, g);
  }
  const files = new Map<string, string>();
  for (const [group, infos] of groups) {
    const ids = new Set(infos.map((s) => s.id));
    const rows: Array<[string, Support]> = [];
    for (const a of report.arches) {
      const st = groupSupport(a.scenarios.filter((s) => ids.has(s.id)).map((s) => s.status));
      if (st) rows.push([archLabel(report, a), st]);
    }
    for (const e of report.errors ?? []) rows.push([e.arch, 'TODO']);
    const contracts = [...new Set(infos.flatMap((s) => s.contracts))].sort(byContract);
    const what = GROUP_DESCRIPTIONS[group] ?? `arch passes the archkit ${group} scenarios`;
    const description = `${what}; archkit scenarios: ${infos.map((s) => s.id).join(', ')}`;
    files.set(`${group}/arch-support.txt`, renderFeature({ name: group, kconfig: contracts.join(' ') || '-', description }, rows));
  }
  return files;
}
