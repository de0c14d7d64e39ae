// The worker's entry in a source checkout: worker threads do not inherit the main thread's
// TypeScript loader, so this registers it, then loads the worker. Built packages start
// worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
