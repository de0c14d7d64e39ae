#!/usr/bin/env node
// The `archkit` command. An installed package runs its built JavaScript (dist/). In a source
// checkout of the repository (the package still has its tsconfig.json) it runs the
// TypeScript sources through tsx, with the workspace's @archkit/* packages resolved to their
// sources by the root tsconfig's paths, whatever the working directory.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = new URL('..', import.meta.url);
const rootTsconfig = fileURLToPath(new URL('../../tsconfig.json', pkg));
let cli;
if (existsSync(new URL('tsconfig.json', pkg)) && existsSync(new URL('src/cli.ts', pkg)) && existsSync(rootTsconfig)) {
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
