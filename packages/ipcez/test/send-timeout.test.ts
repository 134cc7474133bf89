// sendTimeoutMs bounds a whole send: waiting for room behind a peer that does not read,
// writing, and the ack.
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'ipcez';
import { startRawServer } from './helpers/raw-server.js';

const local = { target: 'local', os: 'linux' } as const;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rawServer(onSocket: (socket: net.Socket) => void, advertiseV2 = false): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ipcez-sendto-'));
  const path = join(dir, 's.sock');
  const stop = await startRawServer(path, advertiseV2, onSocket);
  cleanups.push(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

describe.runIf(process.platform === 'linux')('sendTimeoutMs', () => {
  it('rejects sends stuck behind a peer that never reads with SendTimeoutError; the ones waiting for room are withdrawn', async () => {
    // A peer that accepts and never reads: the OS buffers fill, then the send queue.
    const path = await rawServer((socket) => {
      socket.pause();
    });
    const socket = await connect(path, { ...local, ack: false, highWaterMark: 64 * 1024, sendTimeoutMs: 300 });
    cleanups.push(() => {
      void socket.disconnect();
    });
    const big = new Uint8Array(256 * 1024);
    const outcomes = await Promise.allSettled(Array.from({ length: 64 }, () => socket.sendMessage(big)));
    const codes = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok'));
    // Some went out before the buffers filled; every other one timed out, none waits forever.
    expect(codes.filter((c) => c === 'IPCEZ_ERR_SEND_TIMEOUT').length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 'ok' || c === 'IPCEZ_ERR_SEND_TIMEOUT')).toBe(true);
    const timeout = outcomes.find((o) => o.status === 'rejected')!;
    expect(timeout.reason).toMatchObject({ timeoutMs: 300 });
  });

  it('bounds the ack wait too: a v2 peer that never acks', async () => {
    const path = await rawServer((socket) => {
      socket.once('data', () => {
        // HELLO_REPLY 2, then silence.
        socket.write(Buffer.from([0x82, 0, 0, 2]));
      });
    }, true);
    const socket = await connect(path, { ...local, ackTimeoutMs: 60_000, sendTimeoutMs: 150 });
    cleanups.push(() => {
      void socket.disconnect();
    });
    expect(socket.ackMode).toBe('v2');
    await expect(socket.sendMessage('unheard')).rejects.toMatchObject({
      code: 'IPCEZ_ERR_SEND_TIMEOUT',
      timeoutMs: 150,
    });
  });

  it('refuses a bad value before connecting', async () => {
    await expect(connect('/tmp/none.sock', { ...local, sendTimeoutMs: -1 })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_INVALID_ARG',
    });
  });
});
