// Protocol v2 over WebSocket (docs/PROTOCOL.md §5.6): the ipcez.v2 subprotocol, `hello 2`,
// and `ack <n>` text messages, through the facade, against ipcez peers (ws:// and wss://) and
// against raw `ws` peers written here for every rule, the unhappy ones included.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '@ipcez/tooling/test-certificate';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, diagnose, listen } from 'ipcez';
import type { MessageResult, Server, Socket } from 'ipcez';

const SUBPROTOCOL = 'ipcez.v2';
const text = (m: Uint8Array): string => new TextDecoder().decode(m);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ipcezServer(options: Record<string, unknown> = {}): Promise<Server> {
  const server = await listen('ws://127.0.0.1:0/v2', options);
  cleanups.push(() => server.close());
  return server;
}

async function client(endpoint: string, options: Record<string, unknown> = {}): Promise<Socket> {
  const socket = await connect(endpoint, { keepaliveIntervalMs: 0, ...options });
  cleanups.push(() => socket.disconnect());
  return socket;
}

function results(socket: Socket): MessageResult[] {
  const out: MessageResult[] = [];
  socket.messageHandler((r) => out.push(r));
  return out;
}

/** Resolves with the next accepted socket. */
function nextSocket(server: Server): Promise<Socket> {
  return new Promise((resolve) => {
    server.connectionHandler(resolve);
  });
}

/** What a raw peer saw of one connection. */
interface RawPeer {
  readonly ws: WebSocket;
  /** The offered subprotocols (the request header), or `undefined`. */
  readonly offered: string | undefined;
  /** Text messages received, in order. */
  readonly texts: string[];
  /** Binary messages received, in order, as text. */
  readonly binaries: string[];
  /** The close code the peer got. */
  readonly closed: Promise<number>;
}

function watch(ws: WebSocket, offered: string | undefined): RawPeer {
  const texts: string[] = [];
  const binaries: string[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    (isBinary ? binaries : texts).push(data.toString());
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    ws.once('close', (code: number) => {
      resolve(code);
    }),
  );
  return { ws, offered, texts, binaries, closed };
}

/**
 * A raw `ws` server standing in for a peer written by hand: it selects `ipcez.v2` when
 * `select` (else no subprotocol) and hands each connection to `onPeer`.
 */
