// Vitest loads the suites' own modules through its transformer, but a mutant's patched
// module is imported natively (from a data: URL) and imports the port's TypeScript files:
// Node needs tsx's loader for those. (Under the CLI, tsx is already the loader; built
// packages import .js.)
import { register } from 'tsx/esm/api';

register();
