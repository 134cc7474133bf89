import { ipcezVitest } from '@ipcez/tooling/vitest';

// Each block runs as its own process, bounded to 30 s; the test waits a little longer so
// the bound, not vitest, reports a hang.
export default ipcezVitest({ testTimeout: 40_000 });
