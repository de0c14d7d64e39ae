import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'arch-m68k', include: ['test/**/*.test.ts'], setupFiles: ['@archkit/generic-core/testing/register-ts'] },
});
