// `nx g @archkit/generators:arch <name>`: a new arch porting kit, libs/arch-<name>.
//
// Renders the lib from the templates in files/ driven by its descriptor (made from the
// options, or --descriptor after the strict parser accepted it): the scaffolding every lib
// shares, arch.json, README.md with the arch's status, the src/ files with the arch's facts
// and a TODO (a todo() call) wherever a human writes glue or a hook, test/<name>.test.ts next
// to the shared contract suite, CHANGELOG.md and a changeset. Hooks with a generic default
// (contracts/port.ts) are left to it. Then the lib is wired in: a dependency of the
// conformance app (so `nx affected -t conformance` picks it up) and `npm install` (the
// workspace link), which Nx runs after writing the files and never under --dry-run.
//
// --regenerate re-renders only the scaffolding of an existing lib from its arch.json.

import { execFileSync } from 'node:child_process';
import { logger, updateJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import type { ArchDescriptor } from '@archkit/generic-core/contracts/descriptor';
import { makeAbi } from '@archkit/generic-core/kernel/abi';
import { checkName, existingArchModel, newArchModel, GeneratorError, type ArchModel, type NewArchModel } from './model.ts';
import { renderFile, renderFolder } from './render.ts';
import type { ArchGeneratorSchema } from './schema.ts';

export { GeneratorError } from './model.ts';
export type { ArchGeneratorSchema } from './schema.ts';

/** The app whose package.json lists every arch lib as a dependency. */
export const CONFORMANCE_PACKAGE = 'apps/conformance/package.json';

/** The scaffolding files of a lib, rendered: path relative to the lib -> text. */
export function renderScaffolding(model: Pick<ArchModel, 'name' | 'version' | 'coreVersion' | 'emulator' | 'assembler'>): Map<string, string> {
  return renderFolder('scaffolding', model);
}

export default async function archGenerator(tree: Tree, options: ArchGeneratorSchema): Promise<GeneratorCallback | void> {
  if (options.regenerate) {
    const model = existingArchModel(tree, checkName(options.name));
    for (const [path, text] of renderScaffolding(model)) tree.write(`${model.dir}/${path}`, text);
    return;
  }
  const model = newArchModel(tree, options);
  const ctx = newContext(model);
  for (const [path, text] of renderScaffolding(model)) tree.write(`${model.dir}/${path}`, text);
  tree.write(`${model.dir}/arch.json`, model.archJson);
  for (const [path, text] of renderFolder('new', ctx)) tree.write(`${model.dir}/${path}`, text);
  tree.write(`.changeset/arch-${model.name}.md`, renderFile('changeset.md.hbs', ctx));
  addConformanceDependency(tree, model);
  if (options.skipInstall) return;
  return () => {
    logger.info(`archkit: npm install --no-audit --no-fund (links ${model.packageName} into the workspace)`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: tree.root, stdio: 'inherit' });
  };
}

/**
 * "@archkit/arch-<name>": "<version>" among the conformance app's arch libs, which are its
 * optional peer dependencies (a consumer installs the CLI and the arches it wants; in the
 * workspace the entry puts the lib in the conformance app's project graph), in name order.
 */
export function addConformanceDependency(tree: Tree, model: Pick<ArchModel, 'packageName' | 'version'>): void {
  if (!tree.exists(CONFORMANCE_PACKAGE)) {
    logger.warn(`archkit: ${CONFORMANCE_PACKAGE} not found: add "${model.packageName}": "${model.version}" to the conformance app's peerDependencies by hand`);
    return;
  }
  updateJson(tree, CONFORMANCE_PACKAGE, (pkg: Record<string, unknown>) => {
    const peers = (pkg['peerDependencies'] ?? {}) as Record<string, string>;
    if (peers[model.packageName] !== undefined) return pkg;
    const meta = (pkg['peerDependenciesMeta'] ?? {}) as Record<string, { optional?: boolean }>;
    const sortByName = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    pkg['peerDependencies'] = sortByName({ ...peers, [model.packageName]: model.version });
    pkg['peerDependenciesMeta'] = sortByName({ ...meta, [model.packageName]: { optional: true } });
    return pkg;
  });
}

