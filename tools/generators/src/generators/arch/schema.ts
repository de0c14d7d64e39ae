// The options of `nx g @archkit/generators:arch` (schema.json). Unset options take the
// descriptor's value (--descriptor) or the defaults: 64-bit, little-endian, generic-entry,
// unicorn, and keystone for x86/arm64 or gnu-as for other CPUs.

import type { EntryModel } from '@archkit/generic-core/contracts/descriptor';
import type { AsmBackend } from './cpus.ts';

export interface ArchGeneratorSchema {
  name: string;
  emulator?: 'unicorn';
  assembler?: AsmBackend;
  /** bits */
  wordSize?: 32 | 64;
  endian?: 'little' | 'big';
  entryModel?: EntryModel;
  /** an arch.json to start from */
  descriptor?: string;
  /** re-render the scaffolding of an existing lib from its arch.json */
  regenerate?: boolean;
  skipInstall?: boolean;
}
