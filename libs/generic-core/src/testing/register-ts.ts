// Vitest loads the suites' own modules through its transformer, but a mutant's patched
// module is imported natively (from a data: URL) and imports the port's TypeScript files:
// Node needs tsx's loader for those, with the workspace's tsconfig (its @archkit/* paths).
// (Under the CLI, tsx is already the loader; built packages import .js.)
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../../tsconfig.json', import.meta.url)) });
