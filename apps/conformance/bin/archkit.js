#!/usr/bin/env node
// Launcher for the `archkit` CLI: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main, exitAfterFlush } = await import('../src/cli.ts');
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
});
exitAfterFlush(await main(process.argv.slice(2)));
