// The scenario catalogue (SPEC §3), in catalogue order.

import type { ScenarioDef } from './dsl.ts';
import { kthreadScenarios } from './kthread.ts';
import { entryScenarios } from './entry.ts';
import { irqScenarios } from './irq.ts';

export const scenarios: ScenarioDef[] = [...kthreadScenarios, ...entryScenarios, ...irqScenarios];
