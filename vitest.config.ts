import { defineConfig } from 'vitest/config';
import { archkitAlias } from './vitest.shared.ts';

// One project over the whole workspace (each lib's own vitest.config.ts runs it alone):
// every source file is transformed once, every module loaded once per worker (isolate:
// false: the suites keep no global state between files) and both cores of a 2-core
// machine run test files (Vitest's default leaves one idle).
export default defineConfig({
  resolve: { alias: archkitAlias },
  test: {
    include: ['libs/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts'],
    // a mutant's patched module is imported natively: tsx's loader takes its TypeScript imports
    setupFiles: ['libs/generic-core/src/testing/register-ts.ts'],
    isolate: false,
    maxWorkers: 2,
  },
});
