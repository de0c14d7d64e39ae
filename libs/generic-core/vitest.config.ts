import { defineConfig } from 'vitest/config';
import { archkitAlias } from '../../vitest.shared.ts';

export default defineConfig({
  resolve: { alias: archkitAlias },
  test: { name: 'generic-core', include: ['test/**/*.test.ts'] },
});