async function rawServer(select: boolean, onPeer: (peer: RawPeer) => void): Promise<string> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/raw',
    handleProtocols: (offered: Set<string>) => (select && offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  await once(wss, 'listening');
  wss.on('connection', (ws, request) => {
    onPeer(watch(ws, request.headers['sec-websocket-protocol']));
  });
  cleanups.push(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => {
      wss.close(resolve);
    });
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/raw`;
}

/** A raw server that selects ipcez.v2 and says "hello 2" (and nothing else), and an acked client of it. */
async function helloPeer(ackTimeoutMs: number): Promise<{ endpoint: string; socket: Socket; peers: RawPeer[] }> {
  const peers: RawPeer[] = [];
  const endpoint = await rawServer(true, (peer) => {
    peers.push(peer);
    peer.ws.send('hello 2');
  });
  const socket = await client(endpoint, { ack: true, ackTimeoutMs });
  return { endpoint, socket, peers };
}

/** A raw `ws` client of an ipcez listener, offering `protocols`. */
async function rawClient(endpoint: string, protocols: string[]): Promise<RawPeer> {
  const ws = new WebSocket(endpoint, protocols);
  const peer = watch(ws, protocols.join(', '));
  cleanups.push(() => {
    ws.terminate();
  });
  await once(ws, 'open');
  return peer;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('acks over WebSocket between ipcez peers (ipcez.v2)', () => {
  it('a client with ack: true gets v2 on both ends; an acked send resolves only once the peer read it', async () => {
    const server = await ipcezServer();
    const accepted = nextSocket(server);
    const socket = await client(server.endpoint, { ack: true });
    expect([socket.ackMode, socket.isAcked]).toEqual(['v2', true]);
    const peer = await accepted;
    // The server's own `ack` is off (the ws default): it acks what it reads all the same.
    expect([peer.ackMode, peer.isAcked, server.isAcked]).toEqual(['v2', false, false]);
    const read: string[] = [];
    peer.messageHandler((r) => {
      if (r.ok) read.push(text(r.message));
    });
    for (let i = 0; i < 50; i++) {
      await socket.sendMessage(`m${i}`);
      // Resolved: the server side has read it (and, with a handler set, delivered it).
      expect(read).toContain(`m${i}`);
    }
    // Many in flight at once, both ways: the server's acked sends (ack: false, so not waiting)
    // and the client's acked ones.
    const echoes = results(socket);
    await Promise.all(Array.from({ length: 500 }, (_, i) => socket.sendMessage(`p${i}`)));
    await Promise.all(read.slice(-10).map((m) => peer.sendMessage(m)));
    await until(() => echoes.length === 10);
    expect(read).toHaveLength(550);
  });

  it('a client without ack offers nothing and has no acks; a listener with ack: true serves it unacked', async () => {
    const server = await ipcezServer({ ack: true });
    const accepted = nextSocket(server);
    const socket = await client(server.endpoint);
    expect([socket.ackMode, socket.isAcked]).toEqual(['off', false]);
    expect([(await accepted).ackMode, server.isAcked]).toEqual(['off', true]);
    await socket.sendMessage('unacked');
  });

  it('a server with ack: true waits for the client to read its sends', async () => {
    const server = await ipcezServer({ ack: true, ackTimeoutMs: 60_000 });
    const accepted = nextSocket(server);
    const socket = await client(server.endpoint, { ack: true });
    const peer = await accepted;
    expect([peer.ackMode, peer.isAcked]).toEqual(['v2', true]);
    const got = results(socket);
    await peer.sendMessage('to the client');
    expect(got.map((r) => r.ok && text(r.message))).toEqual(['to the client']);
  });

  it('a send whose peer never reads rejects with RecipientAckTimeoutError; the connection stays open', async () => {
    const server = await ipcezServer({ highWaterMark: 16 * 1024 });
    const accepted = nextSocket(server);
    const socket = await client(server.endpoint, { ack: true, ackTimeoutMs: 300 });
    // No handler on the server side: its inbox fills (16 KiB), then it stops reading, and
    // what stays in the socket is never read, so never acked. (Few enough bytes that the
    // OS buffers take them all: every send is written, so its ack timeout starts.)
    const peer = await accepted;
    const big = new Uint8Array(16 * 1024);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => socket.sendMessage(big)));
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    // Only a prefix was read (and acked): acks settle sends in order.
    const firstRejected = outcomes.findIndex((o) => o.status === 'rejected');
    expect(outcomes.slice(firstRejected).every((o) => o.status === 'rejected')).toBe(true);
    expect(socket.state).toBe('open');
    // Reading again: the rest is read and acked (settling nothing: those sends timed out), and
    // both ends can close without waiting for their close timeouts.
    const rest: MessageResult[] = [];
    peer.messageHandler((r) => rest.push(r));
    await socket.sendMessage('after');
    expect(rest.filter((r) => r.ok)).toHaveLength(9);
  });

  // Not on the Windows lane: there (node.exe 22 under wine) a burst of 2,000 sends right after
  // connecting loses the WebSocket connection (1006), acks on or off; see the closing notes.
  it.skipIf(process.platform === 'win32')(
    'a graceful disconnect() right after many sends resolves every send the server read',
    async () => {
      const server = await ipcezServer();
      let read = 0;
      server.connectionHandler((socket) => {
        socket.messageHandler((r) => {
          if (r.ok) read++;
        });
      });
      const socket = await client(server.endpoint, { ack: true });
      const sends = Array.from({ length: 2000 }, (_, i) => socket.sendMessage(`c${i}`));
      const closed = socket.disconnect();
      const outcomes = await Promise.allSettled(sends);
      await closed;
      const rejected = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      expect(rejected).toEqual([]);
      expect(read).toBe(2000);
    },
  );

  // The certificate is made with the openssl CLI (selfSignedCertificate), which the Windows lane's node.exe cannot run.
  it.skipIf(process.platform === 'win32')('works over wss:// the same', async () => {
    const { cert, key } = selfSignedCertificate();
    const server = await listen('wss://127.0.0.1:0/v2', { cert, key });
    cleanups.push(() => server.close());
    const accepted = nextSocket(server);
    const socket = await client(server.endpoint, { ack: true, ca: cert });
    expect(socket.ackMode).toBe('v2');
    const peer = await accepted;
    const read: string[] = [];
    peer.messageHandler((r) => {
      if (r.ok) read.push(text(r.message));
    });
    for (let i = 0; i < 20; i++) {
      await socket.sendMessage(`s${i}`);
      expect(read).toContain(`s${i}`);
    }
  });
});

describe('acks over WebSocket: a client against raw peers', () => {
  it('offers ipcez.v2 only with ack: true; before an ipcez.v2 peer it waits for "hello 2" and acks each read batch', async () => {
    const peers: RawPeer[] = [];
    const endpoint = await rawServer(true, (peer) => {
      peers.push(peer);
      if (peer.offered === SUBPROTOCOL) peer.ws.send('hello 2');
      else peer.ws.send('a text message is data here');
    });
    const plain = await client(endpoint);
    const plainGot = results(plain);
    await until(() => plainGot.length === 1);
    expect(plainGot[0]!.ok && text(plainGot[0]!.message)).toBe('a text message is data here');
    expect(plain.ackMode).toBe('off');

    const socket = await client(endpoint, { ack: true });
    expect(socket.ackMode).toBe('v2');
    expect(peers.map((p) => p.offered)).toEqual([undefined, SUBPROTOCOL]);
    const got = results(socket);
    const peer = peers[1]!;
    for (let i = 0; i < 300; i++) peer.ws.send(Buffer.from(`b${i}`));
    await until(() => got.length === 300);
    await until(() => peer.texts.reduce((sum, t) => sum + Number(t.slice(4)), 0) === 300);
    expect(peer.texts.every((t) => /^ack [1-9][0-9]*$/.test(t))).toBe(true);
    // Acked sends: resolved by the peer's ack texts, in order.
    const sends = [socket.sendMessage('x'), socket.sendMessage('y'), socket.sendMessage('z')];
    await until(() => peer.binaries.length === 3);
    peer.ws.send('ack 2');
    await Promise.all(sends.slice(0, 2));
    peer.ws.send('ack 1');
    await sends[2];
  });

  it('fails with AckUnavailableError when the server selects no subprotocol (and doctor says ack mode off)', async () => {
    const endpoint = await rawServer(false, () => undefined);
    await expect(connect(endpoint, { ack: true })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_ACK_UNAVAILABLE',
      message: expect.stringMatching(/selected no subprotocol/) as unknown,
    });
    expect(await diagnose(endpoint)).toMatchObject({ server: { state: 'live' }, ackMode: 'off' });
  });

  it.each([
    [
      'some other text',
      (ws: WebSocket) => {
        ws.send('hello 3');
      },
    ],
    [
      'a binary message',
      (ws: WebSocket) => {
        ws.send(Buffer.from('data'));
      },
    ],
    [
      'an ack',
      (ws: WebSocket) => {
        ws.send('ack 1');
      },
    ],
    ['nothing in time', () => undefined],
  ])(
    'fails with AckUnavailableError, closing with 1002, when a server that selected ipcez.v2 sends %s first',
    async (_, first) => {
      const peers: RawPeer[] = [];
      const endpoint = await rawServer(true, (peer) => {
        peers.push(peer);
        first(peer.ws);
      });
      await expect(connect(endpoint, { ack: true, ackTimeoutMs: 300 })).rejects.toMatchObject({
        code: 'IPCEZ_ERR_ACK_UNAVAILABLE',
      });
      expect(await peers[0]!.closed).toBe(1002);
    },
  );

  it.each(['ack 0', 'ack 01', 'ack +1', 'ack 16777216', 'ack  1', 'ack 1 ', 'ACK 1', 'nack 1', 'hello 2', 'bye'])(
    'a text %j after "hello 2" is a protocol error: ProtocolError, waiting sends reject at once, close 1002',
    async (bad) => {
      const { socket, peers } = await helloPeer(60_000);
      const got = results(socket);
      const sends = [socket.sendMessage('a'), socket.sendMessage('b')];
      await until(() => peers[0]!.binaries.length === 2);
      peers[0]!.ws.send(bad);
      for (const send of sends) await expect(send).rejects.toMatchObject({ code: 'IPCEZ_ERR_PROTOCOL' });
      await until(() => got.length === 1);
      expect(got[0]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_PROTOCOL' } });
      expect(await peers[0]!.closed).toBe(1002);
    },
  );

  it('an ack for more messages than were sent is a protocol error', async () => {
    const { socket, peers } = await helloPeer(60_000);
    const got = results(socket);
    const send = socket.sendMessage('one');
    await until(() => peers[0]!.binaries.length === 1);
    peers[0]!.ws.send('ack 2');
    await expect(send).rejects.toMatchObject({
      code: 'IPCEZ_ERR_PROTOCOL',
      message: expect.stringMatching(/ACK 2/) as unknown,
    });
    await until(() => got.length === 1);
    expect(await peers[0]!.closed).toBe(1002);
  });

  it('a peer that reads but never acks: RecipientAckTimeoutError; its connection lost: waiting sends reject at once', async () => {
    const { endpoint, socket: quick, peers } = await helloPeer(200);
    await expect(quick.sendMessage('never acked')).rejects.toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    expect(quick.state).toBe('open');
    // A minute of ack timeout: only the connection's end can settle these within the test.
    const slow = await client(endpoint, { ack: true, ackTimeoutMs: 60_000 });
    const sends = Array.from({ length: 5 }, (_, i) => slow.sendMessage(`w${i}`));
    await until(() => peers[1]!.binaries.length === 5);
    peers[1]!.ws.terminate();
    for (const send of sends) await expect(send).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
  });
});

describe('acks over WebSocket: an ipcez listener against raw clients', () => {
  it('selects ipcez.v2 when offered (whatever its own ack), says "hello 2" first, and acks what it reads', async () => {
    const server = await ipcezServer({ ack: false });
    const read: string[] = [];
    server.connectionHandler((socket) => {
      socket.messageHandler((r) => {
        if (r.ok) read.push(text(r.message));
      });
    });
    const peer = await rawClient(server.endpoint, [SUBPROTOCOL]);
    expect(peer.ws.protocol).toBe(SUBPROTOCOL);
    await until(() => peer.texts.length === 1);
    expect(peer.texts).toEqual(['hello 2']);
    for (let i = 0; i < 200; i++) peer.ws.send(Buffer.from(`r${i}`));
    await until(() => peer.texts.slice(1).reduce((sum, t) => sum + Number(t.slice(4)), 0) === 200);
    expect(read).toHaveLength(200);
    expect(peer.texts.slice(1).every((t) => /^ack [1-9][0-9]*$/.test(t))).toBe(true);
    // A client that offers nothing gets no subprotocol, no hello, no acks.
    const plain = await rawClient(server.endpoint, []);
    expect(plain.ws.protocol).toBe('');
    plain.ws.send(Buffer.from('plain'));
    await until(() => read.length === 201);
    expect(plain.texts).toEqual([]);
  });

  it('sends at most one ack text per read batch (socket read) of its connection', async () => {
    // The listener on the application's own HTTP server, so the test can count the reads
    // of each accepted socket after its upgrade.
    const app = createServer();
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    cleanups.push(() => new Promise((resolve) => app.close(resolve)));
    const server = await listen('ws://127.0.0.1/batches', { server: app });
    cleanups.push(() => server.close());
    let reads = 0;
    app.on('upgrade', (_request, socket) => {
      socket.on('data', () => reads++);
    });
    let delivered = 0;
    server.connectionHandler((socket) => {
      socket.messageHandler((r) => {
        if (r.ok) delivered++;
      });
    });
    const peer = await rawClient(server.endpoint, [SUBPROTOCOL]);
    await until(() => peer.texts.length === 1);
    const count = 5000;
    for (let i = 0; i < count; i++) peer.ws.send(Buffer.from(`burst ${i}`));
    const acked = (): number => peer.texts.slice(1).reduce((sum, t) => sum + Number(t.slice(4)), 0);
    await until(() => acked() === count);
    expect(delivered).toBe(count);
    const ackTexts = peer.texts.length - 1;
    expect(ackTexts).toBeLessThanOrEqual(reads);
    expect(ackTexts).toBeLessThan(count);
  });

  it('a text other than "ack <n>" from an ipcez.v2 client ends its socket with ProtocolError and close 1002', async () => {
    const server = await ipcezServer();
    const accepted = nextSocket(server);
    const peer = await rawClient(server.endpoint, [SUBPROTOCOL]);
    const socket = await accepted;
    const got = results(socket);
    peer.ws.send(Buffer.from('fine'));
    peer.ws.send('hello?');
    expect(await peer.closed).toBe(1002);
    await until(() => got.length === 2);
    expect(got[0]!.ok && text(got[0]!.message)).toBe('fine');
    expect(got[1]).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_PROTOCOL' } });
  });
});
