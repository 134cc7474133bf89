import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { describeTransportConformance } from '@ipcez/conformance';
import { unixTransport } from '@ipcez/transport-unix';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
let count = 0;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeTransportConformance('unix', {
  transport: unixTransport,
  makeEndpoint: () => path.join(dir, `c${count++}.sock`),
});