// ---------------------------------------------------------------------------- what the starting files say

interface Label {
  role: string;
  label: string;
  todo: string;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const list = (xs: readonly string[]) => xs.join(', ');

/** What entry.S must do at each label arch.json names. */
function labelTodo(d: ArchDescriptor, role: string): string {
  const cc = d.callingConvention;
  const sf = d.switchFrame;
  const where = sf.location === 'thread' ? `prev + TASK_THREAD${sf.offset ? ` + ${sf.offset}` : ''}` : 'the kernel stack just below pt_regs (thread.sp points at it)';
  switch (role) {
    case 'switchTo':
      return `switch_to(prev, next) -> prev: save the callee-saved registers (${list(d.registers.calleeSaved)}), sp and the return address in the switch frame at ${where}, load next's, return prev in ${cc.ret}`;
    case 'retFromFork':
      return `where copy_thread makes a new task wake (its first switch_to returns here, prev in ${cc.ret}): call schedule_tail(prev); a kernel thread (fn in ${d.kthread.fn} non-zero) calls fn(${d.kthread.arg}); then the syscall exit path to user mode with this task's pt_regs (interrupts off, work loop, restore, return to user)`;
    case 'copyToUser':
      return `copy_to_user(to, from, n) -> bytes not copied, a loop with interrupts on (the irq scenarios interrupt it and check its registers survive)`;
    case 'vectors':
      return `what the CPU model vectors a trap from user mode to (src/cpu.ts boot): save every user register in pt_regs at the top of the kernel stack (PT_* offsets; PCPU_TOP_OF_STACK), the syscall marker, interrupts on, the C entry (src/entry.ts), then the return to user mode (interrupts off, nothing but pt_regs on the stack)`;
    case 'vdsoRtSigreturn':
      return `the sigreturn trampoline a signal handler returns to (setup_rt_frame puts its address where the handler's return goes): __NR_rt_sigreturn (${d.syscall.numbers['rt_sigreturn']}) in ${d.syscall.nr}, then the system call instruction`;
    default:
      if (role.startsWith('sys_')) return `the asm stub arch.json puts in sys_call_table for ${role.slice(4)} (symbols.${role})`;
      if (role.startsWith('vdso')) return `a vDSO routine (symbols.${role})`;
      return `the label arch.json names as symbols.${role}`;
  }
}

/** The C functions entry.S calls, per entry model, each a todo() with what it does. */
function entryFunctions(d: ArchDescriptor, model: string): Array<{ name: string; params: string; todo: string }> {
  const irq = { name: 'do_irq', params: 'regs', todo: 'do_irq(regs): an interrupt: k.irqentryEnter(regs), k.handleIrq(regs), yield* k.irqentryExit(regs, state)' };
  const trap = { name: 'do_trap', params: 'regs', todo: `do_trap(regs): an exception from user mode (an illegal or privileged instruction, a fault): k.forceSig(the signal) for current, then the way out to user mode with the work done` };
  const sc = d.syscall;
  if (model === 'generic-entry') {
    return [
      { name: 'do_syscall', params: 'regs', todo: `do_syscall(regs) (GENERIC_ENTRY): the syscall marker in pt_regs, nr = yield* k.syscallEnterFromUserMode(regs, nr from ${sc.nr}), yield* k.invokeSyscall(regs, nr) when 0 <= nr < NR_syscalls, yield* k.syscallExitToUserMode(regs); entered and left with interrupts off` },
      trap,
      irq,
    ];
  }
  if (model === 'arch') {
    return [
      { name: 'do_syscall', params: 'regs', todo: `do_syscall(regs): the syscall marker, tracing (k.ptraceReportSyscallEntry), the call through sys_call_table (k.invokeSyscall) and its result in ${sc.ret}` },
      { name: 'do_notify_resume', params: 'regs, thread_flags', todo: 'do_notify_resume(regs, thread_flags): the arch\'s own exit work loop: schedule, signals (yield* k.archDoSignalOrRestart(regs): the restart rewinds the pc), notify-resume' },
      trap,
      irq,
    ];
  }
  // do-work-pending: the core provides do_work_pending, syscall_trace_enter/exit; the glue dispatches the syscall
  return [trap, irq];
}

/** Everything the files/new templates read. */
export function newContext(m: NewArchModel): Record<string, unknown> & { name: string } {
  const d = m.descriptor;
  const f = m.family;
  const asm = d.assembler;
  // one entry per label (two roles may name the same one: sparc64's retFromFork and retFromForkKernel)
  const byLabel = new Map<string, string[]>();
  for (const [role, label] of Object.entries(d.symbols)) byLabel.set(label, [...(byLabel.get(label) ?? []), role]);
  const labels: Label[] = [...byLabel].map(([label, roles]) => ({ role: roles.join(', symbols.'), label, todo: roles.map((r) => labelTodo(d, r)).join('; ') }));
  const vdsoRole = (l: Label) => l.role.split(', symbols.').some((r) => r.startsWith('vdso')) || l.label === '__kernel_rt_sigreturn';
  const restartTrampoline = d.syscall.restartBlockTrampoline;
  const vdso = labels.filter(vdsoRole);
  if (restartTrampoline && !vdso.some((l) => l.label === restartTrampoline)) {
    vdso.push({ role: 'syscall.restartBlockTrampoline', label: restartTrampoline, todo: 'the handler-less ERESTART_RESTARTBLOCK restart re-enters the kernel here (syscall.restartBlockTrampoline)' });
  }
  const kernel = labels.filter((l) => !vdsoRole(l) && !['__vdso_start', '__vdso_end'].includes(l.label));
  const nr = d.syscall.numbers;
  const regs = [...new Set([...d.registers.user, d.registers.sp, ...d.registers.extra, ...(d.registers.tls ? [d.registers.tls] : []), ...(d.registers.userSp ? [d.registers.userSp] : [])])].filter((r) => r !== d.registers.pc);
  const sf = d.switchFrame;
  const model = d.entry.model;
  const flags = asm.flags?.length ? ` ${asm.flags.join(' ')}` : '';
  return {
    ...m,
    d,
    title: d.title,
    bits: d.wordSize * 8,
    asmText: `${asm.backend} (${asm.target}${flags})`,
    generatedWith: `nx g @archkit/generators:arch ${m.name}${m.descriptorFile ? ` --descriptor ${m.descriptorFile}` : ''}`,
    kernelLabels: kernel,
    vdsoLabels: vdso.length ? vdso : [{ role: 'vdsoRtSigreturn', label: '__kernel_rt_sigreturn', todo: labelTodo(d, 'vdsoRtSigreturn') }],
    rtSigreturnNr: nr['rt_sigreturn'],
    restartSyscallNr: nr['restart_syscall'],
    registers: regs,
    unicornMode: f.unicorn.mode.map(([name]) => name).join(' | '),
    memory: Object.fromEntries(Object.entries(d.memory).map(([k, v]) => [k, hex(v)])),
    ptRegsNames: d.ptRegs.fields.map((x) => x.name),
    switchFrameWhere: sf.location === 'thread' ? `in the thread struct at TASK_THREAD + ${sf.offset}` : 'on the kernel stack just below pt_regs',
    switchFrameSlots: sf.fields.map((x) => (x.reg ? `${x.name}` : `${x.name} (no register)`)),
    errorConvention: d.syscall.error.convention === 'negative' ? `-errno in ${d.syscall.ret}` : `+errno in ${d.syscall.ret} with the error flag ${d.syscall.error.flag}${d.syscall.error.bit !== undefined ? ` bit ${d.syscall.error.bit}` : ''}`,
    entryModel: model,
    models: d.entry.offers.map((em) => ({ model: em, functions: entryFunctions(d, em) })),
    workMask: Object.entries(d.workMasks).map(([k, v]) => `${k} = ${v.join(' | ')}`),
    hasTls: d.registers.tls !== undefined,
    cloneTlsArg: d.syscall.cloneTlsArg,
    sigaction: makeAbi(d.wordSize, d.abi).sigaction,
    restorer: d.abi.libcRestorer ? 'libc passes a restorer (SA_RESTORER)' : 'no SA_RESTORER: the handler returns through the vDSO trampoline',
  };
}
