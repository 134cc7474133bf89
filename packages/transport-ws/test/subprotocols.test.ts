// WebSocket subprotocols: what a client offers, what a listener selects, and how the outcome
// and a refusal are reported (the ipcez facade runs its ipcez.v2 acks on top of this).
import type { Connection, Listener } from '@ipcez/core';
import { connectWs, isSubprotocolRefused, listenWs, wsSubprotocol } from '@ipcez/transport-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import WebSocket from 'ws';
import { Collector, nextConnection, rejection } from './helpers.js';

const open: (Connection | Listener)[] = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

async function listener(subprotocols?: string[]): Promise<Listener> {
  const created = await listenWs('ws://127.0.0.1:0/sp', subprotocols === undefined ? {} : { subprotocols });
  open.push(created);
  return created;
}

async function client(endpoint: string, subprotocols?: string[]): Promise<Connection> {
  const connection = await connectWs(endpoint, {
    keepaliveIntervalMs: 0,
    ...(subprotocols === undefined ? {} : { subprotocols }),
  });
  open.push(connection);
  return connection;
}

describe('subprotocols', () => {
  it('the listener selects the first of its own the client offered; both ends report it', async () => {
    const server = await listener(['b.v2', 'a.v1']);
    const accepted = nextConnection(server);
    const connection = await client(server.endpoint, ['a.v1', 'b.v2']);
    expect(wsSubprotocol(connection)).toBe('b.v2');
    expect(wsSubprotocol(await accepted)).toBe('b.v2');
  });

  it('none offered or none in common: no subprotocol (and without an offer, no failure)', async () => {
    const server = await listener(['a.v1']);
    expect(wsSubprotocol(await client(server.endpoint))).toBe('');
    const plain = await listener();
    expect(wsSubprotocol(await client(plain.endpoint))).toBe('');
    const refused = await rejection(connectWs(plain.endpoint, { subprotocols: ['a.v1'], keepaliveIntervalMs: 0 }));
    expect(refused).toMatchObject({ code: 'IPCEZ_ERR_WS' });
    expect(refused.message).toMatch(/selected none of the offered subprotocols \(a\.v1\)/);
    expect(isSubprotocolRefused(refused)).toBe(true);
    // Any other failure is not a refusal.
    const other = await rejection(connectWs(plain.endpoint.replace('/sp', '/elsewhere'), { subprotocols: ['a.v1'] }));
    expect(other).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 404 });
    expect(isSubprotocolRefused(other)).toBe(false);
  });

  it('on any subprotocol but ipcez.v2 a text message is data, its UTF-8 bytes', async () => {
    const server = await listener(['chat']);
    const accepted = nextConnection(server);
    const raw = new WebSocket(server.endpoint, ['chat']);
    await once(raw, 'open');
    const connection = await accepted;
    expect(wsSubprotocol(connection)).toBe('chat');
    const got = new Collector(connection);
    raw.send('hé');
    await got.messageCount(1);
    expect(new TextDecoder().decode(got.messages[0])).toBe('hé');
    raw.close();
  });

  it('a bad subprotocols option is refused synchronously', () => {
    for (const bad of ['ipcez.v2', ['has space'], [''], ['a', 'a'], [1]]) {
      expect(() => connectWs('ws://127.0.0.1:1/x', { subprotocols: bad as string[] })).toThrow(
        expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
      );
      expect(() => listenWs('ws://127.0.0.1:0/x', { subprotocols: bad as string[] })).toThrow(
        expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
      );
    }
  });
});
