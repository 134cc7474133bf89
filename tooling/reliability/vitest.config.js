import { ipcezVitest } from '@ipcez/tooling/vitest';

// Every scenario spawns real processes and bounds itself; the files run one at a time so their
// process counts and RSS figures do not disturb each other.
export default ipcezVitest({ fileParallelism: false, testTimeout: 120_000, hookTimeout: 30_000 });
