// The Vitest workspace under Deno (`deno task test`): each lib a project (its own vitest.config.ts),
// with `tsx/esm/api` aliased to a no-op. The suites' setup file registers tsx's loader for
// natively imported modules; under Deno, TypeScript is native and tsx's hooks break native
// addons (koffi's .node file gets compiled as JavaScript).
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const tsxNoop = `${root}scripts/deno/tsx-noop.ts`;
const dirs = ['libs', 'apps', 'tools'].flatMap((d) =>
  readdirSync(`${root}${d}`)
    .sort()
    .map((p) => `${d}/${p}`)
    .filter((p) => existsSync(`${root}${p}/vitest.config.ts`)),
);

export default defineConfig({
  test: {
    projects: dirs.map((p) => ({
      extends: `./${p}/vitest.config.ts`,
      root: `${root}${p}`,
      resolve: { alias: [{ find: /^tsx\/esm\/api$/, replacement: tsxNoop }] },
    })),
  },
});
