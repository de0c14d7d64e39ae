// What tells the archkit command, in a checkout, whether the built JavaScript is that of the
// sources: a digest of every src/**/*.ts of a package (paths and contents), which
// `npm run build` writes to the package's dist/.sources once the build is done.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 over the package's src/**\/*.ts (not .d.ts), in path order. */
export function sourcesDigest(pkgDir) {
  const h = createHash('sha256');
  const walk = (rel) => {
    const dir = join(pkgDir, 'src', rel);
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) h.update(`${r}\0`).update(readFileSync(join(pkgDir, 'src', r))).update('\0');
    }
  };
  walk('');
  return h.digest('hex');
}

/** The workspace packages that have TypeScript sources (libs/* and apps/*). */
export function sourcePackages(root) {
  return ['libs', 'apps'].flatMap((g) =>
    readdirSync(join(root, g))
      .sort()
      .map((n) => join(root, g, n))
      .filter((d) => existsSync(join(d, 'src'))),
  );
}

/** Every package's dist/.sources matches its sources. */
export function builtIsFresh(root) {
  for (const pkg of sourcePackages(root)) {
    let stamp;
    try {
      stamp = readFileSync(join(pkg, 'dist', '.sources'), 'utf8').trim();
    } catch {
      return false;
    }
    if (stamp !== sourcesDigest(pkg)) return false;
  }
  return true;
}
