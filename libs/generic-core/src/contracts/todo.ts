// What a port writer has yet to write. A freshly generated arch lib (tools/generators,
// `nx g @archkit/generators:arch <name>`) loads and runs, and every hook or CPU-model part a
// human must write is `todo('<file> <hook>: <what>')`, which throws NotImplementedError. The
// conformance runner reports it as that scenario's failure, "not yet implemented: <what>",
// and goes on with the next scenario; the contract suite shows it as a failing test.

import type { RegAccess } from '../machine/unicorn/machine.ts';

export class NotImplementedError extends Error {
  constructor(readonly what: string) {
    super(`not yet implemented: ${what}`);
    this.name = 'NotImplementedError';
  }
}

/** Marks a part of a port that is not written yet: throws NotImplementedError("not yet implemented: <what>"). */
export function todo(what: string): never {
  throw new NotImplementedError(what);
}

/**
 * Whether `e` is a todo() (by name, not class: a mutant's module, or a built copy of the
 * core next to the sources, has its own class object).
 */
export function isNotImplemented(e: unknown): e is NotImplementedError {
  return e instanceof Error && e.name === 'NotImplementedError';
}

/**
 * Register accessors for a CPU model's Unicorn register table whose ids are not written yet:
 * reading or writing one is a todo() naming the register and `file`.
 */
export function todoRegisters(names: readonly string[], file = 'src/cpu.ts'): Record<string, RegAccess> {
  const what = (name: string) => `${file} unicorn.registers: how to reach register "${name}" on the emulator (a Unicorn register id, or read/write accessors)`;
  return Object.fromEntries(names.map((n) => [n, { read: () => todo(what(n)), write: () => todo(what(n)) }]));
}
