import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { ConnectionLostError, FrameTooLargeError, IoError, WsError } from '@ipcez/core';
import type { Connection, Listener } from '@ipcez/core';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, connectWs, listenWs } from '@ipcez/transport-ws';
import { Child, Collector, echo, payload, rejection } from './helpers.js';

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rawServer(options: { maxPayload?: number; perMessageDeflate?: boolean } = {}): Promise<{
  wss: WebSocketServer;
  url: string;
  next: () => Promise<[WebSocket, IncomingMessage]>;
}> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * MiB, ...options });
  await once(wss, 'listening');
  cleanups.push(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => {
      wss.close(() => {
        resolve();
      });
    });
  });
  const pending: [WebSocket, IncomingMessage][] = [];
  const waiters: (() => void)[] = [];
  wss.on('connection', (ws, request) => {
    pending.push([ws, request]);
    waiters.splice(0).forEach((w) => {
      w();
    });
  });
  const next = async (): Promise<[WebSocket, IncomingMessage]> => {
    while (pending.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    return pending.shift()!;
  };
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, next };
}

async function client(endpoint: string, options: Parameters<typeof connectWs>[1] = {}): Promise<Connection> {
  const connection = await connectWs(endpoint, options);
  cleanups.push(() => {
    connection.destroy();
  });
  return connection;
}

async function listener(endpoint = 'ws://127.0.0.1:0/ipc'): Promise<Listener> {
  const l = await listenWs(endpoint);
  cleanups.push(() => l.close());
  return l;
}

function rawMessages(ws: WebSocket): Buffer[] {
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(data));
  return received;
}

