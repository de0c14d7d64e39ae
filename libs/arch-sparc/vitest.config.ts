import { defineConfig } from 'vitest/config';
import { archkitAlias } from '../../vitest.shared.ts';

export default defineConfig({
  resolve: { alias: archkitAlias },
  test: { name: 'arch-sparc', include: ['test/**/*.test.ts'], setupFiles: ['../../libs/generic-core/src/testing/register-ts.ts'] },
});
