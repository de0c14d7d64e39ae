import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'arch-i386', include: ['test/**/*.test.ts'], setupFiles: ['@archkit/generic-core/testing/register-ts'] },
});
