import { ipcezVitest } from '@ipcez/tooling/vitest';

// Every scenario spawns real processes and bounds itself; the files run one at a time so their
// process counts and RSS figures do not disturb each other. test/report.ts collects each scenario's figures and prints them (and, for `pnpm soak`, writes
// them) when the run ends.
export default ipcezVitest({
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 30_000,
  globalSetup: ['test/report.ts'],
});
