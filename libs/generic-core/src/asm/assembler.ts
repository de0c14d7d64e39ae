// One assembler interface; backends: keystone-wasm (x86, arm, arm64, mips, ppc, sparc,
// systemz) and, later, GNU as from Debian's cross binutils for the rest.

export interface AsmSource {
  /** Path shown in error messages (e.g. "libs/arch-x86_64/src/entry.S"). */
  file: string;
  text: string;
  /**
   * Lines prepended before `text` (asm-offsets style constants). Error line numbers
   * are reported relative to `text`; errors inside the prelude say "<prelude>".
   */
  prelude?: string;
}

export interface AssembleOptions {
  /** Load address of the first byte. */
  base: bigint;
  /** Symbols defined outside the source (C stub addresses, sys_call_table, ...). */
  externs?: Record<string, bigint>;
  /** Labels whose addresses the caller needs; default: every label defined in the source. */
  exports?: string[];
}

export interface AssembleResult {
  bytes: Uint8Array;
  base: bigint;
  /** label -> absolute address */
  symbols: Map<string, bigint>;
}

export interface Assembler {
  /** e.g. "keystone 0.9.2 (keystone-wasm 1.0.4)" */
  readonly name: string;
  assemble(src: AsmSource, opts: AssembleOptions): AssembleResult;
}

/** Assembly failed; `file` and `line` point at the offending source line. */
export class AsmError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
    readonly sourceLine?: string,
  ) {
    super(
      `${file}${line !== undefined ? `:${line}` : ''}: assembler error: ${detail}` +
        (sourceLine !== undefined ? `\n    ${sourceLine.trim()}` : ''),
    );
    this.name = 'AsmError';
  }
}

/**
 * The assembler backend's tool is not installed: names the binary and the Debian package
 * (with the command) that provides it.
 */
export class AsmToolchainError extends Error {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
    readonly purpose?: string,
  ) {
    super(
      `${tool} not found on PATH: install the Debian package ${debianPackage} (apt-get install ${debianPackage})` +
        (purpose !== undefined ? `; ${purpose}` : ''),
    );
    this.name = 'AsmToolchainError';
  }
}
