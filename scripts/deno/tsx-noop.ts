// Under Deno the import map sends `tsx/esm/api` here. Deno runs TypeScript natively and
// resolves @archkit/* to the sources through deno.json's import map, so the TypeScript
// loader that the Node entry points (bin/archkit.js, src/worker-ts.mjs) register is not
// needed; registering tsx's hooks in Deno breaks native addons (koffi's .node file is then
// compiled as JavaScript in worker threads).
export function register(_options?: unknown): () => Promise<void> {
  return async () => {};
}
export function tsImport(specifier: string, parent: string | { parentURL: string }): Promise<unknown> {
  const base = typeof parent === 'string' ? parent : parent.parentURL;
  return import(new URL(specifier, base).href);
}
