import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openSignalPair, withAcks } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import type { Connection, MessageResult } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';
import { isLinux, isWindows, uniqueEndpoint } from './helpers.js';

const supported = isLinux || isWindows;
const transport = isWindows ? 'pipe' : 'unix';

/** Both ends of one real socket (or pipe) in this process, each framed, and both pairs. */
interface Rig {
  readonly endpoint: string;
  readonly listenerPair: SignalPair;
  readonly clientPair: SignalPair;
  readonly server: Connection;
  readonly client: Connection;
}

describe.runIf(supported)('withAcks over a real socket in one process', () => {
  let dir: string | undefined;
  let rig: Rig;
  let netServer: net.Server;

  beforeEach(async () => {
    let endpoint = uniqueEndpoint('wrap');
    if (isLinux) {
      dir = mkdtempSync(join(tmpdir(), 'ipcez-'));
      endpoint = join(dir, 'a.sock');
    }
    const listenerPair = await openSignalPair(endpoint, { role: 'listener' });
    netServer = net.createServer();
    netServer.listen(endpoint);
    await once(netServer, 'listening');
    const accepted = once(netServer, 'connection');
    const socket = net.connect(endpoint);
    await once(socket, 'connect');
    const [serverSocket] = (await accepted) as [net.Socket];
    const clientPair = await openSignalPair(endpoint);
    rig = {
      endpoint,
      listenerPair,
      clientPair,
      server: createStreamConnection(serverSocket, { transport, endpoint }),
      client: createStreamConnection(socket, { transport, endpoint, maxMessageBytes: 1024 }),
    };
  });

  afterEach(async () => {
    rig.client.destroy();
    rig.server.destroy();
    netServer.close();
    rig.listenerPair.unlink();
    await Promise.all([rig.listenerPair.close(), rig.clientPair.close()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a send resolves once the reading side acked it, and the reader gets the message', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    const received: MessageResult[] = [];
    server.messageHandler((r) => received.push(r));
    await client.send(new Uint8Array([1, 2, 3]));
    expect(received).toEqual([{ ok: true, message: new Uint8Array([1, 2, 3]) }]);
  });

  test('the reader takes "data ready", posts "data acked", then delivers', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    const seen: { readyLeft: boolean }[] = [];
    server.messageHandler((r) => {
      if (!r.ok) return;
      // By delivery time the reader has taken the sender's ready token and posted the ack.
      seen.push({ readyLeft: rig.listenerPair.tryTakeReady() });
    });
    await client.send(new Uint8Array([9]));
    expect(seen).toEqual([{ readyLeft: false }]);
  });

  test('a message read before a handler exists is acked on read (DESIGN: for each frame read) and kept for the handler', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    // The send resolves although no consumer exists yet on the reading side.
    await client.send(new Uint8Array([7]));
    const received: Uint8Array[] = [];
    server.messageHandler((r) => {
      if (r.ok) received.push(r.message);
    });
    expect(received).toEqual([new Uint8Array([7])]);
  });

  test('a peer that awaits its send before setting its handler, while the other side replies, is not stalled by the shared ack count', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    // The server echoes from its handler; its echo's wait can take the ack meant for the
    // client, which is repaid when the client reads the echo: at read time, not when the
    // client gets round to setting a handler.
    server.messageHandler((r) => {
      if (r.ok) void server.send(r.message).catch(() => undefined);
    });
    for (const n of [1, 2, 3]) await client.send(new Uint8Array([n]));
    const echoes: number[] = [];
    client.messageHandler((r) => {
      if (r.ok) echoes.push(r.message[0]!);
    });
    await expect.poll(() => echoes, { timeout: 4000 }).toEqual([1, 2, 3]);
  });

  test('async iteration acks each message it yields', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    const reading = (async () => {
      const got: number[] = [];
      for await (const message of server) {
        got.push(message[0]!);
        if (got.length === 3) break;
      }
      return got;
    })();
    for (const n of [1, 2, 3]) await client.send(new Uint8Array([n]));
    expect(await reading).toEqual([1, 2, 3]);
  });

  test('a send over the size limit rejects with FrameTooLargeError and posts no "data ready"', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    await expect(client.send(new Uint8Array(2048))).rejects.toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE' });
    expect(rig.listenerPair.tryTakeReady()).toBe(false);
    expect(client.state).toBe('open');
  });

  test('close() returns the same promise every call; with ownsPair it closes the pair, without it leaves it open', async () => {
    const owned = withAcks(rig.client, rig.clientPair, { ownsPair: true });
    const borrowing = withAcks(rig.server, rig.listenerPair);
    const first = owned.close();
    expect(owned.close()).toBe(first);
    await first;
    expect(rig.clientPair.state).toBe('closed');
    await borrowing.close();
    expect(rig.listenerPair.state).toBe('open');
  });

  test('a graceful close lets a send waiting for its ack finish: with no reader it times out (unconfirmed), then the close completes', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 300 });
    // No reader acks: the send waits, and the close waits for it.
    const sending = client.send(new Uint8Array([1])).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.close();
    expect(await sending).toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    expect(client.state).toBe('closed');
  });

  test('destroy() rejects a send still waiting for its ack at once with ConnectionLostError', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const sending = client.send(new Uint8Array([1])).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.destroy();
    expect(await sending).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    expect(client.state).toBe('closed');
  });

  test('a send after the pair closed rejects with ConnectionLostError instead of going out unacknowledged', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    let received = 0;
    server.messageHandler((r) => {
      if (r.ok) received++;
    });
    await rig.clientPair.close();
    await expect(client.send(new Uint8Array([1]))).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    expect(client.state).toBe('open');
    expect(received).toBe(0);
  });

  test('frames read before withAcks wraps the connection are acked when it does (the client opens its pair after connecting)', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    let isAcked = false;
    const sending = client.send(new Uint8Array([5])).then(() => {
      isAcked = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isAcked).toBe(false);
    const server = withAcks(rig.server, rig.listenerPair);
    await sending;
    const received: Uint8Array[] = [];
    server.messageHandler((r) => {
      if (r.ok) received.push(r.message);
    });
    expect(received).toEqual([new Uint8Array([5])]);
  });

  test('many sends with one caller signal leave nothing attached to that signal (issue 9 row 11)', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    server.messageHandler(() => undefined);
    const controller = new AbortController();
    for (let i = 0; i < 200; i++) await client.send(new Uint8Array([i & 0xff]), { signal: controller.signal });
    // Node keeps AbortSignal.any() dependants of a signal in an internal set that only grows.
    const symbols = Object.getOwnPropertySymbols(controller.signal);
    const dependants = symbols.find((symbol) => symbol.description === 'kDependantSignals');
    const held =
      dependants === undefined ? undefined : (controller.signal as unknown as Record<symbol, unknown>)[dependants];
    expect((held as Set<unknown> | undefined)?.size ?? 0).toBe(0);
  });

  test('a failing "data acked" post ends the connection with that error instead of throwing out of the socket', async () => {
    const client = withAcks(rig.client, rig.clientPair, { ackTimeoutMs: 4000 });
    const server = withAcks(rig.server, rig.listenerPair);
    const ends: unknown[] = [];
    server.messageHandler((r) => {
      if (!r.ok) ends.push(r.error);
    });
    const failure = Object.assign(new Error('sem_post failed: EOVERFLOW (injected)'), { code: 'EOVERFLOW' });
    rig.listenerPair.signalAcked = () => {
      throw failure;
    };
    client.send(new Uint8Array([1])).catch(() => undefined);
    await expect.poll(() => ends.length, { timeout: 3000 }).toBe(1);
    expect(ends[0]).toMatchObject({ code: 'IPCEZ_ERR_IO' });
    expect((ends[0] as { cause?: unknown }).cause).toBe(failure);
    expect(server.state).toBe('closed');
  });

  test('rejects a bad ackTimeoutMs or pair with IPCEZ_ERR_INVALID_ARG', () => {
    expect(() => withAcks(rig.client, rig.clientPair, { ackTimeoutMs: -5 })).toThrow(RangeError);
    expect(() => withAcks(rig.client, Object.create(null) as SignalPair)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });
});
