// What every Vitest project of the workspace shares: the @archkit/* packages resolve to
// their TypeScript sources (a built package resolves to dist/, which tests never need).
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export const archkitAlias = [
  { find: /^@archkit\/generic-core$/, replacement: `${root}libs/generic-core/src/index.ts` },
  { find: /^@archkit\/generic-core\/(.*)$/, replacement: `${root}libs/generic-core/src/$1.ts` },
  { find: /^@archkit\/conformance\/(.*)$/, replacement: `${root}apps/conformance/src/$1.ts` },
  { find: /^@archkit\/arch-([^/]+)$/, replacement: `${root}libs/arch-$1/src/index.ts` },
];
