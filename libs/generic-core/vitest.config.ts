import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'generic-core', include: ['test/**/*.test.ts'] },
});
