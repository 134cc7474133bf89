import { once } from 'node:events';
import { get } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConnectionLostError, EndpointInUseError } from '@ipcez/core';
import type { Connection, Listener } from '@ipcez/core';
import { connectWs, listenWs, wsTransport } from '@ipcez/transport-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Accepted, Collector, echo, rejection } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listener(
  endpoint = 'ws://127.0.0.1:0/ipc',
  options: Parameters<typeof listenWs>[1] = {},
): Promise<Listener> {
  const l = await listenWs(endpoint, options);
  cleanups.push(() => l.close());
  return l;
}

async function client(endpoint: string): Promise<Connection> {
  const connection = await connectWs(endpoint);
  cleanups.push(() => {
    connection.destroy();
  });
  return connection;
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe('listenWs', () => {
  it('picks a free port for port 0 and reports it in endpoint', async () => {
    const l = await listener('ws://127.0.0.1:0/a/b');
    expect(l.transport).toBe('ws');
    expect(l.isListening).toBe(true);
    expect(l.endpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/a\/b$/);
    expect(l.endpoint).not.toContain(':0/');
  });

  it('serves many clients at once, each with its own connection', async () => {
    const l = await listener();
    echo(l);
    const clients = await Promise.all(Array.from({ length: 12 }, () => client(l.endpoint)));
    const collectors = clients.map((c) => new Collector(c));
    await Promise.all(clients.map((c, i) => c.send(new Uint8Array([i, i, i]))));
    await Promise.all(collectors.map((c) => c.messageCount(1)));
    collectors.forEach((c, i) => {
      expect(c.messages).toEqual([new Uint8Array([i, i, i])]);
    });
  });

  it('answers an upgrade for another path with HTTP 404 and a plain request with 426 or 404', async () => {
    const l = await listener('ws://127.0.0.1:0/only');
    const error = await rejection(connectWs(l.endpoint.replace('/only', '/other')));
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 404 });
    const http = l.endpoint.replace('ws://', 'http://');
    expect(await httpStatus(http)).toBe(426);
    expect(await httpStatus(http.replace('/only', '/nope'))).toBe(404);
  });

  it('closes every accepted connection on close; close is idempotent and returns the same promise', async () => {
    const l = await listenWs('ws://127.0.0.1:0/ipc');
    const accepted = new Accepted(l);
    const clients = await Promise.all(Array.from({ length: 3 }, () => client(l.endpoint)));
    const collectors = clients.map((c) => new Collector(c));
    const serverSide = await accepted.count(3);
    const serverCollectors = serverSide.map((c) => new Collector(c));
    const first = l.close();
    expect(l.close()).toBe(first);
    expect(l.isListening).toBe(false);
    await first;
    await l.close();
    for (const collector of collectors) {
      const error = await collector.end();
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect(error).toMatchObject({ reason: 'peer-closed' });
    }
    for (const collector of serverCollectors) {
      expect(await collector.end()).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'local-close' });
    }
    expect(serverSide.every((c) => c.state === 'closed')).toBe(true);
    expect(await rejection(connectWs(l.endpoint))).toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ECONNREFUSED' });
  });

  it('keeps connections accepted before a handler is set, and iteration ends on close', async () => {
    const l = await listener();
    await client(l.endpoint);
    await client(l.endpoint);
    const seen: Connection[] = [];
    const iterating = (async () => {
      for await (const connection of l) {
        seen.push(connection);
        if (seen.length === 2) void l.close();
      }
    })();
    await iterating;
    expect(seen).toHaveLength(2);
    expect(seen.every((c) => c.transport === 'ws')).toBe(true);
  });

  it('rejects with EndpointInUseError when the port is taken', async () => {
    const taken = createNetServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) =>
          taken.close(() => {
            resolve();
          }),
        ),
    );
    const error = await rejection(listenWs(`ws://127.0.0.1:${(taken.address() as AddressInfo).port}/x`));
    expect(error).toBeInstanceOf(EndpointInUseError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_ENDPOINT_IN_USE' });
  });

  it('rejects with signal.reason when aborted before listening, and closes on a later abort', async () => {
    const early = await rejection(listenWs('ws://127.0.0.1:0/x', { signal: AbortSignal.abort(new Error('no')) }));
    expect(early.message).toBe('no');
    const controller = new AbortController();
    const l = await listener('ws://127.0.0.1:0/x', { signal: controller.signal });
    const connection = await client(l.endpoint);
    const collector = new Collector(connection);
    controller.abort();
    expect(await collector.end()).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    expect(l.isListening).toBe(false);
  });

  it('calls beforeBind with the endpoint before binding, and binds nothing when it throws', async () => {
    const seen: string[] = [];
    const l = await listener('ws://127.0.0.1:0/x', { beforeBind: (endpoint) => void seen.push(endpoint) });
    expect(seen).toEqual(['ws://127.0.0.1:0/x']);
    expect(l.isListening).toBe(true);
    const error = await rejection(
      listenWs('ws://127.0.0.1:0/y', {
        beforeBind: () => {
          throw new Error('refused');
        },
      }),
    );
    expect(error.message).toBe('refused');
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously for wss:// without cert and key, or bad options', () => {
    expect(() => listenWs('wss://127.0.0.1:0/x')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
    expect(() => listenWs('ws://127.0.0.1:0/x', { cert: 'x', key: 'y' })).toThrow(TypeError);
    expect(() => listenWs('ws://127.0.0.1:0/x', { highWaterMark: 0 })).toThrow(RangeError);
    expect(() => listenWs(1 as unknown as string)).toThrow(TypeError);
  });

  it('is reachable through wsTransport, which reports itself supported in Node', async () => {
    expect(wsTransport.kind).toBe('ws');
    expect(wsTransport.isSupported()).toBe(true);
    const l = await wsTransport.listen('ws://127.0.0.1:0/t');
    cleanups.push(() => l.close());
    echo(l);
    const connection = await wsTransport.connect(l.endpoint);
    cleanups.push(() => {
      connection.destroy();
    });
    const collector = new Collector(connection);
    await connection.send(new Uint8Array([42]));
    await collector.messageCount(1);
    expect(collector.messages[0]).toEqual(new Uint8Array([42]));
  });

  it('refuses with HTTP 403 the clients verifyClient rejects, and accepts the others', async () => {
    const seen: { origin: string | undefined; token: unknown; path: string; remoteAddress: string | undefined }[] = [];
    const l = await listener('ws://127.0.0.1:0/guarded', {
      // Every origin reaches verifyClient, which decides here.
      allowedOrigins: '*',
      verifyClient: (request) => {
        seen.push({
          origin: request.origin,
          token: request.headers['x-token'],
          path: request.path,
          remoteAddress: request.remoteAddress,
        });
        return request.headers['x-token'] === 'let-me-in' && request.origin === undefined;
      },
    });
    echo(l);
    const refused = await rejection(connectWs(l.endpoint, { headers: { 'x-token': 'wrong' } }));
    expect(refused).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 403 });
    const fromPage = await rejection(
      connectWs(l.endpoint, { headers: { 'x-token': 'let-me-in', origin: 'https://evil.example' } }),
    );
    expect(fromPage).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 403 });
    const accepted = await connectWs(l.endpoint, { headers: { 'x-token': 'let-me-in' } });
    cleanups.push(() => {
      accepted.destroy();
    });
    const collector = new Collector(accepted);
    await accepted.send(new Uint8Array([1]));
    await collector.messageCount(1);
    expect(seen).toEqual([
      { origin: undefined, token: 'wrong', path: '/guarded', remoteAddress: '127.0.0.1' },
      { origin: 'https://evil.example', token: 'let-me-in', path: '/guarded', remoteAddress: '127.0.0.1' },
      { origin: undefined, token: 'let-me-in', path: '/guarded', remoteAddress: '127.0.0.1' },
    ]);
  });

  it('refuses cross-origin browser handshakes by default (HTTP 403), unless the origin is allowed', async () => {
    const l = await listener('ws://127.0.0.1:0/pages');
    echo(l);
    const port = new URL(l.endpoint).port;
    // A page of another site: refused before anything else.
    const hijack = await rejection(connectWs(l.endpoint, { headers: { origin: 'https://evil.example' } }));
    expect(hijack).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 403 });
    // A page served by the listener's own host and port, and a client that sends no Origin.
    for (const headers of [{ origin: `http://127.0.0.1:${port}` }, {}]) {
      const connection = await connectWs(l.endpoint, { headers });
      const collector = new Collector(connection);
      await connection.send(new Uint8Array([7]));
      await collector.messageCount(1);
      connection.destroy();
    }
    const listed = await listener('ws://127.0.0.1:0/listed', { allowedOrigins: ['https://app.example'] });
    echo(listed);
    const fromApp = await connectWs(listed.endpoint, { headers: { origin: 'https://app.example' } });
    cleanups.push(() => {
      fromApp.destroy();
    });
    expect(await rejection(connectWs(listed.endpoint, { headers: { origin: 'https://other.example' } }))).toMatchObject(
      {
        status: 403,
      },
    );
    expect(() => listenWs('ws://127.0.0.1:0/x', { allowedOrigins: 'any' as never })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
  });
});
