import { once } from 'node:events';
import { rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { openSignalPair, withAcks } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import type { Connection } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';
import { isLinux, isWindows, shmSemaphores, uniqueEndpoint } from './helpers.js';
import { Peer } from './peer.js';

const supported = isLinux || isWindows;
const transport = isWindows ? 'pipe' : 'unix';
const peers: Peer[] = [];
const endpoints: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  // Listeners close in their documented order (unlinking their pair); a crashed one is killed.
  for (const peer of peers.splice(0)) {
    await Promise.race([peer.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
    await peer.kill();
  }
  // Safety net for what a killed listener left behind: its pair and its socket file.
  for (const endpoint of endpoints.splice(0)) {
    const pair = await openSignalPair(endpoint);
    pair.unlink();
    await pair.close();
    if (!isWindows) rmSync(endpoint, { force: true });
  }
});

async function startPeer(endpoint: string, raw = false): Promise<Peer> {
  endpoints.push(endpoint);
  const { peer, first } = await Peer.listen(endpoint, raw);
  peers.push(peer);
  expect(first).toMatch(/^listening /);
  return peer;
}

/** A client in this process, in the documented order: connect, then open the pair. */
async function connectAcked(
  endpoint: string,
  ackTimeoutMs: number,
): Promise<{ connection: Connection; pair: SignalPair }> {
  const socket = net.connect(endpoint);
  await once(socket, 'connect');
  const framed = createStreamConnection(socket, { transport, endpoint });
  const pair = await openSignalPair(endpoint);
  const connection = withAcks(framed, pair, { ackTimeoutMs });
  cleanups.push(
    () => pair.close(),
    () => connection.close(),
  );
  return { connection, pair };
}

function indexed(index: number, size = 64): Uint8Array {
  const message = new Uint8Array(size);
  new DataView(message.buffer).setUint32(0, index);
  return message;
}

describe.runIf(supported)(`acknowledged delivery across two processes (${transport})`, () => {
  test('10,000 acked sends all resolve, and the listener process received every message in order', async () => {
    const endpoint = uniqueEndpoint('bulk');
    const peer = await startPeer(endpoint);
    const { connection } = await connectAcked(endpoint, 10_000);
    const total = 10_000;
    const outcomes = await Promise.allSettled(Array.from({ length: total }, (_, i) => connection.send(indexed(i))));
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed).toEqual([]);
    expect(await peer.report()).toEqual({ count: total, inOrder: true });
    expect(await peer.close()).toBe(0);
  }, 60_000);

  test('a recipient that reads but never acks makes the send reject with RecipientAckTimeoutError; the connection stays open', async () => {
    const endpoint = uniqueEndpoint('noack');
    const peer = await startPeer(endpoint, true);
    const { connection } = await connectAcked(endpoint, 150);
    await expect(connection.send(indexed(0))).rejects.toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT', timeoutMs: 150 });
    expect(connection.state).toBe('open');
    await expect(connection.send(indexed(1))).rejects.toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    // The bytes were written: the recipient read both.
    expect(await peer.report()).toEqual({ count: 2, inOrder: true });
  }, 20_000);

  test('a listener restarted after a crash starts the pair fresh: stale counts are gone', async () => {
    const endpoint = uniqueEndpoint('restart');
    const crashed = await startPeer(endpoint);
    const stale = await openSignalPair(endpoint);
    cleanups.push(() => stale.close());
    stale.signalReady();
    stale.signalAcked();
    await crashed.kill(); // no cleanup: the pair (and on Linux the socket file) stay behind
    await startPeer(endpoint);
    const fresh = await openSignalPair(endpoint);
    cleanups.push(() => fresh.close());
    expect(fresh.tryTakeReady()).toBe(false);
    await expect(fresh.waitAcked(100)).rejects.toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    // And the restarted listener acks for real.
    const { connection } = await connectAcked(endpoint, 5000);
    await expect(connection.send(indexed(0))).resolves.toBeUndefined();
  }, 20_000);

  test('a second listener finds the live one and leaves its pair untouched', async () => {
    const endpoint = uniqueEndpoint('second');
    const live = await startPeer(endpoint);
    const client = await openSignalPair(endpoint);
    cleanups.push(() => client.close());
    client.signalAcked(); // a count the second listener must not reset
    const { peer: second, first } = await Peer.listen(endpoint);
    peers.push(second);
    expect(first).toBe('in-use');
    expect(await second.exited).toBe(3);
    await expect(client.waitAcked(2000)).resolves.toBeUndefined();
    const { connection } = await connectAcked(endpoint, 5000);
    await expect(connection.send(indexed(0))).resolves.toBeUndefined();
    expect(await live.report()).toEqual({ count: 1, inOrder: true });
  }, 20_000);

  test.runIf(isLinux)(
    'the semaphores exist in /dev/shm with mode 0600 while listening and are gone after close',
    async () => {
      const endpoint = uniqueEndpoint('shm');
      const peer = await startPeer(endpoint);
      const { pair } = await connectAcked(endpoint, 5000);
      const fragment = pair.names.ready.slice(1, -'.data_ready'.length);
      const files = shmSemaphores(fragment).sort();
      expect(files).toEqual([`sem.${fragment}.data_acked`, `sem.${fragment}.data_ready`]);
      for (const file of files) expect(statSync(`/dev/shm/${file}`).mode & 0o777).toBe(0o600);
      expect(await peer.close()).toBe(0);
      expect(shmSemaphores(fragment)).toEqual([]);
    },
    20_000,
  );
});
