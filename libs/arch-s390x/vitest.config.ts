import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'arch-s390x', include: ['test/**/*.test.ts'], setupFiles: ['@archkit/generic-core/testing/register-ts'] },
});
