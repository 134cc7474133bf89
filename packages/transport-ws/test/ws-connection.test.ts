import { ConnectionLostError, SendBufferFullError, WsError } from '@ipcez/core';
import type { Connection, Listener } from '@ipcez/core';
import { connectWs, listenWs } from '@ipcez/transport-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Collector, nextConnection, payload, rejection } from './helpers.js';

const KiB = 1024;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair(
  options: Parameters<typeof connectWs>[1] = {},
): Promise<{ listener: Listener; client: Connection; server: Connection }> {
  const listener = await listenWs('ws://127.0.0.1:0/pair', options);
  cleanups.push(() => listener.close());
  const accepted = nextConnection(listener);
  const client = await connectWs(listener.endpoint, options);
  cleanups.push(() => {
    client.destroy();
  });
  return { listener, client, server: await accepted };
}

/** Yields to the event loop until `predicate` holds. */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

describe('WebSocket connection', () => {
  it('bounds the sender memory by the high-water mark while the reader does not read', async () => {
    const highWaterMark = 256 * KiB;
    const { client, server } = await pair({ highWaterMark });
    expect(client.highWaterMark).toBe(highWaterMark);
    // The server sets no handler: its inbox fills, it pauses reading, the kernel buffers fill,
    // and the client's sends must start waiting.
    const count = 600;
    const sends: Promise<void>[] = [];
    let maxBuffered = 0;
    let settled = 0;
    for (let i = 0; i < count; i++) {
      const send = client.send(payload(i, 64 * KiB));
      void send.then(() => settled++);
      sends.push(send);
      maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
    }
    await until(() => {
      maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
      return client.bufferedAmount >= highWaterMark;
    });
    // Give a reader that failed to pause every chance to swallow all 37.5 MiB: it must not.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBeLessThan(count);
    expect(client.bufferedAmount).toBeGreaterThanOrEqual(highWaterMark);
    expect(maxBuffered).toBeLessThanOrEqual(highWaterMark + 64 * KiB);
    // A send that may not wait is refused, queuing nothing.
    const full = await rejection(client.send(new Uint8Array(1), { wait: false }));
    expect(full).toBeInstanceOf(SendBufferFullError);
    expect(full).toMatchObject({ code: 'IPCEZ_ERR_SEND_BUFFER_FULL', highWaterMark });
    // A waiting send can be abandoned with its signal.
    const controller = new AbortController();
    const abandoned = client.send(new Uint8Array([0xee]), { signal: controller.signal });
    controller.abort(new Error('abandoned'));
    expect((await rejection(abandoned)).message).toBe('abandoned');
    // The reader starts reading: everything arrives, in order, and every send resolves.
    const collector = new Collector(server);
    await Promise.all(sends);
    await collector.messageCount(count);
    expect(collector.messages).toHaveLength(count);
    collector.messages.forEach((m, i) => {
      expect(new DataView(m.buffer, m.byteOffset).getUint32(0)).toBe(i);
    });
    expect(client.bufferedAmount).toBe(0);
  });

  it('keeps messages that arrive before a handler is set, then delivers them in order', async () => {
    const { client, server } = await pair();
    const serverCollector = new Collector(server);
    // The client replies "done" only after its own sends were written; the server has then
    // received the client's messages before any client handler exists.
    for (let i = 0; i < 5; i++) await server.send(new Uint8Array([i]));
    await server.send(new Uint8Array([255]));
    await client.send(new Uint8Array([9]));
    await serverCollector.messageCount(1);
    const collector = new Collector(client);
    await collector.messageCount(6);
    expect(collector.messages).toEqual([0, 1, 2, 3, 4, 255].map((b) => new Uint8Array([b])));
  });

  it('close() flushes queued sends, reports local-close once, and later sends reject', async () => {
    const { client, server } = await pair({ highWaterMark: 64 * KiB });
    const serverCollector = new Collector(server);
    const collector = new Collector(client);
    const sends = Array.from({ length: 40 }, (_, i) => client.send(payload(i, 32 * KiB)));
    const closing = client.close();
    expect(client.close()).toBe(closing);
    expect(client.state).toBe('closing');
    const late = await rejection(client.send(new Uint8Array(1)));
    expect(late).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'local-close' });
    await Promise.all(sends);
    await closing;
    expect(client.state).toBe('closed');
    expect(collector.errors).toHaveLength(1);
    expect(collector.errors[0]).toMatchObject({ reason: 'local-close' });
    const serverEnd = await serverCollector.end();
    expect(serverEnd).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' });
    expect(serverCollector.messages).toHaveLength(40);
    serverCollector.messages.forEach((m, i) => {
      expect(new DataView(m.buffer, m.byteOffset).getUint32(0)).toBe(i);
    });
  });

  it('destroy() rejects pending sends with the given error and reports it once', async () => {
    const { client } = await pair({ highWaterMark: 16 * KiB });
    const collector = new Collector(client);
    const sends = Array.from({ length: 200 }, (_, i) => client.send(payload(i, 64 * KiB)));
    const reason = new WsError('gave up');
    client.destroy(reason);
    client.destroy();
    expect(client.state).toBe('closed');
    const results = await Promise.allSettled(sends);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toBe(reason);
    expect(await collector.end()).toBe(reason);
    expect(collector.errors).toHaveLength(1);
    await client.close();
  });

  it('ends async iteration normally when the peer closes', async () => {
    const { client, server } = await pair();
    await server.send(new Uint8Array([1]));
    await server.send(new Uint8Array([2]));
    const closing = server.close();
    const seen: number[] = [];
    for await (const message of client) seen.push(...message);
    expect(seen).toEqual([1, 2]);
    await closing;
  });

  it('reports the peer close to the handler as ConnectionLostError peer-closed', async () => {
    const { client, server } = await pair();
    const collector = new Collector(client);
    await server.close();
    const error = await collector.end();
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({ reason: 'peer-closed' });
    expect(error.cause).toBeUndefined();
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously for a message that is not a Uint8Array', async () => {
    const { client } = await pair();
    expect(() => client.send('text' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
    expect(() => {
      client.messageHandler(42 as unknown as () => void);
    }).toThrow(TypeError);
  });

  it('closes gracefully through Symbol.asyncDispose, so await using works', async () => {
    const { client, server } = await pair();
    const serverCollector = new Collector(server);
    const sent = client.send(new Uint8Array([5]));
    await client[Symbol.asyncDispose]();
    await sent;
    expect(client.state).toBe('closed');
    expect(await serverCollector.end()).toMatchObject({ reason: 'peer-closed' });
    expect(serverCollector.messages).toEqual([new Uint8Array([5])]);
  });
});
