import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ConnectionLostError } from '@ipcez/core';
import type { Connection } from '@ipcez/core';
import { connectWs, listenWs } from '@ipcez/transport-ws';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Child, Collector, nextConnection, rejection } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const KEEPALIVE = { keepaliveIntervalMs: 100, keepaliveTimeoutMs: 400 } as const;

describe('keepalive', () => {
  it('reports a client process that stops answering pings as ConnectionLostError keepalive-timeout', async () => {
    const listener = await listenWs('ws://127.0.0.1:0/k', KEEPALIVE);
    cleanups.push(() => listener.close());
    const accepted = nextConnection(listener);
    const child = new Child(
      `
      import WebSocket from 'ws';
      const ws = new WebSocket(process.argv[1]);
      ws.on('open', () => console.log('open'));
    `,
      [listener.endpoint],
    );
    cleanups.push(() => child.dispose());
    await child.line('open');
    const connection = await accepted;
    const collector = new Collector(connection);
    // Frozen, not dead: the kernel keeps the TCP connection up, only the pongs stop.
    child.process.kill('SIGSTOP');
    const error = await collector.end();
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'keepalive-timeout' });
    expect(collector.errors).toHaveLength(1);
    await connection.close();
    expect(connection.state).toBe('closed');
  });

  it('reports a server process that stops answering pings, and rejects pending and later sends', async () => {
    const child = new Child(`
      import { WebSocketServer } from 'ws';
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => console.log('port ' + wss.address().port));
    `);
    cleanups.push(() => child.dispose());
    const port = (await child.line('port ')).slice(5);
    const connection = await connectWs(`ws://127.0.0.1:${port}/`, { ...KEEPALIVE, highWaterMark: 1024 });
    cleanups.push(() => {
      connection.destroy();
    });
    const collector = new Collector(connection);
    child.process.kill('SIGSTOP');
    // Enough to fill the socket buffers: some of these are still pending at the timeout.
    const sends = Array.from({ length: 64 }, () => connection.send(new Uint8Array(256 * 1024)));
    const error = await collector.end();
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'keepalive-timeout' });
    const results = await Promise.allSettled(sends);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toBe(error);
    expect((await rejection(connection.send(new Uint8Array(1)))).code).toBe('IPCEZ_ERR_CONNECTION_LOST');
  });

  it('keeps a connection whose peer answers the pings open', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          wss.close(() => {
            resolve();
          });
        }),
    );
    const pinged = new Promise<WebSocket>((resolve) => {
      wss.on('connection', (ws) => {
        let pings = 0;
        ws.on('ping', () => {
          if (++pings === 5) resolve(ws);
        });
      });
    });
    const connection: Connection = await connectWs(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, {
      keepaliveIntervalMs: 20,
      keepaliveTimeoutMs: 4000,
    });
    cleanups.push(() => connection.close());
    const collector = new Collector(connection);
    const ws = await pinged;
    ws.send(new Uint8Array([1]));
    await collector.messageCount(1);
    expect(connection.state).toBe('open');
    expect(collector.errors).toHaveLength(0);
  });

  it('sends no pings when keepaliveIntervalMs is 0', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          wss.close(() => {
            resolve();
          });
        }),
    );
    let pings = 0;
    const connected = new Promise<WebSocket>((resolve) => {
      wss.on('connection', (ws) => {
        ws.on('ping', () => pings++);
        resolve(ws);
      });
    });
    const port = (wss.address() as AddressInfo).port;
    const off = await connectWs(`ws://127.0.0.1:${port}/`, { keepaliveIntervalMs: 0 });
    cleanups.push(() => off.close());
    const ws = await connected;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const received = once(ws, 'message');
    await off.send(new Uint8Array([1]));
    await received;
    expect(pings).toBe(0);
  });
});
