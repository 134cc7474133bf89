import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unixTransport } from '@ipcez/transport-unix';

describe('unixTransport', () => {
  it.runIf(process.platform !== 'win32')('listens and connects as the unix transport', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
    try {
      const listener = await unixTransport.listen(path.join(dir, 't.sock'));
      const connection = await unixTransport.connect(listener.endpoint);
      expect(unixTransport.kind).toBe('unix');
      expect([listener.transport, connection.transport]).toEqual(['unix', 'unix']);
      await connection.close();
      await listener.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is supported everywhere but Windows, without throwing', () => {
    expect(unixTransport.isSupported()).toBe(process.platform !== 'win32');
  });

  it('lists in its README every error code the package produces', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Error codes'));
    for (const code of [
      'IPCEZ_ERR_IO',
      'IPCEZ_ERR_CONNECTION_LOST',
      'IPCEZ_ERR_FRAME_TOO_LARGE',
      'IPCEZ_ERR_ENDPOINT_IN_USE',
      'IPCEZ_ERR_INVALID_ENDPOINT',
      'IPCEZ_ERR_UNSUPPORTED_PLATFORM',
      'IPCEZ_ERR_SEND_BUFFER_FULL',
      'IPCEZ_ERR_INVALID_ARG',
    ]) {
      expect(section, code).toContain(`\`${code}\``);
    }
  });
});
