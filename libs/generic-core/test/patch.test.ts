import { describe, expect, it } from 'vitest';
import { applyMutant, applyPatch, parseMutant, PatchError } from '../src/mutants/patch.ts';

const ENTRY = [
  'entry_SYSCALL_64:',
  '  swapgs',
  '  mov qword ptr gs:[riz*1 + 16], rsp',
  '  push rax',
  '  call qword ptr [rax*8 + sys_call_table]',
  '  mov qword ptr [rsp + PT_AX], rax',
  'exit_loop:',
  '  cli',
  '  test dword ptr [rcx + TI_FLAGS], _TIF_WORK_MASK',
  '  jnz work_pending',
  '  iretq',
  'work_pending:',
  '  sti',
  '  call do_work_pending',
  '  jmp exit_loop',
  '',
].join('\n');

const PATCH = `# mutant: irqs-on-exit
# contract: C5
# description: the exit path enables interrupts before
#   returning to user mode
# seed: 2012 arm irq bug
--- a/libs/arch-x86_64/src/entry.S
+++ b/libs/arch-x86_64/src/entry.S
@@ -7,5 +7,5 @@ exit_loop:
 exit_loop:
-  cli
+  sti
   test dword ptr [rcx + TI_FLAGS], _TIF_WORK_MASK
   jnz work_pending
   iretq
@@ -14,2 +14,3 @@ work_pending:
   call do_work_pending
+  nop
   jmp exit_loop
`;

const FILE = 'libs/arch-x86_64/mutants/irqs-on-exit.patch';

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PatchError);
    return e as PatchError;
  }
  throw new Error('expected a PatchError');
}

describe('mutant patches', () => {
  it('parses the header and the hunks', () => {
    const m = parseMutant(PATCH, FILE);
    expect(m.id).toBe('irqs-on-exit');
    expect(m.contract).toBe('C5');
    expect(m.description).toBe('the exit path enables interrupts before returning to user mode');
    expect(m.meta['seed']).toBe('2012 arm irq bug');
    expect(m.patches).toHaveLength(1);
    expect(m.patches[0]!.path).toBe('libs/arch-x86_64/src/entry.S');
    const [h1, h2] = m.patches[0]!.hunks;
    expect(h1).toMatchObject({ index: 1, oldStart: 7, oldCount: 5, newStart: 7, newCount: 5 });
    expect(h1!.lines[1]).toEqual({ kind: '-', text: '  cli' });
    expect(h2).toMatchObject({ index: 2, oldStart: 14, oldCount: 2, newCount: 3 });
  });

  it('applies at the stated lines', () => {
    const m = parseMutant(PATCH, FILE);
    const out = applyPatch(ENTRY, m.patches[0]!.hunks, FILE);
    const lines = out.split('\n');
    expect(lines[7]).toBe('  sti');
    expect(lines[14]).toBe('  nop');
    expect(lines.length).toBe(ENTRY.split('\n').length + 1);
    expect(out.endsWith('  jmp exit_loop\n')).toBe(true);
  });

  it('finds hunks whose line numbers drifted', () => {
    const drifted = '// a new header comment\n// and another\n' + ENTRY;
    const m = parseMutant(PATCH, FILE);
    const out = applyPatch(drifted, m.patches[0]!.hunks, FILE);
    expect(out.split('\n')[9]).toBe('  sti');
    expect(out.split('\n')[16]).toBe('  nop');
  });

  it('applyMutant reads and patches each file', () => {
    const m = parseMutant(PATCH, FILE);
    const out = applyMutant(m, (p) => {
      expect(p).toBe('libs/arch-x86_64/src/entry.S');
      return ENTRY;
    });
    expect(out.get('libs/arch-x86_64/src/entry.S')).toContain('  sti\n  test dword');
  });

  it('context mismatch names the file and the hunk', () => {
    const m = parseMutant(PATCH, FILE);
    const changed = ENTRY.replace('  jnz work_pending', '  jne work_pending');
    const e = patchError(() => applyPatch(changed, m.patches[0]!.hunks, 'irqs-on-exit.patch -> entry.S'));
    expect(e.hunk).toBe(1);
    expect(e.message).toBe(
      'irqs-on-exit.patch -> entry.S: hunk #1: @@ -7,5 +7,5 @@: context does not match anywhere in the file; ' +
        'at line 10 expected "  jnz work_pending", found "  jne work_pending"',
    );
  });

  it('ambiguous context is an error', () => {
    const text = 'a\nx\nb\nc\nx\nb\n';
    const m = parseMutant('# mutant: m\n# contract: C1\n# description: d\n--- a/f\n+++ b/f\n@@ -9,2 +9,2 @@\n x\n-b\n+B\n', 'm.patch');
    const e = patchError(() => applyPatch(text, m.patches[0]!.hunks, 'f'));
    expect(e.message).toMatch(/^f: hunk #1: .*matches in 2 places \(lines 2, 5\)/);
    // at the stated line it is not ambiguous
    const m2 = parseMutant('# mutant: m\n# contract: C1\n# description: d\n--- a/f\n+++ b/f\n@@ -5,2 +5,2 @@\n x\n-b\n+B\n', 'm.patch');
    expect(applyPatch(text, m2.patches[0]!.hunks, 'f')).toBe('a\nx\nb\nc\nx\nB\n');
  });

  it('no newline at end of file', () => {
    const m = parseMutant(
      '# mutant: m\n# contract: C1\n# description: d\n--- a/f\n+++ b/f\n@@ -2,1 +2,1 @@\n-b\n\\ No newline at end of file\n+B\n\\ No newline at end of file\n',
      'm.patch',
    );
    expect(applyPatch('a\nb', m.patches[0]!.hunks, 'f')).toBe('a\nB');
  });

  it('malformed mutant files', () => {
    expect(patchError(() => parseMutant('# mutant: x\n# contract: C1\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n', 'x.patch')).message).toBe(
      "x.patch: header line '# description: ...' is missing",
    );
    expect(patchError(() => parseMutant('# mutant: y\n# contract: C1\n# description: d\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n', 'x.patch')).message).toBe(
      "x.patch: '# mutant: y' does not match the file name (x.patch)",
    );
    const e = patchError(() =>
      parseMutant('# mutant: x\n# contract: C1\n# description: d\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-a\n+b\n', 'x.patch'),
    );
    expect(e.message).toMatch(/^x\.patch:6: hunk #1: @@ -1,3 \+1,3 @@: header counts -3 \+3 but the body has 1 old and 1 new lines/);
    expect(patchError(() => parseMutant('# mutant: x\n# contract: C1\n# description: d\n', 'x.patch')).message).toBe(
      'x.patch: no diff found after the header',
    );
  });
});
