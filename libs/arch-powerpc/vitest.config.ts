import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'arch-powerpc', include: ['test/**/*.test.ts'], setupFiles: ['@archkit/generic-core/testing/register-ts'] },
});
