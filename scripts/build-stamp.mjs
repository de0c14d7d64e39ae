// After `nx run-many -t build`: writes each package's dist/.sources, the digest of the
// sources its dist/ was built from (see apps/conformance/bin/sources.mjs). Run by `npm run build`.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourcePackages, sourcesDigest } from '../apps/conformance/bin/sources.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
let n = 0;
for (const pkg of sourcePackages(root)) {
  if (!existsSync(join(pkg, 'dist'))) {
    process.stderr.write(`build-stamp: ${pkg} has no dist/: not built\n`);
    process.exitCode = 1;
    continue;
  }
  writeFileSync(join(pkg, 'dist', '.sources'), sourcesDigest(pkg) + '\n');
  n++;
}
process.stdout.write(`build-stamp: ${n} packages stamped\n`);
