import { defineProject } from 'vitest/config';
import { archkitAlias } from '../../vitest.shared.ts';

export default defineProject({
  resolve: { alias: archkitAlias },
  test: {
    name: 'conformance',
    include: ['test/**/*.test.ts'],
    setupFiles: ['../../libs/generic-core/src/testing/register-ts.ts'],
  },
});
