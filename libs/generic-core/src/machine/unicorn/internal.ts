// Functions the Unicorn library exports beyond its API: QEMU's own target code, suffixed
// with the target name (qemu_get_cpu_sparc64, sparc_cpu_do_interrupt_sparc64, ...), and
// raw access to the host memory they hand back. Added for sparc64, whose privileged state
// (PSTATE, TL, the trap registers) Unicorn 2.0.1 reaches through no register id and no
// uc_context. Unversioned and unsupported by Unicorn: a CPU model using them checks at
// start-up that they exist and that its calibration finds the state it patches, and
// refuses to run otherwise.
import koffi from 'koffi';
import { loadUnicorn } from './ffi.ts';

// koffi's function objects are untyped callables.
type Fn = (...args: unknown[]) => any;

const fns = new Map<string, Fn | null>();
let lib: ReturnType<typeof koffi.load> | undefined;
let libPath: string | undefined;

/**
 * A function of the loaded libunicorn.so.2 by its C declaration (koffi syntax), or null
 * when this build does not export it.
 */
export function unicornInternal(decl: string): Fn | null {
  const path = loadUnicorn().path;
  if (!lib || libPath !== path) {
    lib = koffi.load(path);
    libPath = path;
    fns.clear();
  }
  if (fns.has(decl)) return fns.get(decl)!;
  let f: Fn | null;
  try {
    f = lib.func(decl) as Fn;
  } catch {
    f = null;
  }
  fns.set(decl, f);
  return f;
}

/** The host address of a pointer an internal function returned. */
export function hostAddress(p: unknown): bigint {
  return BigInt(koffi.address(p as never));
}

/** `len` bytes of host memory at pointer `p`, read and written in place. */
export function hostView(p: unknown, len: number): DataView {
  const ab = koffi.view(p as never, len);
  return new DataView(ab);
}

/** A pointer to host address `addr`, to pass where an internal function takes one. */
export function hostPointer(addr: bigint): unknown {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(addr);
  return koffi.decode(b, koffi.pointer('void'));
}
