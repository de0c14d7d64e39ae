// The worker's entry in a source checkout: worker threads do not inherit the main thread's
// TypeScript loader, so this registers it (with the tsconfig the main thread used, for the
// workspace's @archkit/* paths), then loads the worker. Built packages start worker.js.
import { register } from 'tsx/esm/api';

register(process.env.TSX_TSCONFIG_PATH ? { tsconfig: process.env.TSX_TSCONFIG_PATH } : {});
await import('./worker.ts');
