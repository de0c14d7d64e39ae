#!/usr/bin/env node
// The `archkit` command. An installed package runs its built JavaScript (dist/). In a source
// checkout of the repository (the package still has its tsconfig.json) it runs the built
// JavaScript too when every workspace package's dist/ was built from its sources as they are
// (`npm run build` records their digest; it starts ~0.15 s sooner), else the TypeScript sources through
// tsx, with the workspace's @archkit/* packages resolved to their sources by the root
// tsconfig's paths, whatever the working directory. ARCHKIT_FROM_SOURCES=1 always takes
// the sources.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = new URL('..', import.meta.url);
const root = fileURLToPath(new URL('../..', pkg));
const rootTsconfig = join(root, 'tsconfig.json');

let cli;
const checkout = existsSync(new URL('tsconfig.json', pkg)) && existsSync(new URL('src/cli.ts', pkg)) && existsSync(rootTsconfig);
// (./sources.mjs only in a checkout: the digest of the sources dist/ was built from)
if (checkout && (process.env.ARCHKIT_FROM_SOURCES === '1' || !(await import('./sources.mjs')).builtIsFresh(root))) {
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
