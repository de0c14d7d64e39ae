import { defineConfig } from 'vitest/config';
import { archkitAlias } from '../../vitest.shared.ts';

export default defineConfig({
  resolve: { alias: archkitAlias },
  test: { name: 'generators', include: ['test/**/*.test.ts'] },
});
