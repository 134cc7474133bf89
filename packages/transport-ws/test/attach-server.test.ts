import { once } from 'node:events';
import { createServer as createHttpServer, get } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Connection, Listener } from '@ipcez/core';
import { connectWs, listenWs } from '@ipcez/transport-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '@ipcez/tooling/test-certificate';
import { Collector, echo, rejection } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The application's own HTTP server: answers GET with "app", listening on a free port. */
async function appServer(): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer((_req, res) => res.end('app'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as { port: number }).port };
}

async function httpGet(port: number, path: string): Promise<string> {
  const [res] = (await once(get({ host: '127.0.0.1', port, path }), 'response')) as [NodeJS.ReadableStream];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return body;
}

const text = (m: Uint8Array): string => new TextDecoder().decode(m);

describe('listenWs({ server }): one port for the application and ipcez', () => {
  it('serves WebSocket on its path of an existing http.Server and leaves plain HTTP to the application', async () => {
    const { server, port } = await appServer();
    const listener = await listenWs('ws://127.0.0.1:0/ipc', { server });
    cleanups.push(() => listener.close());
    expect(listener.endpoint).toBe(`ws://127.0.0.1:${port}/ipc`);
    const accepted: Connection[] = [];
    listener.connectionHandler((c) => {
      accepted.push(c);
      c.messageHandler((r) => {
        if (r.ok) void c.send(r.message).catch(() => undefined);
      });
    });
    const client = await connectWs(listener.endpoint, { keepaliveIntervalMs: 0 });
    cleanups.push(() => client.close());
    const got = new Collector(client);
    await client.send(new TextEncoder().encode('over the shared port'));
    await got.messageCount(1);
    expect(text(got.messages[0]!)).toBe('over the shared port');
    expect(await httpGet(port, '/')).toBe('app');
    expect(await httpGet(port, '/ipc')).toBe('app');
    // The peer's address on both ends.
    expect(accepted[0]!.remoteAddress).toBe('127.0.0.1');
    expect(client.remoteAddress).toBe('127.0.0.1');

    // close() closes what it accepted, and not the application's server.
    await listener.close();
    expect((await got.end()).code).toBe('IPCEZ_ERR_CONNECTION_LOST');
    expect(server.listening).toBe(true);
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(await httpGet(port, '/')).toBe('app');
  });

  it('shares the server with another WebSocket path, and refuses unknown paths when it is alone', async () => {
    const { server, port } = await appServer();
    const a = await listenWs('ws://127.0.0.1/a', { server });
    cleanups.push(() => a.close());
    const refused = await rejection(connectWs(`ws://127.0.0.1:${port}/elsewhere`));
    expect(refused).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 404 });
    const b = await listenWs('ws://127.0.0.1/b', { server });
    cleanups.push(() => b.close());
    echo(a);
    b.connectionHandler((c) => {
      c.messageHandler((r) => {
        if (r.ok) void c.send(new TextEncoder().encode(`b:${text(r.message)}`)).catch(() => undefined);
      });
    });
    for (const [path, expected] of [
      ['a', 'x'],
      ['b', 'b:x'],
    ] as const) {
      const client = await connectWs(`ws://127.0.0.1:${port}/${path}`, { keepaliveIntervalMs: 0 });
      cleanups.push(() => client.close());
      const got = new Collector(client);
      await client.send(new TextEncoder().encode('x'));
      await got.messageCount(1);
      expect(text(got.messages[0]!)).toBe(expected);
    }
  });

  it('waits for a server that is not listening yet, and stops waiting on abort', async () => {
    const server = createHttpServer();
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const controller = new AbortController();
    const aborted = listenWs('ws://127.0.0.1/x', { server, signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(server.listenerCount('upgrade')).toBe(0);
    const pending = listenWs('ws://127.0.0.1/x', { server });
    server.listen(0, '127.0.0.1');
    const listener: Listener = await pending;
    cleanups.push(() => listener.close());
    expect(listener.endpoint).toBe(`ws://127.0.0.1:${(server.address() as { port: number }).port}/x`);
  });

  it('serves wss:// on an https.Server', async () => {
    const { cert, key } = selfSignedCertificate();
    const server = createHttpsServer({ cert, key });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const listener = await listenWs('wss://127.0.0.1/secure', { server });
    cleanups.push(() => listener.close());
    echo(listener);
    const client = await connectWs(listener.endpoint, { ca: cert, keepaliveIntervalMs: 0 });
    cleanups.push(() => client.close());
    const got = new Collector(client);
    await client.send(new TextEncoder().encode('tls'));
    await got.messageCount(1);
    expect(text(got.messages[0]!)).toBe('tls');
  });

  it('refuses a mismatched scheme, TLS options beside a server, and a non-server', () => {
    const server = createHttpServer();
    const invalid = { code: 'IPCEZ_ERR_INVALID_ARG' };
    expect(() => listenWs('wss://127.0.0.1/x', { server })).toThrow(expect.objectContaining(invalid));
    expect(() => listenWs('ws://127.0.0.1/x', { server, cert: 'c' })).toThrow(expect.objectContaining(invalid));
    expect(() => listenWs('ws://127.0.0.1/x', { server: {} as never })).toThrow(expect.objectContaining(invalid));
    expect(server.listenerCount('upgrade')).toBe(0);
  });
});
