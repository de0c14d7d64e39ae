import { portLoader } from '@archkit/generic-core/contracts/loader';

export const createPort = portLoader(import.meta.url);
