import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { AckUnavailableError, ConnectionLostError, IoError, IpcezError, RecipientAckTimeoutError } from '@ipcez/core';
import { deriveSignalNames } from '@ipcez/ack';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error codes this package produces', () => {
  const table = [
    { error: new RecipientAckTimeoutError(5), name: 'RecipientAckTimeoutError', code: 'IPCEZ_ERR_ACK_TIMEOUT' },
    { error: new AckUnavailableError('x'), name: 'AckUnavailableError', code: 'IPCEZ_ERR_ACK_UNAVAILABLE' },
    { error: new IoError('x'), name: 'IoError', code: 'IPCEZ_ERR_IO' },
    { error: new ConnectionLostError('local-close'), name: 'ConnectionLostError', code: 'IPCEZ_ERR_CONNECTION_LOST' },
  ];
  test.each(table)(
    '$name has code $code, extends IpcezError, and is in the README error table',
    ({ error, name, code }) => {
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(IpcezError);
      expect(README).toMatch(new RegExp(`\\| \`${code}\` \\| \`${name}\``));
    },
  );

  test('the README lists IPCEZ_ERR_INVALID_ARG for programmer errors', () => {
    expect(README).toContain('| `IPCEZ_ERR_INVALID_ARG` |');
  });
});

describe('the README name examples', () => {
  test('match deriveSignalNames', () => {
    const rows = [...README.matchAll(/^\| `([^`]+)` \| `(\/ipcez[^`]+)` \|/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const [, endpoint, ready] of rows) expect(deriveSignalNames(endpoint!, 'linux').ready).toBe(ready);
  });
});
