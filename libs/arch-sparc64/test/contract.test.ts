// The shared contract suite (generic-core/src/testing/contract-suite.ts), run against this port.
import { contractSuite } from '@archkit/generic-core/testing/contract-suite';

contractSuite(import.meta.url);
