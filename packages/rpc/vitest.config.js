import { ipcezVitest } from '@ipcez/tooling/vitest';

export default ipcezVitest();
