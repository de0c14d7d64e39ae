// asm-offsets: the constants entry code needs (PT_* pt_regs offsets, TI_FLAGS, _TIF_*
// masks, __NR_* numbers) rendered as assembler symbol definitions, one per line, to be
// passed as `AsmSource.prelude`.
//
// Syntax: `.equ NAME, value` on every arch. Keystone 0.9.2 accepts `.set`, `.equ` and
// `NAME = value` on x86, arm and arm64 alike (checked; see test/asm.test.ts); `.equ` is
// also what GNU as accepts on every target, including MIPS, where `.set` is the
// assembler-options directive (`.set noreorder`). Values are written in hex, negative
// values as `-N` (the assembler makes them two's complement at the operand's width, so
// `.equ NO_SYSCALL, -1` then `.quad NO_SYSCALL` gives 0xffffffffffffffff).

/** Symbol names the assemblers accept (GNU as / LLVM MC identifier rules). */
export const ASM_IDENT = /^[A-Za-z_.$][A-Za-z0-9_.$]*$/;

function formatValue(name: string, value: number | bigint): string {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`asm constant ${name}: ${String(value)} is not an integer`);
    }
    v = BigInt(value);
  }
  if (v < -(1n << 63n) || v >= 1n << 64n) {
    throw new RangeError(`asm constant ${name}: ${v} does not fit in 64 bits`);
  }
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** One constant definition line, e.g. `.equ PT_ORIG_AX, 0x78`. */
export function constantLine(name: string, value: number | bigint): string {
  if (!ASM_IDENT.test(name)) throw new RangeError(`asm constant name ${JSON.stringify(name)} is not a valid symbol`);
  return `.equ ${name}, ${formatValue(name, value)}`;
}

/** The asm-offsets prelude: one definition per line, in the given key order, newline terminated. */
export function asmOffsetsPrelude(constants: Record<string, number | bigint>): string {
  return Object.entries(constants)
    .map(([name, value]) => constantLine(name, value) + '\n')
    .join('');
}
