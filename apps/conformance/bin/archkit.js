#!/usr/bin/env node
// The `archkit` command. An installed package runs its built JavaScript (dist/). In a source
// checkout of the repository (the package still has its tsconfig.json) it runs the built
// JavaScript too when every workspace package's dist/ is at least as new as its sources
// (after `npm run build`: it starts ~0.15 s sooner), else the TypeScript sources through
// tsx, with the workspace's @archkit/* packages resolved to their sources by the root
// tsconfig's paths, whatever the working directory. ARCHKIT_FROM_SOURCES=1 always takes
// the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = new URL('..', import.meta.url);
const root = fileURLToPath(new URL('../..', pkg));
const rootTsconfig = join(root, 'tsconfig.json');

/** Every src/**\/*.ts of the workspace's libs and apps has a dist/**\/*.js as new as it. */
function builtIsFresh() {
  for (const group of ['libs', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      const src = join(root, group, name, 'src');
      if (!existsSync(src)) continue;
      const dist = join(root, group, name, 'dist');
      const walk = (rel) => {
        for (const e of readdirSync(join(src, rel), { withFileTypes: true })) {
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) {
            if (!walk(r)) return false;
          } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
            let built;
            try {
              built = statSync(join(dist, r.slice(0, -3) + '.js')).mtimeMs;
            } catch {
              return false;
            }
            if (built < statSync(join(src, r)).mtimeMs) return false;
          }
        }
        return true;
      };
      if (!walk('')) return false;
    }
  }
  return true;
}

let cli;
const checkout = existsSync(new URL('tsconfig.json', pkg)) && existsSync(new URL('src/cli.ts', pkg)) && existsSync(rootTsconfig);
if (checkout && (process.env.ARCHKIT_FROM_SOURCES === '1' || !builtIsFresh())) {
  // worker threads and child processes find it in the environment
  process.env.TSX_TSCONFIG_PATH ??= rootTsconfig;
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: process.env.TSX_TSCONFIG_PATH });
  cli = await import('../src/cli.ts');
} else {
  cli = await import('../dist/cli.js');
}
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
});
cli.exitAfterFlush(await cli.main(process.argv.slice(2)));