describe('connectWs', () => {
  it('exchanges binary messages of many sizes with a listener, whole and in order', async () => {
    const l = await listener();
    echo(l);
    const connection = await client(l.endpoint);
    expect(connection.transport).toBe('ws');
    expect(connection.endpoint).toBe(l.endpoint);
    expect(connection.state).toBe('open');
    const collector = new Collector(connection);
    const sizes = [0, 1, 125, 126, 65535, 65536, 300_000, 0, 7];
    await Promise.all(sizes.map((size, i) => connection.send(payload(i, size))));
    await collector.messageCount(sizes.length);
    expect(collector.messages.map((m) => m.byteLength)).toEqual(sizes);
    collector.messages.forEach((m, i) => {
      // Buffer.equals: a deep toEqual over 300,000 elements takes most of a second.
      expect(Buffer.from(m.buffer, m.byteOffset, m.byteLength).equals(payload(i, sizes[i]!)), `message ${i}`).toBe(
        true,
      );
      expect(Object.getPrototypeOf(m)).toBe(Uint8Array.prototype);
    });
  });

  it('delivers a received text message as its UTF-8 bytes', async () => {
    const server = await rawServer();
    const connection = await client(server.url);
    const collector = new Collector(connection);
    const [ws] = await server.next();
    ws.send('héllo ✓ ipcez');
    await collector.messageCount(1);
    expect(collector.messages[0]).toEqual(new TextEncoder().encode('héllo ✓ ipcez'));
  });

  it('rejects a send over 4 MiB with FrameTooLargeError, writes nothing and stays usable', async () => {
    const server = await rawServer();
    const connection = await client(server.url);
    const [ws] = await server.next();
    const received = rawMessages(ws);
    const error = await rejection(connection.send(new Uint8Array(4 * MiB + 1)));
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE', size: 4 * MiB + 1, limit: 4 * MiB });
    await connection.send(new Uint8Array(4 * MiB));
    await connection.send(new Uint8Array([7]));
    while (received.length < 2) await once(ws, 'message');
    expect(received.map((m) => m.length)).toEqual([4 * MiB, 1]);
    expect(connection.state).toBe('open');
  });

  it('closes with 1009 and reports one FrameTooLargeError when a message over 4 MiB arrives', async () => {
    const server = await rawServer();
    const connection = await client(server.url);
    const collector = new Collector(connection);
    const [ws] = await server.next();
    const closed = once(ws, 'close');
    ws.send(new Uint8Array(4 * MiB + 1));
    const [code] = (await closed) as [number];
    expect(code).toBe(1009);
    const error = await collector.end();
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE', size: 4 * MiB + 1, limit: 4 * MiB });
    expect(collector.errors).toHaveLength(1);
    expect(collector.messages).toHaveLength(0);
    const sendError = await rejection(connection.send(new Uint8Array(1)));
    expect(sendError.code).toBe('IPCEZ_ERR_FRAME_TOO_LARGE');
  });

  it('enforces a smaller maxMessageBytes on both directions', async () => {
    const server = await rawServer();
    const connection = await client(server.url, { maxMessageBytes: 16 });
    expect(connection.maxMessageBytes).toBe(16);
    const collector = new Collector(connection);
    const [ws] = await server.next();
    expect((await rejection(connection.send(new Uint8Array(17)))).code).toBe('IPCEZ_ERR_FRAME_TOO_LARGE');
    ws.send(new Uint8Array(16));
    ws.send(new Uint8Array(17));
    const error = await collector.end();
    expect(collector.messages.map((m) => m.length)).toEqual([16]);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE', size: 17, limit: 16 });
  });

  it('offers permessage-deflate only when perMessageDeflate is true', async () => {
    const server = await rawServer({ perMessageDeflate: true });
    await client(server.url);
    const [, plain] = await server.next();
    expect(plain.headers['sec-websocket-extensions']).toBeUndefined();
    const deflating = await client(server.url, { perMessageDeflate: true });
    const [ws, offered] = await server.next();
    expect(offered.headers['sec-websocket-extensions']).toContain('permessage-deflate');
    expect(ws.extensions).toContain('permessage-deflate');
    const received = rawMessages(ws);
    await deflating.send(new Uint8Array(10_000).fill(65));
    while (received.length < 1) await once(ws, 'message');
    expect(received[0]).toEqual(Buffer.alloc(10_000, 65));
  });

  it('sends the extra headers given in options with the handshake', async () => {
    const server = await rawServer();
    await client(server.url, { headers: { authorization: 'Bearer t0ken', 'x-ipcez-test': 'yes' } });
    const [, request] = await server.next();
    expect(request.headers.authorization).toBe('Bearer t0ken');
    expect(request.headers['x-ipcez-test']).toBe('yes');
  });

  it('rejects with a WsError carrying the HTTP status when the server answers other than 101', async () => {
    const server: Server = createServer();
    server.on('upgrade', (_request, socket: Socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
          server.closeAllConnections();
        }),
    );
    const error = await rejection(connectWs(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/x`));
    expect(error).toBeInstanceOf(WsError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 401 });
    expect(error.message).toContain('401');
  });

  it('rejects with a WsError carrying status 404 for a path the listener does not serve', async () => {
    const l = await listener('ws://127.0.0.1:0/right');
    const error = await rejection(connectWs(l.endpoint.replace('/right', '/wrong')));
    expect(error).toBeInstanceOf(WsError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 404 });
  });

  it('rejects with an IoError (ECONNREFUSED) when nothing listens', async () => {
    const probe = createNetServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) =>
      probe.close(() => {
        resolve();
      }),
    );
    const error = await rejection(connectWs(`ws://127.0.0.1:${port}/x`));
    expect(error).toBeInstanceOf(IoError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ECONNREFUSED', syscall: 'connect' });
  });

  it('rejects an endpoint that is not a ws:// or wss:// URL with InvalidEndpointError', async () => {
    for (const endpoint of ['http://127.0.0.1/x', 'not a url', 'ws://user:pw@127.0.0.1/x', 'ws://127.0.0.1/x#frag']) {
      const error = await rejection(connectWs(endpoint));
      expect(error.code, endpoint).toBe('IPCEZ_ERR_INVALID_ENDPOINT');
    }
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously for a non-string endpoint or a bad option', () => {
    const bad: [unknown, unknown][] = [
      [42, {}],
      ['ws://127.0.0.1/x', { maxMessageBytes: 4 * MiB + 1 }],
      ['ws://127.0.0.1/x', { highWaterMark: -1 }],
      ['ws://127.0.0.1/x', { keepaliveIntervalMs: 1.5 }],
      ['ws://127.0.0.1/x', { headers: { a: 1 } }],
      ['ws://127.0.0.1/x', { ca: 5 }],
      ['ws://127.0.0.1/x', { signal: 'no' }],
      ['ws://127.0.0.1/x', 'options'],
    ];
    for (const [endpoint, options] of bad) {
      expect(() => connectWs(endpoint as string, options as object), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
      );
    }
  });

  it('rejects with signal.reason when aborted before or during the handshake', async () => {
    const aborted = AbortSignal.abort(new Error('too late'));
    expect((await rejection(connectWs('ws://127.0.0.1:1/x', { signal: aborted }))).message).toBe('too late');
    // A TCP server that never answers the upgrade: the abort lands mid-handshake.
    const silent = createNetServer();
    const sockets: Socket[] = [];
    const controller = new AbortController();
    silent.on('connection', (socket) => {
      sockets.push(socket);
      controller.abort(new Error('gave up'));
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          sockets.forEach((s) => s.destroy());
          silent.close(() => {
            resolve();
          });
        }),
    );
    const pending = connectWs(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/x`, {
      signal: controller.signal,
    });
    expect((await rejection(pending)).message).toBe('gave up');
  });

  it('reports a peer process killed mid-connection as one ConnectionLostError, and later sends reject', async () => {
    const child = new Child(`
      import { WebSocketServer } from 'ws';
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => console.log('port ' + wss.address().port));
      wss.on('connection', (ws) => ws.on('message', () => console.log('got')));
    `);
    cleanups.push(() => child.dispose());
    const port = (await child.line('port ')).slice(5);
    const connection = await client(`ws://127.0.0.1:${port}/`);
    const collector = new Collector(connection);
    await connection.send(new Uint8Array([1]));
    await child.line('got');
    child.process.kill('SIGKILL');
    const error = await collector.end();
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(['peer-closed', 'reset']).toContain((error as { reason?: string }).reason);
    expect(collector.errors).toHaveLength(1);
    expect(connection.state).toBe('closed');
    expect((await rejection(connection.send(new Uint8Array(1)))).code).toBe('IPCEZ_ERR_CONNECTION_LOST');
  });

  it('reports a peer close with a non-normal code as peer-closed, with a WsError carrying the code as cause', async () => {
    const server = await rawServer();
    const connection = await client(server.url);
    const collector = new Collector(connection);
    const [ws] = await server.next();
    ws.close(4001, 'bye');
    const error = await collector.end();
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' });
    expect(error.cause).toBeInstanceOf(WsError);
    expect(error.cause).toMatchObject({ closeCode: 4001 });
    expect(error.message).toContain('4001: bye');
  });

  it('reports a TCP reset as ConnectionLostError reset with the OS error as cause', async () => {
    const server = await rawServer();
    const connection = await client(server.url);
    const collector = new Collector(connection);
    const [, request] = await server.next();
    request.socket.resetAndDestroy();
    const error = await collector.end();
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'reset', osCode: 'ECONNRESET' });
  });

  it('ends with a WsError (close code 1002) when the peer breaks the WebSocket protocol', async () => {
    const server = await rawServer();
    const connection = await client(server.url);
    const collector = new Collector(connection);
    const [ws, request] = await server.next();
    const closed = once(ws, 'close');
    // A frame with the reserved opcode 3, written under ws's feet.
    request.socket.write(Buffer.from([0x83, 0x00]));
    const error = await collector.end();
    expect(error).toBeInstanceOf(WsError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_WS', closeCode: 1002 });
    expect(((await closed) as [number])[0]).toBe(1002);
    expect((await rejection(connection.send(new Uint8Array(1)))).code).toBe('IPCEZ_ERR_WS');
  });
});

describe('opening handshake timeout (issue 9)', () => {
  it('fails connect with WsError when the server accepts TCP but never answers the upgrade', async () => {
    const sockets: Socket[] = [];
    const server = createNetServer((socket) => {
      sockets.push(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    });
    const { port } = server.address() as AddressInfo;
    const error = await rejection(connectWs(`ws://127.0.0.1:${port}/silent`, { handshakeTimeoutMs: 200 }));
    expect(error).toBeInstanceOf(WsError);
    expect((error as Error).message).toContain('200 ms');
  });

  it('has a default handshake timeout of 10 s', () => {
    expect(DEFAULT_HANDSHAKE_TIMEOUT_MS).toBe(10_000);
  });
});
