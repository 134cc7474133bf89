// The lifecycle the facade follows, over the real transports: the listener starts the pair
// fresh in `beforeBind` (after the transport made sure no live server answers), the client
// opens the pair after connecting, and the listener unlinks the pair first when it closes.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { openSignalPair, withAcks } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import type { Connection, ListenOptions, Listener, MessageResult } from '@ipcez/core';
import { connectPipe, listenPipe } from '@ipcez/transport-pipe';
import { connectUnix, listenUnix } from '@ipcez/transport-unix';
import { isLinux, isWindows, uniqueEndpoint } from './helpers.js';

const listen = (endpoint: string, options: ListenOptions): Promise<Listener> =>
  isWindows ? listenPipe(endpoint, options) : listenUnix(endpoint, options);
const connect = (endpoint: string): Promise<Connection> => (isWindows ? connectPipe(endpoint) : connectUnix(endpoint));

interface AckedListener {
  readonly listener: Listener;
  readonly pair: SignalPair;
  readonly received: MessageResult[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function listenAcked(endpoint: string): Promise<AckedListener> {
  let pair: SignalPair | undefined;
  const listener = await listen(endpoint, {
    beforeBind: async (resolved) => {
      pair = await openSignalPair(resolved, { role: 'listener' });
    },
  });
  if (pair === undefined) throw new Error('beforeBind was not called');
  const acked = pair;
  const received: MessageResult[] = [];
  listener.connectionHandler((connection) => {
    withAcks(connection, acked).messageHandler((r) => received.push(r));
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      acked.unlink();
      await listener.close();
      await acked.close();
    })());
  cleanups.push(close);
  return { listener, pair: acked, received, close };
}

async function connectAcked(endpoint: string): Promise<{ connection: Connection; pair: SignalPair }> {
  const raw = await connect(endpoint);
  const pair = await openSignalPair(raw.endpoint);
  const connection = withAcks(raw, pair, { ackTimeoutMs: 4000 });
  cleanups.push(
    () => pair.close(),
    () => connection.close(),
  );
  return { connection, pair };
}

describe.runIf(isLinux || isWindows)(`acks over @ipcez/transport-${isWindows ? 'pipe' : 'unix'}`, () => {
  test('a listener that starts its pair in beforeBind acks what a client sends', async () => {
    const endpoint = uniqueEndpoint('tx');
    const server = await listenAcked(endpoint);
    const { connection } = await connectAcked(endpoint);
    await connection.send(new Uint8Array([1, 2]));
    await connection.send(new Uint8Array([3]));
    expect(server.received).toEqual([
      { ok: true, message: new Uint8Array([1, 2]) },
      { ok: true, message: new Uint8Array([3]) },
    ]);
  });

  test('a second listen on a live endpoint fails with EndpointInUseError before beforeBind, so the pair is untouched', async () => {
    const endpoint = uniqueEndpoint('tx2');
    await listenAcked(endpoint);
    const { pair } = await connectAcked(endpoint);
    pair.signalAcked(); // a count that a reset would lose
    let hookCalls = 0;
    await expect(
      listen(endpoint, {
        beforeBind: async (resolved) => {
          hookCalls++;
          await openSignalPair(resolved, { role: 'listener' });
        },
      }),
    ).rejects.toMatchObject({ code: 'IPCEZ_ERR_ENDPOINT_IN_USE' });
    expect(hookCalls).toBe(0);
    await expect(pair.waitAcked(2000)).resolves.toBeUndefined();
  });

  test.runIf(isLinux)(
    'closing the listener in the documented order removes the semaphores and the socket file',
    async () => {
      const endpoint = uniqueEndpoint('tx3');
      const server = await listenAcked(endpoint);
      const files = [server.pair.names.ready, server.pair.names.acked].map((n) => `/dev/shm/sem.${n.slice(1)}`);
      expect(files.map((f) => existsSync(f))).toEqual([true, true]);
      await server.close();
      expect(files.map((f) => existsSync(f))).toEqual([false, false]);
      expect(existsSync(endpoint)).toBe(false);
    },
  );
});
